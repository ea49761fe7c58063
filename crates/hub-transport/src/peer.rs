//! The handle to a running upstream ([`Peer`]), the message routing every transport shares
//! ([`Router`]), and the stdio link's tasks: a reader that routes what the child writes to
//! stdout, and a writer that owns the child's stdin.
//!
//! A [`Peer`] sends through a [`Link`]: the child's stdin (requests write from the calling task
//! when the pipe is free, see [`Pipe`]) or an HTTP link (see `crate::http`), chosen once at
//! construction and dispatched with a `match`, so the stdio path pays one branch and nothing
//! else. Whatever the link, what comes back goes through the same [`Router`]: responses complete
//! pending requests, `ping` requests are answered, everything else goes to [`Incoming`].
//!
//! Requests get fresh numeric ids from a counter and wait on a oneshot channel registered in the
//! pending map; the router completes them by id. When the transport goes away, whoever notices
//! (the stdio supervisor, the HTTP driver or one of its streams) calls [`Shared::close`], which
//! fails every pending request at once and wakes every [`Peer::closed`] waiter.

use std::{
    collections::HashMap,
    fmt, io,
    pin::Pin,
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicI64, Ordering},
    },
    time::Duration,
};

use futures_util::{FutureExt as _, StreamExt as _};
use hub_protocol::{
    ErrorObject, Id, Message, Notification, RawValue, Request, Response,
    jsonrpc::{DecodeError, INTERNAL_ERROR, METHOD_NOT_FOUND, decode, decode_batch},
    mcp::{ProgressParams, method},
};
use tokio::{
    io::{AsyncRead, AsyncWrite, AsyncWriteExt as _},
    sync::{mpsc, oneshot, watch},
};
use tokio_util::codec::FramedRead;
use tracing::{debug, info, trace, warn};

use crate::{
    error::{Error, Result},
    framing::{Frame, LineCodec},
    http,
};

/// What an upstream sends on its own initiative: requests (other than `ping`, which the
/// transport answers itself) and notifications. Responses never appear here; they complete
/// [`Peer::request`] calls.
///
/// The channel is bounded ([`Settings::incoming_capacity`](crate::Settings)). While it is full,
/// notifications are dropped with a warning and requests are answered `-32603 hub is
/// overloaded`; once the receiver is dropped, requests are answered `-32601 method not found`.
/// The channel ends when the transport does (for stdio, when the child's stdout ends).
pub type Incoming = mpsc::Receiver<Message>;

/// How many encoded messages may wait for the writer before senders wait.
pub(crate) const WRITE_QUEUE: usize = 1024;

/// How much of an undecodable message (or of an HTTP error body) goes into logs and errors.
pub(crate) const EXCERPT_BYTES: usize = 200;

/// What a pending request is completed with.
pub(crate) type Reply = Result<Box<RawValue>>;

/// A request waiting for its response.
struct Pending {
    tx: oneshot::Sender<Reply>,
    /// Where the messages related to it go, if the caller wants them (see [`CallOptions`]).
    related: Option<Related>,
}

/// The caller's side of a request's related messages.
#[derive(Clone)]
struct Related {
    events: mpsc::UnboundedSender<Message>,
    /// Woken by each of the request's progress notifications (its timeout starts over).
    progress: Arc<tokio::sync::Notify>,
}

/// Where a message from the server came from, which decides whether it relates to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The transport cannot tell (stdio, the legacy SSE stream): a message relates to the only
    /// request that wants related messages, if there is exactly one.
    Unknown,
    /// The answer stream of request `id` (streamable HTTP): MCP says its messages relate to it.
    Request(i64),
    /// A stream that relates to no request (the standalone GET stream of streamable HTTP).
    Unrelated,
}

/// How [`Peer::call`] sends a request and waits for its answer.
#[derive(Debug, Clone)]
pub struct CallOptions {
    /// How long to wait for the response. With `progress`, the wait starts over at each of the
    /// request's progress notifications, up to `max_total`.
    pub timeout: Duration,
    /// The longest the request may take however much progress it reports; `None`: `timeout`.
    pub max_total: Option<Duration>,
    /// Where the messages the server sends about this request go: its progress notifications,
    /// and the requests and notifications that arrive on its answer stream (streamable HTTP) or,
    /// where the transport cannot tell (stdio, legacy SSE), while it is the only request with a
    /// `related` channel. Requests received here must be answered with [`Peer::respond`].
    /// `None`: they go to [`Incoming`] with everything else.
    pub related: Option<mpsc::UnboundedSender<Message>>,
    /// Ask the server for progress: the request's `_meta.progressToken` is set to a token of
    /// the transport's own (its request id, unique on the connection), and the progress
    /// notifications carrying it go to `related` and keep the request alive.
    pub progress: bool,
}

