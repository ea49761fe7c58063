//! `env` blocks: copies, sibling references in any order, self-reference, cycles.

use super::*;

const HUB: &[(&str, &str)] = &[("PATH", "/bin"), ("TOKEN", "hub-token"), ("HOME", "/h")];

#[test]
fn copies_and_plain_values() {
    check_env(&json!({"A": "1"}), HUB, Ok(&[("A", "1")]));
    check_env(&json!({"TOKEN": null}), HUB, Ok(&[("TOKEN", "hub-token")]));
    check_env(&json!({"TOKEN": ""}), HUB, Ok(&[("TOKEN", "hub-token")]));
    check_env(&json!({"PORT": 8080}), HUB, Ok(&[("PORT", "8080")]));
    check_env(
        &json!({"K": "x", "input:key": null}),
        &[("MCP_HUB_ENV", r#"{"input:key": "from-input"}"#)],
        Ok(&[("K", "x"), ("input:key", "from-input")]),
    );
    check_env(
        &json!({"NOPE": null, "ALSO": ""}),
        HUB,
        Err(&[
            "mcpServers.s.env.NOPE: variable 'NOPE' not found",
            "mcpServers.s.env.ALSO: variable 'ALSO' not found",
        ]),
    );
}

#[test]
fn env_values_may_span_lines() {
    check_env(
        &json!({"PEM": "-----BEGIN-----\nabc\n-----END-----"}),
        HUB,
        Ok(&[("PEM", "-----BEGIN-----\nabc\n-----END-----")]),
    );
    check_env(
        &json!({"KEY": "${cmd: pem}"}),
        HUB,
        Ok(&[("KEY", "-----BEGIN-----\nabc\n-----END-----")]),
    );
}

#[test]
fn env_names_with_line_breaks_or_equals_are_refused() {
    check_env(
        &json!({"A\nB": "x"}),
        HUB,
        Err(&[
            "mcpServers.s.env: a variable name is empty or contains a line break, '=' or NUL, which is refused",
        ]),
    );
    check_env(
        &json!({"A=B": "x"}),
        HUB,
        Err(&[
            "mcpServers.s.env: a variable name is empty or contains a line break, '=' or NUL, which is refused",
        ]),
    );
}

#[test]
fn sibling_references_resolve_in_any_order() {
    check_env(&json!({"A": "a", "B": "${A}-b"}), HUB, Ok(&[("A", "a"), ("B", "a-b")]));
    check_env(&json!({"B": "${A}-b", "A": "a"}), HUB, Ok(&[("B", "a-b"), ("A", "a")]));
    check_env(
        &json!({"C": "${B}+c", "B": "${A}+b", "A": "a"}),
        HUB,
        Ok(&[("C", "a+b+c"), ("B", "a+b"), ("A", "a")]),
    );
    check_env(
        &json!({"URL": "https://${HOST}:${PORT}", "HOST": "h", "PORT": 1}),
        HUB,
        Ok(&[("URL", "https://h:1"), ("HOST", "h"), ("PORT", "1")]),
    );
    check_env(&json!({"D": "${A}${A}${A}", "A": "x"}), HUB, Ok(&[("D", "xxx"), ("A", "x")]));
    // A copy (`null`) can be referenced by a sibling.
    check_env(
        &json!({"B": "<${TOKEN}>", "TOKEN": null}),
        HUB,
        Ok(&[("B", "<hub-token>"), ("TOKEN", "hub-token")]),
    );
    // Nested names may compute a sibling's name.
    check_env(
        &json!({"WHICH": "A", "A": "x", "V": "${${WHICH}}"}),
        HUB,
        Ok(&[("WHICH", "A"), ("A", "x"), ("V", "x")]),
    );
}

#[test]
fn siblings_win_over_the_hub_env() {
    check_env(
        &json!({"TOKEN": "own", "B": "${TOKEN}"}),
        HUB,
        Ok(&[("TOKEN", "own"), ("B", "own")]),
    );
    check_env(
        &json!({"B": "${TOKEN}", "TOKEN": "own"}),
        HUB,
        Ok(&[("B", "own"), ("TOKEN", "own")]),
    );
    check_env(
        &json!({"B": "${TOKEN}"}),
        &[("TOKEN", "hub"), ("MCP_HUB_ENV", r#"{"TOKEN": "hubenv"}"#)],
        Ok(&[("B", "hubenv")]),
    );
}

#[test]
fn self_reference_means_the_hubs_value() {
    check_env(&json!({"PATH": "${PATH}:/extra"}), HUB, Ok(&[("PATH", "/bin:/extra")]));
    check_env(&json!({"PATH": "/first:${env:PATH}"}), HUB, Ok(&[("PATH", "/first:/bin")]));
    check_env(
        &json!({"PATH": "${PATH}:/x", "P2": "${PATH}"}),
        HUB,
        Ok(&[("PATH", "/bin:/x"), ("P2", "/bin:/x")]),
    );
    check_env(
        &json!({"NOPE": "${NOPE}"}),
        HUB,
        Err(&["mcpServers.s.env.NOPE: variable 'NOPE' not found"]),
    );
}

#[test]
fn cycles_are_errors_naming_the_path() {
    check_env(
        &json!({"A": "${B}", "B": "${A}"}),
        HUB,
        Err(&["mcpServers.s.env: cycle A -> B -> A"]),
    );
    check_env(
        &json!({"B": "${A}", "A": "${B}"}),
        HUB,
        Err(&["mcpServers.s.env: cycle B -> A -> B"]),
    );
    check_env(
        &json!({"A": "${B}", "B": "x${C}", "C": "${A}y"}),
        HUB,
        Err(&["mcpServers.s.env: cycle A -> B -> C -> A"]),
    );
    // A key depending on a cycle is not reported again.
    check_env(
        &json!({"D": "${A}", "A": "${B}", "B": "${A}", "E": "fine"}),
        HUB,
        Err(&["mcpServers.s.env: cycle A -> B -> A"]),
    );
    // A computed self-reference is a self-reference: the hub's value.
    check_env(
        &json!({"A": "${${B}}", "B": "A"}),
        HUB,
        Err(&["mcpServers.s.env.A: variable named by '${B}' not found"]),
    );
    check_env(
        &json!({"A": "${${B}}", "B": "${A}"}),
        HUB,
        Err(&["mcpServers.s.env: cycle A -> B -> A"]),
    );
}

#[test]
fn failures_in_siblings_are_reported_once_at_their_key() {
    check_env(
        &json!({"A": "${B}", "B": "${NOPE}"}),
        HUB,
        Err(&["mcpServers.s.env.B: variable 'NOPE' not found"]),
    );
    check_env(
        &json!({"A": "${X1}", "B": "${X2}", "C": "${X3}"}),
        HUB,
        Err(&[
            "mcpServers.s.env.A: variable 'X1' not found",
            "mcpServers.s.env.B: variable 'X2' not found",
            "mcpServers.s.env.C: variable 'X3' not found",
        ]),
    );
}

#[test]
fn fields_see_the_servers_resolved_env() {
    check_in("${LOCAL}", &json!({"LOCAL": "from-env"}), &[], Ok("from-env"));
    check_in("${TOKEN}", &json!({"TOKEN": "own"}), HUB, Ok("own"));
    check_in("${PATH}", &json!({"PATH": "${PATH}:/x"}), HUB, Ok("/bin:/x"));
    check_in("$LOCAL", &json!({"LOCAL": "v"}), &[], Ok("v"));
    // A field referencing a failed env key is not reported again, nor does it fall back to the hub.
    check_in(
        "${TOKEN}",
        &json!({"TOKEN": "${NOPE}"}),
        HUB,
        Err(&["mcpServers.s.env.TOKEN: variable 'NOPE' not found"]),
    );
}
