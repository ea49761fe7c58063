//! Remote upstreams over HTTP: streamable HTTP (MCP 2025-06-18 / 2025-11-25) and the legacy
//! HTTP+SSE transport (2024-11-05), behind the same [`Peer`] and [`Incoming`] as stdio.
//!
//! [`connect`] builds a [`Link`] and hands it to a [`Peer`]. The link decides per message how
//! it travels:
//!
//! - Requests are handed to a task and [`Peer::request`] waits on its pending entry as for
//!   stdio: the task POSTs the request and reads the answer (see `streamable`), or, for legacy
//!   SSE, POSTs it to the endpoint and lets the SSE stream deliver the response (see `legacy`).
//!   An HTTP failure completes the pending entry with the error, so a caller always gets an
//!   answer. A request cancelled by its caller (timeout, dropped future) has its task aborted
//!   before `notifications/cancelled` is POSTed.
//! - Notifications and responses are POSTed from the calling task, which gets the outcome:
//!   `notify` returns once the server accepted the message (202).
//! - Whatever arrives (a JSON body, SSE events on a POST's answer, on the resumed or the
//!   standalone GET stream, or on the legacy stream) goes through the same
//!   [`Router`](crate::peer::Router) as stdout does.
//!
//! With [`HttpTransport::Auto`], the first message (the client's `initialize`) is the probe of
//! the specification's backwards-compatibility procedure: POSTed as streamable HTTP; a 400, 404
//! or 405 answer switches the link to the legacy transport (GET the URL, wait for the `endpoint`
//! event, send the same message there). The outcome is remembered in the link; messages sent
//! meanwhile wait for it.
//!
//! Every task of a link ends when the peer closes. A driver task waits for shutdown (or the
//! last [`Peer`] dropped): it closes the peer, which ends the streams, then ends the session
//! with `DELETE`.
//!
//! Not built: OAuth (a 401/403 becomes [`Error::Unauthorized`], for the hub to report), the
//! 2026-07-28 stateless revision, and JSON-RPC batches in *outgoing* messages (the hub never
//! sends them; incoming batches are routed element by element).

mod legacy;
mod sse;
mod streamable;

use std::{
    collections::HashMap,
    fmt,
    sync::{
        Arc, Mutex, MutexGuard, OnceLock, PoisonError,
        atomic::{AtomicBool, AtomicI64, Ordering},
    },
    time::Duration,
};

use backon::{BackoffBuilder as _, ExponentialBackoff, ExponentialBuilder};
use bytes::Bytes;
use hub_protocol::{Id, Message, Response, mcp::method};
use reqwest::{
    StatusCode, Url,
    header::{self, HeaderMap, HeaderName, HeaderValue},
};
use tokio::{
    sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch},
    task::AbortHandle,
};
use tracing::{debug, info, trace, warn};

pub use self::sse::{SseCodec, SseEvent, SseFrame};
use crate::{
    error::{Error, Result},
    peer::{self, EXCERPT_BYTES, Incoming, Peer, Replies, Router, Shared},
};

/// The session header (`Mcp-Session-Id`; 2025-11-25 spells it `MCP-Session-Id`).
const SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");
/// The negotiated protocol version, sent on every request after initialization.
const PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");
/// Resumes an SSE stream after the last event seen.
const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");
/// What a POST accepts: a JSON body or an SSE stream.
const ACCEPT_POST: HeaderValue = HeaderValue::from_static("application/json, text/event-stream");
const EVENT_STREAM: &str = "text/event-stream";
const JSON: &str = "application/json";

/// The close reason when the server forgets the session.
pub(crate) const SESSION_EXPIRED: &str = "session expired (HTTP 404)";
/// The close reason when a server answers the session id with 400 and a message about it.
pub(crate) const SESSION_UNKNOWN: &str = "session no longer known to the server (HTTP 400)";

/// The shortest reconnection delay, whatever the server's `retry` says (`retry: 0` must not
/// turn a stream that keeps closing into a busy loop).
const MIN_RETRY: Duration = Duration::from_millis(10);

