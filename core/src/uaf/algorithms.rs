//! UAF authentication algorithms and public key encodings (FIDO Registry
//! of Predefined Values §3.6.1 and §3.6.2).

use super::error::AssertionError;
use crate::crypto::{self, CryptoError, Curve, Hash, PublicKey, SignatureScheme};
use crate::trust::{CertError, spki_public_key};
use crate::webauthn::CoseKey;
use x509_parser::prelude::FromDer;

/// A UAF signature algorithm and encoding (`UAF_ALG_SIGN_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignAlg {
    /// 0x0001 SECP256R1_ECDSA_SHA256_RAW.
    Secp256r1Raw,
    /// 0x0002 SECP256R1_ECDSA_SHA256_DER.
    Secp256r1Der,
    /// 0x0003 RSASSA_PSS_SHA256_RAW.
    RsaPssSha256Raw,
    /// 0x0004 RSASSA_PSS_SHA256_DER.
    RsaPssSha256Der,
    /// 0x0005 SECP256K1_ECDSA_SHA256_RAW.
    Secp256k1Raw,
    /// 0x0006 SECP256K1_ECDSA_SHA256_DER.
    Secp256k1Der,
    /// 0x0008 RSA_EMSA_PKCS1_SHA256_RAW.
    RsaPkcs1Sha256Raw,
    /// 0x0009 RSA_EMSA_PKCS1_SHA256_DER.
    RsaPkcs1Sha256Der,
    /// 0x000A RSASSA_PSS_SHA384_RAW.
    RsaPssSha384Raw,
    /// 0x000B RSASSA_PSS_SHA512_RAW.
    RsaPssSha512Raw,
    /// 0x000C RSASSA_PKCSV15_SHA384_RAW.
    RsaPkcs1Sha384Raw,
    /// 0x000D RSASSA_PKCSV15_SHA512_RAW.
    RsaPkcs1Sha512Raw,
    /// 0x0010 ED25519_EDDSA_SHA512_RAW.
    Ed25519Raw,
}

impl SignAlg {
    /// The algorithm with registry value `v`.
    pub fn from_u16(v: u16) -> Option<Self> {
        Some(match v {
            0x0001 => Self::Secp256r1Raw,
            0x0002 => Self::Secp256r1Der,
            0x0003 => Self::RsaPssSha256Raw,
            0x0004 => Self::RsaPssSha256Der,
            0x0005 => Self::Secp256k1Raw,
            0x0006 => Self::Secp256k1Der,
            0x0008 => Self::RsaPkcs1Sha256Raw,
            0x0009 => Self::RsaPkcs1Sha256Der,
            0x000A => Self::RsaPssSha384Raw,
            0x000B => Self::RsaPssSha512Raw,
            0x000C => Self::RsaPkcs1Sha384Raw,
            0x000D => Self::RsaPkcs1Sha512Raw,
            0x0010 => Self::Ed25519Raw,
            _ => return None,
        })
    }

