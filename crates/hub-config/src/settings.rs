//! The `hub` section of a config file: the hub's own settings, next to `mcpServers`.
//!
//! These types are the single source of truth three times over: serde reads the section with
//! them, the JSON Schema under `docs/schema/` is generated from them (schemars), and every field
//! left out keeps the hub's built-in default. Later sections (connection pool, tool filtering,
//! security, telemetry) are added here as their features land; until then an unknown key is an
//! error that names it, so a typo never passes silently.

use std::{borrow::Cow, time::Duration};

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::error::{ConfigError, type_name};

/// Global settings of the hub (the top-level `hub` key). Every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HubSettings {
    /// Timeouts of the hub's requests to upstream servers.
    #[serde(default)]
    pub timeouts: Timeouts,
    /// The hub's own HTTP endpoint (`/mcp` and the REST API).
    #[serde(default)]
    pub http: HttpSettings,
    /// Stdio upstream servers (child processes).
    #[serde(default)]
    pub stdio: StdioSettings,
    /// Config hot reload (`--watch`).
    #[serde(default)]
    pub watch: WatchSettings,
    /// Keeping upstream servers alive: automatic restarts, the circuit breaker, health pings.
    #[serde(default)]
    pub supervision: SupervisionSettings,
}

/// Timeouts of the hub's requests to upstream servers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Timeouts {
    /// How long a server may take to start, answer `initialize` and list its capabilities.
    /// Default `5m` (mcp-hub's), which allows a first `npx` / `uvx` download.
    #[schemars(extend("default" = "5m"))]
    pub connect: Option<DurationValue>,
    /// How long a routed call (`tools/call`, `resources/read`, `prompts/get`, …) may wait for
    /// its answer, started over by each progress notification the server sends for it (the hub
    /// asks every server for progress). Default `5m`.
    #[schemars(extend("default" = "5m"))]
    pub request: Option<DurationValue>,
    /// The longest a routed call may take however much progress it reports. Default `1h`.
    #[schemars(rename = "maxTotal", extend("default" = "1h"))]
    #[serde(rename = "maxTotal")]
    pub max_total: Option<DurationValue>,
    /// How long each list request may take while syncing a server's capabilities. Default `1m`.
    #[schemars(extend("default" = "1m"))]
    pub list: Option<DurationValue>,
}

/// The hub's own HTTP endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpSettings {
    /// `Host` header values accepted (DNS-rebinding protection). Default
    /// `["localhost", "127.0.0.1", "::1"]`; an empty list turns the check off.
    #[schemars(extend("default" = ["localhost", "127.0.0.1", "::1"]))]
    pub allowed_hosts: Option<Vec<String>>,
    /// Browser `Origin` values accepted besides loopback origins, e.g.
    /// `"https://inspector.example"`.
    #[schemars(extend("default" = []))]
    pub allowed_origins: Option<Vec<String>>,
    /// Largest accepted request body in bytes. Default 4 MiB.
    #[schemars(range(min = 1024), extend("default" = 4_194_304))]
    pub max_body_bytes: Option<u64>,
    /// Most items in one page of `tools/list`, `resources/list`, `resources/templates/list`
    /// and `prompts/list` on `/mcp` (the client follows `nextCursor` for the rest); `0` lists
    /// everything in one page. Default `0`: clients that read only the first page (several do)
    /// still see every tool.
    #[schemars(extend("default" = 0))]
    pub page_size: Option<u64>,
    /// Most concurrent MCP sessions. Default 10000.
    #[schemars(range(min = 1), extend("default" = 10_000))]
    pub max_sessions: Option<u64>,
    /// A session unused for this long is forgotten. Default `1h`.
    #[schemars(extend("default" = "1h"))]
    pub session_idle_timeout: Option<DurationValue>,
    /// How long an SSE answer of a client that speaks MCP 2025-11-25 waits, after its
    /// connection dropped, for the client to resume it (`GET /mcp` with `Last-Event-ID`)
    /// before its request is cancelled; a finished answer is kept as long for a late
    /// resumption. `0` turns resumption off: a dropped connection cancels its request at once.
    /// Default `10s`.
    #[schemars(extend("default" = "10s"))]
    pub resume_window: Option<DurationValue>,
}

/// Stdio upstream servers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StdioSettings {
    /// Longest line a server may write on stdout, in bytes; longer messages are dropped with a
    /// warning. Default 16 MiB.
    #[schemars(range(min = 1024), extend("default" = 16_777_216))]
    pub max_line_bytes: Option<u64>,
    /// How long stopping a server waits after closing its stdin, and again after `SIGTERM`,
    /// before `SIGKILL`. Default `2s`.
    #[schemars(extend("default" = "2s"))]
    pub shutdown_grace: Option<DurationValue>,
}

