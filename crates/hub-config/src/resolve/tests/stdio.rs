//! Whole stdio entries: the child's environment, every field, every problem at once.

use super::*;

fn get<'a>(r: &'a ResolvedStdio, k: &str) -> Option<&'a str> {
    r.env.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str())
}

#[test]
fn child_env_is_allowlist_plus_hub_env_plus_server_env() {
    let source = env(&[
        ("HOME", "/home/u"),
        ("PATH", "/bin"),
        ("SECRET_OF_HUB", "nope"),
        ("TERM", "() { :; }"),
        ("MCP_HUB_ENV", r#"{"SHARED": "s", "input:key": "k", "N": 5}"#),
    ]);
    let r = resolve_stdio(
        &server(&json!({"command": "x", "env": {"OWN": "o", "SHARED": "override"}})),
        &source,
        &INHERITED,
    )
    .unwrap();
    assert_eq!(get(&r, "HOME"), Some("/home/u"));
    assert_eq!(get(&r, "PATH"), Some("/bin"));
    assert_eq!(get(&r, "SECRET_OF_HUB"), None, "the rest of the hub's env is not inherited");
    assert_eq!(get(&r, "TERM"), None, "exported shell functions are skipped");
    assert_eq!(get(&r, "input:key"), Some("k"));
    assert_eq!(get(&r, "N"), Some("5"));
    assert_eq!(get(&r, "SHARED"), Some("override"), "server env wins over MCP_HUB_ENV");
    assert_eq!(get(&r, "OWN"), Some("o"));
    assert!(r.warnings.is_empty());
}

#[test]
fn placeholders_resolve_in_command_args_env_and_cwd() {
    let source = env(&[
        ("TOKEN", "t0k"),
        ("DIR", "/srv"),
        ("HOME", "/h"),
        ("COPY", "copied"),
        ("MCP_HUB_ENV", r#"{"input:api": "A"}"#),
    ]);
    let r = resolve_stdio(
        &server(&json!({"command": "${DIR}/bin/srv", "args": ["--token=${env:TOKEN}", "${input:api}", "${userHome}${/}x", "keep ${ unmatched"], "env": {"K": "pre-${TOKEN}", "COPY": null}, "cwd": "${DIR}"})),
        &source,
        &INHERITED,
    )
    .unwrap();
    assert_eq!(r.command, "/srv/bin/srv");
    assert_eq!(r.args, ["--token=t0k", "A", "/h/x", "keep ${ unmatched"]);
    assert_eq!(get(&r, "K"), Some("pre-t0k"));
    assert_eq!(get(&r, "COPY"), Some("copied"));
    assert_eq!(r.cwd.as_deref(), Some("/srv"));
}

#[test]
fn every_problem_is_reported_with_its_path() {
    let errs = stdio_with(
        &json!({"command": "${NOPE_A}", "args": ["ok", "${NOPE_B}", "${cmd: fail}"], "env": {"E": "${NOPE_C}", "F": null}, "cwd": "${NOPE_D}"}),
        &env(&[]),
        &FakeRunner::default(),
    )
    .unwrap_err();
    assert_eq!(
        messages(&errs),
        [
            "mcpServers.s.env.E: variable 'NOPE_C' not found",
            "mcpServers.s.env.F: variable 'F' not found",
            "mcpServers.s.command: variable 'NOPE_A' not found",
            "mcpServers.s.args[1]: variable 'NOPE_B' not found",
            "mcpServers.s.args[2]: command 'fail' failed: exit status: 1; stderr: boom",
            "mcpServers.s.cwd: variable 'NOPE_D' not found",
        ]
    );
    assert!(errs.iter().all(|e| e.file == "c.json"));
}

#[test]
fn errors_carry_file_and_hints() {
    let errs = resolve_stdio(
        &server(&json!({"command": "${NOPE}", "args": ["${input:tok}"]})),
        &env(&[]),
        &INHERITED,
    )
    .unwrap_err();
    assert_eq!(
        errs[0].to_string(),
        "c.json: mcpServers.s.command: variable 'NOPE' not found (hint: set it in the hub's environment, in MCP_HUB_ENV, or in the server's env)"
    );
    assert_eq!(
        errs[1].hint.as_deref(),
        Some(r#"supply it in MCP_HUB_ENV, e.g. MCP_HUB_ENV='{"input:tok": "…"}'"#)
    );
}

#[test]
fn invalid_mcp_hub_env_is_a_warning() {
    let r = resolve_stdio(
        &server(&json!({"command": "x"})),
        &env(&[("MCP_HUB_ENV", "not json")]),
        &INHERITED,
    )
    .unwrap();
    assert_eq!(r.warnings, ["MCP_HUB_ENV is not a JSON object; ignored"]);
    let r = resolve_stdio(
        &server(&json!({"command": "x"})),
        &env(&[("MCP_HUB_ENV", "[1]")]),
        &INHERITED,
    )
    .unwrap();
    assert_eq!(r.warnings.len(), 1);
}

#[test]
fn debug_hides_values() {
    let hub = env(&[("SECRET", "supersecret")]);
    let r = resolve_stdio(
        &server(&json!({"command": "x", "args": ["--t=${SECRET}"], "env": {"T": "supersecret", "U": "${SECRET}"}, "cwd": "/supersecret"})),
        &hub,
        &INHERITED,
    )
    .unwrap();
    assert!(!format!("{r:?}").contains("supersecret"), "{r:?}");
    let runner = FakeRunner::default();
    let resolver = Resolver::new(&hub).with_runner(&runner).with_cwd(CWD);
    assert!(!format!("{resolver:?}").contains("supersecret"));
}

#[test]
fn errors_never_contain_secret_values() {
    let hub = env(&[("SECRET", "supersecret"), ("MCP_HUB_ENV", r#"{"S2": "hubsecret"}"#)]);
    let entry = server(&json!({
        "command": "${SECRET}\n",
        "args": ["${SECRET}${NOPE}", "$NOPE2", "${${SECRET}X:-${S2}\r}"],
        "env": {"A": "${SECRET}${B}", "B": "${A}", "C": "${S2}${NOPE3}", "D": "${SECRET:?need it}${NOPE4:?need it}"},
        "cwd": "${S2}\n",
    }));
    let errs = Resolver::new(&hub).with_runner(&FakeRunner::default()).stdio(&entry).unwrap_err();
    assert!(errs.len() >= 6, "{errs:#?}");
    for e in &errs {
        let text = format!("{e} {e:?}");
        assert!(!text.contains("supersecret") && !text.contains("hubsecret"), "{text}");
    }
}

#[test]
fn remote_entries_are_not_stdio_and_invalid_entries_neither() {
    let hub = env(&[]);
    let c = load(&[Source {
        path: "c.json".into(),
        text: r#"{"mcpServers": {"s": {"command": 3}}}"#.into(),
    }])
    .unwrap();
    let errs = resolve_stdio(&c.servers[0], &hub, &INHERITED).unwrap_err();
    assert_eq!(messages(&errs), ["mcpServers.s: not a stdio server"]);
}
