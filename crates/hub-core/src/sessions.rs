//! What the hub knows of its clients: each session's way back, the capabilities its client
//! declared, the log level it asked for, and which resources it subscribed to.
//!
//! Pure bookkeeping (no IO): the relay in `hub/relay.rs` decides what to send where.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex, PoisonError},
};

use hub_http::{SessionHandle, SessionInfo};
use hub_protocol::mcp::Extra;
pub(crate) use hub_protocol::mcp::LogLevel;

/// A capability a client may declare, which the hub needs before relaying a server's request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientCapability {
    Sampling,
    Elicitation,
    Roots,
}

impl ClientCapability {
    /// The capability a server-to-client request needs; `None` for a method the hub does not
    /// relay.
    pub(crate) fn for_method(method: &str) -> Option<Self> {
        match method {
            "sampling/createMessage" => Some(ClientCapability::Sampling),
            "elicitation/create" => Some(ClientCapability::Elicitation),
            "roots/list" => Some(ClientCapability::Roots),
            _ => None,
        }
    }

    pub(crate) fn key(self) -> &'static str {
        match self {
            ClientCapability::Sampling => "sampling",
            ClientCapability::Elicitation => "elicitation",
            ClientCapability::Roots => "roots",
        }
    }
}

/// One client session.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    pub(crate) info: SessionInfo,
    pub(crate) handle: SessionHandle,
    /// What the client declared in `initialize`.
    pub(crate) capabilities: Extra,
    /// What it asked for with `logging/setLevel`; `None`: everything the servers send.
    pub(crate) log_level: Option<LogLevel>,
}

impl Client {
    pub(crate) fn supports(&self, capability: ClientCapability) -> bool {
        self.capabilities.get(capability.key()).is_some_and(|v| !v.is_null())
    }

    /// Whether a log message at `level` (unknown: always) reaches this client.
    pub(crate) fn wants_log(&self, level: Option<LogLevel>) -> bool {
        match (self.log_level, level) {
            (Some(min), Some(level)) => level >= min,
            _ => true,
        }
    }
}

/// A resource an upstream serves, by the upstream's name and the URI it knows it by.
pub(crate) type ResourceKey = (String, String);

/// Every client session the hub has seen initialize, and the resource subscriptions.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    sessions: Mutex<HashMap<Arc<str>, Client>>,
    /// Subscribed resources → the sessions subscribed, each with the URI it used.
    subscriptions: Mutex<BTreeMap<ResourceKey, BTreeMap<Arc<str>, String>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Sessions {
    /// A session initialized: remember its way back and its capabilities.
    pub(crate) fn initialized(
        &self,
        info: SessionInfo,
        handle: SessionHandle,
        capabilities: Extra,
    ) {
        let id = info.id.clone();
        lock(&self.sessions).insert(id, Client { info, handle, capabilities, log_level: None });
    }

    /// A session ended: forgets it and returns the resources no session is subscribed to any
    /// more (to unsubscribe upstream).
    pub(crate) fn closed(&self, session: &str) -> Vec<ResourceKey> {
        lock(&self.sessions).remove(session);
        let mut subs = lock(&self.subscriptions);
        let mut unused = Vec::new();
        subs.retain(|key, sessions| {
            sessions.remove(session);
            let keep = !sessions.is_empty();
            if !keep {
                unused.push(key.clone());
            }
            keep
        });
        unused
    }

    pub(crate) fn get(&self, session: &str) -> Option<Client> {
        lock(&self.sessions).get(session).cloned()
    }

    /// Records a session's log level.
    pub(crate) fn set_log_level(&self, session: &str, level: LogLevel) {
        if let Some(c) = lock(&self.sessions).get_mut(session) {
            c.log_level = Some(level);
        }
    }

    /// The level upstreams must send at so that every session gets what it wants (the hub
    /// filters per session): the most verbose any session asked for, and `debug` while a
    /// session that asked for nothing (which gets everything) shares the hub with one that
    /// did. `None` while no session asked: the servers keep their own default.
    pub(crate) fn log_level(&self) -> Option<LogLevel> {
        let sessions = lock(&self.sessions);
        let asked = sessions.values().filter_map(|c| c.log_level).min()?;
        let everything = sessions.values().any(|c| c.log_level.is_none());
        Some(if everything { LogLevel::Debug } else { asked })
    }

    /// The sessions that asked for log messages (`logging/setLevel`) at `level` or below: where
    /// a message no request can claim goes.
    pub(crate) fn log_listeners(&self, level: Option<LogLevel>) -> Vec<SessionHandle> {
        lock(&self.sessions)
            .values()
            .filter(|c| c.log_level.is_some() && c.wants_log(level))
            .map(|c| c.handle.clone())
            .collect()
    }

    /// The one session whose client supports `capability`, if exactly one does: who gets a
    /// server's request that no call can claim.
    pub(crate) fn only_supporting(&self, capability: ClientCapability) -> Result<Client, usize> {
        let sessions = lock(&self.sessions);
        let mut able = sessions.values().filter(|c| c.supports(capability));
        match (able.next(), able.next()) {
            (Some(only), None) => Ok(only.clone()),
            (None, _) => Err(0),
            (Some(_), Some(_)) => Err(2 + able.count()),
        }
    }

    /// Subscribes `session` (which named the resource `exposed`); `true` if it is the first
    /// subscriber (subscribe upstream).
    pub(crate) fn subscribe(&self, key: ResourceKey, session: Arc<str>, exposed: String) -> bool {
        let mut subs = lock(&self.subscriptions);
        let sessions = subs.entry(key).or_default();
        let first = sessions.is_empty();
        sessions.insert(session, exposed);
        first
    }

    /// Unsubscribes `session`; `true` if no subscriber is left (unsubscribe upstream).
    pub(crate) fn unsubscribe(&self, key: &ResourceKey, session: &str) -> bool {
        let mut subs = lock(&self.subscriptions);
        let Some(sessions) = subs.get_mut(key) else { return false };
        let was = sessions.remove(session).is_some();
        let last = was && sessions.is_empty();
        if sessions.is_empty() {
            subs.remove(key);
        }
        last
    }

    /// The subscribers of a resource, with the URI each used.
    pub(crate) fn subscribers(&self, key: &ResourceKey) -> Vec<(SessionHandle, String)> {
        let subs = lock(&self.subscriptions);
        let sessions = lock(&self.sessions);
        subs.get(key)
            .into_iter()
            .flatten()
            .filter_map(|(id, uri)| sessions.get(id).map(|c| (c.handle.clone(), uri.clone())))
            .collect()
    }

    /// The resources of upstream `server` someone is subscribed to (to subscribe again after a
    /// reconnect).
    pub(crate) fn subscribed_on(&self, server: &str) -> Vec<String> {
        lock(&self.subscriptions)
            .keys()
            .filter(|(s, _)| s == server)
            .map(|(_, uri)| uri.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests;
