use std::sync::{Arc, Mutex};

use hub_protocol::{Id, Message, Notification, ProtocolVersion, Response};
use serde_json::{Value, json};

use super::*;
use crate::backend::Transport;

/// A sink that records what it was given, or refuses everything when told to.
#[derive(Default)]
struct Recorder {
    sent: Mutex<Vec<Value>>,
    refuse: AtomicBool,
}

impl ClientSink for Recorder {
    fn send(&self, message: &Message) -> bool {
        if self.refuse.load(Ordering::Relaxed) {
            return false;
        }
        self.sent.lock().unwrap().push(serde_json::to_value(message).unwrap());
        true
    }
}

impl Recorder {
    fn sent(&self) -> Vec<Value> {
        self.sent.lock().unwrap().clone()
    }

    async fn wait_for(&self, n: usize) -> Vec<Value> {
        while self.sent().len() < n {
            tokio::task::yield_now().await;
        }
        self.sent()
    }
}

fn session() -> SessionInfo {
    SessionInfo {
        id: Arc::from("s1"),
        transport: Transport::StreamableHttp,
        protocol_version: ProtocolVersion::LATEST,
    }
}

fn note(method: &str) -> Notification {
    Notification { method: method.to_owned(), params: None }
}

fn answer(id: i64, result: &Value) -> Response {
    Response::ok_value(Id::Number(id), result)
}

const LONG: Duration = Duration::from_secs(5);

#[tokio::test]
async fn a_request_is_answered_by_the_response_with_its_id() {
    let sink = Arc::new(Recorder::default());
    let handle = SessionHandle::new(Arc::from("s1"), sink.clone());
    let h = handle.clone();
    let waiter = tokio::spawn(async move { h.request("roots/list", None, LONG).await });
    let sent = sink.wait_for(1).await;
    assert_eq!(sent[0]["method"], "roots/list");
    let id = sent[0]["id"].as_i64().unwrap();
    assert!(!handle.complete(answer(id + 100, &json!({}))), "an unknown id is not taken");
    assert!(handle.complete(answer(id, &json!({"roots": []}))));
    let result = waiter.await.unwrap().unwrap();
    assert_eq!(result.get(), r#"{"roots":[]}"#);
    assert!(!handle.complete(answer(id, &json!({}))), "an answer is taken once");
}

#[tokio::test]
async fn an_error_answer_is_a_client_error() {
    let sink = Arc::new(Recorder::default());
    let handle = SessionHandle::new(Arc::from("s1"), sink.clone());
    let h = handle.clone();
    let waiter = tokio::spawn(async move { h.request("x", None, LONG).await });
    let id = sink.wait_for(1).await[0]["id"].as_i64().unwrap();
    handle.complete(Response::err(Some(Id::Number(id)), ErrorObject::new(-1, "declined")));
    match waiter.await.unwrap() {
        Err(ClientError::Rpc(e)) => assert_eq!(e.message, "declined"),
        other => panic!("expected an error answer, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_request_without_answer_times_out_and_is_cancelled() {
    let sink = Arc::new(Recorder::default());
    let handle = SessionHandle::new(Arc::from("s1"), sink.clone());
    let outcome = handle.request("sampling/createMessage", None, Duration::from_secs(1)).await;
    assert!(matches!(outcome, Err(ClientError::Timeout(_))), "{outcome:?}");
    let sent = sink.sent();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1]["method"], "notifications/cancelled");
    assert_eq!(sent[1]["params"]["requestId"], sent[0]["id"]);
    assert!(!handle.complete(answer(sent[0]["id"].as_i64().unwrap(), &json!({}))));
}

#[tokio::test]
async fn closing_fails_waiting_requests_and_stops_sending() {
    let sink = Arc::new(Recorder::default());
    let handle = SessionHandle::new(Arc::from("s1"), sink.clone());
    let h = handle.clone();
    let waiter = tokio::spawn(async move { h.request("x", None, LONG).await });
    sink.wait_for(1).await;
    handle.close();
    assert!(matches!(waiter.await.unwrap(), Err(ClientError::Closed)));
    assert!(!handle.notify(note("n")));
    assert!(matches!(handle.request("x", None, LONG).await, Err(ClientError::Closed)));
    assert_eq!(sink.sent().len(), 1);
}

#[tokio::test]
async fn a_context_prefers_its_own_stream_and_falls_back_to_the_session() {
    let session_sink = Arc::new(Recorder::default());
    let own = Arc::new(Recorder::default());
    let handle = SessionHandle::new(Arc::from("s1"), session_sink.clone());
    let ctx = Context::new(session(), handle.clone(), Some(own.clone()));
    assert!(ctx.notify(note("first")));
    own.refuse.store(true, Ordering::Relaxed); // the request's stream ended
    assert!(ctx.notify(note("second")));
    assert_eq!(own.sent()[0]["method"], "first");
    assert_eq!(session_sink.sent()[0]["method"], "second");
    assert_eq!((own.sent().len(), session_sink.sent().len()), (1, 1));

    // A request after the stream ended goes to the session's stream and is answered there.
    let c = ctx.clone();
    let waiter = tokio::spawn(async move { c.request("x", None, LONG).await });
    let id = session_sink.wait_for(2).await[1]["id"].as_i64().unwrap();
    assert!(handle.complete(answer(id, &json!({"ok": true}))));
    assert!(waiter.await.unwrap().is_ok());
}

#[tokio::test]
async fn a_detached_context_delivers_nothing() {
    let ctx = Context::detached(session());
    assert!(!ctx.notify(note("n")));
    assert!(matches!(
        ctx.request("x", None, Duration::from_secs(1)).await,
        Err(ClientError::Undeliverable)
    ));
}

#[tokio::test]
async fn a_request_given_up_by_its_caller_is_cancelled_at_the_client() {
    let sink = Arc::new(Recorder::default());
    let handle = SessionHandle::new(Arc::from("s1"), sink.clone());
    let h = handle.clone();
    let waiter = tokio::spawn(async move { h.request("elicitation/create", None, LONG).await });
    let id = sink.wait_for(1).await[0]["id"].as_i64().unwrap();
    waiter.abort();
    let sent = sink.wait_for(2).await;
    assert_eq!(sent[1]["method"], "notifications/cancelled");
    assert_eq!(sent[1]["params"], json!({"requestId": id, "reason": "cancelled"}));
    assert!(!handle.complete(answer(id, &json!({}))), "nothing waits for a late answer");
}