/// Config hot reload.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WatchSettings {
    /// Quiet time after the last file event before a reload. Default `200ms`.
    #[schemars(extend("default" = "200ms"))]
    pub debounce: Option<DurationValue>,
}

/// Keeping upstream servers alive.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SupervisionSettings {
    /// Restarting a server that exited, failed to start, or stopped answering pings. A stop the
    /// hub was asked for (shutdown, a reload that removes, disables or changes the server, dev
    /// mode) never causes one.
    #[serde(default)]
    pub restart: RestartSettings,
    /// The circuit breaker: calls to a server that keeps failing them fail at once for a while.
    #[serde(default)]
    pub breaker: BreakerSettings,
    /// Periodic `ping` requests that find a server that is running but no longer answering.
    #[serde(default)]
    pub ping: PingSettings,
}

/// Automatic restarts, with exponential backoff and jitter, and a cap on restart storms.
///
/// With the defaults a server that never starts is tried about ten times over five to six
/// minutes, then left `disconnected` with an error saying so.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RestartSettings {
    /// Wait before the first restart. Each further restart waits twice as long as the one
    /// before, plus a random 0–100 % so that servers that failed together do not restart
    /// together. Default `1s`.
    #[schemars(extend("default" = "1s"))]
    pub initial_delay: Option<DurationValue>,
    /// The longest wait between two restarts, jitter included. Default `1m`.
    #[schemars(extend("default" = "1m"))]
    pub max_delay: Option<DurationValue>,
    /// A connection that lasted at least this long starts the waits over at `initialDelay`.
    /// Default `1m`.
    #[schemars(extend("default" = "1m"))]
    pub stable_after: Option<DurationValue>,
    /// Most automatic restarts of one server within `window`. The failure after that is a
    /// restart storm: the hub gives up and leaves the server `disconnected` until the config
    /// is saved again or the hub restarts. `0` turns automatic restarts off (mcp-hub's
    /// behaviour). Default 10.
    #[schemars(extend("default" = 10))]
    pub max_restarts: Option<u64>,
    /// The sliding window `maxRestarts` counts in. Default `10m`.
    #[schemars(extend("default" = "10m"))]
    pub window: Option<DurationValue>,
}

/// The circuit breaker of each server (and of each session's own process of a `per-session`
/// server: one session's failing process opens only its own).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BreakerSettings {
    /// Consecutive failed calls (`tools/call`, `resources/read`, `prompts/get`) that open the
    /// breaker. Only failures to get an answer count — timeouts, a lost connection — not error
    /// answers from the server, which show that it is alive. While open, calls fail at once
    /// with an error naming the server; the server shows as `degraded`. `0` turns the breaker
    /// off. Default 5.
    #[schemars(extend("default" = 5))]
    pub failures: Option<u64>,
    /// How long an open breaker refuses calls. Then one call goes through as a probe: if it
    /// gets an answer the breaker closes, if not it stays open for another `coolDown`.
    /// Default `30s`.
    #[schemars(extend("default" = "30s"))]
    pub cool_down: Option<DurationValue>,
}

/// Health pings of each connected server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PingSettings {
    /// Time between two pings of a server. A ping is skipped while a call to the server is in
    /// flight (the call's own timeout covers it). `0` or `null` turns pings off. Default `30s`.
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Option<DurationValue>", extend("default" = "30s"))]
    pub interval: Option<Option<DurationValue>>,
    /// How long a server may take to answer a ping. Default `10s`.
    #[schemars(extend("default" = "10s"))]
    pub timeout: Option<DurationValue>,
    /// Consecutive failed pings after which the server counts as hung: it is stopped and
    /// restarted like a crashed one. Fewer show it as `degraded`. At least 1. Default 3.
    #[schemars(range(min = 1), extend("default" = 3))]
    pub failures: Option<u64>,
}

/// A key that is present, even as `null` (`Some(None)`); a missing key stays `None` through
/// `#[serde(default)]`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A duration: milliseconds as a number (`30000`, mcp-hub's unit) or text with units (`"30s"`,
/// `"5m"`, `"1h 30m"`, `"250ms"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationValue(pub Duration);

