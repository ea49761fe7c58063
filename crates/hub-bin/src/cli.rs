//! Command-line flags: mcp-hub 4.2.1's, plus `--host` and subcommands.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// mcp-hub: one MCP endpoint for many MCP servers.
#[derive(Debug, Parser)]
#[command(name = "mcp-hub", disable_version_flag = true)]
pub struct Cli {
    /// Port of the HTTP server (`/mcp` and the REST API).
    #[arg(short, long, default_value_t = 37373)]
    pub port: u16,

    /// Address to bind. The default, 127.0.0.1, keeps the hub reachable from this machine only.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,

    /// Config file(s) (JSON or JSON5, `mcpServers` or VS Code `servers`), merged in order.
    /// Repeat the flag or list several files after it.
    #[arg(short, long, num_args = 1.., action = clap::ArgAction::Append)]
    pub config: Vec<PathBuf>,

    /// Watch the config files and apply changes (not implemented yet: accepted and reported).
    #[arg(short, long)]
    pub watch: bool,

    /// Shut down when the last event-stream client disconnects (not implemented yet: accepted and
    /// reported).
    #[arg(long)]
    pub auto_shutdown: bool,

    /// Delay in milliseconds before an automatic shutdown.
    #[arg(long, default_value_t = 0)]
    pub shutdown_delay: u64,

    /// Print the mcp-hub version this hub is compatible with and exit.
    #[arg(long)]
    pub version: bool,

    /// What to run instead of the hub.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate config files without starting anything; exits non-zero on any error.
    Check {
        /// Config file(s), merged in order as the hub would.
        #[arg(short, long, num_args = 1.., action = clap::ArgAction::Append, required = true)]
        config: Vec<PathBuf>,
        /// Also resolve every placeholder as the hub would, `${cmd: …}` commands included, and
        /// print the result with secret values redacted.
        #[arg(long)]
        resolve: bool,
    },
    /// Run the bundled demo MCP server on stdin/stdout (tools, a resource, a prompt).
    DemoServer {
        /// Items per page of each list (exercises pagination); 0 = everything in one page.
        #[arg(long, default_value_t = 0)]
        page_size: usize,
        /// Also offer tools that misbehave on purpose (`crash`, `hang`), for tests.
        #[arg(long)]
        test_tools: bool,
    },
    /// Internal: the watchdog the hub starts so its children never outlive it (reads process
    /// group ids on stdin; when stdin ends, kills the groups still listed).
    #[command(hide = true)]
    Reaper,
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn mcp_hub_flags_parse_like_mcphub_nvim_sends_them() {
        let cli = Cli::try_parse_from([
            "mcp-hub",
            "--port",
            "40123",
            "--config",
            "g.json",
            "--config",
            "w.json",
            "--auto-shutdown",
            "--shutdown-delay",
            "300000",
            "--watch",
        ])
        .unwrap();
        assert_eq!(cli.port, 40123);
        assert_eq!(cli.config, [PathBuf::from("g.json"), PathBuf::from("w.json")]);
        assert!(cli.watch && cli.auto_shutdown);
        assert_eq!(cli.shutdown_delay, 300_000);
        assert_eq!(cli.host, "127.0.0.1");
    }

    #[test]
    fn config_takes_several_values_and_short_flags() {
        let cli = Cli::try_parse_from(["mcp-hub", "-p", "1", "-c", "a", "b", "-w"]).unwrap();
        assert_eq!(cli.config, [PathBuf::from("a"), PathBuf::from("b")]);
        assert!(cli.watch);
    }

    #[test]
    fn demo_server_subcommand() {
        let cli = Cli::try_parse_from(["mcp-hub", "demo-server", "--page-size", "2"]).unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::DemoServer { page_size: 2, test_tools: false })
        ));
    }

    #[test]
    fn check_subcommand_needs_a_config() {
        let cli =
            Cli::try_parse_from(["mcp-hub", "check", "--config", "a.json", "b.json"]).unwrap();
        assert!(
            matches!(cli.command, Some(Command::Check { ref config, resolve: false }) if config.len() == 2)
        );
        assert!(Cli::try_parse_from(["mcp-hub", "check"]).is_err());
    }

    #[test]
    fn bad_port_is_an_error() {
        assert!(Cli::try_parse_from(["mcp-hub", "--port", "x"]).is_err());
    }
}
