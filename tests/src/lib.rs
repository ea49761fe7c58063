//! End-to-end tests of the whole hub live in `it/`. This library holds what the package's
//! binaries share with those tests: the conformance fixture server ([`fixture`]) and the log
//! setup of the package's small servers and clients ([`init_stderr_tracing`]).

pub mod fixture;

/// Logs to stderr (stdout may be the MCP stream), filtered by `RUST_LOG` or else `default`;
/// `program` names who says so when a subscriber is already installed.
#[allow(clippy::print_stderr)]
pub fn init_stderr_tracing(default: &str, program: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let installed = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
    if let Err(error) = installed {
        eprintln!("{program}: no log: {error}");
    }
}
