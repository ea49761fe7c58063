//! Config files and environment resolution for the hub.
//!
//! The pipeline is pure: `hub-bin` reads the files and snapshots the process environment, this
//! crate turns text into a merged [`Config`] ([`load`]) and a server entry plus an [`EnvSource`]
//! into what to start ([`Resolver::stdio`], [`Resolver::remote`]). It never reads the process
//! environment and never spawns anything: `${cmd: …}` placeholders are run by a
//! [`CommandRunner`] the caller passes in.
//!
//! JSON5 files with `mcpServers` or VS Code `servers` are merged in order as mcp-hub does, with
//! per-server validation that skips a broken entry instead of failing the load; every problem
//! carries its file, line, column, key path and a fix. Placeholders speak mcp-hub's whole
//! language without its defects (see the `resolve` module docs: forms, nesting, precedence,
//! sibling `env` references, cycles). The hub's own settings are the `hub` section
//! ([`HubSettings`]); [`config_schema`] is the JSON Schema of the whole file, generated from these
//! types; [`diff`] compares two loads server by server for hot reload.

mod diff;
mod env;
mod error;
mod load;
mod locate;
mod pool;
mod resolve;
mod schema;
mod settings;

pub use self::{
    diff::{Changes, Modified, diff},
    env::{EnvMap, EnvSource, MCP_HUB_ENV},
    error::{ConfigError, FileError},
    load::{
        Config, DEFAULT_MAX_INSTANCES, DEV_DEFAULT_WATCH, Dev, Hidden, Prefix, SERVER_KEYS, Server,
        ServerKind, Sharing, Source, Transport, load,
    },
    pool::ConnectionPool,
    resolve::{
        CommandRunner, MAX_DEPTH, ResolvedRemote, ResolvedStdio, Resolver, resolve_remote,
        resolve_stdio,
    },
    schema::config_schema,
    settings::{
        BreakerSettings, DurationValue, HttpSettings, HubSettings, PingSettings, RestartSettings,
        StdioSettings, SupervisionSettings, Timeouts, WatchSettings,
    },
};
