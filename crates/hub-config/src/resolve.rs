//! Turning a server entry into what to start: placeholders resolved, the child's complete
//! environment assembled the way mcp-hub assembles it.
//!
//! # The placeholder language
//!
//! mcp-hub's (`reference/mcp-hub.md` §2.5), resolved in `command`, `args`, `env`, `cwd` of stdio
//! entries and `url`, `headers` (and `env`) of remote entries:
//!
//! | Form | Value |
//! |---|---|
//! | `${VAR}`, `${env:VAR}` | the variable `VAR` |
//! | `${input:ID}` | the variable named `input:ID` (normally supplied through `MCP_HUB_ENV`) |
//! | `${cmd: <shell command>}` | the command's trimmed stdout, run by a [`CommandRunner`] |
//! | `${workspaceFolder}`, `${cwd}` | the hub's working directory ([`Resolver::with_cwd`]) |
//! | `${workspaceFolderBasename}` | its last component |
//! | `${userHome}` | `HOME` from the [`EnvSource`] |
//! | `${pathSeparator}`, `${/}` | `/` |
//! | env value `null` / `""` | the same-named variable from the hub's context |
//! | `$VAR` as a whole argument (args only) | `VAR`, with a deprecation warning |
//! | `${VAR:-default}` *(extension, vector)* | `VAR` if set and non-empty, else `default` (expanded only when used) |
//! | `${VAR:?message}` *(extension, vector)* | `VAR` if set and non-empty, else the error `message` |
//!
//! Placeholders nest (`${cmd: echo ${TOKEN}}`, `${${NAME_OF_VAR}}`): braces are counted and the
//! inner text is resolved first, at most [`MAX_DEPTH`] levels deep. An unmatched `${` is kept as
//! text. A resolved value is never expanded again, and a *computed* name never becomes a command
//! (`${${X}}` with `X = "cmd: …"` looks up a variable of that name; mcp-hub would run it).
//!
//! Lookup precedence, later wins: predefined variables → the hub's environment → `MCP_HUB_ENV`
//! → the entry's own `env`. Unlike mcp-hub (§14.2 item 7), an `env` value may reference other
//! keys of the same block, in any order; they are resolved in dependency order and a cycle is an
//! error naming it (`mcpServers.x.env: cycle A -> B -> A`). A value referencing its *own* name
//! means the hub's value of it (`PATH: "${PATH}:/extra"`).
//!
//! Values of `command`, `args`, `cwd`, `url` and header names and values must not contain line
//! breaks (injection); env values may (PEM keys), env names may not. A remote `url` is checked
//! *after* resolution (mcp-hub checked the raw text, so `${BASE}/mcp` failed: §14.2 item 8).
//!
//! Every problem is reported, each with its file and key path; error messages, warnings and
//! `Debug` output name variables, never their values. Nothing is cached: each resolution looks
//! everything up again and runs every `${cmd:}` again, so a rotated secret is picked up at the
//! next connect.

mod engine;
mod url;

use serde_json::Value;

use self::engine::Engine;
pub use self::engine::MAX_DEPTH;
use crate::{
    env::{EnvSource, MCP_HUB_ENV},
    error::ConfigError,
    load::{Server, ServerKind},
};

/// Runs the shell command of a `${cmd: …}` placeholder; the value is its stdout (trimmed by the
/// resolver).
///
/// The trait is synchronous so that this crate stays pure and free of a runtime. Enforcing a
/// timeout and an output limit is the runner's job; `Err` carries what to report (exit status,
/// an excerpt of stderr), never the output. `hub-core` supplies the real runner (through
/// `hub-transport`, the only crate that spawns processes).
pub trait CommandRunner {
    /// Runs `command` (already expanded) through the shell; `Ok` is its stdout.
    fn run(&self, command: &str) -> Result<String, String>;
}