    /// The registry name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Secp256r1Raw => "UAF_ALG_SIGN_SECP256R1_ECDSA_SHA256_RAW",
            Self::Secp256r1Der => "UAF_ALG_SIGN_SECP256R1_ECDSA_SHA256_DER",
            Self::RsaPssSha256Raw => "UAF_ALG_SIGN_RSASSA_PSS_SHA256_RAW",
            Self::RsaPssSha256Der => "UAF_ALG_SIGN_RSASSA_PSS_SHA256_DER",
            Self::Secp256k1Raw => "UAF_ALG_SIGN_SECP256K1_ECDSA_SHA256_RAW",
            Self::Secp256k1Der => "UAF_ALG_SIGN_SECP256K1_ECDSA_SHA256_DER",
            Self::RsaPkcs1Sha256Raw => "UAF_ALG_SIGN_RSA_EMSA_PKCS1_SHA256_RAW",
            Self::RsaPkcs1Sha256Der => "UAF_ALG_SIGN_RSA_EMSA_PKCS1_SHA256_DER",
            Self::RsaPssSha384Raw => "UAF_ALG_SIGN_RSASSA_PSS_SHA384_RAW",
            Self::RsaPssSha512Raw => "UAF_ALG_SIGN_RSASSA_PSS_SHA512_RAW",
            Self::RsaPkcs1Sha384Raw => "UAF_ALG_SIGN_RSASSA_PKCSV15_SHA384_RAW",
            Self::RsaPkcs1Sha512Raw => "UAF_ALG_SIGN_RSASSA_PKCSV15_SHA512_RAW",
            Self::Ed25519Raw => "UAF_ALG_SIGN_ED25519_EDDSA_SHA512_RAW",
        }
    }

    /// The curve an EC key for this algorithm is on.
    fn curve(self) -> Option<Curve> {
        match self {
            Self::Secp256r1Raw | Self::Secp256r1Der => Some(Curve::P256),
            Self::Secp256k1Raw | Self::Secp256k1Der => Some(Curve::Secp256k1),
            _ => None,
        }
    }

    /// The signature scheme, and whether an RSA signature is wrapped in a
    /// DER OCTET STRING.
    fn scheme(self) -> (SignatureScheme, bool) {
        match self {
            Self::Secp256r1Raw | Self::Secp256k1Raw => {
                (SignatureScheme::EcdsaFixed(Hash::Sha256), false)
            }
            Self::Secp256r1Der | Self::Secp256k1Der => {
                (SignatureScheme::EcdsaDer(Hash::Sha256), false)
            }
            Self::RsaPssSha256Raw => (SignatureScheme::RsaPss(Hash::Sha256), false),
            Self::RsaPssSha256Der => (SignatureScheme::RsaPss(Hash::Sha256), true),
            Self::RsaPkcs1Sha256Raw => (SignatureScheme::RsaPkcs1(Hash::Sha256), false),
            Self::RsaPkcs1Sha256Der => (SignatureScheme::RsaPkcs1(Hash::Sha256), true),
            Self::RsaPssSha384Raw => (SignatureScheme::RsaPss(Hash::Sha384), false),
            Self::RsaPssSha512Raw => (SignatureScheme::RsaPss(Hash::Sha512), false),
            Self::RsaPkcs1Sha384Raw => (SignatureScheme::RsaPkcs1(Hash::Sha384), false),
            Self::RsaPkcs1Sha512Raw => (SignatureScheme::RsaPkcs1(Hash::Sha512), false),
            Self::Ed25519Raw => (SignatureScheme::Ed25519, false),
        }
    }

    /// Verifies `signature` over `data` with `key`.
    pub fn verify(
        self,
        key: &PublicKey,
        data: &[u8],
        signature: &[u8],
    ) -> Result<(), SignatureError> {
        let (scheme, octet_string) = self.scheme();
        let sig = if octet_string {
            unwrap_octet_string(signature)?
        } else {
            signature
        };
        crypto::verify(key, scheme, data, sig).map_err(SignatureError::Crypto)
    }
}

/// Why a UAF signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// A `*_DER` algorithm's signature is not one DER OCTET STRING.
    #[error("signature is not a DER OCTET STRING")]
    NotOctetString,
    /// The signature does not verify.
    #[error("{0}")]
    Crypto(CryptoError),
}

/// The content of a DER OCTET STRING spanning all of `der`.
fn unwrap_octet_string(der: &[u8]) -> Result<&[u8], SignatureError> {
    use x509_parser::der_parser::asn1_rs::{Any, Class};
    let (rest, any) = Any::from_der(der).map_err(|_| SignatureError::NotOctetString)?;
    if !rest.is_empty() || any.header.class() != Class::Universal || any.header.tag().0 != 4 {
        return Err(SignatureError::NotOctetString);
    }
    Ok(any.data)
}

/// A UAF public key encoding (`UAF_ALG_KEY_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyEncoding {
    /// 0x0100 ECC_X962_RAW: the uncompressed point.
    EccX962Raw,
    /// 0x0101 ECC_X962_DER: a SubjectPublicKeyInfo.
    EccX962Der,
    /// 0x0102 RSA_2048_RAW: 256-byte modulus then 4-byte exponent.
    Rsa2048Raw,
    /// 0x0103 RSA_2048_DER: a SubjectPublicKeyInfo or RSAPublicKey.
    Rsa2048Der,
    /// 0x0104 COSE: a COSE_Key.
    Cose,
}

impl KeyEncoding {
    /// The encoding with registry value `v`.
    pub fn from_u16(v: u16) -> Option<Self> {
        Some(match v {
            0x0100 => Self::EccX962Raw,
            0x0101 => Self::EccX962Der,
            0x0102 => Self::Rsa2048Raw,
            0x0103 => Self::Rsa2048Der,
            0x0104 => Self::Cose,
            _ => return None,
        })
    }

