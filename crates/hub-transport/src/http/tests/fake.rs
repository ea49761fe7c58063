//! A scriptable fake MCP server over HTTP on 127.0.0.1 (axum): every request is recorded, and a
//! test's handler decides each answer (a status, a JSON body, a canned SSE stream that closes or
//! hangs, or a live SSE stream fed through a channel).
//!
//! [`Fake::stop`] ends every stream the fake still holds open and waits for the server to finish,
//! so no task outlives the test.

use std::{
    convert::Infallible,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::{Body, Bytes},
    extract::Request,
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode},
    response::Response,
};
use futures_util::{StreamExt as _, future, stream};
use serde_json::Value;
use tokio::{
    net::TcpListener,
    sync::{mpsc, watch},
    task::JoinHandle,
    time::Instant,
};

/// A request the fake received.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) method: String,
    /// Path and query.
    pub(crate) path: String,
    pub(crate) headers: HeaderMap,
    /// The JSON body; `Null` when empty or not JSON.
    pub(crate) body: Value,
    pub(crate) at: Instant,
}

impl Seen {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The JSON-RPC method of the body, if it is a request or notification.
    pub(crate) fn rpc(&self) -> Option<&str> {
        self.body.get("method").and_then(Value::as_str)
    }

    /// The JSON-RPC id of the body.
    pub(crate) fn id(&self) -> Value {
        self.body.get("id").cloned().unwrap_or(Value::Null)
    }

    pub(crate) fn is(&self, method: &str, rpc: &str) -> bool {
        self.method == method && self.rpc() == Some(rpc)
    }
}

/// How an SSE answer ends after its chunks.
#[derive(Debug, Clone, Copy)]
pub(crate) enum End {
    /// The server closes the stream.
    Close,
    /// The stream stays open until the fake stops.
    Hang,
}

