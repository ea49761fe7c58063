//! `mcp-hub check`: validate config files without starting anything.

use std::{path::PathBuf, process::ExitCode};

use hub_config::ServerKind;

/// Prints every problem of the given files (all of them, not the first) and a line per server;
/// exits 1 if there is any problem, 0 otherwise.
#[allow(clippy::print_stdout, clippy::print_stderr)] // a CLI report
pub(crate) fn main(paths: &[PathBuf]) -> ExitCode {
    let sources = match crate::run::read_sources(paths) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    for path in paths {
        if !sources.iter().any(|s| s.path == path.display().to_string()) {
            println!("notice: {} does not exist; skipped (as the hub would)", path.display());
        }
    }
    let config = match hub_config::load(&sources) {
        Ok(c) => c,
        Err(errors) => {
            for e in &errors {
                println!("error: {e}");
            }
            println!("{} file error(s); no server was checked", errors.len());
            return ExitCode::FAILURE;
        }
    };
    for server in &config.servers {
        let what = match &server.kind {
            ServerKind::Stdio { command, .. } => format!("stdio: {command}"),
            ServerKind::Remote { url, .. } => format!("remote: {url}"),
            ServerKind::Invalid(_) => "invalid".to_owned(),
            _ => "unknown kind".to_owned(),
        };
        let mark = if matches!(server.kind, ServerKind::Invalid(_)) { "✗" } else { "✓" };
        let disabled = if server.disabled { " (disabled)" } else { "" };
        println!("{mark} {} ({what}){disabled}  [{}]", server.name, server.config_source);
    }
    for problem in &config.problems {
        println!("error: {problem}");
    }
    if config.problems.is_empty() {
        println!("ok: {} server(s), no problems", config.servers.len());
        ExitCode::SUCCESS
    } else {
        println!("{} problem(s) in {} server(s)", config.problems.len(), config.servers.len());
        ExitCode::FAILURE
    }
}
