//! End-to-end tests over a real loopback TCP listener: the legacy HTTP+SSE transport, the
//! standalone GET stream, the notification fan-out and `close_all`.

use std::time::Duration;

use hub_protocol::{Notification, ProtocolVersion};
use serde_json::json;

use crate::{
    Settings,
    test_support::{Raw, endpoint_session, eventually, initialize, serve, setup},
};

use super::Facade;

mod resume;
mod way_back;

const LIST_CHANGED: &str = "notifications/tools/list_changed";

async fn open_legacy(addr: std::net::SocketAddr) -> (Raw, String) {
    let mut stream = Raw::request(addr, "GET /mcp HTTP/1.1\r\nAccept: text/event-stream", "").await;
    let text = stream.read_until("sessionId=").await.to_owned();
    let mut stream = stream;
    stream.read_until("\n\n").await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.to_ascii_lowercase().contains("content-type: text/event-stream"), "{text}");
    assert!(stream.text.contains("event: endpoint\ndata: /messages?sessionId="), "{}", stream.text);
    let id = endpoint_session(&stream.text);
    assert_eq!(id.len(), 32);
    (stream, id)
}

/// `DELETE /mcp` of session `id`; its status.
async fn delete(router: &axum::Router, id: &str) -> axum::http::StatusCode {
    crate::test_support::send(
        router,
        "DELETE",
        "/mcp",
        &[("host", "localhost")],
        &[("mcp-session-id", id)],
        "",
    )
    .await
    .status
}

/// Opens a streamable-HTTP GET stream on session `id` and reads its response head (200).
async fn open_get(addr: std::net::SocketAddr, id: &str) -> Raw {
    let mut raw = Raw::request(
        addr,
        &format!("GET /mcp HTTP/1.1\r\nAccept: text/event-stream\r\nMcp-Session-Id: {id}"),
        "",
    )
    .await;
    raw.read_until("\r\n\r\n").await;
    assert!(raw.text.starts_with("HTTP/1.1 200"), "{}", raw.text);
    raw
}

async fn post_messages(addr: std::net::SocketAddr, query: &str, body: &str) -> String {
    Raw::request(
        addr,
        &format!("POST /messages{query} HTTP/1.1\r\nContent-Type: application/json"),
        body,
    )
    .await
    .read_to_end()
    .await
}

fn body_of(response: &str) -> serde_json::Value {
    let body = &response[response.find("\r\n\r\n").expect("response head") + 4..];
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {response}"))
}

#[tokio::test]
async fn legacy_sse_end_to_end() {
    let (facade, backend, router) = setup();
    let addr = serve(router).await;
    let (mut stream, id) = open_legacy(addr).await;
    assert_eq!(facade.session_count(), 1);

    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "nvim"}}});
    let reply = post_messages(addr, &format!("?sessionId={id}"), &init.to_string()).await;
    assert!(reply.starts_with("HTTP/1.1 202"), "{reply}");
    assert!(reply.ends_with("Accepted"), "{reply}");
    stream.read_until("\"protocolVersion\":\"2025-06-18\"").await;
    assert!(stream.text.contains("event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\""));

    let who = json!({"jsonrpc": "2.0", "id": 2, "method": "whoami"});
    let reply = post_messages(addr, &format!("?sessionId={id}"), &who.to_string()).await;
    assert!(reply.starts_with("HTTP/1.1 202"), "{reply}");
    stream.read_until("\"transport\":\"LegacySse\"").await;
    assert!(stream.text.contains("\"protocolVersion\":\"2025-06-18\""), "initialize updated it");
    {
        let requests = backend.requests.lock().unwrap();
        assert_eq!(requests[0].0.transport, crate::Transport::LegacySse);
        assert_eq!(&*requests[1].0.id, id);
        assert_eq!(requests[1].0.protocol_version, ProtocolVersion::V2025_06_18);
    }

    // A hub-wide notification reaches the legacy stream too.
    backend.tx.send(Notification::new(LIST_CHANGED, None)).unwrap();
    stream.read_until(LIST_CHANGED).await;

    // Undecodable body: 400 and the error on the stream.
    let reply = post_messages(addr, &format!("?sessionId={id}"), "{oops").await;
    assert!(reply.starts_with("HTTP/1.1 400"), "{reply}");
    assert_eq!(body_of(&reply)["error"]["code"], -32700);
    stream.read_until("-32700").await;

    // The client goes away: the session is gone.
    drop(stream);
    eventually("session_closed", || backend.closed_ids() == vec![id.clone()]).await;
    assert_eq!(facade.session_count(), 0);
    let reply = post_messages(addr, &format!("?sessionId={id}"), &who.to_string()).await;
    assert!(reply.starts_with("HTTP/1.1 404"), "{reply}");
}

