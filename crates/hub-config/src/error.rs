//! Config errors: each names the file, the key path and, where there is one, the fix.

use std::fmt;

/// A problem with one server entry or one value. The entry is skipped (or, at connect time, the
/// server fails to start); other servers are not affected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The config file the entry came from, as given on the command line.
    pub file: String,
    /// The key path, e.g. `mcpServers.github.env.GITHUB_TOKEN`.
    pub path: String,
    /// 1-based line and column of the key in the file, when it could be found.
    pub position: Option<(usize, usize)>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

/// A file that could not be used at all: unreadable, not JSON5, or without a server map.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {message}", position.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default())]
pub struct FileError {
    /// The file, as given on the command line.
    pub file: String,
    /// 1-based line and column of a syntax error.
    pub position: Option<(usize, usize)>,
    /// What is wrong.
    pub message: String,
}

// === impl ConfigError ===

impl ConfigError {
    pub(crate) fn new(file: &str, path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            file: file.to_owned(),
            path: path.into(),
            position: None,
            message: message.into(),
            hint: None,
        }
    }

    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some((line, column)) = self.position {
            write!(f, ":{line}:{column}")?;
        }
        write!(f, ": {}: {}", self.path, self.message)?;
        if let Some(h) = &self.hint {
            write!(f, " (hint: {h})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// How a value's type is named in messages ("found a number").
pub(crate) fn type_name(v: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
