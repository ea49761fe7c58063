//! Serving a hub over HTTP: the `/mcp` endpoint and the REST API on one listener.

use std::{future::Future, sync::Arc};

use axum::serve::ListenerExt as _;
use tokio::net::TcpListener;

use crate::Hub;

/// Serves `hub` on `listener` until `shutdown` resolves, then ends every open stream so the
/// server can drain. Does not stop the hub's upstreams (call [`Hub::stop`]).
pub async fn serve(
    hub: Arc<Hub>,
    listener: TcpListener,
    settings: hub_http::Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let facade = hub_http::Facade::new(hub, settings);
    let closer = facade.clone();
    // Small responses and SSE events go out at once instead of waiting on Nagle's algorithm.
    let listener = listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
    });
    axum::serve(listener, facade.router())
        .with_graceful_shutdown(async move {
            shutdown.await;
            // Long-lived SSE streams would hold the graceful shutdown open forever.
            closer.close_all();
        })
        .await
}
