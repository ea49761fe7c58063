//! MCP streamable HTTP on `/mcp`: POST (messages), GET (standalone SSE stream; without a session
//! it is the legacy transport), DELETE (end of session).
//!
//! A POST carrying requests whose client accepts `text/event-stream` gets a stream of its own (a
//! [`RequestStream`]) for the messages the backend sends while it answers (progress, log
//! messages, requests to the client). The answer stays a plain JSON body when the backend answers
//! before it sends anything (the fast path, which is almost every request); otherwise it becomes
//! an SSE stream: the messages in the order sent, then the response(s), then the end. For a
//! 2025-11-25 session that stream is resumable (see [`crate::resume`]): primed, numbered, and
//! continued by `GET /mcp` with `Last-Event-ID` after a dropped connection.

use std::{
    collections::VecDeque,
    convert::Infallible,
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex, PoisonError},
};

use axum::{
    body::Bytes,
    extract::{State, rejection::BytesRejection},
    http::{HeaderMap, HeaderValue, StatusCode},
    response::{
        IntoResponse, Response,
        sse::{KeepAlive, Sse},
    },
};
use futures_util::{StreamExt, stream};
use hub_protocol::{
    DecodeError, Message, ProtocolVersion, Request, Response as RpcResponse,
    jsonrpc::{INVALID_REQUEST, decode, decode_batch},
    mcp::method,
};
use tokio::sync::mpsc::{self, error::TrySendError};

use crate::{
    backend::{Backend, SessionInfo, Transport},
    client::{ClientSink, Context, SessionHandle},
    dispatch,
    facade::Shared,
    legacy,
    session::Outlet,
    wire::{
        self, Accept, KEEP_ALIVE, OUTBOUND_CAPACITY, Outbound, SESSION_HEADER, SESSION_NOT_FOUND,
        TRANSPORT_ERROR, VERSION_HEADER,
    },
};

/// The header a client resumes an SSE stream with.
const LAST_EVENT_ID: &str = "last-event-id";

/// `POST /mcp`.
pub(crate) async fn post<B: Backend>(
    State(shared): State<Arc<Shared<B>>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    shared.ensure_fanout();
    let accept = Accept::from_headers(&headers);
    if !accept.allows_post_answer() {
        return wire::not_acceptable("accept must include application/json or text/event-stream");
    }
    let body = match wire::json_body(&headers, body, shared.settings.max_body_bytes) {
        Ok(body) => body,
        Err(response) => return response,
    };
    match decode(&body) {
        Ok(Message::Request(request)) if request.method == method::INITIALIZE => {
            initialize(&shared, accept, request).await
        }
        Ok(message) => {
            let (session, handle) = match session_of(&shared, &headers) {
                Ok(session) => session,
                Err(response) => return response,
            };
            tracing::debug!(session = %session.id, method = message.method(), "post /mcp");
            match message {
                Message::Request(request) => {
                    let busy = shared.sessions.busy(&session.id);
                    let resume = Resume::of(&shared, &session);
                    let shared = shared.clone();
                    let work = move |ctx: Context| async move {
                        let _busy = busy;
                        Final::One(shared.backend.request(ctx, request).await)
                    };
                    let streams = accept.allows_sse_answer();
                    respond(accept, streams, session, handle, resume, work).await
                }
                other => {
                    // A notification or a client's answer: handed over, nothing to wait for.
                    let ctx = Context::new(session, handle, None);
                    dispatch::message(&*shared.backend, &ctx, other).await;
                    wire::accepted()
                }
            }
        }
        Err(DecodeError::Batch) => {
            let (session, handle) = match session_of(&shared, &headers) {
                Ok(session) => session,
                Err(response) => return response,
            };
            if !session.protocol_version.allows_batches() {
                return wire::rpc_error(
                    StatusCode::BAD_REQUEST,
                    INVALID_REQUEST,
                    format!(
                        "batches are not supported in protocol version {}",
                        session.protocol_version
                    ),
                );
            }
            let items = match decode_batch(&body) {
                Ok(items) => items,
                Err(e) => return wire::rpc_response(StatusCode::BAD_REQUEST, e.to_response()),
            };
            tracing::debug!(session = %session.id, len = items.len(), "post /mcp batch");
            // The requests of a batch share one stream (and one SSE answer).
            let streams = accept.allows_sse_answer() && dispatch::has_requests(&items);
            let busy = shared.sessions.busy(&session.id);
            let resume = Resume::of(&shared, &session);
            let shared = shared.clone();
            let work = move |ctx: Context| async move {
                let _busy = busy;
                Final::Batch(dispatch::batch(&*shared.backend, &ctx, items).await)
            };
            respond(accept, streams, session, handle, resume, work).await
        }
        Err(e) => {
            tracing::debug!(error = %e, "undecodable post /mcp");
            wire::rpc_response(StatusCode::BAD_REQUEST, e.to_response())
        }
    }
}

