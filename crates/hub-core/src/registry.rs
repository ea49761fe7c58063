//! The aggregate of every connected upstream's tools, resources, resource templates and prompts,
//! under mcp-hub's namespaced names, and the reverse index used to route calls.

use std::collections::{HashMap, HashSet};

use hub_config::Prefix;
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

/// The longest tool name MCP allows (2025-11-25: 1 to 128 characters of `[A-Za-z0-9_.-]`).
pub(crate) const MAX_TOOL_NAME: usize = 128;

/// The longest URI matched against templates.
const MAX_URI_MATCH: usize = 2048;

/// What one upstream contributes: its index in the hub's server list, its id, its lists and
/// how its names appear.
pub(crate) struct Contribution<'a> {
    pub(crate) server: usize,
    pub(crate) id: &'a str,
    pub(crate) lists: &'a Lists,
    pub(crate) prefix: Prefix,
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
    /// Templates of servers without prefix, in server order, for URIs expanded from them.
    bare_templates: Vec<(String, usize)>,
    /// Servers without prefix, in order (the first gets URIs nothing else claims).
    bare_servers: Vec<usize>,
    /// Names a server without prefix could not have as they are (another server has them):
    /// `(server id, name)`; those keep the prefix.
    pub(crate) collisions: Vec<(String, String)>,
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
    ///
    /// Names are `<id>__<name>`, or for a server with [`Prefix::Never`] the name itself unless
    /// an earlier one took it (then it keeps the prefix and is reported in `collisions`). A tool
    /// name outside MCP's 128 characters of `[A-Za-z0-9_.-]` is made valid (see
    /// [`valid_tool_name`]); the index maps every exposed name back to the original.
    pub(crate) fn build<'a>(contributions: impl IntoIterator<Item = Contribution<'a>>) -> Self {
        let mut reg = Registry::default();
        let (mut collisions, mut bare_templates) = (Vec::new(), Vec::new());
        for c in contributions {
            reg.ids.insert(c.id.to_owned(), c.server);
            let bare = c.prefix == Prefix::Never;
            if bare {
                reg.bare_servers.push(c.server);
            }
            for kind in ListKind::ALL {
                for item in c.lists.get(kind) {
                    let Some(Value::String(original)) = item.get(kind.item_key()) else { continue };
                    let namespaced = format!("{}{DELIMITER}{original}", c.id);
                    let agg = reg.get_mut(kind);
                    let mut exposed = if bare { original.clone() } else { namespaced.clone() };
                    if kind == ListKind::Tools {
                        exposed = valid_tool_name(&exposed, |n| agg.index.contains_key(n));
                    }
                    if bare && agg.index.contains_key(&exposed) {
                        // Another server has the plain name: this one keeps the prefix.
                        if agg.index.get(&exposed).is_some_and(|t| t.server == c.server) {
                            continue; // a duplicate inside the server
                        }
                        collisions.push((c.id.to_owned(), original.clone()));
                        exposed = namespaced;
                        if kind == ListKind::Tools {
                            exposed = valid_tool_name(&exposed, |n| agg.index.contains_key(n));
                        }
                    }
                    if agg.index.contains_key(&exposed) {
                        continue;
                    }
                    let mut item = item.clone();
                    item.insert(kind.item_key().to_owned(), Value::String(exposed.clone()));
                    agg.items.push(item);
                    agg.index
                        .insert(exposed, Target { server: c.server, original: original.clone() });
                    if bare && kind == ListKind::ResourceTemplates {
                        bare_templates.push((original.clone(), c.server));
                    }
                }
            }
        }
        reg.collisions = collisions;
        reg.bare_templates = bare_templates;
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

    /// Resolves a resource URI: an exact listed resource, else `<id>__<uri>` for a URI expanded
    /// from a template (or not listed at all), as mcp-hub does; else, for servers without
    /// prefix, the first whose template matches the URI, or the first such server at all.
    pub(crate) fn lookup_resource(&self, uri: &str) -> Option<Target> {
        if let Some(t) = self.resources.index.get(uri) {
            return Some(t.clone());
        }
        if let Some((id, original)) = uri.split_once(DELIMITER)
            && let Some(&server) = self.ids.get(id)
        {
            return Some(Target { server, original: original.to_owned() });
        }
        let server = self
            .bare_templates
            .iter()
            .find(|(template, _)| template_matches(template, uri))
            .map(|(_, server)| *server)
            .or_else(|| self.bare_servers.first().copied())?;
        Some(Target { server, original: uri.to_owned() })
    }

    /// Resolves a resource template (`completion/complete`'s `ref/resource`): its exposed
    /// `uriTemplate`, else as [`Registry::lookup_resource`] resolves a URI.
    pub(crate) fn lookup_template(&self, template: &str) -> Option<Target> {
        match self.resource_templates.index.get(template) {
            Some(t) => Some(t.clone()),
            None => self.lookup_resource(template),
        }
    }
}

