//! hub-bin
