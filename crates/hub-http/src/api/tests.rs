//! Tests of the REST routes.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::test_support::{initialize, send, setup};

const HOST: [(&str, &str); 1] = [("host", "127.0.0.1:37373")];

fn assert_timestamp(v: &Value) {
    let t = v.as_str().unwrap();
    // e.g. 2026-11-22T10:11:12.345Z
    assert_eq!(t.len(), 24, "{t}");
    assert!(t.ends_with('Z') && t.as_bytes()[10] == b'T' && t.as_bytes()[19] == b'.', "{t}");
}

fn assert_server(v: &Value) {
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let mut expected = vec![
        "name",
        "displayName",
        "description",
        "transportType",
        "status",
        "error",
        "capabilities",
        "uptime",
        "lastStarted",
        "authorizationUrl",
        "serverInfo",
        "config_source",
    ];
    let mut keys_sorted = keys.clone();
    keys_sorted.sort_unstable();
    expected.sort_unstable();
    assert_eq!(keys_sorted, expected);
    assert_eq!(v["displayName"], "Time");
    assert_eq!(v["transportType"], "stdio");
    assert_eq!(v["error"], Value::Null);
    assert_eq!(v["authorizationUrl"], Value::Null);
    assert_eq!(v["serverInfo"]["name"], "mcp-time");
    assert_eq!(v["config_source"], "/etc/hub.json");
    assert_eq!(
        v["capabilities"],
        json!({"tools": [{"name": "get_time"}], "resources": [], "resourceTemplates": [], "prompts": []})
    );
}

#[tokio::test]
async fn health_has_mcp_hub_shape() {
    let (_facade, _backend, router) = setup();
    initialize(&router, "2025-11-25").await;
    let reply = send(&router, "GET", "/api/health", &HOST, &[], "").await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    let mut keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "activeClients",
            "connections",
            "mcpEndpoint",
            "server_id",
            "servers",
            "state",
            "status",
            "timestamp",
            "version"
        ]
    );
    assert_eq!(body["status"], "ok");
    assert_eq!(body["state"], "ready");
    assert_eq!(body["server_id"], "mcp-hub");
    assert_eq!(body["version"], "4.2.1");
    assert_eq!(body["activeClients"], 0);
    assert_timestamp(&body["timestamp"]);
    assert_eq!(body["connections"], json!({"totalConnections": 0, "connections": []}));
    assert_eq!(
        body["mcpEndpoint"],
        json!({
            "activeClients": 1,
            "registeredCapabilities": {"tools": 1, "resources": 2, "resourceTemplates": 3, "prompts": 4},
            "totalCapabilities": 10,
        })
    );
    assert_eq!(body["servers"].as_array().unwrap().len(), 1);
    assert_server(&body["servers"][0]);
}

#[tokio::test]
async fn servers_lists_server_infos() {
    let (_facade, _backend, router) = setup();
    let reply = send(&router, "GET", "/api/servers", &HOST, &[], "").await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    assert_eq!(body.as_object().unwrap().len(), 2);
    assert_timestamp(&body["timestamp"]);
    assert_server(&body["servers"][0]);
}

#[tokio::test]
async fn unknown_api_route_is_json_404() {
    let (_facade, _backend, router) = setup();
    for (method, path) in [("GET", "/api/nope"), ("POST", "/api/servers/x/start"), ("GET", "/api")]
    {
        let reply = send(&router, method, path, &HOST, &[], "").await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{method} {path}");
        let body = reply.json();
        assert_eq!(body["error"], format!("not found: {method} {path}"));
        assert_eq!(body["code"], "NOT_FOUND");
        assert_timestamp(&body["timestamp"]);
    }
}

#[tokio::test]
async fn wrong_method_on_known_api_route_is_405() {
    let (_facade, _backend, router) = setup();
    let reply = send(&router, "POST", "/api/health", &HOST, &[], "").await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
}