impl<'de> Deserialize<'de> for DurationValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Millis(u64),
            Text(String),
        }
        match Repr::deserialize(d).map_err(|_| {
            serde::de::Error::custom("expected milliseconds (a whole number) or text like \"30s\"")
        })? {
            Repr::Millis(ms) => Ok(DurationValue(Duration::from_millis(ms))),
            Repr::Text(s) => humantime::parse_duration(s.trim())
                .map(DurationValue)
                .map_err(|e| serde::de::Error::custom(format!("invalid duration {s:?}: {e}"))),
        }
    }
}

impl JsonSchema for DurationValue {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Milliseconds (a whole number) or a duration with units: \"250ms\", \"30s\", \"5m\", \"1h 30m\".",
            "oneOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "pattern": "^\\s*[0-9]+\\s*[a-zA-Zµ]+(\\s*[0-9]+\\s*[a-zA-Zµ]+)*\\s*$"}
            ]
        })
    }
}

/// The key the settings live under.
pub(crate) const KEY: &str = "hub";

/// Reads the `hub` section, collecting every problem: each failing key is reported with its
/// path and dropped (keeping its default), then the rest is read again, so one pass over a file
/// lists all of its mistakes.
pub(crate) fn parse(file: &str, value: &Value) -> (HubSettings, Vec<ConfigError>) {
    let mut problems = Vec::new();
    let mut value = value.clone();
    if !value.is_object() {
        problems.push(
            ConfigError::new(file, KEY, format!("must be an object, found {}", type_name(&value)))
                .hint(r#"write "hub": { "timeouts": { "request": "60s" } }"#),
        );
        return (HubSettings::default(), problems);
    }
    // Each round removes at least one offending key, so this ends; the bound is a backstop.
    for _ in 0..256 {
        match serde_path_to_error::deserialize::<_, HubSettings>(&value) {
            Ok(settings) => return (settings, problems),
            Err(e) => {
                let segments = segments(e.path());
                let raw = first_line(&e.inner().to_string());
                let (message, hint) = explain(&raw);
                let path = std::iter::once(KEY)
                    .chain(segments.iter().map(String::as_str))
                    .collect::<Vec<_>>()
                    .join(".");
                let mut err = ConfigError::new(file, path, message);
                if let Some(h) = hint {
                    err = err.hint(h);
                }
                problems.push(err);
                if !remove(&mut value, &segments) {
                    break;
                }
            }
        }
    }
    (HubSettings::default(), problems)
}

fn first_line(message: &str) -> String {
    // serde_json appends " at line X column Y" for text input; values have none, but be safe.
    message.lines().next().unwrap_or_default().to_owned()
}

fn segments(path: &serde_path_to_error::Path) -> Vec<String> {
    use serde_path_to_error::Segment;
    path.iter()
        .filter_map(|s| match s {
            Segment::Map { key } => Some(key.clone()),
            Segment::Seq { index } => Some(index.to_string()),
            Segment::Enum { variant } => Some(variant.clone()),
            Segment::Unknown => None,
        })
        .collect()
}

/// serde's message in the config's words, and the fix.
fn explain(message: &str) -> (String, Option<String>) {
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (field, rest) = rest.split_once('`').unwrap_or((rest, ""));
        let known = rest
            .split_once("expected ")
            .map_or(String::new(), |(_, k)| k.replace("one of ", "").replace('`', ""));
        return (
            format!("unknown key {field:?}"),
            Some(format!("remove it, or use one of: {known}")),
        );
    }
    if message.starts_with("invalid duration") || message.starts_with("expected milliseconds") {
        return (
            message.to_owned(),
            Some(r#"write milliseconds (30000) or text like "30s""#.to_owned()),
        );
    }
    let mut m = message.replace("expected u64", "expected a whole number, 0 or more");
    if let Some(i) = m.find("expected struct ") {
        m.replace_range(i.., "expected an object");
    }
    (m, None)
}

/// Removes the value at `segments`; false when there was nothing to remove. A bad list element
/// drops its whole list (removing one element would misnumber the later reports).
fn remove(value: &mut Value, segments: &[String]) -> bool {
    let Some((last, parents)) = segments.split_last() else {
        return false;
    };
    let Some(parent) = parents.iter().try_fold(&mut *value, |cur, s| match cur {
        Value::Object(m) => m.get_mut(s),
        Value::Array(a) => s.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
        _ => None,
    }) else {
        return false;
    };
    match parent {
        Value::Object(m) => m.remove(last).is_some(),
        Value::Array(_) => remove(value, parents),
        _ => false,
    }
}

#[cfg(test)]
mod tests;
