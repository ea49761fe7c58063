//! The one place where the hub's failures become JSON-RPC errors or tool error results.

use std::time::Duration;

use hub_protocol::{ErrorObject, jsonrpc};
use serde_json::json;

use crate::supervise::human;

/// JSON-RPC error code of a call refused because the upstream's circuit breaker is open (in the
/// range JSON-RPC leaves to implementations; the MCP SDKs use -32000 and -32001). `data` holds
/// `server` and, unless a probe call is in flight, `retryAfterMs`.
pub(crate) const UPSTREAM_UNAVAILABLE: i64 = -32010;

/// Why a routed request failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RouteError {
    /// No such namespaced tool, prompt or resource.
    #[error("unknown {kind} '{name}'")]
    Unknown { kind: &'static str, name: String },
    /// The upstream that owns the name is not connected (down, restarting, or starting);
    /// `reason` is its last error, when there is one.
    #[error("server '{server}' is not connected{}", reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default())]
    NotConnected { server: String, reason: Option<String> },
    /// The upstream answered with a JSON-RPC error: forwarded unchanged.
    #[error("{0}")]
    Upstream(ErrorObject),
    /// The upstream's circuit breaker is open: it failed its recent calls, so this one was not
    /// sent. `retry_in` is the rest of the cool-down; `None` while a probe call is in flight.
    #[error("{}", circuit_open_message(server, *retry_in))]
    CircuitOpen { server: String, retry_in: Option<Duration> },
    /// A `per-session` server already runs as many children of its own as it may.
    #[error(
        "server '{server}' already runs {max} per-session processes (its maxInstances); \
         close another client session or raise maxInstances"
    )]
    TooManyInstances { server: String, max: u32 },
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
            RouteError::NotConnected { .. }
            | RouteError::Transport { .. }
            | RouteError::TooManyInstances { .. } => {
                ErrorObject::new(jsonrpc::INTERNAL_ERROR, self.to_string())
            }
            RouteError::CircuitOpen { server, retry_in } => {
                let mut data = json!({"server": server});
                if let Some(d) = retry_in {
                    data["retryAfterMs"] = json!(u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
                }
                ErrorObject::new(UPSTREAM_UNAVAILABLE, self.to_string()).with_data(&data)
            }
        }
    }

    /// For `tools/call`: failures of the path to a known tool are reported as a tool result with
    /// `isError: true` (what mcp-hub does, and what lets the model see and react to the failure);
    /// unknown names and the upstream's own JSON-RPC errors stay protocol errors.
    pub(crate) fn to_tool_result(&self) -> Option<serde_json::Value> {
        match self {
            RouteError::NotConnected { .. }
            | RouteError::Transport { .. }
            | RouteError::TooManyInstances { .. } => Some(json!({
                "content": [{"type": "text", "text": self.to_string()}],
                "isError": true,
            })),
            // A protocol error, not a tool result: the tool was not run at all, and a client
            // can tell this refusal (and when to retry) from the code and `data`.
            RouteError::Unknown { .. }
            | RouteError::Upstream(_)
            | RouteError::CircuitOpen { .. } => None,
        }
    }
}

fn circuit_open_message(server: &str, retry_in: Option<Duration>) -> String {
    let when = match retry_in {
        Some(d) => format!("a call will be let through again in {}", human(d)),
        None => "a trial call is in flight; try again shortly".to_owned(),
    };
    format!(
        "server '{server}' is failing its calls, so the hub is not sending it any \
         (circuit breaker open); {when}"
    )
}

#[cfg(test)]
mod tests;
