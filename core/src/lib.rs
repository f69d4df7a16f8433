//! fidogate-core: FIDO registration verification and the gateway engine.
//!
//! No I/O: no sockets, no globals, and no decision reads a clock. Time, trust
//! anchors and policy are arguments; the one place that reads the system
//! clock and the OS random source is [`gateway::SystemSource`], which the
//! adapters hold and ask for each request's [`gateway::Env`] and for the
//! monotonic now of the per-client limit (whose origin, the first reading,
//! is the one static it keeps).
//!
//! - [`webauthn`]: WebAuthn (FIDO2) registration verification, W3C WebAuthn
//!   Level 3 §7.1.
//! - [`uaf`]: FIDO UAF 1.x registration verification.
//! - [`keycred`]: key credentials (a client-held key pair signing the
//!   challenge and its public key).
//! - [`gateway`]: the gateway engine (routes, dialects, challenge store,
//!   the verified-credential header).
//! - [`trust`]: attestation trust anchors and certificate chains.
//! - [`crypto`]: the one seam all signatures go through.

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod b64;
pub mod cbor;
pub mod crypto;
pub mod cursor;
pub mod error;
pub mod gateway;
pub mod keycred;
pub mod metadata;
pub mod time;
pub mod trust;
pub mod uaf;
pub mod webauthn;

pub use error::ErrorClass;
pub use time::UnixTime;
