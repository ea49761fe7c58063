//! Config files and environment resolution for the hub.
//!
//! The pipeline is pure: `hub-bin` reads the files and snapshots the process environment, this
//! crate turns text into a merged [`Config`] ([`load`]) and a server entry plus an [`EnvSource`]
//! into what to start ([`resolve_stdio`]). It never reads the process environment and never
//! spawns anything.
//!
//! This is the minimal slice: JSON5 files with `mcpServers` or VS Code `servers`, merged in order
//! as mcp-hub does, per-server validation that skips a broken entry instead of failing the load,
//! and the `${VAR}` / `${env:VAR}` / `${input:ID}` placeholders. Still to come (they are reported
//! as errors, never silently ignored): `${cmd: …}`, VS Code predefined variables, nesting, legacy
//! `$VAR` args, hot reload, the JSON Schema.

mod env;
mod error;
mod load;
mod resolve;

pub use self::{
    env::{EnvMap, EnvSource, MCP_HUB_ENV},
    error::{ConfigError, FileError},
    load::{Config, Server, ServerKind, Source, load},
    resolve::{ResolvedStdio, resolve_stdio},
};
