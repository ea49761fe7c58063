//! The facade itself: settings, shared state, the router and the notification fan-out.

use std::{
    fmt,
    sync::{
        Arc, Weak,
        atomic::{AtomicBool, Ordering},
    },
};

use axum::{
    Router,
    extract::DefaultBodyLimit,
    middleware,
    routing::{any, get, post},
};
use hub_protocol::Message;
use tokio::sync::broadcast::error::RecvError;

use crate::{
    api,
    backend::{Backend, SessionInfo},
    guard::{self, Guard},
    legacy,
    session::{Ended, Sessions},
    streamable, wire,
};

/// How the facade accepts requests.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `Host` header values (host name part; the port is ignored) accepted. The default is
    /// `["localhost", "127.0.0.1", "::1"]` (`[::1]` in a `Host` header matches `::1`). Empty: no
    /// `Host` check, for an operator who binds a non-loopback address and opts out.
    pub allowed_hosts: Vec<String>,
    /// Exact `Origin` values accepted besides any `http(s)://localhost|127.0.0.1|[::1](:port)`
    /// origin. A request without `Origin` is accepted (non-browser clients).
    pub allowed_origins: Vec<String>,
    /// Largest accepted POST body; larger ones get 413 with a JSON-RPC error body.
    pub max_body_bytes: usize,
    /// Most live sessions; `initialize` (or a legacy `GET /mcp`) beyond it gets 503.
    pub max_sessions: usize,
    /// A streamable-HTTP session that no request names for this long, and that has no open GET
    /// stream, is forgotten (checked whenever a session is created); later use gets 404, which
    /// tells a client to initialize again. Default 1 hour.
    pub session_idle_timeout: std::time::Duration,
    /// Reported as `version` by `/api/health` (mcphub.nvim requires exactly `4.2.1`).
    pub version: String,
    /// The listening port, for logs.
    pub port: u16,
    /// How long an SSE answer of a 2025-11-25 session waits for its client to resume it
    /// (`GET /mcp` with `Last-Event-ID`) after the connection dropped, before its request is
    /// cancelled; also how long a finished one is kept for a late resumption. Zero: SSE answers
    /// carry no event ids and a dropped connection cancels its request at once. Default 10 s.
    pub resume_window: std::time::Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            allowed_hosts: ["localhost", "127.0.0.1", "::1"].map(str::to_owned).to_vec(),
            allowed_origins: Vec::new(),
            max_body_bytes: 4 * 1024 * 1024,
            max_sessions: 10_000,
            session_idle_timeout: std::time::Duration::from_secs(3600),
            version: "4.2.1".to_owned(),
            port: 37373,
            resume_window: std::time::Duration::from_secs(10),
        }
    }
}

/// The HTTP facade: build it once, serve [`Facade::router`], call [`Facade::close_all`] on
/// shutdown. Cloning is cheap and shares the sessions.
pub struct Facade<B> {
    shared: Arc<Shared<B>>,
}

/// State shared by every route.
pub(crate) struct Shared<B> {
    pub(crate) backend: Arc<B>,
    pub(crate) settings: Settings,
    pub(crate) sessions: Sessions,
    guard: Arc<Guard>,
    fanout_started: AtomicBool,
    /// The `/api/events` listeners, and the signal that ends their streams.
    pub(crate) listeners: crate::events::Listeners,
    /// The resumable SSE answers of every session.
    pub(crate) replays: Arc<crate::resume::Replays>,
}

impl<B> Clone for Facade<B> {
    fn clone(&self) -> Self {
        Facade { shared: self.shared.clone() }
    }
}

impl<B> fmt::Debug for Facade<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Facade")
            .field("settings", &self.shared.settings)
            .field("sessions", &self.shared.sessions.len())
            .finish_non_exhaustive()
    }
}

impl<B: Backend> Facade<B> {
    /// A facade in front of `backend`.
    pub fn new(backend: Arc<B>, settings: Settings) -> Self {
        let guard = Arc::new(Guard::new(&settings));
        let shared = Shared {
            backend,
            settings,
            sessions: Sessions::default(),
            guard,
            fanout_started: AtomicBool::new(false),
            listeners: crate::events::Listeners::default(),
            replays: Arc::default(),
        };
        Facade { shared: Arc::new(shared) }
    }

