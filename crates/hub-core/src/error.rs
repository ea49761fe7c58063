//! The one place where the hub's failures become JSON-RPC errors or tool error results.

use hub_protocol::{ErrorObject, jsonrpc};
use serde_json::json;

/// Why a routed request failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RouteError {
    /// No such namespaced tool, prompt or resource.
    #[error("unknown {kind} '{name}'")]
    Unknown { kind: &'static str, name: String },
    /// The upstream that owns the name is not connected.
    #[error("server '{server}' is not connected")]
    NotConnected { server: String },
    /// The upstream answered with a JSON-RPC error: forwarded unchanged.
    #[error("{0}")]
    Upstream(ErrorObject),
    /// The transport failed (timeout, process exited, pipe error).
    #[error("server '{server}': {source}")]
    Transport {
        server: String,
        #[source]
        source: hub_transport::Error,
    },
}

impl RouteError {
    pub(crate) fn from_transport(server: &str, e: hub_transport::Error) -> Self {
        match e {
            hub_transport::Error::Rpc(obj) => RouteError::Upstream(obj),
            other => RouteError::Transport { server: server.to_owned(), source: other },
        }
    }

    /// As a JSON-RPC error. Unknown names are `-32602` (invalid params), as MCP prescribes for an
    /// unknown tool; timeouts keep the SDKs' `-32001`; other transport failures are `-32603`.
    pub(crate) fn to_jsonrpc(&self) -> ErrorObject {
        match self {
            RouteError::Upstream(obj) => obj.clone(),
            RouteError::Unknown { .. } => {
                ErrorObject::new(jsonrpc::INVALID_PARAMS, self.to_string())
            }
            RouteError::Transport { source: hub_transport::Error::Timeout { .. }, .. } => {
                ErrorObject::new(jsonrpc::REQUEST_TIMEOUT, self.to_string())
            }
            RouteError::NotConnected { .. } | RouteError::Transport { .. } => {
                ErrorObject::new(jsonrpc::INTERNAL_ERROR, self.to_string())
            }
        }
    }

    /// For `tools/call`: failures of the path to a known tool are reported as a tool result with
    /// `isError: true` (what mcp-hub does, and what lets the model see and react to the failure);
    /// unknown names and the upstream's own JSON-RPC errors stay protocol errors.
    pub(crate) fn to_tool_result(&self) -> Option<serde_json::Value> {
        match self {
            RouteError::NotConnected { .. } | RouteError::Transport { .. } => Some(json!({
                "content": [{"type": "text", "text": self.to_string()}],
                "isError": true,
            })),
            RouteError::Unknown { .. } | RouteError::Upstream(_) => None,
        }
    }
}
