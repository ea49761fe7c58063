//! `"sharing": "per-session"` stdio servers: besides the shared child, which the hub asks for
//! the server's lists, each client session gets a child of its own on its first call,
//! initialized with that client's capabilities (roots included: the child serves one client),
//! and stopped when the session ends or the server is stopped or restarted. `maxInstances`
//! caps how many such children a server has at once.
//!
//! Everything such a child sends on its own belongs to its session: requests go to that client,
//! log messages and resource updates to that session only.

use std::sync::{Arc, Mutex};

use hub_config::{ServerKind, Sharing};
use hub_http::Context;
use hub_protocol::{Message, Notification, mcp::method};
use hub_transport::{Incoming, Peer};
use tracing::{debug, info};

use super::{Inner, Instance, Upstream, lock};
use crate::{error::RouteError, supervise::Breaker, upstream};

impl Inner {
    /// The child a call of `ctx`'s session goes to on `u`: the session's own for a
    /// `per-session` server (started on its first call), `None` for the shared one.
    pub(super) async fn instance(
        self: &Arc<Self>,
        u: &Arc<Upstream>,
        ctx: &Context,
    ) -> Result<Option<(Peer, Arc<Instance>)>, RouteError> {
        let session = ctx.session().id.clone();
        if session.is_empty() {
            return Ok(None); // no client session (`Hub::handle`): the shared child serves it
        }
        let instance = {
            let mut st = lock(&u.state);
            let ServerKind::Stdio { sharing: Sharing::PerSession { max_instances }, .. } =
                st.entry.kind
            else {
                return Ok(None);
            };
            if st.peer.is_none() {
                return Ok(None); // down: the caller says so
            }
            // Children that exited or failed to start make room (the next call starts anew).
            st.instances.retain(|_, i| match i.peer.get() {
                None => true,
                Some(Ok(peer)) => !peer.is_closed(),
                Some(Err(_)) => false,
            });
            match st.instances.get(&session) {
                Some(i) => i.clone(),
                // The session ended meanwhile (its children were stopped): none for it now.
                None if ctx.handle().is_closed() => {
                    return Err(RouteError::NotConnected {
                        server: u.name.clone(),
                        reason: Some("the client session has ended".to_owned()),
                    });
                }
                None => {
                    if st.instances.len() >= max_instances as usize {
                        return Err(RouteError::TooManyInstances {
                            server: u.name.clone(),
                            max: max_instances,
                        });
                    }
                    let (stop, _) = tokio::sync::watch::channel(false);
                    let i = Arc::new(Instance {
                        generation: st.generation,
                        peer: tokio::sync::OnceCell::new(),
                        stop,
                        breaker: Mutex::new(Breaker::new(&self.settings.supervision.breaker)),
                    });
                    st.instances.insert(session.clone(), i.clone());
                    i
                }
            }
        };
        let started = instance.peer.get_or_init(|| self.start_instance(u, ctx, &instance)).await;
        match started {
            Ok(peer) => Ok(Some((peer.clone(), instance.clone()))),
            Err(reason) => Err(RouteError::NotConnected {
                server: u.name.clone(),
                reason: Some(reason.clone()),
            }),
        }
    }

