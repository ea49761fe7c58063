//! Shared test helpers: a recording backend, request helpers for `oneshot`, and a raw HTTP/1.1
//! client over loopback TCP for the streaming tests.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::Body,
    http::{HeaderMap, Request as HttpRequest, StatusCode},
};
use hub_protocol::{
    ErrorObject, Notification, ProtocolVersion, Request, Response,
    jsonrpc::{INVALID_PARAMS, METHOD_NOT_FOUND},
};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::broadcast,
    time::timeout,
};
use tower::ServiceExt;

use crate::{
    Backend, Capabilities, Context, Counts, Facade, HubStatus, ServerInfo, SessionInfo, Settings,
};

/// Bound on every network wait.
pub(crate) const WAIT: Duration = Duration::from_secs(5);

/// A backend that records everything it sees.
///
/// Besides `initialize`, `ping` and `whoami` it answers methods that use the way back to the
/// client: `test/notify` (two `notifications/message` through the context, then a result saying
/// whether each was delivered), `test/ask` (a `roots/list` request to the client, answered with
/// the client's result or the error's text, with `params.timeoutMs`, default 30 s) and
/// `test/keep` (one notification, then it keeps the context in `kept` and answers).
#[derive(Debug)]
pub(crate) struct TestBackend {
    pub(crate) requests: Mutex<Vec<(SessionInfo, Request)>>,
    pub(crate) notifications: Mutex<Vec<(SessionInfo, Notification)>>,
    pub(crate) closed: Mutex<Vec<SessionInfo>>,
    pub(crate) tx: broadcast::Sender<Notification>,
    /// How each `test/ask` ended: the client's result, or the `ClientError`'s debug form.
    pub(crate) asked: Mutex<Vec<Result<Value, String>>>,
    /// The context of the last `test/keep`.
    pub(crate) kept: Mutex<Option<Context>>,
    /// What `/api/events` streams.
    pub(crate) events: hub_events::EventBus,
}

impl TestBackend {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(TestBackend {
            requests: Mutex::default(),
            notifications: Mutex::default(),
            closed: Mutex::default(),
            tx: broadcast::channel(16).0,
            events: hub_events::EventBus::new(),
            asked: Mutex::default(),
            kept: Mutex::default(),
        })
    }

    pub(crate) fn closed_ids(&self) -> Vec<String> {
        self.closed.lock().unwrap().iter().map(|s| s.id.to_string()).collect()
    }

    pub(crate) fn asked(&self) -> Vec<Result<Value, String>> {
        self.asked.lock().unwrap().clone()
    }
}

/// The `notifications/message` that `test/notify` sends (`n` = 1, 2) and `test/keep` sends.
pub(crate) fn log_message(n: i64) -> Notification {
    Notification::new("notifications/message", Some(&json!({"level": "info", "data": n})))
}

impl Backend for TestBackend {
    async fn request(&self, ctx: Context, request: Request) -> Response {
        let session = ctx.session();
        self.requests.lock().unwrap().push((session.clone(), request.clone()));
        let params: Value = request.parse_params().unwrap_or(Value::Null);
        match request.method.as_str() {
            "initialize" => {
                if params["clientInfo"]["name"] == "refuse" {
                    return Response::err(
                        Some(request.id),
                        ErrorObject::new(INVALID_PARAMS, "refused"),
                    );
                }
                let asked = params["protocolVersion"].as_str().unwrap_or_default();
                Response::ok_value(
                    request.id,
                    &json!({
                        "protocolVersion": ProtocolVersion::negotiate(asked).as_str(),
                        "capabilities": {"tools": {"listChanged": true}},
                        "serverInfo": {"name": "test-backend", "version": "1.0.0"},
                    }),
                )
            }
            "ping" => Response::ok_value(request.id, &json!({})),
            "whoami" => Response::ok_value(
                request.id,
                &json!({
                    "id": &*session.id,
                    "transport": format!("{:?}", session.transport),
                    "protocolVersion": session.protocol_version.as_str(),
                }),
            ),
            "test/sleep" => {
                let ms = params["ms"].as_u64().unwrap_or(0);
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Response::ok_value(request.id, &json!({ "slept": ms }))
            }
            "test/notify" => {
                let delivered = [ctx.notify(log_message(1)), ctx.notify(log_message(2))];
                Response::ok_value(request.id, &json!({ "delivered": delivered }))
            }
            "test/ask" => {
                let wait = Duration::from_millis(params["timeoutMs"].as_u64().unwrap_or(30_000));
                let outcome = ctx.request("roots/list", None, wait).await;
                let result = match &outcome {
                    Ok(answer) => {
                        json!({ "answer": serde_json::from_str::<Value>(answer.get()).unwrap() })
                    }
                    Err(e) => json!({ "error": e.to_string() }),
                };
                let outcome = outcome
                    .map(|answer| serde_json::from_str(answer.get()).unwrap())
                    .map_err(|e| format!("{e:?}"));
                self.asked.lock().unwrap().push(outcome);
                Response::ok_value(request.id, &result)
            }
            "test/keep" => {
                let delivered = ctx.notify(log_message(0));
                *self.kept.lock().unwrap() = Some(ctx.clone());
                Response::ok_value(request.id, &json!({ "delivered": delivered }))
            }
            other => Response::err(
                Some(request.id),
                ErrorObject::new(METHOD_NOT_FOUND, format!("Method not found: {other}")),
            ),
        }
    }

