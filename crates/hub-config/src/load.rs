//! Reading and merging config files: mcp-hub's `mcpServers` (or VS Code `servers`), later files
//! replacing whole server entries, then validating each entry on its own.

use serde_json::{Map, Value};

use crate::{
    error::{ConfigError, FileError, type_name},
    pool::{self, ConnectionPool, PoolBlock},
    settings::{self, HubSettings},
};

/// One config file's text and the path it was given as.
#[derive(Debug, Clone)]
pub struct Source {
    /// The path as given on the command line (reported back as `config_source`).
    pub path: String,
    /// The file's contents.
    pub text: String,
}

/// The merged configuration.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Every server entry in merged order (first appearance; a later file replaces an entry in
    /// place), including invalid ones, which carry [`ServerKind::Invalid`].
    pub servers: Vec<Server>,
    /// Every problem found in any entry.
    pub problems: Vec<ConfigError>,
    /// Top-level keys other than `mcpServers`, later files replacing earlier ones (kept, like
    /// mcp-hub, for the parts of the hub and the editors that read them).
    pub extra: Map<String, Value>,
    /// The `hub` section (of the last file that has one); a key with a problem keeps its
    /// default and is listed in [`Config::problems`].
    pub settings: HubSettings,
    /// Notices that change nothing (a `type` the hub ignores, as mcp-hub does; a
    /// `connectionPool` key that has no effect here): worth showing, never a reason to skip a
    /// server or refuse a reload.
    pub warnings: Vec<ConfigError>,
    /// The top-level `connectionPool` (of the last file that has one) over the built-in
    /// defaults: the pool of a remote server without a block of its own. A key with a problem
    /// keeps its default and is listed in [`Config::problems`].
    pub connection_pool: ConnectionPool,
}

/// One server entry.
#[derive(Clone)]
pub struct Server {
    /// The key in `mcpServers`.
    pub name: String,
    /// How to reach it.
    pub kind: ServerKind,
    /// `disabled: true`: listed, never started.
    pub disabled: bool,
    /// `name` field, else the key.
    pub display_name: String,
    /// `description` field, else empty.
    pub description: String,
    /// The file the entry came from.
    pub config_source: String,
    /// What the hub hides from `/mcp` (mcphub.nvim's `disabled_tools`, … keys).
    pub hidden: Hidden,
    /// How the server's names appear on `/mcp` (`prefix`).
    pub prefix: Prefix,
    /// The entry exactly as written, unknown keys included (`autoApprove`, `disabled_tools`, …).
    pub raw: Map<String, Value>,
}

/// Which clients a stdio server's child process serves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Sharing {
    /// One child for every client (mcp-hub's way).
    #[default]
    Shared,
    /// Besides the shared child (which lists the server's capabilities), each client session
    /// gets a child of its own on its first call, stopped when the session ends: for servers
    /// that keep per-client state, or need the client's roots.
    PerSession {
        /// Most children of its own the server may have at once (`maxInstances`).
        max_instances: u32,
    },
}

/// The default `maxInstances` of a `per-session` server.
pub const DEFAULT_MAX_INSTANCES: u32 = 8;

/// How a server's tools, prompts, resources and templates are named on `/mcp`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Prefix {
    /// `<server id>__<name>` (mcp-hub's scheme; resource URIs too).
    #[default]
    Always,
    /// The upstream's own names, untouched (passthrough). A name another server already
    /// exposes keeps the prefix instead.
    Never,
}

impl Prefix {
    /// The value as written in the config.
    pub const fn as_str(self) -> &'static str {
        match self {
            Prefix::Always => "always",
            Prefix::Never => "never",
        }
    }
}

/// Capabilities an entry hides from clients of `/mcp`: mcphub.nvim's `disabled_tools`,
/// `disabled_prompts`, `disabled_resources` (URIs) and `disabled_resourceTemplates` (URI
/// templates). mcp-hub leaves these to the editor (its issue #142); this hub honours them itself.
/// `/api/servers` still lists everything, so an editor can offer to enable them again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hidden {
    /// Tool names.
    pub tools: Vec<String>,
    /// Prompt names.
    pub prompts: Vec<String>,
    /// Resource URIs.
    pub resources: Vec<String>,
    /// Resource template URI templates.
    pub resource_templates: Vec<String>,
}

