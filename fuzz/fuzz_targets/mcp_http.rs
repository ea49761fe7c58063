//! The hub's HTTP facade (`hub_http::Facade`: `/mcp`, `/messages`, `/api/*`) driven in process
//! through `tower::ServiceExt::oneshot` (no sockets), in front of a small deterministic backend,
//! on one current-thread tokio runtime whose clock is paused (timeouts cost no real time and
//! fire in a fixed order).
//!
//! Input layout (a byte past the end reads as 0; at most 8 steps):
//!
//! ```text
//! input    := settings:u8 step*
//! settings := bit 0 max_sessions 2 (else 10 000) | bit 1 max_body_bytes 512 (else 64 KiB)
//!           | bit 2 session_idle_timeout 50 ms (else 1 h) | bit 3 no Host check
//!           | bit 4 allowed_origins ["https://app.example"] | bit 5 resume_window 0 (else 10 s)
//! step     := op:u8 mask:u8 value* body
//! op       := bits 0-1 method: 0 POST, 1 GET, 2 DELETE, 3 POST
//!             bits 2-4 path: 0-1 /mcp, 2-3 /messages?…, 4 /api/health, 5 /api/servers,
//!                            6 /api/nope, 7 /mcp?x=1
//!             bit 5 defer: an SSE answer to a POST stays open, read after the last step
//!             bits 6-7 the /messages query: 0 newest legacy session, 1 newest streamable one,
//!                      2 no query, 3 an unknown id
//! mask     := bit i: header i takes a value from the input: Host, Origin, Accept, Content-Type,
//!             Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID (one value each, in that
//!             order); a clear bit sends no such header, except Host (`localhost:3000`) and
//!             Content-Type (`application/json`), so that most inputs get past the guard
//! value    := sel:u8: < 0x80 a canned value (`sel % count`; for Host and Content-Type the last
//!             one is "no header"; for Mcp-Session-Id: newest streamable session, the one before,
//!             newest legacy session, an unknown id, ""); >= 0x80: the next `sel & 0x7f` bytes,
//!             raw (a value `http` refuses drops the header)
//! body     := kind:u8, kind % 4: 0 empty | 1 len:u16le + raw bytes | 2 built | 3 n:u8 + batch of
//!             1 + n % 4 built messages
//! built    := m:u8 id:u8 p:u8 [raw]: m bits 0-4 method (METHODS), bits 5-6 kind: request,
//!             notification, result, error; id < 0x80 that number, < 0xf0 a string, else an odd id
//!             (ODD_IDS); p: 0 no params, < 0x80 canned params (variant p - 1), else the next
//!             `p & 0x7f` bytes are the params text, raw
//! ```
//!
//! Sessions: an `initialize` answered with `Mcp-Session-Id` and a legacy `GET /mcp` stream's
//! `endpoint` event give session ids that later steps name. GET streams (and deferred POST
//! answers) stay open, at most 6, until the end of the run, where they are read.
//!
//! Checks: no panic anywhere (the hub's spawned tasks included: libFuzzer's panic hook aborts);
//! every handler finishes; no status is 500 or above 599; every `application/json` body and every
//! SSE `message` event is JSON; every SSE body ends on an event boundary and a POST's SSE answer
//! ends; a POST /mcp answered 200 carries a response for each request id it sent (and is not 202
//! when it sent requests); a successful `initialize` has a session id header (32 lowercase hex),
//! a failed one none; a request posted to `/messages` and accepted gets its response on the
//! legacy stream; the backend is told of each session's end exactly once, for every session it
//! saw, after `close_all`; and once the facade is gone no task of it is left running.
//!
//! `MCP_HTTP_TRACE=1` prints every step and the messages it got back (to check a seed or a crash:
//! `MCP_HTTP_TRACE=1 target/x86_64-unknown-linux-gnu/release/mcp_http -runs=1 FILE`).