impl CallOptions {
    /// A plain request: no related messages, no progress, a fixed timeout.
    pub fn timeout(timeout: Duration) -> Self {
        CallOptions { timeout, max_total: None, related: None, progress: false }
    }
}

/// The child's stdin, shared by the writer task and by requests that write to it directly.
///
/// A request writes from the calling task when stdin is free (one task hop less per call than
/// going through the writer), else it queues the line for the writer task. A line is never left
/// half-written by a cancelled caller: the caller only attempts one non-blocking write; whatever
/// the pipe does not take at once is finished by a spawned task that owns the lock until the
/// line is complete.
pub(crate) struct Pipe {
    stdin: Arc<tokio::sync::Mutex<Option<Pin<Box<dyn AsyncWrite + Send>>>>>,
    /// Tells the supervisor that stdin broke (first failure only).
    broken: Mutex<Option<oneshot::Sender<String>>>,
}

impl Pipe {
    pub(crate) fn new(
        stdin: impl AsyncWrite + Send + 'static,
        broken: oneshot::Sender<String>,
    ) -> Arc<Self> {
        Arc::new(Pipe {
            stdin: Arc::new(tokio::sync::Mutex::new(Some(Box::pin(stdin)))),
            broken: Mutex::new(Some(broken)),
        })
    }

    fn report_broken(&self, shared: &Shared, error: &io::Error) {
        warn!(server = %shared.name, %error, "cannot write to the upstream's stdin");
        let tx = self.broken.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(tx) = tx
            && tx.send(format!("cannot write to stdin: {error}")).is_err()
        {
            trace!(server = %shared.name, "supervisor already gone");
        }
    }

    /// Writes one line from the calling task if stdin is free at once, without waiting: one
    /// non-blocking write attempt, the rest (if the pipe is full) finished by a spawned task that
    /// holds the lock. If another writer holds stdin, the line comes back (`Err`) for the writer
    /// queue: waiting on the lock here would make concurrent requests hand it over one wake-up
    /// at a time (measured: half the throughput at 16 sessions), while the writer task drains
    /// its queue in one go.
    fn try_write_line(
        self: &Arc<Self>,
        shared: &Arc<Shared>,
        line: Vec<u8>,
    ) -> std::result::Result<Result<()>, Vec<u8>> {
        let Ok(mut guard) = Arc::clone(&self.stdin).try_lock_owned() else { return Err(line) };
        let Some(stdin) = guard.as_mut() else {
            return Ok(Err(shared.closed_error("stdin is closed")));
        };
        let written = match stdin.as_mut().write(&line).now_or_never() {
            Some(Ok(0)) => Err(io::Error::from(io::ErrorKind::WriteZero)),
            Some(Ok(n)) => Ok(n),
            Some(Err(e)) => Err(e),
            None => Ok(0),
        };
        Ok(match written {
            Ok(n) if n == line.len() => Ok(()),
            Ok(n) => {
                // The pipe is full: finish the line in a task that cannot be cancelled midway.
                let (pipe, shared) = (Arc::clone(self), Arc::clone(shared));
                tokio::spawn(async move {
                    if let Some(stdin) = guard.as_mut()
                        && let Err(error) = stdin.write_all(&line[n..]).await
                    {
                        *guard = None;
                        pipe.report_broken(&shared, &error);
                    }
                });
                Ok(())
            }
            Err(error) => {
                *guard = None;
                self.report_broken(shared, &error);
                Err(shared.closed_error("stdin is closed"))
            }
        })
    }
}

/// State shared by the [`Peer`] handles and the background tasks.
pub(crate) struct Shared {
    /// The server's name, for logs.
    pub(crate) name: String,
    next_id: AtomicI64,
    pending: Mutex<HashMap<i64, Pending>>,
    /// `Some(reason)` once the transport is gone.
    closed: watch::Sender<Option<String>>,
}