/// Where a remote server is and how to reach it.
#[derive(Clone, Default)]
pub struct HttpSpec {
    /// The MCP endpoint (streamable HTTP) or the SSE endpoint (legacy); `http` or `https`.
    pub url: String,
    /// Headers sent with every request (typically `Authorization`). The transport's own
    /// headers (`Accept`, `Content-Type`, the session and version headers) take precedence.
    pub headers: Vec<(String, String)>,
    /// Which transport to speak.
    pub transport: HttpTransport,
    /// A cap on this link's requests in flight, usually shared with other links to the same
    /// origin (`hub_pool::Pool::limit`). Each request takes a permit before it is sent and holds
    /// it until its answer has been read (a streamed answer: until the stream ends, resumptions
    /// included); so does each notification until the server accepted it. Not counted: the
    /// long-lived event streams (the standalone GET stream, the legacy SSE stream), which would
    /// hold a permit for the whole session, and the answers to the server's own requests, which
    /// the server may be waiting for to finish a request that holds a permit. `None`: no cap.
    pub limit: Option<Arc<Semaphore>>,
}

/// Shows header names only, and the URL without credentials or query (the values often hold
/// secrets).
impl fmt::Debug for HttpSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("HttpSpec")
            .field("url", &redacted(&self.url))
            .field("headers", &names)
            .field("transport", &self.transport)
            .field("limit", &self.limit.as_ref().map(|l| l.available_permits()))
            .finish()
    }
}

/// Which HTTP transport a remote server speaks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HttpTransport {
    /// Streamable HTTP, falling back to legacy SSE when the first POST is answered 400, 404 or
    /// 405 (the specification's backwards-compatibility procedure).
    #[default]
    Auto,
    /// Streamable HTTP only.
    StreamableHttp,
    /// Legacy HTTP+SSE only.
    Sse,
}

/// Limits and timings of an HTTP transport. Connection-level settings (connect timeout,
/// keep-alive, pooling) belong to the `reqwest::Client` passed to [`connect`].
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// How long connecting may take at the MCP level: the wait for the answer's headers to the
    /// `Auto` probe, the legacy transport's wait for its `endpoint` event, and the read of an
    /// error body's excerpt. Default 10 s.
    pub connect_timeout: Duration,
    /// How long the server may take to accept a notification or a response (its answer to the
    /// POST). Default 30 s.
    pub send_timeout: Duration,
    /// How long shutdown waits for the answer to the session's `DELETE`. Default 2 s.
    pub shutdown_timeout: Duration,
    /// Largest accepted SSE event (its lines, plus one byte per line end); larger ones are
    /// dropped with a warning. Default 16 MiB.
    pub max_event_bytes: usize,
    /// Largest accepted JSON response body; a larger one fails its request. Default 16 MiB.
    pub max_body_bytes: usize,
    /// How many times in a row a request's response stream is resumed (GET with
    /// `Last-Event-ID`) without receiving anything before the request fails. Default 5.
    pub resume_attempts: usize,
    /// The delay before reconnecting an SSE stream when the server gave no `retry`. Default 1 s.
    pub default_retry: Duration,
    /// The longest delay between reconnection attempts (they double from the `retry` delay).
    /// Default 30 s.
    pub max_retry: Duration,
    /// Capacity of the [`Incoming`] channel. Default 1024.
    pub incoming_capacity: usize,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            connect_timeout: Duration::from_secs(10),
            send_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(2),
            max_event_bytes: 16 * 1024 * 1024,
            max_body_bytes: 16 * 1024 * 1024,
            resume_attempts: 5,
            default_retry: Duration::from_secs(1),
            max_retry: Duration::from_secs(30),
            incoming_capacity: 1024,
        }
    }
}

