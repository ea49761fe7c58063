use hub_events::Subscription;
use serde_json::{Value, json};

use crate::test_support::{Raw, WAIT, serve, setup};

/// The `data` of each `event: <name>` frame received so far.
fn frames(text: &str, name: &str) -> Vec<Value> {
    text.split("\n\n")
        .filter(|f| f.lines().any(|l| l == format!("event: {name}")))
        .filter_map(|f| f.lines().find_map(|l| l.strip_prefix("data: ")))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

#[tokio::test]
async fn a_listener_gets_the_state_first_then_every_event_until_shutdown() {
    let (facade, backend, router) = setup();
    let addr = serve(router).await;
    backend.events.hub_state("ready");
    let mut raw =
        Raw::request(addr, "GET /api/events HTTP/1.1\r\nAccept: text/event-stream", "").await;
    raw.read_until("event: hub_state").await;
    raw.read_until("\n\n").await;
    assert!(raw.text.starts_with("HTTP/1.1 200"), "{}", raw.text);
    assert!(raw.text.to_ascii_lowercase().contains("cache-control: no-cache"), "{}", raw.text);
    let state = &frames(&raw.text, "hub_state")[0];
    assert_eq!(state["state"], "ready");
    assert_eq!(state["server_id"], "mcp-hub");
    assert_eq!(state["pid"], std::process::id());
    assert!(state["port"].is_u64() && state["timestamp"].is_string(), "{state}");

    // Counted in /api/health as mcp-hub counts its SSE clients.
    let health = Raw::request(addr, "GET /api/health HTTP/1.1", "").await.read_to_end().await;
    let body: Value = serde_json::from_str(health.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["activeClients"], 1, "{body}");
    assert_eq!(body["connections"]["totalConnections"], 1);

    backend
        .events
        .subscription(Subscription::ServersUpdated, json!({"changes": {"modified": ["a"]}}));
    raw.read_until("servers_updated").await;
    raw.read_until("}\n\n").await;
    let event = &frames(&raw.text, "subscription_event")[0];
    assert_eq!(event["type"], "servers_updated");
    assert_eq!(event["changes"]["modified"], json!(["a"]));
    assert!(event["timestamp"].is_string());

    facade.close_all();
    assert!(raw.read_for(WAIT).await, "the stream ends with the facade");
    let health = Raw::request(addr, "GET /api/health HTTP/1.1", "").await.read_to_end().await;
    let body: Value = serde_json::from_str(health.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["activeClients"], 0, "the listener is no longer counted: {body}");
}

#[tokio::test(start_paused = true)]
async fn a_heartbeat_every_ten_seconds_counts_the_listeners() {
    use std::sync::{Arc, atomic::AtomicUsize};

    use super::{Feed, HEARTBEAT, Listening, next};

    let bus = hub_events::EventBus::new();
    let count = Arc::new(AtomicUsize::new(2));
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.reset();
    let (closed_tx, closed) = tokio::sync::watch::channel(false);
    let mut feed = Feed {
        first: Some(bus.current_state()),
        rx: bus.subscribe(),
        heartbeat,
        closed,
        count: count.clone(),
        port: 1,
        _listening: Listening(count),
    };
    let started = tokio::time::Instant::now();
    assert_eq!(next(&mut feed).await.unwrap().name, hub_events::EventName::HubState);
    let beat = next(&mut feed).await.unwrap();
    assert_eq!(beat.name, hub_events::EventName::Heartbeat);
    assert_eq!(beat.data["connections"], 2);
    assert_eq!(started.elapsed(), HEARTBEAT, "not before ten seconds");
    closed_tx.send_replace(true);
    assert!(next(&mut feed).await.is_none(), "the feed ends when the facade closes");
}