    /// The registry name.
    pub fn name(self) -> &'static str {
        match self {
            Self::EccX962Raw => "UAF_ALG_KEY_ECC_X962_RAW",
            Self::EccX962Der => "UAF_ALG_KEY_ECC_X962_DER",
            Self::Rsa2048Raw => "UAF_ALG_KEY_RSA_2048_RAW",
            Self::Rsa2048Der => "UAF_ALG_KEY_RSA_2048_DER",
            Self::Cose => "UAF_ALG_KEY_COSE",
        }
    }

    /// Decodes a key for `alg`.
    pub fn decode(self, bytes: &[u8], alg: SignAlg) -> Result<PublicKey, AssertionError> {
        let bad = |reason: String| AssertionError::BadField {
            field: "PUB_KEY",
            reason,
        };
        let key = match self {
            Self::EccX962Raw => {
                let curve = alg
                    .curve()
                    .ok_or_else(|| bad(format!("an EC key cannot sign with {}", alg.name())))?;
                if bytes.len() != 65 || bytes.first() != Some(&0x04) {
                    return Err(bad(
                        "an X9.62 raw key is a 65-byte uncompressed point".to_owned()
                    ));
                }
                PublicKey::Ec {
                    curve,
                    point: bytes.to_vec(),
                }
            }
            Self::EccX962Der | Self::Rsa2048Der => spki(bytes)
                .or_else(|e| match self {
                    Self::Rsa2048Der => rsa_public_key(bytes).map_err(|_| e),
                    _ => Err(e),
                })
                .map_err(|e| bad(e.to_string()))?,
            Self::Rsa2048Raw => {
                if bytes.len() != 260 {
                    return Err(bad(
                        "an RSA 2048 raw key is 256 bytes of modulus and 4 of exponent".to_owned(),
                    ));
                }
                let (n, e) = bytes.split_at(256);
                PublicKey::rsa(n, e).map_err(|e| bad(e.to_string()))?
            }
            Self::Cose => {
                let value =
                    crate::cbor::decode_exact(bytes, "PUB_KEY").map_err(|e| bad(e.to_string()))?;
                CoseKey::from_value(&value)
                    .map_err(|e| bad(e.to_string()))?
                    .key
            }
        };
        // The key must be one the algorithm can use.
        let fits = match (&key, alg.curve()) {
            (PublicKey::Ec { curve, .. }, Some(c)) => *curve == c,
            (PublicKey::Ed25519(_), None) => alg == SignAlg::Ed25519Raw,
            (PublicKey::Rsa { .. }, None) => alg != SignAlg::Ed25519Raw,
            _ => false,
        };
        if !fits {
            return Err(bad(format!(
                "a {} key cannot sign with {}",
                key.kind(),
                alg.name()
            )));
        }
        // The key must be usable: with Basic Full attestation nothing
        // signs with it while registering.
        crate::crypto::check_public_key(&key).map_err(|e| bad(e.to_string()))?;
        Ok(key)
    }
}

fn spki(bytes: &[u8]) -> Result<PublicKey, KeyDecodeError> {
    let (rest, spki) = x509_parser::x509::SubjectPublicKeyInfo::from_der(bytes)
        .map_err(|e| KeyDecodeError::Der(format!("not a SubjectPublicKeyInfo: {e}")))?;
    if !rest.is_empty() {
        return Err(KeyDecodeError::Der(
            "trailing bytes after the SubjectPublicKeyInfo".to_owned(),
        ));
    }
    spki_public_key(&spki).map_err(KeyDecodeError::Key)
}

fn rsa_public_key(bytes: &[u8]) -> Result<PublicKey, KeyDecodeError> {
    let (rest, key) = x509_parser::public_key::RSAPublicKey::from_der(bytes)
        .map_err(|e| KeyDecodeError::Der(e.to_string()))?;
    if !rest.is_empty() {
        return Err(KeyDecodeError::Der(
            "trailing bytes after the RSAPublicKey".to_owned(),
        ));
    }
    PublicKey::rsa(key.modulus, key.exponent)
        .map_err(|e| KeyDecodeError::Key(CertError::BadRsaKey(Some(e))))
}

