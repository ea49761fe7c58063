//! The placeholder engine: one server entry's `env` block plus the hub's context, expanding
//! `${…}` forms with brace counting, inner placeholders first.
//!
//! Lookups, first match wins (mcp-hub's "later wins" read backwards): the entry's own `env` block
//! (resolved lazily, in dependency order, with cycle detection), then `MCP_HUB_ENV`, then the
//! hub's environment, then the predefined variables. While an `env` value is being resolved, a
//! reference to its *own* name skips the block and means the hub's value (`PATH: "${PATH}:/x"`).

use std::{cell::RefCell, collections::HashMap};

use super::CommandRunner;
use crate::{env::EnvSource, error::ConfigError};

/// How deep placeholders may nest (`${${${…}}}`); mcp-hub's `maxPasses`.
pub const MAX_DEPTH: usize = 10;

/// Why a value could not be resolved.
pub(super) enum Fail {
    /// A problem to report at the current key path.
    Error { message: String, hint: Option<String> },
    /// Already reported elsewhere (a failed or cyclic sibling `env` key); adds nothing.
    Reported,
}

impl Fail {
    fn new(message: String) -> Self {
        Fail::Error { message, hint: None }
    }

    fn hinted(message: String, hint: impl Into<String>) -> Self {
        Fail::Error { message, hint: Some(hint.into()) }
    }
}

/// Resolution state of one key of the `env` block.
enum Slot {
    /// Being resolved (on the stack): meeting it again is a cycle.
    Active,
    Done(String),
    Failed,
}

pub(super) struct Engine<'a> {
    pub(super) env: &'a dyn EnvSource,
    pub(super) runner: Option<&'a dyn CommandRunner>,
    pub(super) cwd: Option<&'a str>,
    pub(super) file: &'a str,
    /// `mcpServers.<name>`.
    pub(super) prefix: String,
    /// `MCP_HUB_ENV`'s keys, in order.
    pub(super) hub_env: Vec<(String, String)>,
    /// The entry's `env` block as written (`None`: copy from the hub's context).
    pub(super) block: &'a [(String, Option<String>)],
    slots: RefCell<HashMap<String, Slot>>,
    stack: RefCell<Vec<String>>,
    pub(super) errors: RefCell<Vec<ConfigError>>,
    pub(super) warnings: RefCell<Vec<String>>,
}

