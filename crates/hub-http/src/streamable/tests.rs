//! Tests of `POST`/`GET`/`DELETE /mcp` through `oneshot`.

use std::time::Duration;

use axum::http::StatusCode;
use hub_protocol::ProtocolVersion;
use serde_json::json;

use crate::{
    Settings, Transport,
    test_support::{POST_HEADERS, initialize, initialize_body, post, send, setup, setup_with},
};

fn whoami(id: i64) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": "whoami"}).to_string()
}

#[tokio::test]
async fn initialize_creates_a_session_with_a_random_hex_id() {
    let (facade, backend, router) = setup();
    let reply = post(&router, &initialize_body("2025-06-18"), &[]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers["content-type"], "application/json");
    let id = reply.headers["mcp-session-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 32);
    assert!(id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    let body = reply.json();
    assert_eq!(body["id"], 0);
    assert_eq!(body["result"]["protocolVersion"], "2025-06-18");
    assert_eq!(body["result"]["serverInfo"]["name"], "test-backend");
    assert_eq!(facade.session_count(), 1);
    {
        let requests = backend.requests.lock().unwrap();
        assert_eq!(&*requests[0].0.id, id);
        assert_eq!(requests[0].0.transport, Transport::StreamableHttp);
        assert_eq!(requests[0].0.protocol_version, ProtocolVersion::V2025_06_18);
    }

    let other = initialize(&router, "2025-06-18").await;
    assert_ne!(other, id, "session ids are fresh");
}

#[tokio::test]
async fn refused_initialize_keeps_no_session() {
    let (facade, backend, router) = setup();
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "refuse"}}});
    let reply = post(&router, &body.to_string(), &[]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(!reply.headers.contains_key("mcp-session-id"));
    assert_eq!(reply.json()["error"]["code"], -32602);
    assert_eq!(facade.session_count(), 0);
    assert_eq!(
        backend.closed.lock().unwrap().len(),
        1,
        "the backend may forget the provisional one"
    );
}

#[tokio::test]
async fn session_requests_reach_the_backend_with_their_session() {
    let (_facade, backend, router) = setup();
    let id = initialize(&router, "2025-11-25").await;
    let reply = post(&router, &whoami(7), &[("mcp-session-id", &id)]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers["content-type"], "application/json");
    let body = reply.json();
    assert_eq!(body["id"], 7);
    assert_eq!(body["result"]["id"], id.as_str());
    assert_eq!(body["result"]["transport"], "StreamableHttp");
    assert_eq!(body["result"]["protocolVersion"], "2025-11-25");
    assert_eq!(backend.requests.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn negotiated_version_comes_from_the_result() {
    let (_facade, _backend, router) = setup();
    // An unknown version is negotiated down to the latest by the backend.
    let id = initialize(&router, "1999-01-01").await;
    let reply = post(&router, &whoami(1), &[("Mcp-Session-Id", &id)]).await;
    assert_eq!(reply.json()["result"]["protocolVersion"], ProtocolVersion::LATEST.as_str());
}

#[tokio::test]
async fn notification_is_accepted_with_202() {
    let (_facade, backend, router) = setup();
    let id = initialize(&router, "2025-11-25").await;
    let body = json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string();
    let reply = post(&router, &body, &[("mcp-session-id", &id)]).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    assert!(reply.body.is_empty());
    let notes = backend.notifications.lock().unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].1.method, "notifications/initialized");
    assert_eq!(&*notes[0].0.id, id);
}

#[tokio::test]
async fn client_response_is_accepted_with_202() {
    let (_facade, _backend, router) = setup();
    let id = initialize(&router, "2025-11-25").await;
    let body = json!({"jsonrpc": "2.0", "id": 3, "result": {}}).to_string();
    let reply = post(&router, &body, &[("mcp-session-id", &id)]).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn missing_session_is_400() {
    let (_facade, _backend, router) = setup();
    let reply = post(&router, &whoami(1), &[]).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let body = reply.json();
    assert_eq!(body["jsonrpc"], "2.0");
    assert_eq!(body["id"], serde_json::Value::Null);
    assert_eq!(body["error"]["code"], -32000);
    assert_eq!(body["error"]["message"], "bad request: missing mcp-session-id header");
}

#[tokio::test]
async fn unknown_session_is_404() {
    let (_facade, _backend, router) = setup();
    let reply =
        post(&router, &whoami(1), &[("mcp-session-id", "0123456789abcdef0123456789abcdef")]).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.json()["error"]["code"], -32001);
    assert_eq!(reply.json()["error"]["message"], "session not found");
}