/// A DER-encoded UAF public key that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum KeyDecodeError {
    /// The DER structure.
    #[error("{0}")]
    Der(String),
    /// The key it holds.
    #[error("{0}")]
    Key(CertError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use fidogate_testkit::keys::{SigningKey as Sk, alg};

    fn octet_string(sig: &[u8]) -> Vec<u8> {
        let mut v = vec![0x04, 0x82, (sig.len() >> 8) as u8, sig.len() as u8];
        v.extend_from_slice(sig);
        v
    }

    #[test]
    fn every_key_encoding_decodes() {
        use p256::pkcs8::EncodePublicKey;
        use rsa::pkcs1::EncodeRsaPublicKey;
        let ec = Sk::generate(alg::ES256, 1);
        let Sk::P256(sk) = &ec else { unreachable!() };
        let spki = sk.verifying_key().to_public_key_der().unwrap();
        let raw = KeyEncoding::EccX962Raw
            .decode(&ec.ec_point(), SignAlg::Secp256r1Raw)
            .unwrap();
        let der = KeyEncoding::EccX962Der
            .decode(spki.as_bytes(), SignAlg::Secp256r1Der)
            .unwrap();
        let cose = KeyEncoding::Cose
            .decode(&ec.cose_key(), SignAlg::Secp256r1Raw)
            .unwrap();
        assert!(raw == der && der == cose);
        // An EC key cannot sign with an RSA algorithm, nor a P-256 key as secp256k1.
        assert!(
            KeyEncoding::EccX962Raw
                .decode(&ec.ec_point(), SignAlg::RsaPssSha256Raw)
                .is_err()
        );
        assert!(
            KeyEncoding::EccX962Der
                .decode(spki.as_bytes(), SignAlg::Secp256k1Der)
                .is_err()
        );
        assert!(
            KeyEncoding::EccX962Raw
                .decode(&ec.ec_point()[1..], SignAlg::Secp256r1Raw)
                .is_err()
        );

        let rsa = Sk::generate(alg::PS256, 2);
        let Sk::Rsa { key, .. } = &rsa else {
            unreachable!()
        };
        let public = key.to_public_key();
        let spki = public.to_public_key_der().unwrap();
        let pkcs1 = public.to_pkcs1_der().unwrap();
        let (n, e) = rsa.rsa_components();
        let mut raw = n.clone();
        raw.extend_from_slice(&[0]);
        raw.extend_from_slice(&e);
        let a = KeyEncoding::Rsa2048Der
            .decode(spki.as_bytes(), SignAlg::RsaPssSha256Der)
            .unwrap();
        let b = KeyEncoding::Rsa2048Der
            .decode(pkcs1.as_bytes(), SignAlg::RsaPssSha256Der)
            .unwrap();
        let c = KeyEncoding::Rsa2048Raw
            .decode(&raw, SignAlg::RsaPssSha256Raw)
            .unwrap();
        assert!(a == b && b == c);
        assert!(
            KeyEncoding::Rsa2048Raw
                .decode(&raw[1..], SignAlg::RsaPssSha256Raw)
                .is_err()
        );
        let mut trailing = pkcs1.as_bytes().to_vec();
        trailing.push(0);
        assert!(
            KeyEncoding::Rsa2048Der
                .decode(&trailing, SignAlg::RsaPssSha256Der)
                .is_err()
        );
    }

    #[test]
    fn off_curve_points_are_refused_when_decoded() {
        let mut point = Sk::generate(alg::ES256, 6).ec_point();
        if let Some(last) = point.last_mut() {
            *last ^= 1;
        }
        let err = KeyEncoding::EccX962Raw
            .decode(&point, SignAlg::Secp256r1Der)
            .unwrap_err();
        assert!(
            matches!(
                err,
                AssertionError::BadField {
                    field: "PUB_KEY",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn der_signature_forms_verify() {
        let msg = b"KRD";
        let ec = Sk::generate(alg::ES256, 3);
        let ec_key = KeyEncoding::EccX962Raw
            .decode(&ec.ec_point(), SignAlg::Secp256r1Der)
            .unwrap();
        assert!(
            SignAlg::Secp256r1Der
                .verify(&ec_key, msg, &ec.sign(msg))
                .is_ok()
        );
        assert!(
            SignAlg::Secp256r1Raw
                .verify(&ec_key, msg, &ec.sign_fixed(msg))
                .is_ok()
        );
        assert!(
            SignAlg::Secp256r1Raw
                .verify(&ec_key, msg, &ec.sign(msg))
                .is_err()
        );
        let pss = Sk::generate(alg::PS256, 4);
        let (n, e) = pss.rsa_components();
        let key = crate::crypto::PublicKey::rsa(&n, &e).unwrap();
        let sig = pss.sign(msg);
        assert!(SignAlg::RsaPssSha256Raw.verify(&key, msg, &sig).is_ok());
        assert!(
            SignAlg::RsaPssSha256Der
                .verify(&key, msg, &octet_string(&sig))
                .is_ok()
        );
        assert!(SignAlg::RsaPssSha256Der.verify(&key, msg, &sig).is_err());
        let pkcs1 = Sk::generate(alg::RS256, 5);
        let (n, e) = pkcs1.rsa_components();
        let key = crate::crypto::PublicKey::rsa(&n, &e).unwrap();
        let sig = pkcs1.sign(msg);
        assert!(SignAlg::RsaPkcs1Sha256Raw.verify(&key, msg, &sig).is_ok());
        assert!(
            SignAlg::RsaPkcs1Sha256Der
                .verify(&key, msg, &octet_string(&sig))
                .is_ok()
        );
        assert!(SignAlg::from_u16(0x0007).is_none(), "SM2 is not supported");
    }
}