#![no_main]

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, LazyLock, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::{Body, BodyDataStream},
    http::{HeaderValue, Method, Request as HttpRequest, StatusCode, header},
};
use futures_util::StreamExt;
use hub_http::{Backend, Context, Counts, Facade, HubStatus, SessionInfo, Settings};
use hub_protocol::{
    DecodeError, ErrorObject, Id, Message, Notification, ProtocolVersion, Request, Response,
    jsonrpc::{INVALID_PARAMS, METHOD_NOT_FOUND, decode, decode_batch},
};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use tokio::{runtime::Runtime, sync::broadcast, time::timeout};
use tower::ServiceExt;

const MAX_STEPS: usize = 8;
/// GET streams and deferred POST answers kept open at once.
const MAX_OPEN: usize = 6;
/// Bound on a handler, on a body, and on a POST answer's next event (virtual time).
const WAIT: Duration = Duration::from_secs(30);
/// How long a GET stream is read right after it opens (for the legacy `endpoint` event).
const PEEK: Duration = Duration::from_millis(1);
/// A kept stream is read at the end until it is idle this long.
const IDLE: Duration = Duration::from_secs(1);
/// Most events read from one SSE body.
const MAX_EVENTS: usize = 512;
/// Most bytes read from one body.
const MAX_BODY: usize = 4 << 20;
/// A session id no session has.
const UNKNOWN_ID: &str = "0123456789abcdef0123456789abcdef";

const HEADERS: [&str; 7] = [
    "host",
    "origin",
    "accept",
    "content-type",
    "mcp-session-id",
    "mcp-protocol-version",
    "last-event-id",
];
/// What a header whose mask bit is clear is.
const DEFAULTS: [Option<&str>; 7] =
    [Some("localhost:3000"), None, None, Some("application/json"), None, None, None];
const HOSTS: [&str; 6] =
    ["localhost:3000", "127.0.0.1", "[::1]:8080", "localhost", "evil.example:3000", "LocalHost:1"];
const ORIGINS: [&str; 6] = [
    "http://localhost:3000",
    "https://127.0.0.1",
    "http://[::1]:5173",
    "https://app.example",
    "https://evil.example",
    "null",
];
const ACCEPTS: [&str; 6] = [
    "application/json, text/event-stream",
    "application/json",
    "text/event-stream",
    "*/*",
    "text/html",
    "application/*;q=0.9, text/*",
];
const CONTENT_TYPES: [&str; 5] = [
    "application/json",
    "application/json; charset=utf-8",
    "text/plain",
    "APPLICATION/JSON ; x=y",
    "application/jsonx",
];
const VERSIONS: [&str; 6] =
    ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05", "2099-01-01", ""];
/// Ids of the hub's resumable SSE answers are `<stream>-<seq>`, streams numbered from 1 per facade.
const EVENT_IDS: [&str; 9] =
    ["0", "1", "x", "1-0", "1-1", "1-2", "2-0", "2-1", "1-99999999999999999999"];

const METHODS: [&str; 12] = [
    "initialize",
    "ping",
    "tools/list",
    "test/notify",
    "test/ask",
    "test/broadcast",
    "notifications/initialized",
    "notifications/cancelled",
    "tools/call",
    "roots/list",
    "",
    "x/unknown",
];
const ODD_IDS: [&str; 12] = [
    "null",
    "1.5",
    "-1",
    "9223372036854775807",
    "9223372036854775808",
    "{}",
    "true",
    "\"\"",
    "[1]",
    "-9223372036854775808",
    "1e3",
    "\"\\u0000\\\"\"",
];

/// `MCP_HTTP_TRACE=1` prints each step's request and answer to stderr (for checking seeds).
static TRACE: LazyLock<bool> = LazyLock::new(|| std::env::var_os("MCP_HTTP_TRACE").is_some());

/// One runtime for the process: current-thread, clock paused (it auto-advances when idle).
static RT: LazyLock<Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime")
});

