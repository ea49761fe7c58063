use std::time::Duration;

use serde_json::json;

use super::*;

fn paths(value: &Value) -> (HubSettings, Vec<String>) {
    let (s, problems) = parse("c.json", value);
    (s, problems.iter().map(|p| format!("{}: {}", p.path, p.message)).collect())
}

#[test]
fn every_field_reads_with_both_duration_forms() {
    let (s, problems) = paths(&json!({
        "timeouts": {"connect": "2m", "request": 30000, "list": "1h 30m"},
        "http": {"allowedHosts": ["h"], "allowedOrigins": ["https://o"], "maxBodyBytes": 2048,
                 "maxSessions": 5, "sessionIdleTimeout": "250ms"},
        "stdio": {"maxLineBytes": 4096, "shutdownGrace": "3s"},
        "watch": {"debounce": 100},
        "supervision": {
            "restart": {"initialDelay": "100ms", "maxDelay": "2s", "stableAfter": "3s",
                        "maxRestarts": 4, "window": 60000},
            "breaker": {"failures": 0, "coolDown": "5s"},
            "ping": {"interval": "1s", "timeout": 500, "failures": 2},
        },
    }));
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(s.timeouts.connect, Some(DurationValue(Duration::from_secs(120))));
    assert_eq!(s.timeouts.request, Some(DurationValue(Duration::from_secs(30))));
    assert_eq!(s.timeouts.list, Some(DurationValue(Duration::from_secs(5400))));
    assert_eq!(s.http.allowed_hosts.as_deref(), Some(&["h".to_owned()][..]));
    assert_eq!(s.http.session_idle_timeout, Some(DurationValue(Duration::from_millis(250))));
    assert_eq!(s.stdio.max_line_bytes, Some(4096));
    assert_eq!(s.watch.debounce, Some(DurationValue(Duration::from_millis(100))));
    let (restart, breaker, ping) =
        (&s.supervision.restart, &s.supervision.breaker, &s.supervision.ping);
    assert_eq!(restart.initial_delay, Some(DurationValue(Duration::from_millis(100))));
    assert_eq!(restart.max_delay, Some(DurationValue(Duration::from_secs(2))));
    assert_eq!(restart.stable_after, Some(DurationValue(Duration::from_secs(3))));
    assert_eq!(
        (restart.max_restarts, restart.window),
        (Some(4), Some(DurationValue(Duration::from_secs(60))))
    );
    assert_eq!(
        (breaker.failures, breaker.cool_down),
        (Some(0), Some(DurationValue(Duration::from_secs(5))))
    );
    assert_eq!(ping.interval, Some(Some(DurationValue(Duration::from_secs(1)))));
    assert_eq!(
        (ping.timeout, ping.failures),
        (Some(DurationValue(Duration::from_millis(500))), Some(2))
    );
}

#[test]
fn a_null_ping_interval_is_not_a_missing_one() {
    // `null` turns pings off; leaving the key out keeps the default.
    let (s, problems) = paths(&json!({"supervision": {"ping": {"interval": null}}}));
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(s.supervision.ping.interval, Some(None));
    let (s, _) = paths(&json!({"supervision": {"ping": {}}}));
    assert_eq!(s.supervision.ping.interval, None);
    let (s, _) = paths(&json!({"supervision": {"ping": {"interval": 0}}}));
    assert_eq!(s.supervision.ping.interval, Some(Some(DurationValue(Duration::ZERO))));
    let (_, problems) = paths(&json!({"supervision": {"ping": {"interval": "often"}}}));
    assert_eq!(
        problems,
        ["hub.supervision.ping.interval: invalid duration \"often\": expected number at 0"]
    );
}

#[test]
fn supervision_problems_name_their_nested_path() {
    let (s, problems) = paths(&json!({"supervision": {
        "restart": {"maxRestarts": -1, "initialDelay": "1s", "backoff": 2},
        "breaker": "on",
    }}));
    assert_eq!(
        problems,
        [
            "hub.supervision.restart.maxRestarts: invalid value: integer `-1`, expected a whole number, 0 or more",
            "hub.supervision.restart.backoff: unknown key \"backoff\"",
            "hub.supervision.breaker: invalid type: string \"on\", expected an object",
        ]
    );
    assert_eq!(s.supervision.restart.initial_delay, Some(DurationValue(Duration::from_secs(1))));
}

#[test]
fn every_problem_is_reported_with_its_path_and_the_rest_still_applies() {
    let (s, problems) = paths(&json!({
        "timeouts": {"conect": "2m", "request": "soon", "list": "10s"},
        "http": {"maxSessions": -1, "allowedHosts": "localhost"},
        "telemetry": {},
    }));
    assert_eq!(
        problems,
        [
            "hub.timeouts.conect: unknown key \"conect\"",
            "hub.timeouts.request: invalid duration \"soon\": expected number at 0",
            "hub.http.maxSessions: invalid value: integer `-1`, expected a whole number, 0 or more",
            "hub.http.allowedHosts: invalid type: string \"localhost\", expected a sequence",
            "hub.telemetry: unknown key \"telemetry\"",
        ]
    );
    assert_eq!(s.timeouts.list, Some(DurationValue(Duration::from_secs(10))), "valid keys apply");
    assert_eq!(s.timeouts.request, None, "a broken key keeps its default");
}

#[test]
fn an_unknown_key_gets_the_known_ones_as_a_hint() {
    let (_, problems) = parse("c.json", &json!({"timeout": {}}));
    assert_eq!(problems.len(), 1);
    assert_eq!(
        problems[0].hint.as_deref(),
        Some("remove it, or use one of: timeouts, http, stdio, watch, supervision")
    );
}

#[test]
fn a_section_that_is_not_an_object() {
    let (_, problems) = paths(&json!(["x"]));
    assert_eq!(problems, ["hub: must be an object, found an array"]);
    let (_, problems) = paths(&json!({"stdio": 3}));
    assert_eq!(problems, ["hub.stdio: invalid type: integer `3`, expected an object"]);
}

#[test]
fn a_bad_list_element_names_its_index() {
    let (s, problems) =
        paths(&json!({"http": {"allowedOrigins": ["a", 3, "b"], "maxSessions": 2}}));
    assert_eq!(
        problems,
        ["hub.http.allowedOrigins.1: invalid type: integer `3`, expected a string"]
    );
    assert_eq!(s.http.allowed_origins, None);
    assert_eq!(s.http.max_sessions, Some(2));
}
