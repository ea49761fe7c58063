//! Fault injection against a remote (streamable HTTP) upstream. A purpose-built fake MCP server
//! ([`Fake`]: raw HTTP/1.1 over a tokio `TcpListener` on 127.0.0.1) misbehaves on cue, with the
//! real hub between it and a client. Each test asserts that every caller got an answer (a result
//! or an error) within its bound, and that the hub recovered.
//!
//! They prove that:
//! - SSE answers that trickle (a priming event, then keep-alive comments, the result long after
//!   the hub's request timeout) are cut off at the timeout for each of ten concurrent callers,
//!   with an error naming the timeout; the hub tells the upstream (one `notifications/cancelled`
//!   per request, reason `timeout`) and drops the streams; a well-behaved call to the same
//!   upstream, made while the slow ones hang, answers at once; the server stays `connected`;
//! - a connection reset in the middle of an answer (in its headers, in a JSON body, in an SSE
//!   stream without event ids) fails that call at once, and only that call: it is not sent
//!   again, the session is kept (no new `initialize`), the next call succeeds, the server stays
//!   `connected`;
//! - a reset SSE answer whose events carry ids is resumed (GET with `Last-Event-ID`) and the
//!   caller gets the real result;
//! - ten concurrent calls hit by resets all get an error answer promptly; the failures open the
//!   circuit breaker (`degraded`, calls refused at once), and once the upstream behaves a probe
//!   call closes it (`connected`), without a reconnect;
//! - resets during `initialize` (in the headers, in a JSON body, in an SSE body) are retried with
//!   backoff until the upstream behaves; then the server is `connected` and usable.
//!
//! - a reset of the `tools/list` answer while the hub connects fails that connection (an empty
//!   list would hide the server's tools for as long as it lasted); the restart lists them.
//!
//! Every wait is bounded ([`DEADLINE`], [`PROMPT`], and [`crate::support::TEST_LIMIT`] for a
//! whole test); every hub is stopped by its test (or killed on drop), every fake ends on drop.

use std::{
    collections::{BTreeSet, HashMap},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use futures_util::future::join_all;
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
    task::{JoinHandle, JoinSet},
    time::Instant,
};

use crate::support::{Hub, Session, bounded};

/// How long something that must happen may take.
const DEADLINE: Duration = Duration::from_secs(10);
/// How long a caller may wait for the answer to a call that hit a fault ("promptly"), beyond
/// any timeout that applies.
const PROMPT: Duration = Duration::from_secs(2);
/// How often to poll while waiting.
const POLL: Duration = Duration::from_millis(25);
/// The session id the fake hands out with its `initialize` result.
const SESSION: &str = "fake-session-1";
/// The head of an SSE answer (its body ends when the connection closes).
const SSE_HEAD: &str = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
                        cache-control: no-cache\r\nconnection: close\r\n\r\n";

// ---------------------------------------------------------------------------------------------
// The fake upstream

/// A request the fake received.
#[derive(Debug, Clone)]
struct Seen {
    /// The HTTP method.
    method: String,
    /// Header names in lower case.
    headers: HashMap<String, String>,
    /// The JSON body; `Null` when empty or not JSON.
    body: Value,
    at: Instant,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    /// The JSON-RPC method, for a request or notification.
    fn rpc(&self) -> Option<&str> {
        self.body.get("method").and_then(Value::as_str)
    }

    fn id(&self) -> Value {
        self.body.get("id").cloned().unwrap_or(Value::Null)
    }

    /// Whether this is a `tools/call` of `tool`.
    fn is_call(&self, tool: &str) -> bool {
        self.method == "POST"
            && self.rpc() == Some("tools/call")
            && self.body["params"]["name"] == tool
    }
}

