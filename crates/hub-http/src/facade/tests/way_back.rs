//! The way back to a client, end to end: what a backend sends while it answers a request (on
//! the request's own SSE answer, or on the session's stream) and the client's answers to the
//! backend's requests, over streamable HTTP and the legacy transport.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{delete, open_get, open_legacy, post_messages};
use crate::{
    Settings,
    test_support::{
        Raw, eventually, initialize, log_message, post, serve, setup, setup_with, sse_messages,
        with_method,
    },
};

/// What a well-behaved client accepts.
const BOTH: &str = "application/json, text/event-stream";

fn call(id: i64, method: &str) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": method}).to_string()
}

/// The head of a raw HTTP response, lowercased.
fn head(text: &str) -> String {
    text[..text.find("\r\n\r\n").expect("response head")].to_ascii_lowercase()
}

/// The `params.data` of each `notifications/message` in SSE text.
fn logged(text: &str) -> Vec<Value> {
    with_method(text, "notifications/message").iter().map(|m| m["params"]["data"].clone()).collect()
}

/// The one `roots/list` request in SSE text; returns its id.
fn asked_id(text: &str) -> Value {
    let asks = with_method(text, "roots/list");
    assert_eq!(asks.len(), 1, "{text}");
    assert!(asks[0]["id"].is_i64(), "{text}");
    asks[0]["id"].clone()
}

#[tokio::test]
async fn notifications_of_a_request_precede_its_response_on_its_own_sse_answer() {
    let (_facade, _backend, router) = setup();
    let addr = serve(router.clone()).await;
    let id = initialize(&router, "2025-11-25").await;
    let mut get = open_get(addr, &id).await;
    for (n, accept) in [(7, BOTH), (8, "text/event-stream")] {
        let text = Raw::post(addr, &id, accept, &call(n, "test/notify")).await.read_to_end().await;
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        assert!(head(&text).contains("content-type: text/event-stream"), "{text}");
        assert!(text.contains(
            "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\""
        ));
        let messages = sse_messages(&text);
        assert_eq!(messages.len(), 3, "{text}");
        assert_eq!(logged(&text), [1, 2]);
        assert_eq!(messages[0]["method"], "notifications/message", "notifications first");
        assert_eq!(
            messages[2],
            json!({"jsonrpc": "2.0", "id": n, "result": {"delivered": [true, true]}})
        );
        assert!(text.ends_with("0\r\n\r\n"), "the answer ends after the response: {text:?}");
    }
    assert!(!get.read_for(Duration::from_millis(200)).await);
    assert!(logged(&get.text).is_empty(), "nothing on the GET stream: {}", get.text);
}

#[tokio::test]
async fn a_json_only_post_sends_its_messages_to_the_get_stream() {
    let (_facade, backend, router) = setup();
    let addr = serve(router.clone()).await;
    let id = initialize(&router, "2025-11-25").await;
    let json_only = [("accept", "application/json"), ("mcp-session-id", id.as_str())];

    // No GET stream: nothing can take them.
    let reply = post(&router, &call(1, "test/notify"), &json_only).await;
    assert_eq!(reply.json()["result"]["delivered"], json!([false, false]));
    let reply = post(&router, &call(2, "test/ask"), &json_only).await;
    assert_eq!(reply.json()["result"]["error"], "no open stream to the client");

    let mut get = open_get(addr, &id).await;
    let reply = post(&router, &call(3, "test/notify"), &json_only).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers["content-type"], "application/json");
    assert_eq!(
        reply.json(),
        json!({"jsonrpc": "2.0", "id": 3, "result": {"delivered": [true, true]}})
    );
    get.read_until("\"data\":2}").await;
    assert_eq!(logged(&get.text), [1, 2]);

    // A request to the client goes there too, and the JSON answer waits for the client's.
    let ask = tokio::spawn({
        let router = router.clone();
        let id = id.clone();
        async move {
            post(
                &router,
                &call(4, "test/ask"),
                &[("accept", "application/json"), ("mcp-session-id", &id)],
            )
            .await
        }
    });
    get.read_until("roots/list").await;
    let answer = json!({"jsonrpc": "2.0", "id": asked_id(&get.text), "result": {"roots": []}});
    assert_eq!(
        post(&router, &answer.to_string(), &[("mcp-session-id", &id)]).await.status,
        StatusCode::ACCEPTED
    );
    let reply = ask.await.unwrap();
    assert_eq!(reply.headers["content-type"], "application/json");
    assert_eq!(
        reply.json(),
        json!({"jsonrpc": "2.0", "id": 4, "result": {"answer": {"roots": []}}})
    );
    assert_eq!(backend.asked().len(), 2);
}

