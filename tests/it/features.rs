//! Every MCP feature through the hub, with real peers at both ends: the official Python MCP SDK
//! as the client (`py/features_client.py`, its sampling, elicitation, roots, logging and progress
//! callbacks recording what they see) and the team's conformance fixture
//! (`mcp-conformance-fixture`) as the upstream, over stdio and over streamable HTTP;
//! `server-everything` where it adds something. Each feature must reach the session whose call
//! caused it, and no other.
//!
//! Needs the pinned peers (`cargo xtask test`); see `python_sdk.rs` for the skip rules.

use std::{process::Stdio, time::Duration};

use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines},
    process::{Child, ChildStdin, ChildStdout},
};

use crate::{
    python_sdk::{Peers, peers},
    support::{Hub, Session, Stream, bounded},
};

pub(crate) const FIXTURE: &str = env!("CARGO_BIN_EXE_mcp-conformance-fixture");
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/py/features_client.py");
/// How long the Python client may take in all, and for one line the test waits for.
const PY_LIMIT: Duration = Duration::from_secs(45);
/// How long a session that must get nothing is watched.
const QUIET: Duration = Duration::from_secs(1);
const WATCHED: &str = "test://watched-resource";

/// `base` with the keys of the object `extra` added.
fn with(mut base: Value, extra: Value) -> Value {
    let Value::Object(extra) = extra else { panic!("not an object: {extra}") };
    base.as_object_mut().unwrap().extend(extra);
    base
}

/// `{key: value}`.
fn one(key: &str, value: Value) -> Value {
    Value::Object([(key.to_owned(), value)].into_iter().collect())
}

/// The fixture as a stdio upstream of the hub.
fn stdio_fixture(extra: Value) -> Value {
    with(json!({"command": FIXTURE}), extra)
}

/// `mcp-conformance-fixture --port 0`: the fixture over streamable HTTP on a free loopback port;
/// killed on drop, stopped with SIGTERM by [`HttpFixture::stop`].
struct HttpFixture {
    child: Child,
    url: String,
}

impl HttpFixture {
    async fn start() -> HttpFixture {
        let mut child = tokio::process::Command::new(FIXTURE)
            .args(["--port", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the fixture starts");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let url = tokio::time::timeout(Duration::from_secs(20), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(url) = line.split("listening on ").nth(1) {
                    return url.trim().to_owned();
                }
            }
            panic!("the fixture exited before it listened");
        })
        .await
        .expect("the fixture listens within 20 s");
        // Keep draining its log so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        HttpFixture { child, url }
    }

    fn entry(&self, extra: Value) -> Value {
        with(json!({"url": self.url}), extra)
    }

    /// SIGTERM, then a bounded wait for a clean exit.
    async fn stop(mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id().unwrap() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        let status = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
        match status {
            Ok(status) => assert!(status.unwrap().success(), "the fixture exits cleanly"),
            Err(_) => {
                self.child.kill().await.ok();
                panic!("the HTTP fixture did not exit within 10 s of SIGTERM");
            }
        }
    }
}

/// The upstream kinds the fixture can be.
#[derive(Debug, Clone, Copy)]
enum Upstream {
    Stdio,
    Http,
}

/// A hub with the fixture as server `fx` (`prefix: never`) behind it, as `kind`; the HTTP
/// fixture, if any, is returned to be stopped by the caller.
async fn hub_with_fixture(kind: Upstream) -> (Hub, Option<HttpFixture>) {
    let never = json!({"prefix": "never"});
    let (entry, http) = match kind {
        Upstream::Stdio => (stdio_fixture(never), None),
        Upstream::Http => {
            let f = HttpFixture::start().await;
            (f.entry(never), Some(f))
        }
    };
    let hub = Hub::start(&json!({"mcpServers": {"fx": entry}})).await;
    let server = hub.server("fx").await;
    assert_eq!(server["status"], "connected", "{server}\n{}", hub.log.lock().unwrap());
    (hub, http)
}

async fn stop_all(hub: Hub, http: Option<HttpFixture>) {
    assert_eq!(hub.stop().await, Some(0));
    if let Some(f) = http {
        f.stop().await;
    }
}

/// One run of `features_client.py`: its stdout read line by line (the lines it prints for
/// `signal` steps, then its report), its stdin for `wait` steps; killed on drop.
struct Py {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Lines<BufReader<ChildStdout>>,
    stderr: tokio::task::JoinHandle<String>,
}