/// How the fake answers one request.
enum Reply {
    /// 200 with a JSON body (plus the session header for `initialize`); the connection is kept.
    Json(Value),
    /// A status with an empty body; the connection is kept.
    Status(u16),
    /// 200 with an SSE body of `text`, then the connection closes.
    Sse(String),
    /// 200 SSE: `prefix`, then a `: tick` comment every `every` until `total` has passed, then
    /// `last`, then the connection closes. If the client goes away meanwhile, the request's id
    /// is recorded as abandoned.
    Trickle { prefix: String, every: Duration, total: Duration, last: String },
    /// Writes `partial` (part of the head, or the head and part of the body), lets the client
    /// read it, then resets the connection (SO_LINGER 0: RST, not FIN).
    Reset(String),
}

type Script = dyn Fn(&Seen) -> Option<Reply> + Send + Sync;

struct Shared {
    seen: Mutex<Vec<Seen>>,
    /// Ids of trickled answers whose client closed the stream before the end.
    abandoned: Mutex<Vec<Value>>,
    /// Requests that broke the transport's rules (no or a wrong session id).
    violations: Mutex<Vec<String>>,
    /// The test's answers; `None` falls back to [`standard`].
    script: Box<Script>,
}

/// A fake streamable-HTTP MCP server at `http://127.0.0.1:<port>/mcp`. Dropping it ends its
/// listener and every connection it still holds.
struct Fake {
    url: String,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

impl Fake {
    /// Starts a fake whose answers are `script`'s, or [`standard`] where it returns `None`.
    async fn start(script: impl Fn(&Seen) -> Option<Reply> + Send + Sync + 'static) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/mcp", listener.local_addr().unwrap());
        let shared = Arc::new(Shared {
            seen: Mutex::default(),
            abandoned: Mutex::default(),
            violations: Mutex::default(),
            script: Box::new(script),
        });
        let serving = Arc::clone(&shared);
        let accept = tokio::spawn(async move {
            // Owned by this task: aborting it (the fake dropped) aborts every connection too.
            let mut connections = JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                while connections.try_join_next().is_some() {}
                connections.spawn(serve(stream, Arc::clone(&serving)));
            }
        });
        Fake { url, shared, accept }
    }

    fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    fn count(&self, what: impl Fn(&Seen) -> bool) -> usize {
        self.seen().iter().filter(|s| what(s)).count()
    }

    fn initializes(&self) -> usize {
        self.count(|s| s.rpc() == Some("initialize"))
    }

    /// The `requestId`s of the `notifications/cancelled` received, with their reasons.
    fn cancellations(&self) -> Vec<(Value, Value)> {
        self.seen()
            .into_iter()
            .filter(|s| s.rpc() == Some("notifications/cancelled"))
            .map(|s| (s.body["params"]["requestId"].clone(), s.body["params"]["reason"].clone()))
            .collect()
    }

    fn abandoned(&self) -> Vec<Value> {
        self.shared.abandoned.lock().unwrap().clone()
    }

    fn violations(&self) -> Vec<String> {
        self.shared.violations.lock().unwrap().clone()
    }

