//! Certificate chain validation against trust anchors.

use super::{Cert, TrustAnchor, TrustError};
use crate::time::UnixTime;

/// Longest attestation chain accepted (leaf included).
pub const MAX_CHAIN_LEN: usize = 8;

/// Validates `chain` (leaf first, each certificate issued by the next) at
/// `at` against `anchors`.
///
/// The chain is walked from the leaf. Every certificate must be within its
/// validity period; a certificate that is itself an anchor, or whose issuer
/// is an anchor that verifies its signature, ends the walk successfully.
/// Otherwise the next certificate must be a CA whose subject is this
/// certificate's issuer and whose key verifies its signature. Running out
/// of certificates without reaching an anchor is [`TrustError::NoAnchor`].
/// Returns the anchor reached.
pub fn verify_chain<'t>(
    chain: &[Cert<'_>],
    anchors: &[&'t TrustAnchor],
    at: UnixTime,
    scope: &str,
) -> Result<&'t TrustAnchor, TrustError> {
    if chain.is_empty() || chain.len() > MAX_CHAIN_LEN {
        return Err(TrustError::ChainLength {
            len: chain.len(),
            max: MAX_CHAIN_LEN,
        });
    }
    let mut last_error = None;
    for (index, cert) in chain.iter().enumerate() {
        if let Some(anchor) = anchors.iter().find(|a| a.der() == cert.der()) {
            return Ok(anchor);
        }
        check_validity(cert, index, at)?;
        let issuer = cert.x509().issuer().as_raw();
        for anchor in anchors.iter().filter(|a| a.subject_raw() == issuer) {
            match cert.verify_signed_by(anchor.public_key()) {
                Ok(()) => return Ok(anchor),
                Err(e) => {
                    last_error = Some(TrustError::BadSignature {
                        index,
                        reason: e.to_string(),
                    });
                }
            }
        }
        let Some(next) = chain.get(index + 1) else {
            break;
        };
        if next.x509().subject().as_raw() != issuer {
            return Err(TrustError::IssuerMismatch { index });
        }
        if !next.is_ca() {
            return Err(TrustError::NotCa { index: index + 1 });
        }
        let key = next.public_key().map_err(|e| TrustError::CertParse {
            index: index + 1,
            reason: e.to_string(),
        })?;
        cert.verify_signed_by(&key)
            .map_err(|e| TrustError::BadSignature {
                index,
                reason: e.to_string(),
            })?;
    }
    // An anchor with the right name whose key did not verify is the more
    // telling error.
    Err(last_error.unwrap_or_else(|| TrustError::NoAnchor {
        scope: scope.to_owned(),
    }))
}

fn check_validity(cert: &Cert<'_>, index: usize, at: UnixTime) -> Result<(), TrustError> {
    let (not_before, not_after) = (cert.not_before(), cert.not_after());
    if at < not_before {
        return Err(TrustError::CertNotYetValid {
            index,
            not_before,
            at,
        });
    }
    if at > not_after {
        return Err(TrustError::CertExpired {
            index,
            not_after,
            at,
        });
    }
    Ok(())
}