/// What a POST's requests come to: one response, or a batch's responses (none when the batch
/// held only notifications and client answers).
enum Final {
    One(RpcResponse),
    Batch(Vec<RpcResponse>),
}

impl Final {
    /// The body of an answer that is not a stream; `None` for a batch without responses (202).
    fn into_body(self) -> Option<String> {
        match self {
            Final::One(response) => Some(wire::to_json(&response.into())),
            Final::Batch(responses) if responses.is_empty() => None,
            Final::Batch(responses) => Some(batch_json(responses)),
        }
    }

    /// The events that end an SSE answer: one per response, since clients parse each event as
    /// one message.
    fn into_events(self) -> VecDeque<String> {
        let responses = match self {
            Final::One(response) => vec![response],
            Final::Batch(responses) => responses,
        };
        responses.into_iter().map(|r| wire::to_json(&r.into())).collect()
    }
}

/// The backend's work on a POST's requests, owned by the answer so that it lives as long as the
/// answer's stream (and is dropped with it, like the handler of a JSON answer).
type Work = Pin<Box<dyn Future<Output = Final> + Send>>;

/// Runs `work` with a [`Context`] and answers the POST. With `streams`, the context has a
/// stream of its own, raced against the work: the answer is a plain one (JSON, or the single
/// SSE event an SSE-only client asks for, exactly as without a stream) if the work finishes
/// before sending anything; otherwise an SSE stream starting with the first message.
async fn respond<F, Fut>(
    accept: Accept,
    streams: bool,
    session: SessionInfo,
    handle: SessionHandle,
    resume: Option<Resume>,
    work: F,
) -> Response
where
    F: FnOnce(Context) -> Fut,
    Fut: Future<Output = Final> + Send + 'static,
{
    if !streams {
        // Messages for these requests go to the session's GET stream.
        let done = work(Context::new(session, handle, None)).await;
        return plain_answer(accept, done);
    }
    let (sink, mut rx) = RequestStream::new();
    let own: Arc<dyn ClientSink> = sink.clone();
    let mut work: Work = Box::pin(work(Context::new(session, handle, Some(own))));
    tokio::select! {
        biased;
        done = &mut work => {
            sink.finish();
            // The work may have sent something before it finished, in the same poll.
            match rx.try_recv() {
                Err(_) => plain_answer(accept, done),
                Ok(first) => {
                    let phase = Phase::Draining { rx, finals: done.into_events() };
                    stream_answer(first, phase, resume)
                }
            }
        }
        Some(first) = rx.recv() => stream_answer(first, Phase::Working { work, rx, sink }, resume),
    }
}

/// Where a session's SSE answers are made resumable: sessions of 2025-11-25 or later, unless
/// `resume_window` is zero.
struct Resume {
    replays: Arc<crate::resume::Replays>,
    session: Arc<str>,
    window: std::time::Duration,
}

impl Resume {
    fn of<B>(shared: &Shared<B>, session: &SessionInfo) -> Option<Resume> {
        let window = shared.settings.resume_window;
        (session.protocol_version >= ProtocolVersion::V2025_11_25 && !window.is_zero()).then(|| {
            Resume { replays: shared.replays.clone(), session: session.id.clone(), window }
        })
    }
}

fn plain_answer(accept: Accept, done: Final) -> Response {
    match done.into_body() {
        Some(json) => answer(accept, json, None),
        None => wire::accepted(),
    }
}

/// The SSE answer to a POST: `first`, then whatever `phase` yields; resumable (with event ids,
/// and the work detached from the connection) when `resume` says so.
fn stream_answer(first: String, phase: Phase, resume: Option<Resume>) -> Response {
    if let Some(r) = resume {
        return crate::resume::answer(&r.replays, &r.session, r.window, first, phase, Phase::next);
    }
    let rest = stream::unfold(phase, Phase::next);
    let events = stream::once(async move { first })
        .chain(rest)
        .map(|json| Ok::<_, Infallible>(wire::message_event(json)));
    Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)).into_response()
}