#[tokio::test]
async fn a_request_to_the_client_is_answered_by_a_post_with_its_id() {
    let (_facade, backend, router) = setup();
    let addr = serve(router.clone()).await;
    let id = initialize(&router, "2025-11-25").await;
    let mut get = open_get(addr, &id).await;
    let mut raw = Raw::post(addr, &id, BOTH, &call(3, "test/ask")).await;
    raw.read_until("roots/list").await;
    assert!(head(&raw.text).contains("content-type: text/event-stream"), "{}", raw.text);
    let roots = json!({"roots": [{"uri": "file:///work", "name": "work"}]});
    let answer = json!({"jsonrpc": "2.0", "id": asked_id(&raw.text), "result": roots});
    let reply = post(&router, &answer.to_string(), &[("mcp-session-id", &id)]).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    assert!(reply.body.is_empty());

    let text = raw.read_to_end().await;
    let messages = sse_messages(&text);
    assert_eq!(messages.len(), 2, "the request, then the response: {text}");
    assert_eq!(messages[1], json!({"jsonrpc": "2.0", "id": 3, "result": {"answer": roots}}));
    assert_eq!(backend.asked(), [Ok(roots)]);

    // An answer that nothing waits for any more is still accepted.
    let reply = post(&router, &answer.to_string(), &[("mcp-session-id", &id)]).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    assert!(!get.read_for(Duration::from_millis(100)).await);
    assert!(!get.text.contains("roots/list"), "the request went on one stream only");
}

