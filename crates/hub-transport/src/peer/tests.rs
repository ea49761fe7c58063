//! The peer against the Python fake server (see `crate::testing::FAKE_SERVER`).

use std::time::Duration;

use futures_util::future::join_all;
use hub_protocol::{ErrorObject, Id, Message, Response, jsonrpc::METHOD_NOT_FOUND};
use serde_json::json;
use tokio::time::Instant;

use crate::{
    Error, Settings, spawn,
    testing::{
        LONG, fake_server, fake_with_hung_request, json, next_notification, params, quick_settings,
        within,
    },
};

fn assert_send<T: Send>(_: &T) {}

#[tokio::test]
async fn many_requests_in_flight_are_correlated_by_id() {
    let (peer, mut incoming) =
        spawn("fake", &fake_server(), &quick_settings()).await.expect("spawns");
    let n = 20;
    let calls = (0..n).map(|k| peer.request("collect", params(&json!({ "n": n, "k": k })), LONG));
    // The server answers only once all 20 are in, in reverse order.
    let results = within(5, join_all(calls)).await;
    for (k, result) in results.into_iter().enumerate() {
        assert_eq!(json(&result.expect("answered")), json!({ "n": n, "k": k }));
    }
    // The notifications interleaved with the responses were delivered, in order.
    let mut before = Vec::new();
    for _ in 0..n {
        let note = next_notification(&mut incoming).await;
        assert_eq!(note.method, "test/progress");
        before.push(json(note.params.as_deref().expect("has params"))["before"].as_i64());
    }
    // Ids are handed out in call order, starting at 1; the server answered the last first.
    assert_eq!(before, (1..=20).rev().map(Some).collect::<Vec<_>>());
    within(5, peer.shutdown()).await;
}

#[tokio::test]
async fn request_future_is_send() {
    let (peer, _incoming) = spawn("fake", &fake_server(), &quick_settings()).await.expect("spawns");
    let call = peer.request("echo", None, LONG);
    assert_send(&call);
    drop(call);
    within(5, peer.shutdown()).await;
}

#[tokio::test]
async fn error_response_is_rpc_error() {
    let (peer, _incoming) = spawn("fake", &fake_server(), &quick_settings()).await.expect("spawns");
    let error = within(5, peer.request("nope", None, LONG)).await.expect_err("fails");
    let Error::Rpc(object) = error else { panic!("expected Rpc, got {error:?}") };
    assert_eq!(object.code, METHOD_NOT_FOUND);
    assert_eq!(object.message, "no such method: nope");
    within(5, peer.shutdown()).await;
}

#[tokio::test]
async fn garbage_and_oversized_lines_do_not_kill_the_connection() {
    let settings = Settings { max_line_bytes: 1024, ..quick_settings() };
    let (peer, _incoming) = spawn("fake", &fake_server(), &settings).await.expect("spawns");
    let result =
        within(5, peer.request("garbage", params(&json!({ "long": 100_000 })), LONG)).await;
    assert_eq!(json(&result.expect("answered")), json!({ "after": "garbage" }));
    assert!(!peer.is_closed());
    let again = within(5, peer.request("echo", params(&json!([1])), LONG)).await;
    assert_eq!(json(&again.expect("answered")), json!([1]));
    within(5, peer.shutdown()).await;
}

#[tokio::test]
async fn batch_from_upstream_is_handled_element_wise() {
    let (peer, mut incoming) =
        spawn("fake", &fake_server(), &quick_settings()).await.expect("spawns");
    let result = within(5, peer.request("batch", None, LONG)).await;
    assert_eq!(json(&result.expect("answered")), json!({ "batched": true }));
    assert_eq!(next_notification(&mut incoming).await.method, "test/in_batch");
    within(5, peer.shutdown()).await;
}

