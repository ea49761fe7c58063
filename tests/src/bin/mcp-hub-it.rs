//! The `mcp-hub` binary, built inside the test package so the end-to-end tests can find it
//! through `CARGO_BIN_EXE_mcp-hub-it` (Cargo offers that only to tests of the same package).

fn main() -> std::process::ExitCode {
    hub_bin::main()
}
