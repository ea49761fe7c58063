//! Project automation (`cargo xtask <command>`); every command it runs is printed first, so it
//! can be rerun by hand.
//!
//! - `test [--no-peers] [-- FILTER]`: installs the pinned third-party MCP peers the end-to-end
//!   tests use (if missing), then runs every test of the workspace, doctests included.
//! - `gates [--fast] [--only NAME]… [--skip NAME]…`: the quality gates (see `gates.rs`).
//! - `peers`: only installs the peers (into `target/peers`).
//! - `conformance [--only client|server]`: the official MCP conformance suite: its client
//!   scenarios against the hub's MCP client, its server scenarios against the conformance
//!   fixture alone and behind the hub (see `conformance.rs`).
//! - `latency [CALLS]`: one `tools/call` through the hub versus directly.
//! - `load [ARGS]`: the load generator (see `load.rs`).
//! - `chaos [--secs N] [ARGS]`: upstreams killed at random under load; fails on a hung or
//!   unattributable request, an upstream that does not come back, or a dead hub (see `load.rs`).
//! - `fuzz [--secs N]`: every fuzz target for N seconds.
//! - `mutants`: cargo-mutants over the pure crates (informational).
//! - `hook`: installs the git pre-commit hook (`gates --fast`).
//! - `schema [--check]`: writes (or checks) the config's JSON Schema and its Markdown rendering
//!   under `docs/schema/`.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::let_underscore_must_use
)] // a script: it prints, runs commands, times them; best-effort cleanup results are ignored

mod conformance;
mod coverage;
mod deny;
mod deps;
mod fuzz;
mod gates;
mod latency;
mod load;
mod peers;
mod schema;
mod tidy;
mod tools;

use std::{
    path::{Path, PathBuf},
    process::{Command, ExitCode},
    time::Instant,
};

use anyhow::{Context as _, bail};

const USAGE: &str = "usage: cargo xtask <test [--no-peers] [-- FILTER] | gates [--fast] [--only NAME]… [--skip NAME]… \
                     | peers | conformance [--only client|server] | latency [CALLS] | load [ARGS] | chaos [--secs N] [ARGS] | fuzz [--secs N] | mutants | hook | schema [--check]>";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = root();
    let rest = args.get(1..).unwrap_or_default();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(&root, rest),
        Some("gates") => gates::gates(&root, rest),
        Some("peers") => peers::ensure(&root).map(|_| ()),
        Some("conformance") => conformance::command(&root, rest),
        Some("latency") => {
            latency::latency(&root, rest.first().and_then(|n| n.parse().ok()).unwrap_or(5000))
        }
        Some("load") => load::load(&root, rest),
        Some("chaos") => load::chaos(&root, rest),
        Some("fuzz") => {
            let secs = rest
                .iter()
                .skip_while(|a| *a != "--secs")
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or(60);
            fuzz::fuzz(&root, secs)
        }
        Some("mutants") => mutants(),
        Some("hook") => hook(&root),
        Some("schema") => schema::schema(&root, rest),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (xtask lives one level below it).
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is inside the workspace")
        .to_path_buf()
}

pub(crate) fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// Runs a command in the workspace root (unless it already has a directory), echoing it first;
/// fails on a non-zero exit.
pub(crate) fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let shown = format!(
        "{}{} {}",
        cmd.get_envs()
            .filter_map(|(k, v)| v.map(|v| format!(
                "{}={} ",
                k.to_string_lossy(),
                v.to_string_lossy()
            )))
            .collect::<String>(),
        cmd.get_program().to_string_lossy(),
        cmd.get_args().map(|a| a.to_string_lossy().into_owned()).collect::<Vec<_>>().join(" ")
    );
    if cmd.get_current_dir().is_none() {
        cmd.current_dir(root());
    }
    println!("$ {shown}");
    let started = Instant::now();
    let status = cmd.status().with_context(|| format!("cannot run {shown}"))?;
    println!("  ({:.1} s)", started.elapsed().as_secs_f64());
    if !status.success() {
        bail!("command failed ({status}): {shown}");
    }
    Ok(())
}

pub(crate) fn test(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let no_peers = args.iter().any(|a| a == "--no-peers");
    let filter: Vec<&String> = args.iter().skip_while(|a| *a != "--").skip(1).collect();
    let nextest = Command::new(cargo())
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    let mut cmd = Command::new(cargo());
    if nextest {
        cmd.args(["nextest", "run", "--workspace", "--no-fail-fast"]);
    } else {
        println!("cargo-nextest not found; using cargo test");
        cmd.args(["test", "--workspace", "--no-fail-fast"]);
    }
    cmd.args(filter);
    if !no_peers {
        let dir = peers::ensure(root)?;
        cmd.env("HUB_IT_PEERS", dir).env("HUB_IT_REQUIRE_PEERS", "1");
    }
    // Doctests first, so the last summary printed is the main run's.
    run(Command::new(cargo()).args(["test", "--workspace", "--doc"]))?;
    run(&mut cmd)
}

/// Mutation testing of the pure crates; informational (prints the mutation score).
fn mutants() -> anyhow::Result<()> {
    tools::ensure_cargo_tool("cargo-mutants", "mutants", "27.1.0")?;
    run(Command::new(cargo()).args([
        "mutants",
        "--package",
        "hub-protocol",
        "--package",
        "hub-config",
        "--timeout",
        "120",
        "--output",
        "target/mutants",
    ]))
}

/// Installs `.git/hooks/pre-commit` running the fast gates.
fn hook(root: &Path) -> anyhow::Result<()> {
    let hooks = root.join(".git/hooks");
    std::fs::create_dir_all(&hooks).context("no .git directory: run this in a git checkout")?;
    let path = hooks.join("pre-commit");
    std::fs::write(
        &path,
        "#!/bin/sh\n# Installed by `cargo xtask hook`: fmt, clippy, tidy, layering, tests without peers.\nexec cargo xtask gates --fast\n",
    )?;
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    println!(
        "installed {} (runs `cargo xtask gates --fast`; skip once with `git commit --no-verify`)",
        path.display()
    );
    Ok(())
}
