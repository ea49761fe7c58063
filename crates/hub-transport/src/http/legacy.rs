//! The legacy HTTP+SSE transport (MCP 2024-11-05): one long-lived GET stream whose first
//! `endpoint` event names the URL to POST messages to; every `message` event on the stream is a
//! message from the server.
//!
//! The session lives as long as the stream: when it ends, the peer closes (the hub reconnects).
//! There is no resumption in this transport.

use std::sync::Arc;

use bytes::Bytes;
use reqwest::{
    Url,
    header::{self, HeaderValue},
};
use tracing::{debug, info, warn};

use super::{
    EVENT_STREAM, JSON, Link, Mode, media_type, request_error,
    sse::{EventReader, SseFrame},
    streamable,
};
use crate::error::{Error, Result};

/// Opens the SSE stream, waits for its `endpoint` event (up to the connect timeout), sets the
/// link's mode to legacy and starts the task that reads the stream.
pub(super) async fn open(link: &Arc<Link>) -> Result<()> {
    let within = link.settings.connect_timeout;
    let opened = tokio::time::timeout(within, async {
        let mut headers = link.headers.clone();
        headers.insert(header::ACCEPT, HeaderValue::from_static(EVENT_STREAM));
        let response = link
            .client
            .get(link.url.clone())
            .headers(headers)
            .send()
            .await
            .map_err(request_error)?;
        let status = response.status();
        if !status.is_success() {
            let answer = super::Answer { response, with_session: false };
            return Err(link.status_error(answer).await);
        }
        let media_type = media_type(&response);
        if media_type != EVENT_STREAM {
            return Err(Error::Protocol {
                reason: format!("the SSE URL answered with content type `{media_type}`"),
            });
        }
        let mut events = EventReader::new(response, link.settings.max_event_bytes);
        let endpoint = endpoint(link, &mut events).await?;
        Ok((endpoint, events))
    })
    .await;
    let (endpoint, events) = opened.map_err(|_| Error::Protocol {
        reason: format!("no `endpoint` event on the SSE stream within {within:?}"),
    })??;
    info!(server = %link.name(), "speaking the legacy HTTP+SSE transport");
    // No await from here on: the mode is set and the reader started together.
    link.set_mode(Mode::Legacy(endpoint));
    link.spawn(read(Arc::clone(link), events));
    Ok(())
}

/// Reads events until the `endpoint` event and resolves its URL against the SSE URL; it must
/// have the same origin (a server must not send the hub's messages elsewhere).
async fn endpoint(link: &Link, events: &mut EventReader) -> Result<Url> {
    loop {
        match events.next().await {
            Some(Ok(SseFrame::Event(event))) if event.event.as_deref() == Some("endpoint") => {
                let data = event.data.unwrap_or_default();
                let text = String::from_utf8_lossy(&data);
                let endpoint = link.url.join(text.trim()).map_err(|e| Error::Protocol {
                    reason: format!("invalid `endpoint` event: {e}"),
                })?;
                if endpoint.origin() != link.url.origin() {
                    return Err(Error::Protocol {
                        reason: format!(
                            "the `endpoint` event points to another origin ({})",
                            endpoint.origin().ascii_serialization()
                        ),
                    });
                }
                return Ok(endpoint);
            }
            Some(Ok(SseFrame::Event(event))) => {
                debug!(server = %link.name(), event = ?event.event, "ignoring an event before `endpoint`");
            }
            Some(Ok(SseFrame::TooLarge { len })) => {
                warn!(server = %link.name(), len, "ignoring an over-large SSE event");
            }
            Some(Err(error)) => return Err(request_error(error)),
            None => {
                return Err(Error::Protocol {
                    reason: "the SSE stream ended before its `endpoint` event".to_owned(),
                });
            }
        }
    }
}

/// Routes every message event of the stream; when the stream ends, closes the peer.
async fn read(link: Arc<Link>, mut events: EventReader) {
    let Some(router) = link.router() else { return };
    let reason = loop {
        match events.next().await {
            Some(Ok(SseFrame::Event(event))) if event.event.as_deref() == Some("endpoint") => {
                debug!(server = %link.name(), "ignoring a repeated `endpoint` event");
            }
            Some(Ok(SseFrame::Event(event))) => streamable::route(&link, &router, event),
            Some(Ok(SseFrame::TooLarge { len })) => warn!(
                server = %link.name(), len, max = link.settings.max_event_bytes,
                "ignoring an over-large SSE event"
            ),
            Some(Err(error)) => break format!("SSE stream failed: {}", error.without_url()),
            None => break "the server ended the SSE stream".to_owned(),
        }
    };
    link.shared.close(reason);
}

/// POSTs one message to the endpoint. Any 2xx is success; the body is ignored (the answer
/// comes on the stream).
pub(super) async fn post(link: &Link, endpoint: &Url, body: Bytes) -> Result<()> {
    let mut headers = link.headers.clone();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
    let response = link
        .client
        .post(endpoint.clone())
        .headers(headers)
        .body(body)
        .send()
        .await
        .map_err(request_error)?;
    if response.status().is_success() {
        return Ok(());
    }
    Err(link.status_error(super::Answer { response, with_session: false }).await)
}
