//! Installing the cargo tools the gates need, pinned, and saying so.

use std::process::Command;

use crate::{cargo, run};

/// Installs `crate_name` at `version` unless `cargo <subcommand> --version` already works.
pub(crate) fn ensure_cargo_tool(
    crate_name: &str,
    subcommand: &str,
    version: &str,
) -> anyhow::Result<()> {
    let present = Command::new(cargo())
        .args([subcommand, "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if present {
        return Ok(());
    }
    println!("{crate_name} is missing: installing {crate_name} {version} (a few minutes, once)");
    run(Command::new(cargo()).args(["install", "--locked", crate_name, "--version", version]))
}

/// Whether a program answers `--version`.
pub(crate) fn has(program: &str) -> bool {
    Command::new(program).arg("--version").output().is_ok_and(|o| o.status.success())
}