/// An answer.
pub(crate) enum Reply {
    /// A status with an empty body.
    Status(u16),
    /// A `text/plain` body.
    Text(u16, &'static str),
    /// A body with a content type of its own.
    Typed(u16, &'static str, String),
    /// A JSON body, with extra headers.
    Json(u16, Value, Vec<(&'static str, String)>),
    /// An SSE stream of raw chunks, with extra headers.
    Sse(Vec<String>, End, Vec<(&'static str, String)>),
    /// An SSE stream fed through a channel; ends when the sender is dropped.
    Live(mpsc::UnboundedReceiver<String>),
    /// Another answer, after a pause.
    After(Duration, Box<Reply>),
}

type Handler = Arc<dyn Fn(&Seen) -> Reply + Send + Sync>;

/// A running fake server.
pub(crate) struct Fake {
    /// `http://127.0.0.1:<port>`.
    pub(crate) base: String,
    log: Arc<Mutex<Vec<Seen>>>,
    stop: watch::Sender<bool>,
    server: Option<JoinHandle<()>>,
}

impl Fake {
    /// Starts a server whose every answer is `handler`'s.
    pub(crate) async fn start(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let base = format!("http://{}", listener.local_addr().expect("has an address"));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (stop, stopped) = watch::channel(false);
        let handler: Handler = Arc::new(handler);
        let app = Router::new().fallback({
            let (log, stopped) = (Arc::clone(&log), stopped.clone());
            move |request: Request| {
                handle(request, Arc::clone(&handler), Arc::clone(&log), stopped.clone())
            }
        });
        let mut shutdown = stopped;
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move { until_stopped_ref(&mut shutdown).await })
                .await
                .expect("serves");
        });
        Fake { base, log, stop, server: Some(server) }
    }

    /// `base` + `path`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Everything received so far.
    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.log.lock().expect("not poisoned").clone()
    }

    /// Waits (up to 5 s) for a request matching `matches`, and returns it.
    pub(crate) async fn wait_for(&self, matches: impl Fn(&Seen) -> bool) -> Seen {
        for _ in 0..500 {
            if let Some(seen) = self.seen().into_iter().find(&matches) {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no matching request arrived; seen: {:#?}", self.seen());
    }

    /// Ends every stream still open and waits (up to 5 s) for the server to finish.
    pub(crate) async fn stop(mut self) {
        self.stop.send_replace(true);
        let server = self.server.take().expect("running");
        tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .expect("the fake stops in time")
            .expect("the fake ran");
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        // A test that panicked before `stop`: end it all the same.
        self.stop.send_replace(true);
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

async fn handle(
    request: Request,
    handler: Handler,
    log: Arc<Mutex<Vec<Seen>>>,
    stopped: watch::Receiver<bool>,
) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
    let seen = Seen {
        method: parts.method.to_string(),
        path: parts.uri.path_and_query().map(ToString::to_string).unwrap_or_default(),
        headers: parts.headers,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        at: Instant::now(),
    };
    log.lock().expect("not poisoned").push(seen.clone());
    let mut reply = handler(&seen);
    while let Reply::After(pause, next) = reply {
        tokio::time::sleep(pause).await;
        reply = *next;
    }
    respond(reply, stopped)
}

fn respond(reply: Reply, stopped: watch::Receiver<bool>) -> Response {
    let (status, content_type, headers, body) = match reply {
        Reply::Status(status) => (status, None, Vec::new(), Body::empty()),
        Reply::Text(status, text) => (status, Some("text/plain"), Vec::new(), Body::from(text)),
        Reply::Typed(status, content_type, text) => {
            (status, Some(content_type), Vec::new(), Body::from(text))
        }
        Reply::Json(status, value, headers) => {
            (status, Some("application/json"), headers, Body::from(value.to_string()))
        }
        Reply::Sse(chunks, end, headers) => {
            let head =
                stream::iter(chunks.into_iter().map(|c| Ok::<_, Infallible>(Bytes::from(c))));
            let body = match end {
                End::Close => Body::from_stream(head),
                End::Hang => Body::from_stream(head.chain(
                    stream::once(until_stopped(stopped)).filter_map(|()| future::ready(None)),
                )),
            };
            (200, Some("text/event-stream"), headers, body)
        }
        Reply::Live(rx) => {
            let chunks = stream::unfold((rx, stopped), |(mut rx, mut stopped)| async move {
                tokio::select! {
                    chunk = rx.recv() => chunk.map(|c| (Ok::<_, Infallible>(Bytes::from(c)), (rx, stopped))),
                    () = until_stopped_ref(&mut stopped) => None,
                }
            });
            (200, Some("text/event-stream"), Vec::new(), Body::from_stream(chunks))
        }
        Reply::After(..) => unreachable!("unwrapped by `handle`"),
    };
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::from_u16(status).expect("a valid status");
    if let Some(content_type) = content_type {
        response.headers_mut().insert("content-type", HeaderValue::from_static(content_type));
    }
    for (name, value) in headers {
        response.headers_mut().insert(
            HeaderName::from_static(name),
            HeaderValue::from_str(&value).expect("a valid header value"),
        );
    }
    response
}

async fn until_stopped(mut stopped: watch::Receiver<bool>) {
    until_stopped_ref(&mut stopped).await;
}

async fn until_stopped_ref(stopped: &mut watch::Receiver<bool>) {
    // An error means the `Fake` (the sender) is gone: stopped as well.
    if stopped.wait_for(|stop| *stop).await.is_err() {}
}

/// One SSE event: optional `id`, optional `retry`, and `data` (a JSON value, or nothing).
pub(crate) fn event(id: Option<&str>, retry: Option<u64>, data: Option<&Value>) -> String {
    let mut event = String::new();
    if let Some(id) = id {
        event.push_str(&format!("id: {id}\n"));
    }
    if let Some(retry) = retry {
        event.push_str(&format!("retry: {retry}\n"));
    }
    match data {
        Some(data) => event.push_str(&format!("data: {data}\n")),
        None => event.push_str("data: \n"),
    }
    event.push('\n');
    event
}

/// A JSON-RPC result for `id`.
pub(crate) fn result(id: &Value, result: Value) -> Value {
    let mut message = serde_json::json!({ "jsonrpc": "2.0", "id": id });
    message["result"] = result;
    message
}

/// A JSON-RPC notification.
pub(crate) fn notification(method: &str, params: Value) -> Value {
    let mut message = serde_json::json!({ "jsonrpc": "2.0", "method": method });
    message["params"] = params;
    message
}
