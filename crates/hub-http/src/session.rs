//! The session table: every live session, its negotiated protocol version, its way back
//! ([`SessionHandle`]) and the outbound queues of its SSE streams.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use hub_protocol::{Message, ProtocolVersion};
use tokio::sync::mpsc::{self, error::TrySendError};

use crate::{
    backend::{SessionInfo, Transport},
    client::{ClientSink, SessionHandle},
    wire,
};

/// The streams of one session that carry messages not tied to a request: the standalone GET
/// streams of a streamable-HTTP session, or the one stream of a legacy session.
///
/// Shared by the session table and the session's [`SessionHandle`] (it is the handle's sink), so
/// the backend can reach the client without going through the table. Ending the session
/// [closes](Outlet::close) it: its queues are dropped, so its streams end even while a backend
/// still holds the handle.
#[derive(Debug)]
pub(crate) struct Outlet {
    id: Arc<str>,
    streams: Mutex<Streams>,
}

#[derive(Debug)]
enum Streams {
    /// Streamable HTTP: the standalone GET streams, oldest first (closed ones pruned lazily).
    Streamable(Vec<mpsc::Sender<String>>),
    /// Legacy HTTP+SSE: the one stream opened by `GET /mcp`.
    Legacy(mpsc::Sender<String>),
    /// The session has ended.
    Closed,
}

impl Outlet {
    /// The outlet of a new streamable-HTTP session (no GET stream yet).
    pub(crate) fn streamable(id: Arc<str>) -> Arc<Self> {
        Arc::new(Outlet { id, streams: Mutex::new(Streams::Streamable(Vec::new())) })
    }

    /// The outlet of a new legacy session whose stream reads from the other end of `tx`.
    pub(crate) fn legacy(id: Arc<str>, tx: mpsc::Sender<String>) -> Arc<Self> {
        Arc::new(Outlet { id, streams: Mutex::new(Streams::Legacy(tx)) })
    }

    /// A handle for this outlet's session that delivers through it.
    pub(crate) fn handle(self: &Arc<Self>) -> SessionHandle {
        SessionHandle::new(self.id.clone(), self.clone())
    }

    fn lock(&self) -> MutexGuard<'_, Streams> {
        self.streams.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues one serialized message without waiting: on a streamable session on the most
    /// recently opened GET stream that is still open (MCP: each message on one stream only), on a
    /// legacy session on its stream. `false` if no stream took it (none open, or queue full).
    pub(crate) fn offer(&self, json: &str) -> bool {
        let mut streams = self.lock();
        match &mut *streams {
            Streams::Streamable(streams) => {
                while let Some(tx) = streams.last() {
                    match tx.try_send(json.to_owned()) {
                        Ok(()) => return true,
                        Err(TrySendError::Closed(_)) => {
                            streams.pop();
                        }
                        Err(TrySendError::Full(_)) => {
                            tracing::warn!(session = %self.id, "stream queue full, message dropped");
                            return false;
                        }
                    }
                }
                false
            }
            Streams::Legacy(tx) => match tx.try_send(json.to_owned()) {
                Ok(()) => true,
                Err(TrySendError::Full(_)) => {
                    tracing::warn!(session = %self.id, "stream queue full, message dropped");
                    false
                }
                Err(TrySendError::Closed(_)) => false,
            },
            Streams::Closed => false,
        }
    }

    /// Adds a GET stream to a streamable session; `false` if the session has ended.
    fn add_stream(&self, tx: mpsc::Sender<String>) -> bool {
        match &mut *self.lock() {
            Streams::Streamable(streams) => {
                streams.retain(|tx| !tx.is_closed());
                streams.push(tx);
                true
            }
            Streams::Legacy(_) | Streams::Closed => false,
        }
    }

    /// Whether a streamable session has an open GET stream (prunes closed ones); legacy
    /// sessions always count as streaming (they end with their stream).
    fn is_streaming(&self) -> bool {
        match &mut *self.lock() {
            Streams::Streamable(streams) => {
                streams.retain(|tx| !tx.is_closed());
                !streams.is_empty()
            }
            Streams::Legacy(_) => true,
            Streams::Closed => false,
        }
    }

    /// The stream queue of a legacy session.
    fn legacy_sender(&self) -> Option<mpsc::Sender<String>> {
        match &*self.lock() {
            Streams::Legacy(tx) => Some(tx.clone()),
            Streams::Streamable(_) | Streams::Closed => None,
        }
    }

    /// Drops the stream queues (so the streams end) and refuses everything from now on.
    pub(crate) fn close(&self) {
        let streams = std::mem::replace(&mut *self.lock(), Streams::Closed);
        drop(streams);
    }
}

impl ClientSink for Outlet {
    fn send(&self, message: &Message) -> bool {
        self.offer(&wire::to_json(message))
    }
}

