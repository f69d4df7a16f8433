//! Error classes shared by every protocol.
//!
//! Each protocol has its own typed error naming the step and field that
//! failed; every one of them reports an [`ErrorClass`]. The HTTP layers map
//! classes to statuses and dialect bodies in one place, so the mapping never
//! depends on the protocol that failed.

use std::fmt;

/// The small set of classes that every verification error falls into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorClass {
    /// The input is not well formed: bad encoding, missing or extra fields,
    /// truncated or trailing bytes, unsupported formats.
    Malformed,
    /// A signature did not verify.
    Signature,
    /// A certificate chain is invalid or does not lead to a configured trust
    /// anchor.
    Untrusted,
    /// The input is well formed and authentic but the relying party's policy
    /// refuses it (origin, RP ID, user verification, algorithm, ...).
    Policy,
    /// The challenge does not match, was already used, or expired.
    Replay,
    /// A fault on the verifier's side, not caused by the input.
    Internal,
}

impl ErrorClass {
    /// The class as a lower-case identifier (`"malformed"`, `"signature"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::Signature => "signature",
            Self::Untrusted => "untrusted",
            Self::Policy => "policy",
            Self::Replay => "replay",
            Self::Internal => "internal",
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
