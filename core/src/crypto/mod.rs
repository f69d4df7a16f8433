//! The one seam through which every signature is verified.
//!
//! Two backends sit behind it, chosen by cargo feature: pure Rust
//! (`rust-crypto`: p256, p384, p521, rsa, ed25519-dalek; the default) and
//! `aws-lc` (aws-lc-rs, several times faster on P-256). When both features
//! are enabled, `aws-lc` is used. Both accept exactly the same
//! [`SignatureScheme`]/[`PublicKey`] combinations: the checks that decide
//! what is supported live here, not in the backends.
//!
//! ```
//! use fidogate_core::crypto::{self, Hash, PublicKey, SignatureScheme};
//! let key = PublicKey::Ed25519([0u8; 32]);
//! let err = crypto::verify(&key, SignatureScheme::EcdsaDer(Hash::Sha256), b"msg", b"sig");
//! assert!(err.is_err()); // an Ed25519 key cannot check an ECDSA signature
//! ```

#[cfg(feature = "aws-lc")]
mod aws;
#[cfg(all(feature = "rust-crypto", not(feature = "aws-lc")))]
mod rust;

#[cfg(feature = "aws-lc")]
use aws as backend;
#[cfg(all(feature = "rust-crypto", not(feature = "aws-lc")))]
use rust as backend;

#[cfg(not(any(feature = "rust-crypto", feature = "aws-lc")))]
compile_error!("fidogate-core needs a crypto backend: enable `rust-crypto` or `aws-lc`");

use sha2::Digest as _;
use std::fmt;

/// Smallest RSA modulus accepted, in bits.
pub const RSA_MIN_BITS: usize = 2048;
/// Largest RSA modulus accepted, in bits.
pub const RSA_MAX_BITS: usize = 8192;

/// The backend compiled in: `"aws-lc"` or `"rust-crypto"`.
pub const BACKEND: &str = backend::NAME;

/// A NIST curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Curve {
    /// secp256r1.
    P256,
    /// secp384r1.
    P384,
    /// secp521r1.
    P521,
    /// secp256k1 (UAF authenticators only).
    Secp256k1,
}

impl Curve {
    /// Size of one coordinate in bytes.
    pub fn coordinate_len(self) -> usize {
        match self {
            Self::P256 => 32,
            Self::P384 => 48,
            Self::P521 => 66,
            Self::Secp256k1 => 32,
        }
    }
}

/// A hash function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hash {
    /// SHA-1: only for legacy TPM statements, when policy allows.
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl Hash {
    /// Hashes `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha1 => sha1::Sha1::digest(data).to_vec(),
            Self::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Self::Sha384 => sha2::Sha384::digest(data).to_vec(),
            Self::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }

    /// Output length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    sha2::Sha256::digest(data).into()
}

/// HMAC-SHA-256 of `data` under `key` (RFC 2104: a key longer than the
/// 64-byte block is hashed first, a shorter one zero-padded).
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    let mut block = [0u8; 64];
    let hashed;
    let key = if key.len() > block.len() {
        hashed = sha256(key);
        &hashed[..]
    } else {
        key
    };
    for (b, k) in block.iter_mut().zip(key) {
        *b = *k;
    }
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new(&block.into());
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Compares two byte strings without an early exit on the first
/// difference (their lengths are not secret).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A public key in the form the backends take.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublicKey {
    /// An EC point, SEC1 uncompressed (`0x04 || x || y`).
    Ec {
        /// The curve.
        curve: Curve,
        /// The SEC1 uncompressed point.
        point: Vec<u8>,
    },
    /// An Ed25519 public key.
    Ed25519([u8; 32]),
    /// An RSA public key, big-endian without leading zeros.
    Rsa {
        /// The modulus.
        n: Vec<u8>,
        /// The public exponent.
        e: Vec<u8>,
    },
}

impl PublicKey {
    /// An EC key from its coordinates; checks their lengths.
    pub fn ec(curve: Curve, x: &[u8], y: &[u8]) -> Result<Self, CryptoError> {
        let len = curve.coordinate_len();
        if x.len() != len || y.len() != len {
            return Err(CryptoError::InvalidKey(format!(
                "{curve:?} coordinates must be {len} bytes, got {} and {}",
                x.len(),
                y.len()
            )));
        }
        let mut point = Vec::with_capacity(1 + 2 * len);
        point.push(0x04);
        point.extend_from_slice(x);
        point.extend_from_slice(y);
        Ok(Self::Ec { curve, point })
    }

    /// An RSA key from its big-endian modulus and exponent; strips leading
    /// zeros and checks the size bounds.
    pub fn rsa(n: &[u8], e: &[u8]) -> Result<Self, CryptoError> {
        let n = strip_leading_zeros(n);
        let e = strip_leading_zeros(e);
        let bits = bit_len(n);
        if !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) {
            return Err(CryptoError::InvalidKey(format!(
                "RSA modulus is {bits} bits; {RSA_MIN_BITS} to {RSA_MAX_BITS} are accepted"
            )));
        }
        if e.is_empty() || e.len() > 4 || e.last().is_none_or(|b| b & 1 == 0) {
            return Err(CryptoError::InvalidKey(
                "RSA exponent must be odd and at most 32 bits".to_owned(),
            ));
        }
        Ok(Self::Rsa {
            n: n.to_vec(),
            e: e.to_vec(),
        })
    }

    /// The key's kind, for messages (`"EC P-256"`, `"Ed25519"`, `"RSA"`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Ec {
                curve: Curve::P256, ..
            } => "EC P-256",
            Self::Ec {
                curve: Curve::P384, ..
            } => "EC P-384",
            Self::Ec {
                curve: Curve::P521, ..
            } => "EC P-521",
            Self::Ec {
                curve: Curve::Secp256k1,
                ..
            } => "EC secp256k1",
            Self::Ed25519(_) => "Ed25519",
            Self::Rsa { .. } => "RSA",
        }
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rsa { n, .. } => write!(f, "RSA-{}", bit_len(n)),
            other => f.write_str(other.kind()),
        }
    }
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes.get(start..).unwrap_or_default()
}