    /// Every route: `/mcp` (POST, GET, DELETE), `/messages` (POST), `/api/health`,
    /// `/api/servers`, and a JSON 404 for other `/api` paths; all behind the Host/Origin check.
    ///
    /// The first call (inside a tokio runtime) starts the task that forwards the backend's
    /// notifications to the sessions' streams.
    pub fn router(&self) -> Router {
        self.shared.ensure_fanout();
        let shared = self.shared.clone();
        Router::new()
            .route(
                "/mcp",
                post(streamable::post::<B>)
                    .get(streamable::get::<B>)
                    .delete(streamable::delete::<B>),
            )
            .route("/messages", post(legacy::post::<B>))
            .route("/api/health", get(api::health::<B>))
            .route("/api/servers", get(api::servers::<B>))
            .route("/api/events", get(crate::events::stream::<B>))
            .route("/api/servers/tools", post(api::call_tool::<B>))
            .route("/api/servers/resources", post(api::read_resource::<B>))
            .route("/api/servers/prompts", post(api::get_prompt::<B>))
            .route("/api", any(api::not_found))
            .route("/api/{*rest}", any(api::not_found))
            .with_state(shared)
            .layer(DefaultBodyLimit::max(self.shared.settings.max_body_bytes))
            .layer(middleware::from_fn_with_state(self.shared.guard.clone(), guard::check))
    }

    /// How many sessions (streamable and legacy) are live.
    pub fn session_count(&self) -> usize {
        self.shared.session_count()
    }

    /// Ends every SSE stream (`/api/events` ones too) and forgets every session (calls `backend.session_closed` for
    /// each), so a graceful server shutdown is not held open by long-lived streams.
    pub fn close_all(&self) {
        self.shared.listeners.close();
        for ended in self.shared.sessions.drain() {
            self.shared.ended(&ended, "shutdown");
        }
    }
}

impl<B: Backend> Shared<B> {
    /// How many sessions are live.
    pub(crate) fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// Forgets a session and tells the backend; `false` if it was already gone.
    pub(crate) fn close_session(&self, id: &str, why: &str) -> bool {
        match self.sessions.remove(id) {
            Some(ended) => {
                self.ended(&ended, why);
                true
            }
            None => false,
        }
    }

    /// Finishes a session taken out of the table: requests it waits for from the client fail
    /// with [`ClientError::Closed`](crate::ClientError::Closed), then the backend is told.
    pub(crate) fn ended(&self, ended: &Ended, why: &str) {
        let info = &ended.info;
        tracing::info!(session = %info.id, transport = ?info.transport, "session closed: {why}");
        self.replays.end_session(&info.id);
        ended.handle.close();
        self.backend.session_closed(info);
    }

    /// Registers a new session, logging it.
    pub(crate) fn opened(&self, info: &SessionInfo) {
        tracing::info!(
            session = %info.id,
            transport = ?info.transport,
            protocol_version = %info.protocol_version,
            port = self.settings.port,
            "session opened"
        );
    }

    /// Starts the notification fan-out task once, if a runtime is available.
    pub(crate) fn ensure_fanout(self: &Arc<Self>) {
        if self.fanout_started.load(Ordering::Acquire) {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            tracing::debug!("no tokio runtime yet, notification fan-out deferred");
            return;
        };
        if self.fanout_started.swap(true, Ordering::AcqRel) {
            return;
        }
        let rx = self.backend.subscribe();
        handle.spawn(fanout(Arc::downgrade(self), rx));
    }
}

/// Forwards every backend notification to every live session until the facade or the
/// backend's sender is gone.
async fn fanout<B: Backend>(
    shared: Weak<Shared<B>>,
    mut rx: tokio::sync::broadcast::Receiver<hub_protocol::Notification>,
) {
    loop {
        let notification = match rx.recv().await {
            Ok(n) => n,
            Err(RecvError::Lagged(n)) => {
                tracing::warn!(skipped = n, "notification fan-out lagged");
                continue;
            }
            Err(RecvError::Closed) => break,
        };
        let Some(shared) = shared.upgrade() else { break };
        tracing::debug!(method = %notification.method, "broadcasting notification");
        let json = wire::to_json(&Message::Notification(notification));
        shared.sessions.broadcast(&json);
    }
    tracing::debug!("notification fan-out ended");
}

#[cfg(test)]
mod tests;
