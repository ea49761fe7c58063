//! What upstreams send on their own initiative, relayed to the right client: progress, log
//! messages and server-to-client requests (`sampling/createMessage`, `elicitation/create`,
//! `roots/list`) go to the session whose call caused them; resource updates to the sessions
//! subscribed; log messages no call claims to the sessions that asked for logs.
//!
//! A routed call asks its upstream for progress with a token of the transport's own (so tokens
//! never collide on a shared connection; the progress also keeps the call alive) and gets the
//! messages related to it on a channel (`CallOptions::related`): this module maps them back to
//! the client's token and session.

use std::sync::Arc;

use hub_http::{ClientError, Context};
use hub_protocol::{
    ErrorObject, Id, Message, Notification, Request, Response,
    jsonrpc::{INTERNAL_ERROR, METHOD_NOT_FOUND},
    mcp::{CancelledParams, ProgressParams, method},
};
use hub_transport::Peer;
use serde_json::{Value, json};
use tracing::{debug, warn};

use super::{Inner, Upstream, lock};
use crate::sessions::{ClientCapability, LogLevel};

/// Resolves when a relayed server request is over (answered, or cancelled at the client).
pub(super) type RelayDone = tokio::sync::oneshot::Receiver<()>;

/// The level of a `notifications/message`, if it names a known one.
pub(super) fn level_of(n: &Notification) -> Option<LogLevel> {
    #[derive(serde::Deserialize)]
    struct Params {
        level: String,
    }
    n.parse_params::<Params>().ok().and_then(|p| LogLevel::parse(&p.level))
}

impl Inner {
    /// A message an upstream sent about a call of `ctx`'s session (`token`: the client's
    /// progress token, if it asked for progress; `own`: the call went to the session's own
    /// child of a `per-session` server). Returns, when the message cancels a request
    /// the server sent the client for this call, what resolves once the client has been told:
    /// the caller waits for it before the call's answer goes out.
    pub(super) fn relate(
        self: &Arc<Self>,
        (u, generation, peer, own): (&Arc<Upstream>, u64, &Peer, bool),
        ctx: &Context,
        token: Option<&Id>,
        message: Message,
    ) -> Option<RelayDone> {
        match message {
            Message::Notification(n) if n.method == method::CANCELLED => {
                return self.start_cancel_relay(&u.name, peer, &n);
            }
            Message::Notification(n) if n.method == method::PROGRESS => {
                // The client asked for none: the hub asked only to keep the call alive.
                let token = token?;
                match n.parse_params::<ProgressParams>() {
                    Ok(mut p) => {
                        p.progress_token = token.clone();
                        ctx.notify(Notification::new(method::PROGRESS, Some(&json!(p))));
                    }
                    Err(e) => debug!(server = %u.name, error = %e.message, "malformed progress"),
                }
            }
            Message::Notification(n) if n.method == method::LOG_MESSAGE => {
                let client = self.sessions.get(&ctx.session().id);
                if client.is_none_or(|c| c.wants_log(level_of(&n))) {
                    ctx.notify(n);
                }
            }
            // From the session's own child (`own`): as that child's notifications always go.
            Message::Notification(n) if own => self.instance_notification(u, peer, ctx, n),
            Message::Notification(n) => {
                // Not about the call (a list changed, a resource was updated): as if it came
                // on its own.
                let (inner, u, peer) = (self.clone(), u.clone(), peer.clone());
                tokio::spawn(async move { inner.on_notification(&u, generation, &peer, n).await });
            }
            Message::Request(r) => self.spawn_relay(&u.name, peer, Some(ctx.clone()), r),
            Message::Response(_) => {}
        }
        None
    }

