//! `mcp-conformance-fixture`: the MCP server the official conformance suite's server scenarios
//! expect, over stdio or streamable HTTP. See `hub_integration::fixture`; `cargo xtask
//! conformance` builds and runs it.

fn main() -> std::process::ExitCode {
    hub_integration::fixture::main()
}
