//! Remote entries: `url` checked after resolution, headers, the entry's own `env` as context.

use super::*;

const HUB: &[(&str, &str)] =
    &[("BASE", "https://api.example.com"), ("HOST", "example.com"), ("TOKEN", "t0k")];

const BAD_URL_HINT: &str =
    "write an http or https URL with a host, e.g. \"https://example.com/mcp\"";

#[test]
fn url_is_validated_after_resolution() {
    let ok: &[(&str, &str)] = &[
        ("${BASE}/mcp", "https://api.example.com/mcp"),
        ("https://${HOST}/mcp", "https://example.com/mcp"),
        ("http://localhost:3000/mcp", "http://localhost:3000/mcp"),
        ("HTTPS://EXAMPLE.COM", "HTTPS://EXAMPLE.COM"),
        ("http://[::1]:8080/mcp", "http://[::1]:8080/mcp"),
        ("https://user:pw@host/x?y#z", "https://user:pw@host/x?y#z"),
        ("https://${HOST}/mcp?token=${TOKEN}", "https://example.com/mcp?token=t0k"),
        ("${BASE:-http://fallback}/mcp", "https://api.example.com/mcp"),
        ("${NOPE:-http://fallback}/mcp", "http://fallback/mcp"),
        ("${cmd: echo https://x.test}/mcp", "https://x.test/mcp"),
    ];
    for (url, want) in ok {
        check_remote(&json!({"url": url}), HUB, Ok((want, &[])));
    }
    let bad: &[(&str, &str)] = &[
        (
            "not a url",
            "mcpServers.s.url: resolves to a URL containing whitespace or control characters",
        ),
        (
            "ftp://example.com",
            "mcpServers.s.url: resolves to a value that is not an http or https URL",
        ),
        (
            "example.com/mcp",
            "mcpServers.s.url: resolves to a value that is not an http or https URL",
        ),
        ("https:///mcp", "mcpServers.s.url: resolves to a URL without a host"),
        ("https://", "mcpServers.s.url: resolves to a URL without a host"),
        ("http://host:99999/", "mcpServers.s.url: resolves to a URL with an invalid port"),
        ("http://host:abc/", "mcpServers.s.url: resolves to a URL with an invalid port"),
        ("http://[::1/", "mcpServers.s.url: resolves to a URL with an invalid IPv6 host"),
        (
            "${EMPTYISH}/mcp",
            "mcpServers.s.url: resolves to a value that is not an http or https URL",
        ),
        ("${NOPE}/mcp", "mcpServers.s.url: variable 'NOPE' not found"),
        (
            "https://${HOST}\n/mcp",
            "mcpServers.s.url: resolves to a value containing a line break, which is refused",
        ),
    ];
    for (url, want) in bad {
        check_remote(
            &json!({"url": url}),
            &[("EMPTYISH", ""), ("HOST", "h")],
            Err(std::slice::from_ref(want)),
        );
    }
}

#[test]
fn url_errors_carry_a_hint_and_hide_the_value() {
    let hub = env(&[("BAD", "ftp://secret-token@host")]);
    let errs = Resolver::new(&hub).remote(&server(&json!({"url": "${BAD}"}))).unwrap_err();
    assert_eq!(errs[0].hint.as_deref(), Some(BAD_URL_HINT));
    assert!(!errs[0].to_string().contains("secret-token"), "{}", errs[0]);
}

#[test]
fn headers_resolve_and_refuse_injection() {
    check_remote(
        &json!({"url": "https://h", "headers": {"Authorization": "Bearer ${TOKEN}", "X-Static": "s"}}),
        HUB,
        Ok(("https://h", &[("Authorization", "Bearer t0k"), ("X-Static", "s")])),
    );
    check_remote(
        &json!({"url": "https://h", "headers": {"X-Evil": "${V}"}}),
        &[("V", "a\r\nSet-Cookie: x")],
        Err(&[
            "mcpServers.s.headers.X-Evil: resolves to a value containing a line break, which is refused",
        ]),
    );
    check_remote(
        &json!({"url": "https://h", "headers": {"X-A\nB": "v"}}),
        &[],
        Err(&[
            "mcpServers.s.headers: a header name is empty or contains a line break or ':', which is refused",
        ]),
    );
    check_remote(
        &json!({"url": "https://h", "headers": {"A": "${NOPE1}", "B": "${NOPE2}"}}),
        &[],
        Err(&[
            "mcpServers.s.headers.A: variable 'NOPE1' not found",
            "mcpServers.s.headers.B: variable 'NOPE2' not found",
        ]),
    );
}

#[test]
fn a_remote_entrys_env_is_context_for_url_and_headers() {
    check_remote(
        &json!({"url": "${BASE_URL}/mcp", "env": {"BASE_URL": "https://${HOST}", "SECRET": "${cmd: echo s3}"}, "headers": {"Authorization": "Bearer ${SECRET}"}}),
        HUB,
        Ok(("https://example.com/mcp", &[("Authorization", "Bearer s3")])),
    );
    check_remote(
        &json!({"url": "https://h", "env": {"A": "${B}", "B": "${A}"}}),
        &[],
        Err(&["mcpServers.s.env: cycle A -> B -> A"]),
    );
    check_remote(
        &json!({"url": "https://h/${TOKEN}", "env": {"TOKEN": null}}),
        HUB,
        Ok(("https://h/t0k", &[])),
    );
}

#[test]
fn remote_debug_hides_url_and_header_values() {
    let hub = env(&[("TOKEN", "t0psecret")]);
    let r = Resolver::new(&hub)
        .remote(&server(
            &json!({"url": "https://h/?k=${TOKEN}", "headers": {"Authorization": "${TOKEN}"}}),
        ))
        .unwrap();
    let dbg = format!("{r:?}");
    assert!(!dbg.contains("t0psecret") && dbg.contains("Authorization"), "{dbg}");
}

#[test]
fn wrong_kind_is_an_error() {
    let hub = env(&[]);
    let errs = Resolver::new(&hub).remote(&server(&json!({"command": "x"}))).unwrap_err();
    assert_eq!(messages(&errs), ["mcpServers.s: not a remote (url) server"]);
    let errs = Resolver::new(&hub).stdio(&server(&json!({"url": "https://h"}))).unwrap_err();
    assert_eq!(messages(&errs), ["mcpServers.s: not a stdio server"]);
}
