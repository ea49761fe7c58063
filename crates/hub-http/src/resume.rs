//! Resumable SSE answers (MCP 2025-11-25, "Resumability and Redelivery", and SEP-1699's
//! priming event).
//!
//! When the answer to a POST of a 2025-11-25 session becomes an SSE stream, the stream is
//! numbered and its events get ids `<stream>-<seq>`: first a priming event (`<stream>-0`, empty
//! data) so that the client can resume even before the first message, then one id per message.
//! The work behind the answer no longer belongs to the HTTP response: a task (the driver) runs
//! it and records every message in the stream's log, and the response only reads that log. If
//! the connection drops, the client resumes with `GET /mcp` and `Last-Event-ID`, and gets what
//! followed that event on that stream only (never another stream's), then the rest live.
//!
//! A stream nobody reads for [`Settings::resume_window`](crate::Settings) is given up: while the
//! work still runs it is dropped, which cancels it upstream as a client disconnect always did
//! (so a client that is really gone still frees the upstream), and a finished stream's log is
//! forgotten. The log keeps the last [`KEPT`] messages; a resumption from before them is refused
//! rather than answered with a gap.

use std::{
    collections::{HashMap, VecDeque},
    convert::Infallible,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use axum::{
    body::{Body, Bytes},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use futures_util::stream;
use tokio::sync::{Notify, watch};

use crate::wire::KEEP_ALIVE;

/// Most messages a stream's log keeps for resumption.
pub(crate) const KEPT: usize = 1024;

/// Every resumable stream of every session, by session id and stream number.
#[derive(Debug, Default)]
pub(crate) struct Replays {
    map: Mutex<HashMap<(Arc<str>, u64), Arc<Replay>>>,
    /// The next stream number (unique in the hub, hence in every session).
    next: AtomicU64,
}

impl Replays {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(Arc<str>, u64), Arc<Replay>>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A new stream of `session`.
    fn open(&self, session: &Arc<str>) -> (u64, Arc<Replay>) {
        let stream = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let replay =
            Arc::new(Replay { log: watch::Sender::new(Log::default()), resumed: Notify::new() });
        self.lock().insert((session.clone(), stream), replay.clone());
        (stream, replay)
    }

    /// The session ended: its streams can no longer be resumed. Their work goes on to its end
    /// (the backend, told of the session's end, ends it soon), so that a reader still attached
    /// gets the final answer.
    pub(crate) fn end_session(&self, session: &str) {
        self.lock().retain(|(s, _), _| &**s != session);
    }

    /// How many streams are kept (for tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    /// `GET /mcp` with `Last-Event-ID: last` on `session`: the rest of that stream, or why not.
    pub(crate) fn resume(&self, session: &Arc<str>, last: &str) -> Result<Response, String> {
        let parsed = last.split_once('-').and_then(|(stream, seq)| {
            Some((stream.parse::<u64>().ok()?, seq.parse::<u64>().ok()?))
        });
        let Some((stream, seq)) = parsed else {
            return Err(format!("Last-Event-ID {last:?} is not an event id of this server"));
        };
        let replay = self.lock().get(&(session.clone(), stream)).cloned();
        let Some(replay) = replay else {
            return Err(format!(
                "Last-Event-ID {last:?} names no stream of this session that can be resumed \
                 (it ended and was forgotten, or it is not this session's)"
            ));
        };
        let rx = replay.log.subscribe();
        {
            let log = rx.borrow();
            if seq > log.last_seq() {
                return Err(format!("Last-Event-ID {last:?} was never sent"));
            }
            if seq + 1 < log.first_seq {
                return Err(format!(
                    "the events after Last-Event-ID {last:?} are no longer kept (only the last \
                     {KEPT} of a stream are)"
                ));
            }
        }
        tracing::debug!(session = %session, stream, after = seq, "sse answer resumed");
        replay.resumed.notify_one();
        Ok(reader(stream, rx, seq + 1, false))
    }

    fn forget(&self, session: &Arc<str>, stream: u64) {
        self.lock().remove(&(session.clone(), stream));
    }
}

/// One resumable stream: its log, and the driver's wake-up when a reader attaches again.
#[derive(Debug)]
struct Replay {
    log: watch::Sender<Log>,
    resumed: Notify,
}

/// The messages of a stream: `events[0]` has sequence number `first_seq` (the priming event is
/// 0 and is not kept).
#[derive(Debug)]
struct Log {
    first_seq: u64,
    events: VecDeque<String>,
    /// Nothing more will be added.
    done: bool,
}

impl Default for Log {
    fn default() -> Self {
        Log { first_seq: 1, events: VecDeque::new(), done: false }
    }
}

impl Log {
    fn last_seq(&self) -> u64 {
        self.first_seq + self.events.len() as u64 - 1
    }

    fn push(&mut self, json: String) {
        if self.events.len() == KEPT {
            self.events.pop_front();
            self.first_seq += 1;
        }
        self.events.push_back(json);
    }
}

/// Turns the rest of an SSE answer into a resumable stream of `session`: `first` (the first
/// message) and then what `next` yields are logged by a driver task, and the response reads the
/// log, starting with the priming event.
pub(crate) fn answer<P, F>(
    replays: &Arc<Replays>,
    session: &Arc<str>,
    window: Duration,
    first: String,
    phase: P,
    next: fn(P) -> F,
) -> Response
where
    P: Send + 'static,
    F: Future<Output = Option<(String, P)>> + Send + 'static,
{
    let (stream, replay) = replays.open(session);
    replay.log.send_modify(|log| log.push(first));
    let rx = replay.log.subscribe();
    let (replays, session) = (replays.clone(), session.clone());
    tokio::spawn(async move {
        drive(&replay, window, phase, next).await;
        replays.forget(&session, stream);
    });
    reader(stream, rx, 1, true)
}

/// Runs the work of a stream, logging what it yields, until it is done and nobody has read the
/// stream for `window`; drops the work if nobody reads it for `window` before it is done.
async fn drive<P, F>(replay: &Replay, window: Duration, phase: P, next: fn(P) -> F)
where
    F: Future<Output = Option<(String, P)>>,
{
    let mut work = Some(Box::pin(next(phase)));
    // Since when nobody reads the stream.
    let mut unread_since: Option<tokio::time::Instant> = None;
    loop {
        let readers = replay.log.receiver_count();
        if readers > 0 {
            unread_since = None;
        } else if unread_since.is_none() {
            unread_since = Some(tokio::time::Instant::now());
        }
        let deadline = unread_since.map(|t| t + window);
        tokio::select! {
            out = async { work.as_mut().expect("enabled only with work").await }, if work.is_some() => {
                match out {
                    Some((json, phase)) => {
                        replay.log.send_modify(|log| log.push(json));
                        work = Some(Box::pin(next(phase)));
                    }
                    None => {
                        work = None;
                        replay.log.send_modify(|log| log.done = true);
                    }
                }
            }
            () = replay.log.closed(), if readers > 0 => {}
            () = replay.resumed.notified(), if readers == 0 => {}
            () = sleep_until(deadline), if readers == 0 => {
                if work.is_some() {
                    tracing::debug!(
                        "an sse answer was not resumed within {window:?}; its request is cancelled"
                    );
                }
                break;
            }
        }
    }
    // Dropping the work cancels it; readers still attached see the end.
    drop(work);
    replay.log.send_modify(|log| log.done = true);
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// What a reader of a stream still has to send.
struct Reader {
    stream: u64,
    rx: watch::Receiver<Log>,
    /// The sequence number of the next message to send.
    next: u64,
    /// The priming event is still to be sent.
    prime: bool,
}

/// The SSE response that reads stream `stream` from sequence number `next` on: the logged
/// messages, then the new ones as they come, with keep-alive comments, until the stream is done.
fn reader(stream: u64, rx: watch::Receiver<Log>, next: u64, prime: bool) -> Response {
    let body = stream::unfold(Reader { stream, rx, next, prime }, |mut r| async move {
        let chunk = r.next_chunk().await?;
        Some((Ok::<_, Infallible>(Bytes::from(chunk)), r))
    });
    let mut response = Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    *response.status_mut() = StatusCode::OK;
    response
}

impl Reader {
    /// The next bytes of the body; `None` at its end.
    async fn next_chunk(&mut self) -> Option<String> {
        if std::mem::take(&mut self.prime) {
            return Some(format!("id: {}-0\ndata: \n\n", self.stream));
        }
        // Set once the driver is gone: the log is final.
        let mut last = false;
        loop {
            {
                let log = self.rx.borrow_and_update();
                if self.next < log.first_seq {
                    // Fell behind by more than the log keeps: end; a resumption is told why.
                    tracing::warn!(stream = self.stream, "sse answer reader fell behind; ended");
                    return None;
                }
                let index = usize::try_from(self.next - log.first_seq).unwrap_or(usize::MAX);
                if let Some(json) = log.events.get(index) {
                    let (stream, seq) = (self.stream, self.next);
                    self.next += 1;
                    return Some(format!("id: {stream}-{seq}\nevent: message\ndata: {json}\n\n"));
                }
                if log.done || last {
                    return None;
                }
            }
            match tokio::time::timeout(KEEP_ALIVE, self.rx.changed()).await {
                Err(_) => return Some(":\n\n".to_owned()),
                Ok(Err(_)) => last = true,
                Ok(Ok(())) => {}
            }
        }
    }
}
