//! What changed between two loads of the config: per server, added / removed / modified (with
//! the fields) / unchanged, and whether a modification needs the server restarted.

use crate::{Config, Server};

/// Server keys whose change needs the server restarted (a new process or connection); every
/// other key (`name`, `description`, the `disabled_*` lists, editor keys like `autoApprove`) is
/// applied in place. mcp-hub restarts on `name` and `config_source` too; nothing about the
/// connection depends on them.
const RESTART_KEYS: [&str; 12] = [
    "command",
    "args",
    "env",
    "cwd",
    "url",
    "headers",
    "transport",
    "type",
    "dev",
    "connectionPool",
    "sharing",
    "maxInstances",
];

/// The difference between two configs, by server name, each list in the new config's order
/// (removed ones in the old config's order).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// In the new config only.
    pub added: Vec<String>,
    /// In the old config only.
    pub removed: Vec<String>,
    /// In both, with different fields.
    pub modified: Vec<Modified>,
    /// In both, identical.
    pub unchanged: Vec<String>,
}

/// One server whose entry changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Modified {
    /// The server's key.
    pub name: String,
    /// The top-level keys of the entry that differ, sorted (`config_source` when it moved to
    /// another file).
    pub fields: Vec<String>,
    /// Whether the connection must be re-established: a change to `command`, `args`, `env`,
    /// `cwd`, `url`, `headers`, `transport`, `type`, `dev` or `connectionPool` (the entry's own,
    /// or the top-level one when it changes the entry's effective pool), or to the entry's
    /// validity.
    /// `disabled` flips are not counted here: the caller stops or starts.
    pub restart: bool,
}

// === impl Changes ===

impl Changes {
    /// True when no server was added, removed or modified.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.modified.is_empty()
    }

    /// Names of the modified servers.
    pub fn modified_names(&self) -> impl Iterator<Item = &str> {
        self.modified.iter().map(|m| m.name.as_str())
    }
}

/// Compares two configs server by server.
pub fn diff(old: &Config, new: &Config) -> Changes {
    let mut changes = Changes::default();
    for s in &new.servers {
        match old.servers.iter().find(|o| o.name == s.name) {
            None => changes.added.push(s.name.clone()),
            Some(o) => {
                let fields = changed_fields(o, s);
                if fields.is_empty() {
                    changes.unchanged.push(s.name.clone());
                } else {
                    let validity = o.is_valid() != s.is_valid();
                    let restart =
                        validity || fields.iter().any(|f| RESTART_KEYS.contains(&f.as_str()));
                    changes.modified.push(Modified { name: s.name.clone(), fields, restart });
                }
            }
        }
    }
    for o in &old.servers {
        if !new.servers.iter().any(|s| s.name == o.name) {
            changes.removed.push(o.name.clone());
        }
    }
    changes
}

fn changed_fields(old: &Server, new: &Server) -> Vec<String> {
    let mut fields: Vec<String> = old
        .raw
        .keys()
        .chain(new.raw.keys())
        .filter(|k| old.raw.get(*k) != new.raw.get(*k))
        .cloned()
        .collect();
    if old.config_source != new.config_source {
        fields.push("config_source".to_owned());
    }
    // A change of the top-level `connectionPool` changes the pool of every remote entry that
    // does not override what changed, though the entry itself is the same.
    if let (
        crate::ServerKind::Remote { pool: old_pool, .. },
        crate::ServerKind::Remote { pool: new_pool, .. },
    ) = (&old.kind, &new.kind)
        && old_pool != new_pool
    {
        fields.push(crate::pool::KEY.to_owned());
    }
    if !old.raw.is_empty() || !new.raw.is_empty() {
        fields.sort();
        fields.dedup();
    } else if old.kind != new.kind {
        // Not an object at all (both invalid); compare what there is.
        fields.push(String::new());
    }
    fields
}

impl Server {
    /// True unless the entry has errors ([`crate::ServerKind::Invalid`]).
    pub fn is_valid(&self) -> bool {
        !matches!(self.kind, crate::ServerKind::Invalid(_))
    }

    /// Whether the hub should run this server: enabled and valid.
    pub fn should_run(&self) -> bool {
        !self.disabled && self.is_valid()
    }
}

#[cfg(test)]
mod tests;