impl Shared {
    pub(crate) fn new(name: &str) -> Self {
        Shared {
            name: name.to_owned(),
            next_id: AtomicI64::new(1),
            pending: Mutex::new(HashMap::new()),
            closed: watch::Sender::new(None),
        }
    }

    fn pending(&self) -> MutexGuard<'_, HashMap<i64, Pending>> {
        // The map stays consistent even if a holder panicked: every operation is one call.
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn take_pending(&self, id: i64) -> Option<oneshot::Sender<Reply>> {
        self.pending().remove(&id).map(|p| p.tx)
    }

    /// The request a message from `origin` relates to, with its channel: the progress token's
    /// request for a progress notification, else as [`Origin`] says.
    fn related(&self, message: &Message, origin: Origin) -> Option<Related> {
        let pending = self.pending();
        if let Message::Notification(n) = message
            && n.method == method::PROGRESS
        {
            let token = n.parse_params::<ProgressParams>().ok().map(|p| p.progress_token);
            return match token {
                Some(Id::Number(id)) => pending.get(&id).and_then(|p| p.related.clone()),
                _ => None,
            };
        }
        match origin {
            Origin::Request(id) => pending.get(&id).and_then(|p| p.related.clone()),
            Origin::Unrelated => None,
            Origin::Unknown => {
                let mut wanting = pending.values().filter_map(|p| p.related.as_ref());
                match (wanting.next(), wanting.next()) {
                    (Some(only), None) => Some(only.clone()),
                    _ => None,
                }
            }
        }
    }

    /// Whether request `id` still waits for its response (it has not been answered, failed,
    /// timed out or abandoned).
    pub(crate) fn is_pending(&self, id: i64) -> bool {
        self.pending().contains_key(&id)
    }

    /// Completes request `id` with `reply`, if it still waits.
    pub(crate) fn complete(&self, id: i64, reply: Reply) {
        if let Some(tx) = self.take_pending(id)
            && tx.send(reply).is_err()
        {
            trace!(server = %self.name, id, "requester gone before the reply");
        }
    }

    pub(crate) fn is_closed_now(&self) -> bool {
        self.closed.borrow().is_some()
    }

    fn closed_reason(&self) -> Option<String> {
        self.closed.borrow().clone()
    }

    /// Resolves once the transport is gone (at once if it already is).
    pub(crate) async fn wait_closed(&self) {
        let mut rx = self.closed.subscribe();
        if rx.wait_for(Option::is_some).await.is_err() {
            // Unreachable: `self` holds the sender.
            trace!(server = %self.name, "close signal dropped");
        }
    }

    pub(crate) fn closed_error(&self, fallback: &str) -> Error {
        Error::Closed { reason: self.closed_reason().unwrap_or_else(|| fallback.to_owned()) }
    }

    /// Marks the transport gone (the first reason wins) and fails every pending request.
    ///
    /// Requests register themselves before checking the flag, and this sets the flag before
    /// draining, so no request can slip between the two and wait forever.
    pub(crate) fn close(&self, reason: String) {
        let first = self.closed.send_if_modified(|current| {
            if current.is_some() {
                return false;
            }
            *current = Some(reason);
            true
        });
        let reason = self.closed_reason().unwrap_or_default();
        if first {
            info!(server = %self.name, %reason, "upstream connection closed");
        }
        let drained: Vec<_> = self.pending().drain().collect();
        for (id, Pending { tx, .. }) in drained {
            if tx.send(Err(Error::Closed { reason: reason.clone() })).is_err() {
                trace!(server = %self.name, id, "requester already gone");
            }
        }
    }
}

/// A handle to a running upstream server. Cheap to clone; all clones drive the same child.
///
/// Dropping the last handle requests the same orderly shutdown as [`Peer::shutdown`], carried
/// out in the background.
#[derive(Clone, Debug)]
pub struct Peer {
    inner: Arc<Inner>,
}

struct Inner {
    /// Unique among the peers of this process (see [`Peer::serial`]).
    serial: u64,
    shared: Arc<Shared>,
    /// Where outgoing messages go.
    link: Link,
    /// Set to `true` to request shutdown; dropping it requests shutdown as well.
    shutdown: watch::Sender<bool>,
    /// Becomes `true` once shutdown is complete (for stdio: the child reaped).
    done: watch::Receiver<bool>,
}

