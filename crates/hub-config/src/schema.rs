//! The JSON Schema of a config file, generated from documentation types (`cargo xtask schema`
//! writes it to `docs/schema/config.schema.json` and renders `docs/schema/config.md`).
//!
//! The server entry is not read through serde (the loader's hand-written validator in `load`
//! keeps going past a broken entry), so the types here exist only to carry the schema: each key
//! the validator reads ([`SERVER_KEYS`](crate::SERVER_KEYS)) is documented with what the
//! validator accepts, and a test keeps the two in step. The `hub` section reuses the real
//! [`HubSettings`], which serde reads. Draft-07 is used: it is what editors (VS Code's JSON
//! language service, JetBrains IDEs) support best.

#![allow(dead_code, reason = "the types below are never built: they only derive `JsonSchema`")]

use std::{borrow::Cow, collections::BTreeMap};

use schemars::{JsonSchema, Schema, SchemaGenerator, generate::SchemaSettings, json_schema};
use serde_json::{Map, Value};

use crate::{HubSettings, load::DEV_DEFAULT_WATCH};

/// The schema's `$id`.
const ID: &str = "urn:mcp-hub:config.schema.json";

/// Keys of a server entry the hub keeps but does not validate: mcphub.nvim's and the loader's.
/// Every other documented key is in [`SERVER_KEYS`](crate::SERVER_KEYS).
const EDITOR_KEYS: [&str; 3] = ["autoApprove", "custom_instructions", "config_source"];

/// The JSON Schema (draft-07) of a config file, as a JSON value.
pub fn config_schema() -> Value {
    let generator = SchemaSettings::draft07().into_generator();
    let schema = generator.into_root_schema_for::<ConfigFile>();
    let mut value = schema.to_value();
    tidy_descriptions(&mut value);
    let mut body = match value {
        Value::Object(body) => body,
        other => return other,
    };
    let mut root = Map::new();
    for key in ["$schema", "$id", "title", "description"] {
        let v = match key {
            "$id" => Some(Value::String(ID.to_owned())),
            _ => body.remove(key),
        };
        if let Some(v) = v {
            root.insert(key.to_owned(), v);
        }
    }
    root.extend(body);
    Value::Object(root)
}

/// Rustdoc comments arrive with their line breaks: lines of a paragraph are joined with a space
/// (editors show descriptions as plain text), paragraphs and list items keep their breaks.
fn tidy_descriptions(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match v {
                    Value::String(s) if key == "description" => *s = unwrap_lines(s),
                    _ => tidy_descriptions(v),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(tidy_descriptions),
        _ => {}
    }
}

fn unwrap_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, paragraph) in text.split("\n\n").enumerate() {
        if i > 0 {
            out.push_str("\n\n");
        }
        for (j, line) in paragraph.lines().enumerate() {
            let line = line.trim();
            if j > 0 {
                out.push(if line.starts_with("- ") { '\n' } else { ' ' });
            }
            out.push_str(line);
        }
    }
    out
}

/// The placeholder forms, in the description of a server entry.
macro_rules! placeholders {
    () => {
        "Placeholders are expanded each time the server starts: `${VAR}` and `${env:VAR}` (the \
         variable VAR: the entry's own `env`, then `MCP_HUB_ENV`, then the hub's environment), \
         `${input:ID}` (the variable `input:ID`, normally supplied through `MCP_HUB_ENV`), \
         `${cmd: shell command}` (its trimmed standard output), `${workspaceFolder}` and `${cwd}` \
         (the hub's working directory), `${workspaceFolderBasename}`, `${userHome}`, \
         `${pathSeparator}` and `${/}`, and the extensions `${VAR:-default}` and \
         `${VAR:?message}`. Placeholders nest (`${cmd: echo ${TOKEN}}`); an unmatched `${` is \
         kept as text."
    };
}

