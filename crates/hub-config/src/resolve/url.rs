//! The check a remote `url` must pass once resolved: an http or https URL with a host.

/// `Ok` if `url` is `http://` or `https://` followed by a host (optionally `user@`, `:port`);
/// else what is wrong, without repeating the URL (it may carry a token).
pub(super) fn check(url: &str) -> Result<(), &'static str> {
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("a URL containing whitespace or control characters");
    }
    let lower = url.to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &url[8..]
    } else if lower.starts_with("http://") {
        &url[7..]
    } else {
        return Err("a value that is not an http or https URL");
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
        match v6.split_once(']') {
            Some((h, after)) if !h.is_empty() => (h, after.strip_prefix(':')),
            _ => return Err("a URL with an invalid IPv6 host"),
        }
    } else {
        match host_port.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        }
    };
    if host.is_empty() {
        return Err("a URL without a host");
    }
    if host.contains(['<', '>', '"', '\\', '^', '`', '{', '|', '}']) {
        return Err("a URL with an invalid host");
    }
    if port.is_some_and(|p| !p.is_empty() && p.parse::<u16>().is_err()) {
        return Err("a URL with an invalid port");
    }
    Ok(())
}