impl<'a> Engine<'a> {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        env: &'a dyn EnvSource,
        runner: Option<&'a dyn CommandRunner>,
        cwd: Option<&'a str>,
        file: &'a str,
        name: &str,
        hub_env: Vec<(String, String)>,
        block: &'a [(String, Option<String>)],
        warnings: Vec<String>,
    ) -> Self {
        Engine {
            env,
            runner,
            cwd,
            file,
            prefix: format!("mcpServers.{name}"),
            hub_env,
            block,
            slots: RefCell::default(),
            stack: RefCell::default(),
            errors: RefCell::default(),
            warnings: RefCell::new(warnings),
        }
    }

    pub(super) fn error(&self, key: &str, message: impl Into<String>, hint: Option<String>) {
        let mut e = ConfigError::new(self.file, self.path(key), message);
        e.hint = hint;
        self.errors.borrow_mut().push(e);
    }

    fn path(&self, key: &str) -> String {
        if key.is_empty() { self.prefix.clone() } else { format!("{}.{key}", self.prefix) }
    }

    fn warn(&self, key: &str, message: &str) {
        let line = format!("{}: {}: {message}", self.file, self.path(key));
        self.warnings.borrow_mut().push(line);
    }

    fn report(&self, key: &str, fails: Vec<Fail>) {
        for f in fails {
            if let Fail::Error { message, hint } = f {
                self.error(key, message, hint);
            }
        }
    }

    /// Resolves every key of the `env` block (each at most once), in block order.
    pub(super) fn env_block(&self) -> Vec<(String, String)> {
        self.block
            .iter()
            .filter_map(|(k, _)| self.env_key(k).ok().map(|v| (k.clone(), v)))
            .collect()
    }

    /// The resolved value of `key` of the `env` block, resolving what it references first.
    fn env_key(&self, key: &str) -> Result<String, ()> {
        match self.slots.borrow().get(key) {
            Some(Slot::Done(v)) => return Ok(v.clone()),
            Some(Slot::Failed) => return Err(()),
            Some(Slot::Active) => {
                let stack = self.stack.borrow();
                let from = stack.iter().position(|k| k == key).unwrap_or(0);
                let mut cycle: Vec<&str> = stack[from..].iter().map(String::as_str).collect();
                cycle.push(key);
                self.error(
                    "env",
                    format!("cycle {}", cycle.join(" -> ")),
                    Some("an env value may reference other keys of the same env block, but not in a circle".to_owned()),
                );
                return Err(());
            }
            None => {}
        }
        self.slots.borrow_mut().insert(key.to_owned(), Slot::Active);
        self.stack.borrow_mut().push(key.to_owned());
        let raw = self.block.iter().find(|(k, _)| k == key).and_then(|(_, v)| v.as_deref());
        let loc = format!("env.{key}");
        let result = match raw {
            // `null` / "": copy the same-named variable from the hub's context.
            None => self.hub_lookup(key).ok_or_else(|| vec![missing(key)]),
            Some(text) => self.expand(text, Some(key), 0, &loc),
        };
        self.stack.borrow_mut().pop();
        match result {
            Ok(v) => {
                self.slots.borrow_mut().insert(key.to_owned(), Slot::Done(v.clone()));
                Ok(v)
            }
            Err(fails) => {
                self.report(&loc, fails);
                self.slots.borrow_mut().insert(key.to_owned(), Slot::Failed);
                Err(())
            }
        }
    }

    /// A value from the hub's context: `MCP_HUB_ENV`, the hub's environment, predefined.
    fn hub_lookup(&self, name: &str) -> Option<String> {
        if let Some((_, v)) = self.hub_env.iter().rev().find(|(k, _)| k == name) {
            return Some(v.clone());
        }
        if let Some(v) = self.env.get(name) {
            return Some(v);
        }
        match name {
            "workspaceFolder" | "cwd" => self.cwd.map(str::to_owned),
            "workspaceFolderBasename" => self
                .cwd
                .map(|c| c.trim_end_matches('/').rsplit('/').next().unwrap_or_default().to_owned()),
            "userHome" => self.env.get("HOME"),
            "pathSeparator" | "/" => Some("/".to_owned()),
            _ => None,
        }
    }

    /// `name` as seen from the value of env key `own` (or from another field if `None`).
    fn lookup(&self, name: &str, own: Option<&str>) -> Result<Option<String>, Fail> {
        if own != Some(name) && self.block.iter().any(|(k, _)| k == name) {
            return self.env_key(name).map(Some).map_err(|()| Fail::Reported);
        }
        Ok(self.hub_lookup(name))
    }

    /// Resolves one field value; reports problems at `key`. `None` if it failed.
    pub(super) fn field(&self, key: &str, text: &str) -> Option<String> {
        match self.expand(text, None, 0, key) {
            Ok(v) => self.single_line(key, v),
            Err(fails) => {
                self.report(key, fails);
                None
            }
        }
    }

    /// `value`, unless it contains a line break (reported at `key`).
    pub(super) fn single_line(&self, key: &str, value: String) -> Option<String> {
        if value.contains(['\n', '\r']) {
            self.error(
                    key,
                    "resolves to a value containing a line break, which is refused",
                Some("a line break here could inject arguments or headers; only env values may span lines".to_owned()),
            );
            return None;
        }
        Some(value)
    }

    /// One argument: a whole-argument legacy `$VAR` is looked up (deprecated), anything else is
    /// an ordinary field.
    pub(super) fn arg(&self, key: &str, text: &str) -> Option<String> {
        let Some(name) = legacy_name(text) else { return self.field(key, text) };
        match self.lookup(name, None) {
            Ok(Some(v)) => {
                self.warn(key, &format!("'${name}' is deprecated; write '${{{name}}}'"));
                self.single_line(key, v)
            }
            Ok(None) => {
                let Fail::Error { message, hint } = missing(name) else { return None };
                self.error(key, message, hint);
                None
            }
            Err(f) => {
                self.report(key, vec![f]);
                None
            }
        }
    }

    /// Expands every top-level `${…}` of `text`; collects every failure, not the first.
    fn expand(
        &self,
        text: &str,
        own: Option<&str>,
        depth: usize,
        loc: &str,
    ) -> Result<String, Vec<Fail>> {
        let mut out = String::with_capacity(text.len());
        let mut fails = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = matching_brace(after) else {
                // An unmatched `${` is plain text, as in mcp-hub.
                out.push_str(&rest[start..]);
                rest = "";
                break;
            };
            match self.placeholder(&after[..end], own, depth + 1, loc) {
                Ok(v) => out.push_str(&v),
                Err(f) => fails.extend(f),
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        if fails.is_empty() { Ok(out) } else { Err(fails) }
    }

    /// The value of one placeholder, `inner` being the text between `${` and its `}`.
    fn placeholder(
        &self,
        inner: &str,
        own: Option<&str>,
        depth: usize,
        loc: &str,
    ) -> Result<String, Vec<Fail>> {
        if depth > MAX_DEPTH {
            return Err(vec![Fail::hinted(
                format!("placeholders nest deeper than {MAX_DEPTH} levels"),
                "possible circular reference; flatten the placeholders",
            )]);
        }
        let t = inner.trim();
        if let Some(command) = t.strip_prefix("cmd:") {
            return self.command(command.trim(), own, depth, loc);
        }
        if let Some((written, op, rest)) = split_operator(t) {
            let name = self.expand(written.trim(), own, depth, loc)?;
            let name = name.strip_prefix("env:").unwrap_or(&name);
            match self.lookup(name, own) {
                Ok(Some(v)) if !v.is_empty() => return Ok(v),
                Ok(_) => {}
                Err(f) => return Err(vec![f]),
            }
            return if op == '-' {
                self.expand(rest, own, depth, loc)
            } else {
                let shown = shown_name(written.trim(), name);
                Err(vec![Fail::new(format!("variable {shown} is required: {}", rest.trim()))])
            };
        }
        let name = self.expand(t, own, depth, loc)?;
        let name = name.strip_prefix("env:").unwrap_or(&name);
        match self.lookup(name, own) {
            Ok(Some(v)) => Ok(v),
            Ok(None) if t.contains("${") => Err(vec![Fail::hinted(
                format!("variable {} not found", shown_name(t, name)),
                "set it in the hub's environment, in MCP_HUB_ENV, or in the server's env",
            )]),
            Ok(None) => Err(vec![missing(name)]),
            Err(f) => Err(vec![f]),
        }
    }

    /// `${cmd: …}`: the command text is expanded first, then run by the runner; the value is
    /// its trimmed stdout. Errors name the command as written (before expansion), so values of
    /// variables it uses never show.
    fn command(
        &self,
        written: &str,
        own: Option<&str>,
        depth: usize,
        loc: &str,
    ) -> Result<String, Vec<Fail>> {
        let command = self.expand(written, own, depth, loc)?;
        let Some(runner) = self.runner else {
            self.warn(
                loc,
                &format!(
                    "'${{cmd: {written}}}' was not run (validation only); the placeholder text is kept"
                ),
            );
            return Ok(format!("${{cmd: {written}}}"));
        };
        match runner.run(command.trim()) {
            Ok(out) => Ok(out.trim().to_owned()),
            Err(e) => Err(vec![Fail::new(format!("command '{written}' failed: {e}"))]),
        }
    }
}

