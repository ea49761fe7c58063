//! The hub: owns the upstreams, keeps the registry current, answers MCP requests.

mod dispatch;
mod instances;
mod lifecycle;
mod relay;
mod rest;

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex, RwLock, Weak},
    time::SystemTime,
};

use hub_config::{Changes, Config, ConfigError, EnvSource, Prefix, ServerKind};
use hub_events::{EventBus, Subscription};
use hub_http::{
    ApiError, Backend, Capabilities, Context, Counts, HubStatus, ServerCall, ServerInfo,
    SessionInfo, Transport,
};
use hub_protocol::{
    ErrorObject, Id, Notification, ProtocolVersion, RawValue, Request, Response,
    jsonrpc::{INVALID_PARAMS, METHOD_NOT_FOUND, REQUEST_CANCELLED},
    mcp::{
        CallToolParams, CancelledParams, Extra, GetPromptParams, InitializeParams, ListKind,
        ListPage, PaginatedParams, ReadResourceParams, method, progress_token,
    },
};
use hub_transport::{CallOptions, Incoming, Peer};
use serde_json::{Value, json};
use tokio::{sync::broadcast, time::Instant};
use tracing::{debug, error, info, warn};

use crate::{
    error::RouteError,
    registry::{Contribution, Lists, Registry, Target, assign_ids},
    sessions::{LogLevel, Sessions},
    settings::{PingSettings, Settings, Supervision},
    supervise::{Admission, Breaker, Decision, Restarts, Transition, human},
    upstream::{self, Failure, Status, error_chain},
};

/// How long the hub gathers list changes before telling clients (see [`Inner::announce`]).
const COALESCE: std::time::Duration = std::time::Duration::from_millis(25);

/// Lifecycle of the hub as a whole (mcp-hub's `HubState` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum State {
    /// Built, upstreams starting.
    Starting,
    /// Every upstream has been tried.
    Ready,
    /// Stopping upstreams.
    Stopping,
    /// Stopped.
    Stopped,
}

impl State {
    /// mcp-hub's spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            State::Starting => "starting",
            State::Ready => "ready",
            State::Stopping => "stopping",
            State::Stopped => "stopped",
        }
    }
}

/// An MCP hub. Cheap to share behind an `Arc`; every method takes `&self`.
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    settings: Settings,
    env: Arc<dyn EnvSource + Send + Sync>,
    /// The HTTP client all remote upstreams share (built on first use).
    clients: upstream::Clients,
    /// Every configured upstream in config order; replaced as a whole by a reload.
    upstreams: RwLock<Arc<Vec<Arc<Upstream>>>>,
    /// The registry and the upstreams its indices point into, swapped together.
    routing: RwLock<Arc<Routing>>,
    /// Held by [`Inner::rebuild`] from reading the upstreams to swapping `routing`, so two
    /// upstreams connecting at once cannot leave the older snapshot in place.
    rebuilding: Mutex<()>,
    /// The config last applied (what a reload diffs against).
    config: Mutex<Config>,
    /// Serialises reloads and restarts.
    reconfigure: tokio::sync::Mutex<()>,
    /// Client requests being answered, by session and request id: firing one cancels it.
    in_flight: Mutex<HashMap<(Arc<str>, Id), tokio::sync::oneshot::Sender<()>>>,
    /// The client sessions: their way back, capabilities, log levels, subscriptions.
    sessions: Sessions,
    /// Server requests being relayed to a client, by the connection they came on
    /// ([`Peer::serial`]) and the server's request id (the server may cancel them).
    relays: Mutex<HashMap<(u64, Id), Relay>>,
    /// The log level last sent to the upstreams; held while sending (see
    /// [`Inner::sync_log_levels`]).
    log_sync: tokio::sync::Mutex<Option<LogLevel>>,
    /// The live events (`GET /api/events`).
    events: EventBus,
    /// `list_changed` methods waiting to be sent (see [`Inner::announce`]).
    announcing: Arc<Mutex<Vec<&'static str>>>,
    notifications: broadcast::Sender<Notification>,
    state: Mutex<State>,
}

/// A server's request being relayed to a client: firing the sender cancels it at the client,
/// which has happened once the receiver resolves.
type Relay = (tokio::sync::oneshot::Sender<()>, tokio::sync::oneshot::Receiver<()>);

/// Why [`Inner::connect`] starts an upstream.
enum Start {
    /// Hub start, a reload, `restart_server`: with a fresh restart policy. `generation` is the
    /// upstream's when the start was decided; a stop or another reconfiguration since then
    /// (which bumps it) wins, so a start queued behind them does nothing.
    Deliberate { generation: u64 },
    /// A restart [`Inner::fail`] scheduled when the upstream was at `generation`; it does
    /// nothing if the generation moved on meanwhile. `note` is the error shown while connecting.
    Restart { generation: u64, note: String },
}

