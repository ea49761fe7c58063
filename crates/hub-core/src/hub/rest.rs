//! The REST API's calls to one server (`POST /api/servers/tools`, `…/resources`,
//! `…/prompts`), with mcp-hub's per-call `request_options` and its error codes — the statuses
//! its README documents (404 for an unknown server or tool, 503 for one not connected), which
//! mcp-hub itself never returns (it answers 500 for all of them).

use std::sync::Arc;

use hub_http::{ApiError, CallTarget, ServerCall, StatusCode};
use hub_protocol::{
    RawValue,
    mcp::{CallToolParams, Extra, GetPromptParams, ListKind, ReadResourceParams, method},
};
use serde_json::{Value, json};

use super::{Inner, lock};
use crate::{error::RouteError, upstream::Status};

impl Inner {
    pub(super) async fn server_call(
        self: &Arc<Self>,
        call: ServerCall,
    ) -> Result<Box<RawValue>, ApiError> {
        let Some(u) = self.find(&call.server) else {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "SERVER_NOT_FOUND",
                format!("server '{}' not found", call.server),
            ));
        };
        // mcp-hub checks tools and prompts against the server's lists, not resources.
        let listed = |kind: ListKind, name: &str| -> Result<(), ApiError> {
            let available: Vec<String> = lock(&u.state)
                .lists
                .get(kind)
                .iter()
                .filter_map(|i| i.get(kind.item_key()).and_then(Value::as_str).map(str::to_owned))
                .collect();
            if available.iter().any(|n| n == name) {
                return Ok(());
            }
            let (noun, code, key) = match kind {
                ListKind::Prompts => ("prompt", "PROMPT_NOT_FOUND", "availablePrompts"),
                _ => ("tool", "TOOL_NOT_FOUND", "availableTools"),
            };
            let message = format!("{noun} '{name}' not found on server '{}'", u.name);
            Err(ApiError::new(StatusCode::NOT_FOUND, code, message)
                .with_data(json!({"server": u.name, key: available})))
        };
        {
            let st = lock(&u.state);
            if !matches!(st.status, Some(Status::Connected | Status::Degraded)) {
                let status = st.status.map_or("disconnected", Status::as_str);
                let why = st.error.as_deref().map(|e| format!(": {e}")).unwrap_or_default();
                return Err(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "SERVER_NOT_CONNECTED",
                    format!("server '{}' is {status}{why}", u.name),
                ));
            }
        }
        let o = &call.options;
        let timeout = o.timeout.unwrap_or(self.settings.request_timeout);
        // As the MCP SDK: without resetTimeoutOnProgress the timeout is absolute.
        let max_total = if o.reset_timeout_on_progress {
            o.max_total_timeout.unwrap_or(self.settings.request_max_total).max(timeout)
        } else {
            timeout
        };
        let nobody = super::no_session();
        let timing = (timeout, max_total);
        let (outcome, what) = match call.target {
            CallTarget::Tool { name, arguments } => {
                listed(ListKind::Tools, &name)?;
                let p = CallToolParams { name, arguments: Some(arguments), extra: Extra::new() };
                (
                    self.forward_timed(&u, method::TOOLS_CALL, &p, &nobody, None, timing).await,
                    "TOOL",
                )
            }
            CallTarget::Resource { uri } => {
                let p = ReadResourceParams { uri, extra: Extra::new() };
                let outcome =
                    self.forward_timed(&u, method::RESOURCES_READ, &p, &nobody, None, timing).await;
                (outcome, "RESOURCE")
            }
            CallTarget::Prompt { name, arguments } => {
                listed(ListKind::Prompts, &name)?;
                let p = GetPromptParams { name, arguments: Some(arguments), extra: Extra::new() };
                (
                    self.forward_timed(&u, method::PROMPTS_GET, &p, &nobody, None, timing).await,
                    "PROMPT",
                )
            }
            #[allow(unreachable_patterns)] // `CallTarget` is non-exhaustive
            _ => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "VALIDATION_ERROR",
                    "unsupported call",
                ));
            }
        };
        outcome.map_err(|e| api_error(&u.name, what, &e))
    }
}

/// A failed call as mcp-hub's error body.
fn api_error(server: &str, what: &str, e: &RouteError) -> ApiError {
    let message = e.to_string();
    match e {
        RouteError::Upstream(obj) => {
            let mut data = json!({"server": server, "code": obj.code, "message": obj.message});
            if let Some(d) =
                obj.data.as_ref().and_then(|d| serde_json::from_str::<Value>(d.get()).ok())
            {
                data["data"] = d;
            }
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, &format!("{what}_ERROR"), message)
                .with_data(data)
        }
        RouteError::Transport { source: hub_transport::Error::Timeout { .. }, .. } => {
            ApiError::new(StatusCode::GATEWAY_TIMEOUT, "REQUEST_TIMEOUT", message)
                .with_data(json!({"server": server}))
        }
        RouteError::NotConnected { .. }
        | RouteError::CircuitOpen { .. }
        | RouteError::TooManyInstances { .. } => {
            let e = e.to_jsonrpc();
            let mut error =
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "SERVER_NOT_CONNECTED", message);
            if let Some(d) =
                e.data.as_ref().and_then(|d| serde_json::from_str::<Value>(d.get()).ok())
            {
                error = error.with_data(d);
            }
            error
        }
        RouteError::Transport { .. } => {
            ApiError::new(StatusCode::BAD_GATEWAY, "CONNECTION_ERROR", message)
                .with_data(json!({"server": server}))
        }
        RouteError::Unknown { .. } => {
            ApiError::new(StatusCode::NOT_FOUND, &format!("{what}_NOT_FOUND"), message)
        }
    }
}
