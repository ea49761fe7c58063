//! End-to-end tests of the whole hub live in `it/`; this library is empty on purpose.
