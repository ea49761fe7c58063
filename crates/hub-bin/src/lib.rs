//! The `mcp-hub` binary: command line, config loading, logging, signals, and the bundled demo
//! MCP server (`mcp-hub demo-server`).
//!
//! This is the only crate that reads the process environment or installs global state.

mod check;
mod cli;
mod demo;
mod log_events;
mod reaper;
mod run;
mod settings;
mod watch;

pub use self::{cli::Cli, run::main};
