//! Attestation trust: anchors, certificate parsing, chain validation.
//!
//! Anchors are scoped: to an attestation format (`"packed"`, `"tpm"`, ...)
//! or a UAF AAID, or to every scope. A chain is validated at the
//! verification instant against the anchors of its scope:
//!
//! - when the scope has anchors, the chain must lead to one of them, or the
//!   registration is rejected ([`TrustError::NoAnchor`]);
//! - when it has none, the chain is not judged and the result says
//!   `trusted: false`; policy decides whether that is acceptable.
//!
//! ```
//! use fidogate_core::trust::TrustAnchors;
//! let anchors = TrustAnchors::new();
//! assert!(anchors.for_scope("packed").next().is_none());
//! ```

mod anchors;
mod cert;
mod chain;

pub use anchors::{TrustAnchor, TrustAnchors};
pub use cert::{Cert, CertError, cert_signature_scheme, spki_public_key};
pub use chain::{MAX_CHAIN_LEN, SignatureCache, verify_chain, verify_chain_cached};

use crate::error::ErrorClass;
use crate::time::UnixTime;

/// Why a certificate chain was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    /// A certificate could not be parsed.
    #[error("certificate {index} is not a valid X.509 certificate: {reason}")]
    CertParse {
        /// Position in the chain (0 = leaf).
        index: usize,
        /// The parser's reason.
        reason: String,
    },
    /// A trust anchor file or certificate could not be used.
    #[error("trust anchor {source_name}: {reason}")]
    BadAnchor {
        /// Where the anchor came from.
        source_name: String,
        /// What is wrong.
        reason: String,
    },
    /// The chain is longer than [`MAX_CHAIN_LEN`] or empty.
    #[error("certificate chain has {len} certificates; 1 to {max} are accepted")]
    ChainLength {
        /// Its length.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// A certificate is expired at the verification instant.
    #[error("certificate {index} expired at {not_after}, verification time {at}")]
    CertExpired {
        /// Position in the chain.
        index: usize,
        /// Its notAfter.
        not_after: UnixTime,
        /// The verification instant.
        at: UnixTime,
    },
    /// A certificate is not yet valid at the verification instant.
    #[error("certificate {index} is not valid before {not_before}, verification time {at}")]
    CertNotYetValid {
        /// Position in the chain.
        index: usize,
        /// Its notBefore.
        not_before: UnixTime,
        /// The verification instant.
        at: UnixTime,
    },
    /// A certificate's issuer is not the next certificate's subject.
    #[error("certificate {index}'s issuer is not the subject of certificate {}", index + 1)]
    IssuerMismatch {
        /// Position in the chain.
        index: usize,
    },
    /// A certificate's signature does not verify with its issuer's key.
    #[error("certificate {index}'s signature does not verify with its issuer's key: {reason}")]
    BadSignature {
        /// Position in the chain.
        index: usize,
        /// Why.
        reason: String,
    },
    /// An issuing certificate is not a CA.
    #[error("certificate {index} issues certificate {} but is not a CA (basicConstraints)", index - 1)]
    NotCa {
        /// Position in the chain.
        index: usize,
    },
    /// The chain does not lead to any anchor configured for its scope.
    #[error("certificate chain does not lead to a trust anchor configured for {scope}")]
    NoAnchor {
        /// The scope (attestation format or AAID).
        scope: String,
    },
}

impl TrustError {
    /// The error's class.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::CertParse { .. } => ErrorClass::Malformed,
            Self::BadAnchor { .. } => ErrorClass::Internal,
            _ => ErrorClass::Untrusted,
        }
    }
}