fuzz_target!(|data: &[u8]| {
    RT.block_on(run(data));
});

// === the backend ===

/// What the backend saw of sessions, checked after the run.
#[derive(Debug, Default)]
struct Record {
    /// Every session id a request or notification came from.
    seen: HashSet<String>,
    /// How often `session_closed` was called for each id.
    closed: HashMap<String, u32>,
}

/// Answers `initialize` (negotiating the version; refuses a client named `refuse`), `ping`,
/// `tools/list`, `test/notify` (one notification through the context), `test/ask` (a
/// notification, then `roots/list` to the client with `params.timeoutMs`, at most 100 ms, default
/// 5), `test/broadcast` (a hub-wide `notifications/tools/list_changed`); anything else -32601.
struct FuzzBackend {
    tx: broadcast::Sender<Notification>,
    record: Arc<Mutex<Record>>,
}

impl FuzzBackend {
    fn saw(&self, session: &SessionInfo) {
        self.record.lock().unwrap().seen.insert(session.id.to_string());
    }
}

impl Backend for FuzzBackend {
    async fn request(&self, ctx: Context, request: Request) -> Response {
        self.saw(ctx.session());
        let params: Value = request.parse_params().unwrap_or(Value::Null);
        let id = request.id;
        match request.method.as_str() {
            "initialize" => {
                if params["clientInfo"]["name"] == "refuse" {
                    return Response::err(Some(id), ErrorObject::new(INVALID_PARAMS, "refused"));
                }
                let asked = params["protocolVersion"].as_str().unwrap_or_default();
                let result = json!({
                    "protocolVersion": ProtocolVersion::negotiate(asked).as_str(),
                    "capabilities": {"tools": {"listChanged": true}},
                    "serverInfo": {"name": "fuzz-backend", "version": "1.0.0"},
                });
                Response::ok_value(id, &result)
            }
            "ping" => Response::ok_value(id, &json!({})),
            "tools/list" => Response::ok_value(
                id,
                &json!({"tools": [{"name": "echo", "inputSchema": {"type": "object"}}]}),
            ),
            "test/notify" => {
                let delivered = ctx.notify(log_message());
                Response::ok_value(id, &json!({ "delivered": delivered }))
            }
            "test/ask" => {
                let ms = params["timeoutMs"].as_u64().unwrap_or(5).min(100);
                let notified = ctx.notify(log_message());
                let answer = ctx.request("roots/list", None, Duration::from_millis(ms)).await;
                let answer = answer.map(|a| a.get().to_owned()).map_err(|e| e.to_string());
                Response::ok_value(
                    id,
                    &json!({ "notified": notified, "answer": format!("{answer:?}") }),
                )
            }
            "test/broadcast" => {
                let changed = Notification::new("notifications/tools/list_changed", None);
                let receivers = self.tx.send(changed).unwrap_or(0);
                Response::ok_value(id, &json!({ "receivers": receivers }))
            }
            other => Response::err(
                Some(id),
                ErrorObject::new(METHOD_NOT_FOUND, format!("Method not found: {other}")),
            ),
        }
    }

    fn notification(&self, session: &SessionInfo, _notification: Notification) {
        self.saw(session);
    }

    fn subscribe(&self) -> broadcast::Receiver<Notification> {
        self.tx.subscribe()
    }

    fn session_closed(&self, session: &SessionInfo) {
        *self.record.lock().unwrap().closed.entry(session.id.to_string()).or_default() += 1;
    }

    fn status(&self) -> HubStatus {
        HubStatus { state: "ready", servers: Vec::new(), registered: Counts::default() }
    }
}

fn log_message() -> Notification {
    Notification::new("notifications/message", Some(&json!({"level": "info", "data": "fuzz"})))
}

// === the input ===

