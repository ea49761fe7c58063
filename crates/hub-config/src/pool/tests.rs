use std::time::Duration;

use serde_json::{Value, json};

use super::*;
use crate::{Config, ServerKind, Source, load};

const URL: &str = "https://example.com/mcp";

fn config(file: &Value) -> Config {
    load(&[Source { path: "c.json".to_owned(), text: file.to_string() }]).expect("file loads")
}

/// `path: message` of every problem (or warning).
fn listed(errors: &[ConfigError]) -> Vec<String> {
    errors.iter().map(|p| format!("{}: {}", p.path, p.message)).collect()
}

fn pool_of(config: &Config, name: &str) -> ConnectionPool {
    match &config.servers.iter().find(|s| s.name == name).expect("the server").kind {
        ServerKind::Remote { pool, .. } => *pool,
        other => panic!("{name}: {other:?}"),
    }
}

/// Every key at both edges of its range, and one step outside each, in the global block and in
/// a server's block.
#[test]
fn every_range_edge_in_both_blocks() {
    for n in NUMBER_KEYS {
        let mut cases = vec![(n.min, true), (n.max, true), (n.max + 1, false)];
        if n.min > 0 {
            cases.push((n.min - 1, false));
        }
        for (value, ok) in cases {
            let global = config(&json!({
                "mcpServers": {"s": {"url": URL}},
                "connectionPool": {n.key: value},
            }));
            let server = config(&json!({
                "mcpServers": {"s": {"url": URL, "connectionPool": {n.key: value}}},
            }));
            for (which, c, path) in [
                ("global", &global, format!("connectionPool.{}", n.key)),
                ("server", &server, format!("mcpServers.s.connectionPool.{}", n.key)),
            ] {
                if ok {
                    assert!(c.problems.is_empty(), "{which} {}={value}: {:?}", n.key, c.problems);
                    assert!(c.servers[0].is_valid());
                } else {
                    assert_eq!(c.problems.len(), 1, "{which} {}={value}: {:?}", n.key, c.problems);
                    let p = &c.problems[0];
                    assert_eq!(p.path, path);
                    assert!(p.message.contains(&format!("from {} to {}", n.min, n.max)), "{p}");
                    let hint = p.hint.as_deref().unwrap_or_default();
                    assert!(hint.contains(&format!("{} to {}", n.min, n.max)), "{hint}");
                    assert!(p.position.is_some(), "located in the file: {p:?}");
                    // A global problem leaves the servers alone; a server's makes it invalid.
                    assert_eq!(c.servers[0].is_valid(), which == "global");
                }
            }
        }
    }
}

#[test]
fn wrong_types_unknown_keys_and_every_problem_collected() {
    let block = json!({
        "enabled": "yes",
        "keepAliveTimeout": "60s",
        "maxConnections": 2.5,
        "maxFreeConnections": -1,
        "timeout": true,
        "pipelining": [1],
        "maxSockets": 3,
    });
    let expected = |prefix: &str| {
        [
            format!("{prefix}.enabled: must be true or false, found a string"),
            format!("{prefix}.keepAliveTimeout: must be a whole number, found a string"),
            format!("{prefix}.maxConnections: must be from 1 to 1000, found 2.5"),
            format!("{prefix}.maxFreeConnections: must be from 0 to 100, found -1"),
            format!("{prefix}.maxSockets: unknown key \"maxSockets\""),
            format!("{prefix}.pipelining: must be a whole number, found an array"),
            format!("{prefix}.timeout: must be a whole number, found a boolean"),
        ]
    };
    let c = config(&json!({"mcpServers": {"s": {"url": URL}}, "connectionPool": block}));
    let mut found = listed(&c.problems);
    found.sort();
    assert_eq!(found, expected("connectionPool"));
    assert_eq!(pool_of(&c, "s"), ConnectionPool::default(), "bad keys keep their defaults");
    let unknown = c.problems.iter().find(|p| p.path.ends_with("maxSockets")).expect("reported");
    assert_eq!(
        unknown.hint.as_deref(),
        Some(
            "remove it, or use one of: enabled, keepAliveTimeout, keepAliveMaxTimeout, \
             maxConnections, maxFreeConnections, timeout, pipelining"
        )
    );

    let c = config(&json!({"mcpServers": {"s": {"url": URL, "connectionPool": block}}}));
    let mut found = listed(&c.problems);
    found.sort();
    assert_eq!(found, expected("mcpServers.s.connectionPool"));
    assert!(!c.servers[0].is_valid());

    for (not_object, kind) in
        [(json!(3), "a number"), (json!([]), "an array"), (json!("on"), "a string")]
    {
        let c = config(&json!({"mcpServers": {"s": {"url": URL}}, "connectionPool": not_object}));
        assert_eq!(
            listed(&c.problems),
            [format!("connectionPool: must be an object, found {kind}")]
        );
        let c = config(&json!({"mcpServers": {"s": {"url": URL, "connectionPool": not_object}}}));
        assert_eq!(
            listed(&c.problems),
            [format!("mcpServers.s.connectionPool: must be an object, found {kind}")]
        );
    }
}

