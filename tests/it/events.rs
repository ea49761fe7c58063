//! `GET /api/events`: mcp-hub's live event stream, as mcphub.nvim reads it — the hub's state
//! first, then what happens to the servers: a server's tools changing, a server going down and
//! coming back (with the hub's log lines), a reload.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Hub, Session, Stream, bounded, demo, http_client};

async fn listen(hub: &Hub) -> Stream {
    let response = http_client()
        .get(hub.url("/api/events"))
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    Stream::of(response)
}

/// Every `subscription_event` payload received so far.
fn subscription_events(stream: &Stream) -> Vec<Value> {
    stream
        .seen
        .split("\n\n")
        .filter(|f| f.lines().any(|l| l == "event: subscription_event"))
        .filter_map(|f| f.lines().find_map(|l| l.strip_prefix("data: ")))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn server_changes_reach_event_listeners() {
    bounded(async {
        let hub = Hub::start(&json!({"mcpServers": {"demo": demo(&["--test-tools"])}})).await;
        let mut events = listen(&hub).await;
        assert!(events.wait_for("event: hub_state", WAIT).await, "{}", events.seen);
        assert!(events.wait_for("\"state\":\"ready\"", WAIT).await, "{}", events.seen);

        // A server's tools change: the server's whole list, as mcp-hub sends it.
        let mut s = Session::open(&hub).await;
        s.tool_text("demo__toggle_bonus_tool", json!({})).await;
        assert!(events.wait_for("tool_list_changed", WAIT).await, "{}", events.seen);
        assert!(events.wait_for("}\n\n", WAIT).await);
        let changed = subscription_events(&events)
            .into_iter()
            .find(|e| e["type"] == "tool_list_changed")
            .unwrap();
        assert_eq!(changed["server"], "demo");
        let tools = changed["tools"].as_array().unwrap();
        assert!(tools.iter().any(|t| t["name"] == "bonus"), "{changed}");

        // The server crashes and is restarted: listeners hear of each change of its state
        // (down, connecting again, connected again).
        let before = events.seen.matches("servers_updated").count();
        let (failed, _) = s.tool_text("demo__crash", json!({})).await;
        assert!(failed);
        let heard = events.wait_for_count("servers_updated", before + 3, WAIT).await;
        assert!(heard, "{}", events.seen);
        let updates: Vec<Value> = subscription_events(&events)
            .into_iter()
            .filter(|e| e["type"] == "servers_updated")
            .collect();
        assert!(updates.iter().all(|e| e["changes"]["modified"] == json!(["demo"])), "{updates:?}");
        // The hub's own log lines come along as `log` events.
        let logged = events.seen.split("\n\n").any(|f| {
            f.contains("event: log") && f.contains("\"type\":\"warn\"") && f.contains("server down")
        });
        assert!(logged, "{}", events.seen);
        assert_eq!(hub.server("demo").await["status"], "connected");
        hub.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_reload_is_announced_with_its_changes() {
    bounded(async {
        let dir = std::env::temp_dir().join(format!("hub-it-events-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("hub.json");
        std::fs::write(&file, json!({"mcpServers": {"a": demo(&[])}}).to_string()).unwrap();
        let hub = Hub::start_with(&[&file], &["--watch"]).await;
        let mut events = listen(&hub).await;
        assert!(events.wait_for("\"state\":\"ready\"", WAIT).await, "{}", events.seen);
        std::fs::write(&file, json!({"mcpServers": {"a": demo(&[]), "b": demo(&[])}}).to_string())
            .unwrap();
        assert!(events.wait_for("\"type\":\"servers_updated\"", WAIT).await, "{}", events.seen);
        assert!(events.wait_for("}\n\n", WAIT).await);
        let kinds: Vec<Value> =
            subscription_events(&events).iter().map(|e| e["type"].clone()).collect();
        let order = ["config_changed", "servers_updating", "servers_updated"];
        let positions: Vec<usize> =
            order.iter().map(|k| kinds.iter().position(|t| t == k).unwrap()).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{kinds:?}");
        let all = subscription_events(&events);
        let config = all.iter().find(|e| e["type"] == "config_changed").unwrap();
        assert_eq!(config["isSignificant"], true);
        assert!(config["newConfig"]["mcpServers"]["b"]["config_source"].is_string(), "{config}");
        let updated = all.iter().find(|e| e["type"] == "servers_updated").unwrap();
        assert_eq!(updated["changes"]["added"], json!(["b"]), "{updated}");
        assert_eq!(updated["changes"]["unchanged"], json!(["a"]), "{updated}");
        hub.stop().await;
        std::fs::remove_dir_all(&dir).ok();
    })
    .await;
}