#[tokio::test]
async fn ping_is_answered_and_not_delivered() {
    let (peer, mut incoming) =
        spawn("fake", &fake_server(), &quick_settings()).await.expect("spawns");
    let result = within(5, peer.request("ping_me", None, LONG)).await.expect("answered");
    assert_eq!(
        json(&result),
        json!({ "got": { "jsonrpc": "2.0", "id": "srv-ping", "result": {} } })
    );
    assert!(incoming.try_recv().is_err(), "ping must not reach Incoming");
    within(5, peer.shutdown()).await;
}

#[tokio::test]
async fn server_request_is_delivered_and_answered_with_respond() {
    let (peer, mut incoming) =
        spawn("fake", &fake_server(), &quick_settings()).await.expect("spawns");
    let call = tokio::spawn({
        let peer = peer.clone();
        async move { peer.request("ask", None, LONG).await }
    });
    let request = match within(5, incoming.recv()).await {
        Some(Message::Request(request)) => request,
        other => panic!("expected a request, got {other:?}"),
    };
    assert_eq!(request.method, "sampling/createMessage");
    assert_eq!(request.id, Id::from("srv-ask"));
    within(5, peer.respond(Response::ok_value(request.id, &json!({ "a": 2 }))))
        .await
        .expect("sent");
    let result = within(5, call).await.expect("task ran").expect("answered");
    assert_eq!(
        json(&result),
        json!({ "got": { "jsonrpc": "2.0", "id": "srv-ask", "result": { "a": 2 } } })
    );
    within(5, peer.shutdown()).await;
}

#[tokio::test]
async fn full_incoming_drops_notifications_and_refuses_requests() {
    let settings = Settings { incoming_capacity: 1, ..quick_settings() };
    let (peer, mut incoming) = spawn("fake", &fake_server(), &settings).await.expect("spawns");
    let result = within(5, peer.request("flood", None, LONG)).await.expect("answered");
    let got = &json(&result)["got"];
    assert_eq!(got["id"], "srv-flood");
    assert_eq!(got["error"]["code"], -32603);
    assert_eq!(got["error"]["message"], "hub is overloaded");
    assert_eq!(next_notification(&mut incoming).await.method, "test/n1");
    assert!(incoming.try_recv().is_err(), "n2 and the request were not queued");
    within(5, peer.shutdown()).await;
}

#[tokio::test]
async fn dropped_incoming_answers_requests_method_not_found() {
    let (peer, incoming) = spawn("fake", &fake_server(), &quick_settings()).await.expect("spawns");
    drop(incoming);
    let result = within(5, peer.request("ask", None, LONG)).await.expect("answered");
    let got = &json(&result)["got"];
    assert_eq!(got["error"]["code"], METHOD_NOT_FOUND);
    within(5, peer.shutdown()).await;
}

#[tokio::test]
async fn notify_reaches_the_server() {
    let (peer, mut incoming) =
        spawn("fake", &fake_server(), &quick_settings()).await.expect("spawns");
    within(5, peer.notify("notifications/initialized", None)).await.expect("sent");
    let note = next_notification(&mut incoming).await;
    assert_eq!(note.method, "test/notified");
    assert_eq!(
        json(note.params.as_deref().expect("has params")),
        json!({ "method": "notifications/initialized", "params": {} })
    );
    within(5, peer.shutdown()).await;
}

/// Reads `test/hanging` and then `test/cancelled`, returning (hung id, cancellation params).
async fn hung_then_cancelled(
    incoming: &mut crate::Incoming,
) -> (serde_json::Value, serde_json::Value) {
    let hanging = next_notification(incoming).await;
    assert_eq!(hanging.method, "test/hanging");
    let id = json(hanging.params.as_deref().expect("has params"))["id"].clone();
    let cancelled = next_notification(incoming).await;
    assert_eq!(cancelled.method, "test/cancelled");
    (id, json(cancelled.params.as_deref().expect("has params")))
}

