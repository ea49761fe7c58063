//! Supervision of upstream servers, black-box: the real hub, real child processes, short
//! `hub.supervision` settings so that each test takes a few seconds.
//!
//! They prove that:
//! - a server that crashes mid-call fails that call at once, comes back by itself, lists its
//!   tools again, and an open GET stream hears `tools/list_changed` for both the loss and the
//!   return;
//! - a server that can never start is retried with backoff until the storm cap, then left
//!   `disconnected` with an error saying that the hub gave up and how to recover; saving the
//!   config tries it again;
//! - a server that is alive but stops answering is found by pings (`degraded` first), stopped
//!   and restarted;
//! - the circuit breaker opens on timeouts (not on error answers), refuses calls at once with an
//!   error naming the server and the retry time, and closes again after a successful probe;
//! - a deliberate stop — a reload that disables or removes a server, even while its restart is
//!   pending, and the hub's own shutdown — never leads to a restart.
//!
//! Every wait is bounded ([`DEADLINE`] for what must happen, [`SETTLE`] for what must not, and
//! [`crate::support::TEST_LIMIT`] for a whole test), and every hub is stopped by its test (or killed on drop).

use std::{
    path::PathBuf,
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

use serde_json::{Value, json};
use tokio::time::Instant;

use crate::support::{Hub, Session, bounded, children_of, demo, names};

/// How long something that must happen may take.
const DEADLINE: Duration = Duration::from_secs(10);
/// How long to watch for something that must not happen.
const SETTLE: Duration = Duration::from_millis(1500);
/// How often to poll while waiting.
const POLL: Duration = Duration::from_millis(25);

/// `{"mcpServers": servers, "hub": {"supervision": supervision, "stdio": short grace}}`.
fn config(servers: &Value, supervision: &Value) -> Value {
    json!({
        "mcpServers": servers,
        "hub": {"supervision": supervision, "stdio": {"shutdownGrace": "300ms"}},
    })
}

fn log(hub: &Hub) -> String {
    hub.log.lock().unwrap().clone()
}

/// The log lines about `server` that contain `what`.
fn log_lines(hub: &Hub, server: &str, what: &str) -> Vec<String> {
    let tag = format!("server={server} ");
    log(hub).lines().filter(|l| l.contains(what) && l.contains(&tag)).map(str::to_owned).collect()
}

/// Polls `/api/servers` until `name`'s entry satisfies `pred`; returns it, or panics after
/// [`DEADLINE`] with what it last saw.
async fn wait_server(hub: &Hub, name: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let s = hub.server(name).await;
        if pred(&s) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "not within {DEADLINE:?}: {name} {what}; last seen: {s}\nlog:\n{}",
            log(hub)
        );
        tokio::time::sleep(POLL).await;
    }
}

fn error_of(s: &Value) -> &str {
    s["error"].as_str().unwrap_or_default()
}

async fn tool_names(s: &mut Session) -> Vec<String> {
    names(&s.ok("tools/list", json!({})).await["tools"], "name")
}

/// A fresh directory under the system temp dir, removed on drop.
struct Dir(PathBuf);

static DIRS: AtomicUsize = AtomicUsize::new(0);

