//! `cargo xtask fuzz [SECS]`: runs every cargo-fuzz target in `fuzz/` for `SECS` seconds each.
//!
//! cargo-fuzz passes `-Zsanitizer=address`, which stable rustc accepts only with
//! `RUSTC_BOOTSTRAP=1`; the stable `rust-std` ships the ASan runtime, so no nightly is needed.
//! Each target reads its committed seeds (`fuzz/corpus/<target>`) and writes what it discovers to
//! `fuzz/target/corpus/<target>` (git-ignored, kept between runs), so a run never adds files to
//! the committed corpus. Crash inputs land in `fuzz/artifacts/<target>/` (git-ignored).

use std::{path::Path, process::Command};

use anyhow::{Context as _, bail};

use crate::run;

/// The targets in `fuzz/fuzz_targets/`, in the order they run.
const TARGETS: [&str; 6] =
    ["jsonrpc_decode", "stdio_framing", "typed_views", "config_resolve", "sse_decode", "mcp_http"];

/// The cargo-fuzz version known to work here (0.13.x, on stable with `RUSTC_BOOTSTRAP=1`).
const CARGO_FUZZ_VERSION: &str = "0.13.2";

pub(crate) fn fuzz(root: &Path, secs: u64) -> anyhow::Result<()> {
    let installed = Command::new(crate::cargo())
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        println!("cargo-fuzz not found; installing cargo-fuzz {CARGO_FUZZ_VERSION}");
        run(Command::new(crate::cargo()).args([
            "install",
            "--locked",
            "cargo-fuzz",
            "--version",
            CARGO_FUZZ_VERSION,
        ]))?;
    }
    let fuzz_dir = root.join("fuzz");
    let mut crashed = Vec::new();
    for target in TARGETS {
        let seeds = fuzz_dir.join("corpus").join(target);
        let work = fuzz_dir.join("target").join("corpus").join(target);
        std::fs::create_dir_all(&work)
            .with_context(|| format!("cannot create {}", work.display()))?;
        // `run` executes in the workspace root; `--fuzz-dir` points cargo-fuzz at `fuzz/`
        // (its own workspace) from there.
        let mut cmd = Command::new(crate::cargo());
        cmd.env("RUSTC_BOOTSTRAP", "1")
            .args(["fuzz", "run", "--fuzz-dir"])
            .arg(&fuzz_dir)
            .arg(target)
            .arg(&work)
            .arg(&seeds)
            .arg("--")
            .arg(format!("-max_total_time={secs}"));
        if let Err(e) = run(&mut cmd) {
            println!("  {target} FAILED: {e:#}");
            crashed.push(target);
        }
    }
    if !crashed.is_empty() {
        bail!(
            "fuzz target(s) failed: {}; crash inputs are in {}",
            crashed.join(", "),
            fuzz_dir.join("artifacts").display()
        );
    }
    println!("fuzz: {} targets ran {secs} s each without a crash", TARGETS.len());
    Ok(())
}