    fn notification(&self, session: &SessionInfo, notification: Notification) {
        self.notifications.lock().unwrap().push((session.clone(), notification));
    }

    fn subscribe(&self) -> broadcast::Receiver<Notification> {
        self.tx.subscribe()
    }

    fn session_closed(&self, session: &SessionInfo) {
        self.closed.lock().unwrap().push(session.clone());
    }

    fn events(&self) -> Option<&hub_events::EventBus> {
        Some(&self.events)
    }

    fn status(&self) -> HubStatus {
        HubStatus {
            state: "ready",
            servers: vec![ServerInfo {
                name: "time".to_owned(),
                display_name: "Time".to_owned(),
                description: String::new(),
                transport_type: "stdio".to_owned(),
                status: "connected".to_owned(),
                error: None,
                capabilities: Capabilities {
                    tools: vec![json!({"name": "get_time"})],
                    ..Capabilities::default()
                },
                uptime: 7,
                last_started: Some("2026-01-01T00:00:00.000Z".to_owned()),
                authorization_url: None,
                server_info: Some(json!({"name": "mcp-time", "version": "1"})),
                config_source: "/etc/hub.json".to_owned(),
            }],
            registered: Counts { tools: 1, resources: 2, resource_templates: 3, prompts: 4 },
        }
    }
}

/// A facade with default settings over a fresh test backend.
pub(crate) fn setup() -> (Facade<TestBackend>, Arc<TestBackend>, Router) {
    setup_with(Settings::default())
}

pub(crate) fn setup_with(settings: Settings) -> (Facade<TestBackend>, Arc<TestBackend>, Router) {
    let backend = TestBackend::new();
    let facade = Facade::new(backend.clone(), settings);
    let router = facade.router();
    (facade, backend, router)
}

/// What came back from a request.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// The headers a well-behaved streamable-HTTP client sends with a POST.
pub(crate) const POST_HEADERS: [(&str, &str); 3] = [
    ("host", "localhost:3000"),
    ("content-type", "application/json"),
    ("accept", "application/json, text/event-stream"),
];

/// Sends a request; `headers` replace the defaults of the same name, a `""` value removes one.
pub(crate) async fn send(
    router: &Router,
    method: &str,
    uri: &str,
    defaults: &[(&str, &str)],
    headers: &[(&str, &str)],
    body: impl Into<Body>,
) -> Reply {
    let mut builder = HttpRequest::builder().method(method).uri(uri);
    for (name, value) in defaults {
        if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            builder = builder.header(*name, *value);
        }
    }
    for (name, value) in headers {
        if !value.is_empty() {
            builder = builder.header(*name, *value);
        }
    }
    let response = timeout(WAIT, router.clone().oneshot(builder.body(body.into()).unwrap()))
        .await
        .expect("request timed out")
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = timeout(WAIT, axum::body::to_bytes(response.into_body(), usize::MAX))
        .await
        .expect("body timed out")
        .unwrap();
    Reply { status, headers, body: String::from_utf8(bytes.to_vec()).unwrap() }
}

