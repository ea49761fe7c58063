//! Config files and environment resolution for the hub.
//!
//! The pipeline is pure: `hub-bin` reads the files and snapshots the process environment, this
//! crate turns text into a merged [`Config`] ([`load`]) and a server entry plus an [`EnvSource`]
//! into what to start ([`Resolver::stdio`], [`Resolver::remote`]). It never reads the process
//! environment and never spawns anything: `${cmd: …}` placeholders are run by a
//! [`CommandRunner`] the caller passes in.
//!
//! JSON5 files with `mcpServers` or VS Code `servers` are merged in order as mcp-hub does, with
//! per-server validation that skips a broken entry instead of failing the load. Placeholders
//! speak mcp-hub's whole language without its defects (see the `resolve` module docs: forms,
//! nesting, precedence, sibling `env` references, cycles). Still to come: hot reload, the JSON
//! Schema.

mod env;
mod error;
mod load;
mod resolve;

pub use self::{
    env::{EnvMap, EnvSource, MCP_HUB_ENV},
    error::{ConfigError, FileError},
    load::{Config, Hidden, Server, ServerKind, Source, load},
    resolve::{
        CommandRunner, MAX_DEPTH, ResolvedRemote, ResolvedStdio, Resolver, resolve_remote,
        resolve_stdio,
    },
};