/// How a server is reached, with values still unresolved (placeholders are resolved at start).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ServerKind {
    /// A child process speaking MCP on stdin/stdout.
    Stdio {
        /// Executable.
        command: String,
        /// Arguments.
        args: Vec<String>,
        /// Extra environment; `None` copies the variable of the same name from the hub's
        /// environment (mcp-hub's `null` / `""`).
        env: Vec<(String, Option<String>)>,
        /// Working directory.
        cwd: Option<String>,
        /// Dev mode: restart the server when its source files change.
        dev: Option<Dev>,
        /// One child for every client, or one per client session.
        sharing: Sharing,
    },
    /// A streamable-HTTP or legacy SSE server.
    Remote {
        /// Endpoint URL.
        url: String,
        /// Static request headers.
        headers: Vec<(String, String)>,
        /// Variables usable by `url` and `headers` placeholders (mcp-hub resolves a remote
        /// entry's `env` too); `None` copies the same-named variable from the hub's context.
        env: Vec<(String, Option<String>)>,
        /// Which transport to speak.
        transport: Transport,
        /// The effective connection pool: built-in defaults ← top-level `connectionPool` ←
        /// the entry's own.
        pool: ConnectionPool,
    },
    /// The entry has errors (listed in [`Config::problems`]); this is their summary.
    Invalid(String),
}

/// The transport of a remote server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transport {
    /// Streamable HTTP first, falling back to legacy SSE (the spec's backwards-compatible
    /// probing). The default, and what mcp-hub's `"type": "sse"` means (mcp-hub writes that type
    /// for every remote server, whatever it speaks).
    Auto,
    /// Streamable HTTP only (`"type": "http"` / `"streamable-http"`, or `"transport":
    /// "streamable-http"`).
    StreamableHttp,
    /// Legacy HTTP+SSE only (`"transport": "sse"`).
    Sse,
}

/// mcp-hub's `dev` field: restart a stdio server when files under `cwd` matching `watch` change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dev {
    /// `enabled`, default true (mcp-hub's normalizer meant that default but dropped it).
    pub enabled: bool,
    /// Glob patterns relative to `cwd`, matched on every change (mcp-hub expands them once).
    pub watch: Vec<String>,
    /// Absolute directory the patterns are relative to.
    pub cwd: String,
}

/// Patterns a `dev` entry watches when it names none (mcp-hub's intended default).
pub const DEV_DEFAULT_WATCH: [&str; 4] = ["**/*.js", "**/*.ts", "**/*.py", "**/*.json"];

// === impl Transport ===

impl Transport {
    /// How `/api/servers` and logs name it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Transport::Auto => "auto",
            Transport::StreamableHttp => "streamable-http",
            Transport::Sse => "sse",
        }
    }
}

// === impl Server ===

impl std::fmt::Debug for Server {
    // `raw` and env values may hold secrets: show names only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.kind {
            ServerKind::Stdio { command, .. } => format!("stdio {command:?}"),
            ServerKind::Remote { .. } => "remote".to_owned(),
            ServerKind::Invalid(e) => format!("invalid: {e}"),
        };
        f.debug_struct("Server")
            .field("name", &self.name)
            .field("kind", &kind)
            .field("disabled", &self.disabled)
            .field("config_source", &self.config_source)
            .finish_non_exhaustive()
    }
}

