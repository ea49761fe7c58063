//! Config hot reload (`mcp-hub --watch`), black-box: the tests edit the real config files on disk
//! and watch `/api/servers` and `/mcp` react.
//!
//! They prove that, with `--watch`:
//! - an added server starts, a removed one stops, and one whose launch fields changed restarts,
//!   while untouched servers keep running (same `lastStarted`, in-flight calls finish) and an open
//!   MCP session keeps its id and sees the new tool list (also announced on its GET stream);
//! - a change to fields that need no restart (`description`, `disabled_tools`) applies without
//!   one, and `"disabled": true` / `false` in the file stops and restarts a server;
//! - a broken edit (bad JSON5, or one invalid entry) is rejected as a whole, logged, and leaves
//!   the watch alive;
//! - editor-style saves (write a temporary file, rename it over the config) are seen every time,
//!   and a config file created after start is loaded (and unloaded again when deleted);
//!
//! And that without `--watch` the hub ignores edits.
//!
//! Every wait is bounded: a change must show within [`DEADLINE`], a change that must not happen
//! is given [`SETTLE`], and each test as a whole is cut off after [`crate::support::TEST_LIMIT`].

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

use serde_json::{Value, json};
use tokio::time::Instant;

use crate::support::{Hub, Session, bounded, demo, names};

/// How long an applied change may take to show (the hub debounces edits by about 200 ms).
const DEADLINE: Duration = Duration::from_secs(10);
/// How long to watch for a change that must not happen.
const SETTLE: Duration = Duration::from_millis(1500);
/// How often to poll while waiting.
const POLL: Duration = Duration::from_millis(100);

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A fresh directory of its own under the system temp dir, removed on drop.
struct Dir(PathBuf);

static DIRS: AtomicUsize = AtomicUsize::new(0);

impl Dir {
    fn new(test: &str) -> Dir {
        let path = std::env::temp_dir().join(format!(
            "hub-it-reload-{test}-{}-{}",
            std::process::id(),
            DIRS.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Dir(path)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes `config` over `path` in place (truncate, then write), as a plain `echo >` would.
fn write_config(path: &Path, config: &Value) {
    std::fs::write(path, serde_json::to_vec_pretty(config).unwrap()).unwrap();
}

/// Saves `config` the way many editors do: write a temporary file next to `path`, then rename
/// it over `path`, which replaces the file (a new inode) rather than changing it.
fn save_by_rename(path: &Path, config: &Value) {
    let name = path.file_name().unwrap().to_string_lossy();
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    std::fs::write(&tmp, serde_json::to_vec_pretty(config).unwrap()).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// `{"mcpServers": {name: demo server, …}}`.
fn demos(servers: &[&str]) -> Value {
    let map: serde_json::Map<String, Value> =
        servers.iter().map(|n| ((*n).to_owned(), demo(&[]))).collect();
    json!({ "mcpServers": map })
}

fn find<'a>(servers: &'a [Value], name: &str) -> Option<&'a Value> {
    servers.iter().find(|s| s["name"] == name)
}

fn status<'a>(servers: &'a [Value], name: &str) -> Option<&'a str> {
    find(servers, name).and_then(|s| s["status"].as_str())
}

/// The server's `lastStarted`, or `None` if it is absent or was never started.
fn started<'a>(servers: &'a [Value], name: &str) -> Option<&'a str> {
    find(servers, name).and_then(|s| s["lastStarted"].as_str())
}

/// The `lastStarted` of a server that must be there and have been started.
async fn last_started(hub: &Hub, name: &str) -> String {
    let servers = hub.servers().await;
    started(&servers, name)
        .unwrap_or_else(|| panic!("{name} has no lastStarted: {}", summary(&servers)))
        .to_owned()
}

/// name → (status, lastStarted) of every server: what must stay the same when nothing applies.
async fn snapshot(hub: &Hub) -> BTreeMap<String, (Value, Value)> {
    hub.servers()
        .await
        .into_iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_owned(),
                (s["status"].clone(), s["lastStarted"].clone()),
            )
        })
        .collect()
}

