//! Upstream connection pooling for the hub.
//!
//! **Built:** the shared HTTP client stack for remote upstreams. [`http_client`] builds the one
//! [`reqwest::Client`] the hub hands to every streamable-HTTP and legacy SSE upstream
//! (`hub_transport::connect`), so they share one connection pool: rustls with the *ring* crypto
//! provider (no OpenSSL, and no aws-lc-rs, whose C build costs about 100 s per clean build), the
//! system's trust store, HTTP/1.1 and HTTP/2 (negotiated by ALPN), and the timeouts and pool
//! limits of [`PoolSettings`].
//!
//! **Not built yet:** per-origin connection caps beyond the idle pool, the mapping of the
//! `connectionPool` config settings (hub-core will build [`PoolSettings`] from them), and the
//! supervised stdio process pool (sharing policy, caps, restart with backoff, circuit breaker,
//! ping health checks). Until then hub-core drives `hub-transport` directly.

mod client;

pub use self::client::{Error, PoolSettings, http_client, install_crypto_provider};
