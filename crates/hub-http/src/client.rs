//! The way back to a client: what a [`Backend`](crate::Backend) sends to the client of a session
//! while it works — notifications (progress, log messages, resource updates) and requests
//! (`sampling/createMessage`, `elicitation/create`, `roots/list`) whose answers the client POSTs.
//!
//! A [`SessionHandle`] lives as long as the session and delivers on the session's own stream
//! (the standalone `GET` stream of a streamable-HTTP session, the one stream of a legacy session).
//! A [`Context`] is one request's: it prefers the request's own SSE stream (the answer to its
//! POST), which is where MCP says messages related to a request belong, and falls back to the
//! session's stream once that one has closed.
//!
//! The correlation of client answers with the requests they answer lives here, not in the
//! facade, so that any transport can carry a session (the facade's HTTP streams, a test's
//! channel, a stdio loop): it only has to implement [`ClientSink`] and hand every client response
//! to [`SessionHandle::complete`].

use std::{
    collections::HashMap,
    fmt,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, AtomicI64, Ordering},
    },
    time::Duration,
};

use hub_protocol::{
    ErrorObject, Id, Message, Notification, RawValue, Request, Response, mcp::method,
};
use tokio::sync::oneshot;

use crate::backend::SessionInfo;

/// Where a session's (or one request's) messages to the client go.
pub trait ClientSink: Send + Sync + 'static {
    /// Queues one message for the client without waiting. `false` when it cannot be delivered:
    /// the stream is closed, the session is gone, or its queue is full.
    fn send(&self, message: &Message) -> bool;
}

/// Why a request to the client got no result.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The client answered with an error.
    #[error("client answered with error {}: {}", .0.code, .0.message)]
    Rpc(ErrorObject),
    /// The client did not answer in time (it was sent `notifications/cancelled`).
    #[error("client did not answer within {0:?}")]
    Timeout(Duration),
    /// There was no open stream to send the request on.
    #[error("no open stream to the client")]
    Undeliverable,
    /// The session ended before the client answered.
    #[error("client session closed")]
    Closed,
}

type Answer = Result<Box<RawValue>, ClientError>;

/// A client session's way back, for as long as the session lives. Cheap to clone.
#[derive(Clone)]
pub struct SessionHandle {
    inner: Arc<HandleInner>,
}

struct HandleInner {
    id: Arc<str>,
    sink: Arc<dyn ClientSink>,
    /// Requests sent to the client, by the id the client must answer with.
    pending: Mutex<HashMap<i64, oneshot::Sender<Answer>>>,
    next_id: AtomicI64,
    closed: AtomicBool,
}

impl fmt::Debug for SessionHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionHandle")
            .field("id", &self.inner.id)
            .field("closed", &self.inner.closed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl SessionHandle {
    /// A handle for session `id` that delivers through `sink`.
    pub fn new(id: Arc<str>, sink: Arc<dyn ClientSink>) -> Self {
        SessionHandle {
            inner: Arc::new(HandleInner {
                id,
                sink,
                pending: Mutex::new(HashMap::new()),
                next_id: AtomicI64::new(1),
                closed: AtomicBool::new(false),
            }),
        }
    }

    /// The session id.
    pub fn id(&self) -> &Arc<str> {
        &self.inner.id
    }

    /// Whether the session has ended.
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }

    /// Sends a notification on the session's stream; `false` if it could not be delivered.
    pub fn notify(&self, notification: Notification) -> bool {
        !self.is_closed() && self.inner.sink.send(&Message::Notification(notification))
    }

    /// Sends a request on the session's stream and waits up to `timeout` for the client's answer.
    pub async fn request(
        &self,
        method: &str,
        params: Option<Box<RawValue>>,
        timeout: Duration,
    ) -> Answer {
        let sink = self.inner.sink.as_ref();
        self.request_via(&|m| sink.send(m), method, params, timeout).await
    }

    /// Hands a client's answer to the request it answers. `false` if nothing waits for it (an
    /// unknown id, or the request already timed out).
    pub fn complete(&self, response: Response) -> bool {
        let Some(Id::Number(id)) = response.id else { return false };
        let Some(tx) = lock(&self.inner.pending).remove(&id) else { return false };
        tx.send(response.outcome.map_err(ClientError::Rpc)).is_ok()
    }

    /// Ends the session's way back: requests waiting for the client fail with
    /// [`ClientError::Closed`], and nothing more is sent.
    pub fn close(&self) {
        self.inner.closed.store(true, Ordering::Release);
        let waiting: Vec<_> = lock(&self.inner.pending).drain().collect();
        for (_, tx) in waiting {
            tx.send(Err(ClientError::Closed)).ok();
        }
    }

    async fn request_via(
        &self,
        send: &(dyn Fn(&Message) -> bool + Sync),
        method: &str,
        params: Option<Box<RawValue>>,
        timeout: Duration,
    ) -> Answer {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        lock(&self.inner.pending).insert(id, tx);
        // Checked after the entry is in: a `close` that drained `pending` before the insert
        // has set the flag first, so either it fails this entry or this sees it closed.
        if self.is_closed() {
            lock(&self.inner.pending).remove(&id);
            return Err(ClientError::Closed);
        }
        let request = Request { id: Id::Number(id), method: method.to_owned(), params };
        if !send(&Message::Request(request)) {
            lock(&self.inner.pending).remove(&id);
            return Err(ClientError::Undeliverable);
        }
        // Dropped before the answer (the caller gave up, or the server that asked cancelled):
        // the client is told to stop, and the entry goes.
        let mut waiting = Waiting { handle: self, id, send, reason: Some("cancelled") };
        let answer = match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => Err(ClientError::Closed),
            Err(_) => {
                waiting.reason = Some("timeout");
                drop(waiting);
                return Err(ClientError::Timeout(timeout));
            }
        };
        waiting.reason = None;
        answer
    }
}