    /// A notification no call claims.
    pub(super) fn unrelated_notification(
        self: &Arc<Self>,
        u: &Upstream,
        peer: &Peer,
        n: &Notification,
    ) {
        match n.method.as_str() {
            method::LOG_MESSAGE if Self::may_belong_to_a_call(u, peer) => {
                // Over stdio or legacy SSE with several calls in flight the transport cannot tell
                // whose it is: dropped rather than shown to sessions that did not cause it.
                debug!(server = %u.name, "log message of one of several calls in flight dropped");
            }
            method::LOG_MESSAGE => {
                let listeners = self.sessions.log_listeners(level_of(n));
                debug!(server = %u.name, listeners = listeners.len(), "server log message");
                for handle in listeners {
                    handle.notify(n.clone());
                }
            }
            method::RESOURCES_UPDATED => self.resource_updated(u, n),
            method::CANCELLED => {
                let (inner, name, peer, n) =
                    (self.clone(), u.name.clone(), peer.clone(), n.clone());
                tokio::spawn(async move { inner.cancel_relay(&name, &peer, &n).await });
            }
            method::PROGRESS => debug!(server = %u.name, "progress for no call in flight"),
            other => debug!(server = %u.name, method = other, "server notification ignored"),
        }
    }

    /// Whether a message `peer` sent on its own could have been caused by one of `u`'s calls
    /// in flight: the transport relates what it can (see `CallOptions::related`), so this is
    /// the case of a transport that cannot tell ([`Peer::tells_origin`]) with more than one
    /// call at once.
    fn may_belong_to_a_call(u: &Upstream, peer: &Peer) -> bool {
        !peer.tells_origin() && lock(&u.state).in_flight > 0
    }

    /// `notifications/resources/updated`: to each subscriber, with the URI it subscribed with.
    fn resource_updated(&self, u: &Upstream, n: &Notification) {
        #[derive(serde::Deserialize)]
        struct Params {
            uri: String,
            #[serde(flatten)]
            extra: serde_json::Map<String, Value>,
        }
        let Ok(p) = n.parse_params::<Params>() else {
            debug!(server = %u.name, "malformed resources/updated");
            return;
        };
        let subscribers = self.sessions.subscribers(&(u.name.clone(), p.uri.clone()));
        for (handle, exposed) in subscribers {
            let mut params = p.extra.clone();
            params.insert("uri".to_owned(), Value::String(exposed));
            handle
                .notify(Notification::new(method::RESOURCES_UPDATED, Some(&Value::Object(params))));
        }
    }

    /// Relays a server's request (see [`Inner::relay_request`]) in a task the server can cancel
    /// with `notifications/cancelled`, which then cancels it at the client too.
    pub(super) fn spawn_relay(
        self: &Arc<Self>,
        server: &str,
        peer: &Peer,
        ctx: Option<Context>,
        request: Request,
    ) {
        let key = (peer.serial(), request.id.clone());
        let (cancel, cancelled) = tokio::sync::oneshot::channel::<()>();
        let (done_tx, done) = tokio::sync::oneshot::channel::<()>();
        lock(&self.relays).insert(key.clone(), (cancel, done));
        let (inner, peer, server) = (self.clone(), peer.clone(), server.to_owned());
        tokio::spawn(async move {
            inner.relay_request(&server, &peer, ctx, request, cancelled).await;
            lock(&inner.relays).remove(&key);
            done_tx.send(()).ok();
        });
    }

    /// The server cancelled a request it sent: stop relaying it; returns once the client has
    /// been sent `notifications/cancelled`.
    pub(super) async fn cancel_relay(&self, server: &str, peer: &Peer, n: &Notification) {
        if let Some(done) = self.start_cancel_relay(server, peer, n) {
            // Sent, or dropped: either way the relay is over.
            done.await.ok();
        }
    }

    /// Stops relaying the request `n` cancels, if it is still being relayed; what it returns
    /// resolves once the client has been told.
    fn start_cancel_relay(&self, server: &str, peer: &Peer, n: &Notification) -> Option<RelayDone> {
        let p = n.parse_params::<CancelledParams>().ok()?;
        let (cancel, done) = lock(&self.relays).remove(&(peer.serial(), p.request_id))?;
        debug!(server, "the server cancelled its request to the client");
        cancel.send(()).ok();
        Some(done)
    }