/// The reminder in the description of each key that expands placeholders.
macro_rules! expanded {
    () => {
        "Placeholders are expanded (`${VAR}`, `${env:VAR}`, `${input:ID}`, `${cmd: …}`, \
         `${workspaceFolder}`, `${userHome}`, `${/}`, …; see the server entry)."
    };
}

/// # MCP Hub config file
///
/// A config file of the hub (`--config`, repeatable): JSON or JSON5 (comments, trailing commas
/// and unquoted keys allowed). Files are merged in order: a later file replaces a whole server
/// entry of the same name and any other top-level key. It has `mcpServers` (or VS Code's
/// `servers`); other top-level keys are kept untouched for the editors that read them
/// (mcphub.nvim's `nativeMCPServers`, …).
#[derive(JsonSchema)]
#[schemars(extend(
    "additionalProperties" = true,
    "anyOf" = [{"required": ["mcpServers"]}, {"required": ["servers"]}]
))]
struct ConfigFile {
    /// The JSON Schema the file follows, for editors (e.g.
    /// `"../docs/schema/config.schema.json"`). Ignored by the hub.
    #[schemars(rename = "$schema")]
    schema: Option<String>,
    /// The MCP servers, by name (mcp-hub's and Claude Desktop's key). Any name is accepted; it
    /// prefixes the server's tools, resources and prompts on `/mcp` (`<name>__<tool>`). A broken
    /// entry is reported with its key path and skipped; the other servers still start.
    #[schemars(rename = "mcpServers", default)]
    mcp_servers: BTreeMap<String, ServerEntry>,
    /// VS Code's spelling of `mcpServers` (`.vscode/mcp.json`). When a file has both, `servers`
    /// is used and `mcpServers` is ignored.
    #[schemars(default)]
    servers: BTreeMap<String, ServerEntry>,
    /// VS Code's input variables (`.vscode/mcp.json`). The hub does not prompt: it reads
    /// `${input:ID}` from the variable `input:ID` of `MCP_HUB_ENV`, e.g.
    /// `MCP_HUB_ENV='{"input:api-key": "…"}'`.
    inputs: Option<Vec<Input>>,
    /// The hub's own settings. Every key is optional and keeps the built-in default when left
    /// out; an unknown or invalid key is reported and keeps its default. Across several files the
    /// `hub` section of the last file that has one applies, whole.
    #[schemars(default)]
    hub: HubSettings,
    /// The connection pool of every remote server (mcp-hub fork's key); a remote entry's own
    /// `connectionPool` overrides it key by key. An invalid key is reported and keeps its
    /// default. Across several files the block of the last file that has one applies, whole.
    #[schemars(rename = "connectionPool")]
    connection_pool: Option<ConnectionPool>,
}

/// One VS Code input variable. The hub only keeps it; other keys are allowed.
#[derive(JsonSchema)]
#[schemars(extend("additionalProperties" = true))]
struct Input {
    /// The name used in `${input:ID}` placeholders.
    id: String,
    /// How VS Code asks for the value: `promptString`, `pickString` or `command`.
    #[schemars(rename = "type")]
    kind: String,
    /// The prompt VS Code shows.
    description: Option<String>,
    /// Whether VS Code hides the typed value (`promptString`).
    password: Option<bool>,
    /// The value VS Code proposes.
    default: Option<String>,
    /// The choices of a `pickString`.
    options: Option<Vec<Value>>,
}

/// # Server entry
///
/// One MCP server: a stdio server (a child process, with `command`) or a remote server (with
/// `url`), never both. Keys other than the documented ones are kept untouched (editors store
/// their own there).
///
#[doc = placeholders!()]
#[derive(JsonSchema)]
#[schemars(untagged)]
enum ServerEntry {
    Stdio(StdioServer),
    Remote(RemoteServer),
}

