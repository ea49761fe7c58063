//! The HTTP facade of the hub: one `/mcp` endpoint speaking MCP streamable HTTP (2025-03-26 to
//! 2025-11-25) and, for `GET /mcp` without a session, mcp-hub's legacy HTTP+SSE transport with
//! its `POST /messages?sessionId=…` companion; plus the REST routes `/api/health` and
//! `/api/servers` in mcp-hub's wire format.
//!
//! The facade knows nothing of upstream servers: it is generic over a [`Backend`] that answers
//! each client message, broadcasts hub-wide notifications and reports status. Every route checks
//! the `Host` and `Origin` headers first (DNS-rebinding protection).

mod api;
mod backend;
mod client;
mod dispatch;
mod events;
mod facade;
mod guard;
mod legacy;
mod resume;
mod session;
mod streamable;
mod wire;

#[cfg(test)]
mod test_support;

/// HTTP status codes, as [`ApiError`] carries them.
pub use axum::http::StatusCode;

pub use self::{
    api::{Capabilities, Counts, HubStatus, ServerInfo},
    backend::{ApiError, Backend, CallTarget, RequestOptions, ServerCall, SessionInfo, Transport},
    client::{ClientError, ClientSink, Context, SessionHandle},
    facade::{Facade, Settings},
};