/// Everything resolution draws on: the hub's environment, the command runner, the hub's working
/// directory and the variables every stdio child inherits. Built with [`Resolver::new`] and the
/// `with_*` methods; it reads nothing itself.
///
/// Without a runner (validation only, e.g. `mcp-hub check`), a `${cmd: …}` placeholder is not
/// run: its inner placeholders are still checked, a warning says it was not run, and the value
/// keeps the placeholder text.
#[derive(Clone, Copy)]
pub struct Resolver<'a> {
    env: &'a dyn EnvSource,
    runner: Option<&'a dyn CommandRunner>,
    cwd: Option<&'a str>,
    inherited: &'a [&'a str],
}

impl std::fmt::Debug for Resolver<'_> {
    // The environment holds secrets: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver")
            .field("runner", &self.runner.is_some())
            .field("cwd", &self.cwd)
            .field("inherited", &self.inherited)
            .finish_non_exhaustive()
    }
}

/// A remote server ready to connect to.
#[derive(Clone, PartialEq, Eq)]
pub struct ResolvedRemote {
    /// Endpoint URL (http or https, with a host).
    pub url: String,
    /// Request headers.
    pub headers: Vec<(String, String)>,
    /// Non-fatal notices, each naming the file and key path.
    pub warnings: Vec<String>,
}

impl std::fmt::Debug for ResolvedRemote {
    // URLs and header values may carry secrets: show header names only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolvedRemote")
            .field("headers", &self.headers.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>())
            .field("warnings", &self.warnings)
            .finish_non_exhaustive()
    }
}

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
    /// Non-fatal notices (e.g. an `MCP_HUB_ENV` that is not a JSON object, a deprecated `$VAR`),
    /// each naming the file and key path.
    pub warnings: Vec<String>,
}

impl std::fmt::Debug for ResolvedStdio {
    // Env values and args may carry secrets; show env names only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolvedStdio")
            .field("command", &self.command)
            .field("args", &self.args.len())
            .field("env", &self.env.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>())
            .field("cwd", &self.cwd.is_some())
            .field("warnings", &self.warnings)
            .finish_non_exhaustive()
    }
}

// === impl Resolver ===

impl<'a> Resolver<'a> {
    /// Resolution against `env`, with no command runner, no working directory and no inherited
    /// variables.
    pub fn new(env: &'a dyn EnvSource) -> Self {
        Resolver { env, runner: None, cwd: None, inherited: &[] }
    }

    /// Runs `${cmd: …}` placeholders with `runner`.
    #[must_use]
    pub fn with_runner(mut self, runner: &'a dyn CommandRunner) -> Self {
        self.runner = Some(runner);
        self
    }

    /// The hub's working directory, for `${workspaceFolder}`, `${cwd}` and
    /// `${workspaceFolderBasename}` (undefined without it).
    #[must_use]
    pub fn with_cwd(mut self, cwd: &'a str) -> Self {
        self.cwd = Some(cwd);
        self
    }

