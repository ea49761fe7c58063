//! Upstream MCP transport for the hub: stdio child processes.
//!
//! An upstream MCP server runs as a child process that speaks newline-delimited JSON-RPC on its
//! stdin and stdout. [`spawn`] starts it from a [`Spec`] and returns two halves:
//!
//! - a [`Peer`], a cheap-to-clone handle that sends requests (many in flight at once, correlated
//!   by id, each with its own timeout), notifications and responses, reports when the transport
//!   is gone ([`Peer::closed`]) and shuts the child down in order ([`Peer::shutdown`]);
//! - an [`Incoming`] receiver carrying what the server sends on its own initiative: requests
//!   (other than `ping`, which is answered here) and notifications.
//!
//! Behind the handle run a handful of tasks per child: a reader that decodes stdout with the
//! [`LineCodec`] framer and routes each message, a writer that owns stdin, a task that logs
//! stderr line by line, and a supervisor that owns the child process, reaps it and runs the
//! shutdown escalation (close stdin, `SIGTERM` the process group, `SIGKILL` the process group).
//!
//! The child's environment is exactly [`Spec::env`]; this crate never reads the hub's own
//! environment. [`DEFAULT_INHERITED_ENV`] documents which variables mcp-hub passes through by
//! default, for whoever builds the `Spec`.
//!
//! This crate is Unix-only (process groups and signals).

mod error;
mod framing;
mod peer;
mod shell;
mod stdio;
#[cfg(test)]
mod testing;

pub use self::{
    error::{Error, Result},
    framing::{Frame, LineCodec},
    peer::{Incoming, Peer},
    shell::{DEFAULT_SHELL_MAX_OUTPUT, DEFAULT_SHELL_TIMEOUT, run_shell},
    stdio::{DEFAULT_INHERITED_ENV, Settings, Spec, spawn},
};