/// Where the SSE answer to a POST stands.
enum Phase {
    /// The backend works; its messages are relayed as they come.
    Working { work: Work, rx: mpsc::Receiver<String>, sink: Arc<RequestStream> },
    /// The backend has answered and the request's stream refuses new messages: the messages
    /// queued before that, then the responses, then the end.
    Draining { rx: mpsc::Receiver<String>, finals: VecDeque<String> },
}

impl Phase {
    async fn next(mut self) -> Option<(String, Phase)> {
        loop {
            self = match self {
                Phase::Working { mut work, mut rx, sink } => tokio::select! {
                    biased;
                    Some(json) = rx.recv() => return Some((json, Phase::Working { work, rx, sink })),
                    done = &mut work => {
                        sink.finish();
                        Phase::Draining { rx, finals: done.into_events() }
                    }
                },
                Phase::Draining { mut rx, mut finals } => {
                    // The sender is gone, so `recv` ends once the queue is empty.
                    let json = match rx.recv().await {
                        Some(json) => json,
                        None => finals.pop_front()?,
                    };
                    return Some((json, Phase::Draining { rx, finals }));
                }
            };
        }
    }
}

/// The stream of one POST's requests: what the backend sends for them while they are answered.
/// Once their answer is final it refuses everything, so a [`Context`] that outlives the request
/// falls back to the session's stream.
#[derive(Debug)]
struct RequestStream {
    tx: Mutex<Option<mpsc::Sender<String>>>,
}

impl RequestStream {
    fn new() -> (Arc<Self>, mpsc::Receiver<String>) {
        let (tx, rx) = mpsc::channel(OUTBOUND_CAPACITY);
        (Arc::new(RequestStream { tx: Mutex::new(Some(tx)) }), rx)
    }

    /// Refuses every later message and lets the receiver end after the queued ones.
    fn finish(&self) {
        self.tx.lock().unwrap_or_else(PoisonError::into_inner).take();
    }
}

impl ClientSink for RequestStream {
    fn send(&self, message: &Message) -> bool {
        // The lock orders a send against `finish`: nothing is queued after the final answer.
        let tx = self.tx.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(tx) = tx.as_ref() else { return false };
        match tx.try_send(wire::to_json(message)) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                tracing::warn!("request stream queue full, message goes elsewhere");
                false
            }
            // The client went away (the answer was dropped).
            Err(TrySendError::Closed(_)) => false,
        }
    }
}

/// `initialize`: a new session, kept only if the backend accepts it.
async fn initialize<B: Backend>(shared: &Shared<B>, accept: Accept, request: Request) -> Response {
    for expired in shared.sessions.expire_idle(shared.settings.session_idle_timeout) {
        shared.ended(&expired, "idle");
    }
    if shared.session_count() >= shared.settings.max_sessions {
        tracing::warn!(
            limit = shared.settings.max_sessions,
            "session limit reached, initialize refused"
        );
        return too_many_sessions(shared.settings.max_sessions);
    }
    let id = match wire::new_session_id() {
        Ok(id) => id,
        Err(e) => return wire::no_session_id(&e),
    };
    let guess = dispatch::requested_version(&request);
    let mut info = SessionInfo {
        id: id.clone(),
        transport: Transport::StreamableHttp,
        protocol_version: guess,
    };
    let outlet = Outlet::streamable(id);
    let handle = outlet.handle();
    // Messages during initialize are unusual (MCP allows pings and logging at most), so the
    // answer stays a plain one with no stream of its own; the session's handle is real (a
    // backend may keep it for later) but has no GET stream to deliver on yet.
    let ctx = Context::new(info.clone(), handle.clone(), None);
    let response = shared.backend.request(ctx, request).await;
    if response.outcome.is_err() {
        tracing::debug!(session = %info.id, "initialize refused by the backend");
        handle.close();
        // The backend saw the provisional session: let it forget whatever it kept for it.
        shared.backend.session_closed(&info);
        return answer(accept, wire::to_json(&response.into()), None);
    }
    info.protocol_version = dispatch::negotiated_version(&response, guess);
    shared.sessions.insert(info.clone(), outlet, handle);
    shared.opened(&info);
    answer(accept, wire::to_json(&response.into()), Some(&info.id))
}

