//! The config file's `hub` section applied to the crates' settings.

use hub_config::{DurationValue, HubSettings};

/// hub-core's settings: the defaults, overridden by what the section sets.
pub(crate) fn core(s: &HubSettings, cwd: Option<String>) -> hub_core::Settings {
    let mut out = hub_core::Settings { cwd, ..hub_core::Settings::default() };
    set(&mut out.connect_timeout, s.timeouts.connect);
    set(&mut out.request_timeout, s.timeouts.request);
    set(&mut out.request_max_total, s.timeouts.max_total);
    set(&mut out.list_timeout, s.timeouts.list);
    set(&mut out.stdio.shutdown_grace, s.stdio.shutdown_grace);
    if let Some(n) = s.stdio.max_line_bytes {
        out.stdio.max_line_bytes = usize::try_from(n).unwrap_or(usize::MAX);
    }
    if let Some(n) = s.http.page_size {
        out.page_size = usize::try_from(n).unwrap_or(usize::MAX);
    }
    let (sup, out_sup) = (&s.supervision, &mut out.supervision);
    set(&mut out_sup.restart.initial_delay, sup.restart.initial_delay);
    set(&mut out_sup.restart.max_delay, sup.restart.max_delay);
    set(&mut out_sup.restart.stable_after, sup.restart.stable_after);
    count(&mut out_sup.restart.max_restarts, sup.restart.max_restarts);
    set(&mut out_sup.restart.window, sup.restart.window);
    count(&mut out_sup.breaker.failures, sup.breaker.failures);
    set(&mut out_sup.breaker.cool_down, sup.breaker.cool_down);
    match sup.ping.interval {
        None => {}
        // `null` and `0` turn pings off.
        Some(None) => out_sup.ping.interval = None,
        Some(Some(DurationValue(d))) => out_sup.ping.interval = (!d.is_zero()).then_some(d),
    }
    set(&mut out_sup.ping.timeout, sup.ping.timeout);
    count(&mut out_sup.ping.failures, sup.ping.failures);
    out
}

/// hub-http's settings, before the command line's host and port are applied.
pub(crate) fn http(s: &HubSettings) -> hub_http::Settings {
    let mut out = hub_http::Settings::default();
    if let Some(hosts) = &s.http.allowed_hosts {
        out.allowed_hosts.clone_from(hosts);
    }
    if let Some(origins) = &s.http.allowed_origins {
        out.allowed_origins.clone_from(origins);
    }
    if let Some(n) = s.http.max_body_bytes {
        out.max_body_bytes = usize::try_from(n).unwrap_or(usize::MAX);
    }
    if let Some(n) = s.http.max_sessions {
        out.max_sessions = usize::try_from(n).unwrap_or(usize::MAX);
    }
    set(&mut out.session_idle_timeout, s.http.session_idle_timeout);
    set(&mut out.resume_window, s.http.resume_window);
    out
}

fn set(target: &mut std::time::Duration, value: Option<DurationValue>) {
    if let Some(DurationValue(d)) = value {
        *target = d;
    }
}

