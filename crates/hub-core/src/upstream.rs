//! One upstream MCP server: start it, complete the `initialize` handshake, fetch its lists
//! (following every `nextCursor`), and the status it is in.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use hub_config::{ConnectionPool, EnvSource, ResolvedStdio, Server, ServerKind, Transport};
use hub_pool::PoolSettings;
use hub_protocol::{
    ProtocolVersion, RawValue,
    mcp::{Extra, InitializeResult, ListKind, ListPage, PaginatedParams, method},
};
use hub_transport::{HttpTransport, Incoming, Peer};
use serde_json::{Value, json};
use tracing::{debug, warn};

use crate::{registry::Lists, settings::Settings};

/// Pages fetched from one list before the hub gives up on a server that never ends pagination.
const MAX_PAGES: usize = 1000;

/// Connection status of an upstream, with mcp-hub's names (`degraded` is the hub's own).
///
/// ```text
/// connecting ──► connected ◄──► degraded
///     ▲              │              │
///     │              ▼              ▼
///     └── (restart) disconnected ◄──┘        disabled: `disabled: true`, never started
/// ```
///
/// A server that exits, fails to start or stops answering pings is `disconnected` with an
/// `error`; while a restart is scheduled the error ends in `restarting in 2.0s (attempt 2)`, and
/// after a restart storm it says that the hub gave up and how to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Status {
    /// Starting, handshaking or fetching its lists.
    Connecting,
    /// Serving; its capabilities are on `/mcp`.
    Connected,
    /// Connected, with its capabilities on `/mcp`, but unhealthy: its circuit breaker is open
    /// (calls fail fast) or pings are failing, fewer times than make it count as hung. `error`
    /// says which.
    Degraded,
    /// Not running: never started, stopped, failed to start, exited, or waiting to be restarted
    /// (`error` says why).
    Disconnected,
    /// A remote server answered HTTP 401 and waits for authorization (mcp-hub's state; set by
    /// the remote transports once they land, nothing sets it yet).
    Unauthorized,
    /// `disabled: true` in the config.
    Disabled,
}

impl Status {
    /// mcp-hub's spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Connecting => "connecting",
            Status::Connected => "connected",
            Status::Degraded => "degraded",
            Status::Disconnected => "disconnected",
            Status::Unauthorized => "unauthorized",
            Status::Disabled => "disabled",
        }
    }
}

/// A started, initialized upstream.
pub(crate) struct Connected {
    pub(crate) peer: Peer,
    pub(crate) incoming: Incoming,
    pub(crate) init: InitializeResult,
    pub(crate) lists: Lists,
}

/// Why an upstream could not be opened, and whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// A crash, timeout, refused connection, bad answer: the restart policy applies.
    Retry(String),
    /// The server wants credentials (HTTP 401/403): restarting cannot fix it.
    Unauthorized(String),
    /// The entry cannot be started as written (invalid, or a placeholder that does not
    /// resolve): only a config change can fix it, and a reload retries it.
    Config(String),
}

impl Failure {
    pub(crate) fn message(&self) -> &str {
        match self {
            Failure::Retry(m) | Failure::Unauthorized(m) | Failure::Config(m) => m,
        }
    }

    fn of(context: &str, e: &hub_transport::Error) -> Failure {
        let message = if context.is_empty() {
            error_chain(e)
        } else {
            format!("{context}: {}", error_chain(e))
        };
        match e {
            hub_transport::Error::Unauthorized { .. } => Failure::Unauthorized(message),
            hub_transport::Error::InvalidSpec { .. } => Failure::Config(message),
            _ => Failure::Retry(message),
        }
    }
}

/// The transports' shared dependencies: one HTTP [`Pool`](hub_pool::Pool) (client and
/// per-origin cap) per distinct effective connection pool, built on first use and shared by
/// every remote upstream with those settings, so servers without overrides share one pool.
#[derive(Debug, Default)]
pub(crate) struct Clients {
    pools: Mutex<HashMap<PoolSettings, Arc<hub_pool::Pool>>>,
}

impl Clients {
    fn pool(&self, settings: &PoolSettings) -> Result<Arc<hub_pool::Pool>, Failure> {
        let mut pools = self.pools.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(pool) = pools.get(settings) {
            return Ok(Arc::clone(pool));
        }
        let pool = hub_pool::Pool::new(settings).map_err(|e| {
            Failure::Config(format!("cannot build the HTTP client: {}", error_chain(&e)))
        })?;
        let pool = Arc::new(pool);
        pools.insert(settings.clone(), Arc::clone(&pool));
        Ok(pool)
    }
}