/// One routed call in flight: its outcome fed to the breaker of the process it was sent to.
/// Dropped unsettled (the caller went away), it frees a probe.
///
/// A call to the server's connection is counted in the server's `in_flight` and breaker; a call
/// to a session's own child (`per-session`) only in that child's breaker, so one session's
/// misbehaving process never refuses calls for the others or marks the server degraded.
struct Call<'a> {
    u: &'a Upstream,
    /// Where a change of the server's state is published.
    events: &'a EventBus,
    generation: u64,
    admitted: Admission,
    settled: bool,
    /// The session's own child the call went to, if any.
    instance: Option<(Arc<str>, Arc<Instance>)>,
}

impl Call<'_> {
    /// Records the outcome: `failure` is the transport error, `None` for an answer.
    fn settle(&mut self, failure: Option<String>) {
        self.settled = true;
        let server = &self.u.name;
        if let Some((session, i)) = &self.instance {
            let transition =
                lock(&i.breaker).record(Instant::now(), self.admitted, failure.is_none());
            match transition {
                Transition::Opened => warn!(
                    server = %server, %session, error = %failure.unwrap_or_default(),
                    "circuit breaker of a session's process open: its calls fail at once until a trial call gets an answer"
                ),
                Transition::Closed => info!(
                    server = %server, %session,
                    "circuit breaker of a session's process closed: the trial call got an answer"
                ),
                Transition::None => {}
            }
            return;
        }
        let mut st = lock(&self.u.state);
        if st.generation != self.generation {
            return;
        }
        let transition = st.breaker.record(Instant::now(), self.admitted, failure.is_none());
        if failure.is_some() {
            st.call_error = failure;
        }
        let status = st.view().0.as_str();
        let last = st.call_error.clone().unwrap_or_default();
        drop(st);
        match transition {
            Transition::Opened => warn!(
                server = %server, status, error = %last,
                "circuit breaker open: calls fail at once until a trial call gets an answer"
            ),
            Transition::Closed => info!(
                server = %server, status,
                "circuit breaker closed: the trial call got an answer"
            ),
            Transition::None => return,
        }
        server_changed(self.events, server);
    }
}

impl Drop for Call<'_> {
    fn drop(&mut self) {
        if let Some((_, i)) = &self.instance {
            if !self.settled {
                lock(&i.breaker).abandon(self.admitted);
            }
            return;
        }
        let mut st = lock(&self.u.state);
        st.in_flight = st.in_flight.saturating_sub(1);
        if !self.settled && st.generation == self.generation {
            st.breaker.abandon(self.admitted);
        }
    }
}

/// What `/mcp` routes by: the registry and the upstream list it was built from.
#[derive(Default)]
struct Routing {
    registry: Registry,
    servers: Vec<Arc<Upstream>>,
}

/// One configured server. Its identity (`name`, `id`) is fixed; its entry can change in place
/// on reload, and a restart bumps `generation` so tasks of the old connection stand down.
struct Upstream {
    name: String,
    id: String,
    state: Mutex<UpstreamState>,
    /// Held from fetching a changed list to storing it, so that of two refreshes the later
    /// fetch is always the one kept.
    refreshing: tokio::sync::Mutex<()>,
}

struct UpstreamState {
    entry: Arc<hub_config::Server>,
    status: Option<Status>,
    error: Option<String>,
    server_info: Option<Value>,
    /// The transport of the current connection (`Peer::transport`), once connected.
    transport: Option<&'static str>,
    capabilities: Extra,
    /// The server's `instructions` (combined into the hub's own).
    instructions: Option<String>,
    lists: Lists,
    last_started: Option<SystemTime>,
    connected_at: Option<Instant>,
    peer: Option<Peer>,
    /// Bumped on every (re)connect, stop and failure, so a stale task (a supervisor, a health
    /// check, a scheduled restart) cannot overwrite newer state or start a stopped server.
    generation: u64,
    /// The restart policy; a deliberate start begins a fresh one.
    restarts: Restarts,
    /// True once the hub stopped restarting it (a restart storm, or restarts off): the next
    /// applied reload tries it again.
    gave_up: bool,
    /// The circuit breaker of the current connection.
    breaker: Breaker,
    /// Why the breaker last counted a failure (shown while it is open).
    call_error: Option<String>,
    /// Consecutive failed pings of the current connection, and the last one's error.
    ping_failures: u32,
    ping_error: Option<String>,
    /// Routed calls in flight on the shared connection (pings wait while there are some).
    in_flight: u32,
    /// `sharing: per-session`: each client session's own child, by session id.
    instances: HashMap<Arc<str>, Arc<Instance>>,
}

/// A client session's own child of a `per-session` server, started by its first call.
struct Instance {
    /// The upstream's generation it was started under: a stop or restart of the server ends it.
    generation: u64,
    /// Set once the child is started and initialized (or failed to).
    peer: tokio::sync::OnceCell<Result<Peer, String>>,
    /// Set to `true` to stop the child (its session ended, the server stopped or restarted);
    /// one still starting stops as soon as it is up.
    stop: tokio::sync::watch::Sender<bool>,
    /// The circuit breaker of this child's calls (the server's own counts only its shared
    /// connection).
    breaker: Mutex<Breaker>,
}

