//! Turning a stdio server entry into what to spawn: placeholders resolved, the child's complete
//! environment assembled the way mcp-hub assembles it.

use serde_json::Value;

use crate::{
    env::{EnvSource, MCP_HUB_ENV},
    error::ConfigError,
    load::{Server, ServerKind},
};

/// A stdio server ready to spawn.
#[derive(Clone, PartialEq, Eq)]
pub struct ResolvedStdio {
    /// Executable.
    pub command: String,
    /// Arguments.
    pub args: Vec<String>,
    /// The child's complete environment: the inherited allowlist, then every `MCP_HUB_ENV` key,
    /// then the server's own `env` (later wins).
    pub env: Vec<(String, String)>,
    /// Working directory.
    pub cwd: Option<String>,
    /// Non-fatal notices (e.g. an `MCP_HUB_ENV` that is not a JSON object).
    pub warnings: Vec<String>,
}

impl std::fmt::Debug for ResolvedStdio {
    // Env values and args may carry secrets; show env names only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolvedStdio")
            .field("command", &self.command)
            .field("args", &self.args.len())
            .field("env", &self.env.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>())
            .field("cwd", &self.cwd)
            .finish_non_exhaustive()
    }
}

/// Variable lookup in mcp-hub's precedence: the server's resolved `env` (not while resolving
/// `env` itself), then `MCP_HUB_ENV`, then the hub's environment.
struct Context<'a> {
    source: &'a dyn EnvSource,
    hub_env: Vec<(String, String)>,
    server_env: Vec<(String, String)>,
}

impl Context<'_> {
    fn lookup(&self, key: &str) -> Option<String> {
        let find = |pairs: &[(String, String)]| {
            pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.clone())
        };
        find(&self.server_env).or_else(|| find(&self.hub_env)).or_else(|| self.source.get(key))
    }

    /// Resolves every `${…}` in `text`; `Err` carries the message for the caller to attach a path.
    fn resolve(&self, text: &str) -> Result<String, String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = matching_brace(after) else {
                // An unmatched `${` is plain text, as in mcp-hub.
                out.push_str(&rest[start..]);
                return Ok(out);
            };
            let inner = after[..end].trim();
            out.push_str(&self.placeholder(inner)?);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn placeholder(&self, inner: &str) -> Result<String, String> {
        if inner.contains("${") {
            return Err(format!("nested placeholder '${{{inner}}}' is not supported yet"));
        }
        if inner.starts_with("cmd:") {
            return Err("'${cmd: …}' placeholders are not supported yet".to_owned());
        }
        match inner {
            "pathSeparator" | "/" => return Ok("/".to_owned()),
            "userHome" => {
                return self
                    .source
                    .get("HOME")
                    .ok_or_else(|| "variable 'HOME' not found".to_owned());
            }
            _ => {}
        }
        let key = inner.strip_prefix("env:").unwrap_or(inner);
        self.lookup(key).ok_or_else(|| format!("variable '{key}' not found"))
    }
}

/// Index of the `}` closing a placeholder whose `${` was just consumed, counting nested `${`.
fn matching_brace(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

fn parse_hub_env(source: &dyn EnvSource, warnings: &mut Vec<String>) -> Vec<(String, String)> {
    let Some(text) = source.get(MCP_HUB_ENV) else { return Vec::new() };
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(m)) => m
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(s) => (k, s),
                other => (k, other.to_string()),
            })
            .collect(),
        _ => {
            warnings.push(format!("{MCP_HUB_ENV} is not a JSON object; ignored"));
            Vec::new()
        }
    }
}

/// Resolves a stdio entry against `source`. `inherited` names the variables copied from the
/// hub's environment into every child (mcp-hub: HOME, LOGNAME, PATH, SHELL, TERM, USER).
///
/// Every problem is reported, each with its key path.
pub fn resolve_stdio(
    server: &Server,
    source: &dyn EnvSource,
    inherited: &[&str],
) -> Result<ResolvedStdio, Vec<ConfigError>> {
    let ServerKind::Stdio { command, args, env, cwd } = &server.kind else {
        return Err(vec![ConfigError::new(
            &server.config_source,
            format!("mcpServers.{}", server.name),
            "not a stdio server",
        )]);
    };
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let err = |errors: &mut Vec<ConfigError>, key: &str, message: String| {
        errors.push(ConfigError::new(
            &server.config_source,
            format!("mcpServers.{}.{key}", server.name),
            message,
        ));
    };
    let mut ctx =
        Context { source, hub_env: parse_hub_env(source, &mut warnings), server_env: Vec::new() };

    // `env` first, each value against the hub's context only (mcp-hub's order).
    let mut server_env = Vec::with_capacity(env.len());
    for (key, value) in env {
        let resolved = match value {
            // `null` / "" copy the variable of the same name from the hub's context.
            None => ctx.lookup(key).ok_or_else(|| format!("variable '{key}' not found")),
            Some(v) => ctx.resolve(v),
        };
        match resolved {
            Ok(v) => server_env.push((key.clone(), v)),
            Err(e) => err(&mut errors, &format!("env.{key}"), e),
        }
    }
    ctx.server_env = server_env;

    let one = |key: &str, text: &str, errors: &mut Vec<ConfigError>| match ctx.resolve(text) {
        Ok(v) if v.contains(['\n', '\r']) => {
            err(
                errors,
                key,
                "resolves to a value containing a line break, which is refused".to_owned(),
            );
            None
        }
        Ok(v) => Some(v),
        Err(e) => {
            err(errors, key, e);
            None
        }
    };
    let command = one("command", command, &mut errors).unwrap_or_default();
    let args: Vec<String> = args
        .iter()
        .enumerate()
        .filter_map(|(i, a)| one(&format!("args[{i}]"), a, &mut errors))
        .collect();
    let cwd = cwd.as_deref().and_then(|c| one("cwd", c, &mut errors));
    if !errors.is_empty() {
        return Err(errors);
    }

    let mut child_env: Vec<(String, String)> = Vec::new();
    let mut set = |k: String, v: String| {
        child_env.retain(|(existing, _)| *existing != k);
        child_env.push((k, v));
    };
    for name in inherited {
        // Values starting with `()` are exported shell functions; mcp-hub's SDK skips them.
        if let Some(v) = source.get(name).filter(|v| !v.starts_with("()")) {
            set((*name).to_owned(), v);
        }
    }
    for (k, v) in ctx.hub_env {
        set(k, v);
    }
    for (k, v) in ctx.server_env {
        set(k, v);
    }
    Ok(ResolvedStdio { command, args, env: child_env, cwd, warnings })
}

#[cfg(test)]
mod tests;
