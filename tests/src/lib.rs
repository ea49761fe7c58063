//! End-to-end tests of the whole hub live in `it/`. This library holds what the package's
//! binaries share with those tests: the conformance fixture server ([`fixture`]).

pub mod fixture;