/// `POST /mcp` with the default headers plus `headers`.
pub(crate) async fn post(router: &Router, body: &str, headers: &[(&str, &str)]) -> Reply {
    send(router, "POST", "/mcp", &POST_HEADERS, headers, body.to_owned()).await
}

pub(crate) fn initialize_body(version: &str) -> String {
    json!({
        "jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    })
    .to_string()
}

/// Initializes a streamable session asking for `version`; returns its id.
pub(crate) async fn initialize(router: &Router, version: &str) -> String {
    let reply = post(router, &initialize_body(version), &[]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.headers["mcp-session-id"].to_str().unwrap().to_owned()
}

/// Serves `router` on 127.0.0.1 on an ephemeral port.
pub(crate) async fn serve(router: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

/// A raw HTTP/1.1 connection whose bytes are read as text.
#[derive(Debug)]
pub(crate) struct Raw {
    pub(crate) stream: TcpStream,
    pub(crate) text: String,
}

impl Raw {
    /// Connects and sends a request with `Connection: close` (so the end of the response is EOF).
    pub(crate) async fn request(addr: SocketAddr, head: &str, body: &str) -> Raw {
        let mut stream = timeout(WAIT, TcpStream::connect(addr)).await.unwrap().unwrap();
        let request = format!(
            "{head}\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
            addr.port(),
            body.len()
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        Raw { stream, text: String::new() }
    }

    /// `POST /mcp` on session `id` with the given `Accept`, over a connection of its own.
    pub(crate) async fn post(addr: SocketAddr, id: &str, accept: &str, body: &str) -> Raw {
        let head = format!(
            "POST /mcp HTTP/1.1\r\nContent-Type: application/json\r\nAccept: {accept}\r\nMcp-Session-Id: {id}"
        );
        Raw::request(addr, &head, body).await
    }

    /// Reads until the text received so far contains `needle` (panics after [`WAIT`]).
    pub(crate) async fn read_until(&mut self, needle: &str) -> &str {
        let deadline = tokio::time::Instant::now() + WAIT;
        while !self.text.contains(needle) {
            let mut buf = [0u8; 4096];
            let n = tokio::time::timeout_at(deadline, self.stream.read(&mut buf))
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for {needle:?}; got {:?}", self.text))
                .unwrap();
            assert!(n > 0, "eof while waiting for {needle:?}; got {:?}", self.text);
            self.text.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        &self.text
    }

    /// Reads whatever arrives within `wait`; returns whether EOF was seen.
    pub(crate) async fn read_for(&mut self, wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let mut buf = [0u8; 4096];
            match tokio::time::timeout_at(deadline, self.stream.read(&mut buf)).await {
                Err(_) => return false,
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(n)) => self.text.push_str(&String::from_utf8_lossy(&buf[..n])),
            }
        }
    }

    /// Reads to EOF (panics after [`WAIT`]).
    pub(crate) async fn read_to_end(mut self) -> String {
        assert!(self.read_for(WAIT).await, "no eof; got {:?}", self.text);
        self.text
    }
}

/// The session id announced by a legacy stream's `endpoint` event.
pub(crate) fn endpoint_session(text: &str) -> String {
    let start = text.find("sessionId=").expect("endpoint event") + "sessionId=".len();
    text[start..].chars().take_while(char::is_ascii_hexdigit).collect()
}

/// Polls `check` until it holds (panics after [`WAIT`]).
pub(crate) async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The JSON-RPC messages in the `data:` lines of SSE text, in order (other data is skipped).
pub(crate) fn sse_messages(text: &str) -> Vec<Value> {
    text.lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .filter_map(|data| serde_json::from_str(data).ok())
        .collect()
}

/// The messages of a [`Raw`] response's SSE body whose `method` is `method`.
pub(crate) fn with_method(text: &str, method: &str) -> Vec<Value> {
    sse_messages(text).into_iter().filter(|m| m["method"] == method).collect()
}