/// The client stack of a remote server: `base` (user agent, TCP options, redirects) with its
/// effective `connectionPool`:
///
/// - `enabled: false` → no idle connection is kept, so none is reused;
/// - `keepAliveTimeout` → how long an idle connection is kept;
/// - `maxFreeConnections` → how many idle connections are kept per origin;
/// - `maxConnections` → the cap on requests in flight per origin ([`hub_pool::OriginLimiter`]);
/// - `timeout` → the connect timeout;
/// - `keepAliveMaxTimeout`, `pipelining` → nothing (no equivalent in hyper; hub-config warns).
pub(crate) fn pool_settings(base: &PoolSettings, pool: &ConnectionPool) -> PoolSettings {
    let count = |n: u32| usize::try_from(n).unwrap_or(usize::MAX);
    PoolSettings {
        connect_timeout: pool.timeout,
        pool_idle_timeout: Some(pool.keep_alive_timeout),
        pool_max_idle_per_host: if pool.enabled { count(pool.max_free_connections) } else { 0 },
        max_connections: Some(count(pool.max_connections)),
        ..base.clone()
    }
}

/// Starts (stdio) or connects to (remote) the server of `entry`, handshakes and fetches its
/// lists. Every failure is a message meant for `/api/servers` and the log; a started child is
/// stopped on failure.
/// What the hub says about itself in `initialize`, and what it wants to know back.
pub(crate) struct Hello {
    /// The client capabilities offered to the server.
    pub(crate) capabilities: Value,
    /// Whether to fetch the server's four lists.
    pub(crate) lists: bool,
}

impl Hello {
    /// A connection shared by every client: the hub offers what it can relay to the client
    /// whose call causes a request (see `hub/relay.rs`); not `roots`, since a connection shared
    /// by several clients has no one set of roots.
    pub(crate) fn shared() -> Self {
        Hello { capabilities: json!({"sampling": {}, "elicitation": {}}), lists: true }
    }

    /// A child of one client session: that client's own capabilities, as far as the hub
    /// relays them; the lists come from the shared connection.
    pub(crate) fn for_client(client: &Extra) -> Self {
        let capabilities: Extra = ["sampling", "elicitation", "roots"]
            .iter()
            .filter_map(|k| client.get(*k).map(|v| ((*k).to_owned(), v.clone())))
            .collect();
        Hello { capabilities: Value::Object(capabilities), lists: false }
    }
}

pub(crate) async fn open(
    entry: &Server,
    env: &(dyn EnvSource + Sync),
    settings: &Settings,
    clients: &Clients,
    hello: &Hello,
) -> Result<Connected, Failure> {
    let joined = |errors: Vec<hub_config::ConfigError>| {
        errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    };
    let (peer, incoming) = match &entry.kind {
        ServerKind::Stdio { .. } => {
            let resolved = crate::cmd::resolve_stdio(entry, env, settings.cwd.as_deref())
                .await
                .map_err(|e| Failure::Config(joined(e)))?;
            for w in &resolved.warnings {
                warn!(server = %entry.name, "{w}");
            }
            let ResolvedStdio { command, args, env: child_env, cwd, .. } = resolved;
            debug!(
                server = %entry.name,
                %command,
                env = ?child_env.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
                "starting stdio server"
            );
            let spec =
                hub_transport::Spec { command, args, env: child_env, cwd: cwd.map(Into::into) };
            hub_transport::spawn(&entry.name, &spec, &settings.stdio)
                .await
                .map_err(|e| Failure::of("", &e))?
        }
        ServerKind::Remote { transport, pool, .. } => {
            // Resolved at every connect, so rotated secrets from `${cmd:}` are read again.
            let resolved = crate::cmd::resolve_remote(entry, env, settings.cwd.as_deref())
                .await
                .map_err(|e| Failure::Config(joined(e)))?;
            for w in &resolved.warnings {
                warn!(server = %entry.name, "{w}");
            }
            let pool = clients.pool(&pool_settings(&settings.pool, pool))?;
            let spec = hub_transport::HttpSpec {
                limit: pool.limit(&resolved.url),
                url: resolved.url,
                headers: resolved.headers,
                transport: match transport {
                    Transport::StreamableHttp => HttpTransport::StreamableHttp,
                    Transport::Sse => HttpTransport::Sse,
                    _ => HttpTransport::Auto,
                },
            };
            let client = pool.client().clone();
            let connecting = hub_transport::connect(&entry.name, &spec, &settings.http, client);
            match tokio::time::timeout(settings.connect_timeout, connecting).await {
                Ok(r) => r.map_err(|e| Failure::of("", &e))?,
                Err(_) => {
                    return Err(Failure::Retry(format!(
                        "did not connect within {:?}",
                        settings.connect_timeout
                    )));
                }
            }
        }
        ServerKind::Invalid(summary) => {
            return Err(Failure::Config(format!("invalid config: {summary}")));
        }
        _ => return Err(Failure::Config("unsupported server kind".to_owned())),
    };
    match tokio::time::timeout(settings.connect_timeout, handshake(&peer, settings, hello)).await {
        Ok(Ok((init, lists))) => Ok(Connected { peer, incoming, init, lists }),
        Ok(Err(e)) => {
            peer.shutdown().await;
            Err(e)
        }
        Err(_) => {
            peer.shutdown().await;
            Err(Failure::Retry(format!(
                "did not finish starting within {:?}",
                settings.connect_timeout
            )))
        }
    }
}