/// The sending side of a [`Peer`].
pub(crate) enum Link {
    /// A child's stdin.
    Stdio {
        /// The child's stdin, written directly by requests.
        pipe: Arc<Pipe>,
        /// Encoded lines (newline included) for the writer task: lines that find stdin busy,
        /// and what must be sent without waiting (cancellations from `Drop`).
        out: mpsc::Sender<Vec<u8>>,
        /// The child's process id, if known at spawn.
        pid: Option<u32>,
    },
    /// A remote server over streamable HTTP or legacy HTTP+SSE.
    Http(Arc<http::Link>),
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pid = match &self.link {
            Link::Stdio { pid, .. } => *pid,
            Link::Http(_) => None,
        };
        f.debug_struct("Peer")
            .field("server", &self.shared.name)
            .field("transport", &self.link.transport())
            .field("pid", &pid)
            .field("closed", &self.shared.closed_reason())
            .finish_non_exhaustive()
    }
}

impl Link {
    fn transport(&self) -> &'static str {
        match self {
            Link::Stdio { .. } => "stdio",
            Link::Http(http) => http.transport(),
        }
    }
}

impl Peer {
    pub(crate) fn new(
        shared: Arc<Shared>,
        link: Link,
        shutdown: watch::Sender<bool>,
        done: watch::Receiver<bool>,
    ) -> Self {
        static SERIALS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let serial = SERIALS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Peer { inner: Arc::new(Inner { serial, shared, link, shutdown, done }) }
    }

    /// Sends a request with a fresh numeric id and waits for its response.
    ///
    /// - An error response is returned as [`Error::Rpc`].
    /// - If no response arrives within `timeout`, the request is forgotten, a
    ///   `notifications/cancelled` with reason `timeout` is sent upstream, and
    ///   [`Error::Timeout`] is returned. (`timeout` also bounds the wait for room in the
    ///   write queue.)
    /// - If the returned future is dropped before it completes, a `notifications/cancelled`
    ///   with reason `cancelled by client` is sent upstream, provided the request was sent.
    /// - If the transport goes away meanwhile, [`Error::Closed`] is returned at once.
    ///
    /// `initialize` is never cancelled upstream: MCP forbids cancelling it.
    pub async fn request(
        &self,
        method: &str,
        params: Option<Box<RawValue>>,
        timeout: Duration,
    ) -> Result<Box<RawValue>> {
        self.call(method, params, CallOptions::timeout(timeout)).await
    }