impl Py {
    fn start(p: &Peers, plan: &Value) -> Py {
        let mut child = tokio::process::Command::new(&p.python)
            .args(["-W", "ignore", SCRIPT, &plan.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("python runs");
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut err = child.stderr.take().unwrap();
        let stderr = tokio::spawn(async move {
            let mut text = String::new();
            err.read_to_string(&mut text).await.ok();
            text
        });
        Py { child, stdin, stdout, stderr }
    }

    /// Waits for the client's `signal` step `name`.
    async fn signal(&mut self, name: &str) {
        let line = tokio::time::timeout(PY_LIMIT, self.stdout.next_line())
            .await
            .unwrap_or_else(|_| panic!("no signal {name:?} from the python client in time"));
        let line = line.unwrap().unwrap_or_default();
        let v: Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("{line}"));
        assert_eq!(v["signal"], name, "{line}");
    }

    /// Lets the client's next `wait` step go on.
    async fn go(&mut self) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(b"go\n").await.unwrap();
        stdin.flush().await.unwrap();
    }

    /// The client's report, once it has exited successfully.
    async fn finish(mut self) -> Value {
        drop(self.stdin.take());
        let read = tokio::time::timeout(PY_LIMIT, async {
            let mut last = String::new();
            while let Some(line) = self.stdout.next_line().await.unwrap() {
                last = line;
            }
            (last, self.child.wait().await.unwrap())
        })
        .await;
        let Ok((last, status)) = read else {
            self.child.kill().await.ok();
            panic!("the python client did not finish within {PY_LIMIT:?}");
        };
        let stderr = self.stderr.await.unwrap_or_default();
        assert!(status.success(), "python client failed ({status}):\n{stderr}\n{last}");
        serde_json::from_str(&last).unwrap_or_else(|e| panic!("{e}: {last}\n{stderr}"))
    }
}

/// Runs a plan without interaction and returns the report.
async fn run(p: &Peers, plan: &Value) -> Value {
    Py::start(p, plan).finish().await
}

/// One client of a plan: `name`, connected to `url` over streamable HTTP, with `extra` keys
/// (callbacks, transport) and `steps`.
fn client(name: &str, url: &str, extra: Value, steps: Value) -> Value {
    let c = with(json!({"name": name, "url": url, "mode": "legacy"}), extra);
    with(c, one("steps", steps))
}

fn call(tool: &str, args: Value) -> Value {
    with(json!({"op": "call", "tool": tool}), one("args", args))
}

fn call_with_progress(tool: &str, args: Value) -> Value {
    with(call(tool, args), json!({"progress": true}))
}

/// What one client of a report saw.
struct Seen<'a>(&'a Value);

impl Seen<'_> {
    fn of<'a>(report: &'a Value, name: &str) -> Seen<'a> {
        let c = &report["clients"][name];
        assert!(c.is_object(), "no client {name} in {report}");
        Seen(c)
    }

    fn result(&self, step: usize) -> &Value {
        &self.0["results"][step]
    }

    /// The text of a call step's result, and whether it is an error.
    fn text(&self, step: usize) -> (bool, String) {
        let r = self.result(step);
        (r["is_error"] == true, r["text"][0].as_str().unwrap_or_default().to_owned())
    }

    /// The events of `kind` during `step` (`None`: any step).
    fn events(&self, kind: &str, step: Option<usize>) -> Vec<&Value> {
        self.0["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == kind && step.is_none_or(|s| e["step"] == s))
            .collect()
    }

    fn progress(&self, step: usize) -> Vec<(f64, f64)> {
        self.events("progress", Some(step))
            .iter()
            .map(|e| (e["progress"].as_f64().unwrap(), e["total"].as_f64().unwrap_or(-1.0)))
            .collect()
    }

    fn logs(&self, step: Option<usize>) -> Vec<String> {
        self.events("log", step).iter().map(|e| e["data"].as_str().unwrap().to_owned()).collect()
    }

    fn sampled(&self, step: Option<usize>) -> Vec<String> {
        self.events("sampling", step)
            .iter()
            .map(|e| e["prompt"].as_str().unwrap().to_owned())
            .collect()
    }

    fn all(&self) -> String {
        self.0["events"].to_string()
    }
}

/// The fixture's three log messages.
const LOGS: [&str; 3] =
    ["Tool execution started", "Tool processing data", "Tool execution completed"];
const PROGRESS: [(f64, f64); 3] = [(0.0, 100.0), (50.0, 100.0), (100.0, 100.0)];

/// A session that only watches: its GET stream must see no JSON-RPC message at all.
async fn bystander(hub: &Hub) -> (Session, Stream) {
    let s = Session::open(hub).await;
    let stream = s.open_stream().await;
    (s, stream)
}

async fn assert_quiet(stream: &mut Stream, who: &str) {
    let got = stream.wait_for("jsonrpc", QUIET).await;
    assert!(!got, "{who} got messages meant for another session: {}", stream.seen);
}

// 1. Progress.

