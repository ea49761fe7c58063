//! Helpers shared by the tests that drive real child processes.

use std::{future::Future, path::PathBuf, time::Duration};

use hub_protocol::{Message, Notification, RawValue};
use nix::{errno::Errno, sys::signal::kill, unistd::Pid};

use crate::{DEFAULT_INHERITED_ENV, Incoming, Peer, Result, Settings, Spec, spawn};

/// A scriptable fake MCP server in Python. Methods:
///
/// - `echo`: answers with its params.
/// - `collect` `{n}`: holds requests until `n` have arrived, then answers them in reverse order,
///   each response preceded by a `test/progress {before: id}` notification.
/// - `garbage` `{long}`: prints a non-JSON line, a line of `long` bytes and blank lines, then
///   answers `{after: "garbage"}`.
/// - `ping_me`, `ask`, `flood`: send the hub a request (`ping`, `sampling/createMessage`, or two
///   notifications then `sampling/createMessage`), then answer the original request with
///   `{got: <the hub's response>}`.
/// - `slow` `{steps, every_ms}`: sends a `notifications/message`, then `steps` progress
///   notifications `every_ms` apart (with the request's `_meta.progressToken`, if it has one),
///   then answers `{token}`.
/// - `hang`: never answers; announces `test/hanging {id}`.
/// - `exit` `{code}`: exits with `code` without answering.
/// - `batch`: answers inside a JSON array, together with a `test/in_batch` notification.
/// - anything else: `-32601`.
///
/// Every notification it receives comes back as `test/cancelled` (for cancellations) or
/// `test/notified`. It exits at end of stdin.
pub(crate) const FAKE_SERVER: &str = r#"
import json, sys

def send(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()

collected = []
waiting = {}
while True:
    line = sys.stdin.readline()
    if not line:
        break
    msg = json.loads(line)
    if "method" not in msg:
        original = waiting.pop(msg["id"])
        send({"jsonrpc": "2.0", "id": original, "result": {"got": msg}})
        continue
    m, i, p = msg["method"], msg.get("id"), msg.get("params") or {}
    if i is None:
        if m == "notifications/cancelled":
            send({"jsonrpc": "2.0", "method": "test/cancelled", "params": p})
        else:
            send({"jsonrpc": "2.0", "method": "test/notified", "params": {"method": m, "params": p}})
    elif m == "echo":
        send({"jsonrpc": "2.0", "id": i, "result": p})
    elif m == "collect":
        collected.append((i, p))
        if len(collected) == p["n"]:
            for cid, cp in reversed(collected):
                send({"jsonrpc": "2.0", "method": "test/progress", "params": {"before": cid}})
                send({"jsonrpc": "2.0", "id": cid, "result": cp})
            collected = []
    elif m == "garbage":
        sys.stdout.write("this is not json\n" + "x" * p["long"] + "\n\r\n  \n")
        send({"jsonrpc": "2.0", "id": i, "result": {"after": "garbage"}})
    elif m == "ping_me":
        waiting["srv-ping"] = i
        send({"jsonrpc": "2.0", "id": "srv-ping", "method": "ping"})
    elif m == "ask":
        waiting["srv-ask"] = i
        send({"jsonrpc": "2.0", "id": "srv-ask", "method": "sampling/createMessage", "params": {"q": 1}})
    elif m == "flood":
        waiting["srv-flood"] = i
        send({"jsonrpc": "2.0", "method": "test/n1"})
        send({"jsonrpc": "2.0", "method": "test/n2"})
        send({"jsonrpc": "2.0", "id": "srv-flood", "method": "sampling/createMessage"})
    elif m == "slow":
        import time
        token = (p.get("_meta") or {}).get("progressToken")
        send({"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info", "data": "working"}})
        for k in range(p["steps"]):
            time.sleep(p["every_ms"] / 1000)
            if token is not None:
                send({"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": token, "progress": k + 1}})
        send({"jsonrpc": "2.0", "id": i, "result": {"token": token}})
    elif m == "hang":
        send({"jsonrpc": "2.0", "method": "test/hanging", "params": {"id": i}})
    elif m == "exit":
        sys.exit(p.get("code", 0))
    elif m == "batch":
        send([{"jsonrpc": "2.0", "method": "test/in_batch"},
              {"jsonrpc": "2.0", "id": i, "result": {"batched": True}}])
    else:
        send({"jsonrpc": "2.0", "id": i, "error": {"code": -32601, "message": "no such method: " + m}})
