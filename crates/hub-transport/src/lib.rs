//! Upstream MCP transports for the hub: stdio child processes, and remote servers over
//! streamable HTTP or the legacy HTTP+SSE transport.
//!
//! [`spawn`] starts a child process from a [`Spec`]; [`connect`] reaches a remote server from an
//! [`HttpSpec`]. Both return the same two halves:
//!
//! - a [`Peer`], a cheap-to-clone handle that sends requests (many in flight at once, correlated
//!   by id, each with its own timeout), notifications and responses, reports when the transport
//!   is gone ([`Peer::closed`]) and shuts it down in order ([`Peer::shutdown`]);
//! - an [`Incoming`] receiver carrying what the server sends on its own initiative: requests
//!   (other than `ping`, which is answered here) and notifications.
//!
//! A `Peer` sends through a link (the child's stdin, or HTTP) and routes whatever comes back
//! through one router shared by all transports (`peer` module).
//!
//! Behind a stdio handle run a handful of tasks per child: a reader that decodes stdout with the
//! [`LineCodec`] framer and routes each message, a writer that owns stdin, a task that logs
//! stderr line by line, and a supervisor that owns the child process, reaps it and runs the
//! shutdown escalation (close stdin, `SIGTERM` the process group, `SIGKILL` the process group).
//! Behind an HTTP handle run a task per request in flight, the SSE streams (decoded with the
//! [`SseCodec`]) and a driver that ends the session on shutdown (`http` module).
//!
//! The child's environment is exactly [`Spec::env`]; this crate never reads the hub's own
//! environment. [`DEFAULT_INHERITED_ENV`] documents which variables mcp-hub passes through by
//! default, for whoever builds the `Spec`. The HTTP client is passed in (`hub_pool` builds the
//! shared one), so connection pooling and TLS are configured in one place.
//!
//! This crate is Unix-only (process groups and signals).

mod error;
mod framing;
mod http;
mod peer;
mod shell;
mod stdio;
#[cfg(test)]
mod testing;

pub use self::{
    error::{Error, Result},
    framing::{Frame, LineCodec},
    http::{HttpSettings, HttpSpec, HttpTransport, SseCodec, SseEvent, SseFrame, connect},
    peer::{CallOptions, Incoming, Peer},
    shell::{DEFAULT_SHELL_MAX_OUTPUT, DEFAULT_SHELL_TIMEOUT, run_shell},
    stdio::{DEFAULT_INHERITED_ENV, GroupWatch, Settings, Spec, spawn},
};
