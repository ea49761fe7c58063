//! Typed views of the MCP messages the hub reads or rewrites. Each view keeps every field it does
//! not name in `extra`, so reading and re-writing a message loses nothing.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, value::RawValue};

use crate::jsonrpc::{ErrorObject, INVALID_PARAMS, Id};

/// JSON object with unknown fields, kept in order of appearance.
pub type Extra = Map<String, Value>;

/// MCP method and notification names used by the hub.
pub mod method {
    /// Lifecycle: the first request of a session.
    pub const INITIALIZE: &str = "initialize";
    /// Lifecycle: the client's acknowledgement of `initialize`.
    pub const INITIALIZED: &str = "notifications/initialized";
    /// Liveness check, either direction.
    pub const PING: &str = "ping";
    /// Cancellation of an in-flight request, either direction.
    pub const CANCELLED: &str = "notifications/cancelled";
    /// Progress of a request that carried `_meta.progressToken`.
    pub const PROGRESS: &str = "notifications/progress";
    /// List tools.
    pub const TOOLS_LIST: &str = "tools/list";
    /// Call a tool.
    pub const TOOLS_CALL: &str = "tools/call";
    /// List resources.
    pub const RESOURCES_LIST: &str = "resources/list";
    /// List resource templates.
    pub const RESOURCE_TEMPLATES_LIST: &str = "resources/templates/list";
    /// Read a resource.
    pub const RESOURCES_READ: &str = "resources/read";
    /// List prompts.
    pub const PROMPTS_LIST: &str = "prompts/list";
    /// Get a prompt.
    pub const PROMPTS_GET: &str = "prompts/get";
    /// The tool list changed.
    pub const TOOLS_LIST_CHANGED: &str = "notifications/tools/list_changed";
    /// The resource (or resource template) list changed.
    pub const RESOURCES_LIST_CHANGED: &str = "notifications/resources/list_changed";
    /// The prompt list changed.
    pub const PROMPTS_LIST_CHANGED: &str = "notifications/prompts/list_changed";
    /// A log message from a server.
    pub const LOG_MESSAGE: &str = "notifications/message";
    /// The client asks for log messages at a level and above.
    pub const LOGGING_SET_LEVEL: &str = "logging/setLevel";
    /// Argument completion for a prompt or a resource template.
    pub const COMPLETION_COMPLETE: &str = "completion/complete";
    /// Subscribe to a resource's updates.
    pub const RESOURCES_SUBSCRIBE: &str = "resources/subscribe";
    /// Unsubscribe from a resource's updates.
    pub const RESOURCES_UNSUBSCRIBE: &str = "resources/unsubscribe";
    /// A subscribed resource changed.
    pub const RESOURCES_UPDATED: &str = "notifications/resources/updated";
    /// The client's roots changed.
    pub const ROOTS_LIST_CHANGED: &str = "notifications/roots/list_changed";
}

/// MCP's log levels (`logging/setLevel`, `notifications/message`): the syslog severities of
/// RFC 5424, least severe first, so `a < b` means `a` is more verbose.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// `debug`.
    #[default]
    Debug,
    /// `info`.
    Info,
    /// `notice`.
    Notice,
    /// `warning`.
    Warning,
    /// `error`.
    Error,
    /// `critical`.
    Critical,
    /// `alert`.
    Alert,
    /// `emergency`.
    Emergency,
}

impl LogLevel {
    /// Every level, least severe first.
    pub const ALL: [LogLevel; 8] = [
        LogLevel::Debug,
        LogLevel::Info,
        LogLevel::Notice,
        LogLevel::Warning,
        LogLevel::Error,
        LogLevel::Critical,
        LogLevel::Alert,
        LogLevel::Emergency,
    ];

    /// The level as MCP writes it.
    pub const fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Notice => "notice",
            LogLevel::Warning => "warning",
            LogLevel::Error => "error",
            LogLevel::Critical => "critical",
            LogLevel::Alert => "alert",
            LogLevel::Emergency => "emergency",
        }
    }

    /// The level MCP writes as `s`; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

/// The `_meta.progressToken` of a request's params, if it has one.
pub fn progress_token(extra: &Extra) -> Option<Id> {
    let token = extra.get("_meta")?.get("progressToken")?;
    serde_json::from_value(token.clone()).ok()
}

/// `clientInfo` / `serverInfo`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Implementation {
    /// Programmatic name.
    pub name: String,
    /// Version string.
    #[serde(default)]
    pub version: String,
    /// `title`, `icons`, `websiteUrl`, … untouched.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Params of `initialize`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitializeParams {
    /// The revision the client asks for (its latest).
    pub protocol_version: String,
    /// The client's capabilities, untouched.
    #[serde(default)]
    pub capabilities: Extra,
    /// Who the client is.
    pub client_info: Implementation,
    /// Anything else (`_meta`, future fields).
    #[serde(flatten)]
    pub extra: Extra,
}

