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

mod error;
mod hub;
mod registry;
mod serve;
mod settings;
mod upstream;

pub use self::{
    hub::{Hub, State},
    registry::sanitize_id,
    serve::serve,
    settings::{COMPAT_VERSION, Settings},
    upstream::Status,
};
