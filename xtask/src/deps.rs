//! The dependency-layering gate: which hub crates may depend on which (ARCHITECTURE.md, "Code
//! Map"), and external crates some of them must never pull in, checked from `cargo metadata`.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context as _, bail};
use serde_json::Value;

/// For each workspace crate, the workspace crates it may depend on (normal and dev). `None`:
/// anything (the end-to-end test package).
const ALLOWED: &[(&str, Option<&[&str]>)] = &[
    ("hub-protocol", Some(&[])),
    ("hub-config", Some(&["hub-protocol"])),
    ("hub-filter", Some(&["hub-protocol"])),
    ("hub-events", Some(&["hub-protocol"])),
    ("hub-transport", Some(&["hub-protocol"])),
    ("hub-pool", Some(&["hub-protocol", "hub-transport"])),
    ("hub-http", Some(&["hub-protocol", "hub-events"])),
    (
        "hub-core",
        Some(&[
            "hub-protocol",
            "hub-config",
            "hub-transport",
            "hub-pool",
            "hub-http",
            "hub-events",
            "hub-filter",
        ]),
    ),
    ("hub-bin", Some(&["hub-core", "hub-config", "hub-http", "hub-protocol", "hub-events"])),
    ("hub-integration", None),
    // Compile time: the gates must not build the runtime. hub-config is pure (no tokio, see
    // BANNED): the `schema` command renders its JSON Schema.
    ("xtask", Some(&["hub-config"])),
];

/// External crates a workspace crate must not depend on, even transitively (normal deps).
const BANNED: &[(&str, &str, &str)] = &[
    ("hub-protocol", "tokio", "the protocol model does no IO"),
    ("hub-config", "tokio", "config resolution is pure"),
    ("hub-config", "hyper", "config resolution does no network IO"),
    ("hub-filter", "tokio", "filtering is pure and synchronous"),
    ("xtask", "tokio", "the gates must not build the runtime"),
    ("*", "openssl-sys", "rustls only"),
];

/// Runs the check; the error lists every violation.
pub(crate) fn check(metadata: &Value) -> anyhow::Result<()> {
    let packages = metadata["packages"].as_array().context("metadata has no packages")?;
    let members: BTreeSet<&str> = metadata["workspace_members"]
        .as_array()
        .context("metadata has no workspace_members")?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let mut by_id: BTreeMap<&str, &str> = BTreeMap::new();
    for p in packages {
        if let (Some(id), Some(name)) = (p["id"].as_str(), p["name"].as_str()) {
            by_id.insert(id, name);
        }
    }
    let workspace: BTreeSet<&str> =
        members.iter().filter_map(|id| by_id.get(id).copied()).collect();
    let mut problems = Vec::new();

    for p in packages.iter().filter(|p| p["id"].as_str().is_some_and(|id| members.contains(id))) {
        let name = p["name"].as_str().unwrap_or_default();
        let Some((_, allowed)) = ALLOWED.iter().find(|(n, _)| *n == name) else {
            problems.push(format!("{name}: not in the layering table (xtask/src/deps.rs)"));
            continue;
        };
        let Some(allowed) = allowed else { continue };
        for dep in p["dependencies"].as_array().into_iter().flatten() {
            let dep_name = dep["name"].as_str().unwrap_or_default();
            if workspace.contains(dep_name) && !allowed.contains(&dep_name) {
                let kind = dep["kind"].as_str().unwrap_or("normal");
                problems.push(format!("{name} → {dep_name} ({kind}) is not an allowed edge"));
            }
        }
    }

    // Transitive normal dependencies from the resolve graph.
    let nodes = metadata["resolve"]["nodes"].as_array().context("metadata has no resolve graph")?;
    let mut normal: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for n in nodes {
        let id = n["id"].as_str().unwrap_or_default();
        let deps = n["deps"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| {
                d["dep_kinds"].as_array().into_iter().flatten().any(|k| k["kind"].is_null())
            })
            .filter_map(|d| d["pkg"].as_str())
            .collect();
        normal.insert(id, deps);
    }
    for &(krate, banned, why) in BANNED {
        for id in members.iter().filter(|id| krate == "*" || by_id.get(*id) == Some(&krate)) {
            let mut seen = BTreeSet::new();
            let mut stack = vec![*id];
            while let Some(cur) = stack.pop() {
                if !seen.insert(cur) {
                    continue;
                }
                if by_id.get(cur) == Some(&banned) {
                    let who = by_id.get(id).copied().unwrap_or_default();
                    problems.push(format!("{who} depends on {banned} (banned: {why})"));
                    break;
                }
                stack.extend(normal.get(cur).into_iter().flatten());
            }
        }
    }
    if problems.is_empty() {
        println!(
            "dependency layering: {} workspace crates, every edge allowed, no banned crate",
            workspace.len()
        );
        Ok(())
    } else {
        bail!("{} layering problem(s):\n  {}", problems.len(), problems.join("\n  "))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::check;

    fn metadata(edges: &[(&str, &str)], resolve: &[(&str, &[&str])]) -> serde_json::Value {
        let names = ["hub-protocol", "hub-config", "hub-core", "tokio"];
        let packages: Vec<_> = names
            .iter()
            .map(|n| {
                let deps: Vec<_> =
                    edges.iter().filter(|(a, _)| a == n).map(|(_, b)| json!({"name": b})).collect();
                json!({"id": format!("{n}-id"), "name": n, "dependencies": deps})
            })
            .collect();
        let nodes: Vec<_> = resolve
            .iter()
            .map(|(n, deps)| {
                let deps: Vec<_> = deps
                    .iter()
                    .map(|d| json!({"pkg": format!("{d}-id"), "dep_kinds": [{"kind": null}]}))
                    .collect();
                json!({"id": format!("{n}-id"), "deps": deps})
            })
            .collect();
        json!({
            "packages": packages,
            "workspace_members": ["hub-protocol-id", "hub-config-id", "hub-core-id"],
            "resolve": {"nodes": nodes},
        })
    }

    #[test]
    fn allowed_graph_passes() {
        let m = metadata(
            &[("hub-config", "hub-protocol"), ("hub-core", "hub-config")],
            &[("hub-core", &["tokio"])],
        );
        check(&m).unwrap();
    }

    #[test]
    fn upward_edge_is_reported() {
        let m = metadata(&[("hub-protocol", "hub-core")], &[]);
        let e = check(&m).unwrap_err().to_string();
        assert!(e.contains("hub-protocol → hub-core"), "{e}");
    }

    #[test]
    fn transitive_banned_crate_is_reported() {
        let m = metadata(
            &[("hub-config", "hub-protocol")],
            &[("hub-config", &["hub-protocol"]), ("hub-protocol", &["tokio"])],
        );
        let e = check(&m).unwrap_err().to_string();
        assert!(e.contains("hub-protocol depends on tokio"), "{e}");
        assert!(e.contains("hub-config depends on tokio"), "{e}");
    }
}
