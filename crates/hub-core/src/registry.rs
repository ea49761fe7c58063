//! The aggregate of every connected upstream's tools, resources, resource templates and prompts,
//! under mcp-hub's namespaced names, and the reverse index used to route calls.

use std::collections::{HashMap, HashSet};

use hub_protocol::mcp::{Extra, ListKind};
use serde_json::Value;

/// The delimiter between a server id and a capability name (mcp-hub's `__`).
pub(crate) const DELIMITER: &str = "__";

/// mcp-hub's server id: every character outside `[A-Za-z0-9]` becomes `_`.
pub fn sanitize_id(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect()
}

/// Assigns ids to server names in config order, resolving collisions with `_1`, `_2`, … as
/// mcp-hub does — but once, over every configured server (connected or not), so an id never
/// shifts when another server connects or disconnects (mcp-hub recomputes them on every sync).
/// `taken` are ids already in use (a reload keeps the ids of the servers it keeps).
pub(crate) fn assign_ids<'a>(
    names: impl IntoIterator<Item = &'a str>,
    taken: &HashSet<String>,
) -> Vec<String> {
    let mut taken = taken.clone();
    names
        .into_iter()
        .map(|name| {
            let base = sanitize_id(name);
            let mut id = base.clone();
            let mut n = 1;
            while !taken.insert(id.clone()) {
                id = format!("{base}_{n}");
                n += 1;
            }
            id
        })
        .collect()
}

/// What one upstream contributes: its index in the hub's server list, its id and its lists.
pub(crate) struct Contribution<'a> {
    pub(crate) server: usize,
    pub(crate) id: &'a str,
    pub(crate) lists: &'a Lists,
}

/// The four lists of one upstream, as it returned them.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Lists {
    pub(crate) tools: Vec<Extra>,
    pub(crate) resources: Vec<Extra>,
    pub(crate) resource_templates: Vec<Extra>,
    pub(crate) prompts: Vec<Extra>,
}

/// A name on `/mcp` resolved to its upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) server: usize,
    pub(crate) original: String,
}

/// One aggregated list and its index.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Aggregate {
    pub(crate) items: Vec<Extra>,
    index: HashMap<String, Target>,
}

/// Everything `/mcp` exposes.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Registry {
    pub(crate) tools: Aggregate,
    pub(crate) resources: Aggregate,
    pub(crate) resource_templates: Aggregate,
    pub(crate) prompts: Aggregate,
    /// Server ids → server index, for template-expanded resource URIs.
    ids: HashMap<String, usize>,
}

// === impl Lists ===

impl Lists {
    pub(crate) fn get(&self, kind: ListKind) -> &Vec<Extra> {
        match kind {
            ListKind::Tools => &self.tools,
            ListKind::Resources => &self.resources,
            ListKind::ResourceTemplates => &self.resource_templates,
            ListKind::Prompts => &self.prompts,
        }
    }

    /// The lists without what the config hides (`disabled_tools`, …): what `/mcp` offers.
    pub(crate) fn visible(&self, hidden: &hub_config::Hidden) -> Lists {
        let keep = |items: &Vec<Extra>, kind: ListKind, names: &[String]| -> Vec<Extra> {
            items
                .iter()
                .filter(|item| {
                    !item
                        .get(kind.item_key())
                        .and_then(Value::as_str)
                        .is_some_and(|n| names.iter().any(|h| h == n))
                })
                .cloned()
                .collect()
        };
        Lists {
            tools: keep(&self.tools, ListKind::Tools, &hidden.tools),
            resources: keep(&self.resources, ListKind::Resources, &hidden.resources),
            resource_templates: keep(
                &self.resource_templates,
                ListKind::ResourceTemplates,
                &hidden.resource_templates,
            ),
            prompts: keep(&self.prompts, ListKind::Prompts, &hidden.prompts),
        }
    }

    pub(crate) fn get_mut(&mut self, kind: ListKind) -> &mut Vec<Extra> {
        match kind {
            ListKind::Tools => &mut self.tools,
            ListKind::Resources => &mut self.resources,
            ListKind::ResourceTemplates => &mut self.resource_templates,
            ListKind::Prompts => &mut self.prompts,
        }
    }
}

// === impl Registry ===

impl Registry {
    /// Builds the aggregate from the contributions, in server order. Within one upstream a
    /// duplicate name keeps its first definition (a server must not list a name twice).
    pub(crate) fn build<'a>(contributions: impl IntoIterator<Item = Contribution<'a>>) -> Self {
        let mut reg = Registry::default();
        for c in contributions {
            reg.ids.insert(c.id.to_owned(), c.server);
            for kind in ListKind::ALL {
                let agg = reg.get_mut(kind);
                for item in c.lists.get(kind) {
                    let Some(Value::String(original)) = item.get(kind.item_key()) else { continue };
                    let namespaced = format!("{}{DELIMITER}{original}", c.id);
                    if agg.index.contains_key(&namespaced) {
                        continue;
                    }
                    let mut item = item.clone();
                    item.insert(kind.item_key().to_owned(), Value::String(namespaced.clone()));
                    agg.items.push(item);
                    agg.index.insert(
                        namespaced,
                        Target { server: c.server, original: original.clone() },
                    );
                }
            }
        }
        reg
    }

    pub(crate) fn get(&self, kind: ListKind) -> &Aggregate {
        match kind {
            ListKind::Tools => &self.tools,
            ListKind::Resources => &self.resources,
            ListKind::ResourceTemplates => &self.resource_templates,
            ListKind::Prompts => &self.prompts,
        }
    }

    fn get_mut(&mut self, kind: ListKind) -> &mut Aggregate {
        match kind {
            ListKind::Tools => &mut self.tools,
            ListKind::Resources => &mut self.resources,
            ListKind::ResourceTemplates => &mut self.resource_templates,
            ListKind::Prompts => &mut self.prompts,
        }
    }

    /// Resolves a namespaced tool or prompt name.
    pub(crate) fn lookup(&self, kind: ListKind, name: &str) -> Option<&Target> {
        self.get(kind).index.get(name)
    }

    /// Resolves a namespaced resource URI: an exact listed resource, else `<id>__<uri>` for a URI
    /// expanded from a template (or not listed at all), as mcp-hub does.
    pub(crate) fn lookup_resource(&self, uri: &str) -> Option<Target> {
        if let Some(t) = self.resources.index.get(uri) {
            return Some(t.clone());
        }
        let (id, original) = uri.split_once(DELIMITER)?;
        let server = *self.ids.get(id)?;
        Some(Target { server, original: original.to_owned() })
    }
}

#[cfg(test)]
mod tests;