    /// A server's request to the client: to `ctx`'s session when a call claims it, else to the
    /// only session whose client can answer it; the answer (or why there is none) goes back.
    async fn relay_request(
        &self,
        server: &str,
        peer: &Peer,
        ctx: Option<Context>,
        request: Request,
        cancelled: tokio::sync::oneshot::Receiver<()>,
    ) {
        let id = request.id.clone();
        let mut asking = Box::pin(self.ask_client(server, ctx, request));
        let outcome = tokio::select! {
            outcome = &mut asking => outcome,
            Ok(()) = cancelled => {
                // Dropping the request to the client tells the client; the server that
                // cancelled expects no answer.
                drop(asking);
                return;
            }
        };
        let response = match outcome {
            Ok(result) => Response::ok(id, result),
            Err(error) => Response::err(Some(id), error),
        };
        if let Err(error) = peer.respond(response).await {
            debug!(server, %error, "could not answer the server's request");
        }
    }

    async fn ask_client(
        &self,
        server: &str,
        ctx: Option<Context>,
        request: Request,
    ) -> Result<Box<hub_protocol::RawValue>, ErrorObject> {
        let Some(capability) = ClientCapability::for_method(&request.method) else {
            return Err(ErrorObject::new(
                METHOD_NOT_FOUND,
                format!("method not found: {}", request.method),
            ));
        };
        let key = capability.key();
        let ctx = match ctx {
            Some(ctx) => {
                let client = self.sessions.get(&ctx.session().id);
                if !client.is_some_and(|c| c.supports(capability)) {
                    return Err(ErrorObject::new(
                        METHOD_NOT_FOUND,
                        format!("the client of this call does not support {key}"),
                    ));
                }
                ctx
            }
            None => match self.sessions.only_supporting(capability) {
                Ok(client) => Context::new(client.info, client.handle, None),
                Err(0) => {
                    return Err(ErrorObject::new(
                        METHOD_NOT_FOUND,
                        format!("no client connected to the hub supports {key}"),
                    ));
                }
                Err(n) => {
                    return Err(ErrorObject::new(
                        INTERNAL_ERROR,
                        format!(
                            "{n} clients of the hub support {key}, and this request cannot be \
                             matched to one of the server's calls in flight (over stdio or \
                             legacy SSE, with several calls at once); give the server \
                             \"sharing\": \"per-session\", or serve it over streamable HTTP"
                        ),
                    ));
                }
            },
        };
        debug!(server, method = %request.method, session = %ctx.session().id, "relaying a server request");
        let timeout = self.settings.request_max_total;
        match ctx.request(&request.method, request.params, timeout).await {
            Ok(result) => Ok(result),
            Err(ClientError::Rpc(error)) => Err(error),
            Err(error) => Err(ErrorObject::new(INTERNAL_ERROR, format!("{error}"))),
        }
    }

    /// Brings every connected upstream that offers logging to the level the sessions need
    /// ([`Sessions::log_level`](crate::sessions::Sessions::log_level)), and returns once they
    /// answered. One sync at a time, each computing the level when it sends it, so concurrent
    /// `logging/setLevel`s leave the upstreams at the level of the last state, never an older one.
    pub(super) async fn sync_log_levels(self: &Arc<Self>) {
        let mut synced = self.log_sync.lock().await;
        let Some(level) = self.sessions.log_level() else { return };
        if *synced == Some(level) {
            return; // upstreams that connected since got it from `resume_client_state`
        }
        *synced = Some(level);
        let upstreams = self.upstreams();
        let sets = upstreams.iter().map(|u| self.set_upstream_log_level(u, level));
        futures_util::future::join_all(sets).await;
    }

    /// Sends `logging/setLevel` to one upstream if it offers logging and is connected.
    pub(super) async fn set_upstream_log_level(&self, u: &Upstream, level: LogLevel) {
        let peer = {
            let st = lock(&u.state);
            if !st.capabilities.contains_key("logging") {
                return;
            }
            st.peer.clone()
        };
        let Some(peer) = peer else { return };
        let params = serde_json::value::to_raw_value(&json!({"level": level.as_str()})).ok();
        let timeout = self.settings.list_timeout;
        if let Err(error) = peer.request(method::LOGGING_SET_LEVEL, params, timeout).await {
            warn!(server = %u.name, %error, "could not set the server's log level");
        }
    }
}
