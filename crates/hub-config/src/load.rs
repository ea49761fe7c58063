//! Reading and merging config files: mcp-hub's `mcpServers` (or VS Code `servers`), later files
//! replacing whole server entries, then validating each entry on its own.

use serde_json::{Map, Value};

use crate::error::{ConfigError, FileError};

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
    /// The entry exactly as written, unknown keys included (`autoApprove`, `disabled_tools`, …).
    pub raw: Map<String, Value>,
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
    },
    /// The entry has errors (listed in [`Config::problems`]); this is their summary.
    Invalid(String),
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
        let servers = match top.get("servers").or_else(|| top.get("mcpServers")) {
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
    for (name, entry) in merged {
        let source = match origin.get(&name) {
            Some(Value::String(s)) => s.clone(),
            _ => String::new(),
        };
        let (server, problems) = validate(&name, entry, source);
        config.servers.push(server);
        config.problems.extend(problems);
    }
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
}

impl Check<'_> {
    fn err(&mut self, key: &str, message: impl Into<String>, hint: Option<&str>) {
        let path = if key.is_empty() {
            format!("mcpServers.{}", self.name)
        } else {
            format!("mcpServers.{}.{key}", self.name)
        };
        let mut e = ConfigError::new(self.file, path, message);
        if let Some(h) = hint {
            e = e.hint(h);
        }
        self.problems.push(e);
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

/// The fix shown for a `disabled_*` list that is not an array.
const LIST_EXAMPLE: &str = r#""disabled_tools": ["tool_name"]"#;

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn validate(name: &str, entry: Value, config_source: String) -> (Server, Vec<ConfigError>) {
    let mut c = Check { file: &config_source, name, problems: Vec::new() };
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
    let has_command = raw.contains_key("command");
    let has_url = raw.contains_key("url");
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
            let command = c.string(&raw, "command").unwrap_or_default();
            if command.trim().is_empty() && !c.problems.iter().any(|p| p.path.ends_with(".command"))
            {
                c.err("command", "must not be empty", None);
            }
            let args = c.string_list(&raw, "args", true, r#""args": ["--flag", "value"]"#);
            let env = c.string_map(&raw, "env");
            let cwd = c.string(&raw, "cwd");
            Some(ServerKind::Stdio { command, args, env, cwd })
        }
        (false, true) => {
            let url = c.string(&raw, "url").unwrap_or_default();
            let headers = c
                .string_map(&raw, "headers")
                .into_iter()
                .map(|(k, v)| (k, v.unwrap_or_default()))
                .collect();
            let env = c.string_map(&raw, "env");
            Some(ServerKind::Remote { url, headers, env })
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
    let problems = c.problems;
    let server = Server {
        name: name.to_owned(),
        kind,
        disabled,
        display_name,
        description,
        config_source,
        hidden,
        raw,
    };
    (server, problems)
}

#[cfg(test)]
mod tests;