    /// The variables copied from `env` into every stdio child (mcp-hub: HOME, LOGNAME, PATH,
    /// SHELL, TERM, USER).
    #[must_use]
    pub fn with_inherited(mut self, names: &'a [&'a str]) -> Self {
        self.inherited = names;
        self
    }

    fn engine<'s>(
        &'s self,
        server: &'s Server,
        block: &'s [(String, Option<String>)],
    ) -> Engine<'s> {
        let mut warnings = Vec::new();
        let hub_env = parse_hub_env(self.env, &mut warnings);
        let engine = Engine::new(
            self.env,
            self.runner,
            self.cwd,
            &server.config_source,
            &server.name,
            hub_env,
            block,
            warnings,
        );
        for (name, _) in block {
            if name.is_empty() || name.contains(['\n', '\r', '=', '\0']) {
                engine.error(
                    "env",
                    "a variable name is empty or contains a line break, '=' or NUL, which is refused",
                    None,
                );
            }
        }
        engine
    }

    /// Resolves a stdio entry: `env` (siblings in dependency order), then `command`, `args` and
    /// `cwd` with the resolved `env` in context. Every problem is reported.
    pub fn stdio(&self, server: &Server) -> Result<ResolvedStdio, Vec<ConfigError>> {
        let ServerKind::Stdio { command, args, env, cwd, .. } = &server.kind else {
            return Err(vec![not_kind(server, "not a stdio server")]);
        };
        let engine = self.engine(server, env);
        let server_env = engine.env_block();
        let command = engine.field("command", command).unwrap_or_default();
        let args: Vec<String> = args
            .iter()
            .enumerate()
            .filter_map(|(i, a)| engine.arg(&format!("args[{i}]"), a))
            .collect();
        let cwd = cwd.as_deref().and_then(|c| engine.field("cwd", c));
        let errors = engine.errors.take();
        if !errors.is_empty() {
            return Err(errors);
        }

        let mut child_env: Vec<(String, String)> = Vec::new();
        let mut set = |k: String, v: String| {
            child_env.retain(|(existing, _)| *existing != k);
            child_env.push((k, v));
        };
        for name in self.inherited {
            // Values starting with `()` are exported shell functions; mcp-hub's SDK skips them.
            if let Some(v) = self.env.get(name).filter(|v| !v.starts_with("()")) {
                set((*name).to_owned(), v);
            }
        }
        for (k, v) in &engine.hub_env {
            set(k.clone(), v.clone());
        }
        for (k, v) in server_env {
            set(k, v);
        }
        Ok(ResolvedStdio { command, args, env: child_env, cwd, warnings: engine.warnings.take() })
    }

    /// Resolves a remote entry: its `env` (if any, as context only), then `url` and `headers`.
    /// The URL is checked after resolution: http or https, with a host.
    pub fn remote(&self, server: &Server) -> Result<ResolvedRemote, Vec<ConfigError>> {
        let ServerKind::Remote { url, headers, env, .. } = &server.kind else {
            return Err(vec![not_kind(server, "not a remote (url) server")]);
        };
        let engine = self.engine(server, env);
        engine.env_block();
        let url = engine.field("url", url);
        if let Some(Err(why)) = url.as_deref().map(url::check) {
            engine.error(
                "url",
                format!("resolves to {why}"),
                Some(
                    "write an http or https URL with a host, e.g. \"https://example.com/mcp\""
                        .to_owned(),
                ),
            );
        }
        let headers: Vec<(String, String)> = headers
            .iter()
            .filter_map(|(name, value)| {
                let key = format!("headers.{name}");
                if name.is_empty() || name.contains(['\n', '\r', ':', '\0']) {
                    engine.error(
                        "headers",
                        "a header name is empty or contains a line break or ':', which is refused",
                        None,
                    );
                    return None;
                }
                engine.field(&key, value).map(|v| (name.clone(), v))
            })
            .collect();
        let errors = engine.errors.take();
        match url {
            Some(url) if errors.is_empty() => {
                Ok(ResolvedRemote { url, headers, warnings: engine.warnings.take() })
            }
            _ => Err(errors),
        }
    }
}

fn not_kind(server: &Server, message: &str) -> ConfigError {
    ConfigError::new(&server.config_source, format!("mcpServers.{}", server.name), message)
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

/// Resolves a stdio entry against `source` without a command runner (a `${cmd: …}` keeps its
/// placeholder text, with a warning) and without a working directory. `inherited` names the
/// variables copied from the hub's environment into every child. Same as
/// `Resolver::new(source).with_inherited(inherited).stdio(server)`.
pub fn resolve_stdio(
    server: &Server,
    source: &dyn EnvSource,
    inherited: &[&str],
) -> Result<ResolvedStdio, Vec<ConfigError>> {
    Resolver::new(source).with_inherited(inherited).stdio(server)
}

/// Resolves a remote entry with `ctx`: see [`Resolver::remote`].
pub fn resolve_remote(
    server: &Server,
    ctx: &Resolver<'_>,
) -> Result<ResolvedRemote, Vec<ConfigError>> {
    ctx.remote(server)
}

#[cfg(test)]
mod tests;