#[tokio::test]
async fn timeout_cancels_upstream_and_connection_survives() {
    let (peer, mut incoming) =
        spawn("fake", &fake_server(), &quick_settings()).await.expect("spawns");
    let started = Instant::now();
    let error = within(5, peer.request("hang", None, Duration::from_millis(300)))
        .await
        .expect_err("times out");
    assert!(started.elapsed() >= Duration::from_millis(300));
    match &error {
        Error::Timeout { method, after } => {
            assert_eq!(method, "hang");
            assert_eq!(*after, Duration::from_millis(300));
        }
        other => panic!("expected Timeout, got {other:?}"),
    }
    assert_eq!(error.to_string(), "no response to hang within 300ms");
    let (id, cancelled) = hung_then_cancelled(&mut incoming).await;
    assert_eq!(cancelled, json!({ "requestId": id, "reason": "timeout" }));
    let again = within(5, peer.request("echo", params(&json!({ "still": "alive" })), LONG)).await;
    assert_eq!(json(&again.expect("answered")), json!({ "still": "alive" }));
    within(5, peer.shutdown()).await;
}

#[tokio::test]
async fn dropped_request_future_cancels_upstream() {
    let (peer, mut incoming) =
        spawn("fake", &fake_server(), &quick_settings()).await.expect("spawns");
    let call = peer.request("hang", None, LONG);
    // The caller gives up after 300 ms: the request future is dropped.
    assert!(tokio::time::timeout(Duration::from_millis(300), call).await.is_err());
    let (id, cancelled) = hung_then_cancelled(&mut incoming).await;
    assert_eq!(cancelled, json!({ "requestId": id, "reason": "cancelled by client" }));
    within(5, peer.shutdown()).await;
}

#[tokio::test]
async fn child_exit_fails_pending_requests_promptly() {
    let (peer, mut incoming, hung) = fake_with_hung_request().await;
    let started = Instant::now();
    let exit = within(5, peer.request("exit", params(&json!({ "code": 3 })), LONG)).await;
    let hung = within(5, hung).await.expect("task ran");
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
    for result in [exit, hung] {
        match result {
            Err(Error::Closed { reason }) => assert_eq!(reason, "process exited with status 3"),
            other => panic!("expected Closed, got {other:?}"),
        }
    }
    assert!(peer.is_closed());
    // Every waiter gets the reason.
    let (a, b) = within(5, async { tokio::join!(peer.closed(), peer.closed()) }).await;
    assert_eq!(a, "process exited with status 3");
    assert_eq!(b, a);
    // Later calls fail at once, and Incoming ends.
    let late = within(5, peer.request("echo", None, LONG)).await;
    assert!(matches!(late, Err(Error::Closed { .. })), "got {late:?}");
    assert!(matches!(within(5, peer.notify("x", None)).await, Err(Error::Closed { .. })));
    assert!(within(5, incoming.recv()).await.is_none());
    within(5, peer.shutdown()).await;
}

#[tokio::test]
async fn error_display_is_lowercase_and_names_things() {
    let rpc = Error::Rpc(ErrorObject::new(-32601, "no such method"));
    assert_eq!(rpc.to_string(), "no such method (code -32601)");
    let closed = Error::Closed { reason: "killed by signal 9".to_owned() };
    assert_eq!(closed.to_string(), "connection closed: killed by signal 9");
}

mod call_options {
    use hub_protocol::RawValue;
    use tokio::sync::mpsc;

    use super::*;
    use crate::CallOptions;

    fn slow(steps: u32, every_ms: u64) -> Option<Box<RawValue>> {
        params(&json!({ "steps": steps, "every_ms": every_ms }))
    }