/// # Stdio server
///
/// A server the hub starts as a child process and talks to over its stdin/stdout.
#[derive(JsonSchema)]
#[schemars(extend("additionalProperties" = true))]
struct StdioServer {
    /// The executable (looked up in the `PATH` the child gets). Must not be empty.
    #[doc = expanded!()]
    #[schemars(pattern(r"\S"))]
    command: String,
    /// Arguments. Numbers are accepted and passed as their text (`["--port", 8080]`). An
    /// argument that is exactly `$VAR` is mcp-hub's legacy form of `${VAR}` (expanded, with a
    /// deprecation warning).
    #[doc = expanded!()]
    args: Option<Vec<ArgValue>>,
    /// Extra environment variables of the child, on top of `HOME`, `LOGNAME`, `PATH`, `SHELL`,
    /// `TERM`, `USER` from the hub's environment and every variable of `MCP_HUB_ENV` (the rest of
    /// the hub's environment is not inherited). A value of `null` or `""` copies the variable of
    /// the same name from `MCP_HUB_ENV` or the hub's environment (an error if neither has it);
    /// numbers and booleans are passed as their text. Values may use placeholders, including
    /// other keys of this block in any order (a cycle is an error); a value naming its own
    /// variable (`"PATH": "${PATH}:/extra"`) means the hub's value of it.
    env: Option<BTreeMap<String, EnvValue>>,
    /// The child's working directory (default: the hub's).
    #[doc = expanded!()]
    cwd: Option<String>,
    /// Dev mode: restart the server when its source files change.
    dev: Option<Dev>,
    /// Which clients the child process serves. `"shared"`: one child for every client (as
    /// mcp-hub). `"per-session"`: besides the shared child (which the hub asks for the server's
    /// tools, resources and prompts), each client session gets a child of its own on its first
    /// call, initialized with that client's capabilities (so the server can ask the client for
    /// its roots), and stopped when the session ends; for servers that keep state per client.
    /// Calls of a session beyond `maxInstances` children are refused with an error saying so.
    #[schemars(default = "sharing_default")]
    sharing: Option<SharingPolicy>,
    /// With `"sharing": "per-session"`: the most children of its own the server may have at
    /// once (the shared one not counted).
    #[schemars(rename = "maxInstances", range(min = 1, max = 1000))]
    #[schemars(extend("default" = 8))]
    max_instances: Option<u32>,
    /// VS Code's and Claude Code's server type; for a stdio server only `"stdio"`. Checked only
    /// when `transport` is absent.
    #[schemars(rename = "type")]
    kind: Option<StdioType>,
    /// The transport; for a stdio server only `"stdio"`. Takes precedence over `type`.
    transport: Option<StdioType>,
    // Not allowed: a stdio entry with a `url` (even `null`) is an error. No doc comment, so the
    // schema stays `false` and editors say "Property url is not allowed".
    #[schemars(default)]
    url: Forbidden,
    // Not allowed (even `null`): a stdio server has no HTTP connections (an error, as in the
    // mcp-hub fork).
    #[schemars(rename = "connectionPool", default)]
    connection_pool: Forbidden,
    #[schemars(flatten)]
    common: Common,
}

