//! The supply-chain gate: cargo-deny with the offline RustSec snapshot kept in `../shared`.

use std::{path::Path, process::Command};

use anyhow::Context as _;

use crate::{cargo, run, tools};

pub(crate) fn gate(root: &Path) -> anyhow::Result<()> {
    tools::ensure_cargo_tool("cargo-deny", "deny", "0.20.2")?;
    let shared = root.join("../shared/advisory-db");
    let snapshot = shared.join("SNAPSHOT");
    if snapshot.exists() {
        let info = std::fs::read_to_string(&snapshot).unwrap_or_default();
        let date = info.lines().find_map(|l| l.strip_prefix("date ")).unwrap_or("unknown date");
        let commit = info.lines().find_map(|l| l.strip_prefix("commit ")).unwrap_or("?");
        println!(
            "advisory database: offline snapshot of rustsec/advisory-db {commit:.9} from {date}{}",
            age(date)
        );
        run(Command::new("sh")
            .arg(shared.join("install.sh"))
            .arg(root.join("target/advisory-dbs")))?;
        run(Command::new(cargo()).args(["deny", "--offline", "check"]))
    } else {
        println!(
            "advisory database snapshot not found at {} — advisories NOT checked; licenses, bans and sources are",
            shared.display()
        );
        run(Command::new(cargo()).args([
            "deny",
            "--offline",
            "check",
            "bans",
            "licenses",
            "sources",
        ]))
        .context("cargo deny")
    }
}

/// ", N days old" from an RFC 3339 date, using `date` to avoid a date crate in xtask.
fn age(date: &str) -> String {
    let secs = |args: &[&str]| -> Option<i64> {
        let out = Command::new("date").args(args).output().ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    };
    match (secs(&["-d", date, "+%s"]), secs(&["+%s"])) {
        (Some(then), Some(now)) => format!(", {} days old", (now - then) / 86_400),
        _ => String::new(),
    }
}