/// One line per server, for failure messages.
fn summary(servers: &[Value]) -> String {
    servers
        .iter()
        .map(|s| {
            format!(
                "\n  {} {} lastStarted={} error={}",
                s["name"], s["status"], s["lastStarted"], s["error"]
            )
        })
        .collect()
}

async fn tool_names(s: &mut Session) -> Vec<String> {
    names(&s.ok("tools/list", json!({})).await["tools"], "name")
}

fn has(list: &[String], name: &str) -> bool {
    list.iter().any(|n| n == name)
}

/// Polls `check` every [`POLL`] until it returns true; false if `timeout` passes first (a check
/// that hangs counts as not done).
async fn wait_until(timeout: Duration, mut check: impl AsyncFnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    tokio::time::timeout_at(deadline, async {
        loop {
            if check().await {
                return;
            }
            tokio::time::sleep(POLL).await;
        }
    })
    .await
    .is_ok()
}

/// Waits until `/api/servers` satisfies `pred`; panics after [`DEADLINE`] with what it last saw.
async fn wait_servers(hub: &Hub, what: &str, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let mut last = Vec::new();
    let ok = wait_until(DEADLINE, async || {
        last = hub.servers().await;
        pred(&last)
    })
    .await;
    assert!(
        ok,
        "not within {DEADLINE:?}: {what}; /api/servers:{}\nlog:\n{}",
        summary(&last),
        log(hub)
    );
    last
}

/// Waits until the session's `tools/list` satisfies `pred`; panics after [`DEADLINE`].
async fn wait_tools(
    hub: &Hub,
    s: &mut Session,
    what: &str,
    pred: impl Fn(&[String]) -> bool,
) -> Vec<String> {
    let mut last = Vec::new();
    let ok = wait_until(DEADLINE, async || {
        last = tool_names(s).await;
        pred(&last)
    })
    .await;
    assert!(ok, "not within {DEADLINE:?}: {what}; tools/list: {last:?}\nlog:\n{}", log(hub));
    last
}

/// The hub's stderr so far.
fn log(hub: &Hub) -> String {
    hub.log.lock().unwrap().clone()
}

/// A position in the hub's stderr, for [`log_since`].
fn log_mark(hub: &Hub) -> usize {
    hub.log.lock().unwrap().len()
}

/// What the hub wrote to stderr after `mark`.
fn log_since(hub: &Hub, mark: usize) -> String {
    hub.log.lock().unwrap().get(mark..).unwrap_or_default().to_owned()
}