/// A request to the client still waiting for its answer; see [`SessionHandle::request`].
struct Waiting<'a> {
    handle: &'a SessionHandle,
    id: i64,
    send: &'a (dyn Fn(&Message) -> bool + Sync),
    /// Why it ends unanswered, if it does: sent to the client in `notifications/cancelled`.
    reason: Option<&'static str>,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let Some(reason) = self.reason else { return };
        let was_waiting = lock(&self.handle.inner.pending).remove(&self.id).is_some();
        if was_waiting && !self.handle.is_closed() {
            let params = serde_json::json!({"requestId": self.id, "reason": reason});
            let cancel = Notification {
                method: method::CANCELLED.to_owned(),
                params: Some(serde_json::value::to_raw_value(&params).expect("valid JSON")),
            };
            (self.send)(&Message::Notification(cancel));
        }
    }
}

/// What one request's handler can send back while it works. Cheap to clone; it may outlive the
/// request (messages then go to the session's stream).
#[derive(Clone)]
pub struct Context {
    session: SessionInfo,
    handle: SessionHandle,
    /// The request's own SSE stream, when its transport has one.
    stream: Option<Arc<dyn ClientSink>>,
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("session", &self.session.id)
            .field("own_stream", &self.stream.is_some())
            .finish_non_exhaustive()
    }
}

impl Context {
    /// A request's context: `stream` is the request's own stream, if it has one.
    pub fn new(
        session: SessionInfo,
        handle: SessionHandle,
        stream: Option<Arc<dyn ClientSink>>,
    ) -> Self {
        Context { session, handle, stream }
    }

    /// A context whose messages go nowhere (for calls made without a client session, such as
    /// `Hub::handle` or tests): notifications are dropped, requests fail with
    /// [`ClientError::Undeliverable`].
    pub fn detached(session: SessionInfo) -> Self {
        struct Nowhere;
        impl ClientSink for Nowhere {
            fn send(&self, _: &Message) -> bool {
                false
            }
        }
        let handle = SessionHandle::new(session.id.clone(), Arc::new(Nowhere));
        Context { session, handle, stream: None }
    }

    /// Who is asking.
    pub fn session(&self) -> &SessionInfo {
        &self.session
    }

    /// The session's way back, for messages not tied to this request (keep it to send later,
    /// e.g. `notifications/resources/updated` to a subscriber).
    pub fn handle(&self) -> &SessionHandle {
        &self.handle
    }

    /// Sends a notification related to this request: on the request's own stream while it is
    /// open, otherwise on the session's. `false` if neither took it.
    pub fn notify(&self, notification: Notification) -> bool {
        if self.handle.is_closed() {
            return false;
        }
        let message = Message::Notification(notification);
        if let Some(stream) = &self.stream
            && stream.send(&message)
        {
            return true;
        }
        let Message::Notification(notification) = message else { unreachable!() };
        self.handle.notify(notification)
    }

    /// Sends a request to the client related to this request (on the request's own stream
    /// while it is open, otherwise on the session's) and waits up to `timeout` for the answer.
    pub async fn request(
        &self,
        method: &str,
        params: Option<Box<RawValue>>,
        timeout: Duration,
    ) -> Answer {
        match &self.stream {
            Some(stream) => {
                let session = self.handle.inner.sink.as_ref();
                let both = |m: &Message| stream.send(m) || session.send(m);
                self.handle.request_via(&both, method, params, timeout).await
            }
            None => self.handle.request(method, params, timeout).await,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests;
