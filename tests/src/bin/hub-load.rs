//! `hub-load`: an MCP-aware load generator for the hub.
//!
//! Starts the release `mcp-hub` on a free port with the bundled demo server as its one upstream,
//! drives it with many concurrent MCP sessions (streamable HTTP or legacy SSE), measures per
//! request latency (HDR histogram), throughput and errors by kind, samples the hub's RSS and CPU,
//! and runs the same workload directly against one demo-server child over stdio (the baseline the
//! hub's overhead is expressed against). Results go to stdout as a table and to
//! `<out>/<scenario>.json`. See `hub-load --help`; `cargo xtask load` builds and runs it.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::let_underscore_must_use,
    clippy::cast_precision_loss,
    unreachable_pub,
    missing_docs
)] // a measurement tool: it prints, spawns the hub itself, uses wall-clock `Instant`, ignores
// best-effort cleanup results, and its modules are private to this binary.

#[path = "../load/mod.rs"]
mod load;

fn main() -> std::process::ExitCode {
    load::main()
}
