//! Streamable HTTP: reading the answer to a request's POST (a JSON body or an SSE stream,
//! resumed with GET + `Last-Event-ID` when it breaks before the response), and the standalone
//! GET stream that carries what the server sends on its own initiative.
//!
//! A POST's SSE stream is read until the request's response has been routed (the server should
//! end the stream there; reading on would keep a task per request alive for as long as a
//! misbehaving server keeps its streams open), until it ends, or until the request is given up
//! (its task is aborted on cancellation). The standalone stream is read for as long as the peer
//! lives, reconnected with `Last-Event-ID` after the server's `retry` delay whenever it drops.

use std::{sync::Arc, time::Duration};

use reqwest::StatusCode;
use tracing::{debug, warn};

use super::{Answer, EVENT_STREAM, JSON, Link, media_type, read_body, sse::EventReader};
use crate::{
    error::{Error, Result},
    http::sse::{SseEvent, SseFrame},
    peer::{Origin, Replies, Router},
};

/// Handles the server's answer to request `id`'s POST, until its response has been routed.
/// An error is the request's outcome.
pub(super) async fn answer(link: &Arc<Link>, id: i64, answer: Answer) -> Result<()> {
    let status = answer.response.status();
    if !status.is_success() {
        return Err(link.status_error(answer).await);
    }
    if link.is_initialize(id) {
        link.capture_session(answer.response.headers());
    }
    if status == StatusCode::ACCEPTED {
        return Err(Error::Protocol {
            reason: "the server accepted a request (HTTP 202) without answering it".to_owned(),
        });
    }
    // What the server sends on a request's answer relates to that request.
    let Some(router) = link.router().map(|r| r.with_origin(Origin::Request(id))) else {
        return Ok(());
    };
    match media_type(&answer.response).as_str() {
        JSON => {
            let body = read_body(answer.response, link.settings.max_body_bytes).await?;
            router.line(&body);
            if link.shared.is_pending(id) {
                return Err(Error::Protocol {
                    reason: "the JSON answer held no response to the request".to_owned(),
                });
            }
            Ok(())
        }
        EVENT_STREAM => stream(link, &router, id, answer.response).await,
        other => Err(Error::Protocol {
            reason: format!("unexpected content type `{other}` in the answer to a request"),
        }),
    }
}

/// Reads request `id`'s SSE stream until its response has been routed, resuming the stream
/// when it ends first.
async fn stream<R: Replies>(
    link: &Link,
    router: &Router<'_, R>,
    id: i64,
    response: reqwest::Response,
) -> Result<()> {
    let mut cursor = Cursor::default();
    let mut reader = Some(EventReader::new(response, link.settings.max_event_bytes));
    let mut delays = None;
    loop {
        if let Some(mut events) = reader.take()
            && cursor.read(link, router, &mut events, Some(id)).await
        {
            delays = None; // progress: the next break starts over at the `retry` delay
        }
        if !link.shared.is_pending(id) {
            return Ok(());
        }
        let Some(last_id) = cursor.last_id.clone() else {
            return Err(Error::Protocol {
                reason: "the response stream ended before the response, without an event id \
                         to resume from"
                    .to_owned(),
            });
        };
        let attempts = link.settings.resume_attempts;
        let Some(delay) =
            delays.get_or_insert_with(|| link.backoff(cursor.retry, Some(attempts))).next()
        else {
            return Err(Error::Protocol {
                reason: format!(
                    "the response stream ended before the response; resuming it failed \
                     {attempts} times"
                ),
            });
        };
        debug!(server = %link.name(), id, ?delay, "response stream ended early; resuming");
        tokio::time::sleep(delay).await;
        if !link.shared.is_pending(id) {
            return Ok(()); // answered meanwhile (on another stream) or given up
        }
        let answer = match link.get(Some(&last_id)).await {
            Ok(answer) => answer,
            Err(error) => {
                debug!(server = %link.name(), id, %error, "cannot resume yet");
                continue;
            }
        };
        let status = answer.response.status();
        if status == StatusCode::METHOD_NOT_ALLOWED {
            return Err(Error::Protocol {
                reason: "the response stream ended before the response, and the server does \
                         not resume streams (HTTP 405)"
                    .to_owned(),
            });
        }
        if !status.is_success() {
            return Err(link.status_error(answer).await);
        }
        if media_type(&answer.response) != EVENT_STREAM {
            return Err(Error::Protocol {
                reason: format!(
                    "unexpected content type `{}` when resuming the response stream",
                    media_type(&answer.response)
                ),
            });
        }
        reader = Some(EventReader::new(answer.response, link.settings.max_event_bytes));
    }
}