#[tokio::test]
async fn progress_reaches_the_caller_from_a_stdio_and_a_streamable_http_upstream() {
    let Some(p) = peers() else { return };
    bounded(async {
        for kind in [Upstream::Stdio, Upstream::Http] {
            let (hub, http) = hub_with_fixture(kind).await;
            let (_watcher, mut stream) = bystander(&hub).await;
            let steps = json!([
                call_with_progress("test_tool_with_progress", json!({})),
                // The hub always asks its upstream for progress (it keeps calls alive); a client
                // that asked for none gets none.
                call("test_tool_with_progress", json!({})),
            ]);
            let out =
                run(&p, &json!({"clients": [client("A", &hub.url("/mcp"), json!({}), steps)]}))
                    .await;
            let a = Seen::of(&out, "A");
            assert_eq!(a.progress(0), PROGRESS, "{kind:?}: {}", a.all());
            assert_eq!(a.text(0), (false, "Tool with progress executed successfully".to_owned()));
            assert!(a.progress(1).is_empty(), "{kind:?}: progress nobody asked for: {}", a.all());
            assert_eq!(a.events("notification", None).len(), 0, "{}", a.all());
            assert_quiet(&mut stream, "a session that called nothing").await;
            stop_all(hub, http).await;
        }
    })
    .await;
}

#[tokio::test]
async fn progress_of_server_everything_and_combined_instructions() {
    let Some(p) = peers() else { return };
    bounded(async {
        let hub = Hub::start(&json!({"mcpServers": {
            "fx": stdio_fixture(json!({"prefix": "never"})),
            "everything": {"command": "node", "args": [p.everything, "stdio"]},
        }}))
        .await;
        assert_eq!(hub.server("everything").await["status"], "connected");
        let steps = json!([call_with_progress(
            "everything__trigger-long-running-operation",
            json!({"duration": 1, "steps": 4})
        )]);
        let out =
            run(&p, &json!({"clients": [client("A", &hub.url("/mcp"), json!({}), steps)]})).await;
        let a = Seen::of(&out, "A");
        assert_eq!(
            a.progress(0),
            [(1.0, 4.0), (2.0, 4.0), (3.0, 4.0), (4.0, 4.0)],
            "server-everything's progress under the client's token: {}",
            a.all()
        );
        assert!(a.text(0).1.contains("Long running operation completed"), "{:?}", a.text(0));
        // Both servers give instructions: the hub combines them under each server's name.
        let instructions = a.0["instructions"].as_str().unwrap_or_default();
        assert!(
            instructions.contains("## fx\n\nThe MCP conformance suite's server fixture")
                && instructions.contains("## everything\n\n"),
            "{instructions}"
        );
        assert_eq!(hub.stop().await, Some(0));
    })
    .await;
}

// 2. Logging.

#[tokio::test]
async fn log_messages_reach_the_caller_at_the_level_it_set() {
    let Some(p) = peers() else { return };
    bounded(async {
        for kind in [Upstream::Stdio, Upstream::Http] {
            let (hub, http) = hub_with_fixture(kind).await;
            let steps = json!([
                call("test_tool_with_logging", json!({})),
                {"op": "set_level", "level": "error"},
                call("test_tool_with_logging", json!({})),
                {"op": "set_level", "level": "info"},
                call("test_tool_with_logging", json!({})),
            ]);
            let out =
                run(&p, &json!({"clients": [client("A", &hub.url("/mcp"), json!({}), steps)]}))
                    .await;
            let a = Seen::of(&out, "A");
            assert_eq!(a.logs(Some(0)), LOGS, "{kind:?}: {}", a.all());
            assert!(a.events("log", Some(0)).iter().all(|e| e["level"] == "info"));
            assert!(!a.text(2).0);
            assert!(a.logs(Some(2)).is_empty(), "{kind:?}: below the level asked for: {}", a.all());
            assert_eq!(a.logs(Some(4)), LOGS, "{kind:?}: {}", a.all());
            stop_all(hub, http).await;
        }
    })
    .await;
}

/// Two sessions, one upstream: the upstream is asked for the most verbose level either wants
/// (`info`), and the hub filters each session's messages by its own level.
#[tokio::test]
async fn each_session_gets_log_messages_at_its_own_level() {
    let Some(p) = peers() else { return };
    bounded(async {
        let (hub, http) = hub_with_fixture(Upstream::Stdio).await;
        let url = hub.url("/mcp");
        let barrier = |n: &str| json!({"op": "barrier", "name": n});
        let a_steps = json!([
            {"op": "set_level", "level": "error"},
            barrier("a set"),
            barrier("b set"),
            call("test_tool_with_logging", json!({})),
            barrier("a done"),
        ]);
        let b_steps = json!([
            barrier("a set"),
            {"op": "set_level", "level": "info"},
            barrier("b set"),
            barrier("a done"),
            call("test_tool_with_logging", json!({})),
        ]);
        let plan = json!({"clients": [
            client("A", &url, json!({}), a_steps),
            client("B", &url, json!({}), b_steps),
        ]});
        let out = run(&p, &plan).await;
        let (a, b) = (Seen::of(&out, "A"), Seen::of(&out, "B"));
        assert!(!a.text(3).0);
        assert!(a.logs(None).is_empty(), "A asked for errors only: {}", a.all());
        assert_eq!(b.logs(Some(4)), LOGS, "B asked for info: {}", b.all());
        assert_eq!(b.logs(None).len(), 3, "{}", b.all());
        stop_all(hub, http).await;
    })
    .await;
}

