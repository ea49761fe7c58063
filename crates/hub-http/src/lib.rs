//! hub-http
