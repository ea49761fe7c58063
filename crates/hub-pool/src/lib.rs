//! Upstream session and connection pooling for the hub.
//!
//! **Not built yet.** This crate will own the shared HTTP client stack for remote upstreams (rustls,
//! per-origin connection limits, keep-alive, connect/request/idle timeouts, the `connectionPool`
//! settings) and the supervised stdio process pool (sharing policy, caps, restart with backoff,
//! circuit breaker, ping health checks). Until then `hub-core` drives `hub-transport` directly.
