//! X.509 certificates as attestation uses them (parsed by x509-parser).

use super::TrustError;
use crate::crypto::{self, CryptoError, Curve, Hash, PublicKey, SignatureScheme};
use crate::time::UnixTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_NIST_EC_P521,
    OID_PKCS1_RSAENCRYPTION, OID_PKCS1_SHA256WITHRSA, OID_PKCS1_SHA384WITHRSA,
    OID_PKCS1_SHA512WITHRSA, OID_SIG_ECDSA_WITH_SHA256, OID_SIG_ECDSA_WITH_SHA384,
    OID_SIG_ECDSA_WITH_SHA512, OID_SIG_ED25519,
};
use x509_parser::prelude::FromDer;
use x509_parser::x509::{AlgorithmIdentifier, SubjectPublicKeyInfo};

/// 1.3.132.0.10, secp256k1 (DER content).
const OID_SECP256K1: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x0a];

/// A certificate's key, signature algorithm or extensions cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    /// An EC key names no curve.
    #[error("EC key without a named curve")]
    NoNamedCurve,
    /// An EC key on a curve the crypto seam does not support.
    #[error("EC curve {0} is not supported")]
    UnsupportedCurve(String),
    /// The EC point is not SEC1 uncompressed of the curve's size.
    #[error("EC point is not SEC1 uncompressed")]
    NotUncompressed,
    /// The RSA key is not an RSAPublicKey, or not one the backends take.
    #[error("RSA key is not a valid RSAPublicKey{}", .0.as_ref().map(|e| format!(": {e}")).unwrap_or_default())]
    BadRsaKey(Option<CryptoError>),
    /// An Ed25519 key of the wrong length.
    #[error("Ed25519 key must be 32 bytes")]
    Ed25519Length,
    /// A public key algorithm that is not supported.
    #[error("public key algorithm {0} is not supported")]
    UnsupportedKeyAlgorithm(String),
    /// A certificate signature algorithm that is not supported (SHA-1 and
    /// RSASSA-PSS are refused).
    #[error("certificate signature algorithm {0} is not supported")]
    UnsupportedSignatureAlgorithm(String),
    /// The certificate's signature does not verify.
    #[error("{0}")]
    Signature(CryptoError),
    /// An extension appears more than once.
    #[error("extension {0} appears more than once")]
    DuplicateExtension(String),
}

/// A parsed certificate with its DER bytes.
#[derive(Debug)]
pub struct Cert<'a> {
    der: &'a [u8],
    parsed: X509Certificate<'a>,
}

impl<'a> Cert<'a> {
    /// Parses one DER certificate; `index` names its place for errors.
    pub fn parse(der: &'a [u8], index: usize) -> Result<Self, TrustError> {
        let (rest, parsed) = X509Certificate::from_der(der).map_err(|e| TrustError::CertParse {
            index,
            reason: e.to_string(),
        })?;
        if !rest.is_empty() {
            return Err(TrustError::CertParse {
                index,
                reason: format!("{} trailing bytes after the certificate", rest.len()),
            });
        }
        Ok(Self { der, parsed })
    }

    /// The DER bytes.
    pub fn der(&self) -> &'a [u8] {
        self.der
    }

    /// The x509-parser view.
    pub fn x509(&self) -> &X509Certificate<'a> {
        &self.parsed
    }

    /// The certified public key.
    pub fn public_key(&self) -> Result<PublicKey, CertError> {
        spki_public_key(self.parsed.public_key())
    }

    /// notBefore.
    pub fn not_before(&self) -> UnixTime {
        UnixTime::from_secs(self.parsed.validity().not_before.timestamp())
    }

    /// notAfter.
    pub fn not_after(&self) -> UnixTime {
        UnixTime::from_secs(self.parsed.validity().not_after.timestamp())
    }

    /// Whether basicConstraints says CA.
    pub fn is_ca(&self) -> bool {
        matches!(self.parsed.basic_constraints(), Ok(Some(bc)) if bc.value.ca)
    }

    /// Verifies that `issuer_key` signed this certificate.
    pub fn verify_signed_by(&self, issuer_key: &PublicKey) -> Result<(), CertError> {
        let scheme = cert_signature_scheme(&self.parsed.signature_algorithm)?;
        crypto::verify(
            issuer_key,
            scheme,
            self.parsed.tbs_certificate.as_ref(),
            &self.parsed.signature_value.data,
        )
        .map_err(CertError::Signature)
    }

    /// The raw value of the extension whose OID has DER content `oid`,
    /// with its criticality, if present once; an error if present more
    /// than once.
    pub fn extension(&self, oid: &[u8]) -> Result<Option<(&'a [u8], bool)>, CertError> {
        let mut found = None;
        for ext in self.parsed.extensions() {
            if ext.oid.as_bytes() == oid {
                if found.is_some() {
                    return Err(CertError::DuplicateExtension(ext.oid.to_string()));
                }
                found = Some((ext.value, ext.critical));
            }
        }
        Ok(found)
    }

    /// The values of subject attribute `oid` as strings.
    pub fn subject_attr(&self, oid: &x509_parser::der_parser::oid::Oid<'_>) -> Vec<String> {
        self.parsed
            .subject()
            .iter_attributes()
            .filter(|a| a.attr_type() == oid)
            .filter_map(|a| a.as_str().ok().map(str::to_owned))
            .collect()
    }
}