impl Dir {
    fn new(test: &str) -> Dir {
        let path = std::env::temp_dir().join(format!(
            "hub-it-supervision-{test}-{}-{}",
            std::process::id(),
            DIRS.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Dir(path)
    }

    /// Writes `config` as `hub.json` and returns its path.
    fn write(&self, config: &Value) -> PathBuf {
        let path = self.0.join("hub.json");
        std::fs::write(&path, serde_json::to_vec_pretty(config).unwrap()).unwrap();
        path
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn a_crashed_server_comes_back_by_itself_and_clients_hear_about_it() {
    bounded(async {
        let hub = Hub::start(&config(
            &json!({"fragile": demo(&["--test-tools"]), "steady": demo(&[])}),
            &json!({"restart": {"initialDelay": "300ms", "maxDelay": "300ms"}}),
        ))
        .await;
        let first = hub.server("fragile").await;
        assert_eq!(first["status"], "connected", "{first}");
        let mut s = Session::open(&hub).await;
        let mut stream = s.open_stream().await;

        let started = Instant::now();
        let (is_error, text) = s.tool_text("fragile__crash", json!({})).await;
        let took = started.elapsed();
        assert!(is_error && text.contains("fragile"), "the crashed call fails: {text}");
        assert!(took < Duration::from_secs(3), "promptly, not after a timeout: {took:?}");

        // Gone at once: its tools are withdrawn, which clients hear about…
        let gone = stream.wait_for("notifications/tools/list_changed", DEADLINE).await;
        assert!(gone, "list_changed for the loss; stream so far: {:?}", stream.seen);
        // …then back by itself, with a new process.
        let back = wait_server(&hub, "fragile", "connected again", |v| {
            v["status"] == "connected" && v["lastStarted"] != first["lastStarted"]
        })
        .await;
        assert_eq!(back["error"], Value::Null, "{back}");
        let down = log_lines(&hub, "fragile", "server down; restarting");
        assert_eq!(down.len(), 1, "{down:?}");
        assert!(down[0].contains("server exited") && down[0].contains("attempt=1"), "{down:?}");

        let back = stream.wait_for_count("notifications/tools/list_changed", 2, DEADLINE).await;
        assert!(back, "list_changed for the return; stream so far: {:?}", stream.seen);
        let tools = tool_names(&mut s).await;
        assert!(tools.contains(&"fragile__echo".to_owned()), "listed again: {tools:?}");
        assert_eq!(s.tool_text("fragile__echo", json!({"text": "hi"})).await, (false, "hi".into()));
        assert_eq!(s.tool_text("steady__echo", json!({"text": "ok"})).await.1, "ok");
        assert_eq!(hub.stop().await, Some(0));
    })
    .await;
}

#[tokio::test]
async fn a_server_that_never_starts_is_given_up_after_the_storm_cap_until_the_config_is_saved() {
    bounded(async {
        let dir = Dir::new("storm");
        let cfg = config(
            &json!({
                "doomed": {"command": "sh", "args": ["-c", "echo doomed >&2; exit 1"]},
                "steady": demo(&[]),
            }),
            &json!({"restart": {
                "initialDelay": "50ms", "maxDelay": "200ms", "maxRestarts": 3, "window": "1m",
            }}),
        );
        let path = dir.write(&cfg);
        let hub = Hub::start_with(&[&path], &["--watch"]).await;

        let given_up = wait_server(&hub, "doomed", "given up", |v| {
            v["status"] == "disconnected" && error_of(v).contains("gave up")
        })
        .await;
        let error = error_of(&given_up);
        // The transport notices either the exit or the closed pipe first; both say why.
        assert!(error.contains("initialize failed: connection closed"), "the cause: {error}");
        assert!(error.contains("gave up after 3 restarts within 1m"), "the storm: {error}");
        assert!(
            error.contains("save the config") && error.contains("restart the hub"),
            "how to recover: {error}"
        );
        let attempts = log_lines(&hub, "doomed", "server connecting").len();
        assert_eq!(attempts, 4, "the first start and three restarts\n{}", log(&hub));
        let delays: Vec<String> = log_lines(&hub, "doomed", "server down; restarting");
        assert_eq!(delays.len(), 3, "{delays:?}");

        // Given up means left alone…
        tokio::time::sleep(SETTLE).await;
        let still = hub.server("doomed").await;
        assert_eq!(still["lastStarted"], given_up["lastStarted"], "no further attempt: {still}");
        assert_eq!(log_lines(&hub, "doomed", "server connecting").len(), 4);
        assert_eq!(hub.server("steady").await["status"], "connected");

        // …until the config is saved again (here unchanged), which tries it afresh.
        dir.write(&cfg);
        wait_server(&hub, "doomed", "tried again", |v| v["lastStarted"] != given_up["lastStarted"])
            .await;
        assert!(
            log(&hub).contains("trying again a server the hub had given up on"),
            "{}",
            log(&hub)
        );
        wait_server(&hub, "doomed", "given up again", |v| error_of(v).contains("gave up")).await;
        assert_eq!(log_lines(&hub, "doomed", "server connecting").len(), 8, "a fresh budget");
        assert_eq!(hub.stop().await, Some(0));
    })
    .await;
}

#[tokio::test]
async fn a_hung_server_is_found_by_pings_and_restarted() {
    bounded(async {
        let hub = Hub::start(&config(
            &json!({"sleepy": demo(&["--test-tools"])}),
            &json!({
                "ping": {"interval": "300ms", "timeout": "300ms", "failures": 3},
                "restart": {"initialDelay": "100ms", "maxDelay": "100ms"},
            }),
        ))
        .await;
        let first = hub.server("sleepy").await;
        assert_eq!(first["status"], "connected", "{first}");
        let mut s = Session::open(&hub).await;
        let (is_error, text) = s.tool_text("sleepy__hang", json!({})).await;
        assert!(!is_error && text.starts_with("hanging"), "{text}");

        // A ping or two fail: degraded, still listed, the reason shown.
        let degraded = wait_server(&hub, "sleepy", "degraded", |v| v["status"] == "degraded").await;
        assert!(error_of(&degraded).contains("ping"), "{degraded}");
        assert!(!degraded["capabilities"]["tools"].as_array().unwrap().is_empty(), "{degraded}");

        // The third makes it count as hung: stopped and restarted, with a new process.
        let back = wait_server(&hub, "sleepy", "restarted", |v| {
            v["status"] == "connected" && v["lastStarted"] != first["lastStarted"]
        })
        .await;
        assert_eq!(back["error"], Value::Null, "{back}");
        let down = log_lines(&hub, "sleepy", "server down; restarting");
        assert_eq!(down.len(), 1, "{down:?}");
        assert!(down[0].contains("server stopped answering: 3 pings in a row failed"), "{down:?}");
        assert_eq!(log_lines(&hub, "sleepy", "ping failed").len(), 2, "two warnings before");
        assert_eq!(s.tool_text("sleepy__echo", json!({"text": "awake"})).await.1, "awake");
        assert_eq!(hub.stop().await, Some(0));
    })
    .await;
}

#[tokio::test]
async fn the_breaker_opens_on_timeouts_fails_calls_fast_and_a_probe_closes_it() {
    bounded(async {
        let hub = Hub::start(&json!({
            "mcpServers": {"demo": demo(&[])},
            "hub": {
                "timeouts": {"request": "300ms"},
                "supervision": {
                    "breaker": {"failures": 2, "coolDown": "1s"},
                    "ping": {"interval": 0},
                },
            },
        }))
        .await;
        let mut s = Session::open(&hub).await;

        // Error answers show the server is alive: they never open the breaker.
        for _ in 0..3 {
            let v = s.call("tools/call", json!({"name": "demo__add", "arguments": {}})).await;
            assert_eq!(v["error"]["code"], -32602, "{v}");
        }
        assert_eq!(hub.server("demo").await["status"], "connected");

        // Two timeouts in a row do.
        for _ in 0..2 {
            let (is_error, text) = s.tool_text("demo__sleep", json!({"ms": 3000})).await;
            assert!(is_error && text.contains("no response"), "{text}");
        }
        let open = hub.server("demo").await;
        assert_eq!(open["status"], "degraded", "{open}");
        assert!(error_of(&open).contains("circuit breaker open"), "{open}");

        let started = Instant::now();
        let echo = json!({"name": "demo__echo", "arguments": {"text": "x"}});
        let v = s.call("tools/call", echo).await;
        assert!(started.elapsed() < Duration::from_secs(2), "refused, not sent and timed out");
        let e = &v["error"];
        assert_eq!(e["code"], -32010, "{v}");
        let message = e["message"].as_str().unwrap();
        assert!(message.contains("'demo'") && message.contains("circuit breaker"), "{message}");
        assert!(message.contains("let through again in"), "says when: {message}");
        assert_eq!(e["data"]["server"], "demo", "{v}");
        let retry = e["data"]["retryAfterMs"].as_u64().unwrap();
        assert!(retry > 0 && retry <= 1000, "{v}");

        // After the cool-down one call goes through as a probe; its answer closes the breaker.
        tokio::time::sleep(Duration::from_millis(retry + 50)).await;
        let probe = s.tool_text("demo__echo", json!({"text": "probe"})).await;
        assert_eq!(probe, (false, "probe".to_owned()));
        assert_eq!(hub.server("demo").await["status"], "connected");
        assert_eq!(s.tool_text("demo__echo", json!({"text": "again"})).await.1, "again");
        let l = log(&hub);
        assert!(l.contains("circuit breaker open") && l.contains("circuit breaker closed"), "{l}");
        assert_eq!(hub.stop().await, Some(0));
    })
    .await;
}

#[tokio::test]
async fn a_deliberate_stop_never_restarts_a_server() {
    bounded(async {
        let dir = Dir::new("deliberate");
        // The restart after the crash below waits this long; the reload that disables the
        // server comes well within it.
        let delay = Duration::from_secs(2);
        let supervision = json!({"restart": {"initialDelay": "2s", "maxDelay": "2s"}});
        let servers = json!({
            "pending": demo(&["--test-tools"]),
            "disabled": demo(&[]),
            "removed": demo(&[]),
        });
        let path = dir.write(&config(&servers, &supervision));
        let hub = Hub::start_with(&[&path], &["--watch"]).await;
        assert_eq!(children_of(hub.pid()).len(), 3);
        let mut s = Session::open(&hub).await;

        // A crash schedules a restart; a reload disables the server meanwhile.
        let crashed = Instant::now();
        let (is_error, _) = s.tool_text("pending__crash", json!({})).await;
        assert!(is_error);
        let waiting = wait_server(&hub, "pending", "waiting for its restart", |v| {
            error_of(v).contains("restarting in")
        })
        .await;
        let mut edited = servers.clone();
        edited["pending"]["disabled"] = json!(true);
        edited["disabled"]["disabled"] = json!(true);
        edited.as_object_mut().unwrap().remove("removed");
        dir.write(&config(&edited, &supervision));
        wait_server(&hub, "disabled", "disabled", |v| v["status"] == "disabled").await;
        wait_server(&hub, "pending", "disabled", |v| v["status"] == "disabled").await;
        let deadline = Instant::now() + DEADLINE;
        while hub.servers().await.iter().any(|v| v["name"] == "removed") {
            assert!(Instant::now() < deadline, "removed server still listed");
            tokio::time::sleep(POLL).await;
        }

        assert!(crashed.elapsed() < delay, "the reload was applied before the restart was due");
        // Well past the pending restart's time: nothing started again.
        tokio::time::sleep_until(crashed + delay + SETTLE).await;
        let pending = hub.server("pending").await;
        assert_eq!(pending["status"], "disabled", "{pending}");
        assert_eq!(pending["lastStarted"], waiting["lastStarted"], "{pending}");
        for name in ["pending", "disabled", "removed"] {
            assert_eq!(
                log_lines(&hub, name, "server connecting").len(),
                1,
                "{name}\n{}",
                log(&hub)
            );
        }
        assert_eq!(log_lines(&hub, "disabled", "server down").len(), 0);
        assert_eq!(log_lines(&hub, "removed", "server down").len(), 0);
        assert!(children_of(hub.pid()).is_empty(), "{:?}", children_of(hub.pid()));

        // The hub's own shutdown restarts nothing either, and exits cleanly.
        dir.write(&config(&servers, &supervision));
        for name in ["pending", "disabled", "removed"] {
            wait_server(&hub, name, "running again", |v| v["status"] == "connected").await;
        }
        let (log, mark) = (hub.log.clone(), log(&hub).len());
        assert_eq!(hub.stop().await, Some(0));
        let after = log.lock().unwrap()[mark..].to_owned();
        assert!(after.contains("stopped"), "{after}");
        assert!(!after.contains("server down") && !after.contains("server connecting"), "{after}");
    })
    .await;
}

/// A server that stays up but refuses `initialize`: each attempt's process is stopped before the
/// next starts (no leak), the error says what the server answered, and restarts back off.
#[tokio::test]
async fn a_server_that_refuses_initialize_is_retried_without_leaking_processes() {
    bounded(async {
        // One line: the hub refuses arguments with line breaks (they could inject arguments).
        let refuse = r#"exec("import json, sys\nfor line in sys.stdin:\n m = json.loads(line)\n if 'id' in m:\n  e = {'code': -32603, 'message': 'not today: licence expired'}\n  print(json.dumps({'jsonrpc': '2.0', 'id': m['id'], 'error': e}), flush=True)")"#;
        let hub = Hub::start(&config(
            &json!({"grumpy": {"command": "python3", "args": ["-c", refuse]}, "steady": demo(&[])}),
            &json!({"restart": {"initialDelay": "100ms", "maxDelay": "300ms", "maxRestarts": 100}}),
        ))
        .await;
        let s = wait_server(&hub, "grumpy", "refused and retrying", |v| {
            v["status"] == "disconnected" && error_of(v).contains("restarting in")
        })
        .await;
        assert!(
            error_of(&s).contains("initialize failed") && error_of(&s).contains("not today"),
            "{s}"
        );
        // Let several attempts pass: each one's process must be gone before the next.
        let deadline = Instant::now() + DEADLINE;
        while log_lines(&hub, "grumpy", "server connecting").len() < 4 {
            assert!(Instant::now() < deadline, "too few attempts:\n{}", log(&hub));
            tokio::time::sleep(POLL).await;
        }
        let children = children_of(hub.pid());
        assert!(children.len() <= 2, "steady plus at most one grumpy attempt: {children:?}");
        assert_eq!(hub.server("steady").await["status"], "connected");
        assert_eq!(hub.stop().await, Some(0));
    })
    .await;
}
