//! The crate's error type.

use std::time::Duration;

/// Everything that can go wrong talking to an upstream, over stdio or HTTP.
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
    /// The transport is gone: the child exited, closed its stdout, or stopped reading its
    /// stdin; the remote server expired the session; the legacy SSE stream ended; or the peer
    /// was shut down.
    #[error("connection closed: {reason}")]
    Closed {
        /// A human-readable reason such as `process exited with status 1` or
        /// `session expired (HTTP 404)`.
        reason: String,
    },
    /// The remote server's spec is unusable (not an `http`/`https` URL, an invalid header).
    /// Never contains a header value: those often hold secrets.
    #[error("invalid remote server spec: {reason}")]
    InvalidSpec {
        /// What is wrong.
        reason: String,
    },
    /// The remote server refused the request's credentials: HTTP 401 (missing or invalid
    /// credentials) or 403 (insufficient ones). The hub reports it as an authorization problem
    /// rather than as a broken server.
    #[error("not authorized by the server (HTTP {status})")]
    Unauthorized {
        /// 401 or 403.
        status: u16,
    },
    /// The remote server answered with another unexpected HTTP status.
    #[error("HTTP {status}{}", if body.is_empty() { String::new() } else { format!(": {body}") })]
    Http {
        /// The status code.
        status: u16,
        /// The first bytes of the response body (lossy UTF-8, trimmed), possibly empty.
        body: String,
    },
    /// An HTTP request could not be made or its answer not read: connection refused or reset,
    /// TLS failure, DNS failure, the stream broke.
    #[error("HTTP request failed")]
    Request {
        /// reqwest's error, without the URL (which may hold a secret).
        #[source]
        source: reqwest::Error,
    },
    /// The remote server broke the transport's rules: an unexpected content type, a body over
    /// the size limit, no `endpoint` event, a stream that ended before the response and could
    /// not be resumed.
    #[error("protocol error: {reason}")]
    Protocol {
        /// What happened.
        reason: String,
    },
}

/// `Result` with this crate's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
