//! X.509 certificates as attestation uses them (parsed by x509-parser).

use super::TrustError;
use crate::crypto::{self, CryptoError, Curve, Hash, PublicKey, SignatureScheme};
use crate::time::UnixTime;
use x509_parser::certificate::{X509Certificate, X509CertificateParser};
use x509_parser::der_parser::oid::Oid;
use x509_parser::error::X509Error;
use x509_parser::extensions::{
    BasicConstraints, ExtendedKeyUsage, KeyIdentifier, SubjectAlternativeName,
};
use x509_parser::nom::Parser as _;
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_NIST_EC_P521,
    OID_PKCS1_RSAENCRYPTION, OID_PKCS1_SHA256WITHRSA, OID_PKCS1_SHA384WITHRSA,
    OID_PKCS1_SHA512WITHRSA, OID_SIG_ECDSA_WITH_SHA256, OID_SIG_ECDSA_WITH_SHA384,
    OID_SIG_ECDSA_WITH_SHA512, OID_SIG_ED25519, OID_X509_EXT_BASIC_CONSTRAINTS,
    OID_X509_EXT_EXTENDED_KEY_USAGE, OID_X509_EXT_SUBJECT_ALT_NAME,
    OID_X509_EXT_SUBJECT_KEY_IDENTIFIER,
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
    /// An extension's value does not parse as its type.
    #[error("{name} extension is malformed: {reason}")]
    BadExtension {
        /// The extension.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// A parsed certificate with its DER bytes.
#[derive(Debug)]
pub struct Cert<'a> {
    der: &'a [u8],
    parsed: X509Certificate<'a>,
}