/// Parses and merges config files in order.
///
/// A file that cannot be parsed, or has no server map, fails the load: every such file is
/// reported at once. A broken server entry does not: it is kept as [`ServerKind::Invalid`] and
/// its problems are listed, so the other servers still start.
pub fn load(sources: &[Source]) -> Result<Config, Vec<FileError>> {
    let mut file_errors = Vec::new();
    let mut merged: Map<String, Value> = Map::new();
    let mut origin: Map<String, Value> = Map::new();
    let mut extra = Map::new();
    let mut settings_source = None;
    let mut pool_source = None;
    for src in sources {
        let mut top = match parse_file(src) {
            Ok(top) => top,
            Err(e) => {
                file_errors.push(e);
                continue;
            }
        };
        // VS Code's `.vscode/mcp.json` calls the map `servers`; it wins over `mcpServers` and is
        // also kept as an ordinary top-level key, as in mcp-hub.
        let present = |k: &str| top.get(k).filter(|v| !v.is_null());
        let servers = match present("servers").or_else(|| present("mcpServers")) {
            Some(Value::Object(m)) => m.clone(),
            Some(_) => {
                file_errors.push(file_error(src, "'mcpServers' must be an object"));
                continue;
            }
            None => {
                file_errors.push(file_error(
                    src,
                    "no 'mcpServers' (or VS Code 'servers') object; add \"mcpServers\": {}",
                ));
                continue;
            }
        };
        top.remove("mcpServers");
        if top.contains_key(settings::KEY) {
            settings_source = Some(src.path.as_str());
        }
        if top.contains_key(pool::KEY) {
            pool_source = Some(src.path.as_str());
        }
        for (name, entry) in servers {
            origin.insert(name.clone(), Value::String(src.path.clone()));
            merged.insert(name, entry);
        }
        extra.extend(top);
    }
    if !file_errors.is_empty() {
        return Err(file_errors);
    }
    let mut config = Config { extra, ..Config::default() };
    if let (Some(file), Some(value)) = (settings_source, config.extra.get(settings::KEY)) {
        let (settings, problems) = settings::parse(file, value);
        config.settings = settings;
        config.problems.extend(problems);
    }
    let mut global_pool = PoolBlock::default();
    if let (Some(file), Some(value)) = (pool_source, config.extra.get(pool::KEY)) {
        let (block, findings) = pool::parse(file, pool::KEY, value);
        global_pool = block;
        config.problems.extend(findings.problems);
        config.warnings.extend(findings.warnings);
    }
    config.connection_pool = pool::merge(&global_pool, &PoolBlock::default());
    for (name, entry) in merged {
        let source = match origin.get(&name) {
            Some(Value::String(s)) => s.clone(),
            _ => String::new(),
        };
        let (server, problems, warnings) = validate(&name, entry, source, &global_pool);
        config.problems.extend(problems);
        config.warnings.extend(warnings);
        config.servers.push(server);
    }
    for p in config.problems.iter_mut().chain(&mut config.warnings) {
        if let Some(src) = sources.iter().rev().find(|s| s.path == p.file) {
            p.position = crate::locate::locate(&src.text, &p.path);
        }
    }
    // In reading order: by file (as given), then by position.
    let file_index = |f: &str| sources.iter().position(|s| s.path == f);
    config.problems.sort_by_key(|p| (file_index(&p.file), p.position));
    config.warnings.sort_by_key(|p| (file_index(&p.file), p.position));
    Ok(config)
}

fn file_error(src: &Source, message: &str) -> FileError {
    FileError { file: src.path.clone(), position: None, message: message.to_owned() }
}

fn parse_file(src: &Source) -> Result<Map<String, Value>, FileError> {
    match json5::from_str::<Value>(&src.text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(file_error(src, "the top level must be an object")),
        Err(e) => Err(FileError {
            file: src.path.clone(),
            position: e.position().map(|p| (p.line + 1, p.column + 1)),
            message: format!("not valid JSON5: {e}"),
        }),
    }
}

/// Collects every problem of one entry; `path` helpers keep messages uniform.
struct Check<'a> {
    file: &'a str,
    name: &'a str,
    problems: Vec<ConfigError>,
    warnings: Vec<ConfigError>,
}

impl Check<'_> {
    fn error(&self, key: &str, message: impl Into<String>, hint: Option<&str>) -> ConfigError {
        let path = if key.is_empty() {
            format!("mcpServers.{}", self.name)
        } else {
            format!("mcpServers.{}.{key}", self.name)
        };
        let mut e = ConfigError::new(self.file, path, message);
        if let Some(h) = hint {
            e = e.hint(h);
        }
        e
    }

    fn err(&mut self, key: &str, message: impl Into<String>, hint: Option<&str>) {
        let e = self.error(key, message, hint);
        self.problems.push(e);
    }

    fn warn(&mut self, key: &str, message: impl Into<String>, hint: Option<&str>) {
        let e = self.error(key, message, hint);
        self.warnings.push(e);
    }

    fn string(&mut self, obj: &Map<String, Value>, key: &str) -> Option<String> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                self.err(key, format!("must be a string, found {}", type_name(other)), None);
                None
            }
        }
    }

    /// An array of strings; `numbers` also accepts numbers as their text (people write
    /// `"args": ["--port", 8080]`). `example` is the fix shown when the value is not an array.
    fn string_list(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        numbers: bool,
        example: &str,
    ) -> Vec<String> {
        match obj.get(key) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, v)| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) if numbers => Some(n.to_string()),
                    other => {
                        self.err(
                            &format!("{key}[{i}]"),
                            format!("must be a string, found {}", type_name(other)),
                            None,
                        );
                        None
                    }
                })
                .collect(),
            Some(other) => {
                self.err(
                    key,
                    format!("must be an array of strings, found {}", type_name(other)),
                    Some(&format!("write {example}")),
                );
                Vec::new()
            }
        }
    }

    fn string_map(&mut self, obj: &Map<String, Value>, key: &str) -> Vec<(String, Option<String>)> {
        match obj.get(key) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Object(m)) => m
                .iter()
                .filter_map(|(k, v)| match v {
                    Value::Null => Some((k.clone(), None)),
                    Value::String(s) if s.is_empty() => Some((k.clone(), None)),
                    Value::String(s) => Some((k.clone(), Some(s.clone()))),
                    // Editors and people write `"PORT": 3000`; the child sees the text.
                    Value::Number(n) => Some((k.clone(), Some(n.to_string()))),
                    Value::Bool(b) => Some((k.clone(), Some(b.to_string()))),
                    other => {
                        self.err(
                            &format!("{key}.{k}"),
                            format!("must be a string, found {}", type_name(other)),
                            None,
                        );
                        None
                    }
                })
                .collect(),
            Some(other) => {
                self.err(key, format!("must be an object, found {}", type_name(other)), None);
                Vec::new()
            }
        }
    }
}