    /// [`Peer::request`] with options: progress (which keeps the request alive while it
    /// reports progress) and the messages the server sends about the request.
    pub async fn call(
        &self,
        method: &str,
        params: Option<Box<RawValue>>,
        options: CallOptions,
    ) -> Result<Box<RawValue>> {
        let shared = &self.inner.shared;
        let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, mut rx) = oneshot::channel();
        let progress = options.related.as_ref().map(|_| Arc::new(tokio::sync::Notify::new()));
        let related = options
            .related
            .zip(progress.clone())
            .map(|(events, progress)| Related { events, progress });
        shared.pending().insert(id, Pending { tx, related });
        let mut guard = PendingGuard { inner: &self.inner, id, method, sent: false, armed: true };
        if shared.is_closed_now() {
            guard.finish(None);
            return Err(shared.closed_error("connection closed"));
        }
        let params = if options.progress { Some(with_progress_token(params, id)?) } else { params };
        let message =
            Message::Request(Request { id: Id::Number(id), method: method.to_owned(), params });
        trace!(server = %shared.name, id, method, "sending request");
        let exchange = async {
            self.inner.send(&message).await?;
            drop(message); // the params need not live until the response
            guard.sent = true;
            match (&mut rx).await {
                Ok(reply) => reply,
                Err(_) => Err(shared.closed_error("connection closed")),
            }
        };
        let started = tokio::time::Instant::now();
        let last = started + options.max_total.unwrap_or(options.timeout).max(options.timeout);
        let reset_on_progress = options.progress && progress.is_some();
        let outcome = match progress.filter(|_| options.progress) {
            None => tokio::time::timeout(options.timeout, exchange).await.ok(),
            Some(progress) => {
                tokio::pin!(exchange);
                let mut deadline = (started + options.timeout).min(last);
                loop {
                    tokio::select! {
                        reply = &mut exchange => break Some(reply),
                        () = progress.notified() => {
                            deadline = (tokio::time::Instant::now() + options.timeout).min(last);
                        }
                        () = tokio::time::sleep_until(deadline) => break None,
                    }
                }
            }
        };
        match outcome {
            Some(reply) => {
                // Completed, failed to send, or closed: in every case the entry is gone.
                guard.finish(None);
                reply
            }
            None => {
                // With progress the wait had no fixed length: say how long it was, to the ms.
                let after = if reset_on_progress {
                    Duration::from_millis(
                        u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                    )
                } else {
                    options.timeout
                };
                if guard.finish(Some("timeout")) {
                    debug!(server = %shared.name, id, method, ?after, "request timed out");
                    return Err(Error::Timeout { method: method.to_owned(), after });
                }
                // The reply raced the timer and is already in the channel.
                rx.try_recv().unwrap_or_else(|_| Err(shared.closed_error("connection closed")))
            }
        }
    }

    /// Sends a notification.
    ///
    /// Over stdio it is written to the child's stdin; over HTTP it returns once the server
    /// accepted the POST (which is why `notifications/initialized` is known to have arrived
    /// before the next request is sent).
    pub async fn notify(&self, method: &str, params: Option<Box<RawValue>>) -> Result<()> {
        self.inner
            .send(&Message::Notification(Notification { method: method.to_owned(), params }))
            .await
    }

    /// Answers a server-to-client request received on [`Incoming`].
    pub async fn respond(&self, response: Response) -> Result<()> {
        self.inner.send(&Message::Response(response)).await
    }

    /// Whether the transport is gone (see [`Peer::closed`]).
    pub fn is_closed(&self) -> bool {
        self.inner.shared.is_closed_now()
    }

    /// Resolves once the transport is gone, with a human-readable reason: over stdio the child
    /// exited, closed its stdout, or stopped reading its stdin (`process exited with status 1`,
    /// `killed by signal 9`); over HTTP the peer was shut down (`shut down`), the server expired
    /// the session (`session expired (HTTP 404)`), or the legacy SSE stream ended. Any number
    /// of tasks may wait; all get the reason.
    pub async fn closed(&self) -> String {
        let mut rx = self.inner.shared.closed.subscribe();
        match rx.wait_for(Option::is_some).await {
            Ok(reason) => reason.clone().unwrap_or_default(),
            // Unreachable while `self` holds the sender; answer sensibly anyway.
            Err(_) => "connection dropped".to_owned(),
        }
    }

    /// Shuts the transport down in order and returns once it is done.
    ///
    /// - stdio: close the child's stdin, wait up to the shutdown grace for it to exit, send
    ///   `SIGTERM` to its process group, wait the grace again, then send `SIGKILL` to the
    ///   process group; returns once the child is reaped. Any process left in the group after
    ///   the child is reaped is killed as well.
    /// - HTTP: close the peer (its streams end), then end the session with an HTTP `DELETE`
    ///   carrying the session id, if the server gave one (bounded by
    ///   [`HttpSettings::shutdown_timeout`](crate::HttpSettings)).
    ///
    /// Idempotent and safe to call from several tasks at once; requests still pending fail with
    /// [`Error::Closed`].
    pub async fn shutdown(&self) {
        self.inner.shutdown.send_replace(true);
        let mut done = self.inner.done.clone();
        if done.wait_for(|done| *done).await.is_err() {
            debug!(server = %self.inner.shared.name, "supervisor ended before reporting shutdown");
        }
    }

    /// The child's process id (also its process group id), if it was known at spawn. Always
    /// `None` for a remote server.
    pub fn pid(&self) -> Option<u32> {
        match &self.inner.link {
            Link::Stdio { pid, .. } => *pid,
            Link::Http(_) => None,
        }
    }

    /// The transport actually in use: `stdio`, `streamable-http` or `sse` (legacy HTTP+SSE).
    /// A remote server configured as [`HttpTransport::Auto`](crate::HttpTransport) reports
    /// `auto` until its first message (the `initialize` request) has settled which of the two
    /// HTTP transports it speaks.
    pub fn transport(&self) -> &'static str {
        self.inner.link.transport()
    }

    /// A number no other connection of this process has: request ids are only unique per
    /// connection, so what is kept by the server's request id is kept by this too.
    pub fn serial(&self) -> u64 {
        self.inner.serial
    }

    /// Whether the transport tells which request each message of the server belongs to:
    /// streamable HTTP does (a request's answer stream, or the GET stream for none). Over stdio
    /// and legacy SSE a message that names no request (a log message) may belong to any
    /// request in flight; [`CallOptions::related`] gives it to a request only when that request
    /// is the one wanting such messages.
    pub fn tells_origin(&self) -> bool {
        self.transport() == "streamable-http"
    }
}