fn bit_len(be: &[u8]) -> usize {
    let be = strip_leading_zeros(be);
    match be.first() {
        Some(first) => (be.len() - 1) * 8 + (8 - first.leading_zeros() as usize),
        None => 0,
    }
}

/// How a signature is computed and encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureScheme {
    /// ECDSA, signature as an ASN.1 DER `Ecdsa-Sig-Value`.
    EcdsaDer(Hash),
    /// ECDSA, signature as fixed-size `r || s` (UAF `_RAW` encodings).
    EcdsaFixed(Hash),
    /// Ed25519 (pure EdDSA).
    Ed25519,
    /// RSASSA-PKCS1-v1_5.
    RsaPkcs1(Hash),
    /// RSASSA-PSS, MGF1 with the same hash, salt as long as the hash.
    RsaPss(Hash),
}

/// Why a signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The key cannot be used with this scheme.
    #[error("a {key} key cannot verify a {scheme:?} signature")]
    KeyMismatch {
        /// The scheme asked for.
        scheme: SignatureScheme,
        /// The key's kind.
        key: &'static str,
    },
    /// The scheme/key combination is not supported.
    #[error("{scheme:?} with a {key} key is not supported")]
    Unsupported {
        /// The scheme asked for.
        scheme: SignatureScheme,
        /// The key's kind.
        key: &'static str,
    },
    /// The key is not a valid key (not on the curve, bad size, ...).
    #[error("invalid public key: {0}")]
    InvalidKey(String),
    /// The signature does not verify.
    #[error("signature does not verify")]
    BadSignature,
    /// A private key could not be used, or signing failed.
    #[error("signing: {0}")]
    Signing(String),
}

/// `04 || x || y` with coordinates of the curve's size.
fn check_sec1_uncompressed(curve: Curve, point: &[u8]) -> Result<(), CryptoError> {
    if point.len() != 1 + 2 * curve.coordinate_len() || point.first() != Some(&0x04) {
        return Err(CryptoError::InvalidKey(format!(
            "{curve:?} point must be SEC1 uncompressed"
        )));
    }
    Ok(())
}

/// Checks that an EC public key is a point of its curve (SEC1
/// uncompressed, on the curve, not the identity), as a signature check
/// with it would. Other key kinds pass: their sizes are checked when they
/// are built, and their encoding on first use.
pub fn check_public_key(key: &PublicKey) -> Result<(), CryptoError> {
    match key {
        PublicKey::Ec { curve, point } => {
            check_sec1_uncompressed(*curve, point)?;
            backend::check_ec_point(*curve, point)
        }
        PublicKey::Ed25519(_) | PublicKey::Rsa { .. } => Ok(()),
    }
}

/// An ECDSA P-256 private key signing with SHA-256 (ES256), parsed once
/// and kept ready: the gateway signs one header per registration.
/// Signatures are in the fixed `r || s` form (64 bytes) JWS uses.
pub struct P256Signer(backend::P256Signer);

impl fmt::Debug for P256Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("P256Signer")
    }
}

impl P256Signer {
    /// From a PKCS#8 DER P-256 private key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, CryptoError> {
        backend::P256Signer::from_pkcs8_der(der).map(Self)
    }

    /// The public key, SEC1 uncompressed (`04 || x || y`, 65 bytes).
    pub fn public_point(&self) -> Vec<u8> {
        self.0.public_point()
    }

    /// Signs `message` (hashed with SHA-256): `r || s`, 64 bytes.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.0.sign(message)
    }
}

/// Verifies `signature` over `message` with `key` under `scheme`.
pub fn verify(
    key: &PublicKey,
    scheme: SignatureScheme,
    message: &[u8],
    signature: &[u8],
) -> Result<(), CryptoError> {
    let mismatch = || CryptoError::KeyMismatch {
        scheme,
        key: key.kind(),
    };
    let unsupported = || CryptoError::Unsupported {
        scheme,
        key: key.kind(),
    };
    match (scheme, key) {
        (
            SignatureScheme::EcdsaDer(hash) | SignatureScheme::EcdsaFixed(hash),
            PublicKey::Ec { curve, point },
        ) => {
            check_sec1_uncompressed(*curve, point)?;
            let fixed = matches!(scheme, SignatureScheme::EcdsaFixed(_));
            let supported = match (curve, hash) {
                (_, Hash::Sha1) => false,
                (Curve::P521, Hash::Sha256) => false,
                (Curve::Secp256k1, Hash::Sha256) => true,
                (Curve::Secp256k1, _) => false,
                // Fixed-size signatures only with the curve's own hash.
                (Curve::P256, Hash::Sha256)
                | (Curve::P384, Hash::Sha384)
                | (Curve::P521, Hash::Sha512) => true,
                _ => !fixed,
            };
            if !supported {
                return Err(unsupported());
            }
        }
        (SignatureScheme::Ed25519, PublicKey::Ed25519(_)) => {}
        (SignatureScheme::RsaPkcs1(_), PublicKey::Rsa { .. }) => {}
        (SignatureScheme::RsaPss(hash), PublicKey::Rsa { .. }) => {
            if hash == Hash::Sha1 {
                return Err(unsupported());
            }
        }
        _ => return Err(mismatch()),
    }
    backend::verify(key, scheme, message, signature)
}

#[cfg(test)]
mod tests;
