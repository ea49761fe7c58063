//! Every placeholder form, one value at a time.

use super::*;

const HUB: &[(&str, &str)] = &[
    ("A", "alpha"),
    ("B", "beta"),
    ("EMPTY", ""),
    ("HOME", "/home/u"),
    ("NAME", "A"),
    ("NAME2", "NAME"),
    ("PREFIX", "NA"),
    ("CMDNAME", "cmd: echo pwned"),
    ("workspaceFolder", "/from/env"),
    ("MCP_HUB_ENV", r#"{"input:key": "k3y", "A": "from-hub-env", "N": 5}"#),
];

#[test]
fn plain_text_and_simple_variables() {
    let cases: &[(&str, Expect)] = &[
        ("", Ok("")),
        ("plain", Ok("plain")),
        ("--flag=1", Ok("--flag=1")),
        ("${B}", Ok("beta")),
        ("${ B }", Ok("beta")),
        ("pre-${B}-post", Ok("pre-beta-post")),
        ("${B}${B}", Ok("betabeta")),
        ("${EMPTY}", Ok("")),
        ("${env:B}", Ok("beta")),
        ("${env:B}/${B}", Ok("beta/beta")),
        ("$", Ok("$")),
        ("$$", Ok("$$")),
        ("a$b", Ok("a$b")),
        ("${B}$", Ok("beta$")),
        ("{B}", Ok("{B}")),
        ("}", Ok("}")),
        ("$ {B}", Ok("$ {B}")),
    ];
    for (input, want) in cases {
        check(input, HUB, *want);
    }
}

#[test]
fn mcp_hub_env_inputs_and_precedence() {
    let cases: &[(&str, Expect)] = &[
        ("${input:key}", Ok("k3y")),
        ("--key=${input:key}", Ok("--key=k3y")),
        // MCP_HUB_ENV wins over the hub's environment.
        ("${A}", Ok("from-hub-env")),
        ("${env:A}", Ok("from-hub-env")),
        // Non-string JSON values are their JSON text.
        ("${N}", Ok("5")),
        // The hub's environment wins over predefined variables.
        ("${workspaceFolder}", Ok("/from/env")),
        ("${input:nope}", Err(&["mcpServers.s.args[0]: variable 'input:nope' not found"])),
    ];
    for (input, want) in cases {
        check(input, HUB, *want);
    }
}

#[test]
fn predefined_variables() {
    let hub: &[(&str, &str)] = &[("HOME", "/home/u")];
    let cases: &[(&str, Expect)] = &[
        ("${workspaceFolder}", Ok("/work/proj")),
        ("${cwd}", Ok("/work/proj")),
        ("${workspaceFolderBasename}", Ok("proj")),
        ("${userHome}", Ok("/home/u")),
        ("${userHome}${/}.config", Ok("/home/u/.config")),
        ("${pathSeparator}", Ok("/")),
        ("${/}", Ok("/")),
        ("${workspaceFolder}/src", Ok("/work/proj/src")),
    ];
    for (input, want) in cases {
        check(input, hub, *want);
    }
    // Without HOME, `userHome` is undefined.
    check("${userHome}", &[], Err(&["mcpServers.s.args[0]: variable 'userHome' not found"]));
}

#[test]
fn predefined_cwd_is_undefined_without_one() {
    let hub = env(&[]);
    let entry =
        server(&json!({"command": "x", "args": ["${cwd}", "${workspaceFolderBasename}", "${/}"]}));
    let errs = Resolver::new(&hub).stdio(&entry).unwrap_err();
    assert_eq!(
        messages(&errs),
        [
            "mcpServers.s.args[0]: variable 'cwd' not found",
            "mcpServers.s.args[1]: variable 'workspaceFolderBasename' not found"
        ]
    );
}

#[test]
fn nesting_resolves_inner_first() {
    let cases: &[(&str, Expect)] = &[
        ("${${NAME}}", Ok("from-hub-env")),
        ("${${PREFIX}ME}", Ok("A")),
        ("${${${NAME2}}}", Ok("from-hub-env")),
        ("x${${NAME}}y${B}", Ok("xfrom-hub-envybeta")),
        ("${env:${NAME}}", Ok("from-hub-env")),
        // A computed name never becomes a command.
        // A computed name is reported as written: the computed text may hold a secret value.
        ("${${CMDNAME}}", Err(&["mcpServers.s.args[0]: variable named by '${CMDNAME}' not found"])),
        ("${${MISSING}}", Err(&["mcpServers.s.args[0]: variable 'MISSING' not found"])),
    ];
    for (input, want) in cases {
        check(input, HUB, *want);
    }
}

#[test]
fn nesting_depth_limit_is_ten() {
    // `${` × n + `B` + `}` × n: n levels of placeholders; the inner ones name variables whose
    // values are the next name, so build the chain B <- V1 <- V2 … in the environment.
    let mut hub: Vec<(String, String)> = vec![("V0".into(), "beta".into())];
    for i in 1..=12 {
        hub.push((format!("V{i}"), format!("V{}", i - 1)));
    }
    let hub_ref: Vec<(&str, &str)> = hub.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let nested = |n: usize| format!("{}V{}{}", "${".repeat(n), n - 1, "}".repeat(n));
    // n levels resolve V(n-1) -> … -> V0 -> beta.
    check(&nested(1), &hub_ref, Ok("beta"));
    check(&nested(10), &hub_ref, Ok("beta"));
    check(
        &nested(11),
        &hub_ref,
        Err(&["mcpServers.s.args[0]: placeholders nest deeper than 10 levels"]),
    );
    assert_eq!(MAX_DEPTH, 10);
}

#[test]
fn unmatched_braces_stay_literal() {
    let cases: &[(&str, Expect)] = &[
        ("${", Ok("${")),
        ("${B", Ok("${B")),
        ("keep ${ unmatched", Ok("keep ${ unmatched")),
        ("${B} then ${", Ok("beta then ${")),
        ("${${B}", Ok("${${B}")),
        ("${B}}", Ok("beta}")),
    ];
    for (input, want) in cases {
        check(input, HUB, *want);
    }
}

#[test]
fn vector_style_defaults_and_required() {
    let cases: &[(&str, Expect)] = &[
        ("${B:-dflt}", Ok("beta")),
        ("${NOPE:-dflt}", Ok("dflt")),
        ("${EMPTY:-dflt}", Ok("dflt")),
        ("${NOPE:-}", Ok("")),
        ("${NOPE:-${B}}", Ok("beta")),
        ("${B:-${NOPE}}", Ok("beta")),
        ("${env:NOPE:-d}", Ok("d")),
        ("${NOPE:-a:-b}", Ok("a:-b")),
        ("${B:?set B}", Ok("beta")),
        (
            "${NOPE:?set NOPE to your token}",
            Err(&["mcpServers.s.args[0]: variable 'NOPE' is required: set NOPE to your token"]),
        ),
        ("${EMPTY:?needed}", Err(&["mcpServers.s.args[0]: variable 'EMPTY' is required: needed"])),
    ];
    for (input, want) in cases {
        check(input, HUB, *want);
    }
}

#[test]
fn missing_variables_are_all_reported_at_once() {
    let cases: &[(&str, Expect)] = &[
        ("${NOPE}", Err(&["mcpServers.s.args[0]: variable 'NOPE' not found"])),
        ("${env:NOPE}", Err(&["mcpServers.s.args[0]: variable 'NOPE' not found"])),
        ("${}", Err(&["mcpServers.s.args[0]: variable '' not found"])),
        (
            "${X1}-${B}-${X2}",
            Err(&[
                "mcpServers.s.args[0]: variable 'X1' not found",
                "mcpServers.s.args[0]: variable 'X2' not found",
            ]),
        ),
    ];
    for (input, want) in cases {
        check(input, HUB, *want);
    }
}

#[test]
fn legacy_dollar_var_in_args_warns() {
    let hub = env(&[("TOKEN", "t0k")]);
    let entry = json!({"command": "x", "args": ["$TOKEN", "x$TOKEN", "$TOKEN/x", "$1"]});
    let r = stdio_with(&entry, &hub, &FakeRunner::default()).unwrap();
    assert_eq!(r.args, ["t0k", "x$TOKEN", "$TOKEN/x", "$1"]);
    assert_eq!(
        r.warnings,
        ["c.json: mcpServers.s.args[0]: '$TOKEN' is deprecated; write '${TOKEN}'"]
    );
    check("$NOPE", &[], Err(&["mcpServers.s.args[0]: variable 'NOPE' not found"]));
    check("$_under_1", &[("_under_1", "u")], Ok("u"));
}

#[test]
fn legacy_dollar_var_is_args_only() {
    let hub = env(&[("TOKEN", "t0k")]);
    let entry = json!({"command": "$TOKEN", "cwd": "$TOKEN", "env": {"E": "$TOKEN"}});
    let r = stdio_with(&entry, &hub, &FakeRunner::default()).unwrap();
    assert_eq!(r.command, "$TOKEN");
    assert_eq!(r.cwd.as_deref(), Some("$TOKEN"));
    assert!(r.env.contains(&("E".to_owned(), "$TOKEN".to_owned())));
    assert!(r.warnings.is_empty());
}

#[test]
fn resolved_values_are_not_expanded_again() {
    let cases: &[(&str, Expect)] = &[("${LOOKS}", Ok("${B}")), ("${DOLLAR}", Ok("$B"))];
    for (input, want) in cases {
        check(input, &[("LOOKS", "${B}"), ("DOLLAR", "$B"), ("B", "beta")], *want);
    }
    check("$LOOKS", &[("LOOKS", "${B}"), ("B", "beta")], Ok("${B}"));
}

#[test]
fn line_breaks_are_refused_in_fields() {
    let e: Expect = Err(&[
        "mcpServers.s.args[0]: resolves to a value containing a line break, which is refused",
    ]);
    check("${V}", &[("V", "a\n--evil")], e);
    check("${V}", &[("V", "a\r")], e);
    check("$V", &[("V", "a\n")], e);
    let hub = env(&[("V", "a\nb")]);
    let errs = stdio_with(&json!({"command": "${V}", "cwd": "${V}"}), &hub, &FakeRunner::default())
        .unwrap_err();
    assert_eq!(
        messages(&errs),
        [
            "mcpServers.s.command: resolves to a value containing a line break, which is refused",
            "mcpServers.s.cwd: resolves to a value containing a line break, which is refused",
        ]
    );
    assert!(!errs[0].to_string().contains("a\nb"));
}

/// Found by the `config_resolve` fuzz target: a name computed from a secret must not be echoed.
#[test]
fn a_computed_name_never_shows_the_secret_it_was_built_from() {
    let source = env(&[("SECRET", "zz-secret-value-zz")]);
    for text in ["${SEC(cmd: echo ${SECRET}}", "${X${SECRET}:?needed}", "${${SECRET}}"] {
        let errs = resolve_stdio(&server(&json!({"command": "x", "args": [text]})), &source, &[])
            .unwrap_err();
        for e in &errs {
            assert!(!e.to_string().contains("zz-secret"), "{text}: {e}");
        }
    }
}
