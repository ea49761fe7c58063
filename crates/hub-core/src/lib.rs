//! The MCP hub as a library: start upstream MCP servers, aggregate their tools, resources and
//! prompts under namespaced names, route calls, report status.
//!
//! Other Rust programs embed it: build a [`Hub`] from a [`hub_config::Config`], [`Hub::start`]
//! it, ask it ([`Hub::handle`] takes any MCP request, or serve it over HTTP with [`serve`]), and
//! [`Hub::stop`] it.
//!
//! ```no_run
//! # async fn run(config: hub_config::Config) -> std::io::Result<()> {
//! use std::sync::Arc;
//! let env: hub_config::EnvMap = Default::default();
//! let hub = Arc::new(hub_core::Hub::new(config, Arc::new(env), hub_core::Settings::default()));
//! hub.start().await;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! hub_core::serve(hub.clone(), listener, hub_http::Settings::default(), std::future::pending()).await?;
//! hub.stop().await;
//! # Ok(()) }
//! ```

mod cmd;
mod error;
mod hub;
mod registry;
mod serve;
mod sessions;
mod settings;
mod supervise;
mod upstream;

/// Registry internals for `benches/routing.rs` (feature `bench-internals`); not a public API.
#[cfg(feature = "bench-internals")]
#[doc(hidden)]
#[allow(missing_docs, missing_debug_implementations, reason = "bench-only shim")]
pub mod bench {
    use hub_protocol::mcp::{Extra, ListKind};

    use crate::registry::{self, Contribution};

    pub struct Lists(registry::Lists);
    pub struct Registry(registry::Registry);

    impl Lists {
        pub fn new(tools: Vec<Extra>, resources: Vec<Extra>) -> Self {
            Lists(registry::Lists { tools, resources, ..Default::default() })
        }
    }

    impl Registry {
        /// Server `i` of `servers` gets index `i`.
        pub fn build(servers: &[(String, Lists)]) -> Self {
            let cs = servers.iter().enumerate();
            Registry(registry::Registry::build(cs.map(|(server, (id, l))| Contribution {
                server,
                id,
                lists: &l.0,
                prefix: hub_config::Prefix::Always,
            })))
        }

        pub fn lookup_tool(&self, name: &str) -> Option<(usize, &str)> {
            let t = self.0.lookup(ListKind::Tools, name)?;
            Some((t.server, &t.original))
        }

        pub fn lookup_resource(&self, uri: &str) -> Option<(usize, String)> {
            self.0.lookup_resource(uri).map(|t| (t.server, t.original))
        }
    }
}

pub use self::{
    cmd::check_stdio,
    hub::{Hub, State},
    registry::sanitize_id,
    serve::serve,
    settings::{
        BreakerSettings, COMPAT_VERSION, PingSettings, RestartSettings, Settings, Supervision,
    },
    upstream::Status,
};
/// Watches the process groups of stdio upstreams (see [`Settings::stdio`]); `hub-bin` uses it to
/// make sure no child outlives a killed hub.
pub use hub_transport::GroupWatch;
