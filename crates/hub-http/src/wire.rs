//! Small HTTP helpers shared by the routes: JSON-RPC error bodies, header parsing, session ids,
//! timestamps, SSE framing.

use std::{
    convert::Infallible,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::{Duration, SystemTime},
};

use axum::{
    body::Bytes,
    extract::rejection::BytesRejection,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use futures_util::Stream;
use hub_protocol::{ErrorObject, Message, Response as RpcResponse};
use tokio::sync::mpsc;

/// The session header of streamable HTTP (header names are case-insensitive).
pub(crate) const SESSION_HEADER: &str = "mcp-session-id";
/// The protocol version header of streamable HTTP.
pub(crate) const VERSION_HEADER: &str = "mcp-protocol-version";
/// Generic transport-level error code (the MCP SDKs' `ConnectionClosed` / "bad request").
pub(crate) const TRANSPORT_ERROR: i64 = -32000;
/// Error code for an unknown session (the MCP SDKs answer `-32001` "Session not found").
pub(crate) const SESSION_NOT_FOUND: i64 = -32001;
/// Interval of SSE keep-alive comments.
pub(crate) const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Capacity of a session's outbound queue; notifications beyond it are dropped with a warning.
pub(crate) const OUTBOUND_CAPACITY: usize = 256;

/// An HTTP response whose body is an id-less JSON-RPC error.
pub(crate) fn rpc_error(status: StatusCode, code: i64, message: impl Into<String>) -> Response {
    rpc_response(status, RpcResponse::err(None, ErrorObject::new(code, message)))
}

/// An HTTP response whose body is one JSON-RPC response.
pub(crate) fn rpc_response(status: StatusCode, response: RpcResponse) -> Response {
    json_bytes(status, Message::Response(response).to_vec())
}

/// An HTTP response with a JSON body given as bytes.
pub(crate) fn json_bytes(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body)
        .into_response()
}

/// Serializes a message to a string (messages are always valid UTF-8 JSON).
pub(crate) fn to_json(message: &Message) -> String {
    serde_json::to_string(message).expect("messages hold only valid JSON and string keys")
}

/// The current time as ISO-8601 UTC with milliseconds, like JavaScript's `toISOString`.
pub(crate) fn timestamp() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

/// A new session id: 32 lowercase hex characters from 16 cryptographically random bytes.
pub(crate) fn new_session_id() -> Result<Arc<str>, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let id: String = bytes
        .iter()
        .flat_map(|b| [HEX[usize::from(b >> 4)], HEX[usize::from(b & 0x0f)]])
        .map(char::from)
        .collect();
    Ok(id.into())
}

/// The response to a failed session id generation.
pub(crate) fn no_session_id(e: &getrandom::Error) -> Response {
    tracing::error!(error = %e, "cannot generate a session id");
    rpc_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        -32603,
        format!("cannot generate a session id: {e}"),
    )
}

/// A header as a string; `None` when absent or not visible ASCII.
pub(crate) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Whether the `Content-Type` is `application/json` (parameters such as `charset` allowed).
pub(crate) fn is_json_content(headers: &HeaderMap) -> bool {
    header_str(headers, header::CONTENT_TYPE.as_str())
        .map(media_type)
        .is_some_and(|m| m.eq_ignore_ascii_case("application/json"))
}

fn media_type(value: &str) -> &str {
    value.split(';').next().unwrap_or_default().trim()
}

/// What a client's `Accept` header allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Accept {
    /// Whether the header was present at all.
    pub(crate) present: bool,
    /// A JSON body is acceptable (`application/json`, `application/*`, `*/*`).
    pub(crate) json: bool,
    /// An SSE stream is acceptable (`text/event-stream`, `text/*`, `*/*`).
    pub(crate) sse: bool,
    /// `text/event-stream` is named explicitly.
    pub(crate) sse_named: bool,
}