/// Two sessions set their levels at the same moment: whatever order the hub handles them in,
/// the upstream ends at the most verbose of the two, so the session that asked for `info` gets
/// its calls' info messages. Ten rounds, each from `emergency` on both sides.
#[tokio::test]
async fn concurrent_log_levels_leave_the_upstream_at_the_most_verbose() {
    let Some(p) = peers() else { return };
    bounded(async {
        let (hub, http) = hub_with_fixture(Upstream::Stdio).await;
        let url = hub.url("/mcp");
        let barrier = |n: String| json!({"op": "barrier", "name": n});
        let set = |level: &str| json!({"op": "set_level", "level": level});
        let (mut a_steps, mut b_steps, mut calls) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..10 {
            for (steps, level) in [(&mut a_steps, "error"), (&mut b_steps, "info")] {
                steps.extend([
                    barrier(format!("{round} start")),
                    set("emergency"),
                    barrier(format!("{round} quiet")),
                    set(level),
                    barrier(format!("{round} set")),
                ]);
            }
            calls.push(b_steps.len());
            b_steps.push(call("test_tool_with_logging", json!({})));
        }
        let plan = json!({"clients": [
            client("A", &url, json!({}), json!(a_steps)),
            client("B", &url, json!({}), json!(b_steps)),
        ]});
        let out = run(&p, &plan).await;
        let b = Seen::of(&out, "B");
        for (round, step) in calls.into_iter().enumerate() {
            assert_eq!(b.logs(Some(step)), LOGS, "round {round}: {}", b.all());
        }
        stop_all(hub, http).await;
    })
    .await;
}

/// A session that never sent `logging/setLevel` gets its calls' log messages (the server's
/// default) whatever another session asked for.
#[tokio::test]
async fn another_sessions_log_level_does_not_silence_a_session_that_set_none() {
    let Some(p) = peers() else { return };
    bounded(async {
        let (hub, http) = hub_with_fixture(Upstream::Stdio).await;
        let url = hub.url("/mcp");
        let a_steps = json!([
            {"op": "barrier", "name": "b called"},
            {"op": "set_level", "level": "error"},
            {"op": "barrier", "name": "level set"},
        ]);
        let b_steps = json!([
            call("test_tool_with_logging", json!({})),
            {"op": "barrier", "name": "b called"},
            {"op": "barrier", "name": "level set"},
            call("test_tool_with_logging", json!({})),
        ]);
        let plan = json!({"clients": [
            client("A", &url, json!({}), a_steps),
            client("B", &url, json!({}), b_steps),
        ]});
        let out = run(&p, &plan).await;
        let b = Seen::of(&out, "B");
        assert_eq!(b.logs(Some(0)), LOGS, "before A set a level: {}", b.all());
        assert_eq!(b.logs(Some(3)), LOGS, "after A set `error`, B's own calls: {}", b.all());
        stop_all(hub, http).await;
    })
    .await;
}

// 3. Sampling and elicitation.

#[tokio::test]
async fn sampling_and_elicitation_are_answered_by_the_calling_client() {
    let Some(p) = peers() else { return };
    bounded(async {
        for kind in [Upstream::Stdio, Upstream::Http] {
            let (hub, http) = hub_with_fixture(kind).await;
            let url = hub.url("/mcp");
            let steps = json!([
                call("test_sampling", json!({"prompt": "What is 2+2?"})),
                call("test_elicitation", json!({"message": "Who are you?"})),
            ]);
            let able = json!({"sampling": true, "elicitation": true});
            let plan = json!({"clients": [client("A", &url, able, steps.clone())]});
            let out = run(&p, &plan).await;
            let a = Seen::of(&out, "A");
            assert_eq!(a.sampled(Some(0)), ["What is 2+2?"], "{kind:?}: {}", a.all());
            assert_eq!(a.events("sampling", Some(0))[0]["max_tokens"], 100);
            assert_eq!(
                a.text(0),
                (false, "LLM response: A answers 'What is 2+2?'".to_owned()),
                "{kind:?}"
            );
            let asked = a.events("elicitation", Some(1));
            assert_eq!(asked.len(), 1, "{kind:?}: {}", a.all());
            assert_eq!(asked[0]["message"], "Who are you?");
            assert_eq!(
                a.text(1),
                (
                    false,
                    r#"User response: action=accept, content={"username":"A","email":"A@example.test"}"#
                        .to_owned()
                ),
                "{kind:?}"
            );

            // A client that declared neither: the hub refuses the server's requests for it,
            // and the tools say so.
            let out = run(&p, &json!({"clients": [client("N", &url, json!({}), steps)]})).await;
            let n = Seen::of(&out, "N");
            for (step, capability) in [(0, "sampling"), (1, "elicitation")] {
                let (failed, text) = n.text(step);
                assert!(
                    failed && text.contains(&format!("does not support {capability}")),
                    "{kind:?}: {text}"
                );
            }
            stop_all(hub, http).await;
        }
    })
    .await;
}

