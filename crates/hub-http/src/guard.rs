//! DNS-rebinding protection: every request's `Host` and `Origin` headers are checked before any
//! route runs.

use std::sync::Arc;

use axum::{
    extract::{Request, State},
    http::{StatusCode, header},
    middleware::Next,
    response::Response,
};

use crate::{
    facade::Settings,
    wire::{self, TRANSPORT_ERROR},
};

/// The loopback host names every default accepts.
const LOOPBACK: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// Host and Origin allow-lists, prepared once.
#[derive(Debug)]
pub(crate) struct Guard {
    hosts: Vec<String>,
    origins: Vec<String>,
}

impl Guard {
    /// Prepares the allow-lists of `settings` (host names lowercase, brackets stripped).
    pub(crate) fn new(settings: &Settings) -> Self {
        let hosts = settings
            .allowed_hosts
            .iter()
            .map(|h| strip_brackets(h.trim()).to_ascii_lowercase())
            .collect();
        Guard { hosts, origins: settings.allowed_origins.clone() }
    }

    /// Checks a `Host` header value (`None`: absent); `Err` carries the refusal message.
    pub(crate) fn check_host(&self, host: Option<&str>) -> Result<(), String> {
        if self.hosts.is_empty() {
            return Ok(());
        }
        let Some(host) = host else {
            return Err("missing host header".to_owned());
        };
        let name = host_name(host).to_ascii_lowercase();
        if self.hosts.contains(&name) {
            Ok(())
        } else {
            Err(format!("host header not allowed: {host}"))
        }
    }

    /// Checks an `Origin` header value (`None`: absent, accepted); `Err` carries the refusal.
    pub(crate) fn check_origin(&self, origin: Option<&str>) -> Result<(), String> {
        let Some(origin) = origin else { return Ok(()) };
        if self.origins.iter().any(|o| o == origin) || is_loopback_origin(origin) {
            Ok(())
        } else {
            Err(format!("origin header not allowed: {origin}"))
        }
    }
}

/// The host name part of a `Host` value: `[::1]:8080` → `::1`, `localhost:80` → `localhost`.
fn host_name(host: &str) -> &str {
    let host = host.trim();
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default();
    }
    match host.rsplit_once(':') {
        // A bare IPv6 address without brackets has several colons: keep it whole.
        Some((name, _port)) if !name.contains(':') => name,
        _ => host,
    }
}

fn strip_brackets(h: &str) -> &str {
    h.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(h)
}

/// `http(s)://localhost|127.0.0.1|[::1]` with an optional numeric port and nothing else.
fn is_loopback_origin(origin: &str) -> bool {
    let lower = origin.to_ascii_lowercase();
    let Some(rest) = lower.strip_prefix("http://").or_else(|| lower.strip_prefix("https://"))
    else {
        return false;
    };
    let (name, port) = if let Some(v6) = rest.strip_prefix('[') {
        let Some((name, after)) = v6.split_once(']') else { return false };
        (name, after)
    } else {
        match rest.find(':') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        }
    };
    let port_ok = port.is_empty()
        || port.strip_prefix(':').is_some_and(|p| {
            !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit())
        });
    port_ok && LOOPBACK.contains(&name)
}

/// The middleware: 403 with a JSON-RPC error body for a refused `Host` or `Origin`.
pub(crate) async fn check(
    State(guard): State<Arc<Guard>>,
    request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let host = wire::header_str(headers, header::HOST.as_str())
        .or_else(|| request.uri().authority().map(|a| a.as_str()));
    let origin = headers.get(header::ORIGIN).map(|v| v.to_str().unwrap_or("<not visible ascii>"));
    let verdict = guard.check_host(host).and_then(|()| guard.check_origin(origin));
    match verdict {
        Ok(()) => next.run(request).await,
        Err(reason) => {
            tracing::warn!(method = %request.method(), path = request.uri().path(), "refused request: {reason}");
            wire::rpc_error(StatusCode::FORBIDDEN, TRANSPORT_ERROR, format!("forbidden: {reason}"))
        }
    }
}

#[cfg(test)]
mod tests;
