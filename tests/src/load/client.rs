//! The three ways a session talks MCP: streamable HTTP and legacy SSE to a hub, and stdio
//! straight to one demo-server child (the baseline, shared by every session of a case).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use hub_transport::Peer;
use serde_json::{Value, json};
use tokio::{sync::oneshot, task::JoinHandle};

use super::stats::ErrorKind;

/// Per-request bound: past it the request counts as a `timeout` error.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const PROTOCOL: &str = "2025-11-25";
const ACCEPT: &str = "application/json, text/event-stream";

/// What one request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `tools/call` of the demo's `echo`.
    Call,
    /// `tools/list`.
    List,
}

/// Where sessions connect.
#[derive(Debug, Clone)]
pub enum Target {
    /// A hub's streamable-HTTP `/mcp`; the string is the base URL (`http://127.0.0.1:port`).
    Http(String),
    /// A hub's legacy SSE transport (`GET /mcp` + `POST /messages`).
    Sse(String),
    /// One demo-server child over stdio, multiplexed.
    Direct(Peer),
}

/// An open session.
pub enum Session {
    Http(HttpSession),
    Sse(SseSession),
    Direct(Peer),
}

impl Session {
    pub async fn open(target: &Target) -> Result<Session, ErrorKind> {
        match target {
            Target::Http(base) => HttpSession::open(base).await.map(Session::Http),
            Target::Sse(base) => SseSession::open(base).await.map(Session::Sse),
            Target::Direct(peer) => Ok(Session::Direct(peer.clone())),
        }
    }

    /// One request; `Ok` only for a successful result (`isError` false for a call).
    pub async fn request(&mut self, op: Op) -> Result<(), ErrorKind> {
        let (method, params, tool) = match op {
            Op::Call => {
                ("tools/call", json!({"name": "demo__echo", "arguments": {"text": "hello"}}), true)
            }
            Op::List => ("tools/list", json!({}), false),
        };
        let result = match self {
            Session::Http(s) => s.request(method, params).await?,
            Session::Sse(s) => s.request(method, params).await?,
            Session::Direct(peer) => direct(peer, method, params).await?,
        };
        if tool && result.get("isError").and_then(Value::as_bool) == Some(true) {
            return Err(ErrorKind::Tool);
        }
        Ok(())
    }

    pub async fn close(self) {
        match self {
            Session::Http(s) => s.close().await,
            Session::Sse(s) => s.close(),
            Session::Direct(_) => {}
        }
    }
}

/// The `result` of a JSON-RPC response, or the error kind.
fn result_of(v: Value) -> Result<Value, ErrorKind> {
    match v {
        Value::Object(mut m) => {
            if m.contains_key("error") {
                Err(ErrorKind::JsonRpc)
            } else {
                m.remove("result").ok_or(ErrorKind::Transport)
            }
        }
        _ => Err(ErrorKind::Transport),
    }
}

async fn direct(peer: &Peer, method: &str, mut params: Value) -> Result<Value, ErrorKind> {
    // The demo server's own names are not namespaced.
    if let Some(name) = params.get_mut("name") {
        *name = json!("echo");
    }
    let raw = serde_json::value::to_raw_value(&params).map_err(|_| ErrorKind::Transport)?;
    match peer.request(method, Some(raw), REQUEST_TIMEOUT).await {
        Ok(raw) => serde_json::from_str(raw.get()).map_err(|_| ErrorKind::Transport),
        Err(hub_transport::Error::Rpc(_)) => Err(ErrorKind::JsonRpc),
        Err(hub_transport::Error::Timeout { .. }) => Err(ErrorKind::Timeout),
        Err(_) => Err(ErrorKind::Transport),
    }
}

fn reqwest_kind(e: &reqwest::Error) -> ErrorKind {
    if e.is_timeout() { ErrorKind::Timeout } else { ErrorKind::Transport }
}

fn client() -> Result<reqwest::Client, ErrorKind> {
    // reqwest is built without a default crypto provider (the hub installs ring).
    hub_pool::install_crypto_provider();
    reqwest::Client::builder()
        .tcp_nodelay(true)
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(|_| ErrorKind::Transport)
}

/// A streamable-HTTP session: one client (one keep-alive connection) per session.
pub struct HttpSession {
    http: reqwest::Client,
    url: String,
    id: String,
    next: i64,
}

/// What the hub answered to a `tools/call`, for callers that classify failures by message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A result with `isError` absent or false.
    Ok,
    /// A result with `isError: true`: the text of its content.
    ToolError(String),
    /// A JSON-RPC error: its code and message.
    RpcError { code: i64, message: String },
}

