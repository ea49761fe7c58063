use super::*;

fn src(path: &str, text: &str) -> Source {
    Source { path: path.to_owned(), text: text.to_owned() }
}

fn one(text: &str) -> Config {
    load(&[src("a.json5", text)]).expect("file loads")
}

#[test]
fn json5_with_comments_trailing_commas_and_unquoted_keys() {
    let c = one(r#"{
        // a comment
        mcpServers: {
            demo: { command: "demo", args: ["x", 3,], env: { A: "1", B: null, C: "", PORT: 8080 }, },
        },
    }"#);
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    let ServerKind::Stdio { command, args, env, cwd, .. } = &c.servers[0].kind else { panic!() };
    assert_eq!(command, "demo");
    assert_eq!(args, &["x", "3"]);
    assert_eq!(
        env,
        &[
            ("A".to_owned(), Some("1".to_owned())),
            ("B".to_owned(), None),
            ("C".to_owned(), None),
            ("PORT".to_owned(), Some("8080".to_owned()))
        ]
    );
    assert_eq!(cwd, &None);
    assert_eq!(c.servers[0].config_source, "a.json5");
    assert_eq!(c.servers[0].display_name, "demo");
}

#[test]
fn vscode_servers_key_is_accepted_and_wins() {
    let c = one(
        r#"{"servers": {"v": {"type": "stdio", "command": "x"}}, "mcpServers": {"m": {"command": "y"}}, "inputs": []}"#,
    );
    let names: Vec<_> = c.servers.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["v"]);
    assert!(c.extra.contains_key("inputs"));
    assert!(c.extra.contains_key("servers"), "kept as an ordinary top-level key");
}

#[test]
fn later_files_replace_whole_entries_in_place_and_keep_order() {
    let a = src(
        "a.json",
        r#"{"mcpServers": {"one": {"command": "a1", "env": {"K": "v"}}, "two": {"command": "a2"}}, "x": 1, "y": 1}"#,
    );
    let b = src(
        "b.json",
        r#"{"mcpServers": {"three": {"command": "b3"}, "one": {"command": "b1"}}, "x": 2}"#,
    );
    let c = load(&[a, b]).unwrap();
    let names: Vec<_> = c.servers.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["one", "two", "three"]);
    let ServerKind::Stdio { command, env, .. } = &c.servers[0].kind else { panic!() };
    assert_eq!(command, "b1");
    assert!(env.is_empty(), "no field-level merge");
    assert_eq!(c.servers[0].config_source, "b.json");
    assert_eq!(c.servers[1].config_source, "a.json");
    assert_eq!(c.extra["x"], 2);
    assert_eq!(c.extra["y"], 1);
}

#[test]
fn unknown_keys_are_preserved() {
    let c = one(
        r#"{"mcpServers": {"s": {"command": "x", "autoApprove": ["t"], "disabled_tools": ["u"], "custom_instructions": {"text": "hi"}}}}"#,
    );
    let raw = &c.servers[0].raw;
    assert_eq!(raw["autoApprove"], serde_json::json!(["t"]));
    assert_eq!(raw["custom_instructions"]["text"], "hi");
}

#[test]
fn remote_entries_and_disabled_and_descriptions() {
    let c = one(
        r#"{"mcpServers": {"r": {"url": "https://example.com/mcp", "headers": {"Authorization": "Bearer x"}, "disabled": true, "name": "Remote", "description": "d"}}}"#,
    );
    let s = &c.servers[0];
    assert!(s.disabled);
    assert_eq!(s.display_name, "Remote");
    assert_eq!(s.description, "d");
    assert_eq!(
        s.kind,
        ServerKind::Remote {
            url: "https://example.com/mcp".into(),
            headers: vec![("Authorization".into(), "Bearer x".into())],
            env: vec![],
            transport: crate::Transport::Auto,
            pool: crate::ConnectionPool::default(),
        }
    );
}