impl Instance {
    fn ready(&self) -> Option<&Peer> {
        self.peer.get().and_then(|r| r.as_ref().ok())
    }
}

impl UpstreamState {
    fn new(entry: Arc<hub_config::Server>, supervision: &Supervision) -> Self {
        let status = if entry.disabled { Status::Disabled } else { Status::Disconnected };
        let error = match &entry.kind {
            ServerKind::Invalid(summary) => Some(format!("invalid config: {summary}")),
            _ => None,
        };
        UpstreamState {
            entry,
            status: Some(status),
            error,
            server_info: None,
            transport: None,
            capabilities: Extra::new(),
            instructions: None,
            lists: Lists::default(),
            last_started: None,
            connected_at: None,
            peer: None,
            generation: 0,
            restarts: Restarts::new(&supervision.restart),
            gave_up: false,
            breaker: Breaker::new(&supervision.breaker),
            call_error: None,
            ping_failures: 0,
            ping_error: None,
            in_flight: 0,
            instances: HashMap::new(),
        }
    }

    /// The status and error `/api/servers` shows: a connected server whose breaker is open or
    /// whose pings fail is `degraded`, with the reason as its error.
    fn view(&self) -> (Status, Option<String>) {
        let status = self.status.unwrap_or(Status::Disconnected);
        if status != Status::Connected {
            return (status, self.error.clone());
        }
        let mut notes = Vec::new();
        if !self.breaker.is_closed() {
            let last = self.call_error.as_deref().unwrap_or("unknown");
            notes.push(format!(
                "calls fail at once (circuit breaker open) until a trial call gets an answer; \
                 last failure: {last}"
            ));
        }
        if self.ping_failures > 0 {
            let last = self.ping_error.as_deref().unwrap_or("unknown");
            notes.push(format!("{} ping(s) in a row failed; last: {last}", self.ping_failures));
        }
        if notes.is_empty() {
            (status, self.error.clone())
        } else {
            (Status::Degraded, Some(notes.join("; ")))
        }
    }

    /// Forgets the connection (the caller shuts the returned peers down) and invalidates its
    /// tasks.
    fn disconnect(&mut self) -> Vec<Peer> {
        self.generation += 1;
        if matches!(self.status, Some(Status::Connected | Status::Connecting)) {
            self.status = Some(Status::Disconnected);
        }
        self.lists = Lists::default();
        self.connected_at = None;
        self.take_peers()
    }

    /// The connection and every per-session child (one still starting sees the generation
    /// moved on and stops itself).
    fn take_peers(&mut self) -> Vec<Peer> {
        let mut peers: Vec<Peer> = self
            .instances
            .drain()
            .filter_map(|(_, i)| {
                i.stop.send_replace(true);
                i.ready().cloned()
            })
            .collect();
        peers.extend(self.peer.take());
        peers
    }
}

impl Upstream {
    fn new(id: String, entry: hub_config::Server, supervision: &Supervision) -> Arc<Self> {
        Arc::new(Upstream {
            name: entry.name.clone(),
            id,
            state: Mutex::new(UpstreamState::new(Arc::new(entry), supervision)),
            refreshing: tokio::sync::Mutex::new(()),
        })
    }

    /// Whether the current entry should be running.
    fn wanted(&self) -> bool {
        lock(&self.state).entry.should_run()
    }
}

// === impl Hub ===

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("servers", &self.inner.upstreams().len())
            .finish_non_exhaustive()
    }
}

impl Hub {
    /// Builds a hub from a merged config. `env` is the environment placeholders and child
    /// processes draw from (`hub-bin` passes a snapshot of the process environment).
    pub fn new(config: Config, env: Arc<dyn EnvSource + Send + Sync>, settings: Settings) -> Self {
        let ids = assign_ids(config.servers.iter().map(|s| s.name.as_str()), &HashSet::new());
        let upstreams: Vec<_> = config
            .servers
            .iter()
            .cloned()
            .zip(ids)
            .map(|(entry, id)| Upstream::new(id, entry, &settings.supervision))
            .collect();
        let (notifications, _) = broadcast::channel(64);
        Hub {
            inner: Arc::new(Inner {
                settings,
                env,
                clients: upstream::Clients::default(),
                upstreams: RwLock::new(Arc::new(upstreams)),
                routing: RwLock::default(),
                rebuilding: Mutex::default(),
                config: Mutex::new(config),
                reconfigure: tokio::sync::Mutex::new(()),
                in_flight: Mutex::default(),
                sessions: Sessions::default(),
                announcing: Arc::default(),
                events: EventBus::new(),
                relays: Mutex::default(),
                log_sync: tokio::sync::Mutex::default(),
                notifications,
                state: Mutex::new(State::Starting),
            }),
        }
    }

