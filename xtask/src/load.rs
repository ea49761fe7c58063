//! `cargo xtask load [ARGS]`: builds the release hub and the load generator (`hub-load`, in the
//! `hub-integration` package), runs it, and applies the regression gate.
//!
//! `ARGS` go to `hub-load` (see `target/release/hub-load --help`: `--scenario`, `--quick`,
//! `--sessions`, `--ops`, `--transports`, `--external-sse URL`, …). Defaults added here:
//! `--hub-bin target/release/mcp-hub`, `--out target/load`, `--scenario all`, and
//! `--baseline xtask/load-baseline.json` (the gate) unless `--no-gate` is given (consumed here)
//! or an external hub is measured.
//!
//! The gate (implemented in `hub-load`, which already parses the JSON): for every case named in
//! the baseline, the hub's overhead ratios against the direct stdio baseline may regress by at
//! most the file's `margin` ([`MARGIN`], 25 %): `throughput_ratio` (hub req/s ÷ direct req/s)
//! not below `baseline × (1 − margin)`, `p50_ratio` (hub p50 ÷ direct p50) not above
//! `baseline × (1 + margin)`; only the metrics the file lists under `gated` fail the gate (today
//! `throughput_ratio`: p50 ratios proved too noisy on the shared 2-core machine they were
//! recorded on), the others are printed. Any failed request in a stage of 500 sessions or more (the ramp's
//! last stage) fails the gate as well. Ratios, not absolute numbers, so the baseline carries
//! across machines better; it is still recorded on one machine (see the file).
//!
//! `cargo xtask chaos [--secs N] [ARGS]` builds the same binaries and runs `hub-load --scenario
//! chaos --duration N` (default 20): upstream children SIGKILLed at random under load, failing
//! unless no request hung, every error is attributable, every upstream came back and the hub
//! survived. Not a gate (it takes half a minute and its figures are recorded by hand); the other
//! `ARGS` go to `hub-load` (`--servers`, `--sessions`, `--kill-every`, `--seed`, …).

use std::{path::Path, process::Command};

use anyhow::{Context as _, bail};

use crate::run;

/// The regression margin, as stated in `xtask/load-baseline.json` (`"margin"`), which is what
/// `hub-load` applies; kept here for the documentation and the message.
pub(crate) const MARGIN: f64 = 0.25;

/// The release hub and load generator.
fn build() -> anyhow::Result<()> {
    run(Command::new(crate::cargo()).args([
        "build",
        "--release",
        "-p",
        "hub-bin",
        "-p",
        "hub-integration",
        "--bin",
        "mcp-hub",
        "--bin",
        "hub-load",
    ]))
}

/// Builds the release binaries and runs `hub-load` with `args` plus the defaults above.
pub(crate) fn load(root: &Path, args: &[String]) -> anyhow::Result<()> {
    build()?;
    let has = |flag: &str| args.iter().any(|a| a == flag);
    let mut cmd = Command::new(root.join("target/release/hub-load"));
    cmd.args(args.iter().filter(|a| *a != "--no-gate"));
    if !has("--hub-bin") {
        cmd.arg("--hub-bin").arg(root.join("target/release/mcp-hub"));
    }
    if !has("--out") {
        cmd.arg("--out").arg(root.join("target/load"));
    }
    if !has("--scenario") {
        cmd.args(["--scenario", "all"]);
    }
    let gated = !has("--no-gate") && !has("--external-sse") && !has("--baseline");
    if gated {
        println!(
            "load gate: overhead ratios within {:.0} % of xtask/load-baseline.json, no error at 500 sessions",
            MARGIN * 100.0
        );
        cmd.arg("--baseline").arg(root.join("xtask/load-baseline.json"));
    }
    run(&mut cmd)
}

/// Builds the release binaries and runs the chaos scenario (`--secs N` becomes `--duration N`).
pub(crate) fn chaos(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let mut rest = Vec::new();
    let mut secs = "20".to_owned();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--secs" => secs = it.next().cloned().context("--secs needs a value")?,
            "--scenario" | "--baseline" => bail!("`xtask chaos` sets {a} itself"),
            _ => rest.push(a.clone()),
        }
    }
    build()?;
    let has = |flag: &str| rest.iter().any(|a| a == flag);
    let mut cmd = Command::new(root.join("target/release/hub-load"));
    cmd.args(["--scenario", "chaos", "--duration", &secs]).args(&rest);
    if !has("--hub-bin") {
        cmd.arg("--hub-bin").arg(root.join("target/release/mcp-hub"));
    }
    if !has("--out") {
        cmd.arg("--out").arg(root.join("target/load"));
    }
    run(&mut cmd)
}
