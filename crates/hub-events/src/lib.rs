//! Hub event model and batching for the live event stream (`GET /api/events`).
//!
//! **Not built yet.** This crate will own the hub's event types (`hub_state`, `log`,
//! `subscription_event`, heartbeat), the batcher (a `Stream` adapter that closes a batch on size or
//! timeout) and the sinks that deliver batches, without the anchor's renaming of events.
