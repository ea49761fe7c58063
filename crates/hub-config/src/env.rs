//! Where placeholder values come from: an injected environment, never the process's own.

use std::collections::HashMap;

/// The variable mcp-hub reads as a JSON object of extra variables for every server.
pub const MCP_HUB_ENV: &str = "MCP_HUB_ENV";

/// A source of environment variables. `hub-bin` snapshots the process environment into an
/// [`EnvMap`]; tests build one by hand, so resolution is deterministic.
pub trait EnvSource {
    /// The value of `key`, if set.
    fn get(&self, key: &str) -> Option<String>;

    /// Every variable, for the processes that inherit the hub's whole environment (`${cmd:}`
    /// commands, as in mcp-hub). A source that cannot list its variables returns none.
    fn vars(&self) -> Vec<(String, String)> {
        Vec::new()
    }
}

/// An environment held in memory.
pub type EnvMap = HashMap<String, String>;

impl EnvSource for HashMap<String, String> {
    fn get(&self, key: &str) -> Option<String> {
        HashMap::get(self, key).cloned()
    }

    fn vars(&self) -> Vec<(String, String)> {
        self.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}
