//! The official Python MCP SDK as the client, the hub in the middle, the bundled demo server and
//! the reference `server-everything` (Node) as upstreams. Needs the pinned peers that
//! `cargo xtask test` installs (`HUB_IT_PEERS`); without them these tests say so and pass, unless
//! `HUB_IT_REQUIRE_PEERS=1` (set by `cargo xtask test` and CI), where a missing peer fails.

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::support::{Hub, demo};

/// The pinned third-party peers `cargo xtask test` installs.
pub(crate) struct Peers {
    pub(crate) python: PathBuf,
    /// server-everything's entry point (`node <it> stdio|sse|streamableHttp`).
    pub(crate) everything: PathBuf,
    /// The Python `mcp-server-time` console script (stdio).
    pub(crate) time: PathBuf,
}

/// The peers, or `None` (with a notice) when they are not installed and not required.
pub(crate) fn peers() -> Option<Peers> {
    let required = std::env::var("HUB_IT_REQUIRE_PEERS").is_ok_and(|v| v == "1");
    let Some(dir) = std::env::var_os("HUB_IT_PEERS").map(PathBuf::from) else {
        assert!(!required, "HUB_IT_REQUIRE_PEERS=1 but HUB_IT_PEERS is not set");
        eprintln!(
            "skipped: HUB_IT_PEERS is not set (run `cargo xtask test` to install the pinned peers)"
        );
        return None;
    };
    let p = Peers {
        python: dir.join("venv/bin/python"),
        everything: dir
            .join("npm/node_modules/@modelcontextprotocol/server-everything/dist/index.js"),
        time: dir.join("venv/bin/mcp-server-time"),
    };
    for f in [&p.python, &p.everything, &p.time] {
        if !f.exists() {
            assert!(!required, "pinned peer missing: {}", f.display());
            eprintln!("skipped: {} is missing", f.display());
            return None;
        }
    }
    Some(p)
}

async fn python_client(p: &Peers, url: &str, transport: &str, plan: &Value) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/py/hub_client.py");
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        tokio::process::Command::new(&p.python)
            .args(["-W", "ignore", script, url, transport, &plan.to_string()])
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("python client finished within 60 s")
    .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python client failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn config(p: &Peers) -> Value {
    json!({"mcpServers": {
        "demo": demo(&[]),
        "everything": {"command": "node", "args": [p.everything, "stdio"]},
    }})
}

fn plan(mode: &str) -> Value {
    json!({
        "mode": mode,
        "calls": [
            ["demo__echo", {"text": "hello from python"}],
            ["demo__add", {"a": 2, "b": 40}],
            ["everything__echo", {"message": "through the hub"}],
            ["everything__get-sum", {"a": 20, "b": 22}],
        ],
        "read": ["demo__demo://readme", "demo__demo://greeting/Grace"],
        "prompts": [["demo__summarize", {"text": "MCP hubs aggregate servers."}]],
    })
}

fn check(out: &Value) {
    let tools: Vec<&str> =
        out["tools"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    assert!(tools.contains(&"demo__echo") && tools.contains(&"everything__get-sum"), "{tools:?}");
    assert!(
        tools.iter().all(|t| t.starts_with("demo__") || t.starts_with("everything__")),
        "{tools:?}"
    );
    let calls = out["calls"].as_array().unwrap();
    assert_eq!(calls[0]["text"][0], "hello from python");
    assert_eq!(calls[1]["text"][0], "42");
    assert_eq!(calls[1]["structured"]["sum"], 42.0);
    assert!(calls[2]["text"][0].as_str().unwrap().contains("through the hub"), "{calls:?}");
    assert!(calls[3]["text"][0].as_str().unwrap().contains("42"), "{calls:?}");
    assert!(calls.iter().all(|c| c["is_error"] == false), "{calls:?}");
    assert!(out["resources"].as_array().unwrap().iter().any(|r| r == "demo__demo://readme"));
    assert!(
        out["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().unwrap().starts_with("everything__"))
    );
    assert!(
        out["templates"].as_array().unwrap().iter().any(|t| t == "demo__demo://greeting/{name}")
    );
    assert!(out["prompts"].as_array().unwrap().iter().any(|p| p == "demo__summarize"));
    assert!(out["reads"][0][0].as_str().unwrap().contains("mcp-hub demo"));
    assert_eq!(out["reads"][1][0], "Hello, Grace!");
    assert!(out["prompt_results"][0][0].as_str().unwrap().contains("MCP hubs aggregate servers."));
    assert_eq!(out["server"], "mcp-hub");
}

#[tokio::test]
async fn python_sdk_over_streamable_http_reaches_demo_and_server_everything() {
    let Some(p) = peers() else { return };
    let hub = Hub::start(&config(&p)).await;
    assert_eq!(
        hub.server("everything").await["status"],
        "connected",
        "{}",
        hub.log.lock().unwrap()
    );
    // "auto" mode first probes `server/discover` (2026-07-28) and falls back to initialize.
    let out = python_client(&p, &hub.url("/mcp"), "http", &plan("auto")).await;
    check(&out);
    assert_eq!(out["protocol"], "2025-11-25");
    let out = python_client(&p, &hub.url("/mcp"), "http", &plan("legacy")).await;
    check(&out);
    assert_eq!(hub.stop().await, Some(0));
}

#[tokio::test]
async fn python_sdk_over_legacy_sse_reaches_demo_and_server_everything() {
    let Some(p) = peers() else { return };
    let hub = Hub::start(&config(&p)).await;
    let out = python_client(&p, &hub.url("/mcp"), "sse", &plan("legacy")).await;
    check(&out);
    assert_eq!(hub.stop().await, Some(0));
}
