//! Remote upstreams with real third-party servers: `server-everything` (Node) in its
//! streamable-HTTP and legacy HTTP+SSE modes, fronted by the hub over HTTP, and the Python
//! `mcp-server-time` over stdio. Also the keep-alive proof: how many TCP connections the upstream
//! saw for 1,000 calls through the hub.
//!
//! Needs the pinned peers (`cargo xtask test`); see `python_sdk.rs` for the skip rules.

use std::{
    process::Stdio,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use serde_json::{Value, json};
use tokio::{net::TcpListener, process::Child};

use crate::{
    python_sdk::{Peers, peers},
    support::{Hub, Session, names},
};

/// `server-everything` in one of its HTTP modes on a free loopback port; killed on drop.
struct Everything {
    child: Child,
    port: u16,
}

impl Everything {
    async fn start(p: &Peers, mode: &str) -> Everything {
        Everything::start_on(p, mode, free_port().await).await
    }

    async fn start_on(p: &Peers, mode: &str, port: u16) -> Everything {
        let child = tokio::process::Command::new("node")
            .arg(&p.everything)
            .arg(mode)
            .env("PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("node starts");
        let up = tokio::time::timeout(Duration::from_secs(20), async {
            while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await;
        assert!(up.is_ok(), "server-everything {mode} did not listen on {port} within 20 s");
        Everything { child, port }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    async fn stop(mut self) {
        self.child.kill().await.ok();
    }
}

async fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

/// Status, negotiated transport and error of one server, for assertions with context.
async fn state(hub: &Hub, name: &str) -> (String, String, Value) {
    let s = hub.server(name).await;
    (
        s["status"].as_str().unwrap_or_default().to_owned(),
        s["transportType"].as_str().unwrap_or_default().to_owned(),
        s["error"].clone(),
    )
}

/// Calls, reads and lists through the hub against an `everything` upstream.
async fn exercise(hub: &Hub) {
    let mut s = Session::open(hub).await;
    let tools = names(&s.ok("tools/list", json!({})).await["tools"], "name");
    for t in ["everything__echo", "everything__get-sum", "everything__get-structured-content"] {
        assert!(tools.contains(&t.to_owned()), "{t} missing from {tools:?}");
    }
    let (err, text) = s.tool_text("everything__echo", json!({"message": "over http"})).await;
    assert!(!err && text.contains("over http"), "{text}");
    let (err, text) = s.tool_text("everything__get-sum", json!({"a": 20, "b": 22})).await;
    assert!(!err && text.contains("42"), "{text}");
    let resources = s.ok("resources/list", json!({})).await;
    let uri = resources["resources"][0]["uri"].as_str().expect("a resource").to_owned();
    assert!(uri.starts_with("everything__"), "{uri}");
    let read = s.ok("resources/read", json!({"uri": uri})).await;
    assert!(read["contents"][0].is_object(), "{read}");
    let prompts = names(&s.ok("prompts/list", json!({})).await["prompts"], "name");
    assert!(prompts.iter().any(|p| p.starts_with("everything__")), "{prompts:?}");
}

#[tokio::test]
async fn server_everything_over_streamable_http() {
    let Some(p) = peers() else { return };
    let every = Everything::start(&p, "streamableHttp").await;
    let hub = Hub::start(&json!({"mcpServers": {
        "everything": {"url": every.url("/mcp")},
    }}))
    .await;
    let (status, transport, error) = state(&hub, "everything").await;
    assert_eq!(status, "connected", "{error}\n{}", hub.log.lock().unwrap());
    assert_eq!(transport, "streamable-http", "the transport actually negotiated is reported");
    exercise(&hub).await;
    assert_eq!(hub.stop().await, Some(0));
    every.stop().await;
}

#[tokio::test]
async fn server_everything_over_legacy_sse_by_fallback_and_by_choice() {
    let Some(p) = peers() else { return };
    let every = Everything::start(&p, "sse").await;
    let hub = Hub::start(&json!({"mcpServers": {
        // No transport given: streamable HTTP is tried first and the hub falls back to SSE.
        "everything": {"url": every.url("/sse")},
        // Chosen explicitly: no probing.
        "forced": {"url": every.url("/sse"), "transport": "sse"},
        // Forced to the wrong transport: fails with a clear error, without falling back.
        "wrong": {"url": every.url("/sse"), "transport": "streamable-http"},
    }}))
    .await;
    for name in ["everything", "forced"] {
        let (status, transport, error) = state(&hub, name).await;
        assert_eq!(status, "connected", "{name}: {error}\n{}", hub.log.lock().unwrap());
        assert_eq!(transport, "sse", "{name}");
    }
    let (status, _, error) = state(&hub, "wrong").await;
    assert_eq!(status, "disconnected");
    assert!(error.as_str().is_some_and(|e| !e.is_empty()), "an error says why: {error}");
    exercise(&hub).await;
    let mut s = Session::open(&hub).await;
    let (err, text) = s.tool_text("forced__echo", json!({"message": "forced"})).await;
    assert!(!err && text.contains("forced"), "{text}");
    assert_eq!(hub.stop().await, Some(0));
    every.stop().await;
}

#[tokio::test]
async fn python_mcp_server_time_over_stdio() {
    let Some(p) = peers() else { return };
    let hub = Hub::start(&json!({"mcpServers": {
        "time": {"command": p.time, "args": ["--local-timezone", "UTC"]},
    }}))
    .await;
    let (status, transport, error) = state(&hub, "time").await;
    assert_eq!((status.as_str(), transport.as_str()), ("connected", "stdio"), "{error}");
    let mut s = Session::open(&hub).await;
    let r = s
        .ok(
            "tools/call",
            json!({"name": "time__get_current_time", "arguments": {"timezone": "UTC"}}),
        )
        .await;
    assert_eq!(r["isError"], false, "{r}");
    // The upstream's structured result passes through untouched.
    assert_eq!(r["structuredContent"]["timezone"], "UTC", "{r}");
    assert!(r["structuredContent"]["datetime"].is_string(), "{r}");
    assert_eq!(hub.stop().await, Some(0));
}

/// A TCP relay in front of the upstream that counts the connections it accepts.
async fn counting_relay(target: u16) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                if let Ok(mut outbound) =
                    tokio::net::TcpStream::connect(("127.0.0.1", target)).await
                {
                    tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await.ok();
                }
            });
        }
    });
    (port, count)
}

