//! Message processing shared by both transports: one message or a batch in, the responses out.

use futures_util::future::join_all;
use hub_protocol::{
    DecodeError, ErrorObject, Message, ProtocolVersion, Request, Response,
    jsonrpc::INVALID_REQUEST, mcp::method,
};
use serde::Deserialize;

use crate::{backend::Backend, client::Context};

/// Handles one non-initialize message of a session: a request is answered by the backend
/// (with `ctx` as its context), a notification is handed over, a client response goes to the
/// request of ours that it answers.
pub(crate) async fn message<B: Backend>(
    backend: &B,
    ctx: &Context,
    message: Message,
) -> Option<Response> {
    let session = ctx.session();
    match message {
        Message::Request(request) => Some(backend.request(ctx.clone(), request).await),
        Message::Notification(notification) => {
            tracing::debug!(session = %session.id, method = %notification.method, "client notification");
            backend.notification(session, notification);
            None
        }
        Message::Response(response) => {
            let id = response.id.clone();
            if ctx.handle().complete(response) {
                tracing::debug!(session = %session.id, ?id, "client answered");
            } else {
                // Late (timed out), answered twice, or never asked: nothing waits for it.
                tracing::debug!(session = %session.id, ?id, "client response with unknown id ignored");
            }
            None
        }
    }
}

/// Whether a batch holds a request the backend will answer (and so may send messages for).
pub(crate) fn has_requests(items: &[Result<Message, DecodeError>]) -> bool {
    items
        .iter()
        .any(|item| matches!(item, Ok(Message::Request(r)) if r.method != method::INITIALIZE))
}

/// Handles a decoded batch: requests run concurrently, all with `ctx` (so they share its
/// stream), invalid elements and `initialize` get error responses; the responses come back in
/// request order.
pub(crate) async fn batch<B: Backend>(
    backend: &B,
    ctx: &Context,
    items: Vec<Result<Message, DecodeError>>,
) -> Vec<Response> {
    let futures = items.into_iter().map(|item| async move {
        match item {
            Err(e) => Some(e.to_response()),
            Ok(Message::Request(r)) if r.method == method::INITIALIZE => Some(Response::err(
                Some(r.id),
                ErrorObject::new(INVALID_REQUEST, "initialize must not be part of a batch"),
            )),
            Ok(m) => message(backend, ctx, m).await,
        }
    });
    join_all(futures).await.into_iter().flatten().collect()
}

/// The protocol version a client asks for in `initialize`, negotiated: the first guess of the
/// session's version while the backend answers.
pub(crate) fn requested_version(request: &Request) -> ProtocolVersion {
    #[derive(Deserialize)]
    struct Params {
        #[serde(rename = "protocolVersion")]
        protocol_version: Option<String>,
    }
    let requested = request.parse_params::<Params>().ok().and_then(|p| p.protocol_version);
    requested.map_or(ProtocolVersion::LATEST, |v| ProtocolVersion::negotiate(&v))
}

/// The protocol version the backend chose in a successful `initialize` result, else `guess`.
pub(crate) fn negotiated_version(response: &Response, guess: ProtocolVersion) -> ProtocolVersion {
    #[derive(Deserialize)]
    struct Result_ {
        #[serde(rename = "protocolVersion")]
        protocol_version: Option<String>,
    }
    let Ok(result) = &response.outcome else { return guess };
    serde_json::from_str::<Result_>(result.get())
        .ok()
        .and_then(|r| r.protocol_version)
        .and_then(|v| ProtocolVersion::parse(&v))
        .unwrap_or(guess)
}

#[cfg(test)]
mod tests;
