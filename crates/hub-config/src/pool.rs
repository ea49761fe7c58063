//! The fork's `connectionPool` settings of remote servers: a top-level block for every remote
//! server and a block per remote entry, validated alike (every problem collected, each with its
//! key path and the accepted range) and merged defaults ← global ← server.
//!
//! Each key has a real effect in this hub (hub-core maps [`ConnectionPool`] onto the HTTP client
//! stack of `hub-pool`), except `keepAliveMaxTimeout` and `pipelining`, which hyper (the HTTP
//! client under reqwest) has no equivalent for: they are accepted and reported as warnings.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::error::{ConfigError, type_name};

/// The top-level key, and the key of a server entry.
pub(crate) const KEY: &str = "connectionPool";

/// The effective connection pool of one remote server, after merging the built-in defaults
/// (the fork's `DEFAULT_POOL_CONFIG`), the top-level `connectionPool` and the entry's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnectionPool {
    /// `false`: no connection is reused; every request opens a new one. Default `true`.
    pub enabled: bool,
    /// How long an idle connection is kept for reuse. Default 60 s.
    pub keep_alive_timeout: Duration,
    /// Accepted for compatibility; has no effect (hyper has no maximum connection lifetime).
    /// Default 600 s.
    pub keep_alive_max_timeout: Duration,
    /// Most requests in flight at once to the server's origin. Default 50.
    pub max_connections: u32,
    /// Most idle connections kept per origin. Default 10.
    pub max_free_connections: u32,
    /// How long establishing a connection (TCP and TLS) may take. Default 30 s.
    pub timeout: Duration,
    /// Accepted for compatibility; `0` is what the hub does, a higher value has no effect
    /// (hyper does not pipeline HTTP/1.1 requests). Default 0.
    pub pipelining: u32,
}

impl Default for ConnectionPool {
    fn default() -> Self {
        ConnectionPool {
            enabled: true,
            keep_alive_timeout: Duration::from_millis(60_000),
            keep_alive_max_timeout: Duration::from_millis(600_000),
            max_connections: 50,
            max_free_connections: 10,
            timeout: Duration::from_millis(30_000),
            pipelining: 0,
        }
    }
}

/// One numeric key: its name, accepted range, default and unit (for messages).
#[derive(Debug, Clone, Copy)]
pub(crate) struct NumberKey {
    pub(crate) key: &'static str,
    pub(crate) min: u64,
    pub(crate) max: u64,
    pub(crate) default: u64,
    pub(crate) millis: bool,
}

/// The numeric keys with the fork's ranges and defaults (mcp-hub.md §9); the JSON Schema is
/// checked against this table.
pub(crate) const NUMBER_KEYS: [NumberKey; 6] = [
    NumberKey { key: "keepAliveTimeout", min: 1_000, max: 600_000, default: 60_000, millis: true },
    NumberKey {
        key: "keepAliveMaxTimeout",
        min: 1_000,
        max: 3_600_000,
        default: 600_000,
        millis: true,
    },
    NumberKey { key: "maxConnections", min: 1, max: 1_000, default: 50, millis: false },
    NumberKey { key: "maxFreeConnections", min: 0, max: 100, default: 10, millis: false },
    NumberKey { key: "timeout", min: 1_000, max: 300_000, default: 30_000, millis: true },
    NumberKey { key: "pipelining", min: 0, max: 10, default: 0, millis: false },
];

/// Every key of a `connectionPool` block.
pub(crate) const POOL_KEYS: [&str; 7] = [
    "enabled",
    "keepAliveTimeout",
    "keepAliveMaxTimeout",
    "maxConnections",
    "maxFreeConnections",
    "timeout",
    "pipelining",
];

/// What one block sets; `None` for a key it leaves out (or gets wrong).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PoolBlock {
    enabled: Option<bool>,
    numbers: [Option<u64>; NUMBER_KEYS.len()],
}

/// A block's problems and warnings, paths under `prefix` (`connectionPool` or
/// `mcpServers.<name>.connectionPool`).
#[derive(Debug, Default)]
pub(crate) struct Findings {
    pub(crate) problems: Vec<ConfigError>,
    pub(crate) warnings: Vec<ConfigError>,
}

/// The fix shown for a block that is not an object.
const EXAMPLE: &str =
    r#"write "connectionPool": { "maxConnections": 10, "keepAliveTimeout": 30000 }"#;