#[test]
fn null_values_and_blocks_mean_absent() {
    let c = config(&json!({
        "mcpServers": {"s": {"url": URL, "connectionPool": null}, "t": {"url": URL, "connectionPool": {"timeout": null}}},
        "connectionPool": null,
    }));
    assert!(c.problems.is_empty() && c.warnings.is_empty(), "{:?}", c.problems);
    assert_eq!(pool_of(&c, "s"), ConnectionPool::default());
    assert_eq!(pool_of(&c, "t"), ConnectionPool::default());
}

#[test]
fn a_stdio_entry_with_a_pool_is_an_error_with_a_hint() {
    for block in [json!({"maxConnections": 5}), json!({}), Value::Null] {
        let c = config(&json!({"mcpServers": {"s": {"command": "x", "connectionPool": block}}}));
        assert_eq!(
            listed(&c.problems),
            [
                "mcpServers.s.connectionPool: connection pooling applies to remote (url) servers only"
            ]
        );
        assert!(c.problems[0].hint.as_deref().is_some_and(|h| h.contains("remove")));
        assert!(!c.servers[0].is_valid());
    }
    // The top-level block does not concern stdio servers.
    let c = config(
        &json!({"mcpServers": {"s": {"command": "x"}}, "connectionPool": {"enabled": false}}),
    );
    assert!(c.problems.is_empty() && c.servers[0].is_valid());
}

#[test]
fn merge_is_defaults_then_global_then_server() {
    let c = config(&json!({
        "mcpServers": {
            "plain": {"url": URL},
            "own": {"url": URL, "connectionPool": {"maxConnections": 3, "timeout": 5000}},
        },
        "connectionPool": {"maxConnections": 20, "keepAliveTimeout": 1000, "maxFreeConnections": 0},
    }));
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    let global = ConnectionPool {
        max_connections: 20,
        keep_alive_timeout: Duration::from_secs(1),
        max_free_connections: 0,
        ..ConnectionPool::default()
    };
    assert_eq!(c.connection_pool, global);
    assert_eq!(pool_of(&c, "plain"), global);
    assert_eq!(
        pool_of(&c, "own"),
        ConnectionPool { max_connections: 3, timeout: Duration::from_secs(5), ..global }
    );
    assert_eq!(config(&json!({"mcpServers": {}})).connection_pool, ConnectionPool::default());
}

#[test]
fn enabled_precedence_is_the_forks() {
    // (global enabled, server enabled) → effective.
    let cases = [
        (None, None, true),
        (None, Some(false), false),
        (None, Some(true), true),
        (Some(false), None, false),
        (Some(false), Some(true), true),
        (Some(false), Some(false), false),
        (Some(true), None, true),
        (Some(true), Some(false), false),
    ];
    for (global, server, expected) in cases {
        let mut file = json!({"mcpServers": {"s": {"url": URL}}});
        if let Some(g) = global {
            file["connectionPool"] = json!({"enabled": g});
        }
        if let Some(s) = server {
            file["mcpServers"]["s"]["connectionPool"] = json!({"enabled": s});
        }
        let c = config(&file);
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        assert_eq!(pool_of(&c, "s").enabled, expected, "global {global:?}, server {server:?}");
    }
}