/// One funnel for entry-level errors: the text of a single server entry → the key paths reported.
fn check_errors(entry: &str, expected_paths: &[&str], needle: &str) {
    let c = one(&format!(r#"{{"mcpServers": {{"bad": {entry}, "good": {{"command": "ok"}}}}}}"#));
    let paths: Vec<_> = c.problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, expected_paths, "entry {entry}");
    assert!(
        c.problems.iter().any(|p| p.to_string().contains(needle)),
        "{needle:?} in {:?}",
        c.problems
    );
    assert!(matches!(c.servers[0].kind, ServerKind::Invalid(_)));
    assert!(matches!(c.servers[1].kind, ServerKind::Stdio { .. }), "the good server is unaffected");
    assert!(c.problems.iter().all(|p| p.file == "a.json5"));
}

#[test]
fn broken_entries_are_reported_with_paths_and_do_not_affect_others() {
    check_errors(r#""just a string""#, &["mcpServers.bad"], "must be an object");
    check_errors(r#"{"command": "x", "url": "http://h"}"#, &["mcpServers.bad"], "cannot mix");
    check_errors(r#"{"args": []}"#, &["mcpServers.bad"], "either command");
    check_errors(r#"{}"#, &["mcpServers.bad"], "either command");
    check_errors(
        r#"{"command": 5}"#,
        &["mcpServers.bad.command"],
        "must be a string, found a number",
    );
    check_errors(r#"{"command": " "}"#, &["mcpServers.bad.command"], "must not be empty");
    check_errors(r#"{"command": "x", "args": "--a"}"#, &["mcpServers.bad.args"], "hint");
    check_errors(
        r#"{"command": "x", "args": ["a", {}]}"#,
        &["mcpServers.bad.args[1]"],
        "an object",
    );
    check_errors(r#"{"command": "x", "env": []}"#, &["mcpServers.bad.env"], "must be an object");
    check_errors(r#"{"command": "x", "env": {"A": [1]}}"#, &["mcpServers.bad.env.A"], "an array");
    check_errors(
        r#"{"command": "x", "disabled": "yes"}"#,
        &["mcpServers.bad.disabled"],
        "true or false",
    );
    check_errors(
        r#"{"command": 1, "args": 2, "env": 3}"#,
        &["mcpServers.bad.command", "mcpServers.bad.args", "mcpServers.bad.env"],
        "found a number",
    );
    check_errors(
        r#"{"url": "u", "headers": {"h": {}}}"#,
        &["mcpServers.bad.headers.h"],
        "an object",
    );
}

#[test]
fn file_level_errors_name_file_and_position_and_are_all_reported() {
    let errs = load(&[
        src("ok.json", r#"{"mcpServers": {}}"#),
        src("broken.json5", "{\n  mcpServers: {\n    a: { command: \"x\" \n  }\n"),
        src("nomap.json", r#"{"other": 1}"#),
        src("array.json", "[]"),
        src("wrongtype.json", r#"{"mcpServers": []}"#),
    ])
    .unwrap_err();
    let files: Vec<_> = errs.iter().map(|e| e.file.as_str()).collect();
    assert_eq!(files, ["broken.json5", "nomap.json", "array.json", "wrongtype.json"]);
    assert!(errs[0].position.is_some(), "{:?}", errs[0]);
    assert!(errs[0].to_string().starts_with("broken.json5:"), "{}", errs[0]);
    assert!(errs[1].message.contains("mcpServers"));
    assert!(errs[3].message.contains("must be an object"));
}

#[test]
fn debug_output_hides_env_values() {
    let c = one(r#"{"mcpServers": {"s": {"command": "x", "env": {"TOKEN": "supersecret"}}}}"#);
    let dbg = format!("{:?}", c.servers[0]);
    assert!(!dbg.contains("supersecret"), "{dbg}");
}

#[test]
fn disabled_capabilities_are_read_and_checked() {
    let c = one(
        r#"{"mcpServers": {"s": {"command": "x", "disabled_tools": ["a", "b"], "disabled_prompts": [],
        "disabled_resources": ["file:///x"], "disabled_resourceTemplates": ["t://{id}"]}}}"#,
    );
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    let h = &c.servers[0].hidden;
    assert_eq!(h.tools, ["a", "b"]);
    assert!(h.prompts.is_empty());
    assert_eq!(h.resources, ["file:///x"]);
    assert_eq!(h.resource_templates, ["t://{id}"]);
    check_errors(
        r#"{"command": "x", "disabled_tools": "a"}"#,
        &["mcpServers.bad.disabled_tools"],
        "array of strings",
    );
    check_errors(
        r#"{"command": "x", "disabled_prompts": [1]}"#,
        &["mcpServers.bad.disabled_prompts[0]"],
        "a number",
    );
}

fn transport_of(entry: &str) -> crate::Transport {
    let c = one(&format!(r#"{{"mcpServers": {{"r": {entry}}}}}"#));
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    match &c.servers[0].kind {
        ServerKind::Remote { transport, .. } => *transport,
        other => panic!("{other:?}"),
    }
}

#[test]
fn type_and_transport_choose_the_remote_transport() {
    use crate::Transport::{Auto, Sse, StreamableHttp};
    let url = r#""url": "http://h/mcp""#;
    assert_eq!(transport_of(&format!("{{{url}}}")), Auto);
    // mcp-hub writes "type": "sse" for every remote server: it must keep meaning "negotiate".
    assert_eq!(transport_of(&format!(r#"{{{url}, "type": "sse"}}"#)), Auto);
    assert_eq!(transport_of(&format!(r#"{{{url}, "type": "http"}}"#)), StreamableHttp);
    assert_eq!(transport_of(&format!(r#"{{{url}, "type": "streamable-http"}}"#)), StreamableHttp);
    assert_eq!(transport_of(&format!(r#"{{{url}, "transport": "sse"}}"#)), Sse);
    assert_eq!(transport_of(&format!(r#"{{{url}, "transport": "http"}}"#)), StreamableHttp);
    // `transport` wins over `type`.
    assert_eq!(transport_of(&format!(r#"{{{url}, "type": "http", "transport": "sse"}}"#)), Sse);
    let c =
        one(r#"{"mcpServers": {"s": {"command": "x", "type": "stdio", "transport": "stdio"}}}"#);
    assert!(c.problems.is_empty(), "{:?}", c.problems);
}

#[test]
fn a_transport_that_contradicts_the_entry_is_an_error() {
    check_errors(
        r#"{"command": "x", "transport": "sse"}"#,
        &["mcpServers.bad.transport"],
        "stdio server",
    );
    check_errors(
        r#"{"url": "http://h", "transport": "stdio"}"#,
        &["mcpServers.bad.transport"],
        "has a url",
    );
    check_errors(
        r#"{"url": "http://h", "transport": "ws"}"#,
        &["mcpServers.bad.transport"],
        "unknown transport \"ws\"",
    );
    check_errors(r#"{"url": "http://h", "type": 3}"#, &["mcpServers.bad.type"], "must be a string");
    check_errors(r#"{"url": ""}"#, &["mcpServers.bad.url"], "must not be empty");
    check_errors(r#"{"url": null}"#, &["mcpServers.bad.url"], "must not be empty");
}

#[test]
fn a_type_mcp_hub_would_ignore_is_only_a_warning() {
    // mcp-hub overwrites `type`; an entry it starts must start here too.
    for (entry, needle) in [
        (r#"{"command": "x", "type": "http"}"#, "has a command (a stdio server); ignored"),
        (r#"{"url": "http://h/mcp", "type": "stdio"}"#, "has a url (a remote server); ignored"),
        (
            r#"{"url": "http://h/mcp", "type": "websocket"}"#,
            "unknown type \"websocket\" is ignored",
        ),
    ] {
        let c = one(&format!(r#"{{"mcpServers": {{"s": {entry}}}}}"#));
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        assert!(c.servers[0].is_valid());
        assert_eq!(c.warnings.len(), 1, "{entry}");
        assert!(c.warnings[0].to_string().contains(needle), "{}", c.warnings[0]);
        assert_eq!(c.warnings[0].path, "mcpServers.s.type");
        assert_eq!(c.warnings[0].position, Some((1, 22 + entry.find("\"type\"").unwrap())));
    }
    let c = one(r#"{"mcpServers": {"s": {"url": "http://h/mcp", "type": "websocket"}}}"#);
    let ServerKind::Remote { transport, .. } = c.servers[0].kind else { panic!() };
    assert_eq!(transport, crate::Transport::Auto);
}

#[test]
fn null_means_absent_for_servers_and_dev_watch() {
    let c = one(r#"{"servers": null, "mcpServers": {"m": {"command": "y"}}}"#);
    assert_eq!(c.servers[0].name, "m");
    let c = one(r#"{"mcpServers": {"s": {"command": "x", "dev": {"cwd": "/s", "watch": null}}}}"#);
    let ServerKind::Stdio { dev: Some(dev), .. } = &c.servers[0].kind else { panic!() };
    assert_eq!(dev.watch, crate::DEV_DEFAULT_WATCH);
}

#[test]
fn dev_mode_defaults_and_checks() {
    let c = one(r#"{"mcpServers": {"s": {"command": "x", "dev": {"cwd": "/src"}}}}"#);
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    let ServerKind::Stdio { dev: Some(dev), .. } = &c.servers[0].kind else { panic!() };
    assert!(dev.enabled, "enabled defaults to true (mcp-hub needs it spelled out)");
    assert_eq!(dev.watch, crate::DEV_DEFAULT_WATCH);
    assert_eq!(dev.cwd, "/src");
    let c = one(
        r#"{"mcpServers": {"s": {"command": "x", "dev": {"cwd": "/src", "enabled": false, "watch": ["*.rs"]}}}}"#,
    );
    let ServerKind::Stdio { dev: Some(dev), .. } = &c.servers[0].kind else { panic!() };
    assert_eq!((dev.enabled, dev.watch.as_slice()), (false, &["*.rs".to_owned()][..]));

    check_errors(r#"{"command": "x", "dev": {}}"#, &["mcpServers.bad.dev.cwd"], "is required");
    check_errors(
        r#"{"command": "x", "dev": {"cwd": "rel"}}"#,
        &["mcpServers.bad.dev.cwd"],
        "absolute",
    );
    check_errors(r#"{"command": "x", "dev": true}"#, &["mcpServers.bad.dev"], "must be an object");
    check_errors(
        r#"{"command": "x", "dev": {"cwd": "/s", "enabled": "yes", "watch": "*.js"}}"#,
        &["mcpServers.bad.dev.enabled", "mcpServers.bad.dev.watch"],
        "array of strings",
    );
    check_errors(
        r#"{"command": "x", "dev": {"cwd": "/s", "watch": [1]}}"#,
        &["mcpServers.bad.dev.watch[0]"],
        "a number",
    );
    check_errors(
        r#"{"url": "http://h", "dev": {"cwd": "/s"}}"#,
        &["mcpServers.bad.dev"],
        "stdio servers only",
    );
}

#[test]
fn settings_problems_are_reported_from_the_file_that_set_them() {
    let c = load(&[
        src("global.json", r#"{"mcpServers": {}, "hub": {"timeouts": {"request": "x"}}}"#),
        src("project.json", r#"{"mcpServers": {}, "hub": {"timeouts": {"list": "y"}}}"#),
    ])
    .unwrap();
    // The later file replaces the whole section, as for every top-level key.
    let shown: Vec<_> = c.problems.iter().map(ToString::to_string).collect();
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert!(
        shown[0].starts_with("project.json:1:41: hub.timeouts.list: invalid duration"),
        "{shown:?}"
    );
}

/// The whole report for a file with many mistakes, as `mcp-hub check` and the log show it.
#[test]
fn error_report_for_a_file_with_many_mistakes() {
    let text = r#"{
  // A config with one mistake of each kind; the good server must survive.
  "$schema": "../docs/schema/config.schema.json",
  mcpServers: {
    good: { command: "npx", args: ["-y", "@modelcontextprotocol/server-everything"] },
    "no-kind": { args: ["x"] },
    both: { command: "x", url: "http://h/mcp" },
    types: {
      command: 42,
      args: ["ok", { bad: true }],
      env: { TOKEN: ["nested"] },
      disabled: "no",
      disabled_tools: "one",
    },
    remote: { url: "http://h/mcp", transport: "stdio", headers: { Authorization: 1.5e9, X: {} } },
    typed: { command: "x", type: "http" },
    dev: { command: "node", dev: { cwd: "src", enabled: 1 } },
    notobject: [],
  },
  hub: {
    timeouts: { request: "soon", conect: "1s" },
    http: { maxSessions: -1 },
    telemetry: {},
  },
}
"#;
    let c = load(&[src("many.json5", text)]).unwrap();
    let mut report: String = c.problems.iter().map(|p| format!("{p}\n")).collect();
    report.extend(c.warnings.iter().map(|w| format!("warning: {w}\n")));
    insta::assert_snapshot!(report);
    let good = c.servers.iter().find(|s| s.name == "good").unwrap();
    assert!(matches!(good.kind, ServerKind::Stdio { .. }));
}

#[test]
fn prefix_mode_defaults_to_always_and_accepts_never() {
    let c = one(
        r#"{"mcpServers": {"a": {"command": "x"}, "b": {"url": "http://h/mcp", "prefix": "never"},
            "c": {"command": "x", "prefix": "always"}}}"#,
    );
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    let modes: Vec<_> = c.servers.iter().map(|s| s.prefix).collect();
    assert_eq!(modes, [crate::Prefix::Always, crate::Prefix::Never, crate::Prefix::Always]);
    check_errors(
        r#"{"command": "x", "prefix": "sometimes"}"#,
        &["mcpServers.bad.prefix"],
        "unknown prefix mode",
    );
    check_errors(
        r#"{"command": "x", "prefix": false}"#,
        &["mcpServers.bad.prefix"],
        "must be a string",
    );
}

#[test]
fn sharing_policy_of_stdio_servers() {
    let c = one(
        r#"{"mcpServers": {"a": {"command": "x"}, "b": {"command": "x", "sharing": "per-session"},
            "c": {"command": "x", "sharing": "per-session", "maxInstances": 2}}}"#,
    );
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    let sharing: Vec<_> = c
        .servers
        .iter()
        .map(|s| match &s.kind {
            ServerKind::Stdio { sharing, .. } => *sharing,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        sharing,
        [
            crate::Sharing::Shared,
            crate::Sharing::PerSession { max_instances: crate::DEFAULT_MAX_INSTANCES },
            crate::Sharing::PerSession { max_instances: 2 },
        ]
    );
    check_errors(
        r#"{"command": "x", "sharing": "pooled"}"#,
        &["mcpServers.bad.sharing"],
        "unknown sharing policy",
    );
    check_errors(
        r#"{"command": "x", "sharing": "per-session", "maxInstances": 0}"#,
        &["mcpServers.bad.maxInstances"],
        "from 1 to 1000",
    );
    check_errors(
        r#"{"url": "http://h/mcp", "sharing": "per-session"}"#,
        &["mcpServers.bad.sharing"],
        "stdio servers only",
    );
    let c = one(r#"{"mcpServers": {"a": {"command": "x", "maxInstances": 3}}}"#);
    assert!(c.problems.is_empty());
    assert!(c.warnings.iter().any(|w| w.path.ends_with("maxInstances")), "{:?}", c.warnings);
}
