//! The aws-lc-rs backend.

use super::{CryptoError, Curve, Hash, PublicKey, SignatureScheme};
use aws_lc_rs::signature::{self as sig, ParsedPublicKey};

pub(super) const NAME: &str = "aws-lc";

pub(super) struct P256Signer {
    key: sig::EcdsaKeyPair,
    rng: aws_lc_rs::rand::SystemRandom,
}

impl P256Signer {
    pub(super) fn from_pkcs8_der(der: &[u8]) -> Result<Self, CryptoError> {
        let key = sig::EcdsaKeyPair::from_pkcs8(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, der)
            .map_err(|e| CryptoError::Signing(format!("not a P-256 PKCS#8 private key: {e}")))?;
        Ok(Self {
            key,
            rng: aws_lc_rs::rand::SystemRandom::new(),
        })
    }

    pub(super) fn public_point(&self) -> Vec<u8> {
        use sig::KeyPair as _;
        self.key.public_key().as_ref().to_vec()
    }

    pub(super) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.key
            .sign(&self.rng, message)
            .map(|s| s.as_ref().to_vec())
            .map_err(|e| CryptoError::Signing(e.to_string()))
    }
}

pub(super) fn verify(
    key: &PublicKey,
    scheme: SignatureScheme,
    message: &[u8],
    signature: &[u8],
) -> Result<(), CryptoError> {
    match key {
        PublicKey::Ec { curve, point } => {
            let alg =
                ecdsa_alg(*curve, scheme).ok_or(CryptoError::Unsupported { scheme, key: "EC" })?;
            // Parse first so an invalid point is told apart from a bad signature.
            let parsed = ParsedPublicKey::new(alg, point)
                .map_err(|e| CryptoError::InvalidKey(format!("{curve:?} point rejected: {e}")))?;
            parsed
                .verify_sig(message, signature)
                .map_err(|_| CryptoError::BadSignature)
        }
        PublicKey::Ed25519(pk) => {
            let parsed = ParsedPublicKey::new(&sig::ED25519, pk)
                .map_err(|e| CryptoError::InvalidKey(format!("Ed25519 key rejected: {e}")))?;
            parsed
                .verify_sig(message, signature)
                .map_err(|_| CryptoError::BadSignature)
        }
        PublicKey::Rsa { n, e } => {
            let params: &'static sig::RsaParameters = match scheme {
                SignatureScheme::RsaPkcs1(Hash::Sha1) => {
                    &sig::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY
                }
                SignatureScheme::RsaPkcs1(Hash::Sha256) => &sig::RSA_PKCS1_2048_8192_SHA256,
                SignatureScheme::RsaPkcs1(Hash::Sha384) => &sig::RSA_PKCS1_2048_8192_SHA384,
                SignatureScheme::RsaPkcs1(Hash::Sha512) => &sig::RSA_PKCS1_2048_8192_SHA512,
                SignatureScheme::RsaPss(Hash::Sha256) => &sig::RSA_PSS_2048_8192_SHA256,
                SignatureScheme::RsaPss(Hash::Sha384) => &sig::RSA_PSS_2048_8192_SHA384,
                SignatureScheme::RsaPss(Hash::Sha512) => &sig::RSA_PSS_2048_8192_SHA512,
                _ => return Err(CryptoError::Unsupported { scheme, key: "RSA" }),
            };
            sig::RsaPublicKeyComponents {
                n: n.as_slice(),
                e: e.as_slice(),
            }
            .verify(params, message, signature)
            .map_err(|_| CryptoError::BadSignature)
        }
    }
}

pub(super) fn check_ec_point(curve: Curve, point: &[u8]) -> Result<(), CryptoError> {
    let alg = match curve {
        Curve::P256 => &sig::ECDSA_P256_SHA256_ASN1,
        Curve::P384 => &sig::ECDSA_P384_SHA384_ASN1,
        Curve::P521 => &sig::ECDSA_P521_SHA512_ASN1,
        Curve::Secp256k1 => &sig::ECDSA_P256K1_SHA256_ASN1,
    };
    ParsedPublicKey::new(alg, point)
        .map(drop)
        .map_err(|e| CryptoError::InvalidKey(format!("{curve:?} point rejected: {e}")))
}

fn ecdsa_alg(
    curve: Curve,
    scheme: SignatureScheme,
) -> Option<&'static sig::EcdsaVerificationAlgorithm> {
    use SignatureScheme::{EcdsaDer, EcdsaFixed};
    Some(match (curve, scheme) {
        (Curve::P256, EcdsaDer(Hash::Sha256)) => &sig::ECDSA_P256_SHA256_ASN1,
        (Curve::P256, EcdsaDer(Hash::Sha384)) => &sig::ECDSA_P256_SHA384_ASN1,
        (Curve::P256, EcdsaDer(Hash::Sha512)) => &sig::ECDSA_P256_SHA512_ASN1,
        (Curve::P384, EcdsaDer(Hash::Sha256)) => &sig::ECDSA_P384_SHA256_ASN1,
        (Curve::P384, EcdsaDer(Hash::Sha384)) => &sig::ECDSA_P384_SHA384_ASN1,
        (Curve::P384, EcdsaDer(Hash::Sha512)) => &sig::ECDSA_P384_SHA512_ASN1,
        (Curve::P521, EcdsaDer(Hash::Sha384)) => &sig::ECDSA_P521_SHA384_ASN1,
        (Curve::P521, EcdsaDer(Hash::Sha512)) => &sig::ECDSA_P521_SHA512_ASN1,
        (Curve::Secp256k1, EcdsaDer(Hash::Sha256)) => &sig::ECDSA_P256K1_SHA256_ASN1,
        (Curve::Secp256k1, EcdsaFixed(Hash::Sha256)) => &sig::ECDSA_P256K1_SHA256_FIXED,
        (Curve::P256, EcdsaFixed(Hash::Sha256)) => &sig::ECDSA_P256_SHA256_FIXED,
        (Curve::P384, EcdsaFixed(Hash::Sha384)) => &sig::ECDSA_P384_SHA384_FIXED,
        (Curve::P521, EcdsaFixed(Hash::Sha512)) => &sig::ECDSA_P521_SHA512_FIXED,
        _ => return None,
    })
}
