use super::{classify, parse_interval};

#[test]
fn errors_are_attributed_to_the_server_they_were_routed_to() {
    let cases = [
        ("server 's2' is not connected", Some("not_connected")),
        ("server 's2': connection closed: child exited", Some("connection_closed")),
        (
            "server 's2' is failing its calls, so the hub is not sending it any (circuit breaker \
             open); a call will be let through again in 30s",
            Some("breaker_open"),
        ),
        ("server 's2': no response to tools/call within 5m", Some("upstream_timeout")),
        ("server 's2': protocol error: bad line", Some("server_other")),
        ("unknown tool 's2__echo'", Some("tool_withdrawn")),
        // Another server named, or none: not attributable.
        ("server 's3' is not connected", None),
        ("unknown tool 's3__echo'", None),
        ("server 's20' is not connected", None),
        ("internal error", None),
        ("", None),
    ];
    for (message, want) in cases {
        assert_eq!(classify("s2", message), want, "{message}");
    }
}

#[test]
fn kill_intervals_parse() {
    assert_eq!(parse_interval("300-700").unwrap(), (300, 700));
    assert_eq!(parse_interval("500").unwrap(), (500, 500));
    assert!(parse_interval("700-300").is_err());
    assert!(parse_interval("0-10").is_err());
    assert!(parse_interval("x").is_err());
}