impl Inner {
    /// Sends one message: over stdio, writes its line to the child's stdin.
    async fn send(&self, message: &Message) -> Result<()> {
        if self.shared.is_closed_now() {
            return Err(self.shared.closed_error("connection closed"));
        }
        match &self.link {
            Link::Stdio { pipe, out, .. } => match pipe
                .try_write_line(&self.shared, encode(message))
            {
                Ok(result) => result,
                Err(line) => {
                    out.send(line).await.map_err(|_| self.shared.closed_error("stdin is closed"))
                }
            },
            Link::Http(http) => http.send(message).await,
        }
    }

    /// Tells the server to stop working on request `id`. Best effort: never waits.
    fn cancel(&self, id: i64, reason: &str) {
        if self.shared.is_closed_now() {
            return;
        }
        let params = serde_json::json!({ "requestId": id, "reason": reason });
        let message = Message::Notification(Notification::new(method::CANCELLED, Some(&params)));
        match &self.link {
            Link::Stdio { out, .. } => match out.try_send(encode(&message)) {
                Ok(()) => {
                    debug!(server = %self.shared.name, id, reason, "cancelled request upstream");
                }
                Err(mpsc::error::TrySendError::Full(_)) => {
                    warn!(server = %self.shared.name, id, "write queue full; cancellation not sent");
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            },
            Link::Http(http) => {
                debug!(server = %self.shared.name, id, reason, "cancelling request upstream");
                http.cancel(id, message);
            }
        }
    }
}

/// Removes a request's pending entry when the request ends, however it ends; if the caller
/// drops the request future midway, it also cancels the request upstream.
struct PendingGuard<'a> {
    inner: &'a Inner,
    id: i64,
    method: &'a str,
    /// Whether the request was handed to the link (stdin or its write queue; an HTTP request
    /// task), and so will reach the server.
    sent: bool,
    armed: bool,
}

impl PendingGuard<'_> {
    /// Removes the pending entry and, if it was still there and `cancel` is given, tells the
    /// server. Returns whether the entry was still there (no reply had arrived).
    fn finish(&mut self, cancel: Option<&str>) -> bool {
        self.armed = false;
        let was_pending = self.inner.shared.take_pending(self.id).is_some();
        if let Some(reason) = cancel
            && was_pending
            && self.sent
            && self.method != method::INITIALIZE
        {
            self.inner.cancel(self.id, reason);
        }
        was_pending
    }
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.finish(Some("cancelled by client"));
        }
    }
}

/// Compact JSON plus the newline that frames it.
fn encode(message: &Message) -> Vec<u8> {
    let mut line = message.to_vec();
    line.push(b'\n');
    line
}

/// The first [`EXCERPT_BYTES`] bytes of a line, for logs and errors.
pub(crate) fn excerpt(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(&line[..line.len().min(EXCERPT_BYTES)]);
    if line.len() > EXCERPT_BYTES { format!("{text}…") } else { text.into_owned() }
}

/// Waits until shutdown is requested (or every [`Peer`] is gone, which means the same).
pub(crate) async fn shutdown_requested(rx: &mut watch::Receiver<bool>) {
    // An error means the sender was dropped with the last Peer: shut down as well.
    if rx.wait_for(|requested| *requested).await.is_err() {
        trace!("all peers dropped");
    }
}

