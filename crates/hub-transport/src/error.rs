//! The crate's error type.

use std::time::Duration;

/// Everything that can go wrong talking to an upstream over stdio.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The child process could not be started (command not found, not executable, bad `cwd`).
    #[error("failed to start `{command}`")]
    Spawn {
        /// The command as given in the [`Spec`](crate::Spec).
        command: String,
        /// Why the operating system refused.
        #[source]
        source: std::io::Error,
    },
    /// The server answered with a JSON-RPC error response.
    #[error("{0}")]
    Rpc(hub_protocol::ErrorObject),
    /// The server did not answer in time; the request was cancelled upstream.
    #[error("no response to {method} within {after:?}")]
    Timeout {
        /// The request's method.
        method: String,
        /// The timeout that elapsed.
        after: Duration,
    },
    /// The transport is gone: the child exited, closed its stdout, or stopped reading its stdin.
    #[error("connection closed: {reason}")]
    Closed {
        /// A human-readable reason such as `process exited with status 1`.
        reason: String,
    },
}

/// `Result` with this crate's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