#[tokio::test]
async fn a_client_answer_inside_a_batch_completes_the_request() {
    let (_facade, backend, router) = setup();
    let addr = serve(router.clone()).await;
    let id = initialize(&router, "2025-03-26").await;
    let mut raw = Raw::post(addr, &id, BOTH, &call(4, "test/ask")).await;
    raw.read_until("roots/list").await;
    let batch = json!([
        {"jsonrpc": "2.0", "id": asked_id(&raw.text), "error": {"code": -1, "message": "declined"}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
    ]);
    let reply = post(&router, &batch.to_string(), &[("mcp-session-id", &id)]).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    let text = raw.read_to_end().await;
    let last = sse_messages(&text).pop().unwrap();
    assert_eq!(last["id"], 4);
    assert_eq!(last["result"]["error"], "client answered with error -1: declined");
    assert!(backend.asked()[0].as_ref().is_err_and(|e| e.starts_with("Rpc(")));
    assert_eq!(backend.notifications.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_batch_shares_one_sse_answer_or_answers_json() {
    let (_facade, _backend, router) = setup();
    let addr = serve(router.clone()).await;
    let id = initialize(&router, "2025-03-26").await;
    let batch = format!(
        "[{}, {}, {}]",
        call(1, "test/notify"),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        call(2, "ping"),
    );
    let text = Raw::post(addr, &id, BOTH, &batch).await.read_to_end().await;
    assert!(head(&text).contains("content-type: text/event-stream"), "{text}");
    let messages = sse_messages(&text);
    assert_eq!(messages.len(), 4, "{text}");
    assert_eq!(logged(&text), [1, 2]);
    assert_eq!(
        messages[2],
        json!({"jsonrpc": "2.0", "id": 1, "result": {"delivered": [true, true]}})
    );
    assert_eq!(messages[3], json!({"jsonrpc": "2.0", "id": 2, "result": {}}));

    // JSON only: one JSON array, the messages had no stream to go to.
    let reply =
        post(&router, &batch, &[("accept", "application/json"), ("mcp-session-id", &id)]).await;
    assert_eq!(reply.headers["content-type"], "application/json");
    assert_eq!(
        reply.json(),
        json!([
            {"jsonrpc": "2.0", "id": 1, "result": {"delivered": [false, false]}},
            {"jsonrpc": "2.0", "id": 2, "result": {}},
        ])
    );
    // A batch that sends nothing is answered as before.
    let quiet = format!("[{}, {}]", call(3, "ping"), call(4, "ping"));
    let reply = post(&router, &quiet, &[("mcp-session-id", &id)]).await;
    assert_eq!(reply.headers["content-type"], "application/json");
    assert_eq!(reply.json().as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn legacy_requests_use_the_session_stream_both_ways() {
    let (_facade, backend, router) = setup();
    let addr = serve(router).await;
    let (mut stream, id) = open_legacy(addr).await;
    let query = format!("?sessionId={id}");

    let reply = post_messages(addr, &query, &call(1, "test/notify")).await;
    assert!(reply.starts_with("HTTP/1.1 202"), "{reply}");
    stream.read_until("\"delivered\":[true,true]}}").await;
    let messages = sse_messages(&stream.text);
    assert_eq!(logged(&stream.text), [1, 2]);
    assert_eq!(messages.len(), 3, "{}", stream.text);
    assert_eq!(messages[2]["id"], 1, "the response comes after its notifications");

    let reply = post_messages(addr, &query, &call(2, "test/ask")).await;
    assert!(reply.starts_with("HTTP/1.1 202"), "{reply}");
    stream.read_until("roots/list").await;
    let answer = json!({"jsonrpc": "2.0", "id": asked_id(&stream.text), "result": {"roots": []}});
    let reply = post_messages(addr, &query, &answer.to_string()).await;
    assert!(reply.starts_with("HTTP/1.1 202"), "{reply}");
    stream.read_until("\"answer\":{\"roots\":[]}}}").await;
    let last = sse_messages(&stream.text).pop().unwrap();
    assert_eq!(last, json!({"jsonrpc": "2.0", "id": 2, "result": {"answer": {"roots": []}}}));
    assert_eq!(backend.asked(), [Ok(json!({"roots": []}))]);
}

#[tokio::test]
async fn deleting_the_session_fails_a_pending_request_to_the_client_at_once() {
    let (_facade, backend, router) = setup();
    let addr = serve(router.clone()).await;
    let id = initialize(&router, "2025-11-25").await;
    let mut raw = Raw::post(addr, &id, BOTH, &call(5, "test/ask")).await;
    raw.read_until("roots/list").await;
    assert_eq!(delete(&router, &id).await, StatusCode::OK);
    // The ask waits up to 30 s; the POST's answer ends long before.
    let text = tokio::time::timeout(Duration::from_secs(2), raw.read_to_end())
        .await
        .expect("the pending request ended with the session");
    let last = sse_messages(&text).pop().unwrap();
    assert_eq!(
        last,
        json!({"jsonrpc": "2.0", "id": 5, "result": {"error": "client session closed"}})
    );
    assert_eq!(backend.asked(), [Err("Closed".to_owned())]);
}

#[tokio::test]
async fn the_end_of_a_legacy_stream_or_of_the_facade_fails_pending_requests() {
    let (facade, backend, router) = setup();
    let addr = serve(router.clone()).await;
    let (mut stream, id) = open_legacy(addr).await;
    post_messages(addr, &format!("?sessionId={id}"), &call(1, "test/ask")).await;
    stream.read_until("roots/list").await;
    drop(stream);
    eventually("the legacy ask to fail", || backend.asked().len() == 1).await;
    assert_eq!(backend.asked(), [Err("Closed".to_owned())]);

    let id = initialize(&router, "2025-11-25").await;
    let mut raw = Raw::post(addr, &id, BOTH, &call(2, "test/ask")).await;
    raw.read_until("roots/list").await;
    facade.close_all();
    let text = raw.read_to_end().await;
    assert_eq!(sse_messages(&text).pop().unwrap()["result"]["error"], "client session closed");
    assert_eq!(backend.asked().len(), 2);
}

#[tokio::test]
async fn plain_requests_are_answered_as_before_whatever_the_client_accepts() {
    let (_facade, _backend, router) = setup();
    let id = initialize(&router, "2025-11-25").await;
    for accept in [BOTH, "*/*", "application/json", ""] {
        let reply =
            post(&router, &call(1, "ping"), &[("accept", accept), ("mcp-session-id", &id)]).await;
        assert_eq!(reply.status, StatusCode::OK, "{accept}");
        assert_eq!(reply.headers["content-type"], "application/json", "{accept}");
        assert_eq!(reply.body, r#"{"jsonrpc":"2.0","id":1,"result":{}}"#, "{accept}");
    }
    let reply = post(&router, &call(2, "whoami"), &[("mcp-session-id", &id)]).await;
    assert_eq!(reply.headers["content-type"], "application/json");
    assert_eq!(reply.json()["result"]["id"], id.as_str());
    // SSE only: the one event, as before.
    let reply = post(
        &router,
        &call(3, "ping"),
        &[("accept", "text/event-stream"), ("mcp-session-id", &id)],
    )
    .await;
    assert!(reply.headers["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    assert_eq!(
        reply.body,
        "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{}}\n\n"
    );
    // Without an Accept header a request that sends messages still gets JSON.
    let reply =
        post(&router, &call(4, "test/notify"), &[("accept", ""), ("mcp-session-id", &id)]).await;
    assert_eq!(reply.headers["content-type"], "application/json");
}

#[tokio::test]
async fn a_context_that_outlives_its_request_falls_back_to_the_session_stream() {
    let (_facade, backend, router) = setup();
    let addr = serve(router.clone()).await;
    let id = initialize(&router, "2025-11-25").await;
    let mut get = open_get(addr, &id).await;
    let text = Raw::post(addr, &id, BOTH, &call(1, "test/keep")).await.read_to_end().await;
    assert_eq!(logged(&text), [0]);
    assert_eq!(sse_messages(&text)[1]["result"]["delivered"], true);
    let ctx = backend.kept.lock().unwrap().take().unwrap();
    assert!(ctx.notify(log_message(9)), "the request's stream refuses, the session's takes it");
    get.read_until("\"data\":9}").await;
    assert_eq!(logged(&get.text), [9]);

    assert_eq!(delete(&router, &id).await, StatusCode::OK);
    assert!(ctx.handle().is_closed());
    assert!(!ctx.notify(log_message(10)));
}

#[tokio::test(start_paused = true)]
async fn an_expired_session_closes_its_handle() {
    let settings =
        Settings { session_idle_timeout: Duration::from_secs(60), ..Settings::default() };
    let (_facade, backend, router) = setup_with(settings);
    let id = initialize(&router, "2025-11-25").await;
    let json_only = [("accept", "application/json"), ("mcp-session-id", id.as_str())];
    let reply = post(&router, &call(1, "test/keep"), &json_only).await;
    assert_eq!(reply.json()["result"]["delivered"], false, "no stream to deliver on");
    let ctx = backend.kept.lock().unwrap().take().unwrap();
    assert!(!ctx.handle().is_closed());
    tokio::time::advance(Duration::from_secs(61)).await;
    initialize(&router, "2025-11-25").await;
    assert_eq!(backend.closed_ids(), [id]);
    assert!(ctx.handle().is_closed());
}