/// Every server key the validator reads (the JSON Schema documents each; a test keeps the two in
/// step). Other keys are kept untouched in [`Server::raw`].
pub const SERVER_KEYS: [&str; 20] = [
    "command",
    "args",
    "env",
    "cwd",
    "url",
    "headers",
    "transport",
    "type",
    "disabled",
    "name",
    "description",
    "prefix",
    "sharing",
    "maxInstances",
    "dev",
    "connectionPool",
    "disabled_tools",
    "disabled_prompts",
    "disabled_resources",
    "disabled_resourceTemplates",
];

/// The fix shown for a `disabled_*` list that is not an array.
const LIST_EXAMPLE: &str = r#""disabled_tools": ["tool_name"]"#;

/// One entry → the server, its problems, its warnings.
fn validate(
    name: &str,
    entry: Value,
    config_source: String,
    global_pool: &PoolBlock,
) -> (Server, Vec<ConfigError>, Vec<ConfigError>) {
    let mut c = Check { file: &config_source, name, problems: Vec::new(), warnings: Vec::new() };
    let (raw, is_object) = match entry {
        Value::Object(m) => (m, true),
        other => {
            c.err("", format!("must be an object, found {}", type_name(&other)), None);
            (Map::new(), false)
        }
    };
    let disabled = match raw.get("disabled") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            c.err("disabled", format!("must be true or false, found {}", type_name(other)), None);
            false
        }
    };
    let display_name = c.string(&raw, "name").unwrap_or_else(|| name.to_owned());
    let hidden = Hidden {
        tools: c.string_list(&raw, "disabled_tools", false, LIST_EXAMPLE),
        prompts: c.string_list(&raw, "disabled_prompts", false, LIST_EXAMPLE),
        resources: c.string_list(&raw, "disabled_resources", false, LIST_EXAMPLE),
        resource_templates: c.string_list(&raw, "disabled_resourceTemplates", false, LIST_EXAMPLE),
    };
    let description = c.string(&raw, "description").unwrap_or_default();
    let prefix = match c.string(&raw, "prefix").as_deref() {
        None | Some("always") => Prefix::Always,
        Some("never") => Prefix::Never,
        Some(other) => {
            c.err(
                "prefix",
                format!("unknown prefix mode {other:?}"),
                Some(r#"write "prefix": "always" (<id>__<name>) or "prefix": "never" (names as the server gives them)"#),
            );
            Prefix::Always
        }
    };
    let has_command = raw.contains_key("command");
    let has_url = raw.contains_key("url");
    let declared = declared_type(&mut c, &raw);
    let kind = match (has_command, has_url) {
        (true, true) => {
            c.err(
                "",
                "cannot mix stdio (command) and remote (url) fields",
                Some("keep either \"command\" or \"url\""),
            );
            None
        }
        (false, false) if is_object => {
            c.err(
                "",
                "must include either command (for stdio) or url (for a remote server)",
                Some("add \"command\": \"<executable>\" or \"url\": \"https://…/mcp\""),
            );
            None
        }
        (false, false) => None,
        (true, false) => {
            if let Some((key, t)) = declared.filter(|(_, t)| *t != Declared::Stdio) {
                let message =
                    format!("says {:?} but the entry has a command (a stdio server)", t.as_str());
                contradiction(&mut c, key, message, "replace \"command\" with \"url\"");
            }
            let command = c.string(&raw, "command").unwrap_or_default();
            if command.trim().is_empty() && !c.problems.iter().any(|p| p.path.ends_with(".command"))
            {
                c.err("command", "must not be empty", None);
            }
            let args = c.string_list(&raw, "args", true, r#""args": ["--flag", "value"]"#);
            let env = c.string_map(&raw, "env");
            let cwd = c.string(&raw, "cwd");
            let dev = dev(&mut c, &raw);
            let sharing = sharing(&mut c, &raw);
            if raw.contains_key(pool::KEY) {
                c.err(
                    pool::KEY,
                    "connection pooling applies to remote (url) servers only",
                    Some("remove \"connectionPool\": a stdio server has no HTTP connections"),
                );
            }
            Some(ServerKind::Stdio { command, args, env, cwd, dev, sharing })
        }
        (false, true) => {
            let transport = match declared {
                Some((key, Declared::Stdio)) => {
                    let message = "says \"stdio\" but the entry has a url (a remote server)";
                    contradiction(
                        &mut c,
                        key,
                        message.to_owned(),
                        "replace \"url\" with \"command\"",
                    );
                    Transport::Auto
                }
                Some((_, Declared::Remote(t))) => t,
                None => Transport::Auto,
            };
            if raw.contains_key("dev") {
                c.err("dev", "dev mode applies to stdio servers only", Some("remove \"dev\""));
            }
            for key in ["sharing", "maxInstances"] {
                if raw.contains_key(key) {
                    c.err(
                        key,
                        "process sharing applies to stdio servers only",
                        Some(&format!("remove \"{key}\": a remote server has no child process")),
                    );
                }
            }
            let url = c.string(&raw, "url").unwrap_or_default();
            if url.trim().is_empty() && !c.problems.iter().any(|p| p.path.ends_with(".url")) {
                c.err(
                    "url",
                    "must not be empty",
                    Some("write the server's endpoint, e.g. \"https://…/mcp\""),
                );
            }
            let headers = c
                .string_map(&raw, "headers")
                .into_iter()
                .map(|(k, v)| (k, v.unwrap_or_default()))
                .collect();
            let env = c.string_map(&raw, "env");
            let pool = match raw.get(pool::KEY) {
                Some(value) => {
                    let prefix = format!("mcpServers.{name}.{}", pool::KEY);
                    let (block, findings) = pool::parse(c.file, &prefix, value);
                    c.problems.extend(findings.problems);
                    c.warnings.extend(findings.warnings);
                    pool::merge(global_pool, &block)
                }
                None => pool::merge(global_pool, &PoolBlock::default()),
            };
            Some(ServerKind::Remote { url, headers, env, transport, pool })
        }
    };
    let kind = match kind {
        Some(k) if c.problems.is_empty() => k,
        _ => ServerKind::Invalid(
            c.problems
                .iter()
                .map(|p| format!("{}: {}", p.path, p.message))
                .collect::<Vec<_>>()
                .join("; "),
        ),
    };
    let (problems, warnings) = (c.problems, c.warnings);
    let server = Server {
        name: name.to_owned(),
        kind,
        disabled,
        display_name,
        description,
        config_source,
        hidden,
        prefix,
        raw,
    };
    (server, problems, warnings)
}

/// What an entry's `transport` (or, failing that, `type`) declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Declared {
    Stdio,
    Remote(Transport),
}

