use super::*;
use crate::{EnvMap, Source, load};

const INHERITED: [&str; 6] = ["HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER"];

fn env(pairs: &[(&str, &str)]) -> EnvMap {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn server(entry: &str) -> crate::Server {
    let c = load(&[Source {
        path: "c.json".into(),
        text: format!(r#"{{"mcpServers": {{"s": {entry}}}}}"#),
    }])
    .unwrap();
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    c.servers.into_iter().next().unwrap()
}

/// The funnel: entry text + environment → resolved result or the error messages.
fn check(entry: &str, source: &EnvMap) -> Result<ResolvedStdio, Vec<String>> {
    resolve_stdio(&server(entry), source, &INHERITED)
        .map_err(|errs| errs.iter().map(ToString::to_string).collect())
}

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
    let r =
        check(r#"{"command": "x", "env": {"OWN": "o", "SHARED": "override"}}"#, &source).unwrap();
    assert_eq!(get(&r, "HOME"), Some("/home/u"));
    assert_eq!(get(&r, "PATH"), Some("/bin"));
    assert_eq!(get(&r, "SECRET_OF_HUB"), None, "the rest of the hub's env is not inherited");
    assert_eq!(get(&r, "TERM"), None, "exported shell functions are skipped");
    assert_eq!(get(&r, "input:key"), Some("k"));
    assert_eq!(get(&r, "N"), Some("5"));
    assert_eq!(get(&r, "SHARED"), Some("override"), "server env wins over MCP_HUB_ENV");
    assert_eq!(get(&r, "OWN"), Some("o"));
}

#[test]
fn placeholders_resolve_in_command_args_env_and_cwd() {
    let source = env(&[
        ("TOKEN", "t0k"),
        ("DIR", "/srv"),
        ("HOME", "/h"),
        ("MCP_HUB_ENV", r#"{"input:api": "A"}"#),
    ]);
    let r = check(
        r#"{"command": "${DIR}/bin/srv", "args": ["--token=${env:TOKEN}", "${input:api}", "${userHome}${/}x", "keep ${ unmatched", "$plain"], "env": {"K": "pre-${TOKEN}", "COPY": null}, "cwd": "${DIR}"}"#,
        &env(&[("COPY", "copied")].iter().copied().chain(source.iter().map(|(k, v)| (k.as_str(), v.as_str()))).collect::<Vec<_>>()),
    )
    .unwrap();
    assert_eq!(r.command, "/srv/bin/srv");
    assert_eq!(r.args, ["--token=t0k", "A", "/h/x", "keep ${ unmatched", "$plain"]);
    assert_eq!(get(&r, "K"), Some("pre-t0k"));
    assert_eq!(get(&r, "COPY"), Some("copied"));
    assert_eq!(r.cwd.as_deref(), Some("/srv"));
}

#[test]
fn args_can_use_the_servers_resolved_env() {
    let r =
        check(r#"{"command": "x", "args": ["${LOCAL}"], "env": {"LOCAL": "from-env"}}"#, &env(&[]))
            .unwrap();
    assert_eq!(r.args, ["from-env"]);
}

#[test]
fn every_problem_is_reported_with_its_path() {
    let errs = check(
        r#"{"command": "${NOPE_A}", "args": ["ok", "${NOPE_B}", "${cmd: echo hi}"], "env": {"E": "${NOPE_C}", "F": null}}"#,
        &env(&[]),
    )
    .unwrap_err();
    assert_eq!(errs.len(), 5, "{errs:#?}");
    assert!(
        errs[0].contains("mcpServers.s.env.E") && errs[0].contains("'NOPE_C' not found"),
        "{}",
        errs[0]
    );
    assert!(errs[1].contains("mcpServers.s.env.F") && errs[1].contains("'F' not found"));
    assert!(errs[2].contains("mcpServers.s.command") && errs[2].contains("'NOPE_A'"));
    assert!(errs[3].contains("args[1]"));
    assert!(errs[4].contains("args[2]") && errs[4].contains("not supported yet"));
}

#[test]
fn line_breaks_are_refused_where_they_would_inject() {
    let errs =
        check(r#"{"command": "x", "args": ["${V}"]}"#, &env(&[("V", "a\n--evil")])).unwrap_err();
    assert!(errs[0].contains("line break"), "{errs:?}");
}

#[test]
fn nested_placeholders_are_reported_not_guessed() {
    let errs =
        check(r#"{"command": "x", "args": ["${${NAME}}"]}"#, &env(&[("NAME", "A")])).unwrap_err();
    assert!(errs[0].contains("nested"), "{errs:?}");
}

#[test]
fn invalid_mcp_hub_env_is_a_warning() {
    let r = check(r#"{"command": "x"}"#, &env(&[("MCP_HUB_ENV", "not json")])).unwrap();
    assert_eq!(r.warnings.len(), 1);
}

#[test]
fn debug_hides_values() {
    let r = check(r#"{"command": "x", "env": {"T": "supersecret"}}"#, &env(&[])).unwrap();
    assert!(!format!("{r:?}").contains("supersecret"));
}
