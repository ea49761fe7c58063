//! Per-origin caps on requests in flight, and the [`Pool`] that pairs them with a client.
//!
//! reqwest (hyper) opens as many connections to an origin as there are concurrent requests;
//! it has no cap. The mcp-hub fork's `maxConnections` is one, so the hub enforces it itself: a
//! semaphore per origin, shared by every upstream of the same [`Pool`] with that origin. The
//! transport takes a permit for each request it makes and holds it until the answer has been
//! read (`hub_transport::HttpSpec::limit`).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError, Weak},
};

use tokio::sync::Semaphore;

use crate::{Error, PoolSettings, http_client};

/// One semaphore of `max` permits per origin (`scheme://host:port`), created on first use and
/// shared by everyone who asks for the same origin while any of them holds it.
#[derive(Debug)]
pub struct OriginLimiter {
    max: usize,
    /// Weak, so that origins no upstream uses any more are forgotten.
    origins: Mutex<HashMap<String, Weak<Semaphore>>>,
}

impl OriginLimiter {
    /// A limiter of `max` requests at once per origin (at least 1).
    pub fn new(max: usize) -> Self {
        OriginLimiter { max: max.max(1), origins: Mutex::new(HashMap::new()) }
    }

    /// The most requests at once per origin.
    pub fn max(&self) -> usize {
        self.max
    }

    /// The semaphore of `url`'s origin; `None` when `url` is not a URL (the transport reports
    /// that itself).
    pub fn for_url(&self, url: &str) -> Option<Arc<Semaphore>> {
        let origin = reqwest::Url::parse(url).ok()?.origin().ascii_serialization();
        let mut origins = self.origins.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(semaphore) = origins.get(&origin).and_then(Weak::upgrade) {
            return Some(semaphore);
        }
        origins.retain(|_, s| s.strong_count() > 0);
        let semaphore = Arc::new(Semaphore::new(self.max));
        origins.insert(origin, Arc::downgrade(&semaphore));
        Some(semaphore)
    }
}

/// A client and the per-origin cap that goes with it: what every upstream with the same
/// [`PoolSettings`] shares.
#[derive(Debug)]
pub struct Pool {
    client: reqwest::Client,
    limiter: Option<OriginLimiter>,
}

impl Pool {
    /// Builds the client ([`http_client`]) and, when `settings.max_connections` is set, its
    /// limiter.
    pub fn new(settings: &PoolSettings) -> Result<Self, Error> {
        Ok(Pool {
            client: http_client(settings)?,
            limiter: settings.max_connections.map(OriginLimiter::new),
        })
    }

    /// The client; clones share its connections.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The cap on requests in flight to `url`'s origin, `None` without one.
    pub fn limit(&self, url: &str) -> Option<Arc<Semaphore>> {
        self.limiter.as_ref()?.for_url(url)
    }
}

#[cfg(test)]
mod tests;
