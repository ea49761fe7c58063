//! The contract between the facade and the hub behind it.

use std::{future::Future, sync::Arc, time::Duration};

use axum::http::StatusCode;
use hub_protocol::{Notification, ProtocolVersion, RawValue, Request, Response};
use serde_json::Value;
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

    /// The hub's live events, streamed by `GET /api/events`; `None`: the route answers 404.
    fn events(&self) -> Option<&hub_events::EventBus> {
        None
    }

    /// A call of the REST API to one server (`POST /api/servers/tools`, `…/resources`,
    /// `…/prompts`): the MCP result, or why there is none. A backend without servers refuses.
    fn server_call(
        &self,
        call: ServerCall,
    ) -> impl Future<Output = Result<Box<RawValue>, ApiError>> + Send {
        let _ = call;
        std::future::ready(Err(ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "NOT_SUPPORTED",
            "this backend has no servers to call",
        )))
    }
}

/// A REST call to one server's tool, resource or prompt.
#[derive(Debug, Clone)]
pub struct ServerCall {
    /// The server's config key (`server_name`).
    pub server: String,
    /// What to call.
    pub target: CallTarget,
    /// mcp-hub's `request_options` (the MCP SDK's `RequestOptions`).
    pub options: RequestOptions,
}

/// What a [`ServerCall`] calls.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum CallTarget {
    /// `tools/call` of the tool `name` (as the server names it).
    Tool {
        /// The tool's name.
        name: String,
        /// Its arguments (`{}` when none were given).
        arguments: Value,
    },
    /// `resources/read` of `uri` (as the server knows it).
    Resource {
        /// The resource's URI.
        uri: String,
    },
    /// `prompts/get` of the prompt `name`.
    Prompt {
        /// The prompt's name.
        name: String,
        /// Its arguments (`{}` when none were given).
        arguments: Value,
    },
}

/// The per-call options of a [`ServerCall`] (the MCP TypeScript SDK's `RequestOptions`, which
/// mcp-hub passes through): `timeout` is how long to wait for the answer; with
/// `reset_timeout_on_progress` each progress notification starts it over, up to
/// `max_total_timeout`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestOptions {
    /// `timeout`, in milliseconds in the request.
    pub timeout: Option<Duration>,
    /// `resetTimeoutOnProgress` (default `false`, as in the SDK).
    pub reset_timeout_on_progress: bool,
    /// `maxTotalTimeout`, in milliseconds in the request.
    pub max_total_timeout: Option<Duration>,
}

/// A REST error: its HTTP status and mcp-hub's `{error, code, data}` body.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// mcp-hub's error code (`SERVER_NOT_FOUND`, `TOOL_NOT_FOUND`, …).
    pub code: String,
    /// What went wrong, for a person.
    pub message: String,
    /// Details (`availableTools`, the upstream's JSON-RPC error, …).
    pub data: Option<Value>,
}

impl ApiError {
    /// An error without data.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ApiError { status, code: code.to_owned(), message: message.into(), data: None }
    }

    /// The same error with `data`.
    #[must_use]
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }
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
