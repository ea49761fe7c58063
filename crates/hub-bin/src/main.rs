//! The `mcp-hub` binary; everything lives in the library so it can be tested.

fn main() -> std::process::ExitCode {
    hub_bin::main()
}
