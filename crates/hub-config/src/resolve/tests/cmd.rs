//! `${cmd: …}` through a fake runner, and validation-only mode without one.

use super::*;

#[test]
fn command_output_is_trimmed_stdout() {
    let cases: &[(&str, Expect)] = &[
        ("${cmd: echo hi}", Ok("hi")),
        ("${cmd:echo hi}", Ok("hi")),
        ("${ cmd: echo hi }", Ok("hi")),
        ("--token=${cmd: echo s3cr3t}", Ok("--token=s3cr3t")),
        ("${cmd: echo ${TOKEN}}", Ok("t0k")),
        ("${cmd: echo ${cmd: echo inner}}", Ok("inner")),
        ("${cmd: echo a}-${cmd: echo b}", Ok("a-b")),
        ("${${cmd: echo TOKEN}}", Ok("t0k")),
    ];
    for (input, want) in cases {
        check(input, &[("TOKEN", "t0k")], *want);
    }
}

#[test]
fn command_failures_report_the_command_as_written() {
    let cases: &[(&str, Expect)] = &[
        (
            "${cmd: fail}",
            Err(&["mcpServers.s.args[0]: command 'fail' failed: exit status: 1; stderr: boom"]),
        ),
        (
            "${cmd: timeout}",
            Err(&["mcpServers.s.args[0]: command 'timeout' failed: timed out after 30s; killed"]),
        ),
        (
            "${cmd: nosuch ${TOKEN}}",
            Err(&[
                "mcpServers.s.args[0]: command 'nosuch ${TOKEN}' failed: exit status: 127; stderr: sh: nosuch t0k: not found",
            ]),
        ),
        ("${cmd: echo ${NOPE}}", Err(&["mcpServers.s.args[0]: variable 'NOPE' not found"])),
        (
            "${cmd: pem}",
            Err(&[
                "mcpServers.s.args[0]: resolves to a value containing a line break, which is refused",
            ]),
        ),
        (
            "${cmd: fail}${cmd: timeout}",
            Err(&[
                "mcpServers.s.args[0]: command 'fail' failed: exit status: 1; stderr: boom",
                "mcpServers.s.args[0]: command 'timeout' failed: timed out after 30s; killed",
            ]),
        ),
    ];
    for (input, want) in cases {
        check(input, &[("TOKEN", "t0k")], *want);
    }
}

#[test]
fn command_in_env_feeds_siblings_and_fields() {
    check_env(
        &json!({"SECRET": "${cmd: echo s}", "AUTH": "Bearer ${SECRET}"}),
        &[],
        Ok(&[("SECRET", "s"), ("AUTH", "Bearer s")]),
    );
    check_in("${SECRET}", &json!({"SECRET": "${cmd: echo s}"}), &[], Ok("s"));
    check_env(
        &json!({"E": "${cmd: fail}"}),
        &[],
        Err(&["mcpServers.s.env.E: command 'fail' failed: exit status: 1; stderr: boom"]),
    );
}

#[test]
fn the_runner_sees_the_expanded_command() {
    let runner = FakeRunner::default();
    let hub = env(&[("TOKEN", "t0k")]);
    let r =
        stdio_with(&json!({"command": "x", "args": ["${cmd:   echo ${TOKEN}  }"]}), &hub, &runner)
            .unwrap();
    assert_eq!(r.args, ["t0k"]);
    assert_eq!(*runner.calls.borrow(), ["echo t0k"]);
}

#[test]
fn each_resolution_runs_commands_again() {
    // No caching: a rotated secret is re-read at the next connect.
    let runner = FakeRunner::default();
    let hub = env(&[]);
    let entry = json!({"command": "x", "args": ["${cmd: counter}"]});
    let first = stdio_with(&entry, &hub, &runner).unwrap();
    let second = stdio_with(&entry, &hub, &runner).unwrap();
    assert_eq!(first.args, ["v1"]);
    assert_eq!(second.args, ["v2"]);
    assert_eq!(runner.calls.borrow().len(), 2);
}

#[test]
fn without_a_runner_commands_are_not_run() {
    let hub = env(&[("TOKEN", "t0k")]);
    let entry = server(
        &json!({"command": "x", "args": ["${cmd: echo ${TOKEN}}", "a${cmd: rm -rf /}b"], "env": {"E": "${cmd: x}"}}),
    );
    let r = Resolver::new(&hub).stdio(&entry).unwrap();
    assert_eq!(r.args, ["${cmd: echo ${TOKEN}}", "a${cmd: rm -rf /}b"]);
    assert!(r.env.contains(&("E".to_owned(), "${cmd: x}".to_owned())));
    assert_eq!(
        r.warnings,
        [
            "c.json: mcpServers.s.env.E: '${cmd: x}' was not run (validation only); the placeholder text is kept",
            "c.json: mcpServers.s.args[0]: '${cmd: echo ${TOKEN}}' was not run (validation only); the placeholder text is kept",
            "c.json: mcpServers.s.args[1]: '${cmd: rm -rf /}' was not run (validation only); the placeholder text is kept",
        ]
    );
    // Inner placeholders are still checked.
    let entry = server(&json!({"command": "x", "args": ["${cmd: echo ${NOPE}}"]}));
    let errs = resolve_stdio(&entry, &hub, &INHERITED).unwrap_err();
    assert_eq!(messages(&errs), ["mcpServers.s.args[0]: variable 'NOPE' not found"]);
}

#[test]
fn secrets_from_commands_never_show_in_errors_or_debug() {
    let runner = FakeRunner::default();
    let hub = env(&[]);
    let r = stdio_with(
        &json!({"command": "x", "args": ["${cmd: echo topsecret}"], "env": {"K": "${cmd: echo alsosecret}"}}),
        &hub,
        &runner,
    )
    .unwrap();
    let dbg = format!("{r:?}");
    assert!(!dbg.contains("topsecret") && !dbg.contains("alsosecret"), "{dbg}");
    let errs = stdio_with(
        &json!({"command": "x", "args": ["${SECRET}\n", "${cmd: nosuch}"], "env": {"S": "${cmd: echo hidden}", "T": "${S}${NOPE}"}}),
        &hub,
        &runner,
    )
    .unwrap_err();
    for e in &errs {
        let text = format!("{e} {e:?}");
        assert!(!text.contains("hidden"), "{text}");
    }
}