/// Connects to a remote MCP server over HTTP.
///
/// `name` identifies the server in logs; `client` is the shared HTTP client (`hub_pool`
/// builds it; clones share its connection pool). Must be called within a tokio runtime.
///
/// - [`HttpTransport::StreamableHttp`] and [`HttpTransport::Auto`] do no I/O here: the first
///   message (the client's `initialize`) is the first POST.
/// - [`HttpTransport::Sse`] opens the SSE stream now and waits (up to
///   [`HttpSettings::connect_timeout`]) for its `endpoint` event.
///
/// Fails with [`Error::InvalidSpec`] for a URL that is not `http`/`https` or an invalid
/// header, and for legacy SSE with whatever kept the stream from opening.
pub async fn connect(
    name: &str,
    spec: &HttpSpec,
    settings: &HttpSettings,
    client: reqwest::Client,
) -> Result<(Peer, Incoming)> {
    let url = parse_url(&spec.url)?;
    let headers = static_headers(&spec.headers)?;
    let shared = Arc::new(Shared::new(name));
    let (incoming_tx, incoming_rx) = mpsc::channel(settings.incoming_capacity.max(1));
    let link = Arc::new(Link {
        shared: Arc::clone(&shared),
        client,
        origin: url.origin().ascii_serialization(),
        url,
        headers,
        limit: spec.limit.clone(),
        settings: settings.clone(),
        incoming: Mutex::new(Some(incoming_tx)),
        mode: OnceLock::new(),
        negotiating: tokio::sync::Mutex::new(()),
        session: Mutex::new(None),
        protocol_version: Mutex::new(None),
        initialize_id: AtomicI64::new(0),
        listening: AtomicBool::new(false),
        inflight: Mutex::new(HashMap::new()),
    });
    match spec.transport {
        HttpTransport::StreamableHttp => link.set_mode(Mode::Streamable),
        HttpTransport::Sse => legacy::open(&link).await?,
        HttpTransport::Auto => {}
    }
    info!(server = %name, origin = %link.origin, transport = link.transport(), "remote upstream set up");
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let (done_tx, done_rx) = watch::channel(false);
    tokio::spawn(drive(Arc::clone(&link), shutdown_rx, done_tx));
    Ok((Peer::new(shared, peer::Link::Http(link), shutdown_tx, done_rx), incoming_rx))
}

/// `url` without credentials, and with its query (if any) shown as `?…`.
fn redacted(url: &str) -> String {
    let Ok(url) = Url::parse(url) else { return "<not a URL>".to_owned() };
    let query = if url.query().is_some() { "?…" } else { "" };
    format!("{}{}{query}", url.origin().ascii_serialization(), url.path())
}

fn parse_url(text: &str) -> Result<Url> {
    let url =
        Url::parse(text).map_err(|e| Error::InvalidSpec { reason: format!("invalid URL: {e}") })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::InvalidSpec {
            reason: format!("URL scheme `{}` is not http or https", url.scheme()),
        });
    }
    Ok(url)
}

/// The spec's headers, values marked sensitive (so they never show in `Debug`).
fn static_headers(headers: &[(String, String)]) -> Result<HeaderMap> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| Error::InvalidSpec { reason: format!("invalid header name `{name}`") })?;
        let mut value = HeaderValue::from_str(value).map_err(|_| Error::InvalidSpec {
            reason: format!("invalid value for header `{name}`"),
        })?;
        value.set_sensitive(true);
        map.append(header, value);
    }
    Ok(map)
}

/// What a link speaks, once known.
#[derive(Debug)]
enum Mode {
    Streamable,
    /// Legacy HTTP+SSE; messages are POSTed to this endpoint.
    Legacy(Url),
}

/// How a message went out.
enum Delivered {
    /// POSTed as streamable HTTP; the server's answer (any status) to read.
    Streamable(Answer),
    /// POSTed to the legacy endpoint and accepted; anything in reply comes on the SSE stream.
    Legacy,
}

/// A server's answer to a streamable-HTTP request.
pub(crate) struct Answer {
    response: reqwest::Response,
    /// Whether the request carried the session id (a 404 then means the session expired).
    with_session: bool,
}