    /// Starts every enabled upstream in parallel and returns when each has connected or failed
    /// (each bounded by the connect timeout). A slow or failing upstream never delays the others'
    /// appearance on `/mcp`: each one's capabilities are published as soon as it connects. One
    /// that failed is restarted in the background (`hub.supervision.restart`).
    pub async fn start(&self) {
        let tasks: Vec<_> = self
            .inner
            .upstreams()
            .iter()
            .filter(|u| u.wanted())
            .map(|u| self.inner.start_deliberately(u.clone()))
            .collect();
        for t in tasks {
            if let Err(e) = t.await {
                warn!(error = %e, "upstream start task failed");
            }
        }
        self.inner.set_state(State::Ready);
    }

    /// Stops every upstream (close stdin, then SIGTERM, then SIGKILL to its process group).
    pub async fn stop(&self) {
        self.inner.set_state(State::Stopping);
        let _guard = self.inner.reconfigure.lock().await;
        let peers: Vec<Peer> =
            self.inner.upstreams().iter().flat_map(|u| lock(&u.state).disconnect()).collect();
        futures_util::future::join_all(peers.iter().map(Peer::shutdown)).await;
        self.inner.rebuild();
        self.inner.set_state(State::Stopped);
    }

    /// Applies a new config: servers added, removed or changed are started, stopped or
    /// restarted; everything else — unchanged servers, their calls in flight, client sessions —
    /// is left alone. Changes that need no new connection (`name`, `description`, the
    /// `disabled_*` lists, editor keys) are applied in place.
    ///
    /// A config with any problem is refused as a whole and changes nothing: the running servers
    /// are worth more than a half-applied edit. Returns what changed; new connections are made
    /// in the background (their outcome shows in [`Hub::server_status`] and the log).
    ///
    /// Published on `/api/events` as mcp-hub does: `config_changed` (with `newConfig` and
    /// `isSignificant`; without `newConfig` for a refused config), then, when servers change,
    /// `servers_updating` and `servers_updated` with the changes.
    pub async fn reload(&self, config: Config) -> Result<Changes, Vec<ConfigError>> {
        let events = &self.inner.events;
        if !config.problems.is_empty() {
            let error =
                format!("the config has {} problem(s); nothing changed", config.problems.len());
            events.subscription(
                Subscription::ConfigChanged,
                json!({"isSignificant": false, "error": error}),
            );
            return Err(config.problems);
        }
        let _guard = self.inner.reconfigure.lock().await;
        if matches!(self.state(), State::Stopping | State::Stopped) {
            return Ok(Changes::default());
        }
        let changes = hub_config::diff(&lock(&self.inner.config), &config);
        let significant = !(changes.added.is_empty()
            && changes.removed.is_empty()
            && changes.modified.is_empty());
        events.subscription(
            Subscription::ConfigChanged,
            json!({"newConfig": raw_config(&config), "isSignificant": significant}),
        );
        if significant {
            let changes = changes_json(&changes);
            events.subscription(Subscription::ServersUpdating, json!({"changes": changes}));
        }
        self.inner.apply(&config, &changes).await;
        *lock(&self.inner.config) = config;
        if significant {
            let changes = changes_json(&changes);
            events.subscription(Subscription::ServersUpdated, json!({"changes": changes}));
        }
        Ok(changes)
    }

    /// Stops and starts one server again (dev mode, or an operator's request), with a fresh
    /// restart budget; a restart that was pending is cancelled. False when no server has that
    /// name.
    pub async fn restart_server(&self, name: &str) -> bool {
        let _guard = self.inner.reconfigure.lock().await;
        let Some(u) = self.inner.find(name) else { return false };
        if matches!(self.state(), State::Stopping | State::Stopped) {
            return false; // a restart that waited behind `stop` starts nothing
        }
        let changes = json!({"changes": {"modified": [name]}});
        self.inner.events.subscription(Subscription::ServersUpdating, changes.clone());
        let peers = lock(&u.state).disconnect();
        futures_util::future::join_all(peers.iter().map(Peer::shutdown)).await;
        self.inner.rebuild();
        self.inner.events.subscription(Subscription::ServersUpdated, changes);
        if u.wanted() {
            self.inner.start_deliberately(u);
        }
        true
    }

    /// The hub's lifecycle state.
    pub fn state(&self) -> State {
        *lock(&self.inner.state)
    }

    /// The config last applied.
    pub fn config(&self) -> Config {
        lock(&self.inner.config).clone()
    }

    /// Status of one upstream by config name, with its last error.
    pub fn server_status(&self, name: &str) -> Option<(Status, Option<String>)> {
        let u = self.inner.find(name)?;
        let st = lock(&u.state);
        Some(st.view())
    }

    /// Notifications for every client (`notifications/*/list_changed`).
    pub fn subscribe(&self) -> broadcast::Receiver<Notification> {
        self.inner.notifications.subscribe()
    }

    /// The hub's live events (what `GET /api/events` streams); publish to it, e.g. log lines.
    pub fn events(&self) -> &EventBus {
        &self.inner.events
    }

    /// Answers one MCP request as the hub's `/mcp` endpoint would, without a session.
    pub async fn handle(&self, request: Request) -> Response {
        self.inner.handle(&no_session(), request).await
    }
}