// 4. Roots.

#[tokio::test]
async fn roots_reach_per_session_servers_only() {
    let Some(p) = peers() else { return };
    bounded(async {
        let hub = Hub::start(&json!({"mcpServers": {
            "own": stdio_fixture(json!({"sharing": "per-session"})),
            "shared": stdio_fixture(json!({})),
        }}))
        .await;
        let roots = json!([
            {"uri": "file:///work/alpha", "name": "alpha"},
            {"uri": "file:///work/beta", "name": "beta"},
        ]);
        let steps =
            json!([call("own__test_roots", json!({})), call("shared__test_roots", json!({}))]);
        let plan = json!({"clients": [
            client("A", &hub.url("/mcp"), json!({"roots": roots}), steps.clone()),
        ]});
        let out = run(&p, &plan).await;
        let a = Seen::of(&out, "A");
        let (failed, text) = a.text(0);
        assert!(!failed, "{text}");
        let given: Value = serde_json::from_str(text.strip_prefix("Roots: ").unwrap_or(&text))
            .unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(given, roots, "the per-session child got the client's own roots");
        assert_eq!(a.events("roots", Some(0)).len(), 1, "{}", a.all());

        let (failed, text) = a.text(1);
        assert!(
            failed && text.contains("did not declare the roots capability"),
            "a shared connection is not offered roots: {text}"
        );
        assert!(a.events("roots", Some(1)).is_empty(), "{}", a.all());

        // A client without roots: its own child is not offered them either.
        let out =
            run(&p, &json!({"clients": [client("N", &hub.url("/mcp"), json!({}), steps)]})).await;
        let (failed, text) = Seen::of(&out, "N").text(0);
        assert!(failed && text.contains("did not declare the roots capability"), "{text}");
        assert_eq!(hub.stop().await, Some(0));
    })
    .await;
}

// 5. Several sessions at once.

/// Two sessions call the same shared upstream at the same moments; a third only watches.
/// Steps: 0 barrier, 1 progress, 2 barrier, 3 sampling, 4 barrier, 5 logging, 6 barrier,
/// 7 A logging while B samples.
fn concurrent_plan(url: &str) -> Value {
    let barrier = |n: &str| json!({"op": "barrier", "name": n});
    let steps = |me: &str, last: Value| {
        json!([
            barrier("1"),
            call_with_progress("test_tool_with_progress", json!({})),
            barrier("2"),
            call("test_sampling", json!({"prompt": format!("prompt of {me}")})),
            barrier("3"),
            call("test_tool_with_logging", json!({})),
            barrier("4"),
            last,
        ])
    };
    let able = json!({"sampling": true, "elicitation": true});
    json!({"clients": [
        client("A", url, able.clone(), steps("A", call("test_tool_with_logging", json!({})))),
        client("B", url, able, steps("B", call("test_sampling", json!({"prompt": "B alone"})))),
    ]})
}

#[tokio::test]
async fn concurrent_sessions_get_only_their_own_progress_logs_and_sampling() {
    let Some(p) = peers() else { return };
    bounded(async {
        // Over streamable HTTP every message the upstream sends about a call comes on that
        // call's own answer stream, so the hub can always tell whose it is.
        let (hub, http) = hub_with_fixture(Upstream::Http).await;
        let (_watcher, mut stream) = bystander(&hub).await;
        let out = run(&p, &concurrent_plan(&hub.url("/mcp"))).await;
        for me in ["A", "B"] {
            let s = Seen::of(&out, me);
            assert_eq!(s.progress(1), PROGRESS, "{me}: {}", s.all());
            assert_eq!(s.events("progress", None).len(), 3, "{me}: {}", s.all());
            let prompt = format!("prompt of {me}");
            assert_eq!(s.sampled(Some(3)), std::slice::from_ref(&prompt), "{me}: {}", s.all());
            assert_eq!(s.text(3), (false, format!("LLM response: {me} answers '{prompt}'")));
            assert_eq!(s.logs(Some(5)), LOGS, "{me}: {}", s.all());
        }
        let (a, b) = (Seen::of(&out, "A"), Seen::of(&out, "B"));
        assert_eq!(a.logs(Some(7)), LOGS, "{}", a.all());
        assert!(a.sampled(Some(7)).is_empty(), "{}", a.all());
        assert_eq!(b.sampled(Some(7)), ["B alone"], "{}", b.all());
        assert!(b.logs(Some(7)).is_empty(), "A's log messages went to B: {}", b.all());
        assert_eq!(a.logs(None).len(), 6, "{}", a.all());
        assert_eq!(b.logs(None).len(), 3, "{}", b.all());
        assert_eq!(a.sampled(None).len(), 1, "{}", a.all());
        assert_eq!(b.sampled(None).len(), 2, "{}", b.all());
        assert_quiet(&mut stream, "a session that called nothing").await;
        stop_all(hub, http).await;
    })
    .await;
}

