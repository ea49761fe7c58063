//! JSON-RPC 2.0 and MCP wire model for the hub.
//!
//! Everything the hub sends or receives passes through these types. Params and results stay raw
//! JSON ([`RawValue`]) so the hub forwards what it does not need to understand byte for byte; the
//! typed views in [`mcp`] cover only what the hub reads or rewrites, and each keeps unknown fields
//! in a flattened `extra` map so nothing is lost on the way through.
//!
//! This crate does no IO and knows nothing of tokio.

pub mod jsonrpc;
pub mod mcp;
mod version;

pub use serde_json::value::RawValue;

pub use self::{
    jsonrpc::{DecodeError, ErrorObject, Id, Message, Notification, Request, Response},
    version::ProtocolVersion,
};