    async fn start_instance(
        self: &Arc<Self>,
        u: &Arc<Upstream>,
        ctx: &Context,
        instance: &Instance,
    ) -> Result<Peer, String> {
        let entry = lock(&u.state).entry.clone();
        let session = &ctx.session().id;
        let capabilities = self.sessions.get(session).map(|c| c.capabilities).unwrap_or_default();
        let hello = upstream::Hello::for_client(&capabilities);
        let c = upstream::open(&entry, self.env.as_ref(), &self.settings, &self.clients, &hello)
            .await
            .map_err(|f| format!("cannot start a process for this session: {}", f.message()))?;
        let mut stop = instance.stop.subscribe();
        if *stop.borrow() || lock(&u.state).generation != instance.generation {
            c.peer.shutdown().await;
            return Err("the server was stopped or restarted meanwhile".to_owned());
        }
        info!(server = %u.name, %session, pid = ?c.peer.pid(), "started a process for a client session");
        let (inner, u, peer) = (self.clone(), u.clone(), c.peer.clone());
        let own = Context::new(ctx.session().clone(), ctx.handle().clone(), None);
        tokio::spawn(async move {
            tokio::select! {
                () = inner.follow_instance(&u, &own, &peer, c.incoming) => {}
                _ = stop.wait_for(|stop| *stop) => {}
            }
            debug!(server = %u.name, session = %own.session().id, "stopping a session's process");
            peer.shutdown().await;
        });
        Ok(c.peer)
    }

    /// What a session's child sends on its own, until it exits.
    async fn follow_instance(
        self: &Arc<Self>,
        u: &Arc<Upstream>,
        own: &Context,
        peer: &Peer,
        mut incoming: Incoming,
    ) {
        while let Some(message) = incoming.recv().await {
            match message {
                Message::Request(r) => self.spawn_relay(&u.name, peer, Some(own.clone()), r),
                Message::Notification(n) => self.instance_notification(u, peer, own, n),
                Message::Response(_) => {}
            }
        }
    }

    /// A notification of a session's child: log messages and updates of resources it
    /// subscribed to go to that session, a cancellation stops the relay of the child's request;
    /// list changes are the shared child's business.
    pub(super) fn instance_notification(
        self: &Arc<Self>,
        u: &Upstream,
        peer: &Peer,
        own: &Context,
        n: Notification,
    ) {
        let session = &own.session().id;
        match n.method.as_str() {
            method::CANCELLED => {
                let (inner, name, peer) = (self.clone(), u.name.clone(), peer.clone());
                tokio::spawn(async move { inner.cancel_relay(&name, &peer, &n).await });
            }
            method::LOG_MESSAGE => {
                let client = self.sessions.get(session);
                if client.is_some_and(|c| c.wants_log(super::relay::level_of(&n))) {
                    own.notify(n);
                }
            }
            method::RESOURCES_UPDATED => {
                #[derive(serde::Deserialize)]
                struct Params {
                    uri: String,
                }
                let Ok(p) = n.parse_params::<Params>() else { return };
                let key = (u.name.clone(), p.uri);
                let subscribed =
                    self.sessions.subscribers(&key).into_iter().find(|(h, _)| h.id() == session);
                if let Some((handle, exposed)) = subscribed {
                    let mut params = n
                        .parse_params::<serde_json::Map<String, serde_json::Value>>()
                        .unwrap_or_default();
                    params.insert("uri".to_owned(), serde_json::Value::String(exposed));
                    handle.notify(Notification::new(
                        method::RESOURCES_UPDATED,
                        Some(&serde_json::Value::Object(params)),
                    ));
                }
            }
            other => {
                debug!(server = %u.name, %session, method = other, "session process notification ignored")
            }
        }
    }

    /// A session ended: its children stop.
    pub(super) fn end_instances(&self, session: &str) {
        for u in self.upstreams().iter() {
            if let Some(i) = lock(&u.state).instances.remove(session) {
                i.stop.send_replace(true);
            }
        }
    }

    /// The client's roots changed: tell its children (the only upstreams that asked it for
    /// roots).
    pub(super) fn roots_changed(&self, session: &str) {
        for u in self.upstreams().iter() {
            let peer = lock(&u.state).instances.get(session).and_then(|i| i.ready().cloned());
            if let Some(peer) = peer {
                let name = u.name.clone();
                tokio::spawn(async move {
                    if let Err(error) = peer.notify(method::ROOTS_LIST_CHANGED, None).await {
                        debug!(server = %name, %error, "could not pass on roots/list_changed");
                    }
                });
            }
        }
    }
}