/// The same over a shared stdio child, where nothing on the wire tells which of two calls in
/// flight a log message or a server request belongs to: progress still reaches its caller (the
/// hub's own token says whose it is); what cannot be told apart never reaches the wrong session.
#[tokio::test]
async fn concurrent_sessions_on_a_shared_stdio_server_never_get_each_others_messages() {
    let Some(p) = peers() else { return };
    bounded(async {
        let (hub, http) = hub_with_fixture(Upstream::Stdio).await;
        let (_watcher, mut stream) = bystander(&hub).await;
        let out = run(&p, &concurrent_plan(&hub.url("/mcp"))).await;
        for me in ["A", "B"] {
            let s = Seen::of(&out, me);
            assert_eq!(s.progress(1), PROGRESS, "{me}: {}", s.all());
            assert_eq!(s.events("progress", None).len(), 3, "{me}: {}", s.all());
            // Either the client's own prompt and answer, or the hub's refusal to guess.
            let prompt = format!("prompt of {me}");
            let sampled = s.sampled(Some(3));
            assert!(sampled.is_empty() || sampled == [prompt.clone()], "{me}: {}", s.all());
            let (failed, text) = s.text(3);
            if failed {
                assert!(sampled.is_empty() && text.contains("cannot be matched"), "{text}");
            } else {
                assert_eq!(text, format!("LLM response: {me} answers '{prompt}'"));
            }
            assert!(s.logs(Some(5)).len() <= 3, "{me}: {}", s.all());
        }
        let b = Seen::of(&out, "B");
        assert!(b.logs(Some(7)).is_empty(), "A's log messages went to B: {}", b.all());
        assert!(b.sampled(None).iter().all(|s| s.contains('B')), "{}", b.all());
        assert!(Seen::of(&out, "A").sampled(None).iter().all(|s| s.contains('A')));
        assert_quiet(&mut stream, "a session that called nothing").await;
        stop_all(hub, http).await;
    })
    .await;
}

/// Sessions that asked for log messages (`logging/setLevel`) get the ones no call claims; a log
/// message of a shared stdio child that two calls in flight could have caused is no such message.
#[tokio::test]
async fn log_messages_of_two_calls_in_flight_on_a_shared_stdio_server_do_not_leak() {
    let Some(p) = peers() else { return };
    bounded(async {
        let (hub, http) = hub_with_fixture(Upstream::Stdio).await;
        let url = hub.url("/mcp");
        let barrier = |n: &str| json!({"op": "barrier", "name": n});
        let able = json!({"sampling": true});
        // B's call (`test_reconnection`, 500 ms) is in flight all the while A's tool logs.
        let a_steps = json!([
            {"op": "set_level", "level": "info"},
            barrier("go"),
            {"op": "sleep", "seconds": 0.1},
            call("test_tool_with_logging", json!({})),
        ]);
        let b_steps = json!([
            {"op": "set_level", "level": "info"},
            barrier("go"),
            call("test_reconnection", json!({})),
        ]);
        let plan = json!({"clients": [client("A", &url, able.clone(), a_steps), client("B", &url, able, b_steps)]});
        let out = run(&p, &plan).await;
        let (a, b) = (Seen::of(&out, "A"), Seen::of(&out, "B"));
        assert!(b.logs(None).is_empty(), "A's log messages went to B: {}", b.all());
        assert!(a.logs(None).len() <= 3, "{}", a.all());
        stop_all(hub, http).await;
    })
    .await;
}

