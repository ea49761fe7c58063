//! Tool selection and filtering for LLM context.
//!
//! **Not built yet.** This crate will own the filtering modes (server allow/deny lists,
//! categories, prompt-based per-session exposure) and an embedded ranker that needs no network.
//! It stays pure and synchronous; any LLM or embedding call is a trait implemented in `hub-core`.