/// The sending side of a remote [`Peer`], shared with the link's tasks.
pub(crate) struct Link {
    shared: Arc<Shared>,
    client: reqwest::Client,
    url: Url,
    /// The URL's origin, for logs (the full URL may hold a secret).
    origin: String,
    /// The spec's headers, sent with every request.
    headers: HeaderMap,
    /// The cap on requests in flight ([`HttpSpec::limit`]).
    limit: Option<Arc<Semaphore>>,
    settings: HttpSettings,
    /// Cloned by each task that routes messages; taken when the peer closes, so that
    /// [`Incoming`] ends once those tasks have.
    incoming: Mutex<Option<mpsc::Sender<Message>>>,
    mode: OnceLock<Mode>,
    /// Held while the `Auto` probe decides the mode.
    negotiating: tokio::sync::Mutex<()>,
    /// The `Mcp-Session-Id` the server gave with its `initialize` result.
    session: Mutex<Option<HeaderValue>>,
    /// The `protocolVersion` of the `initialize` result.
    protocol_version: Mutex<Option<HeaderValue>>,
    /// The id of the `initialize` request sent through this link (ids start at 1; 0: none).
    initialize_id: AtomicI64,
    /// Whether the standalone GET stream was started.
    listening: AtomicBool,
    /// Request tasks by request id, aborted when their request is cancelled.
    inflight: Mutex<HashMap<i64, AbortHandle>>,
}