/// Subscriptions: A subscribes, B does not; an update reaches A only, whoever's call caused it,
/// and none reaches anyone after A unsubscribed (the hub unsubscribed upstream too).
#[tokio::test]
async fn resource_updates_reach_subscribed_sessions_only() {
    let Some(p) = peers() else { return };
    bounded(async {
        for kind in [Upstream::Stdio, Upstream::Http] {
            let (hub, http) = hub_with_fixture(kind).await;
            let mut b = Session::open(&hub).await;
            let mut b_stream = b.open_stream().await;
            let steps = json!([
                {"op": "subscribe", "uri": WATCHED},
                {"op": "signal", "name": "subscribed"},
                {"op": "wait"},
                {"op": "sleep", "seconds": 0.5},
                {"op": "unsubscribe", "uri": WATCHED},
                {"op": "signal", "name": "unsubscribed"},
                {"op": "wait"},
                {"op": "sleep", "seconds": 0.5},
            ]);
            let mut a = Py::start(
                &p,
                &json!({"clients": [client("A", &hub.url("/mcp"), json!({}), steps)]}),
            );
            a.signal("subscribed").await;
            let (failed, text) = b.tool_text("test_update_watched", json!({})).await;
            assert!(!failed && text.starts_with("Sent"), "{kind:?}: {text}");
            a.go().await;
            a.signal("unsubscribed").await;
            let (failed, text) = b.tool_text("test_update_watched", json!({})).await;
            assert!(
                !failed && text.contains("no subscriber"),
                "{kind:?}: the hub unsubscribed upstream when its last subscriber did: {text}"
            );
            a.go().await;
            let out = a.finish().await;
            let seen = Seen::of(&out, "A");
            let updates = seen.events("notification", None);
            assert_eq!(updates.len(), 1, "{kind:?}: {}", seen.all());
            assert_eq!(updates[0]["method"], "notifications/resources/updated");
            assert_eq!(updates[0]["params"]["uri"], WATCHED);
            // While A waited after subscribing, or slept before unsubscribing (a notification on
            // the GET stream may trail B's result).
            let step = updates[0]["step"].as_u64().unwrap();
            assert!(step == 2 || step == 3, "{kind:?}: {}", seen.all());
            assert_quiet(&mut b_stream, "a session that did not subscribe").await;
            stop_all(hub, http).await;
        }
    })
    .await;
}

// 6. Completion.

#[tokio::test]
async fn completion_is_routed_by_prompt_name_with_and_without_prefix() {
    let Some(p) = peers() else { return };
    bounded(async {
        let hub = Hub::start(&json!({"mcpServers": {
            "fx": stdio_fixture(json!({"prefix": "never"})),
            "px": stdio_fixture(json!({})),
        }}))
        .await;
        let complete = |prompt: &str, argument: &str, value: &str| {
            json!({"op": "complete", "prompt": prompt, "argument": argument, "value": value})
        };
        let steps = json!([
            complete("test_prompt_with_arguments", "arg1", "pa"),
            complete("px__test_prompt_with_arguments", "arg1", "pa"),
            complete("px__test_prompt_with_arguments", "arg2", "wo"),
            complete("test_prompt_with_arguments", "arg1", ""),
            {"op": "list_tools"},
        ]);
        // "auto": the SDK probes `server/discover` first and falls back to initialize.
        let mut c = client("A", &hub.url("/mcp"), json!({}), steps);
        c["mode"] = json!("auto");
        let out = run(&p, &json!({"clients": [c]})).await;
        let a = Seen::of(&out, "A");
        assert_eq!(a.result(0)["values"], json!(["paris", "park", "party"]));
        assert_eq!(a.result(1)["values"], json!(["paris", "park", "party"]));
        assert_eq!(a.result(2)["values"], json!(["world", "word", "work"]));
        assert_eq!(a.result(3)["values"], json!(["paris", "park", "party", "hello", "help"]));
        let tools: Vec<&str> =
            a.result(4).as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
        assert!(tools.contains(&"test_roots") && tools.contains(&"px__test_roots"), "{tools:?}");
        assert_eq!(hub.stop().await, Some(0));
    })
    .await;
}

// 7. The legacy HTTP+SSE transport.

#[tokio::test]
async fn legacy_sse_client_gets_progress_logs_and_sampling() {
    let Some(p) = peers() else { return };
    bounded(async {
        let (hub, http) = hub_with_fixture(Upstream::Stdio).await;
        let steps = json!([
            call_with_progress("test_tool_with_progress", json!({})),
            call("test_sampling", json!({"prompt": "over sse"})),
            call("test_tool_with_logging", json!({})),
            call("test_elicitation", json!({"message": "over sse?"})),
        ]);
        let extra = json!({"transport": "sse", "sampling": true, "elicitation": true});
        let out = run(&p, &json!({"clients": [client("L", &hub.url("/mcp"), extra, steps)]})).await;
        let l = Seen::of(&out, "L");
        assert_eq!(l.progress(0), PROGRESS, "{}", l.all());
        assert_eq!(l.sampled(Some(1)), ["over sse"], "{}", l.all());
        assert_eq!(l.text(1), (false, "LLM response: L answers 'over sse'".to_owned()));
        assert_eq!(l.logs(Some(2)), LOGS, "{}", l.all());
        assert_eq!(l.events("elicitation", Some(3)).len(), 1, "{}", l.all());
        assert!(!l.text(3).0, "{:?}", l.text(3));
        stop_all(hub, http).await;
    })
    .await;
}

