//! The shared [`reqwest::Client`] for remote upstreams.
//!
//! reqwest is built with `rustls-no-provider`: it panics when a client is built while no rustls
//! crypto provider is installed for the process. [`http_client`] therefore installs the ring
//! provider first ([`install_crypto_provider`], idempotent); any other code in the process that
//! builds a reqwest client itself (tests, embedders) must call [`install_crypto_provider`] first
//! too, because Cargo unifies reqwest's features across everything built together.
//!
//! Redirects are followed only within the origin of the first request: an upstream's static
//! headers (API keys in custom headers, which reqwest does not know to strip) must not go to
//! another host. A redirect elsewhere is not followed; the caller gets the 3xx answer.
//!
//! No overall request timeout and no read timeout are set: the clients of this stack hold SSE
//! streams open for as long as an upstream lives, and each MCP request has its own timeout in
//! `hub_transport::Peer::request`.

use std::time::Duration;

use reqwest::redirect;

/// The client stack's timings and limits. The defaults are the mcp-hub fork's connection pool
/// defaults (`connectionPool`), as hub-core maps them.
///
/// Hashable: hub-core builds one [`Pool`](crate::Pool) per distinct value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PoolSettings {
    /// How long establishing a connection (TCP and TLS) may take. Default 30 s.
    pub connect_timeout: Duration,
    /// How long an idle pooled connection is kept; `None` keeps it until the server closes it.
    /// Default 60 s.
    pub pool_idle_timeout: Option<Duration>,
    /// How many idle connections are kept per host; `0` keeps none, so no connection is ever
    /// reused. Default 10.
    pub pool_max_idle_per_host: usize,
    /// Most requests in flight at once per origin, enforced by the [`Pool`](crate::Pool)'s
    /// [`OriginLimiter`](crate::OriginLimiter) (reqwest and hyper have no such limit); `None`:
    /// no limit. Default 50.
    pub max_connections: Option<usize>,
    /// TCP keep-alive probe interval; `None` disables keep-alive. Default 60 s.
    pub tcp_keepalive: Option<Duration>,
    /// Whether to disable Nagle's algorithm (small JSON-RPC messages go out at once). Default
    /// `true`.
    pub tcp_nodelay: bool,
    /// The `User-Agent` header. Default `mcp-hub/<crate version>`.
    pub user_agent: String,
    /// How many redirects (within the first request's origin) are followed. Default 10.
    pub max_redirects: usize,
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings {
            connect_timeout: Duration::from_secs(30),
            pool_idle_timeout: Some(Duration::from_secs(60)),
            pool_max_idle_per_host: 10,
            max_connections: Some(50),
            tcp_keepalive: Some(Duration::from_secs(60)),
            tcp_nodelay: true,
            user_agent: concat!("mcp-hub/", env!("CARGO_PKG_VERSION")).to_owned(),
            max_redirects: 10,
        }
    }
}

/// Why the client stack could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// reqwest refused the configuration (for example, the system's trust store is unusable).
    #[error("cannot build the HTTP client")]
    Build(#[source] reqwest::Error),
}

/// Installs rustls's ring crypto provider as the process default, unless a provider is already
/// installed (by an earlier call, or by the embedding program, whose choice is kept). Safe to
/// call any number of times, from any thread.
pub fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none()
        && rustls::crypto::ring::default_provider().install_default().is_err()
    {
        // Another thread installed one between the check and the install: that one stays.
    }
}

/// Builds the HTTP client for remote upstreams: rustls (ring provider, installed first),
/// HTTP/1.1 and HTTP/2, same-origin redirects only, and the timeouts and pool limits of
/// `settings`. `max_connections` is not the client's business: see [`Pool`](crate::Pool).
///
/// Build it once and clone it: clones share the connection pool.
pub fn http_client(settings: &PoolSettings) -> Result<reqwest::Client, Error> {
    install_crypto_provider();
    reqwest::Client::builder()
        .tls_backend_rustls()
        .user_agent(settings.user_agent.as_str())
        .connect_timeout(settings.connect_timeout)
        .pool_idle_timeout(settings.pool_idle_timeout)
        .pool_max_idle_per_host(settings.pool_max_idle_per_host)
        .tcp_keepalive(settings.tcp_keepalive)
        .tcp_nodelay(settings.tcp_nodelay)
        .redirect(same_origin_redirects(settings.max_redirects))
        .build()
        .map_err(Error::Build)
}

/// Follows at most `max` redirects, all within the origin of the first request.
fn same_origin_redirects(max: usize) -> redirect::Policy {
    redirect::Policy::custom(move |attempt| {
        // `previous` starts with the URL of the first request.
        let elsewhere = attempt
            .previous()
            .first()
            .is_some_and(|first| first.origin() != attempt.url().origin());
        if elsewhere {
            attempt.stop()
        } else if attempt.previous().len() > max {
            attempt.error("too many redirects")
        } else {
            attempt.follow()
        }
    })
}

#[cfg(test)]
mod tests;