#[test]
fn keys_without_an_equivalent_are_warnings_never_silent() {
    let c = config(&json!({
        "mcpServers": {"s": {"url": URL, "connectionPool": {"pipelining": 1}}},
        "connectionPool": {"keepAliveMaxTimeout": 1000, "pipelining": 0},
    }));
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    let mut warned = listed(&c.warnings);
    warned.sort();
    assert_eq!(warned.len(), 2, "{warned:?}");
    assert!(
        warned[0].starts_with("connectionPool.keepAliveMaxTimeout: has no effect"),
        "{warned:?}"
    );
    assert!(warned[1].starts_with("mcpServers.s.connectionPool.pipelining: has no effect"));
    assert!(c.warnings.iter().all(|w| w.position.is_some()), "located: {:?}", c.warnings);
    // Accepted all the same, and carried through.
    let pool = pool_of(&c, "s");
    assert_eq!((pool.keep_alive_max_timeout, pool.pipelining), (Duration::from_secs(1), 1));
    // `pipelining: 0` is what the hub does: no warning.
    let c =
        config(&json!({"mcpServers": {"s": {"url": URL, "connectionPool": {"pipelining": 0}}}}));
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn the_last_file_with_a_top_level_block_applies_whole() {
    let a = Source {
        path: "a.json".to_owned(),
        text: json!({"mcpServers": {"s": {"url": URL}}, "connectionPool": {"maxConnections": 7, "timeout": 2000}})
            .to_string(),
    };
    let b = Source {
        path: "b.json".to_owned(),
        text: json!({"mcpServers": {}, "connectionPool": {"maxConnections": 1000, "bogus": 1}})
            .to_string(),
    };
    let c = load(&[a, b]).expect("loads");
    assert_eq!(listed(&c.problems), ["connectionPool.bogus: unknown key \"bogus\""]);
    assert_eq!(c.problems[0].file, "b.json");
    assert_eq!(
        pool_of(&c, "s"),
        ConnectionPool { max_connections: 1000, ..ConnectionPool::default() },
        "a.json's timeout does not survive: the block is replaced, not merged"
    );
}

#[test]
fn a_change_of_the_pool_restarts_the_server() {
    let old = config(
        &json!({"mcpServers": {"s": {"url": URL}, "t": {"url": URL, "connectionPool": {"timeout": 1000}}, "x": {"command": "x"}}}),
    );
    // The server's own block.
    let new = config(
        &json!({"mcpServers": {"s": {"url": URL, "connectionPool": {"enabled": false}}, "t": {"url": URL, "connectionPool": {"timeout": 1000}}, "x": {"command": "x"}}}),
    );
    let changes = crate::diff(&old, &new);
    assert_eq!(changes.modified.len(), 1);
    assert_eq!(changes.modified[0].name, "s");
    assert_eq!(changes.modified[0].fields, ["connectionPool"]);
    assert!(changes.modified[0].restart);
    // The global block: every remote server whose effective pool changes restarts; `t`
    // overrides what changed, and stdio servers have no pool.
    let new = config(
        &json!({"mcpServers": {"s": {"url": URL}, "t": {"url": URL, "connectionPool": {"timeout": 1000}}, "x": {"command": "x"}}, "connectionPool": {"timeout": 9000}}),
    );
    let changes = crate::diff(&old, &new);
    let names: Vec<&str> = changes.modified_names().collect();
    assert_eq!(names, ["s"]);
    assert!(changes.modified[0].restart);
    assert_eq!(changes.unchanged, ["t", "x"]);
}
