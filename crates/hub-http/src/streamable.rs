//! MCP streamable HTTP on `/mcp`: POST (messages), GET (standalone SSE stream; without a session
//! it is the legacy transport), DELETE (end of session).

use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::{State, rejection::BytesRejection},
    http::{HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use hub_protocol::{
    DecodeError, Message, ProtocolVersion, Request,
    jsonrpc::{INVALID_REQUEST, decode, decode_batch},
    mcp::method,
};
use tokio::sync::mpsc;

use crate::{
    backend::{Backend, SessionInfo, Transport},
    dispatch,
    facade::Shared,
    legacy,
    wire::{
        self, Accept, OUTBOUND_CAPACITY, Outbound, SESSION_HEADER, SESSION_NOT_FOUND,
        TRANSPORT_ERROR, VERSION_HEADER,
    },
};

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
            let session = match session_of(&shared, &headers) {
                Ok(session) => session,
                Err(response) => return response,
            };
            tracing::debug!(session = %session.id, method = message.method(), "post /mcp");
            match dispatch::message(&*shared.backend, &session, message).await {
                Some(response) => answer(accept, wire::to_json(&response.into()), None),
                None => wire::accepted(),
            }
        }
        Err(DecodeError::Batch) => {
            let session = match session_of(&shared, &headers) {
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
            let responses = dispatch::batch(&*shared.backend, &session, items).await;
            if responses.is_empty() {
                wire::accepted()
            } else {
                answer(accept, batch_json(responses), None)
            }
        }
        Err(e) => {
            tracing::debug!(error = %e, "undecodable post /mcp");
            wire::rpc_response(StatusCode::BAD_REQUEST, e.to_response())
        }
    }
}

/// `initialize`: a new session, kept only if the backend accepts it.
async fn initialize<B: Backend>(shared: &Shared<B>, accept: Accept, request: Request) -> Response {
    for expired in shared.sessions.expire_idle(shared.settings.session_idle_timeout) {
        tracing::info!(session = %expired.id, "idle session expired");
        shared.backend.session_closed(&expired);
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
    let mut info =
        SessionInfo { id, transport: Transport::StreamableHttp, protocol_version: guess };
    let response =
        shared.backend.request(crate::client::Context::detached(info.clone()), request).await;
    if response.outcome.is_err() {
        tracing::debug!(session = %info.id, "initialize refused by the backend");
        // The backend saw the provisional session: let it forget whatever it kept for it.
        shared.backend.session_closed(&info);
        return answer(accept, wire::to_json(&response.into()), None);
    }
    info.protocol_version = dispatch::negotiated_version(&response, guess);
    shared.sessions.insert_streamable(info.clone());
    shared.opened(&info);
    answer(accept, wire::to_json(&response.into()), Some(&info.id))
}

/// `GET /mcp`: the standalone SSE stream of a session, or without a session header the legacy
/// HTTP+SSE transport.
pub(crate) async fn get<B: Backend>(
    State(shared): State<Arc<Shared<B>>>,
    headers: HeaderMap,
) -> Response {
    shared.ensure_fanout();
    let accept = Accept::from_headers(&headers);
    if !headers.contains_key(SESSION_HEADER) {
        return legacy::open(&shared, accept);
    }
    let session = match session_of(&shared, &headers) {
        Ok(session) => session,
        Err(response) => return response,
    };
    if !accept.allows_stream() {
        return wire::not_acceptable("accept must include text/event-stream");
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
    let session = match session_of(&shared, &headers) {
        Ok(session) => session,
        Err(response) => return response,
    };
    if shared.close_session(&session.id, "deleted by client") {
        StatusCode::OK.into_response()
    } else {
        session_not_found()
    }
}

/// The live streamable session named by the request's headers, whose `MCP-Protocol-Version`
/// (if any) is supported.
fn session_of<B: Backend>(
    shared: &Shared<B>,
    headers: &HeaderMap,
) -> Result<SessionInfo, Response> {
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
pub(crate) fn batch_json(responses: Vec<hub_protocol::Response>) -> String {
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