/// The standalone GET stream, opened once `notifications/initialized` was accepted: routes what
/// the server sends on its own, reconnecting (with `Last-Event-ID`) whenever it drops. Ends
/// when the server has no such stream (405) or refuses it, or when the peer closes.
pub(super) async fn listen(link: Arc<Link>) {
    let Some(router) = link.router().map(|r| r.with_origin(Origin::Unrelated)) else { return };
    let mut cursor = Cursor::default();
    let mut delays = None;
    loop {
        match link.get(cursor.last_id.as_deref()).await {
            Ok(answer) => {
                let status = answer.response.status();
                if status == StatusCode::METHOD_NOT_ALLOWED {
                    debug!(server = %link.name(), "the server offers no standalone SSE stream");
                    return;
                }
                if !status.is_success() {
                    let error = link.status_error(answer).await;
                    if !link.shared.is_closed_now() {
                        warn!(
                            server = %link.name(), %error,
                            "cannot open the standalone SSE stream; messages the server sends \
                             on its own will not arrive"
                        );
                    }
                    return;
                }
                let media_type = media_type(&answer.response);
                if media_type != EVENT_STREAM {
                    warn!(
                        server = %link.name(), %media_type,
                        "the standalone stream is not an SSE stream; not reading it"
                    );
                    return;
                }
                debug!(server = %link.name(), "standalone SSE stream open");
                let mut events = EventReader::new(answer.response, link.settings.max_event_bytes);
                if cursor.read(&link, &router, &mut events, None).await {
                    delays = None;
                }
                debug!(server = %link.name(), "standalone SSE stream ended");
            }
            Err(error) => {
                debug!(server = %link.name(), %error, "cannot open the standalone SSE stream");
            }
        }
        let delay = delays
            .get_or_insert_with(|| link.backoff(cursor.retry, None))
            .next()
            .unwrap_or(link.settings.max_retry);
        tokio::time::sleep(delay).await;
    }
}

/// Where a stream is: the last event id and the server's retry delay, kept across reconnects.
#[derive(Debug, Default)]
struct Cursor {
    last_id: Option<String>,
    retry: Option<Duration>,
}

impl Cursor {
    /// Routes the events of one connection until it ends (or, with `until_answered`, until
    /// that request is no longer pending). Returns whether any event arrived.
    async fn read<R: Replies>(
        &mut self,
        link: &Link,
        router: &Router<'_, R>,
        events: &mut EventReader,
        until_answered: Option<i64>,
    ) -> bool {
        let mut progressed = false;
        loop {
            match events.next().await {
                Some(Ok(SseFrame::Event(event))) => {
                    progressed = true;
                    if let Some(id) = &event.id {
                        // An empty id resets the last event id.
                        self.last_id = (!id.is_empty()).then(|| id.clone());
                    }
                    if let Some(retry) = event.retry {
                        self.retry = Some(Duration::from_millis(retry));
                    }
                    route(link, router, event);
                    if until_answered.is_some_and(|id| !link.shared.is_pending(id)) {
                        return progressed;
                    }
                }
                Some(Ok(SseFrame::TooLarge { len })) => warn!(
                    server = %link.name(), len, max = link.settings.max_event_bytes,
                    "ignoring an over-large SSE event"
                ),
                Some(Err(error)) => {
                    debug!(server = %link.name(), error = %error.without_url(), "SSE stream broke");
                    return progressed;
                }
                None => return progressed,
            }
        }
    }
}

/// Routes an event's data when it is a message (the default event type, or `message`).
/// Events without data (priming events, `retry` updates) carry nothing to route.
pub(super) fn route<R: Replies>(link: &Link, router: &Router<'_, R>, event: SseEvent) {
    match event.event.as_deref() {
        None | Some("message") => {}
        Some(other) => {
            debug!(server = %link.name(), event = other, "ignoring an SSE event of another type");
            return;
        }
    }
    if let Some(data) = event.data
        && !data.trim_ascii().is_empty()
    {
        router.line(&data);
    }
}