/// The hub's own cursor for a list of `kind` continuing at `offset`: opaque to clients (hex of
/// `<kind method>#<offset>`), checked when it comes back.
pub(crate) fn cursor(kind: ListKind, offset: usize) -> String {
    format!("{}#{offset}", kind.method()).bytes().map(|b| format!("{b:02x}")).collect()
}

/// The offset a [`cursor`] of `kind` stands for; `None` for anything else (another list's
/// cursor, a forged one).
pub(crate) fn cursor_offset(kind: ListKind, cursor: &str) -> Option<usize> {
    if !cursor.len().is_multiple_of(2) || cursor.len() > 128 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..cursor.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(cursor.get(i..i + 2)?, 16).ok())
        .collect();
    let text = String::from_utf8(bytes?).ok()?;
    let (method, offset) = text.split_once('#')?;
    (method == kind.method()).then(|| offset.parse().ok()).flatten()
}

/// `name` if it is a valid MCP tool name (1 to 128 characters of `[A-Za-z0-9_.-]`), else a
/// valid one made from it: other characters become `_`, and a name too long is cut and ends in
/// `_<n>`, the smallest number that makes it unique (`taken`).
pub(crate) fn valid_tool_name(name: &str, taken: impl Fn(&str) -> bool) -> String {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    if !name.is_empty() && name.len() <= MAX_TOOL_NAME && name.chars().all(allowed) {
        return name.to_owned();
    }
    let clean: String = name.chars().map(|c| if allowed(c) { c } else { '_' }).collect();
    let clean = if clean.is_empty() { "_".to_owned() } else { clean };
    if clean.len() <= MAX_TOOL_NAME && !taken(&clean) {
        return clean;
    }
    (1..)
        .map(|n| {
            let suffix = format!("_{n}");
            format!("{}{suffix}", &clean[..clean.len().min(MAX_TOOL_NAME - suffix.len())])
        })
        .find(|candidate| !taken(candidate))
        .expect("some suffix is free")
}

/// Whether `uri` could have been expanded from the URI template `template` (RFC 6570): the
/// literal parts in order, each expression standing for a non-empty run of characters (without
/// `/` for simple `{var}` expressions, which do not allow reserved characters).
///
/// Backtracking, so URIs longer than [`MAX_URI_MATCH`] never match (a client cannot make the
/// hub work hard with a long one).
fn template_matches(template: &str, uri: &str) -> bool {
    if uri.len() > MAX_URI_MATCH {
        return false;
    }
    // Split into literals and expressions: "a{x}b{+y}" → ["a", "{x}", "b", "{+y}"].
    let mut parts = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else { break };
        parts.push(&rest[..open]);
        parts.push(&rest[open..=open + close]);
        rest = &rest[open + close + 1..];
    }
    parts.push(rest);
    matches_from(&parts, uri)
}

fn matches_from(parts: &[&str], uri: &str) -> bool {
    let Some((first, rest)) = parts.split_first() else { return uri.is_empty() };
    if !first.starts_with('{') {
        return uri.strip_prefix(first).is_some_and(|u| matches_from(rest, u));
    }
    if uri.is_empty() {
        return false;
    }
    let reserved = first.starts_with("{+") || first.starts_with("{#");
    // Try every non-empty run the expression could stand for.
    let ends = uri.char_indices().skip(1).map(|(i, _)| i).chain(std::iter::once(uri.len()));
    for end in ends {
        if !reserved && uri[..end].contains('/') {
            return false;
        }
        if matches_from(rest, &uri[end..]) {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests;