// 8. Cancellation of a server's request to the client.

/// The SSE events of a POST's answer, as JSON messages, once the answer is complete.
async fn sse_messages(response: reqwest::Response) -> Vec<Value> {
    let text = response.text().await.unwrap();
    text.split("\n\n")
        .filter_map(|event| {
            let data: Vec<&str> =
                event.lines().filter_map(|l| l.strip_prefix("data:")).map(str::trim).collect();
            (!data.is_empty() && !data.concat().is_empty())
                .then(|| serde_json::from_str(&data.concat()).unwrap())
        })
        .collect()
}

/// A network blip while the user answers a sampling request: the client's connection drops
/// after the request arrived; the client still answers it, resumes the call's SSE answer with
/// `Last-Event-ID` and gets the tool's result there (MCP 2025-11-25 resumability), and the
/// call went on upstream meanwhile rather than being cancelled.
#[tokio::test]
async fn a_dropped_sse_answer_is_resumed_with_last_event_id() {
    bounded(async {
        let hub =
            Hub::start(&json!({"mcpServers": {"fx": stdio_fixture(json!({"prefix": "never"}))}}))
                .await;
        let s = Session::open_with(&hub, json!({"sampling": {}})).await;
        let answer = s
            .post(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
                "name": "test_sampling", "arguments": {"prompt": "after a blip"}}}))
            .await;
        let mut stream = Stream::of(answer);
        assert!(stream.wait_for("sampling/createMessage", PY_LIMIT).await, "{}", stream.seen);
        assert!(stream.wait_for_count("\n\n", 2, PY_LIMIT).await, "{}", stream.seen);
        let last = stream.seen.lines().filter_map(|l| l.strip_prefix("id: ")).next_back();
        let last = last.unwrap_or_else(|| panic!("no event ids: {}", stream.seen)).to_owned();
        let asked = stream.messages().remove(0);
        drop(stream);

        let sampled = json!({"jsonrpc": "2.0", "id": asked["id"], "result": {
            "role": "assistant", "content": {"type": "text", "text": "resumed"}, "model": "m"}});
        assert_eq!(s.post(&sampled).await.status(), 202);
        let resumed = s.resume(&last).await;
        assert_eq!(resumed.status(), 200);
        let messages = sse_messages(resumed).await;
        assert_eq!(messages.len(), 1, "only what followed {last}: {messages:?}");
        assert_eq!(messages[0]["id"], 2);
        let text = &messages[0]["result"]["content"][0]["text"];
        assert_eq!(text, "LLM response: resumed", "{messages:?}");
        hub.stop().await;
    })
    .await;
}

/// No Python here: a raw session shows the wire. The fixture stops waiting for the sampling
/// answer after 300 ms and cancels its request; the hub cancels its own request to the client,
/// with the id the client saw, on the call's own stream before the call's answer, and the call
/// ends.
#[tokio::test]
async fn a_server_that_cancels_its_request_to_the_client_cancels_it_at_the_client() {
    bounded(async {
        let hub =
            Hub::start(&json!({"mcpServers": {"fx": stdio_fixture(json!({"prefix": "never"}))}}))
                .await;
        let s = Session::open_with(&hub, json!({"sampling": {}})).await;
        let mut session_stream = s.open_stream().await;
        let answer = s
            .post(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
                "name": "test_sampling", "arguments": {"prompt": "never answered", "timeoutMs": 300}}}))
            .await;
        let messages = sse_messages(answer).await;
        let methods: Vec<&str> =
            messages.iter().map(|m| m["method"].as_str().unwrap_or("(response)")).collect();
        assert_eq!(methods.first(), Some(&"sampling/createMessage"), "{messages:?}");
        assert_eq!(methods.last(), Some(&"(response)"), "{messages:?}");
        let asked = messages[0]["id"].clone();
        let response = messages.last().unwrap();
        assert_eq!(response["id"], 2);
        assert_eq!(response["result"]["isError"], true, "{messages:?}");
        // Told on the call's own stream, before the call's answer.
        let cancel = messages.iter().find(|m| m["method"] == "notifications/cancelled");
        let cancel = cancel.unwrap_or_else(|| panic!("the client was not told: {messages:?}"));
        assert_eq!(cancel["params"]["requestId"], asked, "{cancel}");
        let again = session_stream.wait_for("notifications/cancelled", Duration::from_millis(300));
        assert!(!again.await, "told twice: {}", session_stream.seen);
        // A late answer finds nothing waiting and changes nothing.
        let late = s
            .post(&json!({"jsonrpc": "2.0", "id": asked, "result": {
                "role": "assistant", "content": {"type": "text", "text": "late"}, "model": "m"}}))
            .await;
        assert_eq!(late.status(), 202);
        hub.stop().await;
    })
    .await;
}
