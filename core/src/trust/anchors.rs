//! Trust anchors and their scopes.

use super::{Cert, SignatureCache, TrustError};
use crate::crypto::PublicKey;

/// A certificate trusted to end attestation chains.
#[derive(Debug, Clone)]
pub struct TrustAnchor {
    der: Vec<u8>,
    subject_raw: Vec<u8>,
    key: PublicKey,
    name: String,
}

impl TrustAnchor {
    /// An anchor from one DER certificate; `source_name` names it in errors.
    pub fn from_der(der: Vec<u8>, source_name: &str) -> Result<Self, TrustError> {
        let bad = |reason: String| TrustError::BadAnchor {
            source_name: source_name.to_owned(),
            reason,
        };
        let (subject_raw, key, name) = {
            let cert = Cert::parse(&der, 0).map_err(|e| bad(e.to_string()))?;
            let key = cert.public_key().map_err(|e| bad(e.to_string()))?;
            (
                cert.x509().subject().as_raw().to_vec(),
                key,
                cert.x509().subject().to_string(),
            )
        };
        Ok(Self {
            der,
            subject_raw,
            key,
            name,
        })
    }

    /// Every certificate in PEM text (other PEM blocks are skipped).
    pub fn from_pem(pem: &[u8], source_name: &str) -> Result<Vec<Self>, TrustError> {
        let mut out = Vec::new();
        for (i, block) in x509_parser::pem::Pem::iter_from_buffer(pem).enumerate() {
            let block = block.map_err(|e| TrustError::BadAnchor {
                source_name: source_name.to_owned(),
                reason: format!("PEM block {i}: {e}"),
            })?;
            if block.label == "CERTIFICATE" {
                out.push(Self::from_der(block.contents, source_name)?);
            }
        }
        if out.is_empty() {
            return Err(TrustError::BadAnchor {
                source_name: source_name.to_owned(),
                reason: "no CERTIFICATE block".to_owned(),
            });
        }
        Ok(out)
    }

    /// The DER bytes.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The subject name, DER.
    pub fn subject_raw(&self) -> &[u8] {
        &self.subject_raw
    }

    /// The subject name as text.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The anchor's public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.key
    }
}

/// Trust anchors by scope (attestation format or UAF AAID), plus anchors
/// that apply to every scope, and the certificate signatures already
/// checked on chains that reached them ([`SignatureCache`], shared by
/// clones; a new set of anchors starts with an empty one).
#[derive(Debug, Clone)]
pub struct TrustAnchors {
    global: Vec<TrustAnchor>,
    scoped: Vec<(String, TrustAnchor)>,
    signatures: Option<SignatureCache>,
}

impl Default for TrustAnchors {
    fn default() -> Self {
        Self {
            global: Vec::new(),
            scoped: Vec::new(),
            signatures: Some(SignatureCache::new(Self::SIGNATURE_CACHE_LINKS)),
        }
    }
}

impl TrustAnchors {
    /// Links the signature cache holds at most: a few hundred bytes each,
    /// room for the chains of some thousands of authenticator models.
    pub const SIGNATURE_CACHE_LINKS: u64 = 8192;

    /// No anchors.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks every certificate signature on every walk: no
    /// [`SignatureCache`] (what a registration whose chain was never seen
    /// costs, as the verification benches measure it).
    #[must_use]
    pub fn without_signature_cache(mut self) -> Self {
        self.signatures = None;
        self
    }

    /// The cache of signatures checked on chains that reached an anchor.
    pub fn signature_cache(&self) -> Option<&SignatureCache> {
        self.signatures.as_ref()
    }

    /// Adds an anchor for every scope.
    pub fn add_global(&mut self, anchor: TrustAnchor) -> &mut Self {
        self.global.push(anchor);
        self
    }

    /// Adds an anchor for one scope.
    pub fn add_scoped(&mut self, scope: &str, anchor: TrustAnchor) -> &mut Self {
        self.scoped.push((scope.to_owned(), anchor));
        self
    }

    /// The anchors that apply to `scope`.
    pub fn for_scope<'a>(&'a self, scope: &'a str) -> impl Iterator<Item = &'a TrustAnchor> + 'a {
        self.scoped
            .iter()
            .filter(move |(s, _)| s == scope)
            .map(|(_, a)| a)
            .chain(self.global.iter())
    }

    /// Whether no anchors are configured at all.
    pub fn is_empty(&self) -> bool {
        self.global.is_empty() && self.scoped.is_empty()
    }
}