/// Converts a SubjectPublicKeyInfo to a key for the crypto seam.
pub fn spki_public_key(spki: &SubjectPublicKeyInfo<'_>) -> Result<PublicKey, CertError> {
    let alg = &spki.algorithm.algorithm;
    let raw: &[u8] = &spki.subject_public_key.data;
    if *alg == OID_KEY_TYPE_EC_PUBLIC_KEY {
        let curve_oid = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok())
            .ok_or(CertError::NoNamedCurve)?;
        let curve = if curve_oid == OID_EC_P256 {
            Curve::P256
        } else if curve_oid == OID_NIST_EC_P384 {
            Curve::P384
        } else if curve_oid == OID_NIST_EC_P521 {
            Curve::P521
        } else if curve_oid.as_bytes() == OID_SECP256K1 {
            Curve::Secp256k1
        } else {
            return Err(CertError::UnsupportedCurve(curve_oid.to_string()));
        };
        if raw.len() != 1 + 2 * curve.coordinate_len() || raw.first() != Some(&0x04) {
            return Err(CertError::NotUncompressed);
        }
        Ok(PublicKey::Ec {
            curve,
            point: raw.to_vec(),
        })
    } else if *alg == OID_PKCS1_RSAENCRYPTION {
        match spki.parsed() {
            Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => {
                PublicKey::rsa(rsa.modulus, rsa.exponent).map_err(|e| CertError::BadRsaKey(Some(e)))
            }
            _ => Err(CertError::BadRsaKey(None)),
        }
    } else if *alg == OID_SIG_ED25519 {
        let key: [u8; 32] = raw.try_into().map_err(|_| CertError::Ed25519Length)?;
        Ok(PublicKey::Ed25519(key))
    } else {
        Err(CertError::UnsupportedKeyAlgorithm(alg.to_string()))
    }
}

/// The signature scheme of a certificate signature algorithm. SHA-1 and
/// RSASSA-PSS certificate signatures are not accepted.
pub fn cert_signature_scheme(alg: &AlgorithmIdentifier<'_>) -> Result<SignatureScheme, CertError> {
    let oid = &alg.algorithm;
    Ok(if *oid == OID_SIG_ECDSA_WITH_SHA256 {
        SignatureScheme::EcdsaDer(Hash::Sha256)
    } else if *oid == OID_SIG_ECDSA_WITH_SHA384 {
        SignatureScheme::EcdsaDer(Hash::Sha384)
    } else if *oid == OID_SIG_ECDSA_WITH_SHA512 {
        SignatureScheme::EcdsaDer(Hash::Sha512)
    } else if *oid == OID_PKCS1_SHA256WITHRSA {
        SignatureScheme::RsaPkcs1(Hash::Sha256)
    } else if *oid == OID_PKCS1_SHA384WITHRSA {
        SignatureScheme::RsaPkcs1(Hash::Sha384)
    } else if *oid == OID_PKCS1_SHA512WITHRSA {
        SignatureScheme::RsaPkcs1(Hash::Sha512)
    } else if *oid == OID_SIG_ED25519 {
        SignatureScheme::Ed25519
    } else {
        return Err(CertError::UnsupportedSignatureAlgorithm(oid.to_string()));
    })
}