    /// Waits (up to [`DEADLINE`]) until `done` holds of the fake.
    async fn wait_until(&self, what: &str, done: impl Fn(&Fake) -> bool) {
        let deadline = Instant::now() + DEADLINE;
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "not within {DEADLINE:?}: {what}; the fake saw: {:#?}",
                self.seen().iter().map(|s| (&s.method, &s.body)).collect::<Vec<_>>()
            );
            tokio::time::sleep(POLL).await;
        }
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Serves one connection: requests one after the other (keep-alive) until the client closes
/// it or an answer ends it.
async fn serve(stream: TcpStream, shared: Arc<Shared>) {
    let mut conn = BufReader::new(stream);
    while let Some(seen) = read_request(&mut conn).await {
        check_session(&seen, &shared);
        shared.seen.lock().unwrap().push(seen.clone());
        let reply = (shared.script)(&seen).unwrap_or_else(|| standard(&seen));
        let stream = conn.get_mut();
        match reply {
            Reply::Json(body) => {
                let session = if seen.rpc() == Some("initialize") {
                    format!("mcp-session-id: {SESSION}\r\n")
                } else {
                    String::new()
                };
                let body = body.to_string();
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n{session}\
                     content-length: {}\r\n\r\n",
                    body.len()
                );
                if write(stream, &(head + &body)).await.is_err() {
                    return;
                }
            }
            Reply::Status(code) => {
                let head = format!("HTTP/1.1 {code} Status\r\ncontent-length: 0\r\n\r\n");
                if write(stream, &head).await.is_err() {
                    return;
                }
            }
            Reply::Sse(text) => {
                let _ = write(stream, &format!("{SSE_HEAD}{text}")).await;
                return;
            }
            Reply::Trickle { prefix, every, total, last } => {
                if write(stream, &format!("{SSE_HEAD}{prefix}")).await.is_err() {
                    return;
                }
                let end = Instant::now() + total;
                while Instant::now() < end {
                    tokio::time::sleep(every).await;
                    if write(stream, ": tick\n\n").await.is_err() {
                        shared.abandoned.lock().unwrap().push(seen.id());
                        return;
                    }
                }
                let _ = write(stream, &last).await;
                return;
            }
            Reply::Reset(partial) => {
                let _ = write(stream, &partial).await;
                // Let the hub read what was sent, so that the reset comes mid-response.
                tokio::time::sleep(Duration::from_millis(100)).await;
                stream.set_zero_linger().unwrap();
                return; // dropping the socket now sends RST
            }
        }
    }
}

async fn write(stream: &mut TcpStream, text: &str) -> std::io::Result<()> {
    stream.write_all(text.as_bytes()).await?;
    stream.flush().await
}

/// Reads one HTTP/1.1 request (the hub's client sends bodies with a `content-length`); `None`
/// when the connection ends first.
async fn read_request(conn: &mut BufReader<TcpStream>) -> Option<Seen> {
    let mut line = String::new();
    if conn.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let method = line.split_whitespace().next()?.to_owned();
    let mut headers = HashMap::new();
    loop {
        line.clear();
        if conn.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
    }
    let len = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0; len];
    conn.read_exact(&mut body).await.ok()?;
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    Some(Seen { method, headers, body, at: Instant::now() })
}

/// Every request but `initialize` must carry the session id the fake gave.
fn check_session(seen: &Seen, shared: &Shared) {
    if seen.rpc() == Some("initialize") {
        return;
    }
    if seen.header("mcp-session-id") != Some(SESSION) {
        shared.violations.lock().unwrap().push(format!(
            "{} {} with session {:?}",
            seen.method,
            seen.body,
            seen.header("mcp-session-id")
        ));
    }
}

/// A well-behaved server: `initialize` (tools only, with a session), notifications and
/// responses accepted (202), `ping`, `tools/list`, and every tool echoes its `text` argument;
/// GET (no standalone stream) 405, DELETE 200.
fn standard(seen: &Seen) -> Reply {
    match seen.method.as_str() {
        "GET" => return Reply::Status(405),
        "DELETE" => return Reply::Status(200),
        _ => {}
    }
    let id = seen.id();
    let Some(method) = seen.rpc().filter(|_| !id.is_null()) else {
        return Reply::Status(202);
    };
    Reply::Json(match method {
        "initialize" => result(
            &id,
            json!({
                "protocolVersion": seen.body["params"]["protocolVersion"],
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "fault-fake", "version": "1"},
            }),
        ),
        "ping" => result(&id, json!({})),
        "tools/list" => {
            let tools: Vec<Value> = ["echo", "slow", "cut", "resumable"]
                .iter()
                .map(|name| json!({"name": name, "inputSchema": {"type": "object"}}))
                .collect();
            result(&id, json!({"tools": tools}))
        }
        "tools/call" => {
            let text = seen.body["params"]["arguments"]["text"].as_str().unwrap_or_default();
            result(&id, text_result(text))
        }
        _ => {
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": "no such method"}})
        }
    })
}

