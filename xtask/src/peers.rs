//! The pinned third-party MCP peers of the end-to-end tests, installed under `target/peers`.
//!
//! Pinned here, in one place: the official Python SDK (the client the tests drive the hub with),
//! the reference `server-everything` (an upstream the hub fronts over stdio, streamable HTTP and
//! legacy SSE) and the Python `mcp-server-time` (a stdio upstream).

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::Context as _;

use crate::run;

/// The Python MCP SDK (client side of the end-to-end tests).
pub(crate) const PY_MCP: &str = "mcp==2.3.0";
/// A real Python stdio server (the official `mcp-server-time`), fronted by the hub.
pub(crate) const PY_TIME: &str = "mcp-server-time==2026.10.19";
/// The reference server of the MCP project, run over stdio by the hub.
pub(crate) const NPM_EVERYTHING: &str = "@modelcontextprotocol/server-everything@2026.8.31";

/// Installs whatever is missing and returns the peers directory.
pub(crate) fn ensure(root: &Path) -> anyhow::Result<PathBuf> {
    let dir = root.join("target/peers");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let marker = dir.join(".installed");
    let wanted = format!("{PY_MCP}\n{PY_TIME}\n{NPM_EVERYTHING}\n");
    if std::fs::read_to_string(&marker).is_ok_and(|m| m == wanted) {
        println!(
            "peers: already installed in {} ({})",
            dir.display(),
            wanted.trim().replace('\n', ", ")
        );
        return Ok(dir);
    }
    println!("peers: installing {} into {}", wanted.trim().replace('\n', ", "), dir.display());
    let venv = dir.join("venv");
    if !venv.join("bin/python").exists() {
        run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    }
    run(Command::new(venv.join("bin/pip")).args([
        "install",
        "--disable-pip-version-check",
        "--quiet",
        PY_MCP,
        PY_TIME,
    ]))?;
    let npm = dir.join("npm");
    std::fs::create_dir_all(&npm)?;
    if !npm.join("package.json").exists() {
        std::fs::write(npm.join("package.json"), "{\"name\": \"hub-peers\", \"private\": true}\n")?;
    }
    run(Command::new("npm").arg("install").arg("--prefix").arg(&npm).args([
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
        NPM_EVERYTHING,
    ]))?;
    std::fs::write(&marker, wanted)?;
    Ok(dir)
}