fn count(target: &mut u32, value: Option<u64>) {
    if let Some(n) = value {
        *target = u32::try_from(n).unwrap_or(u32::MAX);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use hub_config::Source;

    use super::*;

    fn settings(text: &str) -> HubSettings {
        let c = hub_config::load(&[Source { path: "c.json".into(), text: text.into() }]).unwrap();
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        c.settings
    }

    #[test]
    fn unset_keys_keep_the_defaults() {
        let s = settings(r#"{"mcpServers": {}}"#);
        let c = core(&s, None);
        let d = hub_core::Settings::default();
        assert_eq!((c.connect_timeout, c.request_timeout), (d.connect_timeout, d.request_timeout));
        let h = http(&s);
        assert_eq!(h.allowed_hosts, hub_http::Settings::default().allowed_hosts);
    }

    /// The defaults the JSON Schema documents are the ones the hub really uses: read every
    /// `default` from the schema, apply it as if configured, and compare with the built-in
    /// settings.
    #[test]
    fn the_schema_documents_the_real_defaults() {
        /// The documented defaults of definition `def` as a config section, following the
        /// properties that are sections themselves (a reference to another definition).
        fn defaults(defs: &serde_json::Value, def: &str, seen: &mut usize) -> serde_json::Value {
            let props = defs[def]["properties"].as_object().expect(def);
            let values: serde_json::Map<_, _> = props
                .iter()
                .map(|(k, p)| {
                    let nested = p["allOf"][0]["$ref"].as_str();
                    let value = match (p.get("default"), nested) {
                        (Some(d), _) => {
                            *seen += 1;
                            d.clone()
                        }
                        (None, Some(r)) => {
                            defaults(defs, r.trim_start_matches("#/definitions/"), seen)
                        }
                        (None, None) => panic!("{def}.{k} has no default"),
                    };
                    (k.clone(), value)
                })
                .collect();
            values.into()
        }
        let schema = hub_config::config_schema();
        let mut seen = 0;
        let section = defaults(&schema["definitions"], "HubSettings", &mut seen);
        assert_eq!(seen, 24, "every setting documents its default");
        let text = serde_json::json!({"mcpServers": {}, "hub": section}).to_string();
        let s = settings(&text);
        let (c, d) = (core(&s, None), hub_core::Settings::default());
        assert_eq!(
            (c.connect_timeout, c.request_timeout, c.list_timeout, c.request_max_total),
            (d.connect_timeout, d.request_timeout, d.list_timeout, d.request_max_total)
        );
        assert_eq!(c.page_size, d.page_size);
        assert_eq!(
            (c.stdio.max_line_bytes, c.stdio.shutdown_grace),
            (d.stdio.max_line_bytes, d.stdio.shutdown_grace)
        );
        let (h, d) = (http(&s), hub_http::Settings::default());
        assert_eq!((h.allowed_hosts, h.allowed_origins), (d.allowed_hosts, d.allowed_origins));
        assert_eq!((h.max_body_bytes, h.max_sessions), (d.max_body_bytes, d.max_sessions));
        assert_eq!(h.session_idle_timeout, d.session_idle_timeout);
        assert_eq!(h.resume_window, d.resume_window);
        assert_eq!(s.watch.debounce.map(|d| d.0), Some(crate::watch::DEFAULT_DEBOUNCE));
        let (c, d) = (core(&s, None).supervision, hub_core::Settings::default().supervision);
        assert_eq!(c, d);
        assert!(d.ping.interval.is_some(), "pings are on by default");
    }

    #[test]
    fn each_key_reaches_its_setting() {
        let s = settings(
            r#"{"mcpServers": {}, "hub": {
                "timeouts": {"connect": "7s", "request": 8000, "list": "9s", "maxTotal": "2h"},
                "stdio": {"maxLineBytes": 2048, "shutdownGrace": "1s"},
                "http": {"allowedHosts": [], "allowedOrigins": ["https://a"], "maxBodyBytes": 4096, "pageSize": 50,
                         "maxSessions": 3, "sessionIdleTimeout": "2m", "resumeWindow": "3s"}}}"#,
        );
        let c = core(&s, Some("/w".into()));
        assert_eq!(c.connect_timeout, Duration::from_secs(7));
        assert_eq!(c.request_timeout, Duration::from_secs(8));
        assert_eq!(c.list_timeout, Duration::from_secs(9));
        assert_eq!(c.request_max_total, Duration::from_secs(7200));
        assert_eq!(c.page_size, 50);
        assert_eq!(c.stdio.max_line_bytes, 2048);
        assert_eq!(c.stdio.shutdown_grace, Duration::from_secs(1));
        assert_eq!(c.cwd.as_deref(), Some("/w"));
        let h = http(&s);
        assert!(h.allowed_hosts.is_empty());
        assert_eq!(h.allowed_origins, ["https://a"]);
        assert_eq!((h.max_body_bytes, h.max_sessions), (4096, 3));
        assert_eq!(h.session_idle_timeout, Duration::from_secs(120));
        assert_eq!(h.resume_window, Duration::from_secs(3));
    }

    #[test]
    fn each_supervision_key_reaches_its_setting() {
        let s = settings(
            r#"{"mcpServers": {}, "hub": {"supervision": {
                "restart": {"initialDelay": "100ms", "maxDelay": "2s", "stableAfter": "3s",
                            "maxRestarts": 4, "window": "1m"},
                "breaker": {"failures": 0, "coolDown": 5000},
                "ping": {"interval": "250ms", "timeout": "1s", "failures": 2}}}}"#,
        );
        let c = core(&s, None).supervision;
        assert_eq!(c.restart.initial_delay, Duration::from_millis(100));
        assert_eq!(c.restart.max_delay, Duration::from_secs(2));
        assert_eq!(c.restart.stable_after, Duration::from_secs(3));
        assert_eq!((c.restart.max_restarts, c.restart.window), (4, Duration::from_secs(60)));
        assert_eq!((c.breaker.failures, c.breaker.cool_down), (0, Duration::from_secs(5)));
        assert_eq!(c.ping.interval, Some(Duration::from_millis(250)));
        assert_eq!((c.ping.timeout, c.ping.failures), (Duration::from_secs(1), 2));
        let off = |interval: &str| {
            let text = format!(
                r#"{{"mcpServers": {{}}, "hub": {{"supervision": {{"ping": {{"interval": {interval}}}}}}}}}"#
            );
            core(&settings(&text), None).supervision.ping.interval
        };
        assert_eq!(off("null"), None, "null turns pings off");
        assert_eq!(off("0"), None, "0 turns pings off");
        assert_eq!(off(r#""0s""#), None);
        assert_eq!(off("1000"), Some(Duration::from_secs(1)));
    }
}
