//! mcp-hub's legacy HTTP+SSE transport: `GET /mcp` without a session opens a stream whose first
//! event names the POST endpoint, `POST /messages?sessionId=…` carries the client's messages,
//! and every answer goes out on the stream as `event: message`.

use std::sync::{Arc, Weak};

use axum::{
    body::Bytes,
    extract::{
        Query, State,
        rejection::{BytesRejection, QueryRejection},
    },
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response, sse::Event},
};
use hub_protocol::{
    DecodeError, ErrorObject, Message, ProtocolVersion, Response as RpcResponse,
    jsonrpc::{INVALID_REQUEST, decode, decode_batch},
    mcp::method,
};
use serde::Deserialize;
use tokio::sync::mpsc;

use crate::{
    backend::{Backend, SessionInfo, Transport},
    client::{Context, SessionHandle},
    dispatch,
    facade::Shared,
    session::Outlet,
    streamable,
    wire::{self, Accept, OUTBOUND_CAPACITY, Outbound, TRANSPORT_ERROR},
};

/// Opens a legacy session and its stream (`GET /mcp` without `Mcp-Session-Id`).
pub(crate) fn open<B: Backend>(shared: &Arc<Shared<B>>, accept: Accept) -> Response {
    if !accept.allows_stream() {
        return wire::not_acceptable("accept must include text/event-stream");
    }
    if shared.session_count() >= shared.settings.max_sessions {
        tracing::warn!(
            limit = shared.settings.max_sessions,
            "session limit reached, sse stream refused"
        );
        return streamable::too_many_sessions(shared.settings.max_sessions);
    }
    let id = match wire::new_session_id() {
        Ok(id) => id,
        Err(e) => return wire::no_session_id(&e),
    };
    let info = SessionInfo {
        id: id.clone(),
        transport: Transport::LegacySse,
        protocol_version: ProtocolVersion::V2024_11_05,
    };
    let (tx, rx) = mpsc::channel(OUTBOUND_CAPACITY);
    let outlet = Outlet::legacy(id.clone(), tx);
    let handle = outlet.handle();
    shared.sessions.insert(info.clone(), outlet, handle);
    shared.opened(&info);
    let endpoint = Event::default().event("endpoint").data(format!("/messages?sessionId={id}"));
    let guard = StreamGuard { shared: Arc::downgrade(shared), id };
    Outbound::new(Some(endpoint), rx, Some(Box::new(guard))).into_response()
}

/// Lives as long as a legacy stream: when the client goes away the stream is dropped and the
/// session with it.
struct StreamGuard<B: Backend> {
    shared: Weak<Shared<B>>,
    id: Arc<str>,
}

impl<B: Backend> Drop for StreamGuard<B> {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.upgrade() {
            shared.close_session(&self.id, "sse stream closed");
        }
    }
}

/// The query of `POST /messages`.
#[derive(Debug, Deserialize)]
pub(crate) struct MessagesQuery {
    #[serde(rename = "sessionId")]
    session_id: Option<String>,
}

/// `POST /messages?sessionId=…`: 202, the answer goes out on the session's stream.
pub(crate) async fn post<B: Backend>(
    State(shared): State<Arc<Shared<B>>>,
    query: Result<Query<MessagesQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let id = query.ok().and_then(|Query(q)| q.session_id).filter(|id| !id.is_empty());
    let Some(id) = id else {
        return wire::rpc_error(
            StatusCode::BAD_REQUEST,
            TRANSPORT_ERROR,
            "Missing sessionId parameter",
        );
    };
    let Some((session, handle)) = shared.sessions.get(&id, Transport::LegacySse) else {
        return wire::rpc_error(
            StatusCode::NOT_FOUND,
            TRANSPORT_ERROR,
            format!("Session not found: {id}"),
        );
    };
    let body = match wire::json_body(&headers, body, shared.settings.max_body_bytes) {
        Ok(body) => body,
        Err(response) => return response,
    };
    match decode(&body) {
        Ok(Message::Request(request)) => {
            tracing::debug!(session = %session.id, method = %request.method, "post /messages");
            tokio::spawn(async move {
                let id = session.id.clone();
                let response = if request.method == method::INITIALIZE {
                    initialize(&shared, session, handle, request).await
                } else {
                    // The session's stream is the only one: everything goes there.
                    shared.backend.request(Context::new(session, handle, None), request).await
                };
                push(&shared, &id, wire::to_json(&response.into())).await;
            });
        }
        Ok(message) => {
            // Notifications and client answers are handed over in order, without a task.
            let ctx = Context::new(session.clone(), handle, None);
            if let Some(response) = dispatch::message(&*shared.backend, &ctx, message).await {
                push(&shared, &session.id, wire::to_json(&response.into())).await;
            }
        }
        Err(DecodeError::Batch) => {
            let items = if session.protocol_version.allows_batches() {
                decode_batch(&body).map_err(|e| e.to_response())
            } else {
                Err(RpcResponse::err(
                    None,
                    ErrorObject::new(
                        INVALID_REQUEST,
                        format!(
                            "batches are not supported in protocol version {}",
                            session.protocol_version
                        ),
                    ),
                ))
            };
            let items = match items {
                Ok(items) => items,
                Err(response) => return refuse(&shared, &session, response).await,
            };
            tracing::debug!(session = %session.id, len = items.len(), "post /messages batch");
            tokio::spawn(async move {
                let ctx = Context::new(session.clone(), handle, None);
                let responses = dispatch::batch(&*shared.backend, &ctx, items).await;
                if !responses.is_empty() {
                    push(&shared, &session.id, streamable::batch_json(responses)).await;
                }
            });
        }
        Err(e) => {
            tracing::debug!(session = %session.id, error = %e, "undecodable post /messages");
            return refuse(&shared, &session, e.to_response()).await;
        }
    }
    (StatusCode::ACCEPTED, "Accepted").into_response()
}

/// `initialize` on a legacy session: the session exists already, only its version changes.
async fn initialize<B: Backend>(
    shared: &Shared<B>,
    mut session: SessionInfo,
    handle: SessionHandle,
    request: hub_protocol::Request,
) -> RpcResponse {
    let guess = dispatch::requested_version(&request);
    session.protocol_version = guess;
    let id = session.id.clone();
    let response = shared.backend.request(Context::new(session, handle, None), request).await;
    if response.outcome.is_ok() {
        let version = dispatch::negotiated_version(&response, guess);
        shared.sessions.set_version(&id, version);
        tracing::debug!(session = %id, protocol_version = %version, "legacy session initialized");
    }
    response
}

/// Sends an error on the stream and answers 400 with it too.
async fn refuse<B: Backend>(
    shared: &Shared<B>,
    session: &SessionInfo,
    error: RpcResponse,
) -> Response {
    let json = wire::to_json(&Message::Response(error));
    push(shared, &session.id, json.clone()).await;
    wire::json_bytes(StatusCode::BAD_REQUEST, json.into_bytes())
}

/// Queues a message on a legacy session's stream (dropped if the session is gone).
async fn push<B: Backend>(shared: &Shared<B>, id: &str, json: String) {
    let Some(tx) = shared.sessions.legacy_sender(id) else {
        tracing::debug!(session = %id, "session gone, message dropped");
        return;
    };
    if tx.send(json).await.is_err() {
        tracing::debug!(session = %id, "stream closed, message dropped");
    }
}