#[tokio::test]
async fn delete_ends_the_session() {
    let (facade, backend, router) = setup();
    let id = initialize(&router, "2025-11-25").await;
    let del = |id: String| {
        let router = router.clone();
        async move {
            send(
                &router,
                "DELETE",
                "/mcp",
                &[("host", "localhost")],
                &[("mcp-session-id", &id)],
                "",
            )
            .await
        }
    };
    assert_eq!(del(id.clone()).await.status, StatusCode::OK);
    assert_eq!(facade.session_count(), 0);
    assert_eq!(backend.closed_ids(), vec![id.clone()]);
    assert_eq!(del(id.clone()).await.status, StatusCode::NOT_FOUND);
    let reply = post(&router, &whoami(1), &[("mcp-session-id", &id)]).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let missing = send(&router, "DELETE", "/mcp", &[("host", "localhost")], &[], "").await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn unsupported_protocol_version_header_is_400_listing_versions() {
    let (_facade, _backend, router) = setup();
    let id = initialize(&router, "2025-11-25").await;
    let reply = post(
        &router,
        &whoami(1),
        &[("mcp-session-id", &id), ("mcp-protocol-version", "1999-01-01")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let message = reply.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(message.contains("1999-01-01"), "{message}");
    assert!(message.contains(&ProtocolVersion::supported_list()), "{message}");
}

#[tokio::test]
async fn supported_or_absent_protocol_version_header_is_accepted() {
    let (_facade, _backend, router) = setup();
    let id = initialize(&router, "2025-11-25").await;
    let with = post(
        &router,
        &whoami(1),
        &[("mcp-session-id", &id), ("MCP-Protocol-Version", "2025-03-26")],
    )
    .await;
    assert_eq!(with.status, StatusCode::OK);
    let without = post(&router, &whoami(2), &[("mcp-session-id", &id)]).await;
    assert_eq!(without.status, StatusCode::OK);
}

#[tokio::test]
async fn bad_origin_is_403() {
    let (_facade, backend, router) = setup();
    let reply =
        post(&router, &initialize_body("2025-11-25"), &[("origin", "http://evil.example.com")])
            .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let body = reply.json();
    assert_eq!(body["error"]["code"], -32000);
    assert!(body["error"]["message"].as_str().unwrap().contains("http://evil.example.com"));
    assert!(backend.requests.lock().unwrap().is_empty());
}

#[tokio::test]
async fn bad_host_is_403_on_every_route() {
    let (_facade, _backend, router) = setup();
    let reply =
        post(&router, &initialize_body("2025-11-25"), &[("host", "evil.example.com")]).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(reply.json()["error"]["message"].as_str().unwrap().contains("evil.example.com"));
    for (method, uri) in
        [("GET", "/api/health"), ("GET", "/mcp"), ("POST", "/messages"), ("GET", "/nope")]
    {
        let reply = send(&router, method, uri, &[("host", "evil.example.com:80")], &[], "").await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{method} {uri}");
    }
}

#[tokio::test]
async fn localhost_origin_with_port_and_ipv6_host_are_accepted() {
    let (_facade, _backend, router) = setup();
    for (host, origin) in [
        ("localhost:3000", "http://localhost:5173"),
        ("127.0.0.1:3000", "https://127.0.0.1"),
        ("[::1]:3000", "http://[::1]:8080"),
    ] {
        let reply =
            post(&router, &initialize_body("2025-11-25"), &[("host", host), ("origin", origin)])
                .await;
        assert_eq!(reply.status, StatusCode::OK, "{host} {origin}: {}", reply.body);
    }
}

#[tokio::test]
async fn configured_origins_and_disabled_host_check() {
    let settings = Settings {
        allowed_hosts: Vec::new(),
        allowed_origins: vec!["https://app.example.com".to_owned()],
        ..Settings::default()
    };
    let (_facade, _backend, router) = setup_with(settings);
    let reply = post(
        &router,
        &initialize_body("2025-11-25"),
        &[("host", "hub.example.com"), ("origin", "https://app.example.com")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn wrong_content_type_is_415() {
    let (_facade, _backend, router) = setup();
    let reply =
        post(&router, &initialize_body("2025-11-25"), &[("content-type", "text/plain")]).await;
    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(reply.json()["error"]["code"], -32000);
    let ok = post(
        &router,
        &initialize_body("2025-11-25"),
        &[("content-type", "application/json; charset=utf-8")],
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK);
}

#[tokio::test]
async fn unacceptable_accept_is_406() {
    let (_facade, _backend, router) = setup();
    let reply = post(&router, &initialize_body("2025-11-25"), &[("accept", "text/html")]).await;
    assert_eq!(reply.status, StatusCode::NOT_ACCEPTABLE);
    let wildcard = post(&router, &initialize_body("2025-11-25"), &[("accept", "*/*")]).await;
    assert_eq!(wildcard.status, StatusCode::OK);
    assert_eq!(wildcard.headers["content-type"], "application/json");
}

#[tokio::test]
async fn body_too_large_is_413() {
    let settings = Settings { max_body_bytes: 1024, ..Settings::default() };
    let (_facade, _backend, router) = setup_with(settings);
    let big = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"padding": "x".repeat(2048)}})
    .to_string();
    let reply = post(&router, &big, &[]).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.json()["error"]["code"], -32000);
}

#[tokio::test]
async fn invalid_json_is_400_parse_error() {
    let (_facade, _backend, router) = setup();
    let reply = post(&router, "{not json", &[]).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.json()["error"]["code"], -32700);
    assert_eq!(reply.json()["id"], serde_json::Value::Null);
}

#[tokio::test]
async fn non_jsonrpc_json_is_400_invalid_request() {
    let (_facade, _backend, router) = setup();
    let reply = post(&router, r#"{"hello": "world"}"#, &[]).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.json()["error"]["code"], -32600);
}

#[tokio::test]
async fn unknown_method_gets_the_backend_answer() {
    let (_facade, _backend, router) = setup();
    let id = initialize(&router, "2025-11-25").await;
    let body = json!({"jsonrpc": "2.0", "id": "x", "method": "server/discover"}).to_string();
    let reply = post(&router, &body, &[("mcp-session-id", &id)]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["id"], "x");
    assert_eq!(reply.json()["error"]["code"], -32601);
}

#[tokio::test]
async fn batch_is_rejected_after_2025_06_18() {
    let (_facade, backend, router) = setup();
    let id = initialize(&router, "2025-06-18").await;
    let body = format!("[{}]", whoami(1));
    let reply = post(&router, &body, &[("mcp-session-id", &id)]).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.json()["error"]["code"], -32600);
    assert_eq!(
        reply.json()["error"]["message"],
        "batches are not supported in protocol version 2025-06-18"
    );
    assert_eq!(backend.requests.lock().unwrap().len(), 1, "only initialize");
}

#[tokio::test]
async fn batch_is_answered_in_2025_03_26() {
    let (_facade, backend, router) = setup();
    let id = initialize(&router, "2025-03-26").await;
    let body = format!(
        "[{}, {}, {}, 42, {}]",
        whoami(1),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "ping"}),
        initialize_body("2025-03-26"),
    );
    let reply = post(&router, &body, &[("mcp-session-id", &id)]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let array = reply.json();
    let array = array.as_array().unwrap();
    assert_eq!(array.len(), 4, "{array:?}");
    assert_eq!(array[0]["id"], 1);
    assert_eq!(array[0]["result"]["id"], id.as_str());
    assert_eq!(array[1]["id"], 2);
    assert_eq!(array[2]["error"]["code"], -32600, "invalid element");
    assert_eq!(array[3]["id"], 0);
    assert_eq!(array[3]["error"]["code"], -32600, "initialize in a batch");
    assert_eq!(backend.notifications.lock().unwrap().len(), 1);

    let only_notifications = format!(
        "[{}]",
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}})
    );
    let reply = post(&router, &only_notifications, &[("mcp-session-id", &id)]).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn sse_only_accept_gets_an_sse_framed_response() {
    let (_facade, _backend, router) = setup();
    let reply =
        post(&router, &initialize_body("2025-11-25"), &[("accept", "text/event-stream")]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.headers.contains_key("mcp-session-id"));
    assert!(reply.headers["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let id = reply.headers["mcp-session-id"].to_str().unwrap().to_owned();
    let reply =
        post(&router, &whoami(5), &[("accept", "text/event-stream"), ("mcp-session-id", &id)])
            .await;
    assert!(reply.headers["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let data = reply
        .body
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .unwrap_or_else(|| panic!("no data line: {:?}", reply.body));
    assert!(reply.body.starts_with("event: message\n"), "{:?}", reply.body);
    let message: serde_json::Value = serde_json::from_str(data).unwrap();
    assert_eq!(message["id"], 5);
    assert_eq!(message["result"]["id"], id.as_str());
}

#[tokio::test]
async fn session_limit_is_503() {
    let settings = Settings { max_sessions: 1, ..Settings::default() };
    let (_facade, _backend, router) = setup_with(settings);
    initialize(&router, "2025-11-25").await;
    let reply = post(&router, &initialize_body("2025-11-25"), &[]).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    let legacy = send(&router, "GET", "/mcp", &[("host", "localhost")], &[], "").await;
    assert_eq!(legacy.status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn get_stream_needs_a_known_session_and_sse_accept() {
    let (_facade, _backend, router) = setup();
    let unknown = send(
        &router,
        "GET",
        "/mcp",
        &[("host", "localhost")],
        &[("mcp-session-id", "ffffffffffffffffffffffffffffffff")],
        "",
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let id = initialize(&router, "2025-11-25").await;
    let json_only = send(
        &router,
        "GET",
        "/mcp",
        &[("host", "localhost")],
        &[("mcp-session-id", &id), ("accept", "application/json")],
        "",
    )
    .await;
    assert_eq!(json_only.status, StatusCode::NOT_ACCEPTABLE);
}

#[tokio::test]
async fn wrong_method_on_mcp_is_405() {
    let (_facade, _backend, router) = setup();
    let reply = send(&router, "PUT", "/mcp", &POST_HEADERS, &[], "{}").await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test(start_paused = true)]
async fn idle_sessions_expire_when_a_new_one_is_created() {
    let settings =
        Settings { session_idle_timeout: Duration::from_secs(60), ..Settings::default() };
    let (facade, backend, router) = setup_with(settings);
    let idle = initialize(&router, "2025-11-25").await;
    let active = initialize(&router, "2025-11-25").await;
    tokio::time::advance(Duration::from_secs(40)).await;
    // A request keeps a session alive.
    assert_eq!(
        post(&router, &whoami(1), &[("mcp-session-id", &active)]).await.status,
        StatusCode::OK
    );
    tokio::time::advance(Duration::from_secs(30)).await;
    let _third = initialize(&router, "2025-11-25").await;
    assert_eq!(backend.closed_ids(), vec![idle.clone()], "only the idle session expired");
    assert_eq!(facade.session_count(), 2);
    let reply = post(&router, &whoami(2), &[("mcp-session-id", &idle)]).await;
    assert_eq!(
        reply.status,
        StatusCode::NOT_FOUND,
        "an expired session tells the client to re-initialize"
    );
    assert_eq!(
        post(&router, &whoami(3), &[("mcp-session-id", &active)]).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_request_stream_refuses_messages_once_finished() {
    use hub_protocol::Message;

    use super::RequestStream;
    use crate::{ClientSink, test_support::log_message};

    let (sink, mut rx) = RequestStream::new();
    assert!(sink.send(&Message::Notification(log_message(1))));
    sink.finish();
    assert!(!sink.send(&Message::Notification(log_message(2))), "after the final answer");
    assert!(rx.recv().await.unwrap().contains("\"data\":1"), "queued before: still delivered");
    assert!(rx.recv().await.is_none(), "then the stream ends");

    let (sink, rx) = RequestStream::new();
    drop(rx);
    assert!(!sink.send(&Message::Notification(log_message(3))), "the client went away");
}

#[tokio::test(start_paused = true)]
async fn a_session_waiting_for_an_answer_is_not_idle() {
    let settings =
        Settings { session_idle_timeout: Duration::from_secs(60), ..Settings::default() };
    let (facade, backend, router) = setup_with(settings);
    let waiting = initialize(&router, "2025-11-25").await;
    let idle = initialize(&router, "2025-11-25").await;
    let slow = r#"{"jsonrpc":"2.0","id":1,"method":"test/sleep","params":{"ms":120000}}"#;
    // Not `post`: its own timeout would fire when the clock jumps.
    let request = axum::http::Request::post("/mcp")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", &waiting)
        .body(axum::body::Body::from(slow))
        .unwrap();
    let call = tokio::spawn(tower::ServiceExt::oneshot(router.clone(), request));
    // Let the call reach the backend before the clock moves.
    while backend.requests.lock().unwrap().iter().all(|(_, r)| r.method != "test/sleep") {
        tokio::task::yield_now().await;
    }
    tokio::time::advance(Duration::from_secs(90)).await;
    let _third = initialize(&router, "2025-11-25").await;
    assert_eq!(backend.closed_ids(), vec![idle], "the session with a call in flight stays");
    tokio::time::advance(Duration::from_secs(40)).await;
    let reply = call.await.unwrap().unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
    let body = axum::body::to_bytes(reply.into_body(), usize::MAX).await.unwrap();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["result"]["slept"], 120_000);
    assert_eq!(facade.session_count(), 2);
}
