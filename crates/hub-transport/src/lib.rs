//! hub-transport