/// Reads one block, collecting every problem: a key with a problem is left out (it keeps the
/// value of the level below). `null` is the same as no block.
pub(crate) fn parse(file: &str, prefix: &str, value: &Value) -> (PoolBlock, Findings) {
    let mut findings = Findings::default();
    let mut block = PoolBlock::default();
    let obj: &Map<String, Value> = match value {
        Value::Null => return (block, findings),
        Value::Object(m) => m,
        other => {
            findings.problems.push(
                ConfigError::new(
                    file,
                    prefix,
                    format!("must be an object, found {}", type_name(other)),
                )
                .hint(EXAMPLE),
            );
            return (block, findings);
        }
    };
    let at = |key: &str| format!("{prefix}.{key}");
    for (key, v) in obj {
        if key == "enabled" {
            match v {
                Value::Null => {}
                Value::Bool(b) => block.enabled = Some(*b),
                other => findings.problems.push(ConfigError::new(
                    file,
                    at(key),
                    format!("must be true or false, found {}", type_name(other)),
                )),
            }
            continue;
        }
        let Some(i) = NUMBER_KEYS.iter().position(|n| n.key == key) else {
            findings.problems.push(
                ConfigError::new(file, at(key), format!("unknown key {key:?}"))
                    .hint(format!("remove it, or use one of: {}", POOL_KEYS.join(", "))),
            );
            continue;
        };
        let spec = NUMBER_KEYS[i];
        let unit = if spec.millis { " (milliseconds)" } else { "" };
        let range = format!("write a whole number from {} to {}{unit}", spec.min, spec.max);
        match v {
            Value::Null => {}
            Value::Number(n) => match n.as_u64() {
                Some(n) if (spec.min..=spec.max).contains(&n) => block.numbers[i] = Some(n),
                _ => findings.problems.push(
                    ConfigError::new(
                        file,
                        at(key),
                        format!("must be from {} to {}{unit}, found {n}", spec.min, spec.max),
                    )
                    .hint(range),
                ),
            },
            other => findings.problems.push(
                ConfigError::new(
                    file,
                    at(key),
                    format!("must be a whole number, found {}", type_name(other)),
                )
                .hint(range),
            ),
        }
    }
    if block.number("keepAliveMaxTimeout").is_some() {
        findings.warnings.push(
            ConfigError::new(
                file,
                at("keepAliveMaxTimeout"),
                "has no effect in this hub: its HTTP client (hyper) has no maximum connection \
                 lifetime; an idle connection is closed after keepAliveTimeout, a busy one lives \
                 until the server closes it",
            )
            .hint("remove it"),
        );
    }
    if block.number("pipelining").is_some_and(|n| n > 0) {
        findings.warnings.push(
            ConfigError::new(
                file,
                at("pipelining"),
                "has no effect in this hub: its HTTP client (hyper) does not pipeline HTTP/1.1 \
                 requests; concurrent requests use separate connections (or HTTP/2 streams)",
            )
            .hint("remove it, or write 0"),
        );
    }
    (block, findings)
}

impl PoolBlock {
    fn number(&self, key: &str) -> Option<u64> {
        let i = NUMBER_KEYS.iter().position(|n| n.key == key)?;
        self.numbers[i]
    }
}

/// defaults ← `global` ← `server`, with the fork's rule for `enabled`: the server's own
/// `enabled` wins; without one, the global `enabled` applies (default `true`).
pub(crate) fn merge(global: &PoolBlock, server: &PoolBlock) -> ConnectionPool {
    let number = |key: &str| {
        server
            .number(key)
            .or_else(|| global.number(key))
            .unwrap_or_else(|| NUMBER_KEYS.iter().find(|n| n.key == key).map_or(0, |n| n.default))
    };
    let count = |key: &str| u32::try_from(number(key)).unwrap_or(u32::MAX);
    ConnectionPool {
        enabled: server.enabled.or(global.enabled).unwrap_or(true),
        keep_alive_timeout: Duration::from_millis(number("keepAliveTimeout")),
        keep_alive_max_timeout: Duration::from_millis(number("keepAliveMaxTimeout")),
        max_connections: count("maxConnections"),
        max_free_connections: count("maxFreeConnections"),
        timeout: Duration::from_millis(number("timeout")),
        pipelining: count("pipelining"),
    }
}

#[cfg(test)]
mod tests;
