//! The contract between the facade and the hub behind it.

use std::{future::Future, sync::Arc};

use hub_protocol::{Notification, ProtocolVersion, Request, Response};
use tokio::sync::broadcast;

use crate::{api::HubStatus, client::Context};

/// What the facade needs from the hub.
pub trait Backend: Send + Sync + 'static {
    /// Answers one client request of a session, any method (initialize, ping, tools/list, unknown
    /// ones…). The backend always returns a [`Response`] (errors included); the facade never
    /// invents MCP results itself except for transport-level errors. While it works, the backend
    /// may send the client notifications and requests related to this request through `ctx`.
    fn request(&self, ctx: Context, request: Request) -> impl Future<Output = Response> + Send;

    /// A client notification (`notifications/initialized`, `notifications/cancelled`, …).
    fn notification(&self, session: &SessionInfo, notification: Notification);

    /// Notifications for every session (e.g. `notifications/tools/list_changed`).
    fn subscribe(&self) -> broadcast::Receiver<Notification>;

    /// A session ended (DELETE, legacy stream closed, facade shutdown).
    fn session_closed(&self, session: &SessionInfo);

    /// Snapshot for `/api/health` and `/api/servers`.
    fn status(&self) -> HubStatus;
}

/// Who is asking: one client session of the facade.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    /// The session id: 32 lowercase hex characters, cryptographically random.
    pub id: Arc<str>,
    /// Which HTTP transport the session uses.
    pub transport: Transport,
    /// The negotiated protocol version (a first guess while `initialize` is in flight).
    pub protocol_version: ProtocolVersion,
}

/// The HTTP transport of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transport {
    /// MCP streamable HTTP: `POST`/`GET`/`DELETE /mcp` with `Mcp-Session-Id`.
    StreamableHttp,
    /// The legacy HTTP+SSE transport: `GET /mcp` stream plus `POST /messages?sessionId=…`.
    LegacySse,
}
