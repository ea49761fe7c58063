//! Starting and stopping the hub from the command line.

use std::{net::SocketAddr, process::ExitCode, sync::Arc};

use anyhow::Context as _;
use clap::Parser;
use hub_config::{EnvMap, Source};
use hub_core::{COMPAT_VERSION, Hub, Status};
use tracing::{error, info, warn};

use crate::cli::{Cli, Command};

/// Entry point of the `mcp-hub` binary.
#[allow(clippy::print_stdout, clippy::print_stderr)] // a CLI talks to its terminal
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.version {
        println!("{COMPAT_VERSION}");
        return ExitCode::SUCCESS;
    }
    match &cli.command {
        Some(Command::DemoServer { page_size, test_tools }) => {
            return crate::demo::main(*page_size, *test_tools);
        }
        Some(Command::Check { config, resolve }) => return crate::check::main(config, *resolve),
        Some(Command::Reaper) => return crate::reaper::main(),
        None => {}
    }
    let log_events = init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mcp-hub: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli, log_events)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("{e:#}");
            eprintln!("mcp-hub: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() -> crate::log_events::LogEvents {
    use tracing_subscriber::{EnvFilter, layer::SubscriberExt as _, util::SubscriberInitExt as _};
    #[allow(clippy::disallowed_methods)] // hub-bin is where the process environment is read
    let filter = std::env::var("RUST_LOG").ok();
    let filter = EnvFilter::try_new(filter.as_deref().unwrap_or("info"))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only on a terminal: editors and log collectors read the plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let events = crate::log_events::LogEvents::default();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .finish()
        .with(events.clone())
        .init();
    events
}

/// The process environment, read once; everything downstream gets this snapshot.
pub(crate) fn env_snapshot() -> EnvMap {
    #[allow(clippy::disallowed_methods)] // hub-bin is where the process environment is read
    std::env::vars().collect()
}

/// Reads the config files; a missing file is skipped with a notice (as mcp-hub does).
pub(crate) fn read_sources(paths: &[std::path::PathBuf]) -> anyhow::Result<Vec<Source>> {
    let mut sources = Vec::new();
    for path in paths {
        let shown = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => sources.push(Source { path: shown, text }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                warn!(file = %shown, "config file not found; skipped");
            }
            Err(e) => return Err(e).with_context(|| format!("cannot read config file {shown}")),
        }
    }
    Ok(sources)
}

async fn run(cli: Cli, log_events: crate::log_events::LogEvents) -> anyhow::Result<()> {
    if cli.config.is_empty() {
        anyhow::bail!("no config file given; pass --config <file> (repeatable)");
    }
    if cli.auto_shutdown {
        warn!(
            "--auto-shutdown is accepted but not implemented yet (it needs the /api/events stream)"
        );
    }
    let sources = read_sources(&cli.config)?;
    let config = hub_config::load(&sources).map_err(|errors| {
        let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
        anyhow::anyhow!("invalid config:\n  {}", list.join("\n  "))
    })?;
    for problem in &config.problems {
        // A server's problem skips the server; a global one (`hub`, `connectionPool`) keeps the
        // key's default.
        let effect = if problem.path.starts_with("mcpServers.") {
            "this server is skipped"
        } else {
            "the default is used"
        };
        error!(file = %problem.file, path = %problem.path, "{problem}; {effect}");
    }
    for warning in &config.warnings {
        warn!(file = %warning.file, path = %warning.path, "{warning}");
    }

    let addr: SocketAddr = format!("{}:{}", bracket_ipv6(&cli.host), cli.port)
        .parse()
        .with_context(|| format!("invalid --host {:?}: expected an IP address", cli.host))?;
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!("cannot listen on {addr} (is another hub already running on this port?)")
    })?;
    let bound = listener.local_addr().context("listener has no local address")?;

    // mcp-hub's `${workspaceFolder}` / `${cwd}`: where the hub was started (mcphub.nvim starts
    // it in the workspace root).
    let cwd = std::env::current_dir().ok().and_then(|p| p.to_str().map(str::to_owned));
    let mut settings = crate::settings::core(&config.settings, cwd);
    // No child outlives the hub, even one killed without a chance to stop them.
    let reaper = crate::reaper::Reaper::start().map(Arc::new);
    if let Some(r) = &reaper {
        settings.stdio.group_watch = Some(r.clone());
    }
    let http = http_settings(&cli, bound, crate::settings::http(&config.settings));
    let debounce = cli
        .watch
        .then(|| config.settings.watch.debounce.map_or(crate::watch::DEFAULT_DEBOUNCE, |d| d.0));
    let hub = Arc::new(Hub::new(config, Arc::new(env_snapshot()), settings));
    // From here on the hub's log lines are `log` events of /api/events too.
    log_events.connect(hub.events().clone());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(hub_core::serve(hub.clone(), listener, http, async move {
        // A dropped sender means the same as a sent stop.
        stop_rx.await.ok();
    }));
    info!(address = %bound, "mcp-hub listening: MCP on http://{bound}/mcp, REST API on http://{bound}/api");

    // Watching starts before the servers do, so an edit made while they start is not missed.
    let watcher = tokio::spawn(crate::watch::run(hub.clone(), cli.config.clone(), debounce));
    tokio::select! {
        () = hub.start() => report(&hub),
        () = shutdown_signal() => {}
    }
    if hub.state() == hub_core::State::Ready {
        shutdown_signal().await;
    }
    info!("shutting down");
    watcher.abort();
    // Fails only if the server already ended.
    stop_tx.send(()).ok();
    hub.stop().await;
    match tokio::time::timeout(std::time::Duration::from_secs(5), server).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => warn!(error = %e, "http server ended with an error"),
        Ok(Err(e)) => warn!(error = %e, "http server task failed"),
        Err(_) => warn!("http server did not drain within 5 s"),
    }
    if let Some(r) = &reaper {
        r.finish();
    }
    info!("stopped");
    Ok(())
}

fn bracket_ipv6(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') { format!("[{host}]") } else { host.to_owned() }
}

fn http_settings(cli: &Cli, bound: SocketAddr, mut s: hub_http::Settings) -> hub_http::Settings {
    s.version = COMPAT_VERSION.to_owned();
    s.port = bound.port();
    if !bound.ip().is_loopback() {
        // Bound beyond loopback on purpose: accept the host the operator chose as well.
        s.allowed_hosts.push(cli.host.clone());
        if bound.ip().is_unspecified() {
            // 0.0.0.0 / ::: any Host header; Origin checks still apply.
            s.allowed_hosts.clear();
        }
    }
    s
}

/// One line per server: what the operator needs to see at startup.
fn report(hub: &Hub) {
    for server in hub_http::Backend::status(hub).servers {
        let status = server.status.as_str();
        if status == Status::Connected.as_str() {
            let c = &server.capabilities;
            info!(
                "server {}: connected ({} tools, {} resources, {} resource templates, {} prompts)",
                server.name,
                c.tools.len(),
                c.resources.len(),
                c.resource_templates.len(),
                c.prompts.len()
            );
        } else if let Some(e) = &server.error {
            warn!("server {}: {status}: {e}", server.name);
        } else {
            info!("server {}: {status}", server.name);
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