/// Locks a mutex whose data stays consistent even if a holder panicked (every operation on
/// it is one call).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Link {
    pub(crate) fn transport(&self) -> &'static str {
        match self.mode.get() {
            Some(Mode::Streamable) => "streamable-http",
            Some(Mode::Legacy(_)) => "sse",
            None => "auto",
        }
    }

    fn name(&self) -> &str {
        &self.shared.name
    }

    /// Whether `id` is the `initialize` request sent through this link.
    fn is_initialize(&self, id: i64) -> bool {
        id == self.initialize_id.load(Ordering::Relaxed)
    }

    fn set_mode(&self, mode: Mode) {
        debug!(server = %self.name(), ?mode, "transport decided");
        if self.mode.set(mode).is_err() {
            debug!(server = %self.name(), "transport was already decided");
        }
    }

    /// Sends one message (see the module docs for how each kind travels).
    pub(crate) async fn send(self: &Arc<Self>, message: &Message) -> Result<()> {
        let body = Bytes::from(message.to_vec());
        match message {
            Message::Request(request) => {
                let Id::Number(id) = request.id else {
                    return Err(Error::Protocol {
                        reason: "requests through a peer have numeric ids".to_owned(),
                    });
                };
                if request.method == method::INITIALIZE {
                    self.initialize_id.store(id, Ordering::Relaxed);
                }
                // Registered under the lock, so the task cannot remove its entry before it is in.
                let mut inflight = lock(&self.inflight);
                let task = self.spawn(Arc::clone(self).request(id, body));
                inflight.insert(id, task);
                Ok(())
            }
            Message::Notification(_) | Message::Response(_) => {
                let sent = async {
                    // The server may be waiting for a response to finish a request that holds
                    // a permit: responses never wait for one.
                    let _permit = match message {
                        Message::Notification(_) => self.permit().await,
                        _ => None,
                    };
                    if let Delivered::Streamable(answer) = self.deliver(body).await?
                        && !answer.response.status().is_success()
                    {
                        return Err(self.status_error(answer).await);
                    }
                    Ok(())
                };
                let timeout = self.settings.send_timeout;
                tokio::select! {
                    biased;
                    () = self.shared.wait_closed() => {
                        return Err(self.shared.closed_error("connection closed"));
                    }
                    sent = tokio::time::timeout(timeout, sent) => match sent {
                        Ok(sent) => sent?,
                        Err(_) => {
                            return Err(Error::Timeout {
                                method: message.method().unwrap_or("a response").to_owned(),
                                after: timeout,
                            });
                        }
                    },
                }
                if message.method() == Some(method::INITIALIZED)
                    && matches!(self.mode.get(), Some(Mode::Streamable))
                    && !self.listening.swap(true, Ordering::Relaxed)
                {
                    self.spawn(streamable::listen(Arc::clone(self)));
                }
                Ok(())
            }
        }
    }

    /// The task behind one request: delivers it, and for streamable HTTP reads the answer
    /// until the response has been routed. Any failure completes the request with the error.
    async fn request(self: Arc<Self>, id: i64, body: Bytes) {
        let _inflight = Inflight { link: &self, id };
        // Held until the answer has been routed; waiting for it counts against the caller's
        // timeout, which aborts this task.
        let _permit = self.permit().await;
        let outcome = match self.deliver(body).await {
            Ok(Delivered::Streamable(answer)) => streamable::answer(&self, id, answer).await,
            Ok(Delivered::Legacy) => Ok(()),
            Err(error) => Err(error),
        };
        if let Err(error) = outcome {
            debug!(server = %self.name(), id, %error, "request failed");
            self.shared.complete(id, Err(error));
        }
    }

    /// A permit of the link's cap, when it has one (waits for a free one).
    async fn permit(&self) -> Option<OwnedSemaphorePermit> {
        let limit = Arc::clone(self.limit.as_ref()?);
        if limit.available_permits() == 0 {
            trace!(server = %self.name(), "waiting for a free slot of the connection limit");
        }
        // Nobody closes the semaphore; if somebody did, the cap would simply be gone.
        limit.acquire_owned().await.ok()
    }

    /// Stops reading the answer to request `id` and tells the server to stop working on it.
    pub(crate) fn cancel(self: &Arc<Self>, id: i64, notification: Message) {
        if let Some(task) = lock(&self.inflight).remove(&id) {
            task.abort();
        }
        self.send_detached(notification);
    }

    /// Sends a message from a task of its own (cancellations, the router's own answers).
    fn send_detached(self: &Arc<Self>, message: Message) {
        let link = Arc::clone(self);
        self.spawn(async move {
            if let Err(error) = link.send(&message).await {
                debug!(server = %link.name(), %error, "could not send a message of the transport's own");
            }
        });
    }

    /// Runs `task` until it ends or the peer closes.
    fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) -> AbortHandle {
        let shared = Arc::clone(&self.shared);
        tokio::spawn(async move {
            tokio::select! {
                biased;
                () = shared.wait_closed() => {}
                () = task => {}
            }
        })
        .abort_handle()
    }

    /// A router for messages from this link; `None` once the peer is closed.
    fn router(self: &Arc<Self>) -> Option<Router<'_, &Arc<Link>>> {
        let incoming = lock(&self.incoming).clone()?;
        Some(Router::new(&self.shared, incoming, self, "HTTP"))
    }

    /// POSTs `body` the way the link speaks, deciding that first if it is not known yet.
    async fn deliver(self: &Arc<Self>, body: Bytes) -> Result<Delivered> {
        if self.mode.get().is_none() {
            let _negotiating = self.negotiating.lock().await;
            if self.mode.get().is_none() {
                return self.probe(body).await;
            }
        }
        match self.mode.get() {
            Some(Mode::Streamable) => Ok(Delivered::Streamable(self.post(body).await?)),
            Some(Mode::Legacy(endpoint)) => {
                legacy::post(self, endpoint, body).await?;
                Ok(Delivered::Legacy)
            }
            None => Err(Error::Protocol { reason: "the transport was not decided".to_owned() }),
        }
    }

    /// The `Auto` probe: POST as streamable HTTP; 400, 404 or 405 means a legacy server.
    async fn probe(self: &Arc<Self>, body: Bytes) -> Result<Delivered> {
        let within = self.settings.connect_timeout;
        let answer =
            tokio::time::timeout(within, self.post(body.clone())).await.map_err(|_| {
                Error::Protocol {
                    reason: format!("no answer to the streamable HTTP POST within {within:?}"),
                }
            })??;
        let status = answer.response.status();
        if matches!(
            status,
            StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
        ) {
            info!(
                server = %self.name(), %status,
                "no streamable HTTP here; falling back to the legacy HTTP+SSE transport"
            );
            drop(answer);
            legacy::open(self).await?;
            let Some(Mode::Legacy(endpoint)) = self.mode.get() else {
                return Err(Error::Protocol { reason: "legacy transport not set up".to_owned() });
            };
            legacy::post(self, endpoint, body).await?;
            return Ok(Delivered::Legacy);
        }
        if status.is_success() {
            self.set_mode(Mode::Streamable);
        }
        Ok(Delivered::Streamable(answer))
    }

    /// The headers of a streamable-HTTP request: the spec's, then the transport's. Returns
    /// whether the session id is among them.
    fn headers(&self, accept: HeaderValue, json_body: bool) -> (HeaderMap, bool) {
        let mut headers = self.headers.clone();
        headers.insert(header::ACCEPT, accept);
        if json_body {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
        }
        let session = lock(&self.session).clone();
        let with_session = session.is_some();
        if let Some(session) = session {
            headers.insert(SESSION_ID, session);
        }
        if let Some(version) = lock(&self.protocol_version).clone() {
            headers.insert(PROTOCOL_VERSION, version);
        }
        (headers, with_session)
    }

    /// POSTs one message to the MCP endpoint. Errors only when no answer arrives.
    async fn post(&self, body: Bytes) -> Result<Answer> {
        let (headers, with_session) = self.headers(ACCEPT_POST, true);
        trace!(server = %self.name(), bytes = body.len(), "POST");
        let response = self
            .client
            .post(self.url.clone())
            .headers(headers)
            .body(body)
            .send()
            .await
            .map_err(request_error)?;
        Ok(Answer { response, with_session })
    }

    /// Opens an SSE stream on the MCP endpoint with GET, resuming after `last_event_id`.
    async fn get(&self, last_event_id: Option<&str>) -> Result<Answer> {
        let (mut headers, with_session) =
            self.headers(HeaderValue::from_static(EVENT_STREAM), false);
        if let Some(id) = last_event_id.and_then(|id| HeaderValue::from_str(id).ok()) {
            headers.insert(LAST_EVENT_ID, id);
        }
        trace!(server = %self.name(), ?last_event_id, "GET");
        let response = self
            .client
            .get(self.url.clone())
            .headers(headers)
            .send()
            .await
            .map_err(request_error)?;
        Ok(Answer { response, with_session })
    }

    /// The error for a non-2xx answer. A 404 to a request that carried the session id means
    /// the server ended the session: the peer is closed, so that the hub reconnects. The
    /// TypeScript SDK's servers (server-everything among them) answer an unknown session with
    /// 400 "No valid session ID" instead; a 400 to a request with a session whose body speaks of
    /// the session is taken the same way, or the hub would never recover from an upstream
    /// restart.
    async fn status_error(&self, answer: Answer) -> Error {
        let status = answer.response.status();
        if status == StatusCode::NOT_FOUND && answer.with_session {
            return self.session_gone(SESSION_EXPIRED);
        }
        if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
            return Error::Unauthorized { status: status.as_u16() };
        }
        let body = body_excerpt(answer.response, self.settings.connect_timeout).await;
        if status == StatusCode::BAD_REQUEST
            && answer.with_session
            && body.to_ascii_lowercase().contains("session")
        {
            return self.session_gone(SESSION_UNKNOWN);
        }
        Error::Http { status: status.as_u16(), body }
    }

    /// Closes the peer because the server no longer knows the session.
    fn session_gone(&self, reason: &str) -> Error {
        warn!(server = %self.name(), reason, "the server ended the session");
        self.shared.close(reason.to_owned());
        self.shared.closed_error(reason)
    }

    /// Remembers the session id the server gave with its `initialize` result.
    fn capture_session(&self, headers: &HeaderMap) {
        let Some(session) = headers.get(SESSION_ID) else { return };
        if session.is_empty() || !session.as_bytes().iter().all(|b| (0x21..=0x7E).contains(b)) {
            warn!(server = %self.name(), "ignoring a session id that is not visible ASCII");
            return;
        }
        debug!(server = %self.name(), "session established");
        *lock(&self.session) = Some(session.clone());
    }

    /// Reads the negotiated protocol version off the `initialize` response, before the
    /// requester sees it (so the `notifications/initialized` that follows carries it).
    fn capture_protocol_version(&self, message: &Message) {
        let Message::Response(Response { id: Some(Id::Number(id)), outcome: Ok(result) }) = message
        else {
            return;
        };
        if !self.is_initialize(*id) {
            return;
        }
        let version = serde_json::from_str::<serde_json::Value>(result.get())
            .ok()
            .and_then(|result| result.get("protocolVersion")?.as_str().map(str::to_owned))
            .and_then(|version| HeaderValue::from_str(&version).ok());
        match version {
            Some(version) => *lock(&self.protocol_version) = Some(version),
            None => {
                debug!(server = %self.name(), "initialize result without a usable protocolVersion")
            }
        }
    }

    /// Reconnection delays: the server's `retry` (or the default) first, then doubling up to
    /// [`HttpSettings::max_retry`]; `attempts` of them, or endless.
    fn backoff(&self, retry: Option<Duration>, attempts: Option<usize>) -> ExponentialBackoff {
        let first = retry.unwrap_or(self.settings.default_retry).max(MIN_RETRY);
        let builder = ExponentialBuilder::new()
            .with_min_delay(first)
            .with_max_delay(self.settings.max_retry.max(first))
            .with_factor(2.0);
        match attempts {
            Some(attempts) => builder.with_max_times(attempts),
            None => builder.without_max_times(),
        }
        .build()
    }

    /// Ends the session with `DELETE`, if the server gave one (405: the server does not let
    /// clients end sessions, which is fine).
    async fn end_session(&self) {
        if !matches!(self.mode.get(), Some(Mode::Streamable)) {
            return;
        }
        let (headers, with_session) = self.headers(HeaderValue::from_static("*/*"), false);
        if !with_session {
            return;
        }
        let delete = self.client.delete(self.url.clone()).headers(headers).send();
        match tokio::time::timeout(self.settings.shutdown_timeout, delete).await {
            Ok(Ok(response)) => {
                debug!(server = %self.name(), status = %response.status(), "session ended");
            }
            Ok(Err(error)) => {
                debug!(server = %self.name(), error = %error.without_url(), "cannot end the session");
            }
            Err(_) => debug!(server = %self.name(), "no answer to DELETE; session left to expire"),
        }
    }
}

