use super::*;
use crate::{Source, load};

fn cfg(path: &str, text: &str) -> Config {
    load(&[Source { path: path.to_owned(), text: text.to_owned() }]).expect("loads")
}

fn m(name: &str, fields: &[&str], restart: bool) -> Modified {
    Modified {
        name: name.to_owned(),
        fields: fields.iter().map(|f| (*f).to_owned()).collect(),
        restart,
    }
}

#[test]
fn added_removed_modified_unchanged_in_order() {
    let old = cfg(
        "a.json",
        r#"{"mcpServers": {"keep": {"command": "k"}, "gone": {"command": "g"}, "edit": {"command": "e", "args": ["1"]}}}"#,
    );
    let new = cfg(
        "a.json",
        r#"{"mcpServers": {"new": {"url": "http://x/mcp"}, "edit": {"command": "e", "args": ["2"]}, "keep": {"command": "k"}}}"#,
    );
    let c = diff(&old, &new);
    assert_eq!(c.added, ["new"]);
    assert_eq!(c.removed, ["gone"]);
    assert_eq!(c.modified, [m("edit", &["args"], true)]);
    assert_eq!(c.unchanged, ["keep"]);
    assert!(!c.is_empty());
    assert!(diff(&new, &new).is_empty());
}

#[test]
fn each_connection_field_needs_a_restart() {
    for (before, after, field) in [
        (r#"{"command": "a"}"#, r#"{"command": "b"}"#, "command"),
        (r#"{"command": "a"}"#, r#"{"command": "a", "args": []}"#, "args"),
        (r#"{"command": "a", "env": {"K": "1"}}"#, r#"{"command": "a", "env": {"K": "2"}}"#, "env"),
        (r#"{"command": "a"}"#, r#"{"command": "a", "cwd": "/tmp"}"#, "cwd"),
        (r#"{"url": "http://a/mcp"}"#, r#"{"url": "http://b/mcp"}"#, "url"),
        (
            r#"{"url": "http://a/mcp"}"#,
            r#"{"url": "http://a/mcp", "headers": {"A": "b"}}"#,
            "headers",
        ),
        (
            r#"{"url": "http://a/mcp"}"#,
            r#"{"url": "http://a/mcp", "transport": "sse"}"#,
            "transport",
        ),
        (r#"{"url": "http://a/mcp"}"#, r#"{"url": "http://a/mcp", "type": "http"}"#, "type"),
        (r#"{"command": "a"}"#, r#"{"command": "a", "dev": {"cwd": "/src"}}"#, "dev"),
    ] {
        let old = cfg("c.json", &format!(r#"{{"mcpServers": {{"s": {before}}}}}"#));
        let new = cfg("c.json", &format!(r#"{{"mcpServers": {{"s": {after}}}}}"#));
        assert_eq!(diff(&old, &new).modified, [m("s", &[field], true)], "{field}");
    }
}

#[test]
fn presentation_and_editor_fields_apply_without_a_restart() {
    let old = cfg("c.json", r#"{"mcpServers": {"s": {"command": "a", "autoApprove": true}}}"#);
    let new = cfg(
        "c.json",
        r#"{"mcpServers": {"s": {"command": "a", "name": "S", "description": "d", "disabled_tools": ["x"], "autoApprove": ["y"], "custom_instructions": {"text": "t"}}}}"#,
    );
    assert_eq!(
        diff(&old, &new).modified,
        [m(
            "s",
            &["autoApprove", "custom_instructions", "description", "disabled_tools", "name"],
            false
        )]
    );
}

#[test]
fn disabled_and_config_source_are_reported_without_a_restart_flag() {
    let old = cfg("a.json", r#"{"mcpServers": {"s": {"command": "a"}}}"#);
    let new = cfg("b.json", r#"{"mcpServers": {"s": {"command": "a", "disabled": true}}}"#);
    assert_eq!(diff(&old, &new).modified, [m("s", &["config_source", "disabled"], false)]);
}

#[test]
fn an_entry_becoming_valid_or_invalid_restarts_it() {
    let broken = cfg("c.json", r#"{"mcpServers": {"s": {"command": "a", "disabled_tools": 3}}}"#);
    let fixed = cfg("c.json", r#"{"mcpServers": {"s": {"command": "a", "disabled_tools": []}}}"#);
    assert!(!broken.servers[0].is_valid());
    assert_eq!(diff(&broken, &fixed).modified, [m("s", &["disabled_tools"], true)]);
    assert_eq!(diff(&fixed, &broken).modified, [m("s", &["disabled_tools"], true)]);
}

#[test]
fn key_order_and_formatting_do_not_count_as_changes() {
    let old =
        cfg("c.json", r#"{"mcpServers": {"s": {"command": "a", "env": {"A": "1", "B": "2"}}}}"#);
    let new = cfg("c.json", "{mcpServers: {s: {env: {A: '1', B: '2'}, // moved\n command: 'a',}}}");
    let c = diff(&old, &new);
    assert!(c.is_empty(), "{c:?}");
    assert_eq!(c.unchanged, ["s"]);
}

#[test]
fn entries_that_are_not_objects_compare_by_value() {
    let a = cfg("c.json", r#"{"mcpServers": {"s": 1}}"#);
    let b = cfg("c.json", r#"{"mcpServers": {"s": "x"}}"#);
    assert_eq!(diff(&a, &b).modified.len(), 1);
    assert!(diff(&a, &a).is_empty());
}
