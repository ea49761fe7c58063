//! The REST routes under `/api` in mcp-hub's wire format: `GET /api/health`, `GET /api/servers`,
//! and a JSON 404 for every other path.

use std::sync::Arc;

use axum::{
    Json,
    extract::State,
    http::{Method, StatusCode, Uri},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use serde_json::json;

use crate::{backend::Backend, facade::Shared, wire};

/// One upstream server as the REST API shows it (mcp-hub's `ServerInfo`).
#[derive(Debug, Clone, Serialize)]
pub struct ServerInfo {
    /// The config key.
    pub name: String,
    /// The configured display name, else the name.
    #[serde(rename = "displayName")]
    pub display_name: String,
    /// The configured description, else `""`.
    pub description: String,
    /// `"stdio"`, `"sse"`, `"streamable-http"`.
    #[serde(rename = "transportType")]
    pub transport_type: String,
    /// `"connected"`, `"connecting"`, `"disconnected"`, `"unauthorized"`, `"disabled"`.
    pub status: String,
    /// The last connection error.
    pub error: Option<String>,
    /// Full MCP definitions as the server returned them.
    pub capabilities: Capabilities,
    /// Seconds since the server was last started.
    pub uptime: u64,
    /// When the server was last started (ISO-8601).
    #[serde(rename = "lastStarted")]
    pub last_started: Option<String>,
    /// Where to authorize a server that answered 401.
    #[serde(rename = "authorizationUrl")]
    pub authorization_url: Option<String>,
    /// The `serverInfo` of the server's `initialize` result.
    #[serde(rename = "serverInfo")]
    pub server_info: Option<serde_json::Value>,
    /// The config file the server comes from.
    pub config_source: String,
}

/// The four MCP lists of one server, each item untouched.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Capabilities {
    /// Tool definitions.
    pub tools: Vec<serde_json::Value>,
    /// Resource definitions.
    pub resources: Vec<serde_json::Value>,
    /// Resource template definitions.
    #[serde(rename = "resourceTemplates")]
    pub resource_templates: Vec<serde_json::Value>,
    /// Prompt definitions.
    pub prompts: Vec<serde_json::Value>,
}

/// A snapshot of the hub for `/api/health` and `/api/servers`.
#[derive(Debug, Clone)]
pub struct HubStatus {
    /// The hub state: `"starting"`, `"ready"`, …
    pub state: &'static str,
    /// Every configured server.
    pub servers: Vec<ServerInfo>,
    /// What the hub exposes on `/mcp`.
    pub registered: Counts,
}

/// How many tools, resources, resource templates and prompts the hub exposes on `/mcp`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Tools.
    pub tools: usize,
    /// Resources.
    pub resources: usize,
    /// Resource templates.
    pub resource_templates: usize,
    /// Prompts.
    pub prompts: usize,
}

// === handlers ===

/// `GET /api/health`, exactly mcp-hub's shape (minus `workspaces`, which the hub does not keep).
pub(crate) async fn health<B: Backend>(State(shared): State<Arc<Shared<B>>>) -> Response {
    let status = shared.backend.status();
    let c = status.registered;
    // `activeClients` and `connections` count `/api/events` SSE clients in mcp-hub; the facade has
    // no `/api/events` route yet, so they are always zero.
    Json(json!({
        "status": "ok",
        "state": status.state,
        "server_id": "mcp-hub",
        "version": shared.settings.version,
        "activeClients": 0,
        "timestamp": wire::timestamp(),
        "servers": status.servers,
        "connections": { "totalConnections": 0, "connections": [] },
        "mcpEndpoint": {
            "activeClients": shared.session_count(),
            "registeredCapabilities": {
                "tools": c.tools,
                "resources": c.resources,
                "resourceTemplates": c.resource_templates,
                "prompts": c.prompts,
            },
            "totalCapabilities": c.tools + c.resources + c.resource_templates + c.prompts,
        },
    }))
    .into_response()
}

/// `GET /api/servers`.
pub(crate) async fn servers<B: Backend>(State(shared): State<Arc<Shared<B>>>) -> Response {
    let status = shared.backend.status();
    Json(json!({ "servers": status.servers, "timestamp": wire::timestamp() })).into_response()
}

/// Any other path under `/api`.
pub(crate) async fn not_found(method: Method, uri: Uri) -> Response {
    let body = json!({
        "error": format!("not found: {method} {}", uri.path()),
        "code": "NOT_FOUND",
        "timestamp": wire::timestamp(),
    });
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}

#[cfg(test)]
mod tests;