fn result(id: &Value, result: Value) -> Value {
    let mut message = json!({"jsonrpc": "2.0", "id": id});
    message["result"] = result;
    message
}

fn text_result(text: &str) -> Value {
    json!({"content": [{"type": "text", "text": text}], "isError": false})
}

/// One SSE event with an id and a JSON message.
fn sse_event(id: &str, message: &Value) -> String {
    format!("id: {id}\ndata: {message}\n\n")
}

/// The answer to request `id` cut off: `"head"` inside the status line's headers, `"json"`
/// inside a JSON body, `"sse"` inside the data of an SSE event without an id.
fn cut(id: &Value, at: &str) -> String {
    let start = format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{{"cont"#);
    match at {
        "head" => "HTTP/1.1 200 OK\r\ncontent-ty".to_owned(),
        "json" => format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nmcp-session-id: {SESSION}\r\n\
             content-length: 200\r\n\r\n{start}"
        ),
        "sse" => format!("{SSE_HEAD}data: {start}"),
        other => panic!("no such cut: {other}"),
    }
}

// ---------------------------------------------------------------------------------------------
// The hub side

/// The hub in front of the fake, as server `flaky`, with `hub` as its `hub` settings.
async fn hub_for(fake: &Fake, hub: Value) -> Hub {
    Hub::start(&json!({
        "mcpServers": {"flaky": {"url": fake.url, "transport": "streamable-http"}},
        "hub": hub,
    }))
    .await
}

/// Calls tool `flaky__<tool>` through the hub as request `id`; returns the JSON-RPC response
/// and how long the answer took.
async fn call(s: &Session, id: i64, tool: &str, arguments: Value) -> (Value, Duration) {
    let started = Instant::now();
    let params = json!({"name": format!("flaky__{tool}"), "arguments": arguments});
    let response = s
        .post(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params}))
        .await;
    assert_eq!(response.status(), 200, "{tool}");
    let v: Value = response.json().await.unwrap();
    assert_eq!(v["id"], id, "{v}");
    (v, started.elapsed())
}

/// The text of a tool result (error or not).
fn text(v: &Value) -> &str {
    v["result"]["content"][0]["text"].as_str().unwrap_or_default()
}

/// A successful tool result with `expected` as its text.
#[track_caller]
fn assert_ok(v: &Value, expected: &str) {
    assert!(v.get("error").is_none() && v["result"]["isError"] == false, "{v}");
    assert_eq!(text(v), expected, "{v}");
}

/// A tool error result (the hub reports failures of the path to a tool that way) naming the
/// server and saying `why`.
#[track_caller]
fn assert_tool_error(v: &Value, why: &str) {
    assert_eq!(v["result"]["isError"], true, "{v}");
    let text = text(v);
    assert!(text.starts_with("server 'flaky': ") && text.contains(why), "{why}: {v}");
}

/// Polls `/api/servers` until `flaky`'s entry satisfies `pred`; returns it, or panics after
/// [`DEADLINE`] with what it last saw.
async fn wait_server(hub: &Hub, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let s = hub.server("flaky").await;
        if pred(&s) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "not within {DEADLINE:?}: flaky {what}; last seen: {s}\nlog:\n{}",
            hub.log.lock().unwrap()
        );
        tokio::time::sleep(POLL).await;
    }
}

