use std::collections::BTreeSet;

use serde::de::DeserializeOwned;
use serde_json::json;

use super::*;
use crate::{
    BreakerSettings, HttpSettings, PingSettings, RestartSettings, SERVER_KEYS, ServerKind, Source,
    StdioSettings, SupervisionSettings, Timeouts, WatchSettings, load,
};

fn definition<'a>(schema: &'a Value, name: &str) -> &'a Map<String, Value> {
    schema["definitions"][name].as_object().unwrap_or_else(|| panic!("no definition {name}"))
}

fn properties<'a>(schema: &'a Value, name: &str) -> &'a Map<String, Value> {
    definition(schema, name)["properties"].as_object().expect("an object schema")
}

/// The keys a server schema documents (a `false` schema is a key it forbids).
fn allowed(schema: &Value, name: &str) -> BTreeSet<String> {
    properties(schema, name).iter().filter(|(_, s)| **s != false).map(|(k, _)| k.clone()).collect()
}

fn forbidden(schema: &Value, name: &str) -> Vec<String> {
    properties(schema, name).iter().filter(|(_, s)| **s == false).map(|(k, _)| k.clone()).collect()
}

/// Loads one server entry; its problems as `path: message`.
fn problems(entry: &Value) -> Vec<String> {
    notices(entry, false)
}

/// The problems of one entry, with its warnings too when `warnings` (an unknown or
/// contradicting `type` is only a warning: mcp-hub ignores `type`).
fn notices(entry: &Value, warnings: bool) -> Vec<String> {
    let text = json!({"mcpServers": {"s": entry}}).to_string();
    let config = load(&[Source { path: "c.json".to_owned(), text }]).expect("file loads");
    let warned = config.warnings.iter().filter(|_| warnings);
    config.problems.iter().chain(warned).map(|p| format!("{}: {}", p.path, p.message)).collect()
}

/// The `const` values of an enum definition (`oneOf` of `const`s).
fn values(schema: &Value, name: &str) -> Vec<String> {
    definition(schema, name)["oneOf"]
        .as_array()
        .expect("oneOf")
        .iter()
        .map(|v| v["const"].as_str().expect("a const").to_owned())
        .collect()
}

/// The definition a property refers to, through `allOf` / nullable `anyOf` wrappers.
fn referenced(property: &Value) -> String {
    let target = property
        .get("$ref")
        .or_else(|| property.get("allOf").and_then(|a| a[0].get("$ref")))
        .or_else(|| property.get("anyOf").and_then(|a| a[0].get("$ref")))
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no $ref in {property}"));
    target.trim_start_matches("#/definitions/").to_owned()
}

/// The field names serde knows for `T` (from its "unknown field" message: every settings struct
/// denies unknown fields), independent of schemars.
fn serde_fields<T: DeserializeOwned>() -> BTreeSet<String> {
    let Err(e) = serde_json::from_value::<T>(json!({"\u{1}": 0})) else {
        panic!("an unknown field is accepted")
    };
    let message = e.to_string();
    let (_, expected) = message.split_once("expected").expect("an unknown-field message");
    expected.split('`').skip(1).step_by(2).map(str::to_owned).collect()
}

#[test]
fn server_entry_schemas_document_exactly_the_validated_keys() {
    let schema = config_schema();
    let documented: BTreeSet<String> = allowed(&schema, "StdioServer")
        .union(&allowed(&schema, "RemoteServer"))
        .filter(|k| !EDITOR_KEYS.contains(&k.as_str()))
        .cloned()
        .collect();
    let validated: BTreeSet<String> = SERVER_KEYS.iter().map(|k| (*k).to_owned()).collect();
    assert_eq!(
        documented, validated,
        "the JSON Schema of a server entry (crates/hub-config/src/schema.rs) and SERVER_KEYS (load.rs) differ"
    );
    for def in ["StdioServer", "RemoteServer"] {
        for (key, s) in properties(&schema, def).iter().filter(|(_, s)| **s != false) {
            let described = s["description"].as_str().is_some_and(|d| !d.trim().is_empty());
            assert!(described, "{def}.{key} has no description");
        }
        assert_eq!(definition(&schema, def)["additionalProperties"], true, "{def}");
    }
    assert_eq!(definition(&schema, "StdioServer")["required"], json!(["command"]));
    assert_eq!(definition(&schema, "RemoteServer")["required"], json!(["url"]));
}

#[test]
fn every_forbidden_key_is_an_error_for_the_validator_even_null() {
    let schema = config_schema();
    for (def, base) in [
        ("StdioServer", json!({"command": "x"})),
        ("RemoteServer", json!({"url": "https://example.com/mcp"})),
    ] {
        assert!(problems(&base).is_empty(), "{def}: {:?}", problems(&base));
        let keys = forbidden(&schema, def);
        assert!(!keys.is_empty(), "{def} forbids nothing");
        for key in keys {
            let mut entry = base.clone();
            entry[&key] = Value::Null;
            assert!(
                !problems(&entry).is_empty(),
                "{def} forbids {key} but the validator accepts it"
            );
        }
    }
}

