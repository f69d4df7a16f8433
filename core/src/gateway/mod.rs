//! The gateway engine's building blocks. The engine itself (routes,
//! dialects, the verified-credential header) builds on these.
//!
//! - [`challenge`]: the single-use challenge store.

pub mod challenge;
pub mod token;

pub use challenge::{ChallengeContext, ChallengeError, ChallengeStore, MokaChallengeStore};