    fn drain(rx: &mut mpsc::UnboundedReceiver<Message>) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        while let Ok(m) = rx.try_recv() {
            out.push(serde_json::to_value(&m).expect("serializes"));
        }
        out
    }

    #[tokio::test]
    async fn progress_keeps_a_request_alive_and_comes_back_with_related_messages() {
        let (peer, mut incoming) =
            spawn("fake", &fake_server(), &quick_settings()).await.expect("spawns");
        let (tx, mut rx) = mpsc::unbounded_channel();
        let options = CallOptions {
            timeout: Duration::from_millis(1000),
            max_total: Some(Duration::from_secs(20)),
            related: Some(tx),
            progress: true,
        };
        // Five steps 400 ms apart: 2 s in all, twice the timeout.
        let result = within(10, peer.call("slow", slow(5, 400), options)).await.expect("answered");
        let token = json(&result)["token"].clone();
        assert!(token.is_i64(), "the transport's own token was sent: {token}");
        let related = drain(&mut rx);
        let methods: Vec<_> = related.iter().map(|m| m["method"].as_str().unwrap()).collect();
        assert_eq!(methods[0], "notifications/message", "the only caller gets the log message");
        assert_eq!(methods[1..], ["notifications/progress"; 5]);
        assert!(related[1..].iter().all(|m| m["params"]["progressToken"] == token));
        assert!(incoming.try_recv().is_err(), "nothing related leaked to Incoming");
        within(5, peer.shutdown()).await;
    }

    #[tokio::test]
    async fn without_progress_the_timeout_is_fixed_and_related_messages_still_arrive() {
        let (peer, _incoming) =
            spawn("fake", &fake_server(), &quick_settings()).await.expect("spawns");
        let (tx, mut rx) = mpsc::unbounded_channel();
        let options = CallOptions {
            timeout: Duration::from_millis(400),
            max_total: Some(Duration::from_secs(10)),
            related: Some(tx),
            progress: false,
        };
        let error =
            within(5, peer.call("slow", slow(5, 150), options)).await.expect_err("times out");
        assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
        assert_eq!(drain(&mut rx)[0]["method"], "notifications/message");
        within(5, peer.shutdown()).await;
    }

    #[tokio::test]
    async fn progress_does_not_extend_a_request_past_its_maximum() {
        let (peer, _incoming) =
            spawn("fake", &fake_server(), &quick_settings()).await.expect("spawns");
        let (tx, _rx) = mpsc::unbounded_channel();
        let options = CallOptions {
            timeout: Duration::from_millis(300),
            max_total: Some(Duration::from_millis(700)),
            related: Some(tx),
            progress: true,
        };
        let started = Instant::now();
        let error =
            within(5, peer.call("slow", slow(30, 100), options)).await.expect_err("times out");
        let Error::Timeout { after, .. } = error else { panic!("expected Timeout, got {error:?}") };
        assert!(
            after >= Duration::from_millis(700),
            "stopped at the maximum, not before: {after:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(3), "and not much later");
        within(5, peer.shutdown()).await;
    }

    #[tokio::test]
    async fn with_two_callers_wanting_messages_an_unattributable_one_goes_to_incoming() {
        let (peer, mut incoming) =
            spawn("fake", &fake_server(), &quick_settings()).await.expect("spawns");
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (tx2, _rx2) = mpsc::unbounded_channel();
        let hang_opts = CallOptions { related: Some(tx2), ..CallOptions::timeout(LONG) };
        let hanging = peer.call("hang", None, hang_opts);
        tokio::pin!(hanging);
        // Let the hanging request register before the slow one.
        tokio::select! { _ = &mut hanging => panic!("hang answered"), () = tokio::time::sleep(Duration::from_millis(200)) => {} }
        let options =
            CallOptions { related: Some(tx), progress: true, ..CallOptions::timeout(LONG) };
        let slow_call = peer.call("slow", slow(2, 10), options);
        let result =
            tokio::select! { r = slow_call => r, _ = &mut hanging => panic!("hang answered") };
        result.expect("answered");
        let related = drain(&mut rx);
        // The progress notifications carry its token; the log message could be either's.
        assert_eq!(related.len(), 2, "{related:?}");
        assert!(related.iter().all(|m| m["method"] == "notifications/progress"));
        let mut seen = Vec::new();
        while let Ok(m) = incoming.try_recv() {
            seen.push(m.method().unwrap_or_default().to_owned());
        }
        assert!(seen.contains(&"notifications/message".to_owned()), "{seen:?}");
        within(5, peer.shutdown()).await;
    }
}