#[test]
fn type_and_transport_values_are_the_ones_the_validator_accepts() {
    let schema = config_schema();
    let cases = [
        ("StdioServer", "type", "StdioType", json!({"command": "x"})),
        ("StdioServer", "transport", "StdioType", json!({"command": "x"})),
        ("RemoteServer", "type", "RemoteType", json!({"url": "https://example.com/mcp"})),
        ("RemoteServer", "transport", "RemoteTransport", json!({"url": "https://example.com/mcp"})),
    ];
    let mut every: BTreeSet<String> =
        ["bogus", "streamable_http", "HTTP"].map(str::to_owned).into_iter().collect();
    for (_, _, values_of, _) in &cases {
        every.extend(values(&schema, values_of));
    }
    for (def, key, values_of, base) in cases {
        assert_eq!(referenced(&properties(&schema, def)[key]), values_of, "{def}.{key}");
        let listed = values(&schema, values_of);
        for value in &every {
            let mut entry = base.clone();
            entry[key] = json!(value);
            let found = notices(&entry, true);
            if key == "type" {
                assert!(problems(&entry).is_empty(), "a type never makes an entry invalid");
            }
            assert_eq!(
                found.is_empty(),
                listed.contains(value),
                "{def}.{key} = {value:?}: schema lists {listed:?}, validator says {found:?}"
            );
        }
    }
}

#[test]
fn remote_type_sse_negotiates_and_transport_sse_forces() {
    // What the descriptions promise.
    let config = |entry: Value| {
        let text = json!({"mcpServers": {"s": entry}}).to_string();
        load(&[Source { path: "c.json".to_owned(), text }]).expect("loads").servers.remove(0).kind
    };
    let transport = |entry| match config(entry) {
        ServerKind::Remote { transport, .. } => transport.as_str(),
        other => panic!("{other:?}"),
    };
    let url = "https://example.com/mcp";
    assert_eq!(transport(json!({"url": url, "type": "sse"})), "auto");
    assert_eq!(transport(json!({"url": url, "transport": "sse"})), "sse");
    assert_eq!(transport(json!({"url": url, "type": "streamableHttp"})), "streamable-http");
    assert_eq!(transport(json!({"url": url})), "auto");
}

#[test]
fn dev_defaults_are_the_validators() {
    let schema = config_schema();
    let dev = properties(&schema, "Dev");
    assert_eq!(dev["watch"]["default"], json!(crate::DEV_DEFAULT_WATCH));
    assert_eq!(dev["enabled"]["default"], true);
    assert_eq!(definition(&schema, "Dev")["required"], json!(["cwd"]));
    let text = json!({"mcpServers": {"s": {"command": "x", "dev": {"cwd": "/src"}}}}).to_string();
    let config = load(&[Source { path: "c.json".to_owned(), text }]).expect("loads");
    let ServerKind::Stdio { dev: Some(d), .. } = &config.servers[0].kind else { panic!() };
    assert!(d.enabled);
    assert_eq!(d.watch, crate::DEV_DEFAULT_WATCH);
    assert!(!problems(&json!({"command": "x", "dev": {"cwd": "src"}})).is_empty(), "relative cwd");
}

#[test]
fn hub_section_is_hub_settings() {
    let schema = config_schema();
    assert_eq!(referenced(&schema["properties"]["hub"]), "HubSettings");
    let hub = properties(&schema, "HubSettings");
    let keys: BTreeSet<String> = hub.keys().cloned().collect();
    assert_eq!(keys, serde_fields::<HubSettings>());
    assert_eq!(
        keys,
        ["timeouts", "http", "stdio", "watch", "supervision"].map(str::to_owned).into()
    );
    let supervision = properties(&schema, "SupervisionSettings");
    let sections = [
        ("timeouts", &hub["timeouts"], serde_fields::<Timeouts>()),
        ("http", &hub["http"], serde_fields::<HttpSettings>()),
        ("stdio", &hub["stdio"], serde_fields::<StdioSettings>()),
        ("watch", &hub["watch"], serde_fields::<WatchSettings>()),
        ("supervision", &hub["supervision"], serde_fields::<SupervisionSettings>()),
        ("supervision.restart", &supervision["restart"], serde_fields::<RestartSettings>()),
        ("supervision.breaker", &supervision["breaker"], serde_fields::<BreakerSettings>()),
        ("supervision.ping", &supervision["ping"], serde_fields::<PingSettings>()),
    ];
    for (key, property, fields) in sections {
        let def = referenced(property);
        let documented: BTreeSet<String> = properties(&schema, &def).keys().cloned().collect();
        assert_eq!(documented, fields, "hub.{key}");
        assert!(!fields.is_empty(), "hub.{key}");
        assert_eq!(definition(&schema, &def)["additionalProperties"], false, "hub.{key}");
    }
    assert!(properties(&schema, "Timeouts").contains_key("request"));
    assert!(properties(&schema, "HttpSettings").contains_key("allowedHosts"));
}