#[tokio::test]
async fn a_thousand_calls_reuse_a_handful_of_upstream_connections() {
    let Some(p) = peers() else { return };
    let every = Everything::start(&p, "streamableHttp").await;
    let (relay, connections) = counting_relay(every.port).await;
    let hub = Hub::start(&json!({"mcpServers": {
        "everything": {"url": format!("http://127.0.0.1:{relay}/mcp"), "transport": "streamable-http"},
    }}))
    .await;
    let (status, _, error) = state(&hub, "everything").await;
    assert_eq!(status, "connected", "{error}");
    let before = connections.load(Ordering::SeqCst);
    let mut s = Session::open(&hub).await;
    for i in 0..1000 {
        let (err, text) = s.tool_text("everything__get-sum", json!({"a": i, "b": 1})).await;
        assert!(!err && text.contains(&(i + 1).to_string()), "call {i}: {text}");
    }
    let during = connections.load(Ordering::SeqCst) - before;
    eprintln!("upstream TCP connections for 1000 calls: {during} (plus {before} while starting)");
    // Sequential calls on a kept-alive pool need one connection (a second may serve the GET
    // stream); without keep-alive this would be 1000.
    assert!(during <= 4, "{during} connections for 1000 sequential calls");
    assert_eq!(hub.stop().await, Some(0));
    every.stop().await;
}

#[tokio::test]
async fn connection_pool_disabled_opens_a_connection_per_call_and_the_default_reuses_one() {
    const CALLS: usize = 30;
    let Some(p) = peers() else { return };
    let every = Everything::start(&p, "streamableHttp").await;
    let (pooled_port, pooled) = counting_relay(every.port).await;
    let (fresh_port, fresh) = counting_relay(every.port).await;
    let hub = Hub::start(&json!({"mcpServers": {
        "pooled": {"url": format!("http://127.0.0.1:{pooled_port}/mcp"), "transport": "streamable-http"},
        "fresh": {
            "url": format!("http://127.0.0.1:{fresh_port}/mcp"),
            "transport": "streamable-http",
            "connectionPool": {"enabled": false},
        },
    }}))
    .await;
    for name in ["pooled", "fresh"] {
        let (status, _, error) = state(&hub, name).await;
        assert_eq!(status, "connected", "{name}: {error}");
    }
    let mut s = Session::open(&hub).await;
    let mut during = Vec::new();
    for (name, connections) in [("pooled", &pooled), ("fresh", &fresh)] {
        let before = connections.load(Ordering::SeqCst);
        for i in 0..CALLS {
            let (err, text) =
                s.tool_text(&format!("{name}__get-sum"), json!({"a": i, "b": 1})).await;
            assert!(!err && text.contains(&(i + 1).to_string()), "{name} call {i}: {text}");
        }
        during.push(connections.load(Ordering::SeqCst) - before);
    }
    eprintln!(
        "upstream TCP connections for {CALLS} calls: pooled {}, fresh {}",
        during[0], during[1]
    );
    // Reused: one connection (a second may serve the GET stream).
    assert!(during[0] <= 4, "pooled: {} connections for {CALLS} sequential calls", during[0]);
    // No reuse: a connection per call (the GET stream may add one).
    assert!(
        (CALLS..=CALLS + 4).contains(&during[1]),
        "enabled: false: {} connections for {CALLS} sequential calls",
        during[1]
    );
    assert_eq!(hub.stop().await, Some(0));
    every.stop().await;
}

#[tokio::test]
async fn an_upstream_http_server_that_restarts_is_reconnected_transparently() {
    let Some(p) = peers() else { return };
    let every = Everything::start(&p, "streamableHttp").await;
    let port = every.port;
    let hub = Hub::start(&json!({
        "mcpServers": {"everything": {"url": every.url("/mcp")}},
        "hub": {"supervision": {"restart": {"initialDelay": "200ms", "maxDelay": "1s"}}},
    }))
    .await;
    let mut s = Session::open(&hub).await;
    let (err, _) = s.tool_text("everything__echo", json!({"message": "before"})).await;
    assert!(!err);
    // The upstream restarts: its sessions are gone, so the hub's session id now gets 404.
    every.stop().await;
    let every = Everything::start_on(&p, "streamableHttp", port).await;
    let mut last = Value::Null;
    let back = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let v = s
                .call(
                    "tools/call",
                    json!({"name": "everything__echo", "arguments": {"message": "after"}}),
                )
                .await;
            let text = v["result"]["content"][0]["text"].as_str().unwrap_or_default().to_owned();
            if v["result"]["isError"] != true && text.contains("after") {
                return;
            }
            last = v;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    assert!(back.is_ok(), "not reconnected within 20 s: {last}\n{}", hub.log.lock().unwrap());
    let (status, transport, _) = state(&hub, "everything").await;
    assert_eq!((status.as_str(), transport.as_str()), ("connected", "streamable-http"));
    assert_eq!(hub.stop().await, Some(0));
    every.stop().await;
}