/// `Display` of an error and its sources, `: `-separated (errors show one level each).
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(src) = cur {
        s.push_str(": ");
        s.push_str(&src.to_string());
        cur = src.source();
    }
    s
}

fn raw(v: &serde_json::Value) -> Box<RawValue> {
    serde_json::value::to_raw_value(v).expect("a serde_json::Value always serializes")
}

async fn handshake(
    peer: &Peer,
    settings: &Settings,
    hello: &Hello,
) -> Result<(InitializeResult, Lists), Failure> {
    let params = json!({
        "protocolVersion": ProtocolVersion::LATEST.as_str(),
        "capabilities": hello.capabilities,
        "clientInfo": {"name": settings.implementation_name, "version": settings.implementation_version},
    });
    let result = peer
        .request(method::INITIALIZE, Some(raw(&params)), settings.connect_timeout)
        .await
        .map_err(|e| Failure::of("initialize failed", &e))?;
    let init: InitializeResult = serde_json::from_str(result.get())
        .map_err(|e| Failure::Retry(format!("malformed initialize result: {e}")))?;
    if ProtocolVersion::parse(&init.protocol_version).is_none() {
        return Err(Failure::Retry(format!(
            "server chose protocol version {:?}, which the hub does not speak (supported: {})",
            init.protocol_version,
            ProtocolVersion::supported_list()
        )));
    }
    peer.notify(method::INITIALIZED, None)
        .await
        .map_err(|e| Failure::of("notifications/initialized failed", &e))?;
    let mut lists = Lists::default();
    for kind in ListKind::ALL.into_iter().filter(|_| hello.lists) {
        *lists.get_mut(kind) =
            fetch_if_offered(peer, &init.capabilities, kind, settings.list_timeout)
                .await
                .map_err(Failure::Retry)?;
    }
    Ok((init, lists))
}

/// Fetches a list when the server offers the capability; a failing list reads as empty (the
/// server still serves its other lists), with a warning.
///
/// A list the server could not deliver at all (a timeout, a connection reset, the process
/// gone) is an error instead: an empty list would hide the server's capabilities for as long as
/// the connection lasts.
pub(crate) async fn fetch_if_offered(
    peer: &Peer,
    capabilities: &Extra,
    kind: ListKind,
    timeout: Duration,
) -> Result<Vec<Extra>, String> {
    if !capabilities.contains_key(kind.capability()) {
        return Ok(Vec::new());
    }
    match fetch_list(peer, kind, timeout).await {
        Ok(items) => Ok(items),
        Err(ListError::Answer(e)) => {
            warn!(method = kind.method(), error = %e, "list request failed; treating the list as empty");
            Ok(Vec::new())
        }
        Err(ListError::Transport(e)) => Err(format!("{} failed: {e}", kind.method())),
    }
}

/// Why a list could not be fetched.
#[derive(Debug)]
pub(crate) enum ListError {
    /// The server answered, with an error or something that is not a list.
    Answer(String),
    /// No answer came (timeout, connection reset, process gone).
    Transport(String),
}

impl std::fmt::Display for ListError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ListError::Answer(e) | ListError::Transport(e) => f.write_str(e),
        }
    }
}

/// Fetches every page of a list.
pub(crate) async fn fetch_list(
    peer: &Peer,
    kind: ListKind,
    timeout: Duration,
) -> Result<Vec<Extra>, ListError> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..MAX_PAGES {
        let params = PaginatedParams { cursor: cursor.clone(), extra: Extra::new() };
        let params = serde_json::value::to_raw_value(&params)
            .map_err(|e| ListError::Answer(e.to_string()))?;
        let result =
            peer.request(kind.method(), Some(params), timeout).await.map_err(|e| match e {
                hub_transport::Error::Rpc(_) => ListError::Answer(error_chain(&e)),
                _ => ListError::Transport(error_chain(&e)),
            })?;
        let page =
            ListPage::from_result(kind, &result).map_err(|e| ListError::Answer(e.message))?;
        items.extend(page.items);
        match page.next_cursor {
            Some(next) if seen.insert(next.clone()) => cursor = Some(next),
            Some(next) => {
                return Err(ListError::Answer(format!(
                    "{} repeated cursor {next:?}",
                    kind.method()
                )));
            }
            None => return Ok(items),
        }
    }
    Err(ListError::Answer(format!("{} did not end after {MAX_PAGES} pages", kind.method())))
}

#[cfg(test)]
mod tests;
