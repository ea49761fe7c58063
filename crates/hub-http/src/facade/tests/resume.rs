//! Resumable SSE answers (MCP 2025-11-25): a priming event and event ids on the SSE answers of
//! 2025-11-25 sessions, the work going on after the connection drops, `GET /mcp` with
//! `Last-Event-ID` delivering the rest of that stream only, and the request cancelled when
//! nobody resumes it within the window.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{delete, open_get};
use crate::{
    Settings,
    test_support::{
        Raw, eventually, initialize, serve, setup, setup_with, sse_messages, with_method,
    },
};

const BOTH: &str = "application/json, text/event-stream";

fn call(id: i64, method: &str) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": method}).to_string()
}

/// The event ids of SSE text, in order.
fn ids(text: &str) -> Vec<String> {
    text.lines().filter_map(|l| l.strip_prefix("id: ")).map(str::to_owned).collect()
}

/// `GET /mcp` on session `id` resuming after `last`.
async fn resume(addr: std::net::SocketAddr, id: &str, last: &str) -> Raw {
    Raw::request(
        addr,
        &format!(
            "GET /mcp HTTP/1.1\r\nAccept: text/event-stream\r\nMcp-Session-Id: {id}\r\nLast-Event-ID: {last}"
        ),
        "",
    )
    .await
}

/// Starts `test/ask` (a `roots/list` request to the client that waits for its answer) on a
/// connection of its own, reads up to the request, and drops the connection. Returns the
/// request's id and the ids of the events seen.
async fn ask_and_drop(addr: std::net::SocketAddr, session: &str, n: i64) -> (Value, Vec<String>) {
    let mut raw = Raw::post(addr, session, BOTH, &call(n, "test/ask")).await;
    raw.read_until("roots/list").await;
    raw.read_until("\n\n").await;
    let asked = with_method(&raw.text, "roots/list")[0]["id"].clone();
    let seen = ids(&raw.text);
    drop(raw);
    (asked, seen)
}

#[tokio::test]
async fn sse_answers_of_2025_11_25_sessions_are_primed_and_numbered_older_ones_are_not() {
    let (_facade, _backend, router) = setup();
    let addr = serve(router.clone()).await;
    let new = initialize(&router, "2025-11-25").await;
    let text = Raw::post(addr, &new, BOTH, &call(1, "test/notify")).await.read_to_end().await;
    let body = &text[text.find("\r\n\r\n").unwrap() + 4..];
    let first = ids(body);
    assert_eq!(first.len(), 4, "priming, two messages, the response: {body}");
    let stream = first[0].strip_suffix("-0").expect("the priming event is first");
    assert_eq!(first[1..], [1, 2, 3].map(|n| format!("{stream}-{n}")));
    assert!(body.contains(&format!("id: {stream}-0\ndata: \n\n")), "empty priming data: {body}");
    assert_eq!(sse_messages(body).len(), 3, "{body}");
    assert_eq!(sse_messages(body)[2]["id"], 1);

    // The next answer is another stream.
    let text = Raw::post(addr, &new, BOTH, &call(2, "test/notify")).await.read_to_end().await;
    let again = ids(&text);
    assert_ne!(again[0].strip_suffix("-0"), Some(stream), "{again:?}");

    let old = initialize(&router, "2025-06-18").await;
    let text = Raw::post(addr, &old, BOTH, &call(3, "test/notify")).await.read_to_end().await;
    assert_eq!(sse_messages(&text).len(), 3, "{text}");
    assert!(!text.contains("id: "), "no ids for a 2025-06-18 session: {text}");
}

