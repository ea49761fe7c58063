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
    /// Per-request timeout for calls routed to an upstream (mcp-hub: 5 minutes).
    pub request_timeout: Duration,
    /// Timeout for each list request while syncing an upstream's capabilities.
    pub list_timeout: Duration,
    /// Name and version the hub gives as `clientInfo` upstream and `serverInfo` downstream.
    pub implementation_name: String,
    /// Our own version.
    pub implementation_version: String,
    /// Stdio transport settings.
    pub stdio: hub_transport::Settings,
    /// The hub's working directory: `${workspaceFolder}` and `${cwd}` in the config. `None`
    /// leaves those placeholders unresolved (an error naming them).
    pub cwd: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            connect_timeout: Duration::from_secs(300),
            request_timeout: Duration::from_secs(300),
            list_timeout: Duration::from_secs(60),
            implementation_name: "mcp-hub".to_owned(),
            implementation_version: env!("CARGO_PKG_VERSION").to_owned(),
            stdio: hub_transport::Settings::default(),
            cwd: None,
        }
    }
}
