//! Project automation (`cargo xtask <command>`).
//!
//! - `cargo xtask test`: installs the pinned third-party MCP peers the end-to-end tests use (if
//!   missing), then runs every test of the workspace, doctests included.
//! - `cargo xtask peers`: only installs the peers (into `target/peers`).
//! - `cargo xtask latency [CALLS]`: one `tools/call` through the hub versus directly.
//!
//! Every command it runs is printed first, so it can be rerun by hand.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::let_underscore_must_use
)] // a script: best-effort cleanup results are ignored on purpose

mod latency;
mod peers;

use std::{
    path::{Path, PathBuf},
    process::{Command, ExitCode},
    time::Instant,
};

use anyhow::{Context as _, bail};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(&args[1..]),
        Some("peers") => peers::ensure(&root()).map(|_| ()),
        Some("latency") => {
            let n = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(5000);
            latency::latency(&root(), n)
        }
        _ => {
            eprintln!(
                "usage: cargo xtask <test [--no-peers] [-- <test filter>] | peers | latency [CALLS]>"
            );
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
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is inside the workspace")
        .to_path_buf()
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// Runs a command in the workspace root, echoing it first; fails on a non-zero exit.
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
    println!("$ {shown}");
    let started = Instant::now();
    let status = cmd.current_dir(root()).status().with_context(|| format!("cannot run {shown}"))?;
    println!("  ({:.1} s)", started.elapsed().as_secs_f64());
    if !status.success() {
        bail!("command failed ({status}): {shown}");
    }
    Ok(())
}

fn test(args: &[String]) -> anyhow::Result<()> {
    let no_peers = args.iter().any(|a| a == "--no-peers");
    let filter: Vec<&String> = args.iter().skip_while(|a| *a != "--").skip(1).collect();
    let root = root();
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
        let dir = peers::ensure(&root)?;
        cmd.env("HUB_IT_PEERS", dir).env("HUB_IT_REQUIRE_PEERS", "1");
    }
    // Doctests first, so the last summary printed is the main run's.
    run(Command::new(cargo()).args(["test", "--workspace", "--doc"]))?;
    run(&mut cmd)
}