#[derive(Debug)]
struct Session {
    info: SessionInfo,
    outlet: Arc<Outlet>,
    handle: SessionHandle,
    /// Last time a request named this session or ended; idle streamable sessions expire.
    last_seen: tokio::time::Instant,
    /// Requests of the session being answered: a session is not idle while it waits.
    busy: Arc<std::sync::atomic::AtomicUsize>,
}

/// Marks a session busy while a request of it is answered (see [`Sessions::busy`]).
#[derive(Debug)]
pub(crate) struct Busy {
    busy: Arc<std::sync::atomic::AtomicUsize>,
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.busy.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

/// A session taken out of the table: its streams are closed already; whoever took it closes
/// the handle and tells the backend.
#[derive(Debug)]
pub(crate) struct Ended {
    pub(crate) info: SessionInfo,
    pub(crate) handle: SessionHandle,
}

impl From<Session> for Ended {
    fn from(session: Session) -> Self {
        session.outlet.close();
        Ended { info: session.info, handle: session.handle }
    }
}

/// Every live session, by id.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    map: Mutex<HashMap<Arc<str>, Session>>,
}

impl Sessions {
    // Lock order: the table, then an outlet. An outlet never takes the table's lock.
    fn lock(&self) -> MutexGuard<'_, HashMap<Arc<str>, Session>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many sessions are live.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    /// Registers a session with its outlet and the handle that delivers through it.
    pub(crate) fn insert(&self, info: SessionInfo, outlet: Arc<Outlet>, handle: SessionHandle) {
        let id = info.id.clone();
        let last_seen = tokio::time::Instant::now();
        let busy = Arc::default();
        self.lock().insert(id, Session { info, outlet, handle, last_seen, busy });
    }

    /// The session `id` and its handle, if it is live and uses `transport`.
    pub(crate) fn get(
        &self,
        id: &str,
        transport: Transport,
    ) -> Option<(SessionInfo, SessionHandle)> {
        let mut map = self.lock();
        let s = map.get_mut(id).filter(|s| s.info.transport == transport)?;
        s.last_seen = tokio::time::Instant::now();
        Some((s.info.clone(), s.handle.clone()))
    }

    /// Marks session `id` busy until the returned guard is dropped (a request being answered,
    /// which may take longer than the idle timeout).
    pub(crate) fn busy(&self, id: &str) -> Option<Busy> {
        let map = self.lock();
        let s = map.get(id)?;
        s.busy.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        Some(Busy { busy: s.busy.clone() })
    }

    /// Takes out streamable sessions that no request has named for `idle`, that have no open
    /// GET stream (clients often never send DELETE) and no request being answered. Legacy
    /// sessions end with their stream.
    pub(crate) fn expire_idle(&self, idle: std::time::Duration) -> Vec<Ended> {
        let now = tokio::time::Instant::now();
        let mut map = self.lock();
        let expired: Vec<Arc<str>> = map
            .iter()
            .filter(|(_, s)| {
                !s.outlet.is_streaming()
                    && s.busy.load(std::sync::atomic::Ordering::Acquire) == 0
                    && now.duration_since(s.last_seen) >= idle
            })
            .map(|(id, _)| id.clone())
            .collect();
        expired.iter().filter_map(|id| map.remove(id)).map(Ended::from).collect()
    }

    /// Records the protocol version a session negotiated.
    pub(crate) fn set_version(&self, id: &str, version: ProtocolVersion) {
        if let Some(s) = self.lock().get_mut(id) {
            s.info.protocol_version = version;
        }
    }

    /// Adds a GET stream to a streamable session; `false` if the session is gone.
    pub(crate) fn add_stream(&self, id: &str, tx: mpsc::Sender<String>) -> bool {
        self.lock().get(id).is_some_and(|s| s.outlet.add_stream(tx))
    }

    /// The stream queue of a legacy session.
    pub(crate) fn legacy_sender(&self, id: &str) -> Option<mpsc::Sender<String>> {
        self.lock().get(id).and_then(|s| s.outlet.legacy_sender())
    }

    /// Takes a session out (its stream queues close, so its streams end).
    pub(crate) fn remove(&self, id: &str) -> Option<Ended> {
        self.lock().remove(id).map(Ended::from)
    }

    /// Takes every session out.
    pub(crate) fn drain(&self) -> Vec<Ended> {
        self.lock().drain().map(|(_, s)| Ended::from(s)).collect()
    }

    /// Queues one serialized notification for every session, on one stream of each (see
    /// [`Outlet::offer`]); a streamable session without an open GET stream does not get it, as
    /// the spec allows.
    pub(crate) fn broadcast(&self, json: &str) {
        let outlets: Vec<Arc<Outlet>> = self.lock().values().map(|s| s.outlet.clone()).collect();
        for outlet in outlets {
            outlet.offer(json);
        }
    }
}
