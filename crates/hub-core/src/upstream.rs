//! One upstream MCP server: start it, complete the `initialize` handshake, fetch its lists
//! (following every `nextCursor`), and the status it is in.

use std::time::Duration;

use hub_config::{EnvSource, ResolvedStdio, Server, ServerKind};
use hub_protocol::{
    ProtocolVersion, RawValue,
    mcp::{Extra, InitializeResult, ListKind, ListPage, PaginatedParams, method},
};
use hub_transport::{Incoming, Peer};
use serde_json::json;
use tracing::{debug, warn};

use crate::{registry::Lists, settings::Settings};

/// Pages fetched from one list before the hub gives up on a server that never ends pagination.
const MAX_PAGES: usize = 1000;

/// Connection status of an upstream, with mcp-hub's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Status {
    /// Starting, handshaking or fetching its lists.
    Connecting,
    /// Serving; its capabilities are on `/mcp`.
    Connected,
    /// Not running: never started, stopped, failed to start, or exited (`error` says why).
    Disconnected,
    /// `disabled: true` in the config.
    Disabled,
}

impl Status {
    /// mcp-hub's spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Connecting => "connecting",
            Status::Connected => "connected",
            Status::Disconnected => "disconnected",
            Status::Disabled => "disabled",
        }
    }
}

/// A started, initialized upstream.
pub(crate) struct Connected {
    pub(crate) peer: Peer,
    pub(crate) incoming: Incoming,
    pub(crate) init: InitializeResult,
    pub(crate) lists: Lists,
}

/// Starts the server of `entry`, handshakes and fetches its lists. Every failure is a message
/// meant for `/api/servers` and the log; the child is stopped on failure.
pub(crate) async fn open(
    entry: &Server,
    env: &(dyn EnvSource + Sync),
    settings: &Settings,
) -> Result<Connected, String> {
    let resolved = match &entry.kind {
        ServerKind::Stdio { .. } => {
            crate::cmd::resolve_stdio(entry, env, settings.cwd.as_deref()).await.map_err(
                |errors| errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "),
            )?
        }
        ServerKind::Remote { .. } => {
            // Built by the transports issue: streamable HTTP with SSE fallback.
            return Err(
                "remote (url) servers are not supported yet; only stdio servers can be started"
                    .to_owned(),
            );
        }
        ServerKind::Invalid(summary) => return Err(format!("invalid config: {summary}")),
        _ => return Err("unsupported server kind".to_owned()),
    };
    for w in &resolved.warnings {
        warn!(server = %entry.name, "{w}");
    }
    let ResolvedStdio { command, args, env: child_env, cwd, .. } = resolved;
    debug!(
        server = %entry.name,
        %command,
        env = ?child_env.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        "starting stdio server"
    );
    let spec = hub_transport::Spec { command, args, env: child_env, cwd: cwd.map(Into::into) };
    let (peer, incoming) = hub_transport::spawn(&entry.name, &spec, &settings.stdio)
        .await
        .map_err(|e| error_chain(&e))?;
    match tokio::time::timeout(settings.connect_timeout, handshake(&peer, settings)).await {
        Ok(Ok((init, lists))) => Ok(Connected { peer, incoming, init, lists }),
        Ok(Err(e)) => {
            peer.shutdown().await;
            Err(e)
        }
        Err(_) => {
            peer.shutdown().await;
            Err(format!("did not finish starting within {:?}", settings.connect_timeout))
        }
    }
}

/// `Display` of an error and its sources, `: `-separated (errors show one level each).
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(src) = cur {
        s.push_str(": ");
        s.push_str(&src.to_string());
        cur = src.source();
    }
    s
}

fn raw(v: &serde_json::Value) -> Box<RawValue> {
    serde_json::value::to_raw_value(v).expect("a serde_json::Value always serializes")
}

async fn handshake(peer: &Peer, settings: &Settings) -> Result<(InitializeResult, Lists), String> {
    let params = json!({
        "protocolVersion": ProtocolVersion::LATEST.as_str(),
        // The hub relays no server-to-client requests yet, so it offers no client capabilities.
        "capabilities": {},
        "clientInfo": {"name": settings.implementation_name, "version": settings.implementation_version},
    });
    let result = peer
        .request(method::INITIALIZE, Some(raw(&params)), settings.connect_timeout)
        .await
        .map_err(|e| format!("initialize failed: {}", error_chain(&e)))?;
    let init: InitializeResult = serde_json::from_str(result.get())
        .map_err(|e| format!("malformed initialize result: {e}"))?;
    if ProtocolVersion::parse(&init.protocol_version).is_none() {
        return Err(format!(
            "server chose protocol version {:?}, which the hub does not speak (supported: {})",
            init.protocol_version,
            ProtocolVersion::supported_list()
        ));
    }
    peer.notify(method::INITIALIZED, None).await.map_err(|e| error_chain(&e))?;
    let mut lists = Lists::default();
    for kind in ListKind::ALL {
        *lists.get_mut(kind) =
            fetch_if_offered(peer, &init.capabilities, kind, settings.list_timeout).await;
    }
    Ok((init, lists))
}

/// Fetches a list when the server offers the capability; a failing list reads as empty (the
/// server still serves its other lists), with a warning.
pub(crate) async fn fetch_if_offered(
    peer: &Peer,
    capabilities: &Extra,
    kind: ListKind,
    timeout: Duration,
) -> Vec<Extra> {
    if !capabilities.contains_key(kind.capability()) {
        return Vec::new();
    }
    match fetch_list(peer, kind, timeout).await {
        Ok(items) => items,
        Err(e) => {
            warn!(method = kind.method(), error = %e, "list request failed; treating the list as empty");
            Vec::new()
        }
    }
}

/// Fetches every page of a list.
pub(crate) async fn fetch_list(
    peer: &Peer,
    kind: ListKind,
    timeout: Duration,
) -> Result<Vec<Extra>, String> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..MAX_PAGES {
        let params = PaginatedParams { cursor: cursor.clone(), extra: Extra::new() };
        let params = serde_json::value::to_raw_value(&params).map_err(|e| e.to_string())?;
        let result = peer
            .request(kind.method(), Some(params), timeout)
            .await
            .map_err(|e| error_chain(&e))?;
        let page = ListPage::from_result(kind, &result).map_err(|e| e.message)?;
        items.extend(page.items);
        match page.next_cursor {
            Some(next) if seen.insert(next.clone()) => cursor = Some(next),
            Some(next) => return Err(format!("{} repeated cursor {next:?}", kind.method())),
            None => return Ok(items),
        }
    }
    Err(format!("{} did not end after {MAX_PAGES} pages", kind.method()))
}