async fn echo(s: &mut Session, tool: &str) {
    assert_eq!(s.tool_text(tool, json!({"text": "hi"})).await, (false, "hi".to_owned()), "{tool}");
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn modify_add_and_remove_apply_to_a_live_session() {
    bounded(async {
        let dir = Dir::new("live");
        let config = dir.file("mcp.json");
        write_config(&config, &demos(&["a", "b", "c"]));
        let hub = Hub::start_with(&[&config], &["--watch"]).await;
        let mut s = Session::open(&hub).await;
        echo(&mut s, "a__echo").await;
        let a_started = last_started(&hub, "a").await;
        let b_started = last_started(&hub, "b").await;

        // A slow call to `a`, still running while the config changes under it.
        let mut other = s.fork();
        let slow =
            tokio::spawn(async move { other.tool_text("a__sleep", json!({"ms": 1500})).await });
        tokio::time::sleep(Duration::from_millis(300)).await;

        // `a` as it was, `b` with other args, `c` gone, `d` new.
        write_config(
            &config,
            &json!({"mcpServers": {
                "a": demo(&[]),
                "b": demo(&["--page-size", "2"]),
                "d": demo(&[]),
            }}),
        );
        wait_servers(&hub, "d connected, c removed, b restarted and connected", |servers| {
            status(servers, "d") == Some("connected")
                && find(servers, "c").is_none()
                && status(servers, "b") == Some("connected")
                && started(servers, "b").is_some_and(|t| t != b_started)
        })
        .await;
        let tools = wait_tools(&hub, &mut s, "d__echo listed and c__echo gone", |t| {
            has(t, "d__echo") && !has(t, "c__echo")
        })
        .await;
        assert!(has(&tools, "a__echo") && has(&tools, "b__echo"), "{tools:?}");

        let servers = hub.servers().await;
        assert_eq!(status(&servers, "a"), Some("connected"), "{}", summary(&servers));
        assert_eq!(started(&servers, "a"), Some(a_started.as_str()), "a was not restarted");

        let done = tokio::time::timeout(DEADLINE, slow).await;
        let (is_error, text) = done.expect("the in-flight a__sleep call finishes").unwrap();
        assert!(!is_error, "the in-flight call on the untouched server succeeds: {text}");
        assert_eq!(text, "slept 1500 ms");

        // The same session, by its original id, reaches old and new servers; `c` is unknown.
        echo(&mut s, "a__echo").await;
        echo(&mut s, "b__echo").await;
        echo(&mut s, "d__echo").await;
        let v = s.call("tools/call", json!({"name": "c__echo", "arguments": {"text": "x"}})).await;
        assert_eq!(v["error"]["code"], -32602, "a removed server's tools are unknown: {v}");
        assert_eq!(hub.stop().await, Some(0));
    })
    .await;
}

#[tokio::test]
async fn an_added_server_announces_tools_list_changed_on_the_get_stream() {
    bounded(async {
        let dir = Dir::new("list-changed");
        let config = dir.file("mcp.json");
        write_config(&config, &demos(&["a"]));
        let hub = Hub::start_with(&[&config], &["--watch"]).await;
        let mut s = Session::open(&hub).await;
        let mut stream = s.open_stream().await;

        write_config(&config, &demos(&["a", "d"]));
        let got = stream.wait_for("notifications/tools/list_changed", DEADLINE).await;
        assert!(got, "stream so far: {:?}\nlog:\n{}", stream.seen, log(&hub));
        let tools = wait_tools(&hub, &mut s, "d__echo listed", |t| has(t, "d__echo")).await;
        assert!(has(&tools, "a__echo"), "{tools:?}");
        assert_eq!(hub.stop().await, Some(0));
    })
    .await;
}

#[tokio::test]
async fn description_and_disabled_tools_apply_without_a_restart() {
    bounded(async {
        let dir = Dir::new("no-restart");
        let config = dir.file("mcp.json");
        write_config(&config, &demos(&["a", "b"]));
        let hub = Hub::start_with(&[&config], &["--watch"]).await;
        let mut s = Session::open(&hub).await;
        assert!(has(&tool_names(&mut s).await, "a__add"));
        let before = snapshot(&hub).await;

        let mut a = demo(&[]);
        a["description"] = json!("now with a description");
        a["disabled_tools"] = json!(["add"]);
        write_config(&config, &json!({"mcpServers": {"a": a, "b": demo(&[])}}));

        wait_servers(&hub, "a's new description", |servers| {
            find(servers, "a").is_some_and(|a| a["description"] == "now with a description")
        })
        .await;
        let tools = wait_tools(&hub, &mut s, "a__add hidden", |t| !has(t, "a__add")).await;
        assert!(has(&tools, "a__echo") && has(&tools, "b__add"), "{tools:?}");
        let v =
            s.call("tools/call", json!({"name": "a__add", "arguments": {"a": 1, "b": 2}})).await;
        assert_eq!(v["error"]["code"], -32602, "a hidden tool cannot be called: {v}");
        echo(&mut s, "a__echo").await;
        assert_eq!(snapshot(&hub).await, before, "neither server was restarted");
        assert_eq!(hub.stop().await, Some(0));
    })
    .await;
}

#[tokio::test]
async fn broken_edits_change_nothing_and_the_watch_survives_them() {
    bounded(async {
        let dir = Dir::new("broken");
        let config = dir.file("mcp.json");
        write_config(&config, &demos(&["a", "b"]));
        let hub = Hub::start_with(&[&config], &["--watch"]).await;
        let mut s = Session::open(&hub).await;
        let before = snapshot(&hub).await;

        // (i) Not JSON5 at all.
        let mark = log_mark(&hub);
        std::fs::write(&config, r#"{ "mcpServers": { "a": "#).unwrap();
        tokio::time::sleep(SETTLE).await;
        assert_eq!(snapshot(&hub).await, before, "invalid JSON5 changes nothing");
        echo(&mut s, "a__echo").await;
        echo(&mut s, "b__echo").await;
        let logged = log_since(&hub, mark);
        assert!(logged.to_lowercase().contains("reload"), "the rejection is logged: {logged}");

        // (ii) Valid JSON5 with one broken entry: the whole edit is rejected, `e` included.
        let mark = log_mark(&hub);
        write_config(
            &config,
            &json!({"mcpServers": {"a": demo(&[]), "b": {"command": 42}, "e": demo(&[])}}),
        );
        tokio::time::sleep(SETTLE).await;
        assert_eq!(snapshot(&hub).await, before, "an edit with a broken entry changes nothing");
        echo(&mut s, "a__echo").await;
        echo(&mut s, "b__echo").await;
        assert!(!has(&tool_names(&mut s).await, "e__echo"));
        let logged = log_since(&hub, mark);
        assert!(
            logged.to_lowercase().contains("reload") && logged.contains("mcpServers.b.command"),
            "the rejection is logged with the bad key path: {logged}"
        );

        // Fixed: the watch is still alive, and `a` and `b` (as they were) are left running.
        write_config(&config, &demos(&["a", "b", "e"]));
        wait_servers(&hub, "e connected", |servers| status(servers, "e") == Some("connected"))
            .await;
        let after = snapshot(&hub).await;
        for name in ["a", "b"] {
            assert_eq!(after.get(name), before.get(name), "{name} was not restarted");
        }
        wait_tools(&hub, &mut s, "e__echo listed", |t| has(t, "e__echo")).await;
        echo(&mut s, "e__echo").await;
        assert_eq!(hub.stop().await, Some(0));
    })
    .await;
}

#[tokio::test]
async fn an_editor_style_save_by_rename_is_applied_every_time() {
    bounded(async {
        let dir = Dir::new("rename");
        let config = dir.file("mcp.json");
        write_config(&config, &demos(&["a"]));
        let hub = Hub::start_with(&[&config], &["--watch"]).await;
        let a_started = last_started(&hub, "a").await;

        save_by_rename(&config, &demos(&["a", "x"]));
        wait_servers(&hub, "x connected after the first save", |servers| {
            status(servers, "x") == Some("connected")
        })
        .await;
        let x_started = last_started(&hub, "x").await;

        // The watched path is now a different file (inode); a second save must be seen too.
        save_by_rename(&config, &demos(&["a", "x", "y"]));
        wait_servers(&hub, "y connected after the second save", |servers| {
            status(servers, "y") == Some("connected")
        })
        .await;
        assert_eq!(last_started(&hub, "a").await, a_started, "a was not restarted");
        assert_eq!(last_started(&hub, "x").await, x_started, "x was not restarted");

        let mut s = Session::open(&hub).await;
        echo(&mut s, "y__echo").await;
        assert_eq!(hub.stop().await, Some(0));
    })
    .await;
}

#[tokio::test]
async fn a_config_file_created_after_start_is_loaded_and_unloaded_when_deleted() {
    bounded(async {
        let dir = Dir::new("created");
        let global = dir.file("global.json");
        let project = dir.file("project.json");
        write_config(&global, &demos(&["g"]));
        let hub = Hub::start_with(&[&global, &project], &["--watch"]).await;
        let mut s = Session::open(&hub).await;
        let g_started = last_started(&hub, "g").await;
        assert!(!project.exists());

        write_config(&project, &demos(&["p"]));
        let servers =
            wait_servers(&hub, "p connected", |servers| status(servers, "p") == Some("connected"))
                .await;
        let p = find(&servers, "p").unwrap();
        assert_eq!(p["config_source"], project.display().to_string(), "the path as given: {p}");
        wait_tools(&hub, &mut s, "p__echo listed", |t| has(t, "p__echo")).await;
        echo(&mut s, "p__echo").await;

        std::fs::remove_file(&project).unwrap();
        wait_servers(&hub, "p removed", |servers| find(servers, "p").is_none()).await;
        let tools = wait_tools(&hub, &mut s, "p__echo gone", |t| !has(t, "p__echo")).await;
        assert!(has(&tools, "g__echo"), "{tools:?}");
        assert_eq!(last_started(&hub, "g").await, g_started, "g was not restarted");
        assert_eq!(hub.stop().await, Some(0));
    })
    .await;
}

#[tokio::test]
async fn without_watch_edits_are_ignored() {
    bounded(async {
        let dir = Dir::new("no-watch");
        let config = dir.file("mcp.json");
        write_config(&config, &demos(&["a", "b"]));
        let hub = Hub::start_with(&[&config], &[]).await;
        let before = snapshot(&hub).await;

        write_config(
            &config,
            &json!({"mcpServers": {"a": demo(&["--page-size", "2"]), "d": demo(&[])}}),
        );
        tokio::time::sleep(SETTLE).await;
        assert_eq!(snapshot(&hub).await, before, "nothing applied without --watch");
        let mut s = Session::open(&hub).await;
        echo(&mut s, "b__echo").await;
        assert_eq!(hub.stop().await, Some(0));
    })
    .await;
}

#[tokio::test]
async fn disabled_in_the_file_stops_and_restarts_a_server() {
    bounded(async {
        let dir = Dir::new("disable");
        let config = dir.file("mcp.json");
        write_config(&config, &demos(&["a", "b"]));
        let hub = Hub::start_with(&[&config], &["--watch"]).await;
        let mut s = Session::open(&hub).await;
        let a_started = last_started(&hub, "a").await;

        let mut b = demo(&[]);
        b["disabled"] = json!(true);
        write_config(&config, &json!({"mcpServers": {"a": demo(&[]), "b": b}}));
        wait_servers(&hub, "b disabled", |servers| status(servers, "b") == Some("disabled")).await;
        let tools =
            wait_tools(&hub, &mut s, "b's tools gone", |t| !t.iter().any(|n| n.starts_with("b__")))
                .await;
        assert!(has(&tools, "a__echo"), "{tools:?}");
        let v = s.call("tools/call", json!({"name": "b__echo", "arguments": {"text": "x"}})).await;
        assert_eq!(v["error"]["code"], -32602, "a disabled server's tools are unknown: {v}");

        b["disabled"] = json!(false);
        write_config(&config, &json!({"mcpServers": {"a": demo(&[]), "b": b}}));
        wait_servers(&hub, "b connected again", |servers| {
            status(servers, "b") == Some("connected")
        })
        .await;
        wait_tools(&hub, &mut s, "b__echo listed again", |t| has(t, "b__echo")).await;
        echo(&mut s, "b__echo").await;
        assert_eq!(last_started(&hub, "a").await, a_started, "a was not restarted");
        assert_eq!(hub.stop().await, Some(0));
    })
    .await;
}

#[tokio::test]
async fn dev_mode_restarts_a_server_when_a_matching_source_file_changes() {
    bounded(async {
        let dir = Dir::new("dev");
        let src = dir.file("src");
        std::fs::create_dir_all(src.join("lib")).unwrap();
        let config = dir.file("mcp.json");
        let mut a = demo(&[]);
        // Dev mode works without --watch, like mcp-hub's; patterns are relative to `cwd` and
        // matched on every change, so a file created after start counts.
        a["dev"] = json!({"cwd": src.to_str().unwrap(), "watch": ["**/*.py"]});
        write_config(&config, &json!({"mcpServers": {"a": a, "b": demo(&[])}}));
        let hub = Hub::start_with(&[&config], &[]).await;
        let a_started = last_started(&hub, "a").await;
        let b_started = last_started(&hub, "b").await;

        std::fs::write(src.join("notes.md"), "not watched").unwrap();
        tokio::time::sleep(SETTLE).await;
        assert_eq!(last_started(&hub, "a").await, a_started, "a non-matching file changes nothing");

        std::fs::write(src.join("lib").join("new_module.py"), "print(1)").unwrap();
        wait_servers(&hub, "a restarted", |servers| {
            started(servers, "a").is_some_and(|t| t != a_started)
                && status(servers, "a") == Some("connected")
        })
        .await;
        assert_eq!(last_started(&hub, "b").await, b_started, "only the dev server restarts");
        let mut s = Session::open(&hub).await;
        echo(&mut s, "a__echo").await;
        assert_eq!(hub.stop().await, Some(0));
    })
    .await;
}
