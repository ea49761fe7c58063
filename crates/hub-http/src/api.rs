//! The REST routes under `/api` in mcp-hub's wire format: `GET /api/health`, `GET /api/servers`,
//! `POST /api/servers/tools`, `…/resources` and `…/prompts`, and a JSON 404 for every other path.

use std::{sync::Arc, time::Duration};

use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::{Method, StatusCode, Uri},
    response::{IntoResponse, Response},
};
use hub_protocol::RawValue;
use serde::Serialize;
use serde_json::{Value, json};

use crate::{
    backend::{ApiError, Backend, CallTarget, RequestOptions, ServerCall},
    facade::Shared,
    wire,
};

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
    // `activeClients` and `connections` count `/api/events` listeners, as in mcp-hub (which also
    // lists each one; the hub keeps only the count).
    let listeners = shared.listeners.count();
    Json(json!({
        "status": "ok",
        "state": status.state,
        "server_id": "mcp-hub",
        "version": shared.settings.version,
        "activeClients": listeners,
        "timestamp": wire::timestamp(),
        "servers": status.servers,
        "connections": { "totalConnections": listeners, "connections": [] },
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

/// `POST /api/servers/tools` `{server_name, tool, arguments?, request_options?}`.
pub(crate) async fn call_tool<B: Backend>(
    State(shared): State<Arc<Shared<B>>>,
    body: Bytes,
) -> Response {
    server_call(&shared, &body, |b| {
        Ok(CallTarget::Tool { name: field(b, "tool")?, arguments: arguments(b)? })
    })
    .await
}

/// `POST /api/servers/resources` `{server_name, uri, request_options?}`.
pub(crate) async fn read_resource<B: Backend>(
    State(shared): State<Arc<Shared<B>>>,
    body: Bytes,
) -> Response {
    server_call(&shared, &body, |b| Ok(CallTarget::Resource { uri: field(b, "uri")? })).await
}

/// `POST /api/servers/prompts` `{server_name, prompt, arguments?, request_options?}`.
pub(crate) async fn get_prompt<B: Backend>(
    State(shared): State<Arc<Shared<B>>>,
    body: Bytes,
) -> Response {
    server_call(&shared, &body, |b| {
        Ok(CallTarget::Prompt { name: field(b, "prompt")?, arguments: arguments(b)? })
    })
    .await
}

/// Reads a REST call, hands it to the backend, answers `{result, timestamp}` or the error.
async fn server_call<B: Backend>(
    shared: &Shared<B>,
    body: &[u8],
    target: impl FnOnce(&Value) -> Result<CallTarget, ApiError>,
) -> Response {
    let call = serde_json::from_slice::<Value>(body)
        .map_err(|e| invalid(format!("the body is not JSON: {e}")))
        .and_then(|b| {
            if !b.is_object() {
                return Err(invalid("the body must be a JSON object"));
            }
            Ok(ServerCall {
                server: field(&b, "server_name")?,
                target: target(&b)?,
                options: request_options(&b)?,
            })
        });
    let outcome = match call {
        Ok(call) => shared.backend.server_call(call).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(result) => {
            #[derive(Serialize)]
            struct Answer {
                result: Box<RawValue>,
                timestamp: String,
            }
            Json(Answer { result, timestamp: wire::timestamp() }).into_response()
        }
        Err(e) => api_error(&e),
    }
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", message)
}

/// A required, non-empty string field.
fn field(body: &Value, key: &str) -> Result<String, ApiError> {
    match body.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(_) => Err(invalid(format!("\"{key}\" must be a non-empty string"))),
        None => Err(invalid(format!("\"{key}\" is required"))),
    }
}

/// `arguments`: an object or an array (passed on), or absent / `null` (`{}`).
fn arguments(body: &Value) -> Result<Value, ApiError> {
    match body.get("arguments") {
        None | Some(Value::Null) => Ok(json!({})),
        Some(v @ (Value::Object(_) | Value::Array(_))) => Ok(v.clone()),
        Some(_) => Err(invalid("\"arguments\" must be an object, an array or null")),
    }
}

/// `request_options`: `timeout` and `maxTotalTimeout` in milliseconds, `resetTimeoutOnProgress`.
fn request_options(body: &Value) -> Result<RequestOptions, ApiError> {
    let Some(options) = body.get("request_options").filter(|v| !v.is_null()) else {
        return Ok(RequestOptions::default());
    };
    let Some(options) = options.as_object() else {
        return Err(invalid("\"request_options\" must be an object"));
    };
    let millis = |key: &str| -> Result<Option<Duration>, ApiError> {
        match options.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .filter(|ms| *ms > 0)
                .map(|ms| Some(Duration::from_millis(ms)))
                .ok_or_else(|| {
                    invalid(format!(
                        "request_options.{key} must be a positive number of milliseconds"
                    ))
                }),
        }
    };
    let reset = match options.get("resetTimeoutOnProgress") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(invalid("request_options.resetTimeoutOnProgress must be true or false"));
        }
    };
    Ok(RequestOptions {
        timeout: millis("timeout")?,
        reset_timeout_on_progress: reset,
        max_total_timeout: millis("maxTotalTimeout")?,
    })
}

/// mcp-hub's error body.
fn api_error(e: &ApiError) -> Response {
    let mut body = json!({"error": e.message, "code": e.code, "timestamp": wire::timestamp()});
    if let Some(data) = &e.data {
        body["data"] = data.clone();
    }
    (e.status, Json(body)).into_response()
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
