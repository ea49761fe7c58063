//! `mcp-hub check`: validate config files without starting anything; with `--resolve`, resolve
//! every placeholder as the hub would and show the result with secret values redacted.

use std::{path::PathBuf, process::ExitCode};

use hub_config::{Resolver, Server, ServerKind};

/// Prints every problem of the given files (all of them, not the first) and a line per server;
/// exits 1 if there is any problem, 0 otherwise.
#[allow(clippy::print_stdout, clippy::print_stderr)] // a CLI report
pub(crate) fn main(paths: &[PathBuf], resolve: bool) -> ExitCode {
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
    let env = crate::run::env_snapshot();
    let cwd = std::env::current_dir().ok().and_then(|p| p.to_str().map(str::to_owned));
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut problems: Vec<String> = config.problems.iter().map(ToString::to_string).collect();
    for server in &config.servers {
        let disabled = if server.disabled { " (disabled)" } else { "" };
        let outcome: Result<Vec<String>, Vec<String>> = match &server.kind {
            ServerKind::Stdio { .. } => runtime
                .block_on(hub_core::check_stdio(server, &env, cwd.as_deref(), resolve))
                .map(|r| describe_stdio(server, &r, resolve))
                .map_err(|errs| errs.iter().map(ToString::to_string).collect()),
            ServerKind::Remote { .. } => {
                let mut resolver = Resolver::new(&env);
                if let Some(cwd) = &cwd {
                    resolver = resolver.with_cwd(cwd);
                }
                resolver
                    .remote(server)
                    .map(|r| {
                        let mut lines =
                            r.warnings.iter().map(|w| format!("warning: {w}")).collect::<Vec<_>>();
                        if resolve {
                            lines.push(format!("    url: (valid, {} chars)", r.url.len()));
                            for (k, v) in &r.headers {
                                lines.push(format!("    header {k}: (set, {} chars)", v.len()));
                            }
                        }
                        lines
                    })
                    .map_err(|errs| errs.iter().map(ToString::to_string).collect())
            }
            _ => Err(Vec::new()),
        };
        match outcome {
            Ok(lines) => {
                println!("✓ {}{disabled}  [{}]", server.name, server.config_source);
                for l in lines {
                    println!("{l}");
                }
            }
            Err(errs) => {
                println!("✗ {}{disabled}  [{}]", server.name, server.config_source);
                problems.extend(errs);
            }
        }
    }
    for warning in &config.warnings {
        println!("warning: {warning}");
    }
    for problem in &problems {
        println!("error: {problem}");
    }
    if problems.is_empty() {
        println!("ok: {} server(s), no problems", config.servers.len());
        ExitCode::SUCCESS
    } else {
        println!("{} problem(s) in {} server(s)", problems.len(), config.servers.len());
        ExitCode::FAILURE
    }
}

/// What would be started; values that came from placeholders are shown by length only.
fn describe_stdio(server: &Server, r: &hub_config::ResolvedStdio, resolve: bool) -> Vec<String> {
    let mut lines: Vec<String> = r.warnings.iter().map(|w| format!("warning: {w}")).collect();
    if !resolve {
        return lines;
    }
    let ServerKind::Stdio { args: raw_args, env: raw_env, .. } = &server.kind else { return lines };
    lines.push(format!("    command: {}", r.command));
    for (raw, value) in raw_args.iter().zip(&r.args) {
        if raw.contains('$') {
            lines.push(format!("    arg: {raw}  → (resolved, {} chars)", value.len()));
        } else {
            lines.push(format!("    arg: {value}"));
        }
    }
    for (name, _) in raw_env {
        let len = r.env.iter().find(|(k, _)| k == name).map_or(0, |(_, v)| v.len());
        lines.push(format!("    env {name}: (set, {len} chars)"));
    }
    if let Some(cwd) = &r.cwd {
        lines.push(format!("    cwd: {cwd}"));
    }
    lines
}
