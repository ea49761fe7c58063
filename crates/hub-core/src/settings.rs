//! Runtime settings of the hub core, translated from the config by the caller.

use std::time::Duration;

/// The mcp-hub version this hub is a drop-in replacement for. mcphub.nvim requires this exact
/// string in `/api/health` and a 4.x from `--version`.
pub const COMPAT_VERSION: &str = "4.2.1";

/// Settings of a [`crate::Hub`].
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long an upstream may take to start and answer `initialize` plus the four lists
    /// (mcp-hub: 5 minutes, to allow a first `npx`/`uvx` install).
    pub connect_timeout: Duration,
    /// Per-request timeout for calls routed to an upstream (mcp-hub: 5 minutes), started over
    /// by each progress notification of the call.
    pub request_timeout: Duration,
    /// The longest a routed call may take however much progress it reports (1 hour).
    pub request_max_total: Duration,
    /// Timeout for each list request while syncing an upstream's capabilities.
    pub list_timeout: Duration,
    /// Most items in one page of a list on `/mcp`; `0`: everything in one page.
    pub page_size: usize,
    /// Name and version the hub gives as `clientInfo` upstream and `serverInfo` downstream.
    pub implementation_name: String,
    /// Our own version.
    pub implementation_version: String,
    /// Stdio transport settings.
    pub stdio: hub_transport::Settings,
    /// Remote (streamable HTTP / SSE) transport settings.
    pub http: hub_transport::HttpSettings,
    /// The base of the HTTP client stack of remote upstreams (user agent, TCP options,
    /// redirects). Each server's effective `connectionPool` (from the config) sets the connect
    /// timeout, the idle pool and the per-origin cap over it; servers with the same result share
    /// one client and cap.
    pub pool: hub_pool::PoolSettings,
    /// The hub's working directory: `${workspaceFolder}` and `${cwd}` in the config. `None`
    /// leaves those placeholders unresolved (an error naming them).
    pub cwd: Option<String>,
    /// Automatic restarts, the circuit breaker and health pings of every upstream.
    pub supervision: Supervision,
}

/// How the hub keeps upstreams alive (config: `hub.supervision`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Supervision {
    /// Restarting a server that exited, failed to start or stopped answering pings.
    pub restart: RestartSettings,
    /// Failing calls to a server fast while it keeps failing them.
    pub breaker: BreakerSettings,
    /// Periodic `ping` health checks.
    pub ping: PingSettings,
}

/// Automatic restarts: exponential backoff with jitter, reset after a stable run, capped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartSettings {
    /// Wait before the first restart; each further one waits twice as long (plus jitter). 1 s.
    pub initial_delay: Duration,
    /// The longest wait between restarts, jitter included. 1 min.
    pub max_delay: Duration,
    /// A connection that lasted this long resets the backoff to `initial_delay`. 1 min.
    pub stable_after: Duration,
    /// Most automatic restarts within `window`; the failure after that gives up. 0 turns
    /// automatic restarts off (mcp-hub's behaviour). 10.
    pub max_restarts: u32,
    /// The sliding window `max_restarts` counts in. 10 min.
    pub window: Duration,
}

impl Default for RestartSettings {
    fn default() -> Self {
        RestartSettings {
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            stable_after: Duration::from_secs(60),
            max_restarts: 10,
            window: Duration::from_secs(600),
        }
    }
}

/// The per-upstream circuit breaker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Consecutive transport failures of routed calls (timeouts, connection lost) that open the
    /// breaker; JSON-RPC error responses do not count. 0 turns the breaker off. 5.
    pub failures: u32,
    /// How long an open breaker refuses calls before letting one through as a probe. 30 s.
    pub cool_down: Duration,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        BreakerSettings { failures: 5, cool_down: Duration::from_secs(30) }
    }
}

/// Health pings of connected upstreams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PingSettings {
    /// Time between pings; `None` turns pings off. 30 s.
    pub interval: Option<Duration>,
    /// How long each ping may take. 10 s.
    pub timeout: Duration,
    /// Consecutive failed pings after which the connection counts as dead and is restarted
    /// (at least 1). 3.
    pub failures: u32,
}

impl Default for PingSettings {
    fn default() -> Self {
        PingSettings {
            interval: Some(Duration::from_secs(30)),
            timeout: Duration::from_secs(10),
            failures: 3,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            connect_timeout: Duration::from_secs(300),
            request_timeout: Duration::from_secs(300),
            request_max_total: Duration::from_secs(3600),
            page_size: 0,
            list_timeout: Duration::from_secs(60),
            implementation_name: "mcp-hub".to_owned(),
            implementation_version: env!("CARGO_PKG_VERSION").to_owned(),
            stdio: hub_transport::Settings::default(),
            http: hub_transport::HttpSettings::default(),
            pool: hub_pool::PoolSettings::default(),
            cwd: None,
            supervision: Supervision::default(),
        }
    }
}