/// `GET /mcp`: the standalone SSE stream of a session, the rest of one of its SSE answers (with
/// `Last-Event-ID`), or without a session header the legacy HTTP+SSE transport.
pub(crate) async fn get<B: Backend>(
    State(shared): State<Arc<Shared<B>>>,
    headers: HeaderMap,
) -> Response {
    shared.ensure_fanout();
    let accept = Accept::from_headers(&headers);
    if !headers.contains_key(SESSION_HEADER) {
        return legacy::open(&shared, accept);
    }
    let (session, _) = match session_of(&shared, &headers) {
        Ok(session) => session,
        Err(response) => return response,
    };
    if !accept.allows_stream() {
        return wire::not_acceptable("accept must include text/event-stream");
    }
    if let Some(last) = headers.get(LAST_EVENT_ID) {
        // The resumption of an SSE answer (never of a GET stream: those carry no ids).
        let last = last.to_str().unwrap_or_default();
        return match shared.replays.resume(&session.id, last) {
            Ok(response) => response,
            Err(why) => {
                tracing::debug!(session = %session.id, %why, "sse answer not resumed");
                wire::rpc_error(StatusCode::BAD_REQUEST, INVALID_REQUEST, why)
            }
        };
    }
    let (tx, rx) = mpsc::channel(OUTBOUND_CAPACITY);
    if !shared.sessions.add_stream(&session.id, tx) {
        return session_not_found();
    }
    tracing::debug!(session = %session.id, "get /mcp stream opened");
    Outbound::new(None, rx, None).into_response()
}

/// `DELETE /mcp`: ends a session.
pub(crate) async fn delete<B: Backend>(
    State(shared): State<Arc<Shared<B>>>,
    headers: HeaderMap,
) -> Response {
    let (session, _) = match session_of(&shared, &headers) {
        Ok(session) => session,
        Err(response) => return response,
    };
    if shared.close_session(&session.id, "deleted by client") {
        StatusCode::OK.into_response()
    } else {
        session_not_found()
    }
}

/// The live streamable session named by the request's headers (and its handle), whose
/// `MCP-Protocol-Version` (if any) is supported.
fn session_of<B: Backend>(
    shared: &Shared<B>,
    headers: &HeaderMap,
) -> Result<(SessionInfo, SessionHandle), Response> {
    let Some(id) = headers.get(SESSION_HEADER) else {
        return Err(wire::rpc_error(
            StatusCode::BAD_REQUEST,
            TRANSPORT_ERROR,
            "bad request: missing mcp-session-id header",
        ));
    };
    let session = id
        .to_str()
        .ok()
        .and_then(|id| shared.sessions.get(id, Transport::StreamableHttp))
        .ok_or_else(session_not_found)?;
    if let Some(version) = headers.get(VERSION_HEADER) {
        let text = version.to_str().unwrap_or_default();
        if ProtocolVersion::parse(text).is_none() {
            return Err(wire::rpc_error(
                StatusCode::BAD_REQUEST,
                TRANSPORT_ERROR,
                format!(
                    "bad request: unsupported mcp-protocol-version {text:?} (supported versions: {})",
                    ProtocolVersion::supported_list()
                ),
            ));
        }
    }
    Ok(session)
}

fn session_not_found() -> Response {
    wire::rpc_error(StatusCode::NOT_FOUND, SESSION_NOT_FOUND, "session not found")
}

/// The 503 answer to a session beyond the limit.
pub(crate) fn too_many_sessions(limit: usize) -> Response {
    wire::rpc_error(
        StatusCode::SERVICE_UNAVAILABLE,
        TRANSPORT_ERROR,
        format!("too many sessions (limit {limit})"),
    )
}

/// A batch of responses as one JSON array.
pub(crate) fn batch_json(responses: Vec<RpcResponse>) -> String {
    let messages: Vec<Message> = responses.into_iter().map(Message::Response).collect();
    serde_json::to_string(&messages).expect("messages hold only valid JSON and string keys")
}

/// A 200 answer carrying `json`: a JSON body, or a one-event SSE stream for a client that
/// accepts only `text/event-stream`; with the session header after `initialize`.
fn answer(accept: Accept, json: String, session: Option<&str>) -> Response {
    let mut response = if accept.wants_sse_answer() {
        wire::single_event_sse(json)
    } else {
        wire::json_bytes(StatusCode::OK, json.into_bytes())
    };
    if let Some(id) = session {
        let value = HeaderValue::from_str(id).expect("a hex session id is a valid header value");
        response.headers_mut().insert(SESSION_HEADER, value);
    }
    response
}

#[cfg(test)]
mod tests;
