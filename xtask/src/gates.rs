//! `cargo xtask gates`: every quality gate in order, each printing the exact commands it runs,
//! its time and verdict, then a summary table; non-zero exit if any gate failed.

use std::{
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};

use crate::{cargo, run};

/// A gate: name, what it checks, whether it belongs to `--fast`.
struct Gate {
    name: &'static str,
    what: &'static str,
    fast: bool,
    run: fn(&Path) -> anyhow::Result<()>,
}

const GATES: &[Gate] = &[
    Gate { name: "fmt", what: "rustfmt, no diff", fast: true, run: fmt },
    Gate {
        name: "lint",
        what: "clippy, all targets and features, warnings are errors",
        fast: true,
        run: lint,
    },
    Gate { name: "docs", what: "rustdoc, warnings are errors", fast: false, run: docs },
    Gate {
        name: "tidy",
        what: "module docs; no debug macros, todo markers or ignored tests",
        fast: true,
        run: tidy,
    },
    Gate { name: "deps", what: "crate layering and banned dependencies", fast: true, run: deps },
    Gate {
        name: "schema",
        what: "config JSON Schema and its Markdown are current",
        fast: true,
        run: crate::schema::gate,
    },
    Gate {
        name: "test",
        what: "every test, with the pinned third-party peers",
        fast: false,
        run: test,
    },
    Gate {
        name: "test-fast",
        what: "every test that needs no third-party peer",
        fast: true,
        run: test_fast,
    },
    Gate {
        name: "coverage",
        what: "line coverage of the workspace ≥ threshold",
        fast: false,
        run: crate::coverage::gate,
    },
    Gate {
        name: "deny",
        what: "advisories (offline snapshot), licenses, bans, sources",
        fast: false,
        run: crate::deny::gate,
    },
    Gate {
        name: "conformance",
        what: "the MCP conformance suite: client scenarios against the hub's MCP client, server \
               scenarios against the fixture alone and behind the hub (stdio and HTTP upstream)",
        fast: false,
        run: crate::conformance::conformance,
    },
    Gate { name: "fuzz", what: "each fuzz target for a few seconds", fast: false, run: fuzz },
    Gate {
        name: "load",
        what: "load scenarios against thresholds and the baseline",
        fast: false,
        run: load,
    },
];

struct Outcome {
    name: &'static str,
    took: Duration,
    error: Option<String>,
}

pub(crate) fn gates(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let mut only = Vec::new();
    let mut skip = Vec::new();
    let mut fast = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--fast" => fast = true,
            "--only" => only.push(it.next().context("--only needs a gate name")?.clone()),
            "--skip" => skip.push(it.next().context("--skip needs a gate name")?.clone()),
            other => bail!(
                "unknown argument {other:?}; usage: cargo xtask gates [--fast] [--only NAME]… [--skip NAME]…"
            ),
        }
    }
    for name in only.iter().chain(&skip) {
        if !GATES.iter().any(|g| g.name == name) {
            let names: Vec<_> = GATES.iter().map(|g| g.name).collect();
            bail!("no gate named {name:?}; gates: {}", names.join(", "));
        }
    }
    let selected: Vec<&Gate> = GATES
        .iter()
        .filter(|g| {
            if only.is_empty() {
                if fast { g.fast } else { g.name != "test-fast" }
            } else {
                only.iter().any(|o| o == g.name)
            }
        })
        .filter(|g| !skip.iter().any(|s| s == g.name))
        .collect();
    let mut outcomes = Vec::new();
    for g in selected {
        println!("\n== gate {}: {}", g.name, g.what);
        let started = Instant::now();
        let result = (g.run)(root);
        let took = started.elapsed();
        let error = result.err().map(|e| format!("{e:#}"));
        match &error {
            None => println!("== gate {}: PASS ({:.1} s)", g.name, took.as_secs_f64()),
            Some(e) => println!("== gate {}: FAIL ({:.1} s)\n{e}", g.name, took.as_secs_f64()),
        }
        outcomes.push(Outcome { name: g.name, took, error });
    }
    println!("\n{:<12} {:>9}  verdict", "gate", "time");
    for o in &outcomes {
        let verdict = match &o.error {
            None => "pass".to_owned(),
            Some(e) => format!("FAIL: {}", e.lines().next().unwrap_or_default()),
        };
        println!("{:<12} {:>8.1}s  {verdict}", o.name, o.took.as_secs_f64());
    }
    let failed: Vec<_> = outcomes.iter().filter(|o| o.error.is_some()).map(|o| o.name).collect();
    if failed.is_empty() {
        Ok(())
    } else {
        bail!("{} gate(s) failed: {}", failed.len(), failed.join(", "))
    }
}

fn fmt(_: &Path) -> anyhow::Result<()> {
    run(Command::new(cargo()).args(["fmt", "--all", "--", "--check"]))
}

fn lint(_: &Path) -> anyhow::Result<()> {
    run(Command::new(cargo()).args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]))
}

fn docs(_: &Path) -> anyhow::Result<()> {
    run(Command::new(cargo())
        .args(["doc", "--workspace", "--no-deps", "--locked"])
        .env("RUSTDOCFLAGS", "-D warnings"))
}

fn tidy(root: &Path) -> anyhow::Result<()> {
    crate::tidy::check(root)
}

fn deps(_: &Path) -> anyhow::Result<()> {
    let out = Command::new(cargo())
        .args(["metadata", "--format-version", "1", "--locked"])
        .output()
        .context("cannot run cargo metadata")?;
    if !out.status.success() {
        bail!("cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    println!(
        "$ cargo metadata --format-version 1 --locked  (edges checked against xtask/src/deps.rs)"
    );
    crate::deps::check(&serde_json::from_slice(&out.stdout)?)
}

fn test(root: &Path) -> anyhow::Result<()> {
    crate::test(root, &[])
}

fn test_fast(root: &Path) -> anyhow::Result<()> {
    crate::test(root, &["--no-peers".to_owned()])
}

fn fuzz(root: &Path) -> anyhow::Result<()> {
    crate::fuzz::fuzz(root, 20)
}

fn load(root: &Path) -> anyhow::Result<()> {
    crate::load::load(root, &["--quick".to_owned()])
}
