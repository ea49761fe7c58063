//! hub-config