/// The link answers pings and refusals with a POST of their own, and reads the negotiated
/// protocol version off the `initialize` response.
impl Replies for &Arc<Link> {
    fn reply(&self, _shared: &Shared, response: Response) {
        self.send_detached(Message::Response(response));
    }

    fn observe(&self, message: &Message) {
        self.capture_protocol_version(message);
    }
}

/// Removes a request task's entry from [`Link::inflight`] when the task ends, however it ends.
struct Inflight<'a> {
    link: &'a Link,
    id: i64,
}

impl Drop for Inflight<'_> {
    fn drop(&mut self) {
        lock(&self.link.inflight).remove(&self.id);
    }
}

/// Waits for shutdown (or for every [`Peer`] to be dropped, or for the link to close on its
/// own), then closes the peer, ends the session, and reports done.
async fn drive(link: Arc<Link>, mut shutdown: watch::Receiver<bool>, done: watch::Sender<bool>) {
    let requested = tokio::select! {
        biased;
        () = link.shared.wait_closed() => false,
        () = peer::shutdown_requested(&mut shutdown) => true,
    };
    if requested {
        link.shared.close("shut down".to_owned());
    }
    // Incoming ends once the tasks (which all end on close) drop their clones.
    lock(&link.incoming).take();
    if requested {
        link.end_session().await;
    } else {
        peer::shutdown_requested(&mut shutdown).await;
    }
    done.send_replace(true);
    debug!(server = %link.name(), "remote upstream shut down");
}

/// reqwest's error without the URL, which may hold a secret.
fn request_error(error: reqwest::Error) -> Error {
    Error::Request { source: error.without_url() }
}

/// The media type of a response (`text/event-stream`), lowercase, without parameters.
fn media_type(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(|value| value.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// The whole body, failing if it is over `max` bytes.
async fn read_body(mut response: reqwest::Response, max: usize) -> Result<Vec<u8>> {
    let too_large = || Error::Protocol { reason: format!("response body over {max} bytes") };
    if response.content_length().is_some_and(|len| len > max as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(request_error)? {
        if body.len() + chunk.len() > max {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The first bytes of an error body, for the error message; whatever arrives `within`.
async fn body_excerpt(mut response: reqwest::Response, within: Duration) -> String {
    let mut bytes = Vec::new();
    let read = async {
        while bytes.len() <= EXCERPT_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
                Ok(None) | Err(_) => break,
            }
        }
    };
    if tokio::time::timeout(within, read).await.is_err() {
        trace!("error body still arriving; using what came");
    }
    peer::excerpt(bytes.trim_ascii())
}

#[cfg(test)]
mod tests;