impl Accept {
    /// Reads every `Accept` header of a request.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Self {
        let mut accept = Accept { present: false, json: false, sse: false, sse_named: false };
        for value in headers.get_all(header::ACCEPT) {
            accept.present = true;
            let Ok(value) = value.to_str() else { continue };
            for item in value.split(',') {
                let m = media_type(item).to_ascii_lowercase();
                match m.as_str() {
                    "*/*" => {
                        accept.json = true;
                        accept.sse = true;
                    }
                    "application/json" | "application/*" => accept.json = true,
                    "text/event-stream" => {
                        accept.sse = true;
                        accept.sse_named = true;
                    }
                    "text/*" => accept.sse = true,
                    _ => {}
                }
            }
        }
        accept
    }

    /// Whether a POST may be answered at all (lenient: no header means anything goes).
    pub(crate) fn allows_post_answer(self) -> bool {
        !self.present || self.json || self.sse
    }

    /// Whether a POST should be answered as an SSE stream rather than a JSON body.
    pub(crate) fn wants_sse_answer(self) -> bool {
        self.present && self.sse_named && !self.json
    }

    /// Whether a POST carrying a request may be answered with an SSE stream that carries the
    /// messages the backend sends while it works (`text/event-stream` acceptable, named or by a
    /// wildcard). A request without `Accept` is answered as before, in JSON: the lenient reading
    /// of a missing header lets it in, it does not promise the client parses SSE.
    pub(crate) fn allows_sse_answer(self) -> bool {
        self.sse
    }

    /// Whether a GET may open an SSE stream.
    pub(crate) fn allows_stream(self) -> bool {
        !self.present || self.sse
    }
}

/// The 406 answer.
pub(crate) fn not_acceptable(what: &str) -> Response {
    rpc_error(StatusCode::NOT_ACCEPTABLE, TRANSPORT_ERROR, format!("not acceptable: {what}"))
}

/// The 415 answer.
pub(crate) fn unsupported_media_type() -> Response {
    rpc_error(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        TRANSPORT_ERROR,
        "unsupported media type: content-type must be application/json",
    )
}

/// The body of a POST that must be JSON: 415 for another content type, 413 beyond the limit.
pub(crate) fn json_body(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    limit: usize,
) -> Result<Bytes, Response> {
    if !is_json_content(headers) {
        return Err(unsupported_media_type());
    }
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            rpc_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                TRANSPORT_ERROR,
                format!("request body too large (limit {limit} bytes)"),
            )
        } else {
            rpc_error(
                StatusCode::BAD_REQUEST,
                TRANSPORT_ERROR,
                format!("bad request: cannot read body: {}", rejection.body_text()),
            )
        }
    })
}

/// The 202 answer to a POST that carried no request.
pub(crate) fn accepted() -> Response {
    StatusCode::ACCEPTED.into_response()
}

/// An SSE event carrying one JSON-RPC message (or batch) as `event: message`.
pub(crate) fn message_event(json: String) -> Event {
    Event::default().event("message").data(json)
}

/// An SSE response that sends one `event: message` and ends.
pub(crate) fn single_event_sse(json: String) -> Response {
    let stream =
        futures_util::stream::once(async move { Ok::<_, Infallible>(message_event(json)) });
    Sse::new(stream).into_response()
}

/// A long-lived SSE stream fed by a session's outbound queue. It ends when every sender of the
/// queue is dropped (the session is gone); whatever `guard` holds is dropped with the stream, which
/// is how a closed client connection is detected.
pub(crate) struct Outbound {
    first: Option<Event>,
    rx: mpsc::Receiver<String>,
    _guard: Option<Box<dyn Send>>,
}

impl Outbound {
    /// A stream that sends `first` (if any) then every queued message.
    pub(crate) fn new(
        first: Option<Event>,
        rx: mpsc::Receiver<String>,
        guard: Option<Box<dyn Send>>,
    ) -> Self {
        Outbound { first, rx, _guard: guard }
    }

    /// The streaming HTTP response, with keep-alive comments.
    pub(crate) fn into_response(self) -> Response {
        Sse::new(self).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)).into_response()
    }
}

impl std::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbound").finish_non_exhaustive()
    }
}

impl Stream for Outbound {
    type Item = Result<Event, Infallible>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Some(first) = this.first.take() {
            return Poll::Ready(Some(Ok(first)));
        }
        this.rx.poll_recv(cx).map(|m| m.map(|json| Ok(message_event(json))))
    }
}

#[cfg(test)]
mod tests;