#[tokio::test]
async fn a_dropped_answer_goes_on_and_is_resumed_with_last_event_id() {
    let (_facade, backend, router) = setup();
    let addr = serve(router.clone()).await;
    let session = initialize(&router, "2025-11-25").await;
    let (asked, seen) = ask_and_drop(addr, &session, 7).await;
    // The client answers the request the dropped stream carried: the work goes on.
    let answer = json!({"jsonrpc": "2.0", "id": asked, "result": {"roots": []}}).to_string();
    let reply = Raw::post(addr, &session, BOTH, &answer).await.read_to_end().await;
    assert!(reply.starts_with("HTTP/1.1 202"), "{reply}");
    eventually("the backend got the answer", || backend.asked().len() == 1).await;
    assert_eq!(backend.asked(), [Ok(json!({"roots": []}))]);

    // Resumed after the last event seen: only the rest, then the end.
    let last = seen.last().unwrap();
    let text = resume(addr, &session, last).await.read_to_end().await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.to_ascii_lowercase().contains("content-type: text/event-stream"), "{text}");
    assert_eq!(
        sse_messages(&text),
        [json!({"jsonrpc": "2.0", "id": 7, "result": {"answer": {"roots": []}}})]
    );
    let (stream, seq) = last.split_once('-').unwrap();
    let next = seq.parse::<u64>().unwrap() + 1;
    assert_eq!(ids(&text), [format!("{stream}-{next}")]);

    // From the priming event: everything again (a finished answer is kept for the window).
    let text = resume(addr, &session, &format!("{stream}-0")).await.read_to_end().await;
    let methods: Vec<Value> = sse_messages(&text).iter().map(|m| m["method"].clone()).collect();
    assert_eq!(methods, [json!("roots/list"), Value::Null], "{text}");
}

#[tokio::test]
async fn a_resumption_names_a_stream_of_its_own_session_or_is_refused() {
    let (_facade, _backend, router) = setup();
    let addr = serve(router.clone()).await;
    let (a, b) = (initialize(&router, "2025-11-25").await, initialize(&router, "2025-11-25").await);
    let (_, seen) = ask_and_drop(addr, &a, 1).await;
    let stream = seen[0].split_once('-').unwrap().0.to_owned();
    for (session, last) in [
        (&b, format!("{stream}-0")),  // another session's stream
        (&a, "99999-0".to_owned()),   // no such stream
        (&a, format!("{stream}-50")), // never sent
        (&a, "garbage".to_owned()),
    ] {
        let text = resume(addr, session, &last).await.read_to_end().await;
        assert!(text.starts_with("HTTP/1.1 400"), "{last}: {text}");
        assert!(text.contains("Last-Event-ID"), "{text}");
    }
}

#[tokio::test]
async fn an_answer_nobody_resumes_is_cancelled_after_the_window() {
    let settings = Settings { resume_window: Duration::from_millis(200), ..Settings::default() };
    let (facade, backend, router) = setup_with(settings);
    let addr = serve(router.clone()).await;
    let session = initialize(&router, "2025-11-25").await;
    let mut get = open_get(addr, &session).await;
    let (asked, seen) = ask_and_drop(addr, &session, 3).await;
    // Dropping the work withdraws its request to the client, on the session's stream.
    get.read_until("notifications/cancelled").await;
    let cancelled = with_method(&get.text, "notifications/cancelled");
    assert_eq!(cancelled[0]["params"]["requestId"], asked);
    assert!(backend.asked().is_empty(), "the work was dropped, not answered");
    eventually("the stream is forgotten", || facade.shared.replays.len() == 0).await;
    let text = resume(addr, &session, &seen[0]).await.read_to_end().await;
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
}

#[tokio::test]
async fn a_zero_window_keeps_the_old_behaviour() {
    let settings = Settings { resume_window: Duration::ZERO, ..Settings::default() };
    let (_facade, _backend, router) = setup_with(settings);
    let addr = serve(router.clone()).await;
    let session = initialize(&router, "2025-11-25").await;
    let mut get = open_get(addr, &session).await;
    let (_, seen) = ask_and_drop(addr, &session, 3).await;
    assert!(seen.is_empty(), "no ids: {seen:?}");
    // The dropped connection cancels at once.
    get.read_until("notifications/cancelled").await;
}

#[tokio::test]
async fn a_session_that_ends_forgets_its_streams_and_its_answers_still_end() {
    let (facade, _backend, router) = setup();
    let addr = serve(router.clone()).await;
    let session = initialize(&router, "2025-11-25").await;
    let mut raw = Raw::post(addr, &session, BOTH, &call(5, "test/ask")).await;
    raw.read_until("roots/list").await;
    assert_eq!(facade.shared.replays.len(), 1);
    assert_eq!(delete(&router, &session).await, StatusCode::OK);
    assert_eq!(facade.shared.replays.len(), 0);
    let text = tokio::time::timeout(Duration::from_secs(2), raw.read_to_end()).await.unwrap();
    let last = sse_messages(&text).pop().unwrap();
    assert_eq!(last["result"]["error"], "client session closed", "{text}");
}