impl Backend for Hub {
    /// Answers a client's request. It can be cancelled while it runs — by the client's
    /// `notifications/cancelled`, or by the session closing — which drops the routed call, and the
    /// transport tells the upstream (`notifications/cancelled`, reason "cancelled by client").
    fn request(&self, ctx: Context, request: Request) -> impl Future<Output = Response> + Send {
        let session = ctx.session();
        debug!(session = %session.id, method = %request.method, "request");
        let inner = self.inner.clone();
        let key = (session.id.clone(), request.id.clone());
        async move {
            let id = request.id.clone();
            let (cancel, cancelled) = tokio::sync::oneshot::channel::<()>();
            // Requests in flight under the same id (a client bug) keep the latest handle.
            lock(&inner.in_flight).insert(key.clone(), cancel);
            let _unregister = InFlight { inner: &inner, key };
            // The facade closes a session's handle before telling the hub it ended: a request
            // that arrived as its session ended is refused here rather than leave state (a
            // client entry, a session's child, a subscription) behind for a session gone.
            if ctx.handle().is_closed() {
                debug!(?id, "request of a session that has ended");
                return Response::err(
                    Some(id),
                    ErrorObject::new(REQUEST_CANCELLED, "the client session has ended"),
                );
            }
            tokio::select! {
                response = inner.handle(&ctx, request) => response,
                Ok(()) = cancelled => {
                    debug!(?id, "request cancelled by the client");
                    Response::err(Some(id), ErrorObject::new(REQUEST_CANCELLED, "request cancelled by the client"))
                }
            }
        }
    }

    fn notification(&self, session: &SessionInfo, notification: Notification) {
        debug!(session = %session.id, method = %notification.method, "client notification");
        if notification.method == method::ROOTS_LIST_CHANGED {
            self.inner.roots_changed(&session.id);
        }
        if notification.method == method::CANCELLED
            && let Ok(p) = notification.parse_params::<CancelledParams>()
        {
            let cancel = lock(&self.inner.in_flight).remove(&(session.id.clone(), p.request_id));
            // Absent: already answered (cancellation races are normal).
            if let Some(cancel) = cancel {
                cancel.send(()).ok();
            }
        }
    }

    fn subscribe(&self) -> broadcast::Receiver<Notification> {
        self.inner.notifications.subscribe()
    }

    fn session_closed(&self, session: &SessionInfo) {
        debug!(session = %session.id, "session closed");
        // Whatever the session still waits for is of no use to anyone now.
        let cancels: Vec<_> = {
            let mut map = lock(&self.inner.in_flight);
            let keys: Vec<_> = map.keys().filter(|(s, _)| *s == session.id).cloned().collect();
            keys.into_iter().filter_map(|k| map.remove(&k)).collect()
        };
        for cancel in cancels {
            cancel.send(()).ok();
        }
        for (server, uri) in self.inner.sessions.closed(&session.id) {
            self.inner.unsubscribe_upstream(&server, uri);
        }
        self.inner.end_instances(&session.id);
        let inner = self.inner.clone();
        tokio::spawn(async move { inner.sync_log_levels().await });
    }

    fn status(&self) -> HubStatus {
        self.inner.status()
    }

    fn events(&self) -> Option<&EventBus> {
        Some(&self.inner.events)
    }

    fn server_call(
        &self,
        call: ServerCall,
    ) -> impl Future<Output = Result<Box<RawValue>, ApiError>> + Send {
        let inner = self.inner.clone();
        async move { inner.server_call(call).await }
    }
}

/// Removes a request's cancel handle once it is answered (or dropped).
struct InFlight<'a> {
    inner: &'a Inner,
    key: (Arc<str>, Id),
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        lock(&self.inner.in_flight).remove(&self.key);
    }
}

// === impl Inner ===

/// The context of a call made without a client session (`Hub::handle`, the REST API): nothing
/// can be sent back, and the shared connection of a `per-session` server serves it.
fn no_session() -> Context {
    Context::detached(SessionInfo {
        id: Arc::from(""),
        transport: Transport::StreamableHttp,
        protocol_version: ProtocolVersion::LATEST,
    })
}

/// The merged config as mcp-hub's `config_changed` shows it: every entry as written, with its
/// `config_source`, placeholders unresolved.
fn raw_config(config: &Config) -> Value {
    let servers: serde_json::Map<String, Value> = config
        .servers
        .iter()
        .map(|s| {
            let mut entry = s.raw.clone();
            entry.insert("config_source".to_owned(), Value::String(s.config_source.clone()));
            (s.name.clone(), Value::Object(entry))
        })
        .collect();
    json!({"mcpServers": servers})
}

/// mcp-hub's `changes` object: the names, and per modified server what changed.
fn changes_json(changes: &Changes) -> Value {
    let modified: Vec<&str> = changes.modified.iter().map(|m| m.name.as_str()).collect();
    let details: serde_json::Map<String, Value> = changes
        .modified
        .iter()
        .map(|m| (m.name.clone(), json!({"fields": m.fields, "restart": m.restart})))
        .collect();
    json!({
        "added": changes.added,
        "removed": changes.removed,
        "modified": modified,
        "unchanged": changes.unchanged,
        "details": details,
    })
}