"#;

/// What hub-core would pass: the default inherited variables, from this process.
#[allow(clippy::disallowed_methods)] // stands in for hub-bin's snapshot of the environment
pub(crate) fn inherited_env() -> Vec<(String, String)> {
    DEFAULT_INHERITED_ENV
        .iter()
        .filter_map(|name| std::env::var(name).ok().map(|value| ((*name).to_owned(), value)))
        .collect()
}

/// `sh -c script` with the inherited environment; `$0` is `sh`, `$1…` are `args`.
pub(crate) fn sh(script: &str, args: &[&str]) -> Spec {
    let mut all = vec!["-c".to_owned(), script.to_owned(), "sh".to_owned()];
    all.extend(args.iter().map(|a| (*a).to_owned()));
    Spec { command: "sh".to_owned(), args: all, env: inherited_env(), cwd: None }
}

/// The fake server.
pub(crate) fn fake_server() -> Spec {
    Spec {
        command: "python3".to_owned(),
        args: vec!["-u".to_owned(), "-c".to_owned(), FAKE_SERVER.to_owned()],
        env: inherited_env(),
        cwd: None,
    }
}

/// Settings with a short grace, so tests that escalate stay fast.
pub(crate) fn quick_settings() -> Settings {
    Settings { shutdown_grace: Duration::from_millis(300), ..Settings::default() }
}

/// Awaits `future`, failing the test after `secs` seconds.
pub(crate) async fn within<F: Future>(secs: u64, future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(secs), future).await.expect("timed out")
}

/// JSON params.
pub(crate) fn params(value: &serde_json::Value) -> Option<Box<RawValue>> {
    Some(serde_json::value::to_raw_value(value).expect("a Value serializes"))
}

/// Parses a raw result.
pub(crate) fn json(raw: &RawValue) -> serde_json::Value {
    serde_json::from_str(raw.get()).expect("results are JSON")
}

/// The next notification on `incoming` (within 5 s), skipping nothing.
pub(crate) async fn next_notification(incoming: &mut Incoming) -> Notification {
    match within(5, incoming.recv()).await {
        Some(Message::Notification(n)) => n,
        other => panic!("expected a notification, got {other:?}"),
    }
}

/// Whether `pid` is gone: no such process, or a zombie whose parent (perhaps a container's
/// init that does not reap) has not collected it yet.
pub(crate) fn is_gone(pid: u32) -> bool {
    let raw = i32::try_from(pid).expect("pids fit in i32");
    match kill(Pid::from_raw(raw), None) {
        Err(Errno::ESRCH) => true,
        _ => std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|stat| {
                stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
            })
            .unwrap_or(true),
    }
}

/// Polls [`is_gone`] for up to 2 s.
pub(crate) async fn wait_gone(pid: u32) -> bool {
    for _ in 0..200 {
        if is_gone(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

/// A fresh directory under the system temp dir.
pub(crate) fn scratch_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hub-transport-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir is writable");
    dir
}

/// A request timeout that no test reaches.
pub(crate) const LONG: Duration = Duration::from_secs(10);

/// The fake server with one request (`hang`) in flight that it will never answer, returned once
/// the server has confirmed receiving it.
pub(crate) async fn fake_with_hung_request()
-> (Peer, Incoming, tokio::task::JoinHandle<Result<Box<RawValue>>>) {
    let (peer, mut incoming) =
        spawn("fake", &fake_server(), &quick_settings()).await.expect("spawns");
    let hung = tokio::spawn({
        let peer = peer.clone();
        async move { peer.request("hang", None, LONG).await }
    });
    assert_eq!(next_notification(&mut incoming).await.method, "test/hanging");
    (peer, incoming, hung)
}