#[tokio::test]
async fn legacy_post_errors() {
    let (_facade, _backend, router) = setup();
    let addr = serve(router).await;
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}).to_string();

    let missing = post_messages(addr, "", &body).await;
    assert!(missing.starts_with("HTTP/1.1 400"), "{missing}");
    assert_eq!(
        body_of(&missing),
        json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32000, "message": "Missing sessionId parameter"}})
    );

    let unknown = post_messages(addr, "?sessionId=nope", &body).await;
    assert!(unknown.starts_with("HTTP/1.1 404"), "{unknown}");
    assert_eq!(body_of(&unknown)["error"]["message"], "Session not found: nope");
}

#[tokio::test]
async fn get_stream_receives_broadcast_notifications_once_per_session() {
    let (_facade, backend, router) = setup();
    let addr = serve(router.clone()).await;
    let a = initialize(&router, "2025-11-25").await;
    let b = initialize(&router, "2025-11-25").await;
    let mut a_old = open_get(addr, &a).await;
    let mut a_new = open_get(addr, &a).await;
    let mut b_only = open_get(addr, &b).await;

    backend.tx.send(Notification::new(LIST_CHANGED, Some(&json!({"n": 1})))).unwrap();
    a_new.read_until(LIST_CHANGED).await;
    b_only.read_until(LIST_CHANGED).await;
    assert!(a_new.text.contains(&format!(
        "event: message\ndata: {{\"jsonrpc\":\"2.0\",\"method\":\"{LIST_CHANGED}\",\"params\":{{\"n\":1}}}}"
    )));
    // Nothing more arrives: each session got it once, on one stream.
    for raw in [&mut a_old, &mut a_new, &mut b_only] {
        assert!(!raw.read_for(Duration::from_millis(200)).await);
    }
    assert!(!a_old.text.contains(LIST_CHANGED), "only the newest stream of a session");
    assert_eq!(a_new.text.matches(LIST_CHANGED).count(), 1);
    assert_eq!(b_only.text.matches(LIST_CHANGED).count(), 1);

    // When the newest stream closes, the next notification goes to the older one.
    drop(a_new);
    tokio::time::sleep(Duration::from_millis(100)).await;
    backend.tx.send(Notification::new(LIST_CHANGED, Some(&json!({"n": 2})))).unwrap();
    a_old.read_until("\"n\":2").await;
}

#[tokio::test]
async fn delete_ends_the_get_streams_of_the_session() {
    let (_facade, _backend, router) = setup();
    let addr = serve(router.clone()).await;
    let id = initialize(&router, "2025-11-25").await;
    let raw = open_get(addr, &id).await;
    let del = Raw::request(addr, &format!("DELETE /mcp HTTP/1.1\r\nMcp-Session-Id: {id}"), "")
        .await
        .read_to_end()
        .await;
    assert!(del.starts_with("HTTP/1.1 200"), "{del}");
    let text = raw.read_to_end().await;
    assert!(text.ends_with("0\r\n\r\n"), "chunked body ended: {text:?}");
}

#[tokio::test]
async fn close_all_ends_open_streams() {
    let (facade, backend, router) = setup();
    let addr = serve(router.clone()).await;
    let (legacy, legacy_id) = open_legacy(addr).await;
    let id = initialize(&router, "2025-11-25").await;
    let get = open_get(addr, &id).await;
    assert_eq!(facade.session_count(), 2);

    facade.close_all();
    assert_eq!(facade.session_count(), 0);
    for raw in [legacy, get] {
        let text = raw.read_to_end().await;
        assert!(text.ends_with("0\r\n\r\n"), "chunked body ended: {text:?}");
    }
    let mut closed = backend.closed_ids();
    closed.sort();
    let mut expected = vec![legacy_id, id];
    expected.sort();
    assert_eq!(closed, expected, "session_closed once per session");
}

#[tokio::test]
async fn router_outside_a_runtime_defers_the_fanout() {
    let backend = crate::test_support::TestBackend::new();
    let facade = std::thread::spawn(move || {
        let facade = Facade::new(backend, Settings::default());
        let _router = facade.router();
        facade
    })
    .join()
    .unwrap();
    assert!(!facade.shared.fanout_started.load(std::sync::atomic::Ordering::Acquire));
    let _router = facade.router();
    assert!(facade.shared.fanout_started.load(std::sync::atomic::Ordering::Acquire));
    assert!(format!("{facade:?}").starts_with("Facade"));
}
