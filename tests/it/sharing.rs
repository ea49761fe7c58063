//! `"sharing": "per-session"`: each client session gets a stdio child of its own, capped by
//! `maxInstances`, stopped with its session; the shared child keeps serving the lists.

use std::time::Duration;

use serde_json::json;

use crate::support::{HUB, Hub, Session, Stream, bounded, children_of};

async fn delete(s: &Session, hub: &Hub) {
    let r = crate::support::http_client()
        .delete(hub.url("/mcp"))
        .header("mcp-session-id", &s.id)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
}

async fn children_become(hub: &Hub, n: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let now = children_of(hub.pid()).len();
        if now == n {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "{now} children, expected {n}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn each_session_gets_its_own_process_up_to_max_instances() {
    bounded(async {
        let entry = json!({"command": HUB, "args": ["demo-server"], "sharing": "per-session",
                           "maxInstances": 2});
        let hub = Hub::start(&json!({"mcpServers": {"s": entry}})).await;
        assert_eq!(children_of(hub.pid()).len(), 1, "the shared child lists the capabilities");
        let (mut a, mut b, mut c) =
            (Session::open(&hub).await, Session::open(&hub).await, Session::open(&hub).await);
        assert_eq!(a.tool_text("s__echo", json!({"text": "a"})).await, (false, "a".to_owned()));
        children_become(&hub, 2).await;
        assert_eq!(b.tool_text("s__echo", json!({"text": "b"})).await, (false, "b".to_owned()));
        children_become(&hub, 3).await;
        assert_eq!(a.tool_text("s__echo", json!({"text": "again"})).await.1, "again");
        assert_eq!(children_of(hub.pid()).len(), 3, "a session keeps its process");

        let (failed, text) = c.tool_text("s__echo", json!({"text": "c"})).await;
        assert!(failed && text.contains("maxInstances"), "{text}");

        // The end of a session ends its process and makes room.
        delete(&a, &hub).await;
        children_become(&hub, 2).await;
        assert_eq!(c.tool_text("s__echo", json!({"text": "c"})).await, (false, "c".to_owned()));
        children_become(&hub, 3).await;
        let tools = c.ok("tools/list", json!({})).await;
        assert!(tools["tools"].as_array().unwrap().iter().any(|t| t["name"] == "s__echo"));
        assert_eq!(hub.stop().await, Some(0));
    })
    .await;
}

#[tokio::test]
async fn a_session_process_that_crashes_is_started_again_by_the_next_call() {
    bounded(async {
        let entry = json!({"command": HUB, "args": ["demo-server", "--test-tools"],
                           "sharing": "per-session"});
        let hub = Hub::start(&json!({"mcpServers": {"s": entry}})).await;
        let mut a = Session::open(&hub).await;
        assert_eq!(a.tool_text("s__echo", json!({"text": "1"})).await.1, "1");
        children_become(&hub, 2).await;
        let (failed, _) = a.tool_text("s__crash", json!({})).await;
        assert!(failed, "the call to a crashing process fails");
        children_become(&hub, 1).await;
        let server = hub.server("s").await;
        assert_eq!(server["status"], "connected", "the shared child is unaffected: {server}");
        assert_eq!(a.tool_text("s__echo", json!({"text": "2"})).await, (false, "2".to_owned()));
        children_become(&hub, 2).await;
        assert_eq!(hub.stop().await, Some(0));
    })
    .await;
}

/// Each session's process has a circuit breaker of its own: one session whose process keeps
/// timing out gets fast failures, while the other sessions' calls still go through and the
/// server does not show as degraded.
#[tokio::test]
async fn one_sessions_failing_process_opens_only_its_own_breaker() {
    bounded(async {
        let entry = json!({"command": HUB, "args": ["demo-server"], "sharing": "per-session"});
        let hub = Hub::start(&json!({
            "hub": {"timeouts": {"request": "300ms"},
                    "supervision": {"breaker": {"failures": 2, "coolDown": "1m"}}},
            "mcpServers": {"s": entry},
        }))
        .await;
        let (mut a, mut b) = (Session::open(&hub).await, Session::open(&hub).await);
        for _ in 0..2 {
            let (failed, text) = a.tool_text("s__sleep", json!({"ms": 5000})).await;
            assert!(failed && text.contains("no response to tools/call"), "{text}");
        }
        let v = a.call("tools/call", json!({"name": "s__echo", "arguments": {"text": "a"}})).await;
        assert_eq!(v["error"]["code"], -32010, "a's breaker is open: {v}");

        assert_eq!(b.tool_text("s__echo", json!({"text": "b"})).await, (false, "b".to_owned()));
        let s = hub.server("s").await;
        assert_eq!(s["status"], "connected", "one session's process does not degrade it: {s}");
        assert_eq!(hub.stop().await, Some(0));
    })
    .await;
}

/// Each session's own child numbers its requests to the client from the same start, so the
/// hub keeps the requests it relays by connection, not by server: session B's child cancelling
/// its sampling request cancels B's only, and A's (another child's) is still answered.
#[tokio::test]
async fn requests_of_two_session_processes_with_the_same_id_stay_apart() {
    bounded(async {
        let entry = json!({"command": crate::features::FIXTURE, "sharing": "per-session",
                           "prefix": "never"});
        let hub = Hub::start(&json!({"mcpServers": {"fx": entry}})).await;
        let (a, b) = (
            Session::open_with(&hub, json!({"sampling": {}})).await,
            Session::open_with(&hub, json!({"sampling": {}})).await,
        );
        let call = |timeout: Option<u64>| {
            let mut args = json!({"prompt": "p"});
            if let Some(ms) = timeout {
                args["timeoutMs"] = json!(ms);
            }
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                   "params": {"name": "test_sampling", "arguments": args}})
        };
        // B's child asks first and gives up on its request after 1 s; A's child asks next,
        // with the same request id, and waits.
        let mut b_stream = Stream::of(b.post(&call(Some(1000))).await);
        assert!(b_stream.wait_for("sampling/createMessage", LIMIT).await, "{}", b_stream.seen);
        let mut a_stream = Stream::of(a.post(&call(None)).await);
        assert!(a_stream.wait_for("sampling/createMessage", LIMIT).await, "{}", a_stream.seen);
        let (a_asked, b_asked) = (a_stream.messages().remove(0), b_stream.messages().remove(0));
        assert!(b_stream.wait_for("notifications/cancelled", LIMIT).await, "{}", b_stream.seen);
        assert!(b_stream.wait_for("\"isError\":true", LIMIT).await, "{}", b_stream.seen);
        let cancel = b_stream.seen.lines().find(|l| l.contains("notifications/cancelled"));
        assert!(cancel.unwrap().contains(&format!("\"requestId\":{}", b_asked["id"])));

        let sampled = json!({"jsonrpc": "2.0", "id": a_asked["id"], "result": {
            "role": "assistant", "content": {"type": "text", "text": "for a"}, "model": "m"}});
        assert_eq!(a.post(&sampled).await.status(), 202);
        assert!(a_stream.wait_for("LLM response: for a", LIMIT).await, "{}", a_stream.seen);
        assert!(!a_stream.seen.contains("notifications/cancelled"), "{}", a_stream.seen);
        assert_eq!(hub.stop().await, Some(0));
    })
    .await;
}

const LIMIT: Duration = Duration::from_secs(10);