impl Answer {
    /// Reads a JSON-RPC response to a `tools/call`; `None` when it is neither a result nor an
    /// error object.
    fn of(response: &Value) -> Option<Answer> {
        if let Some(e) = response.get("error") {
            return Some(Answer::RpcError {
                code: e.get("code").and_then(Value::as_i64).unwrap_or(0),
                message: e.get("message").and_then(Value::as_str).unwrap_or_default().to_owned(),
            });
        }
        let result = response.get("result")?;
        if result.get("isError").and_then(Value::as_bool) != Some(true) {
            return Some(Answer::Ok);
        }
        let text: Vec<&str> = result
            .get("content")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| c.get("text").and_then(Value::as_str))
            .collect();
        Some(Answer::ToolError(text.join("\n")))
    }
}

impl HttpSession {
    pub async fn open(base: &str) -> Result<HttpSession, ErrorKind> {
        let http = client()?;
        let url = format!("{base}/mcp");
        let resp = http
            .post(&url)
            .header("accept", ACCEPT)
            .json(&initialize(0))
            .send()
            .await
            .map_err(|e| reqwest_kind(&e))?;
        if !resp.status().is_success() {
            return Err(ErrorKind::Http);
        }
        let id = resp
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .ok_or(ErrorKind::Transport)?
            .to_owned();
        let mut s = HttpSession { http, url, id, next: 1 };
        let body = read_answer(resp, 0).await?;
        result_of(body)?;
        let r = s.post(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await?;
        if !r.status().is_success() {
            return Err(ErrorKind::Http);
        }
        s.next = 1;
        Ok(s)
    }

    async fn post(&self, body: &Value) -> Result<reqwest::Response, ErrorKind> {
        self.http
            .post(&self.url)
            .header("accept", ACCEPT)
            .header("mcp-session-id", &self.id)
            .header("mcp-protocol-version", PROTOCOL)
            .json(body)
            .send()
            .await
            .map_err(|e| reqwest_kind(&e))
    }

    async fn request(&mut self, method: &str, params: Value) -> Result<Value, ErrorKind> {
        self.next += 1;
        let id = self.next;
        let resp = self
            .post(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await?;
        if !resp.status().is_success() {
            return Err(ErrorKind::Http);
        }
        result_of(read_answer(resp, id).await?)
    }

    /// `tools/call` of `name`, keeping what a failure said. `Err` only when there was no
    /// JSON-RPC answer at all (`Timeout` past [`REQUEST_TIMEOUT`], `Http`, `Transport`).
    pub async fn call_tool(&mut self, name: &str, arguments: Value) -> Result<Answer, ErrorKind> {
        self.next += 1;
        let id = self.next;
        let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                          "params": {"name": name, "arguments": arguments}});
        let exchange = async {
            let resp = self.post(&body).await?;
            if !resp.status().is_success() {
                return Err(ErrorKind::Http);
            }
            read_answer(resp, id).await
        };
        // The client's own timeout covers each HTTP exchange; this one bounds the whole call.
        let response = tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| ErrorKind::Timeout)??;
        Answer::of(&response).ok_or(ErrorKind::Transport)
    }

    pub async fn close(self) {
        let _ = tokio::time::timeout(
            REQUEST_TIMEOUT,
            self.http
                .delete(&self.url)
                .header("mcp-session-id", &self.id)
                .header("mcp-protocol-version", PROTOCOL)
                .send(),
        )
        .await;
    }
}

/// The JSON-RPC response with `id` in a POST answer, plain JSON or an SSE stream.
async fn read_answer(resp: reqwest::Response, id: i64) -> Result<Value, ErrorKind> {
    let sse = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    let body = resp.bytes().await.map_err(|e| reqwest_kind(&e))?;
    if !sse {
        return serde_json::from_slice(&body).map_err(|_| ErrorKind::Transport);
    }
    let text = String::from_utf8_lossy(&body);
    let mut parser = SseParser::default();
    for event in parser.push(&text) {
        if let Ok(v) = serde_json::from_str::<Value>(&event.data)
            && v.get("id") == Some(&json!(id))
        {
            return Ok(v);
        }
    }
    Err(ErrorKind::Transport)
}

fn initialize(id: i64) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "initialize", "params": {
        "protocolVersion": PROTOCOL, "capabilities": {},
        "clientInfo": {"name": "hub-load", "version": "0"}}})
}

/// One server-sent event.
#[derive(Debug, Default)]
struct Event {
    event: String,
    data: String,
}

/// An incremental `text/event-stream` parser.
#[derive(Debug, Default)]
struct SseParser {
    buf: String,
}

impl SseParser {
    /// Adds text and returns every event it completes.
    fn push(&mut self, text: &str) -> Vec<Event> {
        self.buf.push_str(&text.replace("\r\n", "\n"));
        let mut events = Vec::new();
        while let Some(end) = self.buf.find("\n\n") {
            let block: String = self.buf.drain(..end + 2).collect();
            let mut ev = Event::default();
            let mut data = Vec::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    v.trim_start().clone_into(&mut ev.event);
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push(v.strip_prefix(' ').unwrap_or(v));
                }
            }
            if data.is_empty() {
                continue; // a comment or keep-alive
            }
            ev.data = data.join("\n");
            if ev.event.is_empty() {
                "message".clone_into(&mut ev.event);
            }
            events.push(ev);
        }
        events
    }
}