/// The fuzz input, read front to back; past the end every byte is 0.
struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn byte(&mut self) -> u8 {
        let (&b, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        b
    }

    fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        head
    }

    fn u16(&mut self) -> usize {
        usize::from(u16::from_le_bytes([self.byte(), self.byte()]))
    }
}

fn settings(flags: u8) -> Settings {
    let mut s = Settings::default();
    if flags & 1 != 0 {
        s.max_sessions = 2;
    }
    s.max_body_bytes = if flags & 2 != 0 { 512 } else { 64 << 10 };
    if flags & 4 != 0 {
        s.session_idle_timeout = Duration::from_millis(50);
    }
    if flags & 8 != 0 {
        s.allowed_hosts.clear();
    }
    if flags & 16 != 0 {
        s.allowed_origins = vec!["https://app.example".to_owned()];
    }
    if flags & 32 != 0 {
        s.resume_window = Duration::ZERO;
    }
    s
}

/// A message built from `m`, `id`, `p` (see the module docs).
fn built(input: &mut Input<'_>, out: &mut Vec<u8>) {
    let (m, id, p) = (input.byte(), input.byte(), input.byte());
    let method = METHODS[usize::from(m & 0x1f) % METHODS.len()];
    let id = match id {
        0..0x80 => id.to_string(),
        0x80..0xf0 => format!("\"s{}\"", id - 0x80),
        _ => ODD_IDS[usize::from(id - 0xf0) % ODD_IDS.len()].to_owned(),
    };
    let params: Option<Vec<u8>> = match p {
        0 => None,
        1..0x80 => Some(canned_params(method, usize::from(p - 1)).to_string().into_bytes()),
        _ => Some(input.take(usize::from(p & 0x7f)).to_vec()),
    };
    let method = serde_json::to_string(method).expect("a string serializes");
    out.extend_from_slice(br#"{"jsonrpc":"2.0""#);
    let kind = (m >> 5) & 3;
    match kind {
        0 | 1 => {
            if kind == 0 {
                out.extend_from_slice(format!(r#","id":{id}"#).as_bytes());
            }
            out.extend_from_slice(format!(r#","method":{method}"#).as_bytes());
            if let Some(params) = params {
                out.extend_from_slice(br#","params":"#);
                out.extend_from_slice(&params);
            }
        }
        2 => {
            out.extend_from_slice(format!(r#","id":{id},"result":"#).as_bytes());
            out.extend_from_slice(params.as_deref().unwrap_or(br#"{"roots":[]}"#));
        }
        _ => {
            out.extend_from_slice(
                format!(r#","id":{id},"error":{{"code":-32000,"message":"no""#).as_bytes(),
            );
            if let Some(params) = params {
                out.extend_from_slice(br#","data":"#);
                out.extend_from_slice(&params);
            }
            out.push(b'}');
        }
    }
    out.push(b'}');
}

fn canned_params(method: &str, v: usize) -> Value {
    match method {
        "initialize" => {
            let versions = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05", "1999-12-31"];
            let name = if (v / versions.len()) % 2 == 1 { "refuse" } else { "fuzz" };
            json!({
                "protocolVersion": versions[v % versions.len()],
                "capabilities": {"roots": {"listChanged": true}},
                "clientInfo": {"name": name, "version": "1"},
            })
        }
        "test/ask" => {
            let ms = [0, 1, 10, 100, 1000][v % 5];
            json!({ "timeoutMs": ms })
        }
        "notifications/cancelled" => json!({ "requestId": v, "reason": "fuzz" }),
        "tools/call" => json!({ "name": "echo", "arguments": { "n": v } }),
        _ => json!({ "_meta": { "progressToken": v } }),
    }
}

fn body(input: &mut Input<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    match input.byte() % 4 {
        0 => {}
        1 => {
            let n = input.u16();
            out.extend_from_slice(input.take(n));
        }
        2 => built(input, &mut out),
        _ => {
            let n = 1 + input.byte() % 4;
            out.push(b'[');
            for i in 0..n {
                if i > 0 {
                    out.push(b',');
                }
                built(input, &mut out);
            }
            out.push(b']');
        }
    }
    out
}

/// The ids of the requests in a POST body, as JSON, the way the hub decodes it; and whether it is
/// a single `initialize`.
fn request_ids(body: &[u8]) -> (bool, Vec<Value>) {
    let id = |id: &Id| serde_json::to_value(id).expect("an id serializes");
    match decode(body) {
        Ok(Message::Request(r)) => (r.method == "initialize", vec![id(&r.id)]),
        Err(DecodeError::Batch) => {
            let items = decode_batch(body).unwrap_or_default();
            let ids = items
                .iter()
                .filter_map(|item| match item {
                    Ok(Message::Request(r)) => Some(id(&r.id)),
                    _ => None,
                })
                .collect();
            (false, ids)
        }
        _ => (false, Vec::new()),
    }
}

// === reading answers ===

/// One server-sent event.
#[derive(Debug)]
struct Event {
    name: Option<String>,
    data: Option<String>,
}

/// An SSE body read event by event.
struct SseReader {
    body: BodyDataStream,
    buf: Vec<u8>,
    ended: bool,
}

impl SseReader {
    fn new(body: Body) -> Self {
        SseReader { body: body.into_data_stream(), buf: Vec::new(), ended: false }
    }

    /// Reads up to `max` events; stops early at the end of the body or after `wait` without data.
    async fn read(&mut self, max: usize, wait: Duration) -> Vec<Event> {
        let mut events = Vec::new();
        while events.len() < max {
            if let Some(event) = self.buffered() {
                events.push(event);
                continue;
            }
            if self.ended {
                assert!(self.buf.is_empty(), "SSE body ends inside an event: {:?}", self.text());
                break;
            }
            match timeout(wait, self.body.next()).await {
                Err(_) => break,
                Ok(None) => self.ended = true,
                Ok(Some(Ok(bytes))) => {
                    self.buf.extend_from_slice(&bytes);
                    assert!(self.buf.len() <= MAX_BODY, "an SSE event beyond {MAX_BODY} bytes");
                }
                Ok(Some(Err(e))) => panic!("SSE body failed: {e}"),
            }
        }
        events
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.buf).into_owned()
    }

    /// The next complete event in the buffer (a keep-alive comment is an event with neither
    /// name nor data).
    fn buffered(&mut self) -> Option<Event> {
        let end = self.buf.windows(2).position(|w| w == b"\n\n")?;
        let block: Vec<u8> = self.buf.drain(..end + 2).collect();
        let block = std::str::from_utf8(&block[..end]).expect("SSE text is UTF-8");
        let mut event = Event { name: None, data: None };
        for line in block.split('\n') {
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "event" => event.name = Some(value.to_owned()),
                "data" => match &mut event.data {
                    Some(data) => {
                        data.push('\n');
                        data.push_str(value);
                    }
                    None => event.data = Some(value.to_owned()),
                },
                _ => {}
            }
        }
        Some(event)
    }
}

/// What a list of events carried: the JSON-RPC messages of `message` events (which must be
/// JSON) and the session ids of `endpoint` events.
fn messages(events: &[Event], what: &str) -> (Vec<Value>, Vec<String>) {
    let mut messages = Vec::new();
    let mut endpoints = Vec::new();
    for event in events {
        let data = event.data.as_deref().unwrap_or_default();
        match event.name.as_deref() {
            None | Some("message") if !data.is_empty() => {
                let value = serde_json::from_str(data)
                    .unwrap_or_else(|e| panic!("{what}: SSE message is not JSON ({e}): {data:?}"));
                messages.push(value);
            }
            Some("endpoint") => {
                let id = data
                    .strip_prefix("/messages?sessionId=")
                    .unwrap_or_else(|| panic!("{what}: odd endpoint event {data:?}"));
                endpoints.push(id.to_owned());
            }
            _ => {}
        }
    }
    (messages, endpoints)
}

fn trace(what: &str, messages: &[Value]) {
    if *TRACE {
        for m in messages {
            let mut text = m.to_string();
            text.truncate(160);
            eprintln!("    {what}: {text}");
        }
    }
}

/// Every expected id has a response (an object with `result` or `error`) among `messages`
/// (batches flattened).
fn check_answered(what: &str, expected: &[Value], messages: &[Value]) {
    let answered: Vec<&Value> = messages
        .iter()
        .flat_map(|m| match m {
            Value::Array(items) => items.iter().collect(),
            m => vec![m],
        })
        .filter(|m| m.get("result").is_some() || m.get("error").is_some())
        .filter_map(|m| m.get("id"))
        .collect();
    for id in expected {
        assert!(answered.contains(&id), "{what}: no response with id {id} in {messages:?}");
    }
}

/// A successful `initialize` answer has a session id, a failed one none.
fn check_initialize(what: &str, messages: &[Value], session: Option<&str>) {
    let ok = messages.first().is_some_and(|m| m.get("result").is_some());
    match session {
        Some(id) => {
            assert!(ok, "{what}: a session id for a failed initialize: {messages:?}");
            let hex = id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
            assert!(hex, "{what}: session id {id:?} is not 32 lowercase hex digits");
        }
        None => assert!(!ok, "{what}: initialize succeeded without a session id: {messages:?}"),
    }
}

// === the run ===

enum Kept {
    /// A deferred SSE answer to a POST /mcp and the request ids it must answer.
    Answer { what: String, expected: Vec<Value> },
    /// A streamable session's GET stream.
    Stream,
    /// A legacy session's stream and the ids of the requests posted to it.
    Legacy { id: String, expected: Vec<Value> },
}

/// Whether a request is a POST, and where to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Post {
    No,
    /// `/mcp`.
    Mcp,
    /// `/messages`.
    Legacy,
    /// `/api/…`.
    Api,
}

/// What was sent, for checking the answer.
struct Sent {
    what: String,
    post: Post,
    path: String,
    /// Keep an SSE answer open until the end of the run.
    defer: bool,
    /// The body is one `initialize` request.
    initialize: bool,
    /// The ids of the requests in the body.
    expected: Vec<Value>,
}

struct Run {
    router: Router,
    /// Session ids from `initialize`, oldest first.
    streamable: Vec<String>,
    /// Session ids from legacy `endpoint` events, oldest first.
    legacy: Vec<String>,
    open: Vec<(Kept, SseReader)>,
}

async fn run(data: &[u8]) {
    let mut input = Input(data);
    let record = Arc::new(Mutex::new(Record::default()));
    let backend = FuzzBackend { tx: broadcast::channel(16).0, record: record.clone() };
    let facade = Facade::new(Arc::new(backend), settings(input.byte()));
    let mut run = Run {
        router: facade.router(),
        streamable: Vec::new(),
        legacy: Vec::new(),
        open: Vec::new(),
    };
    for n in 0..MAX_STEPS {
        if input.is_empty() {
            break;
        }
        run.step(n, &mut input).await;
    }
    run.finish().await;

    facade.close_all();
    assert_eq!(facade.session_count(), 0, "sessions left after close_all");
    drop(run);
    drop(facade);
    // Every timer of every task left fires; the fan-out task sees the backend gone.
    tokio::time::sleep(2 * WAIT).await;
    let alive = tokio::runtime::Handle::current().metrics().num_alive_tasks();
    assert_eq!(alive, 0, "tasks still running after the facade is gone");

    let record = record.lock().unwrap();
    for (id, n) in &record.closed {
        assert_eq!(*n, 1, "session {id} closed {n} times");
    }
    for id in &record.seen {
        assert!(record.closed.contains_key(id), "session {id} never closed");
    }
}

impl Run {
    fn newest(list: &[String], back: usize) -> &str {
        list.len().checked_sub(back + 1).map_or(UNKNOWN_ID, |i| &list[i])
    }

    /// The canned value `sel` of header `header` (`None`: no header).
    fn header_value(&self, header: usize, sel: u8) -> Option<String> {
        let sel = usize::from(sel);
        let pick = |list: &[&str]| Some(list[sel % list.len()].to_owned());
        // Host and Content-Type are sent by default: "none" is one of their choices.
        let pick_or_none =
            |list: &[&str]| list.get(sel % (list.len() + 1)).map(|v| (*v).to_owned());
        match header {
            0 => pick_or_none(&HOSTS),
            1 => pick(&ORIGINS),
            2 => pick(&ACCEPTS),
            3 => pick_or_none(&CONTENT_TYPES),
            4 => Some(match sel % 5 {
                0 => Self::newest(&self.streamable, 0).to_owned(),
                1 => Self::newest(&self.streamable, 1).to_owned(),
                2 => Self::newest(&self.legacy, 0).to_owned(),
                3 => UNKNOWN_ID.to_owned(),
                _ => String::new(),
            }),
            5 => pick(&VERSIONS),
            _ => pick(&EVENT_IDS),
        }
    }

    async fn step(&mut self, n: usize, input: &mut Input<'_>) {
        let op = input.byte();
        let method = match op & 3 {
            1 => Method::GET,
            2 => Method::DELETE,
            _ => Method::POST,
        };
        let route = (op >> 2) & 7;
        let defer = op & 0x20 != 0;
        let path = match route {
            0 | 1 => "/mcp".to_owned(),
            2 | 3 => match op >> 6 {
                0 => format!("/messages?sessionId={}", Self::newest(&self.legacy, 0)),
                1 => format!("/messages?sessionId={}", Self::newest(&self.streamable, 0)),
                2 => "/messages".to_owned(),
                _ => format!("/messages?sessionId={UNKNOWN_ID}&x=%zz"),
            },
            4 => "/api/health".to_owned(),
            5 => "/api/servers".to_owned(),
            6 => "/api/nope".to_owned(),
            _ => "/mcp?x=1".to_owned(),
        };
        let post = match route {
            _ if method != Method::POST => Post::No,
            0 | 1 | 7 => Post::Mcp,
            2 | 3 => Post::Legacy,
            _ => Post::Api,
        };

        let mask = input.byte();
        let mut request = HttpRequest::builder().method(method.clone()).uri(&path);
        for (i, name) in HEADERS.iter().enumerate() {
            let value = if mask & (1 << i) == 0 {
                DEFAULTS[i].map(|v| v.as_bytes().to_vec())
            } else {
                match input.byte() {
                    sel @ 0x80.. => Some(input.take(usize::from(sel & 0x7f)).to_vec()),
                    sel => self.header_value(i, sel).map(String::into_bytes),
                }
            };
            if let Some(Ok(value)) = value.map(|v| HeaderValue::from_bytes(&v)) {
                request = request.header(*name, value);
            }
        }
        let body = body(input);
        let (initialize, expected) =
            if method == Method::POST { request_ids(&body) } else { (false, Vec::new()) };
        let request = request.body(Body::from(body)).expect("a valid request");
        let sent = Sent {
            what: format!("step {n}: {method} {path}"),
            post,
            path,
            defer,
            initialize,
            expected,
        };
        self.check(sent, request).await;
    }

    /// Sends `request` and checks the answer.
    async fn check(&mut self, sent: Sent, request: HttpRequest<Body>) {
        let Sent { what, post, path, defer, initialize, expected } = sent;
        let response = timeout(WAIT, self.router.clone().oneshot(request))
            .await
            .unwrap_or_else(|_| panic!("{what}: the handler never finished"))
            .expect("the router is infallible");
        let status = response.status();
        assert!(
            status.as_u16() < 600 && status != StatusCode::INTERNAL_SERVER_ERROR,
            "{what}: status {status}"
        );
        let session = response
            .headers()
            .get("mcp-session-id")
            .map(|v| v.to_str().expect("a session id is visible ASCII").to_owned());
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        if *TRACE {
            eprintln!("{what} [{session:?}] -> {status} {content_type}");
        }
        if post == Post::Mcp && status == StatusCode::ACCEPTED {
            assert!(expected.is_empty(), "{what}: 202 to requests {expected:?}");
        }

        if content_type.starts_with("text/event-stream") {
            let mut reader = SseReader::new(response.into_body());
            if post != Post::No {
                if defer && !initialize && self.open.len() < MAX_OPEN {
                    self.open.push((Kept::Answer { what, expected }, reader));
                    return;
                }
                let events = reader.read(MAX_EVENTS, WAIT).await;
                assert!(reader.ended, "{what}: the SSE answer did not end");
                let (messages, _) = messages(&events, &what);
                trace(&what, &messages);
                if status == StatusCode::OK {
                    check_answered(&what, &expected, &messages);
                }
                if initialize && status == StatusCode::OK {
                    check_initialize(&what, &messages, session.as_deref());
                    self.streamable.extend(session);
                }
                return;
            }
            // A GET stream: a legacy one announces its session first.
            let events = reader.read(4, PEEK).await;
            let (_, endpoints) = messages(&events, &what);
            let kept = match endpoints.first() {
                Some(id) => {
                    self.legacy.push(id.clone());
                    Kept::Legacy { id: id.clone(), expected: Vec::new() }
                }
                None => Kept::Stream,
            };
            if self.open.len() < MAX_OPEN {
                self.open.push((kept, reader));
            }
            return;
        }

        let bytes = timeout(WAIT, axum::body::to_bytes(response.into_body(), MAX_BODY))
            .await
            .unwrap_or_else(|_| panic!("{what}: the body never ended"))
            .unwrap_or_else(|e| panic!("{what}: the body failed: {e}"));
        if !content_type.starts_with("application/json") {
            if post == Post::Legacy && status == StatusCode::ACCEPTED {
                let id = path.split_once("sessionId=").map_or("", |(_, id)| id);
                for (kept, _) in &mut self.open {
                    if let Kept::Legacy { id: kept_id, expected: kept_expected } = kept
                        && kept_id == id
                    {
                        kept_expected.extend(expected.iter().cloned());
                    }
                }
            }
            return;
        }
        let json: Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "{what}: a JSON body that is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&bytes)
            )
        });
        trace(&what, std::slice::from_ref(&json));
        if post == Post::Mcp && status == StatusCode::OK {
            let messages = [json];
            check_answered(&what, &expected, &messages);
            if initialize {
                check_initialize(&what, &messages, session.as_deref());
                self.streamable.extend(session);
            }
        }
    }

    /// Reads every deferred answer to its end, then every kept stream until it is idle.
    async fn finish(&mut self) {
        for (kept, reader) in &mut self.open {
            if let Kept::Answer { what, expected } = kept {
                let events = reader.read(MAX_EVENTS, WAIT).await;
                assert!(reader.ended, "{what} (deferred): the SSE answer did not end");
                let (messages, _) = messages(&events, what);
                trace(what, &messages);
                check_answered(what, expected, &messages);
            }
        }
        for (kept, reader) in &mut self.open {
            let events = reader.read(MAX_EVENTS, IDLE).await;
            match kept {
                Kept::Answer { .. } => {}
                Kept::Stream => {
                    trace("GET stream", &messages(&events, "GET stream").0);
                }
                Kept::Legacy { id, expected } => {
                    let what = format!("legacy stream {id}");
                    let (messages, _) = messages(&events, &what);
                    trace(&what, &messages);
                    if events.len() < MAX_EVENTS {
                        check_answered(&what, expected, &messages);
                    }
                }
            }
        }
    }
}
