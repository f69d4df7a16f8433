//! The signed MDS3 BLOB: a compact JWS (RFC 7515) whose header carries
//! the signer's certificates in `x5c`. The signature is checked with the
//! `alg` the header names (ES256 with a raw `r || s` signature, or RS256
//! only); the certificate path is built from the signer to a configured
//! root out of the `x5c` certificates in any order, so extra or
//! cross-signed certificates (a new root cross-signed by the old one) do
//! not stop it; an `x5u` is refused, since nothing is fetched.

use super::payload::{Payload, PayloadError};
use crate::b64;
use crate::crypto::{self, Hash, SignatureScheme};
use crate::time::UnixTime;
use crate::trust::{Cert, TrustAnchor};
use serde_json::{Map, Value};

/// Largest BLOB accepted, in bytes (the FIDO MDS BLOB is about 10 MB).
pub const MAX_BLOB_LEN: usize = 64 * 1024 * 1024;

/// Most certificates in a path from the signer to a root (root excluded).
pub const MAX_PATH_LEN: usize = 6;

/// Most certificates the header's `x5c` may carry.
const MAX_X5C: usize = 16;

/// Why a BLOB was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BlobError {
    /// Larger than [`MAX_BLOB_LEN`].
    #[error("the BLOB is {len} bytes, more than the {max} accepted")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// Not three base64url parts, or a part that does not decode.
    #[error("the BLOB is not a compact JWS: {0}")]
    NotJws(String),
    /// The protected header cannot be used.
    #[error("the BLOB's JWS header: {0}")]
    Header(String),
    /// An `alg` other than ES256 and RS256.
    #[error("the BLOB's JWS alg {0:?} is not accepted (ES256 or RS256)")]
    Alg(String),
    /// A certificate URL, which an offline verifier cannot follow.
    #[error(
        "the BLOB's JWS header names its certificates by URL (x5u); only x5c is accepted offline"
    )]
    X5u,
    /// An ES256 signature that is not 64 bytes of `r || s` (a DER one, say).
    #[error(
        "the BLOB's ES256 signature is {0} bytes; JWS ES256 is 64 bytes of r || s (RFC 7518 §3.4), not DER"
    )]
    SignatureEncoding(usize),
    /// The signature does not verify with the signer's key.
    #[error("the BLOB's signature does not verify with its signing certificate: {0}")]
    Signature(String),
    /// An `x5c` entry that is not a certificate.
    #[error("the BLOB's x5c[{index}]: {reason}")]
    Certificate {
        /// Its position.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// No path from the signer to a configured root at the instant.
    #[error(
        "the BLOB's signing certificate does not lead to a configured metadata root at {at}: {reason}"
    )]
    NoPath {
        /// The verification instant.
        at: UnixTime,
        /// The last reason a candidate path failed.
        reason: String,
    },
    /// The payload cannot be used.
    #[error("the BLOB's payload: {0}")]
    Payload(#[from] PayloadError),
}

impl BlobError {
    /// The error's class: `signature` for a signature that does not
    /// verify, `untrusted` for no path to a root, `policy` for what an
    /// offline verifier refuses (the algorithm, x5u), `malformed` else.
    pub fn class(&self) -> crate::ErrorClass {
        use crate::ErrorClass;
        match self {
            Self::Signature(_) => ErrorClass::Signature,
            Self::NoPath { .. } => ErrorClass::Untrusted,
            Self::Alg(_) | Self::X5u => ErrorClass::Policy,
            _ => ErrorClass::Malformed,
        }
    }
}

/// A BLOB split and decoded, its signature not yet checked.
#[derive(Debug, Clone)]
pub struct SignedBlob {
    /// `alg` from the header.
    pub alg: String,
    /// The `x5c` certificates (DER), the signer first.
    pub x5c: Vec<Vec<u8>>,
    signing_input_len: usize,
    signature: Vec<u8>,
    payload: Vec<u8>,
}