impl Declared {
    const fn as_str(self) -> &'static str {
        match self {
            Declared::Stdio => "stdio",
            Declared::Remote(t) => t.as_str(),
        }
    }
}

/// Reads `transport`, then `type`. `type` keeps the meaning other tools give it: VS Code and
/// Claude Code write `"stdio"`, `"http"` and `"sse"`; mcp-hub writes `"sse"` for every remote
/// server. `"sse"` in `type` therefore means "remote, negotiate", which also reaches a real
/// legacy SSE server through the fallback; only `transport` forces one transport.
fn declared_type(c: &mut Check<'_>, raw: &Map<String, Value>) -> Option<(&'static str, Declared)> {
    const FIX: &str = r#"use "stdio", "streamable-http" or "sse""#;
    if raw.get("transport").is_some_and(|v| !v.is_null()) {
        let t = c.string(raw, "transport")?;
        return match t.as_str() {
            "stdio" => Some(("transport", Declared::Stdio)),
            "streamable-http" | "http" => {
                Some(("transport", Declared::Remote(Transport::StreamableHttp)))
            }
            "sse" => Some(("transport", Declared::Remote(Transport::Sse))),
            other => {
                c.err("transport", format!("unknown transport {other:?}"), Some(FIX));
                None
            }
        };
    }
    let t = c.string(raw, "type")?;
    match t.as_str() {
        "stdio" => Some(("type", Declared::Stdio)),
        "http" | "streamable-http" | "streamableHttp" => {
            Some(("type", Declared::Remote(Transport::StreamableHttp)))
        }
        "sse" => Some(("type", Declared::Remote(Transport::Auto))),
        other => {
            // mcp-hub ignores `type`; an entry it starts must start here too.
            c.warn(
                "type",
                format!("unknown type {other:?} is ignored; the entry's command or url decides"),
                Some(FIX),
            );
            None
        }
    }
}

