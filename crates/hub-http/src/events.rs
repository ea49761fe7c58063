//! `GET /api/events`: the hub's live events as mcp-hub streams them (`event: <name>` and a
//! one-line JSON `data:` with `timestamp`): `hub_state` first (with `server_id`, `pid`,
//! `port`), then every event the backend publishes, and a `heartbeat` with the number of
//! listeners every 10 s. The stream ends when the facade shuts down (mcphub.nvim reads that as
//! the hub stopping).

use std::{
    convert::Infallible,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{
        IntoResponse, Response,
        sse::{Event as SseEvent, Sse},
    },
};
use futures_util::stream;
use hub_events::{Event, EventName};
use serde_json::{Map, Value, json};
use tokio::sync::{broadcast::error::RecvError, watch};

use crate::{backend::Backend, facade::Shared, wire};

/// How often a `heartbeat` goes out (mcp-hub's interval).
pub(crate) const HEARTBEAT: Duration = Duration::from_secs(10);

/// The open `/api/events` streams: how many, and the signal that ends them all.
#[derive(Debug)]
pub(crate) struct Listeners {
    count: Arc<AtomicUsize>,
    closed: watch::Sender<bool>,
}

impl Default for Listeners {
    fn default() -> Self {
        Listeners { count: Arc::default(), closed: watch::Sender::new(false) }
    }
}

impl Listeners {
    /// How many streams are open.
    pub(crate) fn count(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    /// Ends every stream (shutdown); later ones end at once.
    pub(crate) fn close(&self) {
        self.closed.send_replace(true);
    }
}

/// Counts a stream for as long as it lives.
struct Listening(Arc<AtomicUsize>);

impl Drop for Listening {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// One stream's state.
struct Feed {
    first: Option<Event>,
    rx: tokio::sync::broadcast::Receiver<Event>,
    heartbeat: tokio::time::Interval,
    closed: watch::Receiver<bool>,
    count: Arc<AtomicUsize>,
    port: u16,
    _listening: Listening,
}

/// `GET /api/events`.
pub(crate) async fn stream<B: Backend>(State(shared): State<Arc<Shared<B>>>) -> Response {
    let Some(bus) = shared.backend.events() else {
        let body = json!({"error": "no event stream", "code": "NOT_FOUND", "timestamp": wire::timestamp()});
        return (StatusCode::NOT_FOUND, axum::Json(body)).into_response();
    };
    let listeners = &shared.listeners;
    let count = listeners.count.clone();
    count.fetch_add(1, Ordering::AcqRel);
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    heartbeat.reset(); // the first tick one interval from now, not at once
    let feed = Feed {
        first: Some(bus.current_state()),
        rx: bus.subscribe(),
        heartbeat,
        closed: listeners.closed.subscribe(),
        _listening: Listening(count.clone()),
        count,
        port: shared.settings.port,
    };
    let events = stream::unfold(feed, |mut feed| async move {
        let event = next(&mut feed).await?;
        let sse = frame(&event, feed.port);
        Some((Ok::<_, Infallible>(sse), feed))
    });
    let mut response = Sse::new(events).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// The next event of a stream; `None` once the facade closes or the bus is gone.
async fn next(feed: &mut Feed) -> Option<Event> {
    if let Some(first) = feed.first.take() {
        return Some(first);
    }
    loop {
        if *feed.closed.borrow() {
            return None;
        }
        tokio::select! {
            received = feed.rx.recv() => match received {
                Ok(event) => return Some(event),
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(skipped = n, "an /api/events listener fell behind");
                }
                Err(RecvError::Closed) => return None,
            },
            _ = feed.heartbeat.tick() => {
                let mut data = Map::new();
                data.insert("connections".to_owned(), json!(feed.count.load(Ordering::Acquire)));
                return Some(Event { name: EventName::Heartbeat, data });
            }
            _ = feed.closed.changed() => {}
        }
    }
}

/// The SSE event: the name, and the payload with `timestamp` set now (and, for `hub_state`,
/// who is speaking: `server_id`, `pid`, `port`).
fn frame(event: &Event, port: u16) -> SseEvent {
    let mut data = event.data.clone();
    if event.name == EventName::HubState {
        data.insert("server_id".to_owned(), json!("mcp-hub"));
        data.insert("pid".to_owned(), json!(std::process::id()));
        data.insert("port".to_owned(), json!(port));
    }
    data.insert("timestamp".to_owned(), Value::String(wire::timestamp()));
    SseEvent::default().event(event.name.as_str()).data(Value::Object(data).to_string())
}

#[cfg(test)]
mod tests;