/// Writes queued lines (cancellations, answers the reader gives itself) to the child's stdin
/// until shutdown is requested, every [`Peer`] is dropped, or a write fails; then closes stdin.
pub(crate) async fn write_loop(
    shared: Arc<Shared>,
    pipe: Arc<Pipe>,
    mut lines: mpsc::Receiver<Vec<u8>>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let line = tokio::select! {
            biased;
            () = shutdown_requested(&mut shutdown) => break,
            line = lines.recv() => match line {
                Some(line) => line,
                None => break,
            },
        };
        let write = async {
            let mut guard = pipe.stdin.lock().await;
            let Some(stdin) = guard.as_mut() else { return Ok(false) };
            match stdin.write_all(&line).await {
                Ok(()) => Ok(true),
                Err(error) => {
                    *guard = None;
                    Err(error)
                }
            }
        };
        let result = tokio::select! {
            biased;
            () = shutdown_requested(&mut shutdown) => break,
            result = write => result,
        };
        match result {
            Ok(true) => {}
            Ok(false) => break,
            Err(error) => {
                pipe.report_broken(&shared, &error);
                break;
            }
        }
    }
    // Close stdin. A task finishing a line into a full pipe may hold it; take it once released
    // (the supervisor's SIGTERM/SIGKILL escalation does not wait for this).
    match Arc::clone(&pipe.stdin).try_lock_owned() {
        Ok(mut guard) => *guard = None,
        Err(_) => {
            let stdin = Arc::clone(&pipe.stdin);
            tokio::spawn(async move { *stdin.lock().await = None });
        }
    }
    debug!(server = %shared.name, "stdin closed");
}

/// Reads the child's stdout until end of stream, routing every message; then reports `eof`.
pub(crate) async fn read_loop<R: AsyncRead + Unpin>(
    shared: Arc<Shared>,
    stdout: R,
    max_line_bytes: usize,
    incoming: mpsc::Sender<Message>,
    out: mpsc::WeakSender<Vec<u8>>,
    eof: oneshot::Sender<()>,
) {
    let router = Router::new(&shared, incoming, out, "stdout");
    let mut frames = FramedRead::new(stdout, LineCodec::new(max_line_bytes));
    while let Some(frame) = frames.next().await {
        match frame {
            Ok(Frame::Line(line)) => router.line(&line),
            Ok(Frame::TooLong { len }) => warn!(
                server = %shared.name, len, max_line_bytes,
                "ignoring an over-long line from stdout"
            ),
            Err(error) => {
                warn!(server = %shared.name, %error, "cannot read the upstream's stdout");
                break;
            }
        }
    }
    debug!(server = %shared.name, "stdout closed");
    if eof.send(()).is_err() {
        trace!(server = %shared.name, "supervisor already gone");
    }
}

/// How a [`Router`] sends the answers the transport gives itself, and what it lets the link see.
pub(crate) trait Replies {
    /// Sends a response from the router itself (a `ping` answer, a refusal). Must never wait: a
    /// router blocked on a full write queue could deadlock against a child blocked on a full
    /// stdout pipe.
    fn reply(&self, shared: &Shared, response: Response);

    /// Sees every decoded message before it is routed. The HTTP link reads the negotiated
    /// protocol version off the `initialize` response here.
    fn observe(&self, _message: &Message) {}
}

/// The stdio link answers through the writer queue. Weak, so that the writer ends (closing
/// stdin) once every [`Peer`] is gone.
impl Replies for mpsc::WeakSender<Vec<u8>> {
    fn reply(&self, shared: &Shared, response: Response) {
        let Some(out) = self.upgrade() else {
            return;
        };
        if out.try_send(encode(&Message::Response(response))).is_err() {
            warn!(server = %shared.name, "write queue full or closed; reply dropped");
        }
    }
}

/// Routes decoded messages, whatever the transport: responses complete pending requests, `ping`
/// requests are answered, other requests and notifications go to [`Incoming`].
pub(crate) struct Router<'a, R> {
    shared: &'a Shared,
    incoming: mpsc::Sender<Message>,
    replies: R,
    /// Where messages come from, for logs (`stdout`, `HTTP`).
    from: &'static str,
    /// Which request the messages relate to.
    origin: Origin,
}

impl<'a, R: Replies> Router<'a, R> {
    pub(crate) fn new(
        shared: &'a Shared,
        incoming: mpsc::Sender<Message>,
        replies: R,
        from: &'static str,
    ) -> Self {
        Router { shared, incoming, replies, from, origin: Origin::Unknown }
    }

    /// The same router for messages from `origin`.
    pub(crate) fn with_origin(self, origin: Origin) -> Self {
        Router { origin, ..self }
    }

