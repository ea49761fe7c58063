//! Upstream connection pooling for the hub.
//!
//! **Built:** the shared HTTP client stack for remote upstreams. [`http_client`] builds the one
//! [`reqwest::Client`] the hub hands to every streamable-HTTP and legacy SSE upstream
//! (`hub_transport::connect`), so they share one connection pool: rustls with the *ring* crypto
//! provider (no OpenSSL, and no aws-lc-rs, whose C build costs about 100 s per clean build), the
//! system's trust store, HTTP/1.1 and HTTP/2 (negotiated by ALPN), and the timeouts and pool
//! limits of [`PoolSettings`].
//!
//! [`Pool`] pairs such a client with an [`OriginLimiter`], the per-origin cap on requests in
//! flight that reqwest lacks (the config's `connectionPool.maxConnections`). hub-core maps each
//! remote server's effective `connectionPool` onto [`PoolSettings`] and keeps one [`Pool`] per
//! distinct value, so servers with the same settings share connections and caps.
//!
//! **Not built yet:** the supervised stdio process pool (sharing policy, caps). Until then
//! hub-core drives `hub-transport` directly.

mod client;
mod limit;

pub use self::{
    client::{Error, PoolSettings, http_client, install_crypto_provider},
    limit::{OriginLimiter, Pool},
};