/// The hub's log lines about `flaky` that contain `what`.
fn log_lines(hub: &Hub, what: &str) -> Vec<String> {
    let log = hub.log.lock().unwrap();
    log.lines()
        .filter(|l| l.contains(what) && l.contains("server=flaky "))
        .map(str::to_owned)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The tests

#[tokio::test]
async fn slow_sse_answers_time_out_for_every_caller_are_cancelled_upstream_and_the_server_stays_up()
{
    bounded(async {
        const N: usize = 10;
        let timeout = Duration::from_secs(1);
        let fake = Fake::start(|seen| {
            seen.is_call("slow").then(|| {
                let id = seen.id();
                Reply::Trickle {
                    // A priming event (an id, no data), as 2025-11-25 servers send…
                    prefix: format!("id: slow-{id}-0\ndata: \n\n"),
                    // …then bytes keep coming, but the result only long after the timeout.
                    every: Duration::from_millis(100),
                    total: Duration::from_secs(6),
                    last: sse_event(&format!("slow-{id}-1"), &result(&id, text_result("late"))),
                }
            })
        })
        .await;
        let hub = hub_for(
            &fake,
            json!({
                "timeouts": {"request": "1s"},
                // Ten timeouts must not open the breaker: this test is about the calls and the
                // streams (the breaker's part is in the reset tests).
                "supervision": {"breaker": {"failures": 100}, "ping": {"interval": 0}},
            }),
        )
        .await;
        assert_eq!(hub.server("flaky").await["status"], "connected");
        let s = Session::open(&hub).await;

        let slow = join_all((100..).take(N).map(|id| call(&s, id, "slow", json!({}))));
        let echo = async {
            // Once every slow call is upstream, a good call to the same server is not held up.
            fake.wait_until("all slow calls upstream", |f| f.count(|s| s.is_call("slow")) == N)
                .await;
            let echo = call(&s, 1, "echo", json!({"text": "meanwhile"})).await;
            // …and the server shows as connected while they hang.
            (echo, hub.server("flaky").await)
        };
        let (slow, ((echo, echo_took), during)) = tokio::join!(slow, echo);
        assert_eq!(during["status"], "connected", "{during}");
        assert_ok(&echo, "meanwhile");
        assert!(echo_took < timeout, "answered while the slow calls hung: {echo_took:?}");
        for (v, took) in &slow {
            assert_tool_error(v, "no response to tools/call within 1");
            assert!(
                *took >= timeout && *took < timeout + PROMPT,
                "answered at the timeout: {took:?}"
            );
        }
        eprintln!("slow calls answered after {:?}", slow.iter().map(|(_, t)| t).max().unwrap());

        // Each timed-out request was cancelled upstream, and its stream closed by the hub.
        let calls: HashMap<String, Instant> = fake
            .seen()
            .iter()
            .filter(|s| s.is_call("slow"))
            .map(|s| (s.id().to_string(), s.at))
            .collect();
        let ids: BTreeSet<String> = calls.keys().cloned().collect();
        assert_eq!(ids.len(), N, "distinct upstream ids: {ids:?}");
        fake.wait_until("a cancellation each", |f| f.cancellations().len() >= N).await;
        let cancelled = fake.cancellations();
        assert_eq!(cancelled.len(), N, "one each: {cancelled:?}");
        assert!(cancelled.iter().all(|(_, reason)| reason == "timeout"), "{cancelled:?}");
        let cancelled: BTreeSet<String> = cancelled.iter().map(|(id, _)| id.to_string()).collect();
        assert_eq!(cancelled, ids, "the cancellations name the timed-out requests");
        let after = fake
            .seen()
            .iter()
            .filter(|s| s.rpc() == Some("notifications/cancelled"))
            .map(|s| s.at - calls[&s.body["params"]["requestId"].to_string()])
            .max()
            .unwrap();
        eprintln!("cancelled upstream at most {after:?} after the call arrived there");
        assert!(after < timeout + PROMPT, "cancelled at the timeout, not {after:?} after");
        fake.wait_until("every stream closed", |f| f.abandoned().len() == N).await;
        let abandoned: BTreeSet<String> = fake.abandoned().iter().map(Value::to_string).collect();
        assert_eq!(abandoned, ids, "the hub stopped reading every slow stream");

        // The hub is fine: still connected, no reconnect, the next call answers.
        let status = hub.server("flaky").await;
        assert_eq!((&status["status"], &status["error"]), (&json!("connected"), &Value::Null));
        let (v, _) = call(&s, 2, "echo", json!({"text": "after"})).await;
        assert_ok(&v, "after");
        assert_eq!(fake.initializes(), 1, "the session was kept");
        assert_eq!(fake.violations(), Vec::<String>::new());
        assert_eq!(hub.stop().await, Some(0));
    })
    .await;
}

#[tokio::test]
async fn a_connection_reset_mid_response_fails_that_call_at_once_and_the_session_carries_on() {
    bounded(async {
        let fake = Fake::start(|seen| {
            let at = seen.body["params"]["arguments"]["at"].as_str().unwrap_or_default();
            seen.is_call("cut").then(|| Reply::Reset(cut(&seen.id(), at)))
        })
        .await;
        let hub = hub_for(&fake, json!({"supervision": {"ping": {"interval": 0}}})).await;
        assert_eq!(hub.server("flaky").await["status"], "connected");
        let s = Session::open(&hub).await;

        let mut id = 0;
        for (n, (at, why)) in [
            ("head", "HTTP request failed"),
            ("json", "HTTP request failed"),
            ("sse", "the response stream ended before the response"),
        ]
        .into_iter()
        .enumerate()
        {
            id += 1;
            let (v, took) = call(&s, id, "cut", json!({"at": at})).await;
            assert_tool_error(&v, why);
            eprintln!("reset in the {at}: answered after {took:?}: {}", text(&v));
            assert!(took < PROMPT, "reset in the {at}: answered promptly, not {took:?}");
            // tools/call is not idempotent: the hub must not send it again by itself.
            assert_eq!(fake.count(|s| s.is_call("cut")), n + 1, "{at}");
            id += 1;
            let (v, took) = call(&s, id, "echo", json!({"text": at})).await;
            assert_ok(&v, at);
            assert!(took < PROMPT, "{took:?}");
        }
        let status = hub.server("flaky").await;
        assert_eq!((&status["status"], &status["error"]), (&json!("connected"), &Value::Null));
        assert_eq!(fake.initializes(), 1, "the session was kept");
        assert_eq!(fake.violations(), Vec::<String>::new());
        assert_eq!(hub.stop().await, Some(0));
    })
    .await;
}

#[tokio::test]
async fn a_reset_response_stream_with_event_ids_is_resumed_and_the_caller_gets_the_result() {
    bounded(async {
        let fake = Fake::start(|seen| {
            if seen.is_call("resumable") {
                let id = seen.id();
                return Some(Reply::Reset(format!(
                    "{SSE_HEAD}id: r-{id}-0\nretry: 50\ndata: \n\n"
                )));
            }
            // The resumption: the rest of the stream after the priming event.
            let last = seen.header("last-event-id")?;
            let id: i64 = last.strip_prefix("r-")?.strip_suffix("-0")?.parse().ok()?;
            let event =
                sse_event(&format!("r-{id}-1"), &result(&json!(id), text_result("resumed")));
            Some(Reply::Sse(event))
        })
        .await;
        let hub = hub_for(&fake, json!({"supervision": {"ping": {"interval": 0}}})).await;
        let s = Session::open(&hub).await;

        let (v, took) = call(&s, 1, "resumable", json!({})).await;
        assert_ok(&v, "resumed");
        assert!(took < PROMPT, "{took:?}");
        let upstream = fake.seen().into_iter().find(|s| s.is_call("resumable")).unwrap().id();
        let resumed: Vec<Seen> = fake
            .seen()
            .into_iter()
            .filter(|s| s.method == "GET" && s.header("last-event-id").is_some())
            .collect();
        assert_eq!(resumed.len(), 1, "{resumed:?}");
        assert_eq!(resumed[0].header("last-event-id"), Some(format!("r-{upstream}-0").as_str()));

        let (v, _) = call(&s, 2, "echo", json!({"text": "next"})).await;
        assert_ok(&v, "next");
        let status = hub.server("flaky").await;
        assert_eq!((&status["status"], &status["error"]), (&json!("connected"), &Value::Null));
        assert_eq!(fake.violations(), Vec::<String>::new());
        assert_eq!(hub.stop().await, Some(0));
    })
    .await;
}

#[tokio::test]
async fn concurrent_calls_hit_by_resets_all_get_answers_and_the_breaker_recovers() {
    bounded(async {
        const N: usize = 10;
        let faulty = Arc::new(AtomicBool::new(true));
        let fake = Fake::start({
            let faulty = Arc::clone(&faulty);
            move |seen| {
                if seen.rpc() != Some("tools/call") || !faulty.load(Ordering::SeqCst) {
                    return None;
                }
                let id = seen.id();
                let at = if id.as_i64().unwrap_or_default() % 2 == 0 { "json" } else { "sse" };
                Some(Reply::Reset(cut(&id, at)))
            }
        })
        .await;
        let hub = hub_for(
            &fake,
            json!({"supervision": {
                "breaker": {"failures": 3, "coolDown": "1s"},
                "ping": {"interval": 0},
            }}),
        )
        .await;
        let s = Session::open(&hub).await;

        let answers =
            join_all((100..).take(N).map(|id| call(&s, id, "echo", json!({"text": "x"})))).await;
        let mut failed = 0;
        for (v, took) in &answers {
            assert!(*took < PROMPT, "answered promptly, not after {took:?}: {v}");
            if v["result"]["isError"] == true {
                assert_tool_error(v, "");
                failed += 1;
            } else {
                // Refused by the breaker (opened by the first failures) before it was sent.
                assert_eq!(v["error"]["code"], -32010, "{v}");
            }
        }
        let sent = fake.count(|s| s.rpc() == Some("tools/call"));
        assert_eq!(sent, failed, "every call sent upstream failed, the others were refused");
        assert!(failed >= 3, "{answers:?}");
        eprintln!(
            "{N} concurrent calls: {failed} reset, {} refused; slowest answer {:?}",
            N - failed,
            answers.iter().map(|(_, t)| t).max().unwrap()
        );

        // The failures opened the breaker: degraded, and calls are refused without being sent.
        let open = hub.server("flaky").await;
        assert_eq!(open["status"], "degraded", "{open}");
        assert!(open["error"].as_str().unwrap().contains("circuit breaker open"), "{open}");
        faulty.store(false, Ordering::SeqCst);
        let (v, took) = call(&s, 1, "echo", json!({"text": "refused"})).await;
        assert_eq!(v["error"]["code"], -32010, "{v}");
        assert!(took < PROMPT, "{took:?}");
        assert_eq!(fake.count(|s| s.rpc() == Some("tools/call")), sent, "not sent");

        // After the cool-down a probe goes through, gets its answer, and closes the breaker.
        let retry = v["error"]["data"]["retryAfterMs"].as_u64().unwrap();
        tokio::time::sleep(Duration::from_millis(retry + 50)).await;
        let (v, _) = call(&s, 2, "echo", json!({"text": "probe"})).await;
        assert_ok(&v, "probe");
        let back = wait_server(&hub, "connected again", |v| v["status"] == "connected").await;
        assert_eq!(back["error"], Value::Null, "{back}");
        let (v, _) = call(&s, 3, "echo", json!({"text": "again"})).await;
        assert_ok(&v, "again");
        assert_eq!(fake.initializes(), 1, "recovered without reconnecting");
        assert_eq!(fake.violations(), Vec::<String>::new());
        assert_eq!(hub.stop().await, Some(0));
    })
    .await;
}

#[tokio::test]
async fn resets_during_initialize_are_retried_with_backoff_until_the_server_behaves() {
    bounded(async {
        let (initializes, initializeds) =
            (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let fake = Fake::start({
            let (initializes, initializeds) = (Arc::clone(&initializes), Arc::clone(&initializeds));
            move |seen| {
                let at = match seen.rpc() {
                    // The first three `initialize` answers are cut off…
                    Some("initialize") => match initializes.fetch_add(1, Ordering::SeqCst) {
                        0 => "head",
                        1 => "json",
                        2 => "sse",
                        _ => return None,
                    },
                    // …then the acknowledgement of the first `notifications/initialized`.
                    Some("notifications/initialized") => {
                        if initializeds.fetch_add(1, Ordering::SeqCst) > 0 {
                            return None;
                        }
                        return Some(Reply::Reset("HTTP/1.1 202 Acc".to_owned()));
                    }
                    _ => return None,
                };
                Some(Reply::Reset(cut(&seen.id(), at)))
            }
        })
        .await;
        let hub = hub_for(
            &fake,
            json!({"supervision": {
                "restart": {"initialDelay": "100ms", "maxDelay": "400ms", "maxRestarts": 10},
                "ping": {"interval": 0},
            }}),
        )
        .await;
        let started = Instant::now();
        let up = wait_server(&hub, "connected", |v| v["status"] == "connected").await;
        eprintln!("connected {:?} after the hub was ready", started.elapsed());
        assert_eq!(up["error"], Value::Null, "{up}");

        let tries: Vec<Instant> =
            fake.seen().iter().filter(|s| s.rpc() == Some("initialize")).map(|s| s.at).collect();
        assert_eq!(tries.len(), 5, "four failed attempts, then the one that worked");
        let gaps: Vec<Duration> = tries.windows(2).map(|pair| pair[1] - pair[0]).collect();
        eprintln!("between attempts: {gaps:?}");
        for gap in &gaps {
            // The reset itself comes 100 ms into an attempt; the backoff waits at least 100 ms.
            assert!(*gap >= Duration::from_millis(200), "backed off: {gaps:?}");
        }
        let down = log_lines(&hub, "server down; restarting");
        assert_eq!(down.len(), 4, "{down:?}");
        assert!(down[..3].iter().all(|l| l.contains("initialize failed")), "{down:?}");
        assert!(down[3].contains("notifications/initialized failed"), "{down:?}");

        let s = Session::open(&hub).await;
        let (v, took) = call(&s, 1, "echo", json!({"text": "finally"})).await;
        assert_ok(&v, "finally");
        assert!(took < PROMPT, "{took:?}");
        assert_eq!(fake.violations(), Vec::<String>::new());
        assert_eq!(hub.stop().await, Some(0));
    })
    .await;
}

/// A reset of the `tools/list` answer while the hub connects. Expected: the hub recovers the
/// server's tools within [`DEADLINE`] (by asking again, or by failing the connection and
/// restarting it), and a call to one of them succeeds.
#[tokio::test]
async fn a_reset_during_the_tool_list_at_connect_does_not_lose_the_servers_tools() {
    bounded(async {
        let lists = Arc::new(AtomicUsize::new(0));
        let fake = Fake::start({
            let lists = Arc::clone(&lists);
            move |seen| {
                let first =
                    seen.rpc() == Some("tools/list") && lists.fetch_add(1, Ordering::SeqCst) == 0;
                first.then(|| Reply::Reset(cut(&seen.id(), "json")))
            }
        })
        .await;
        let hub = hub_for(
            &fake,
            json!({"supervision": {
                "restart": {"initialDelay": "100ms", "maxDelay": "400ms"},
                "ping": {"interval": "300ms"},
            }}),
        )
        .await;
        let mut s = Session::open(&hub).await;
        let deadline = Instant::now() + DEADLINE;
        loop {
            let tools = s.ok("tools/list", json!({})).await;
            if tools["tools"].as_array().unwrap().iter().any(|t| t["name"] == "flaky__echo") {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the tools never came back: {tools}; server: {}; tools/list requests upstream: {}",
                hub.server("flaky").await,
                fake.count(|s| s.rpc() == Some("tools/list"))
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (v, _) = call(&s, 1, "echo", json!({"text": "back"})).await;
        assert_ok(&v, "back");
        assert_eq!(fake.violations(), Vec::<String>::new());
        assert_eq!(hub.stop().await, Some(0));
    })
    .await;
}