    /// Routes one JSON-RPC message or batch (a JSON array: each element is routed). What
    /// cannot be decoded is logged with an excerpt and dropped.
    pub(crate) fn line(&self, line: &[u8]) {
        match decode(line) {
            Ok(message) => self.message(message),
            Err(DecodeError::Batch) => match decode_batch(line) {
                Ok(items) => {
                    for item in items {
                        match item {
                            Ok(message) => self.message(message),
                            Err(error) => self.undecodable(line, &error),
                        }
                    }
                }
                Err(error) => self.undecodable(line, &error),
            },
            Err(error) => self.undecodable(line, &error),
        }
    }

    fn undecodable(&self, line: &[u8], error: &DecodeError) {
        warn!(
            server = %self.shared.name, from = self.from, %error, line = %excerpt(line),
            "ignoring an undecodable message"
        );
    }

    fn message(&self, message: Message) {
        let name = &self.shared.name;
        self.replies.observe(&message);
        match message {
            Message::Response(response) => match response.id {
                Some(Id::Number(id)) => match self.shared.take_pending(id) {
                    Some(tx) => {
                        if tx.send(response.outcome.map_err(Error::Rpc)).is_err() {
                            trace!(server = %name, id, "requester gone before the response");
                        }
                    }
                    None => debug!(server = %name, id, "dropping a response to no pending request"),
                },
                Some(id) => {
                    debug!(server = %name, %id, "dropping a response to no pending request")
                }
                None => match response.outcome {
                    Err(error) => {
                        warn!(server = %name, %error, "upstream reported an error without id")
                    }
                    Ok(_) => debug!(server = %name, "dropping a response with a null id"),
                },
            },
            Message::Request(request) if request.method == method::PING => {
                trace!(server = %name, id = %request.id, "answering ping");
                self.reply(Response::ok_value(request.id, &serde_json::Map::new()));
            }
            message => self.unanswered(message),
        }
    }

    /// A request (other than `ping`) or a notification: to the request it relates to, if that
    /// request wants it, else to [`Incoming`].
    fn unanswered(&self, message: Message) {
        let name = &self.shared.name;
        let message = match self.relate(message) {
            Ok(()) => return,
            Err(message) => message,
        };
        match message {
            Message::Response(_) => {}
            Message::Request(request) => {
                let id = request.id.clone();
                match self.incoming.try_send(Message::Request(request)) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        warn!(server = %name, %id, "incoming queue full; refusing request");
                        let error = ErrorObject::new(INTERNAL_ERROR, "hub is overloaded");
                        self.reply(Response::err(Some(id), error));
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => {
                        let error = ErrorObject::new(METHOD_NOT_FOUND, "method not found");
                        self.reply(Response::err(Some(id), error));
                    }
                }
            }
            Message::Notification(notification) => {
                match self.incoming.try_send(notification.into()) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(dropped)) => warn!(
                        server = %name, method = dropped.method().unwrap_or_default(),
                        "incoming queue full; dropping notification"
                    ),
                    Err(mpsc::error::TrySendError::Closed(_)) => {}
                }
            }
        }
    }

    /// Hands a request or notification to the request it relates to, if that request wants
    /// it; gives it back otherwise.
    fn relate(&self, message: Message) -> std::result::Result<(), Message> {
        let Some(related) = self.shared.related(&message, self.origin) else { return Err(message) };
        if matches!(&message, Message::Notification(n) if n.method == method::PROGRESS) {
            related.progress.notify_one();
        }
        // The caller gone (request just answered): the message goes where unrelated ones go.
        related.events.send(message).map_err(|e| e.0)
    }

    fn reply(&self, response: Response) {
        self.replies.reply(self.shared, response);
    }
}

/// `params` with `_meta.progressToken` set to `token` (params that are not an object, or
/// absent, become one).
fn with_progress_token(params: Option<Box<RawValue>>, token: i64) -> Result<Box<RawValue>> {
    let mut object = match params {
        Some(raw) => match serde_json::from_str::<serde_json::Value>(raw.get()) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        },
        None => serde_json::Map::new(),
    };
    let meta =
        object.entry("_meta").or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
    if !meta.is_object() {
        *meta = serde_json::Value::Object(serde_json::Map::new());
    }
    if let Some(meta) = meta.as_object_mut() {
        meta.insert("progressToken".to_owned(), token.into());
    }
    serde_json::value::to_raw_value(&object)
        .map_err(|e| Error::Protocol { reason: format!("cannot encode the params: {e}") })
}

#[cfg(test)]
mod tests;
