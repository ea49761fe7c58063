//! mcp-hub's REST calls to one server: `POST /api/servers/tools`, `…/resources`, `…/prompts`,
//! with `request_options.timeout` per call and mcp-hub's error body.

use std::time::Duration;

use tokio::time::Instant;

use serde_json::{Value, json};

use crate::support::{Hub, bounded, demo, http_client};

async fn post(hub: &Hub, path: &str, body: &Value) -> (u16, Value) {
    let r = http_client().post(hub.url(path)).json(body).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

#[tokio::test]
async fn rest_calls_reach_the_server_with_their_own_timeout() {
    bounded(async {
        let hub = Hub::start(&json!({"mcpServers": {"demo": demo(&[])}})).await;
        let (status, body) = post(
            &hub,
            "/api/servers/tools",
            &json!({"server_name": "demo", "tool": "add", "arguments": {"a": 2, "b": 3}}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["result"]["content"][0]["text"], "5");
        assert!(body["timestamp"].is_string());

        // request_options.timeout applies to this call only.
        let started = Instant::now();
        let (status, body) = post(
            &hub,
            "/api/servers/tools",
            &json!({"server_name": "demo", "tool": "sleep", "arguments": {"ms": 5000},
                    "request_options": {"timeout": 300}}),
        )
        .await;
        assert_eq!((status, body["code"].as_str()), (504, Some("REQUEST_TIMEOUT")), "{body}");
        assert!(started.elapsed() < Duration::from_secs(4), "{:?}", started.elapsed());
        let (status, body) = post(
            &hub,
            "/api/servers/tools",
            &json!({"server_name": "demo", "tool": "sleep", "arguments": {"ms": 500},
                    "request_options": {"timeout": 10000}}),
        )
        .await;
        assert_eq!(status, 200, "a longer timeout lets it finish: {body}");

        let (status, body) = post(
            &hub,
            "/api/servers/resources",
            &json!({"server_name": "demo", "uri": "demo://readme"}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["result"]["contents"][0]["uri"], "demo://readme");
        let (status, body) = post(
            &hub,
            "/api/servers/prompts",
            &json!({"server_name": "demo", "prompt": "summarize", "arguments": {"text": "x"}}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert!(body["result"]["messages"].is_array(), "{body}");
        hub.stop().await;
    })
    .await;
}

#[tokio::test]
async fn rest_call_errors_say_what_is_wrong() {
    bounded(async {
        let hub = Hub::start(&json!({"mcpServers": {"demo": demo(&[]),
            "off": {"command": "true", "disabled": true}}}))
        .await;
        let (status, body) =
            post(&hub, "/api/servers/tools", &json!({"server_name": "nope", "tool": "x"})).await;
        assert_eq!((status, body["code"].as_str()), (404, Some("SERVER_NOT_FOUND")), "{body}");
        let (status, body) =
            post(&hub, "/api/servers/tools", &json!({"server_name": "demo", "tool": "nope"})).await;
        assert_eq!((status, body["code"].as_str()), (404, Some("TOOL_NOT_FOUND")), "{body}");
        let tools = body["data"]["availableTools"].as_array().unwrap();
        assert!(tools.iter().any(|t| t == "echo"), "{body}");
        let (status, body) =
            post(&hub, "/api/servers/tools", &json!({"server_name": "off", "tool": "x"})).await;
        assert_eq!((status, body["code"].as_str()), (503, Some("SERVER_NOT_CONNECTED")), "{body}");
        assert!(body["error"].as_str().unwrap().contains("disabled"), "{body}");
        for bad in [
            json!({"tool": "echo"}),
            json!({"server_name": "demo"}),
            json!({"server_name": "demo", "tool": "echo", "arguments": "text"}),
            json!({"server_name": "demo", "tool": "echo", "request_options": {"timeout": -1}}),
        ] {
            let (status, body) = post(&hub, "/api/servers/tools", &bad).await;
            assert_eq!(
                (status, body["code"].as_str()),
                (400, Some("VALIDATION_ERROR")),
                "{bad}: {body}"
            );
        }
        let r = http_client()
            .post(hub.url("/api/servers/tools"))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        let (status, body) = post(
            &hub,
            "/api/servers/prompts",
            &json!({"server_name": "demo", "prompt": "summarize"}),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (500, Some("PROMPT_ERROR")),
            "missing argument: {body}"
        );
        hub.stop().await;
    })
    .await;
}
