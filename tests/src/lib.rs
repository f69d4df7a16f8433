//! The scenario table every adapter of the gateway must pass, and what
//! running it needs: the app behind the gateway, the configuration, the
//! `fidogate run` process with the port it bound, and a raw HTTP/1.1
//! client.
//!
//! `tower-layer/tests/scenarios.rs` runs the table against the tower
//! Layer with `oneshot`; `proxy/tests/scenarios.rs` against the real
//! `fidogate run` over loopback sockets. The end-to-end tests in `tests/`
//! use the same process and client.

// Test support: a broken fixture is a bug in the fixture, and panicking
// with the reason is the clearest report.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test support"
)]

pub mod app;
pub mod client;
pub mod config;
pub mod metrics;
pub mod process;
pub mod redis;
pub mod runner;
pub mod scenario;
pub mod table;

/// The verified-credential header (the default name, lower-cased).
pub const HEADER: &str = "fidogate-credential";
/// Where the gateway serves its JWKS.
pub const JWKS_PATH: &str = "/.well-known/fidogate/jwks.json";