/// Publishes that a server's state changed (mcp-hub's `servers_updated` with the server
/// `modified`, as after its start and stop routes): listeners fetch `/api/servers` again.
fn server_changed(events: &EventBus, server: &str) {
    events.subscription(Subscription::ServersUpdated, json!({"changes": {"modified": [server]}}));
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding one of these short, non-awaiting locks leaves consistent data.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn raw(v: &Value) -> Box<RawValue> {
    serde_json::value::to_raw_value(v).expect("a serde_json::Value always serializes")
}

impl Inner {
    fn set_state(&self, s: State) {
        *lock(&self.state) = s;
        self.events.hub_state(s.as_str());
    }

    fn routing(&self) -> Arc<Routing> {
        self.routing.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    fn upstreams(&self) -> Arc<Vec<Arc<Upstream>>> {
        self.upstreams.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    fn find(&self, name: &str) -> Option<Arc<Upstream>> {
        self.upstreams().iter().find(|u| u.name == name).cloned()
    }

    /// Applies a diffed config (see [`Hub::reload`]); the caller holds `reconfigure`.
    async fn apply(self: &Arc<Self>, config: &Config, changes: &Changes) {
        let old = self.upstreams();
        let mut taken: HashSet<String> = old
            .iter()
            .filter(|u| !changes.removed.contains(&u.name))
            .map(|u| u.id.clone())
            .collect();
        let mut stopping = Vec::new();
        let mut starting = Vec::new();
        let mut list = Vec::with_capacity(config.servers.len());
        for entry in &config.servers {
            let Some(u) = old.iter().find(|u| u.name == entry.name).cloned() else {
                let id = assign_ids([entry.name.as_str()], &taken).remove(0);
                taken.insert(id.clone());
                let u = Upstream::new(id, entry.clone(), &self.settings.supervision);
                if u.wanted() {
                    starting.push(u.clone());
                }
                list.push(u);
                continue;
            };
            if let Some(m) = changes.modified.iter().find(|m| m.name == entry.name) {
                let (was_wanted, running) = {
                    let st = lock(&u.state);
                    (
                        st.entry.should_run(),
                        st.peer.is_some() || st.status == Some(Status::Connecting),
                    )
                };
                let mut st = lock(&u.state);
                st.entry = Arc::new(entry.clone());
                let wanted = entry.should_run();
                if (m.restart || !wanted) && (running || was_wanted) {
                    stopping.extend(st.disconnect());
                }
                st.status = Some(if entry.disabled {
                    Status::Disabled
                } else if st.status == Some(Status::Disabled) {
                    Status::Disconnected
                } else {
                    st.status.unwrap_or(Status::Disconnected)
                });
                if let ServerKind::Invalid(summary) = &entry.kind {
                    st.error = Some(format!("invalid config: {summary}"));
                }
                if wanted && (m.restart || !was_wanted) {
                    starting.push(u.clone());
                }
                info!(server = %u.name, fields = ?m.fields, restart = m.restart, "server entry changed");
            }
            list.push(u);
        }
        // Saving the config is how an operator asks the hub to try again a server it gave up on.
        for u in &list {
            if u.wanted() && lock(&u.state).gave_up && !starting.iter().any(|s| Arc::ptr_eq(s, u)) {
                info!(server = %u.name, "trying again a server the hub had given up on");
                starting.push(u.clone());
            }
        }
        for u in old.iter().filter(|u| changes.removed.contains(&u.name)) {
            info!(server = %u.name, "server removed");
            let mut st = lock(&u.state);
            st.status = Some(Status::Disconnected);
            stopping.extend(st.disconnect());
        }
        *self.upstreams.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(list);
        // Withdraw what is going away before the processes are stopped, so no new call is
        // routed to them.
        self.rebuild();
        futures_util::future::join_all(stopping.iter().map(Peer::shutdown)).await;
        for u in starting {
            self.start_deliberately(u);
        }
    }

    /// Starts `u` on purpose (fresh restart budget), unless it is stopped or reconfigured
    /// again before the task runs.
    fn start_deliberately(self: &Arc<Self>, u: Arc<Upstream>) -> tokio::task::JoinHandle<()> {
        let generation = lock(&u.state).generation;
        tokio::spawn(Inner::connect(self.clone(), u, Start::Deliberate { generation }))
    }

    /// Rebuilds the registry from every connected upstream and tells clients about each list
    /// whose names or definitions changed.
    fn rebuild(&self) {
        let _serial = lock(&self.rebuilding);
        let servers: Vec<Arc<Upstream>> = self.upstreams().iter().cloned().collect();
        let snapshots: Vec<(usize, Lists, Prefix)> = servers
            .iter()
            .enumerate()
            .filter_map(|(i, u)| {
                let st = lock(&u.state);
                (st.status == Some(Status::Connected))
                    .then(|| (i, st.lists.visible(&st.entry.hidden), st.entry.prefix))
            })
            .collect();
        let registry = Registry::build(snapshots.iter().map(|(i, lists, prefix)| Contribution {
            server: *i,
            id: &servers[*i].id,
            lists,
            prefix: *prefix,
        }));
        let new = Arc::new(Routing { registry, servers });
        let old = {
            let mut guard = self.routing.write().unwrap_or_else(std::sync::PoisonError::into_inner);
            std::mem::replace(&mut *guard, new.clone())
        };
        if new.registry.collisions != old.registry.collisions {
            for (id, name) in &new.registry.collisions {
                warn!(server = %id, %name, "another server already exposes this name; it keeps the prefix");
            }
        }
        let mut changed: Vec<&str> = Vec::new();
        for kind in ListKind::ALL {
            if old.registry.get(kind).items != new.registry.get(kind).items {
                let m = match kind {
                    ListKind::Tools => method::TOOLS_LIST_CHANGED,
                    ListKind::Resources | ListKind::ResourceTemplates => {
                        method::RESOURCES_LIST_CHANGED
                    }
                    ListKind::Prompts => method::PROMPTS_LIST_CHANGED,
                };
                if !changed.contains(&m) {
                    changed.push(m);
                }
            }
        }
        self.announce(&changed);
    }

    /// Tells clients which lists changed, once per list for every change within
    /// [`COALESCE`]: a server that sends a burst of `list_changed`, or several upstreams
    /// settling together, make one notification per list.
    fn announce(&self, changed: &[&'static str]) {
        if changed.is_empty() {
            return;
        }
        let schedule = {
            let mut pending = lock(&self.announcing);
            let schedule = pending.is_empty();
            for m in changed {
                if !pending.contains(m) {
                    pending.push(m);
                }
            }
            schedule
        };
        if !schedule {
            return; // the flush already scheduled sends these too
        }
        let (pending, notifications) = (self.announcing.clone(), self.notifications.clone());
        tokio::spawn(async move {
            tokio::time::sleep(COALESCE).await;
            let methods = std::mem::take(&mut *lock(&pending));
            for m in methods {
                // An error only means that no client is connected.
                if notifications.send(Notification::new(m, None)).is_err() {
                    debug!(method = m, "list changed; no client to tell");
                }
            }
        });
    }

    fn initialize_result(&self, p: &InitializeParams) -> Value {
        let version = ProtocolVersion::negotiate(&p.protocol_version);
        let mut result = json!({
            "protocolVersion": version.as_str(),
            "capabilities": {
                "tools": {"listChanged": true},
                "resources": {"listChanged": true, "subscribe": true},
                "prompts": {"listChanged": true},
                "logging": {},
                "completions": {},
            },
            "serverInfo": {
                "name": self.settings.implementation_name,
                "version": self.settings.implementation_version,
            },
        });
        if let Some(instructions) = self.instructions() {
            result["instructions"] = Value::String(instructions);
        }
        result
    }

    /// The connected upstreams' `instructions`: one server's as they are, several under a
    /// heading with each server's name.
    fn instructions(&self) -> Option<String> {
        let given: Vec<(String, String)> = self
            .upstreams()
            .iter()
            .filter_map(|u| {
                let st = lock(&u.state);
                let connected = matches!(st.status, Some(Status::Connected | Status::Degraded));
                let text = st.instructions.clone().filter(|t| !t.trim().is_empty());
                connected.then_some(text).flatten().map(|t| (u.name.clone(), t))
            })
            .collect();
        match given.as_slice() {
            [] => None,
            [(_, only)] => Some(only.clone()),
            many => Some(
                many.iter()
                    .map(|(name, text)| format!("## {name}\n\n{}", text.trim()))
                    .collect::<Vec<_>>()
                    .join("\n\n"),
            ),
        }
    }

    fn status(&self) -> HubStatus {
        let routing = self.routing();
        let reg = &routing.registry;
        let servers = self.upstreams().iter().map(|u| server_info(u)).collect();
        HubStatus {
            state: lock(&self.state).as_str(),
            servers,
            registered: Counts {
                tools: reg.tools.items.len(),
                resources: reg.resources.items.len(),
                resource_templates: reg.resource_templates.items.len(),
                prompts: reg.prompts.items.len(),
            },
        }
    }
}

fn server_info(u: &Upstream) -> ServerInfo {
    let st = lock(&u.state);
    let (status, error) = st.view();
    let items = |v: &Vec<Extra>| v.iter().cloned().map(Value::Object).collect();
    ServerInfo {
        name: u.name.clone(),
        display_name: st.entry.display_name.clone(),
        description: st.entry.description.clone(),
        // What was negotiated once connected; before that, what the config asks for, with
        // mcp-hub's "sse" for a remote server whose transport is still to be negotiated.
        transport_type: st
            .transport
            .unwrap_or(match &st.entry.kind {
                ServerKind::Remote { transport, .. } => match transport {
                    hub_config::Transport::StreamableHttp => "streamable-http",
                    _ => "sse",
                },
                _ => "stdio",
            })
            .to_owned(),
        status: status.as_str().to_owned(),
        error,
        capabilities: Capabilities {
            tools: items(&st.lists.tools),
            resources: items(&st.lists.resources),
            resource_templates: items(&st.lists.resource_templates),
            prompts: items(&st.lists.prompts),
        },
        uptime: st.connected_at.map_or(0, |t| t.elapsed().as_secs()),
        last_started: st.last_started.map(|t| humantime::format_rfc3339_millis(t).to_string()),
        authorization_url: None,
        server_info: st.server_info.clone(),
        config_source: st.entry.config_source.clone(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// Upstreams that connect at the same moment each rebuild the registry; whichever order
    /// the rebuilds finish in, the registry ends with every connected upstream's tools (a
    /// rebuild that read the upstreams earlier must not replace a newer one's result).
    #[test]
    fn concurrent_rebuilds_keep_every_connected_upstream() {
        const SERVERS: usize = 8;
        let servers: String = (0..SERVERS)
            .map(|i| format!(r#""s{i}": {{"command": "true"}}"#))
            .collect::<Vec<_>>()
            .join(",");
        let text = format!(r#"{{"mcpServers": {{{servers}}}}}"#);
        let config =
            hub_config::load(&[hub_config::Source { path: "c.json".into(), text }]).unwrap();
        let env: Arc<dyn EnvSource + Send + Sync> = Arc::new(HashMap::<String, String>::new());
        // `rebuild` schedules the list_changed notification on the runtime.
        let runtime = tokio::runtime::Runtime::new().unwrap();
        for round in 0..200 {
            let hub = Hub::new(config.clone(), env.clone(), Settings::default());
            let upstreams = hub.inner.upstreams();
            let barrier = std::sync::Barrier::new(SERVERS);
            std::thread::scope(|scope| {
                for u in upstreams.iter() {
                    let (inner, barrier, handle) = (&hub.inner, &barrier, runtime.handle());
                    scope.spawn(move || {
                        let _runtime = handle.enter();
                        barrier.wait();
                        {
                            let mut st = lock(&u.state);
                            st.lists.tools = vec![
                                serde_json::from_value(json!({"name": "t", "inputSchema": {}}))
                                    .unwrap(),
                            ];
                            st.status = Some(Status::Connected);
                        }
                        inner.rebuild();
                    });
                }
            });
            let routing = hub.inner.routing();
            let listed = routing.registry.get(ListKind::Tools).items.len();
            assert_eq!(listed, SERVERS, "round {round}: a rebuild lost a connected upstream");
        }
    }

    fn config(text: &str) -> Config {
        hub_config::load(&[hub_config::Source { path: "c.json".into(), text: text.to_owned() }])
            .unwrap()
    }

    /// A server added by one reload and removed by the next, before its start task ran, is
    /// never started: the removal wins (its process would otherwise run unseen and unstopped).
    #[tokio::test]
    async fn a_start_queued_behind_a_removal_starts_nothing() {
        let dir = std::env::temp_dir().join(format!("hub-core-queued-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let marker = dir.join("started");
        std::fs::remove_file(&marker).ok();
        let env: Arc<dyn EnvSource + Send + Sync> = Arc::new(HashMap::<String, String>::new());
        let hub = Hub::new(config(r#"{"mcpServers": {}}"#), env, Settings::default());
        let script = format!("touch {}; sleep 5", marker.display());
        let with = json!({"mcpServers": {"x": {"command": "sh", "args": ["-c", script]}}});
        // On this single-threaded runtime nothing runs between the two reloads.
        hub.reload(config(&with.to_string())).await.unwrap();
        hub.reload(config(r#"{"mcpServers": {}}"#)).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        assert!(!marker.exists(), "the removed server's process was started");
        hub.stop().await;
        std::fs::remove_dir_all(&dir).ok();
    }

    #[tokio::test]
    async fn list_changes_within_the_window_make_one_notification_per_list() {
        let env: Arc<dyn EnvSource + Send + Sync> = Arc::new(HashMap::<String, String>::new());
        let hub = Hub::new(Config::default(), env, Settings::default());
        let mut rx = hub.subscribe();
        let (tools, prompts) = (method::TOOLS_LIST_CHANGED, method::PROMPTS_LIST_CHANGED);
        hub.inner.announce(&[tools]);
        hub.inner.announce(&[tools, prompts]);
        hub.inner.announce(&[tools]);
        tokio::time::sleep(COALESCE * 4).await;
        let mut sent = Vec::new();
        while let Ok(n) = rx.try_recv() {
            sent.push(n.method);
        }
        assert_eq!(sent, [tools, prompts]);
        // A change after the window is a new notification.
        hub.inner.announce(&[tools]);
        tokio::time::sleep(COALESCE * 4).await;
        assert_eq!(rx.try_recv().map(|n| n.method).ok().as_deref(), Some(tools));
        assert!(rx.try_recv().is_err());
    }
}