#[test]
fn top_level_shape() {
    let schema = config_schema();
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    assert_eq!(schema["$id"], ID);
    assert!(schema["title"].is_string() && schema["description"].is_string());
    assert_eq!(schema["additionalProperties"], true, "other top-level keys are kept");
    let keys: Vec<&String> = schema["properties"].as_object().expect("properties").keys().collect();
    assert_eq!(keys, ["$schema", "mcpServers", "servers", "inputs", "hub", "connectionPool"]);
    for map in ["mcpServers", "servers"] {
        let m = &schema["properties"][map];
        assert_eq!(m["type"], "object", "{map} is not nullable: the loader rejects null");
        assert_eq!(m["additionalProperties"]["$ref"], "#/definitions/ServerEntry", "{map}");
        assert!(m.get("propertyNames").is_none() && m.get("patternProperties").is_none());
    }
    let entry = definition(&schema, "ServerEntry");
    assert_eq!(
        entry["anyOf"],
        json!([{"$ref": "#/definitions/StdioServer"}, {"$ref": "#/definitions/RemoteServer"}])
    );
}

#[test]
fn descriptions_have_no_hard_line_breaks() {
    fn walk(v: &Value, at: &str) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    // A property named `description` is a schema, not text.
                    if let (true, Some(d)) = (k == "description", v.as_str()) {
                        let stray = d.replace("\n\n", "").replace("\n- ", "");
                        assert!(!stray.contains('\n'), "{at}: {d:?}");
                    } else {
                        walk(v, &format!("{at}/{k}"));
                    }
                }
            }
            Value::Array(a) => {
                a.iter().enumerate().for_each(|(i, v)| walk(v, &format!("{at}/{i}")))
            }
            _ => {}
        }
    }
    walk(&config_schema(), "");
    assert_eq!(unwrap_lines("a\nb\n\nc\n- d\n- e"), "a b\n\nc\n- d\n- e");
}

#[test]
fn committed_schema_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/schema/config.schema.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    let current = format!("{}\n", serde_json::to_string_pretty(&config_schema()).expect("json"));
    assert!(
        committed == current,
        "docs/schema/config.schema.json is missing or out of date: run `cargo xtask schema`"
    );
}

#[test]
fn connection_pool_schema_is_the_validators() {
    use crate::pool::{NUMBER_KEYS, POOL_KEYS};
    let schema = config_schema();
    assert_eq!(referenced(&schema["properties"]["connectionPool"]), "ConnectionPool");
    assert_eq!(
        referenced(&properties(&schema, "RemoteServer")["connectionPool"]),
        "ConnectionPool"
    );
    assert_eq!(properties(&schema, "StdioServer")["connectionPool"], false);
    let def = definition(&schema, "ConnectionPool");
    assert_eq!(def["additionalProperties"], false);
    let pool = properties(&schema, "ConnectionPool");
    let documented: BTreeSet<&str> = pool.keys().map(String::as_str).collect();
    assert_eq!(documented, POOL_KEYS.into_iter().collect());
    assert_eq!(pool["enabled"]["default"], true);
    let defaults = crate::ConnectionPool::default();
    assert!(defaults.enabled);
    for n in NUMBER_KEYS {
        let p = &pool[n.key];
        assert_eq!(p["minimum"], n.min, "{}", n.key);
        assert_eq!(p["maximum"], n.max, "{}", n.key);
        assert_eq!(p["default"], n.default, "{}", n.key);
        assert!(p["description"].as_str().is_some_and(|d| !d.is_empty()), "{}", n.key);
    }
    // The schema's defaults are what a remote server without any block gets.
    let text = json!({"mcpServers": {"s": {"url": "https://example.com/mcp"}}}).to_string();
    let config = load(&[Source { path: "c.json".to_owned(), text }]).expect("loads");
    let ServerKind::Remote { pool: effective, .. } = &config.servers[0].kind else { panic!() };
    assert_eq!(*effective, defaults);
    let ms = |k: &str| pool[k]["default"].as_u64().expect("a number");
    assert_eq!(defaults.keep_alive_timeout.as_millis(), u128::from(ms("keepAliveTimeout")));
    assert_eq!(defaults.keep_alive_max_timeout.as_millis(), u128::from(ms("keepAliveMaxTimeout")));
    assert_eq!(u64::from(defaults.max_connections), ms("maxConnections"));
    assert_eq!(u64::from(defaults.max_free_connections), ms("maxFreeConnections"));
    assert_eq!(defaults.timeout.as_millis(), u128::from(ms("timeout")));
    assert_eq!(u64::from(defaults.pipelining), ms("pipelining"));
    // Every no-effect key says so in its description.
    for k in ["keepAliveMaxTimeout", "pipelining"] {
        assert!(pool[k]["description"].as_str().is_some_and(|d| d.contains("no effect")), "{k}");
    }
}
