//! `mcp-conformance-client`: the MCP client that the official conformance suite drives
//! (`conformance client --command <this binary> --scenario <name>`), built on hub-transport's
//! streamable HTTP client. See `conformance/mod.rs` for the contract; `cargo xtask conformance`
//! builds and runs it.

#![allow(clippy::print_stderr, unreachable_pub, missing_docs)]
// A test tool: it reports progress on stderr (the suite saves it), and its modules are private to
// this binary.

#[path = "../conformance/mod.rs"]
mod conformance;

fn main() -> std::process::ExitCode {
    conformance::main()
}