/// Result of `initialize`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitializeResult {
    /// The revision the server chose.
    pub protocol_version: String,
    /// The server's capabilities, untouched.
    #[serde(default)]
    pub capabilities: Extra,
    /// Who the server is.
    pub server_info: Implementation,
    /// Usage hints for the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// Anything else.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Params of the four list methods.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PaginatedParams {
    /// Opaque cursor from a previous page's `nextCursor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Anything else (`_meta`).
    #[serde(flatten)]
    pub extra: Extra,
}

/// Which of the four lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListKind {
    /// `tools/list` → `tools`, keyed by `name`.
    Tools,
    /// `resources/list` → `resources`, keyed by `uri`.
    Resources,
    /// `resources/templates/list` → `resourceTemplates`, keyed by `uriTemplate`.
    ResourceTemplates,
    /// `prompts/list` → `prompts`, keyed by `name`.
    Prompts,
}

/// One page of a list result: the items as JSON objects, the next cursor, other fields.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListPage {
    /// Tool, resource, resource template or prompt definitions, untouched.
    pub items: Vec<Extra>,
    /// Cursor for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
    /// Other result fields (`_meta`).
    pub extra: Extra,
}

/// Params of `notifications/cancelled`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelledParams {
    /// The id of the request to stop.
    pub request_id: Id,
    /// Why, for logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `_meta` and anything else.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Params of `notifications/progress`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgressParams {
    /// The token the request carried in `_meta.progressToken`.
    pub progress_token: Id,
    /// `progress`, `total`, `message`, `_meta` and anything else, untouched.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Params of `tools/call`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallToolParams {
    /// Tool name.
    pub name: String,
    /// Tool arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Value>,
    /// `_meta` (progress token) and anything else.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Params of `resources/read`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadResourceParams {
    /// The resource URI.
    pub uri: String,
    /// `_meta` and anything else.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Params of `prompts/get`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetPromptParams {
    /// Prompt name.
    pub name: String,
    /// Prompt arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Value>,
    /// `_meta` and anything else.
    #[serde(flatten)]
    pub extra: Extra,
}

// === impl ListKind ===

impl ListKind {
    /// All four, in the order the hub fetches them.
    pub const ALL: [Self; 4] =
        [Self::Tools, Self::Resources, Self::ResourceTemplates, Self::Prompts];

    /// The list method.
    pub const fn method(self) -> &'static str {
        match self {
            Self::Tools => method::TOOLS_LIST,
            Self::Resources => method::RESOURCES_LIST,
            Self::ResourceTemplates => method::RESOURCE_TEMPLATES_LIST,
            Self::Prompts => method::PROMPTS_LIST,
        }
    }

    /// The kind listed by a method name.
    pub fn from_method(m: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.method() == m)
    }

    /// The member of the result that holds the items.
    pub const fn result_key(self) -> &'static str {
        match self {
            Self::Tools => "tools",
            Self::Resources => "resources",
            Self::ResourceTemplates => "resourceTemplates",
            Self::Prompts => "prompts",
        }
    }

    /// The member of an item that identifies it.
    pub const fn item_key(self) -> &'static str {
        match self {
            Self::Tools | Self::Prompts => "name",
            Self::Resources => "uri",
            Self::ResourceTemplates => "uriTemplate",
        }
    }

    /// The server capability that announces this list (`tools`, `resources`, `prompts`).
    pub const fn capability(self) -> &'static str {
        match self {
            Self::Tools => "tools",
            Self::Resources | Self::ResourceTemplates => "resources",
            Self::Prompts => "prompts",
        }
    }
}

// === impl ListPage ===

impl ListPage {
    /// Reads a list result. Items that are not objects are dropped (they cannot be addressed);
    /// a missing item array reads as empty.
    pub fn from_result(kind: ListKind, result: &RawValue) -> Result<Self, ErrorObject> {
        let mut obj: Extra = serde_json::from_str(result.get()).map_err(|e| {
            ErrorObject::new(INVALID_PARAMS, format!("malformed {} result: {e}", kind.method()))
        })?;
        let items = match obj.remove(kind.result_key()) {
            Some(Value::Array(items)) => items
                .into_iter()
                .filter_map(|v| match v {
                    Value::Object(m) => Some(m),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        let next_cursor = match obj.remove("nextCursor") {
            Some(Value::String(c)) if !c.is_empty() => Some(c),
            _ => None,
        };
        Ok(ListPage { items, next_cursor, extra: obj })
    }

    /// Writes the page back as a list result.
    pub fn to_result(&self, kind: ListKind) -> Value {
        let mut obj = self.extra.clone();
        obj.insert(
            kind.result_key().to_owned(),
            Value::Array(self.items.iter().cloned().map(Value::Object).collect()),
        );
        if let Some(c) = &self.next_cursor {
            obj.insert("nextCursor".to_owned(), Value::String(c.clone()));
        }
        Value::Object(obj)
    }
}

#[cfg(test)]
mod tests;
