//! End-to-end tests: the real `mcp-hub` binary, real child processes, real HTTP on 127.0.0.1,
//! and (with the pinned peers installed by `cargo xtask test`) the official Python MCP SDK as the
//! client and `server-everything` as an upstream.

#![allow(missing_docs, unreachable_pub, clippy::unwrap_used, clippy::print_stderr)]
// Test harness: it reads its own settings from the environment (HUB_IT_*) and starts the binary
// under test; best-effort cleanup results are ignored on purpose.
#![allow(clippy::disallowed_methods, clippy::let_underscore_must_use)]

mod check;
mod e2e;
mod events;
mod faults;
mod features;
mod fixture;
mod python_sdk;
mod reload;
mod remote;
mod rest;
mod sharing;
mod supervision;
mod support;