/// A BLOB whose signature and certificate path were checked.
#[derive(Debug, Clone)]
pub struct VerifiedBlob {
    /// The payload.
    pub payload: Payload,
    /// The root the path reached (its subject).
    pub root: String,
    /// That root.
    pub root_anchor: TrustAnchor,
    /// The path's certificates, the signer first, the root excluded.
    pub path: Vec<Vec<u8>>,
    /// Until when every certificate of the path is valid: a BLOB verified
    /// once stays usable to this instant (and past it, only if the caller
    /// recorded the verification).
    pub path_valid_until: UnixTime,
}

impl SignedBlob {
    /// Splits and decodes a compact JWS (surrounding whitespace allowed).
    pub fn parse(bytes: &[u8]) -> Result<Self, BlobError> {
        if bytes.len() > MAX_BLOB_LEN {
            return Err(BlobError::TooLarge {
                len: bytes.len(),
                max: MAX_BLOB_LEN,
            });
        }
        let text = std::str::from_utf8(bytes)
            .map_err(|_| BlobError::NotJws("not UTF-8 text".into()))?
            .trim();
        let mut parts = text.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(BlobError::NotJws("not three parts separated by '.'".into()));
        };
        let decode = |part: &str, what: &str| {
            b64::decode_unpadded(part)
                .map_err(|_| BlobError::NotJws(format!("{what} is not base64url")))
        };
        let header: Map<String, Value> = serde_json::from_slice(&decode(h, "the header")?)
            .map_err(|e| BlobError::Header(format!("not a JSON object: {e}")))?;
        if header.contains_key("x5u") {
            return Err(BlobError::X5u);
        }
        if header.contains_key("crit") {
            return Err(BlobError::Header(
                "crit names extensions this verifier does not know".into(),
            ));
        }
        let alg = match header.get("alg") {
            Some(Value::String(a)) if a == "ES256" || a == "RS256" => a.clone(),
            Some(Value::String(a)) => return Err(BlobError::Alg(a.clone())),
            _ => return Err(BlobError::Header("no alg".into())),
        };
        let x5c = match header.get("x5c") {
            Some(Value::Array(list)) if !list.is_empty() && list.len() <= MAX_X5C => list
                .iter()
                .enumerate()
                .map(|(index, c)| {
                    let text = c.as_str().ok_or_else(|| BlobError::Certificate {
                        index,
                        reason: "not a string".into(),
                    })?;
                    // Standard base64 (RFC 7515 §4.1.6); whitespace trimmed.
                    let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect();
                    b64::decode_std(&clean).map_err(|_| BlobError::Certificate {
                        index,
                        reason: "not base64".into(),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
            Some(Value::Array(list)) => {
                return Err(BlobError::Header(format!(
                    "x5c has {} certificates; 1 to {MAX_X5C} are accepted",
                    list.len()
                )));
            }
            _ => return Err(BlobError::Header("no x5c".into())),
        };
        Ok(Self {
            alg,
            x5c,
            signing_input_len: h.len() + 1 + p.len(),
            signature: decode(s, "the signature")?,
            payload: decode(p, "the payload")?,
        })
    }

    /// Checks the signature over `bytes` (the same bytes `parse` took)
    /// with the signer's key, and builds the signer's path to one of
    /// `roots` at `at`; then parses the payload.
    pub fn verify(
        &self,
        bytes: &[u8],
        roots: &[TrustAnchor],
        at: UnixTime,
    ) -> Result<VerifiedBlob, BlobError> {
        let certs = self
            .x5c
            .iter()
            .enumerate()
            .map(|(index, der)| {
                Cert::parse(der, index).map_err(|e| BlobError::Certificate {
                    index,
                    reason: e.to_string(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let signer = certs
            .first()
            .ok_or_else(|| BlobError::Header("no x5c".into()))?;
        let key = signer.public_key().map_err(|e| BlobError::Certificate {
            index: 0,
            reason: e.to_string(),
        })?;
        let scheme = if self.alg == "ES256" {
            if self.signature.len() != 64 {
                return Err(BlobError::SignatureEncoding(self.signature.len()));
            }
            SignatureScheme::EcdsaFixed(Hash::Sha256)
        } else {
            SignatureScheme::RsaPkcs1(Hash::Sha256)
        };
        let text = std::str::from_utf8(bytes)
            .map_err(|_| BlobError::NotJws("not UTF-8 text".into()))?
            .trim();
        let input = text
            .get(..self.signing_input_len)
            .ok_or_else(|| BlobError::NotJws("the signing input is not these bytes".into()))?;
        crypto::verify(&key, scheme, input.as_bytes(), &self.signature)
            .map_err(|e| BlobError::Signature(e.to_string()))?;
        let (path, root) = build_path(&certs, roots, at)?;
        let path_valid_until = path
            .iter()
            .filter_map(|&i| certs.get(i))
            .map(Cert::not_after)
            .min()
            .unwrap_or(at);
        Ok(VerifiedBlob {
            payload: Payload::parse(&self.payload)?,
            root: root.name().to_owned(),
            root_anchor: root.clone(),
            path: path
                .iter()
                .filter_map(|&i| self.x5c.get(i).cloned())
                .collect(),
            path_valid_until,
        })
    }
}

/// Parses and verifies a BLOB at `at` against `roots`.
pub fn verify_blob(
    bytes: &[u8],
    roots: &[TrustAnchor],
    at: UnixTime,
) -> Result<VerifiedBlob, BlobError> {
    SignedBlob::parse(bytes)?.verify(bytes, roots, at)
}

/// A path from `certs[0]` to one of `roots`, through any of the other
/// certificates (each used once, each a CA valid at `at` whose key signs
/// the one before): the indexes of the path's certificates, and the root.
fn build_path<'r>(
    certs: &[Cert<'_>],
    roots: &'r [TrustAnchor],
    at: UnixTime,
) -> Result<(Vec<usize>, &'r TrustAnchor), BlobError> {
    let mut path = vec![0];
    let mut last = String::new();
    match extend(certs, roots, at, &mut path, &mut last) {
        Some(root) => Ok((path, root)),
        None => Err(BlobError::NoPath { at, reason: last }),
    }
}

fn extend<'r>(
    certs: &[Cert<'_>],
    roots: &'r [TrustAnchor],
    at: UnixTime,
    path: &mut Vec<usize>,
    last: &mut String,
) -> Option<&'r TrustAnchor> {
    let index = *path.last()?;
    let cert = certs.get(index)?;
    // The certificate is itself a root: the path ends before it.
    if let Some(root) = roots.iter().find(|r| r.der() == cert.der()) {
        path.pop();
        return Some(root);
    }
    if at < cert.not_before() || at > cert.not_after() {
        *last = format!(
            "x5c[{index}] is valid from {} to {}",
            cert.not_before(),
            cert.not_after()
        );
        return None;
    }
    let issuer = cert.x509().issuer().as_raw();
    for root in roots.iter().filter(|r| r.subject_raw() == issuer) {
        match cert.verify_signed_by(root.public_key()) {
            Ok(()) => return Some(root),
            Err(e) => *last = format!("x5c[{index}] is not signed by root {}: {e}", root.name()),
        }
    }
    if path.len() >= MAX_PATH_LEN {
        *last = format!("no root within {MAX_PATH_LEN} certificates");
        return None;
    }
    let mut tried = false;
    for (next, candidate) in certs.iter().enumerate() {
        let subject = candidate.x509().subject().as_raw();
        // A self-signed certificate that is not a configured root leads
        // nowhere a certificate for the same key cross-signed by a root
        // does not lead directly.
        if path.contains(&next)
            || subject != issuer
            || subject == candidate.x509().issuer().as_raw()
        {
            continue;
        }
        tried = true;
        if !candidate.is_ca() {
            *last = format!("x5c[{next}] issues x5c[{index}] but is not a CA");
            continue;
        }
        let verified = candidate
            .public_key()
            .map_err(|e| e.to_string())
            .and_then(|key| cert.verify_signed_by(&key).map_err(|e| e.to_string()));
        if let Err(e) = verified {
            *last = format!("x5c[{index}] is not signed by x5c[{next}]: {e}");
            continue;
        }
        path.push(next);
        if let Some(root) = extend(certs, roots, at, path, last) {
            return Some(root);
        }
        path.pop();
    }
    if !tried {
        *last = format!(
            "x5c[{index}] is issued by {}, which is neither a configured root nor in x5c",
            cert.x509().issuer()
        );
    }
    None
}