impl<'a> Cert<'a> {
    /// Parses one DER certificate; `index` names its place for errors.
    ///
    /// Extensions are split into OID, criticality and value, their values
    /// parsed only when asked for (by [`Cert::basic_constraints`] and the
    /// like): most are never looked at, and parsing them all was half of
    /// a certificate's parse. So `x509()`'s own extension accessors see
    /// every extension unparsed; use this type's.
    pub fn parse(der: &'a [u8], index: usize) -> Result<Self, TrustError> {
        let (rest, parsed) = X509CertificateParser::new()
            .with_deep_parse_extensions(false)
            .parse(der)
            .map_err(|e| TrustError::CertParse {
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

    /// Whether basicConstraints says CA (a malformed one does not).
    pub fn is_ca(&self) -> bool {
        matches!(self.basic_constraints(), Ok(Some(bc)) if bc.ca)
    }

    /// basicConstraints, if present once.
    pub fn basic_constraints(&self) -> Result<Option<BasicConstraints>, CertError> {
        self.parsed_extension(&OID_X509_EXT_BASIC_CONSTRAINTS, "basicConstraints")
    }

    /// subjectAltName, if present once.
    pub fn subject_alternative_name(
        &self,
    ) -> Result<Option<SubjectAlternativeName<'a>>, CertError> {
        self.parsed_extension(&OID_X509_EXT_SUBJECT_ALT_NAME, "subjectAltName")
    }

    /// extendedKeyUsage, if present once.
    pub fn extended_key_usage(&self) -> Result<Option<ExtendedKeyUsage<'a>>, CertError> {
        self.parsed_extension(&OID_X509_EXT_EXTENDED_KEY_USAGE, "extendedKeyUsage")
    }

    /// The subjectKeyIdentifier's bytes, if present once.
    pub fn subject_key_identifier(&self) -> Result<Option<&'a [u8]>, CertError> {
        Ok(self
            .parsed_extension::<KeyIdentifier<'a>>(
                &OID_X509_EXT_SUBJECT_KEY_IDENTIFIER,
                "subjectKeyIdentifier",
            )?
            .map(|k| k.0))
    }

    /// The extension `oid` parsed as `T`, which must take its whole value.
    fn parsed_extension<T: FromDer<'a, X509Error>>(
        &self,
        oid: &Oid<'_>,
        name: &'static str,
    ) -> Result<Option<T>, CertError> {
        let Some((value, _critical)) = self.extension(oid.as_bytes())? else {
            return Ok(None);
        };
        match T::from_der(value) {
            Ok(([], parsed)) => Ok(Some(parsed)),
            Ok((rest, _)) => Err(CertError::BadExtension {
                name,
                reason: format!("{} trailing bytes", rest.len()),
            }),
            Err(e) => Err(CertError::BadExtension {
                name,
                reason: e.to_string(),
            }),
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use fidogate_testkit::certs;
    use fidogate_testkit::keys::{SigningKey, alg};
    use rcgen::{CustomExtension, DnType};

    const BC: &[u64] = &[2, 5, 29, 19];
    const SAN: &[u64] = &[2, 5, 29, 17];
    const EKU: &[u64] = &[2, 5, 29, 37];
    const SKI: &[u64] = &[2, 5, 29, 14];

    /// A leaf whose extensions are exactly `exts` (OID, extnValue).
    fn leaf(exts: &[(&[u64], &[u8])]) -> Vec<u8> {
        let root = certs::root_ca("ext root", SigningKey::generate(alg::ES256, 71));
        let mut p = certs::params(&[(DnType::CommonName, "ext leaf")]);
        for (oid, value) in exts {
            p.custom_extensions
                .push(CustomExtension::from_oid_content(oid, value.to_vec()));
        }
        certs::issue(p, SigningKey::generate(alg::ES256, 72), &root).der
    }

    #[test]
    fn extensions_parse_when_asked_and_malformed_ones_are_errors() {
        // basicConstraints CA true, pathLen 0; a SAN with one DNS name; an
        // EKU with serverAuth; an SKI of three bytes.
        let good = leaf(&[
            (BC, &[0x30, 0x06, 0x01, 0x01, 0xff, 0x02, 0x01, 0x00]),
            (SAN, &[0x30, 0x05, 0x82, 0x03, b'a', b'.', b'b']),
            (
                EKU,
                &[
                    0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01,
                ],
            ),
            (SKI, &[0x04, 0x03, 1, 2, 3]),
        ]);
        let cert = Cert::parse(&good, 0).unwrap();
        let bc = cert.basic_constraints().unwrap().unwrap();
        assert!(bc.ca);
        assert_eq!(bc.path_len_constraint, Some(0));
        assert!(cert.is_ca());
        let san = cert.subject_alternative_name().unwrap().unwrap();
        assert_eq!(san.general_names.len(), 1);
        assert!(cert.extended_key_usage().unwrap().unwrap().server_auth);
        assert_eq!(
            cert.subject_key_identifier().unwrap(),
            Some(&[1u8, 2, 3][..])
        );

        let none = leaf(&[]);
        let cert = Cert::parse(&none, 0).unwrap();
        assert_eq!(cert.basic_constraints().unwrap(), None);
        assert!(cert.subject_alternative_name().unwrap().is_none());
        assert!(cert.extended_key_usage().unwrap().is_none());
        assert_eq!(cert.subject_key_identifier().unwrap(), None);
        assert!(!cert.is_ca());

        // Not a SEQUENCE, trailing bytes, and a truncated SEQUENCE: each
        // an error naming the extension (a malformed basicConstraints is
        // not read as absent), and not a CA.
        for value in [
            &[0x05, 0x00][..],
            &[0x30, 0x00, 0x00],
            &[0x30, 0x03, 0x01, 0x01],
        ] {
            let der = leaf(&[(BC, value)]);
            let cert = Cert::parse(&der, 0).unwrap();
            let err = cert.basic_constraints().unwrap_err();
            assert!(
                matches!(
                    err,
                    CertError::BadExtension {
                        name: "basicConstraints",
                        ..
                    }
                ),
                "{value:02x?}: {err:?}"
            );
            assert!(!cert.is_ca(), "{value:02x?}");
        }
        let der = leaf(&[(SAN, &[0x04, 0x01, 0x00])]);
        assert!(matches!(
            Cert::parse(&der, 0).unwrap().subject_alternative_name(),
            Err(CertError::BadExtension {
                name: "subjectAltName",
                ..
            })
        ));
        // Twice is an error too.
        let twice: &[u8] = &[0x30, 0x05, 0x82, 0x03, b'a', b'.', b'b'];
        let der = leaf(&[(SAN, twice), (SAN, twice)]);
        assert!(matches!(
            Cert::parse(&der, 0).unwrap().subject_alternative_name(),
            Err(CertError::DuplicateExtension(_))
        ));
    }
}
