//! The session table: every live session, its negotiated protocol version, and the outbound
//! queues of its SSE streams.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use hub_protocol::ProtocolVersion;
use tokio::sync::mpsc::{self, error::TrySendError};

use crate::backend::{SessionInfo, Transport};

/// Where server-initiated messages of a session go.
#[derive(Debug)]
enum Outlet {
    /// Streamable HTTP: the standalone GET streams, oldest first (closed ones pruned lazily).
    Streamable(Vec<mpsc::Sender<String>>),
    /// Legacy HTTP+SSE: the one stream opened by `GET /mcp`.
    Legacy(mpsc::Sender<String>),
}

#[derive(Debug)]
struct Session {
    info: SessionInfo,
    outlet: Outlet,
    /// Last time a request named this session; idle streamable sessions expire.
    last_seen: tokio::time::Instant,
}

/// Every live session, by id.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    map: Mutex<HashMap<Arc<str>, Session>>,
}

impl Sessions {
    fn lock(&self) -> MutexGuard<'_, HashMap<Arc<str>, Session>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many sessions are live.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    /// Registers a streamable-HTTP session (no GET stream yet).
    pub(crate) fn insert_streamable(&self, info: SessionInfo) {
        let id = info.id.clone();
        let last_seen = tokio::time::Instant::now();
        self.lock().insert(id, Session { info, outlet: Outlet::Streamable(Vec::new()), last_seen });
    }

    /// Registers a legacy session whose stream reads from the other end of `tx`.
    pub(crate) fn insert_legacy(&self, info: SessionInfo, tx: mpsc::Sender<String>) {
        let id = info.id.clone();
        let last_seen = tokio::time::Instant::now();
        self.lock().insert(id, Session { info, outlet: Outlet::Legacy(tx), last_seen });
    }

    /// The session `id` if it is live and uses `transport`.
    pub(crate) fn get(&self, id: &str, transport: Transport) -> Option<SessionInfo> {
        let mut map = self.lock();
        let s = map.get_mut(id).filter(|s| s.info.transport == transport)?;
        s.last_seen = tokio::time::Instant::now();
        Some(s.info.clone())
    }

    /// Forgets streamable sessions that no request has named for `idle` and that have no open
    /// GET stream (clients often never send DELETE). Legacy sessions end with their stream.
    pub(crate) fn expire_idle(&self, idle: std::time::Duration) -> Vec<SessionInfo> {
        let now = tokio::time::Instant::now();
        let mut map = self.lock();
        let expired: Vec<Arc<str>> = map
            .iter_mut()
            .filter_map(|(id, s)| match &mut s.outlet {
                Outlet::Streamable(streams) => {
                    streams.retain(|tx| !tx.is_closed());
                    (streams.is_empty() && now.duration_since(s.last_seen) >= idle)
                        .then(|| id.clone())
                }
                Outlet::Legacy(_) => None,
            })
            .collect();
        expired.iter().filter_map(|id| map.remove(id)).map(|s| s.info).collect()
    }

    /// Records the protocol version a session negotiated.
    pub(crate) fn set_version(&self, id: &str, version: ProtocolVersion) {
        if let Some(s) = self.lock().get_mut(id) {
            s.info.protocol_version = version;
        }
    }

    /// Adds a GET stream to a streamable session; `false` if the session is gone.
    pub(crate) fn add_stream(&self, id: &str, tx: mpsc::Sender<String>) -> bool {
        match self.lock().get_mut(id).map(|s| &mut s.outlet) {
            Some(Outlet::Streamable(streams)) => {
                streams.push(tx);
                true
            }
            _ => false,
        }
    }

    /// The stream queue of a legacy session.
    pub(crate) fn legacy_sender(&self, id: &str) -> Option<mpsc::Sender<String>> {
        match self.lock().get(id).map(|s| &s.outlet) {
            Some(Outlet::Legacy(tx)) => Some(tx.clone()),
            _ => None,
        }
    }

    /// Forgets a session (its stream queues close, so its streams end).
    pub(crate) fn remove(&self, id: &str) -> Option<SessionInfo> {
        self.lock().remove(id).map(|s| s.info)
    }

    /// Forgets every session.
    pub(crate) fn drain(&self) -> Vec<SessionInfo> {
        self.lock().drain().map(|(_, s)| s.info).collect()
    }

    /// Queues one serialized notification for every session: on a streamable session, to the
    /// most recently opened GET stream that is still open (none open: dropped, as the spec
    /// allows); on a legacy session, to its stream.
    pub(crate) fn broadcast(&self, json: &str) {
        let mut map = self.lock();
        for (id, session) in map.iter_mut() {
            match &mut session.outlet {
                Outlet::Streamable(streams) => {
                    streams.retain(|tx| !tx.is_closed());
                    while let Some(tx) = streams.last() {
                        match tx.try_send(json.to_owned()) {
                            Err(TrySendError::Closed(_)) => {
                                streams.pop();
                            }
                            Err(TrySendError::Full(_)) => {
                                tracing::warn!(session = %id, "stream queue full, notification dropped");
                                break;
                            }
                            Ok(()) => break,
                        }
                    }
                }
                Outlet::Legacy(tx) => {
                    if let Err(TrySendError::Full(_)) = tx.try_send(json.to_owned()) {
                        tracing::warn!(session = %id, "stream queue full, notification dropped");
                    }
                }
            }
        }
    }
}
