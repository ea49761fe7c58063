//! hub-core