type Pending = Arc<Mutex<Option<HashMap<i64, oneshot::Sender<Value>>>>>;

/// A legacy HTTP+SSE session: a `GET /mcp` stream read by a task that hands each response to the
/// request waiting for its id, and `POST /messages?sessionId=…` for requests.
pub struct SseSession {
    http: reqwest::Client,
    post_url: String,
    pending: Pending,
    reader: JoinHandle<()>,
    next: i64,
}

impl SseSession {
    async fn open(base: &str) -> Result<SseSession, ErrorKind> {
        let http = client()?;
        // The stream lives for the whole session: no overall timeout on this one.
        let stream_client = reqwest::Client::builder()
            .tcp_nodelay(true)
            .connect_timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|_| ErrorKind::Transport)?;
        let resp = tokio::time::timeout(
            REQUEST_TIMEOUT,
            stream_client.get(format!("{base}/mcp")).header("accept", "text/event-stream").send(),
        )
        .await
        .map_err(|_| ErrorKind::Timeout)?
        .map_err(|e| reqwest_kind(&e))?;
        if !resp.status().is_success() {
            return Err(ErrorKind::Http);
        }
        let pending: Pending = Arc::new(Mutex::new(Some(HashMap::new())));
        let (endpoint_tx, endpoint_rx) = oneshot::channel();
        let reader = tokio::spawn(read_stream(resp, Arc::clone(&pending), endpoint_tx));
        let mut s = SseSession { http, post_url: String::new(), pending, reader, next: 0 };
        let endpoint = match tokio::time::timeout(REQUEST_TIMEOUT, endpoint_rx).await {
            Ok(Ok(e)) => e,
            Ok(Err(_)) => {
                s.close();
                return Err(ErrorKind::Transport);
            }
            Err(_) => {
                s.close();
                return Err(ErrorKind::Timeout);
            }
        };
        s.post_url =
            if endpoint.starts_with("http") { endpoint } else { format!("{base}{endpoint}") };
        let init = async {
            let params = initialize(0)["params"].clone();
            s.request("initialize", params).await?;
            s.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await
        };
        match init.await {
            Ok(()) => Ok(s),
            Err(e) => {
                s.close();
                Err(e)
            }
        }
    }

    async fn send(&self, body: &Value) -> Result<(), ErrorKind> {
        let r =
            self.http.post(&self.post_url).json(body).send().await.map_err(|e| reqwest_kind(&e))?;
        if !r.status().is_success() {
            return Err(ErrorKind::Http);
        }
        // Drain the (tiny) body so the connection goes back to the pool.
        let _ = r.bytes().await;
        Ok(())
    }

    async fn request(&mut self, method: &str, params: Value) -> Result<Value, ErrorKind> {
        self.next += 1;
        let id = self.next;
        let (tx, rx) = oneshot::channel();
        {
            let mut p = self.pending.lock().map_err(|_| ErrorKind::Transport)?;
            p.as_mut().ok_or(ErrorKind::Transport)?.insert(id, tx);
        }
        let exchange = async {
            self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
                .await?;
            rx.await.map_err(|_| ErrorKind::Transport)
        };
        let out = match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
            Ok(r) => r,
            Err(_) => Err(ErrorKind::Timeout),
        };
        if out.is_err()
            && let Ok(mut p) = self.pending.lock()
            && let Some(p) = p.as_mut()
        {
            p.remove(&id);
        }
        result_of(out?)
    }

    fn close(&self) {
        self.reader.abort();
    }
}

impl Drop for SseSession {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

async fn read_stream(
    mut resp: reqwest::Response,
    pending: Pending,
    endpoint: oneshot::Sender<String>,
) {
    let mut endpoint = Some(endpoint);
    let mut parser = SseParser::default();
    while let Ok(Some(chunk)) = resp.chunk().await {
        for ev in parser.push(&String::from_utf8_lossy(&chunk)) {
            if ev.event == "endpoint" {
                if let Some(tx) = endpoint.take() {
                    let _ = tx.send(ev.data.trim().to_owned());
                }
                continue;
            }
            let Ok(v) = serde_json::from_str::<Value>(&ev.data) else { continue };
            let Some(id) = v.get("id").and_then(Value::as_i64) else { continue };
            let tx = pending.lock().ok().and_then(|mut p| p.as_mut().and_then(|p| p.remove(&id)));
            if let Some(tx) = tx {
                let _ = tx.send(v);
            }
        }
    }
    // The stream is gone: fail every waiting request at once, and any later one.
    if let Ok(mut p) = pending.lock() {
        p.take();
    }
}
