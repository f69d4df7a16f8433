//! Certificate chain validation against trust anchors.

use super::{Cert, TrustAnchor, TrustError};
use crate::time::UnixTime;
use sha2::Digest;

/// Longest attestation chain accepted (leaf included).
pub const MAX_CHAIN_LEN: usize = 8;

/// Certificate signatures already checked, on chains that reached an
/// anchor: for each, the SHA-256 of the certificate's DER and of its
/// issuer's (the next certificate or the anchor).
///
/// A certificate's signature under its issuer's key is a pure function of
/// those two sets of bytes, so a link found here is the very check done
/// before, and skipping it decides nothing differently. Authenticators of
/// one model share their attestation certificates (a batch of at least
/// 100,000 devices under the FIDO certification rules), so after the first
/// registration of a model only the attestation signature itself is left
/// to check. Everything that depends on the instant (each certificate's
/// validity period) or on the chain's shape (issuer names, CA flags) is
/// still checked on every walk. Links are recorded only when the whole
/// walk ends at an anchor, so a chain of the sender's own making adds
/// nothing; the cache is bounded and shared by the clones of its
/// [`TrustAnchors`](super::TrustAnchors).
#[derive(Debug, Clone)]
pub struct SignatureCache {
    links: moka::sync::Cache<[u8; 32], ()>,
}

impl SignatureCache {
    /// A cache of at most `capacity` links.
    pub fn new(capacity: u64) -> Self {
        Self {
            links: moka::sync::Cache::builder().max_capacity(capacity).build(),
        }
    }

    /// Links held (approximate while inserts are pending).
    pub fn len(&self) -> u64 {
        self.links.run_pending_tasks();
        self.links.entry_count()
    }

    /// Whether no link is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn key(cert: &[u8], issuer: &[u8]) -> [u8; 32] {
        let mut h = sha2::Sha256::new();
        // Lengths first: no two (cert, issuer) pairs hash the same bytes.
        h.update(u64::try_from(cert.len()).unwrap_or(u64::MAX).to_be_bytes());
        h.update(cert);
        h.update(issuer);
        h.finalize().into()
    }
}

/// The links one walk checked, recorded once it succeeds.
struct Walk<'c> {
    cache: Option<&'c SignatureCache>,
    checked: [Option<[u8; 32]>; MAX_CHAIN_LEN],
}

impl Walk<'_> {
    /// Whether `cert`'s signature by `issuer_der`'s key verifies: from the
    /// cache, or by `verify` (then remembered for [`Walk::succeeded`]).
    fn signed_by<E>(
        &mut self,
        index: usize,
        cert: &Cert<'_>,
        issuer_der: &[u8],
        verify: impl FnOnce() -> Result<(), E>,
    ) -> Result<(), E> {
        let Some(cache) = self.cache else {
            return verify();
        };
        let key = SignatureCache::key(cert.der(), issuer_der);
        if cache.links.contains_key(&key) {
            return Ok(());
        }
        verify()?;
        if let Some(slot) = self.checked.get_mut(index) {
            *slot = Some(key);
        }
        Ok(())
    }

    fn succeeded(&self) {
        if let Some(cache) = self.cache {
            for key in self.checked.iter().flatten() {
                cache.links.insert(*key, ());
            }
        }
    }
}

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
    verify_chain_cached(chain, anchors, at, scope, None)
}

/// [`verify_chain`], skipping the certificate signatures `cache` holds
/// from earlier walks that reached an anchor, and adding this walk's when
/// it reaches one.
pub fn verify_chain_cached<'t>(
    chain: &[Cert<'_>],
    anchors: &[&'t TrustAnchor],
    at: UnixTime,
    scope: &str,
    cache: Option<&SignatureCache>,
) -> Result<&'t TrustAnchor, TrustError> {
    let mut walk = Walk {
        cache,
        checked: [None; MAX_CHAIN_LEN],
    };
    let anchor = walk_chain(chain, anchors, at, scope, &mut walk)?;
    walk.succeeded();
    Ok(anchor)
}

fn walk_chain<'t>(
    chain: &[Cert<'_>],
    anchors: &[&'t TrustAnchor],
    at: UnixTime,
    scope: &str,
    walk: &mut Walk<'_>,
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
            match walk.signed_by(index, cert, anchor.der(), || {
                cert.verify_signed_by(anchor.public_key())
            }) {
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
        walk.signed_by(index, cert, next.der(), || {
            let key = next.public_key().map_err(|e| TrustError::CertParse {
                index: index + 1,
                reason: e.to_string(),
            })?;
            cert.verify_signed_by(&key)
                .map_err(|e| TrustError::BadSignature {
                    index,
                    reason: e.to_string(),
                })
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