/// A declared transport that contradicts the entry: an error for our own `transport` key, a
/// warning for `type`, which mcp-hub ignores (its configs must keep working).
fn contradiction(c: &mut Check<'_>, key: &str, message: String, fix: &str) {
    if key == "transport" {
        c.err(key, message, Some(&format!("remove it, or {fix}")));
    } else {
        c.warn(key, format!("{message}; ignored"), Some("remove it"));
    }
}

/// mcp-hub's `dev` object, with the defaults its normalizer meant to give.
/// `sharing` and `maxInstances` of a stdio entry.
fn sharing(c: &mut Check<'_>, raw: &Map<String, Value>) -> Sharing {
    const FIX: &str = r#"write "sharing": "shared" (one child for all clients) or "per-session""#;
    let per_session = match c.string(raw, "sharing").as_deref() {
        None | Some("shared") => false,
        Some("per-session") => true,
        Some(other) => {
            c.err("sharing", format!("unknown sharing policy {other:?}"), Some(FIX));
            false
        }
    };
    let max_instances = match raw.get("maxInstances") {
        None | Some(Value::Null) => DEFAULT_MAX_INSTANCES,
        Some(v) => {
            match v.as_u64().and_then(|n| u32::try_from(n).ok()).filter(|n| (1..=1000).contains(n))
            {
                Some(n) => n,
                None => {
                    c.err(
                        "maxInstances",
                        format!("must be a whole number from 1 to 1000, found {v}"),
                        None,
                    );
                    DEFAULT_MAX_INSTANCES
                }
            }
        }
    };
    if !per_session && raw.get("maxInstances").is_some_and(|v| !v.is_null()) {
        c.warn("maxInstances", "has no effect unless \"sharing\" is \"per-session\"", None);
    }
    if per_session { Sharing::PerSession { max_instances } } else { Sharing::Shared }
}

fn dev(c: &mut Check<'_>, raw: &Map<String, Value>) -> Option<Dev> {
    let obj = match raw.get("dev") {
        None | Some(Value::Null) => return None,
        Some(Value::Object(m)) => m,
        Some(other) => {
            c.err(
                "dev",
                format!("must be an object, found {}", type_name(other)),
                Some(r#"write "dev": { "cwd": "/abs/path/to/server", "watch": ["src/**/*.ts"] }"#),
            );
            return None;
        }
    };
    let enabled = match obj.get("enabled") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            c.err(
                "dev.enabled",
                format!("must be true or false, found {}", type_name(other)),
                None,
            );
            true
        }
    };
    let mut watch = c.string_list(obj, "watch", false, r#""watch": ["src/**/*.ts"]"#);
    // `string_list` reports paths relative to the entry; the list lives under `dev`.
    for p in c.problems.iter_mut().filter(|p| p.path.contains(".watch")) {
        if !p.path.contains(".dev.watch") {
            p.path = p.path.replacen(".watch", ".dev.watch", 1);
        }
    }
    if watch.is_empty() && obj.get("watch").is_none_or(Value::is_null) {
        watch = DEV_DEFAULT_WATCH.map(str::to_owned).to_vec();
    }
    let cwd = match obj.get("cwd") {
        Some(Value::String(s)) if std::path::Path::new(s).is_absolute() => s.clone(),
        Some(Value::String(s)) => {
            c.err(
                "dev.cwd",
                format!("must be an absolute path, found {s:?}"),
                Some("write the full path of the server's source directory"),
            );
            return None;
        }
        Some(other) => {
            c.err("dev.cwd", format!("must be a string, found {}", type_name(other)), None);
            return None;
        }
        None => {
            c.err(
                "dev.cwd",
                "is required: the directory the watch patterns are relative to",
                Some(r#"add "cwd": "/abs/path/to/server""#),
            );
            return None;
        }
    };
    Some(Dev { enabled, watch, cwd })
}

#[cfg(test)]
mod tests;
