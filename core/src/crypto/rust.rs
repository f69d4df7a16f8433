//! The pure-Rust backend (RustCrypto).

use super::{CryptoError, Curve, Hash, PublicKey, SignatureScheme};
use signature::hazmat::PrehashVerifier;

pub(super) const NAME: &str = "rust-crypto";

pub(super) struct P256Signer(p256::ecdsa::SigningKey);

impl P256Signer {
    pub(super) fn from_pkcs8_der(der: &[u8]) -> Result<Self, CryptoError> {
        use p256::pkcs8::DecodePrivateKey as _;
        p256::ecdsa::SigningKey::from_pkcs8_der(der)
            .map(Self)
            .map_err(|e| CryptoError::Signing(format!("not a P-256 PKCS#8 private key: {e}")))
    }

    pub(super) fn public_point(&self) -> Vec<u8> {
        self.0
            .verifying_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec()
    }

    pub(super) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let signature: p256::ecdsa::Signature = signature::Signer::try_sign(&self.0, message)
            .map_err(|e| CryptoError::Signing(e.to_string()))?;
        Ok(signature.to_bytes().to_vec())
    }
}

pub(super) fn verify(
    key: &PublicKey,
    scheme: SignatureScheme,
    message: &[u8],
    signature: &[u8],
) -> Result<(), CryptoError> {
    match (key, scheme) {
        (
            PublicKey::Ec { curve, point },
            SignatureScheme::EcdsaDer(hash) | SignatureScheme::EcdsaFixed(hash),
        ) => {
            let der = matches!(scheme, SignatureScheme::EcdsaDer(_));
            let digest = hash.digest(message);
            match curve {
                Curve::P256 => ecdsa_verify::<p256::ecdsa::VerifyingKey, p256::ecdsa::Signature>(
                    p256::ecdsa::VerifyingKey::from_sec1_bytes(point)
                        .map_err(|_| invalid(*curve))?,
                    |s| p256::ecdsa::Signature::from_der(s).ok(),
                    |s| p256::ecdsa::Signature::from_slice(s).ok(),
                    der,
                    &digest,
                    signature,
                ),
                Curve::P384 => ecdsa_verify::<p384::ecdsa::VerifyingKey, p384::ecdsa::Signature>(
                    p384::ecdsa::VerifyingKey::from_sec1_bytes(point)
                        .map_err(|_| invalid(*curve))?,
                    |s| p384::ecdsa::Signature::from_der(s).ok(),
                    |s| p384::ecdsa::Signature::from_slice(s).ok(),
                    der,
                    &digest,
                    signature,
                ),
                Curve::Secp256k1 => {
                    ecdsa_verify::<k256::ecdsa::VerifyingKey, k256::ecdsa::Signature>(
                        k256::ecdsa::VerifyingKey::from_sec1_bytes(point)
                            .map_err(|_| invalid(*curve))?,
                        // k256 refuses high-S signatures, which ECDSA (and the
                        // aws-lc backend) accepts: normalise so both agree.
                        |s| {
                            k256::ecdsa::Signature::from_der(s)
                                .ok()
                                .map(|s| s.normalize_s().unwrap_or(s))
                        },
                        |s| {
                            k256::ecdsa::Signature::from_slice(s)
                                .ok()
                                .map(|s| s.normalize_s().unwrap_or(s))
                        },
                        der,
                        &digest,
                        signature,
                    )
                }
                Curve::P521 => ecdsa_verify::<p521::ecdsa::VerifyingKey, p521::ecdsa::Signature>(
                    p521::ecdsa::VerifyingKey::from_sec1_bytes(point)
                        .map_err(|_| invalid(*curve))?,
                    |s| p521::ecdsa::Signature::from_der(s).ok(),
                    |s| p521::ecdsa::Signature::from_slice(s).ok(),
                    der,
                    &digest,
                    signature,
                ),
            }
        }
        (PublicKey::Ed25519(pk), SignatureScheme::Ed25519) => {
            let key = ed25519_dalek::VerifyingKey::from_bytes(pk).map_err(|_| {
                CryptoError::InvalidKey("Ed25519 key is not a valid point".to_owned())
            })?;
            let sig = ed25519_dalek::Signature::from_slice(signature)
                .map_err(|_| CryptoError::BadSignature)?;
            key.verify_strict(message, &sig)
                .map_err(|_| CryptoError::BadSignature)
        }
        (
            PublicKey::Rsa { n, e },
            SignatureScheme::RsaPkcs1(hash) | SignatureScheme::RsaPss(hash),
        ) => {
            use rsa::BigUint;
            let key = rsa::RsaPublicKey::new_with_max_size(
                BigUint::from_bytes_be(n),
                BigUint::from_bytes_be(e),
                super::RSA_MAX_BITS,
            )
            .map_err(|e| CryptoError::InvalidKey(format!("RSA key rejected: {e}")))?;
            let digest = hash.digest(message);
            let pss = matches!(scheme, SignatureScheme::RsaPss(_));
            let result = match (hash, pss) {
                (Hash::Sha1, false) => {
                    key.verify(rsa::Pkcs1v15Sign::new::<sha1::Sha1>(), &digest, signature)
                }
                (Hash::Sha256, false) => {
                    key.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &digest, signature)
                }
                (Hash::Sha384, false) => {
                    key.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha384>(), &digest, signature)
                }
                (Hash::Sha512, false) => {
                    key.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha512>(), &digest, signature)
                }
                (Hash::Sha256, true) => {
                    key.verify(rsa::Pss::new::<sha2::Sha256>(), &digest, signature)
                }
                (Hash::Sha384, true) => {
                    key.verify(rsa::Pss::new::<sha2::Sha384>(), &digest, signature)
                }
                (Hash::Sha512, true) => {
                    key.verify(rsa::Pss::new::<sha2::Sha512>(), &digest, signature)
                }
                (Hash::Sha1, true) => return Err(CryptoError::Unsupported { scheme, key: "RSA" }),
            };
            result.map_err(|_| CryptoError::BadSignature)
        }
        _ => Err(CryptoError::Unsupported {
            scheme,
            key: "this",
        }),
    }
}

pub(super) fn check_ec_point(curve: Curve, point: &[u8]) -> Result<(), CryptoError> {
    let ok = match curve {
        Curve::P256 => p256::ecdsa::VerifyingKey::from_sec1_bytes(point).is_ok(),
        Curve::P384 => p384::ecdsa::VerifyingKey::from_sec1_bytes(point).is_ok(),
        Curve::P521 => p521::ecdsa::VerifyingKey::from_sec1_bytes(point).is_ok(),
        Curve::Secp256k1 => k256::ecdsa::VerifyingKey::from_sec1_bytes(point).is_ok(),
    };
    if ok { Ok(()) } else { Err(invalid(curve)) }
}

fn invalid(curve: Curve) -> CryptoError {
    CryptoError::InvalidKey(format!(
        "{curve:?} point is not on the curve or not SEC1 uncompressed"
    ))
}

fn ecdsa_verify<K, S>(
    key: K,
    from_der: impl Fn(&[u8]) -> Option<S>,
    from_fixed: impl Fn(&[u8]) -> Option<S>,
    der: bool,
    digest: &[u8],
    signature: &[u8],
) -> Result<(), CryptoError>
where
    K: PrehashVerifier<S>,
{
    let sig = if der {
        from_der(signature)
    } else {
        from_fixed(signature)
    };
    let sig = sig.ok_or(CryptoError::BadSignature)?;
    key.verify_prehash(digest, &sig)
        .map_err(|_| CryptoError::BadSignature)
}