/// # Remote server
///
/// A server reached over HTTP: streamable HTTP, or legacy HTTP+SSE.
#[derive(JsonSchema)]
#[schemars(extend("additionalProperties" = true))]
struct RemoteServer {
    /// The endpoint, e.g. `"https://mcp.example.com/mcp"`. Checked after placeholders are
    /// expanded (so `"${BASE}/mcp"` works): it must be an http or https URL with a host.
    #[doc = expanded!()]
    url: String,
    /// Request headers sent with every request, e.g. `{"Authorization": "Bearer ${TOKEN}"}`.
    /// Numbers and booleans are sent as their text; `null` or `""` sends an empty value. Names
    /// must not contain `:` or line breaks.
    #[doc = expanded!()]
    headers: Option<BTreeMap<String, HeaderValue>>,
    /// Variables for the placeholders of `url` and `headers` (as in mcp-hub; nothing is sent).
    /// A value of `null` or `""` copies the variable of the same name from `MCP_HUB_ENV` or the
    /// hub's environment; numbers and booleans are used as their text.
    env: Option<BTreeMap<String, EnvValue>>,
    /// The server type as other tools write it. Any of these values means a remote server;
    /// `"http"`, `"streamable-http"` and `"streamableHttp"` speak streamable HTTP only, while
    /// `"sse"` (which mcp-hub writes for every remote server, whatever it speaks) means
    /// negotiate: streamable HTTP first, falling back to legacy HTTP+SSE. Checked only when
    /// `transport` is absent. Without either, the transport is negotiated.
    #[schemars(rename = "type")]
    kind: Option<RemoteType>,
    /// Forces one transport: `"streamable-http"` (or `"http"`) or `"sse"` (legacy HTTP+SSE, no
    /// negotiation). Takes precedence over `type`.
    transport: Option<RemoteTransport>,
    /// This server's connection pool, over the top-level `connectionPool` key by key (`enabled`
    /// too: `true` here turns pooling on even when the top-level block turns it off). A change
    /// reconnects the server.
    #[schemars(rename = "connectionPool")]
    connection_pool: Option<ConnectionPool>,
    // Not allowed (even `null`): `command` makes the entry a mix of both kinds, and dev mode is
    // for stdio servers only.
    #[schemars(default)]
    command: Forbidden,
    #[schemars(default)]
    dev: Forbidden,
    // Not allowed: a remote server has no child process to share.
    #[schemars(default)]
    sharing: Forbidden,
    #[schemars(rename = "maxInstances", default)]
    max_instances: Forbidden,
    #[schemars(flatten)]
    common: Common,
}

/// Keys of both kinds of server entry.
#[derive(JsonSchema)]
struct Common {
    /// `true`: the server is listed (status `disabled`) but not started.
    disabled: Option<bool>,
    /// Display name (default: the entry's key).
    name: Option<String>,
    /// Free text shown in the server list.
    description: Option<String>,
    /// How the server's tools, prompts, resources and resource templates are named on `/mcp`:
    /// `"always"` as `<server id>__<name>` (mcp-hub's scheme; resource URIs get the prefix
    /// too), `"never"` as the server gives them (passthrough, e.g. for a hub that fronts one
    /// server). A name that another server already exposes keeps the prefix, with a warning in
    /// the log: the server listed first in the config keeps the plain name.
    #[schemars(default = "prefix_default")]
    prefix: Option<PrefixMode>,
    /// Tool names hidden from clients of `/mcp` (mcphub.nvim's key; the hub honours it).
    /// `/api/servers` still lists them, so an editor can offer to enable them again.
    disabled_tools: Option<Vec<String>>,
    /// Prompt names hidden from clients of `/mcp` (mcphub.nvim's key; the hub honours it).
    disabled_prompts: Option<Vec<String>>,
    /// Resource URIs hidden from clients of `/mcp` (mcphub.nvim's key; the hub honours it).
    disabled_resources: Option<Vec<String>>,
    /// Resource template URI templates hidden from clients of `/mcp` (mcphub.nvim's key; the
    /// hub honours it).
    #[schemars(rename = "disabled_resourceTemplates")]
    disabled_resource_templates: Option<Vec<String>>,
    /// mcphub.nvim: tools its chat runs without asking. `true` approves every tool of the server,
    /// an array the named ones. The hub only keeps it.
    #[schemars(rename = "autoApprove")]
    auto_approve: Option<AutoApprove>,
    /// mcphub.nvim: instructions added to the system prompt when the server is used. The hub only
    /// keeps it.
    custom_instructions: Option<CustomInstructions>,
    /// Set by the loader to the file the entry came from (reported by `/api/servers` and in
    /// events); a value written here is not used.
    config_source: Option<String>,
}

