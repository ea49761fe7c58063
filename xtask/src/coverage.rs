//! The coverage gate: cargo-llvm-cov over the whole test suite (end-to-end tests included: the
//! hub binary they start is instrumented too), lcov and HTML under `target/coverage`, a per-crate
//! table, and a threshold on the workspace's line coverage.

use std::{collections::BTreeMap, path::Path, process::Command};

use anyhow::{Context as _, bail};

use crate::{cargo, peers, run, tools};

/// Minimum line coverage of the workspace, in percent. Raise it as the code matures; never lower
/// it.
const MIN_LINES: f64 = 85.0;

/// Harness code that is not part of the product.
const IGNORE: &str = r"(xtask|tests/src|/tests\.rs$|test_support\.rs$|testing\.rs$)";

pub(crate) fn gate(root: &Path) -> anyhow::Result<()> {
    tools::ensure_cargo_tool("cargo-llvm-cov", "llvm-cov", "0.9.1")?;
    let llvm = llvm_tools()?;
    let peers = peers::ensure(root)?;
    let out = root.join("target/coverage");
    std::fs::create_dir_all(&out)?;
    let with_llvm = |cmd: &mut Command| {
        for (k, v) in &llvm {
            cmd.env(k, v);
        }
    };
    let mut test = Command::new(cargo());
    test.args(["llvm-cov", "nextest", "--workspace", "--no-report", "--no-fail-fast"])
        .env("HUB_IT_PEERS", &peers)
        .env("HUB_IT_REQUIRE_PEERS", "1");
    with_llvm(&mut test);
    run(&mut test)?;
    let report = |args: &[&str]| -> anyhow::Result<()> {
        let mut cmd = Command::new(cargo());
        cmd.args(["llvm-cov", "report", "--ignore-filename-regex", IGNORE]).args(args);
        with_llvm(&mut cmd);
        run(&mut cmd)
    };
    report(&["--lcov", "--output-path", "target/coverage/lcov.info"])?;
    report(&["--html", "--output-dir", "target/coverage"])?;
    report(&["--json", "--summary-only", "--output-path", "target/coverage/summary.json"])?;
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json"))?)
            .context("coverage summary")?;
    let mut per_crate: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for f in summary["data"][0]["files"].as_array().into_iter().flatten() {
        let name = f["filename"].as_str().unwrap_or_default();
        let krate =
            name.split("/crates/").nth(1).and_then(|r| r.split('/').next()).unwrap_or("other");
        let lines = &f["summary"]["lines"];
        let e = per_crate.entry(krate.to_owned()).or_default();
        e.0 += lines["covered"].as_u64().unwrap_or(0);
        e.1 += lines["count"].as_u64().unwrap_or(0);
    }
    println!("\n{:<16} {:>8} {:>8} {:>8}", "crate", "lines", "covered", "percent");
    for (k, (covered, count)) in &per_crate {
        println!("{k:<16} {count:>8} {covered:>8} {:>7.1}%", pct(*covered, *count));
    }
    let totals = &summary["data"][0]["totals"]["lines"];
    let percent = totals["percent"].as_f64().context("no total line coverage")?;
    println!(
        "{:<16} {:>8} {:>8} {percent:>7.1}%   (threshold {MIN_LINES}%; HTML: target/coverage/html/index.html)",
        "workspace",
        totals["count"].as_u64().unwrap_or(0),
        totals["covered"].as_u64().unwrap_or(0)
    );
    if percent < MIN_LINES {
        bail!("line coverage {percent:.1}% is below the threshold {MIN_LINES}%");
    }
    Ok(())
}

fn pct(covered: u64, count: u64) -> f64 {
    if count == 0 { 100.0 } else { covered as f64 * 100.0 / count as f64 }
}

/// `LLVM_COV` / `LLVM_PROFDATA` for cargo-llvm-cov: the toolchain's llvm-tools if installed,
/// else Debian's LLVM 22 (the LLVM of rustc 1.95), installed when missing and possible.
fn llvm_tools() -> anyhow::Result<Vec<(&'static str, String)>> {
    let sysroot = Command::new("rustc").args(["--print", "sysroot"]).output()?;
    let sysroot = String::from_utf8_lossy(&sysroot.stdout).trim().to_owned();
    if Path::new(&sysroot).join("lib/rustlib/x86_64-unknown-linux-gnu/bin/llvm-cov").exists() {
        return Ok(Vec::new());
    }
    if !tools::has("llvm-cov-22") {
        println!("llvm-tools are missing: installing Debian's llvm-22 (matches rustc 1.95's LLVM)");
        run(Command::new("apt-get").args(["update", "-qq"]))
            .context("apt-get update (needs root)")?;
        run(Command::new("apt-get").args(["install", "-y", "-qq", "llvm-22"]))
            .context("install llvm-22 (needs root), or `rustup component add llvm-tools`")?;
    }
    Ok(vec![
        ("LLVM_COV", "llvm-cov-22".to_owned()),
        ("LLVM_PROFDATA", "llvm-profdata-22".to_owned()),
    ])
}