/// How an error shows a variable's name: as written in the config when it was computed from
/// other placeholders (the computed name may contain a secret value), else the name itself.
fn shown_name(written: &str, name: &str) -> String {
    if written.contains("${") { format!("named by '{written}'") } else { format!("'{name}'") }
}

fn missing(name: &str) -> Fail {
    let hint = if let Some(id) = name.strip_prefix("input:") {
        format!("supply it in MCP_HUB_ENV, e.g. MCP_HUB_ENV='{{\"input:{id}\": \"…\"}}'")
    } else {
        "set it in the hub's environment, in MCP_HUB_ENV, or in the server's env".to_owned()
    };
    Fail::hinted(format!("variable '{name}' not found"), hint)
}

/// `$NAME` as a whole argument (legacy syntax): the name, if `text` is exactly that.
fn legacy_name(text: &str) -> Option<&str> {
    let name = text.strip_prefix('$')?;
    let mut chars = name.chars();
    let first = chars.next()?;
    ((first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_'))
    .then_some(name)
}

/// Splits `NAME:-default` / `NAME:?message` at the first top-level operator.
fn split_operator(t: &str) -> Option<(&str, char, &str)> {
    let bytes = t.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i + 1 < bytes.len() {
        match bytes[i] {
            b'$' if bytes[i + 1] == b'{' => {
                depth += 1;
                i += 1;
            }
            b'}' => depth = depth.saturating_sub(1),
            b':' if depth == 0 && matches!(bytes[i + 1], b'-' | b'?') => {
                return Some((&t[..i], char::from(bytes[i + 1]), &t[i + 2..]));
            }
            _ => {}
        }
        i += 1;
    }
    None
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