/// # Connection pool
///
/// HTTP connections to remote servers (the mcp-hub fork's `connectionPool`, same keys, ranges
/// and defaults). Servers with the same effective settings share one pool; `maxConnections` is
/// shared by those of them with the same origin. Durations are milliseconds.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct ConnectionPool {
    /// `false`: no connection is reused, every request opens a new connection (and
    /// `keepAliveTimeout` and `maxFreeConnections` have nothing to act on; `timeout` and
    /// `maxConnections` still apply). A server's own `enabled` wins over the top-level one.
    #[schemars(default = "enabled_default")]
    enabled: Option<bool>,
    /// How long an idle connection is kept for the next request, in milliseconds.
    #[schemars(rename = "keepAliveTimeout", range(min = 1000, max = 600_000))]
    #[schemars(extend("default" = 60_000))]
    keep_alive_timeout: Option<u64>,
    /// Accepted for compatibility, **no effect** (a warning says so): the hub's HTTP client
    /// (hyper) has no maximum connection lifetime. An idle connection is closed after
    /// `keepAliveTimeout`; a busy one lives until the server closes it.
    #[schemars(rename = "keepAliveMaxTimeout", range(min = 1000, max = 3_600_000))]
    #[schemars(extend("default" = 600_000))]
    keep_alive_max_timeout: Option<u64>,
    /// Most requests in flight at once to the server's origin, shared by every server with the
    /// same origin and the same effective pool settings; further requests wait their turn (within
    /// their own timeout). Over HTTP/1.1 it is also the most connections the hub opens there for
    /// requests. Not counted: the long-lived event streams (the streamable HTTP GET stream, the
    /// legacy SSE stream) and the hub's answers to the server's own requests.
    #[schemars(rename = "maxConnections", range(min = 1, max = 1000))]
    #[schemars(extend("default" = 50))]
    max_connections: Option<u64>,
    /// Most idle connections kept per origin for reuse; `0` keeps none (like `enabled: false`).
    #[schemars(rename = "maxFreeConnections", range(min = 0, max = 100))]
    #[schemars(extend("default" = 10))]
    max_free_connections: Option<u64>,
    /// How long establishing a connection (TCP and TLS) may take, in milliseconds. Each request
    /// has its own timeout besides (`hub.timeouts`).
    #[schemars(range(min = 1000, max = 300_000), extend("default" = 30_000))]
    timeout: Option<u64>,
    /// Accepted for compatibility: `0` (no pipelining) is what the hub does; a higher value has
    /// **no effect** (a warning says so): the hub's HTTP client (hyper) does not pipeline
    /// HTTP/1.1 requests. Concurrent requests use separate connections, or HTTP/2 streams.
    #[schemars(range(min = 0, max = 10), extend("default" = 0))]
    pipelining: Option<u64>,
}

/// mcphub.nvim's custom instructions of a server. Other keys are allowed.
#[derive(JsonSchema)]
#[schemars(extend("additionalProperties" = true))]
struct CustomInstructions {
    /// The instructions.
    text: Option<String>,
    /// `true`: keep the text but do not send it.
    disabled: Option<bool>,
}

/// # Dev mode
///
/// Restarts a stdio server when a file under `cwd` matching one of `watch` is created, changed
/// or removed (patterns are matched on every change, so new files count too). Remote servers
/// cannot have it.
#[derive(JsonSchema)]
#[schemars(extend("additionalProperties" = true))]
struct Dev {
    /// `false` turns dev mode off without removing the entry.
    #[schemars(default = "enabled_default")]
    enabled: Option<bool>,
    /// Glob patterns relative to `cwd`. When left out: every `.js`, `.ts`, `.py` and `.json`
    /// file. An empty list watches nothing.
    #[schemars(default = "watch_default")]
    watch: Vec<String>,
    /// The absolute directory the patterns are relative to (placeholders are not expanded here).
    #[schemars(pattern("^/"))]
    cwd: String,
}

/// Which clients a stdio server's child serves.
#[derive(JsonSchema)]
#[schemars(rename_all = "kebab-case")]
enum SharingPolicy {
    Shared,
    PerSession,
}

fn sharing_default() -> Option<SharingPolicy> {
    Some(SharingPolicy::Shared)
}

/// How names appear on `/mcp`.
#[derive(JsonSchema)]
#[schemars(rename_all = "lowercase")]
enum PrefixMode {
    Always,
    Never,
}

fn prefix_default() -> Option<PrefixMode> {
    Some(PrefixMode::Always)
}

fn enabled_default() -> Option<bool> {
    Some(true)
}

fn watch_default() -> Vec<String> {
    DEV_DEFAULT_WATCH.map(str::to_owned).to_vec()
}

/// The server type of a stdio entry.
#[derive(JsonSchema)]
enum StdioType {
    /// A child process speaking MCP on stdin/stdout.
    #[schemars(rename = "stdio")]
    Stdio,
}

/// The server type of a remote entry (`type`).
#[derive(JsonSchema)]
enum RemoteType {
    /// Streamable HTTP only (VS Code, Claude Code).
    #[schemars(rename = "http")]
    Http,
    /// Streamable HTTP only.
    #[schemars(rename = "streamable-http")]
    StreamableHttp,
    /// Streamable HTTP only.
    #[schemars(rename = "streamableHttp")]
    StreamableHttpCamel,
    /// Remote, transport negotiated: streamable HTTP first, then legacy HTTP+SSE (mcp-hub writes
    /// this for every remote server).
    #[schemars(rename = "sse")]
    Sse,
}

/// The forced transport of a remote entry (`transport`).
#[derive(JsonSchema)]
enum RemoteTransport {
    /// Streamable HTTP only.
    #[schemars(rename = "streamable-http")]
    StreamableHttp,
    /// Streamable HTTP only.
    #[schemars(rename = "http")]
    Http,
    /// Legacy HTTP+SSE only.
    #[schemars(rename = "sse")]
    Sse,
}

/// A key that must not be present: the schema `false`.
#[derive(Default)]
struct Forbidden;

/// A command-line argument: text (with placeholders) or a number, passed as its text.
struct ArgValue;

/// An environment value: text (with placeholders), a number or a boolean (passed as text), or
/// `null` / `""` to copy the variable of the same name from the hub's context.
struct EnvValue;

/// A header value: text (with placeholders), a number or a boolean (sent as text), or `null` /
/// `""` for an empty value.
struct HeaderValue;

/// mcphub.nvim's auto-approval: `true` for every tool, or the names of the approved tools.
struct AutoApprove;

impl JsonSchema for Forbidden {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Forbidden".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        false.into()
    }
}

impl JsonSchema for ArgValue {
    fn schema_name() -> Cow<'static, str> {
        "Argument".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Text (placeholders are expanded) or a number, passed as its text.",
            "type": ["string", "number"]
        })
    }
}

impl JsonSchema for EnvValue {
    fn schema_name() -> Cow<'static, str> {
        "EnvValue".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Text (placeholders are expanded), a number or a boolean (passed as its text), or null or \"\" to copy the variable of the same name from MCP_HUB_ENV or the hub's environment.",
            "type": ["string", "number", "boolean", "null"]
        })
    }
}

impl JsonSchema for HeaderValue {
    fn schema_name() -> Cow<'static, str> {
        "HeaderValue".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Text (placeholders are expanded), a number or a boolean (sent as its text), or null or \"\" for an empty value.",
            "type": ["string", "number", "boolean", "null"]
        })
    }
}

impl JsonSchema for AutoApprove {
    fn schema_name() -> Cow<'static, str> {
        "AutoApprove".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "true approves every tool of the server (false none); an array approves the named tools.",
            "anyOf": [
                {"type": "boolean"},
                {"type": "array", "items": {"type": "string"}}
            ]
        })
    }
}

#[cfg(test)]
mod tests;
