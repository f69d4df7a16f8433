//! `tpm` (§8.3): a TPM 2.0 `TPM2_Certify` of the credential key by an
//! attestation identity key (AIK) certified per §8.3.1.
//!
//! `pubArea` (TPMT_PUBLIC) and `certInfo` (TPMS_ATTEST) are big-endian TPM
//! structures (TPM 2.0 Library Part 2 §12.2.4 and §10.12.12), read with a
//! cursor that refuses truncation and trailing bytes.

use super::{
    AttestationType, Ctx, Outcome, alg_field, bytes_field, cert_key, check_aaguid_extension,
    check_not_ca, check_sig, check_v3, parse_chain, statement, text_field, x5c_field,
};
use crate::crypto::constant_time_eq;
use crate::crypto::{Curve, Hash, PublicKey};
use crate::cursor::{Cursor, CursorError};
use crate::trust::Cert;
use crate::webauthn::cose::CoseAlgorithm;
use crate::webauthn::error::StatementError;
use ciborium::value::Value;
use x509_parser::extensions::GeneralName;

const TPM_GENERATED_VALUE: u32 = 0xff54_4347;
const TPM_ST_ATTEST_CERTIFY: u16 = 0x8017;
const TPM_ALG_RSA: u16 = 0x0001;
const TPM_ALG_ECC: u16 = 0x0023;
const TPM_ALG_NULL: u16 = 0x0010;
const TPM_ALG_SHA1: u16 = 0x0004;
const TPM_ALG_SHA256: u16 = 0x000b;
const TPM_ALG_SHA384: u16 = 0x000c;
const TPM_ALG_SHA512: u16 = 0x000d;
const TPM_ECC_NIST_P256: u16 = 0x0003;
const TPM_ECC_NIST_P384: u16 = 0x0004;
const TPM_ECC_NIST_P521: u16 = 0x0005;

/// 2.23.133.8.3 tcg-kp-AIKCertificate (DER content).
const OID_TCG_KP_AIK_CERTIFICATE: &[u8] = &[0x67, 0x81, 0x05, 0x08, 0x03];
/// 2.23.133.2.1 tcg-at-tpmManufacturer.
const OID_TPM_MANUFACTURER: &[u8] = &[0x67, 0x81, 0x05, 0x02, 0x01];
/// 2.23.133.2.2 tcg-at-tpmModel.
const OID_TPM_MODEL: &[u8] = &[0x67, 0x81, 0x05, 0x02, 0x02];
/// 2.23.133.2.3 tcg-at-tpmVersion.
const OID_TPM_VERSION: &[u8] = &[0x67, 0x81, 0x05, 0x02, 0x03];

/// TPM vendor IDs from the TCG TPM Vendor ID Registry, plus the FIDO
/// conformance tools' test vendor (FFFFF1D0).
const TPM_MANUFACTURERS: &[&str] = &[
    "414D4400", "41544D4C", "4252434D", "4353434F", "464C5953", "48504500", "48495349", "49424D00",
    "49465800", "494E5443", "4C454E00", "4D534654", "4E534D20", "4E545A00", "4E544300", "51434F4D",
    "534D5343", "53544D20", "534D534E", "534E5300", "54584E00", "57454300", "524F4343", "474F4F47",
    "FFFFF1D0",
];

pub(super) fn verify<'a>(
    att_stmt: &'a Value,
    ctx: &Ctx<'_>,
) -> Result<Outcome<'a>, StatementError> {
    let map = statement(
        att_stmt,
        &["ver", "alg", "x5c", "sig", "certInfo", "pubArea"],
    )?;
    // ver is "2.0".
    if text_field(&map, "ver")? != "2.0" {
        return Err(StatementError::malformed("ver", "must be \"2.0\""));
    }
    let alg = alg_field(&map)?;
    if alg == CoseAlgorithm::Rs1 && !ctx.policy.allow_sha1_tpm {
        return Err(StatementError::policy(
            "alg",
            "RS1 (SHA-1) TPM statements are not accepted by policy",
        ));
    }
    let sig = bytes_field(&map, "sig")?;
    let cert_info_raw = bytes_field(&map, "certInfo")?;
    let pub_area_raw = bytes_field(&map, "pubArea")?;
    // The key in pubArea is the credential public key.
    let pub_area = PubArea::parse(pub_area_raw)
        .map_err(|e| StatementError::malformed("pubArea", e.to_string()))?;
    if pub_area.key != ctx.credential.key {
        return Err(StatementError::mismatch(
            "pubArea",
            "its key differs from the credential public key",
        ));
    }
    // attToBeSigned = authData || clientDataHash.
    let att_to_be_signed = ctx.signed_data();
    let cert_info = CertInfo::parse(cert_info_raw)
        .map_err(|e| StatementError::malformed("certInfo", e.to_string()))?;
    // magic is TPM_GENERATED_VALUE.
    if cert_info.magic != TPM_GENERATED_VALUE {
        return Err(StatementError::malformed(
            "certInfo.magic",
            format!("{:#010x} is not TPM_GENERATED_VALUE", cert_info.magic),
        ));
    }
    // type is TPM_ST_ATTEST_CERTIFY.
    if cert_info.ty != TPM_ST_ATTEST_CERTIFY {
        return Err(StatementError::malformed(
            "certInfo.type",
            format!("{:#06x} is not TPM_ST_ATTEST_CERTIFY", cert_info.ty),
        ));
    }
    // extraData is the hash of attToBeSigned with alg's hash.
    if !constant_time_eq(cert_info.extra_data, &alg.hash().digest(&att_to_be_signed)) {
        return Err(StatementError::mismatch(
            "certInfo.extraData",
            "is not the hash of authData || clientDataHash",
        ));
    }
    // attested.name is the Name of pubArea under pubArea's nameAlg.
    let name_hash = tpm_hash(pub_area.name_alg).ok_or(StatementError::malformed(
        "pubArea.nameAlg",
        "is not a supported hash",
    ))?;
    let mut expected_name = pub_area.name_alg.to_be_bytes().to_vec();
    expected_name.extend_from_slice(&name_hash.digest(pub_area_raw));
    if cert_info.attested_name != expected_name.as_slice() {
        return Err(StatementError::mismatch(
            "certInfo.attested.name",
            "is not the Name of pubArea",
        ));
    }
    // sig over certInfo with the AIK certificate's key.
    let x5c = x5c_field(&map)?;
    let chain = parse_chain(&x5c)?;
    let aik = chain
        .first()
        .ok_or(StatementError::malformed("x5c", "empty"))?;
    check_sig("sig", &cert_key(aik)?, alg, cert_info_raw, sig)?;
    // The AIK certificate meets §8.3.1, and its AAGUID extension matches.
    check_aik_requirements(aik)?;
    check_aaguid_extension(aik, &ctx.attested.aaguid)?;
    Ok(Outcome::chain(AttestationType::AttCa, chain))
}

fn tpm_hash(alg: u16) -> Option<Hash> {
    Some(match alg {
        TPM_ALG_SHA1 => Hash::Sha1,
        TPM_ALG_SHA256 => Hash::Sha256,
        TPM_ALG_SHA384 => Hash::Sha384,
        TPM_ALG_SHA512 => Hash::Sha512,
        _ => return None,
    })
}

/// TPMT_PUBLIC, the parts that identify the key.
#[derive(Debug)]
pub(super) struct PubArea {
    name_alg: u16,
    key: PublicKey,
}

/// Why a TPM structure did not parse.
#[derive(Debug, thiserror::Error)]
pub(super) enum TpmParseError {
    #[error("{0}")]
    Cursor(#[from] CursorError),
    #[error("{0}")]
    Invalid(String),
}

impl PubArea {
    pub(super) fn parse(raw: &[u8]) -> Result<Self, TpmParseError> {
        let mut c = Cursor::new(raw);
        let ty = c.u16_be("pubArea.type")?;
        let name_alg = c.u16_be("pubArea.nameAlg")?;
        let _object_attributes = c.u32_be("pubArea.objectAttributes")?;
        let _auth_policy = c.sized_u16_be("pubArea.authPolicy")?;
        // TPMT_SYM_DEF_OBJECT: an algorithm, with key bits and mode unless NULL.
        if c.u16_be("pubArea.parameters.symmetric")? != TPM_ALG_NULL {
            c.u16_be("pubArea.parameters.symmetric.keyBits")?;
            c.u16_be("pubArea.parameters.symmetric.mode")?;
        }
        // The signing scheme, with its hash unless NULL.
        if c.u16_be("pubArea.parameters.scheme")? != TPM_ALG_NULL {
            c.u16_be("pubArea.parameters.scheme.hashAlg")?;
        }
        let key = match ty {
            TPM_ALG_RSA => {
                let _key_bits = c.u16_be("pubArea.parameters.keyBits")?;
                let exponent = match c.u32_be("pubArea.parameters.exponent")? {
                    0 => 65_537,
                    e => e,
                };
                let n = c.sized_u16_be("pubArea.unique")?;
                PublicKey::rsa(n, &exponent.to_be_bytes())
                    .map_err(|e| TpmParseError::Invalid(e.to_string()))?
            }
            TPM_ALG_ECC => {
                let curve = match c.u16_be("pubArea.parameters.curveID")? {
                    TPM_ECC_NIST_P256 => Curve::P256,
                    TPM_ECC_NIST_P384 => Curve::P384,
                    TPM_ECC_NIST_P521 => Curve::P521,
                    other => {
                        return Err(TpmParseError::Invalid(format!(
                            "curveID {other:#06x} is not supported"
                        )));
                    }
                };
                if c.u16_be("pubArea.parameters.kdf")? != TPM_ALG_NULL {
                    c.u16_be("pubArea.parameters.kdf.hashAlg")?;
                }
                let x = c.sized_u16_be("pubArea.unique.x")?;
                let y = c.sized_u16_be("pubArea.unique.y")?;
                PublicKey::ec(curve, x, y).map_err(|e| TpmParseError::Invalid(e.to_string()))?
            }
            other => {
                return Err(TpmParseError::Invalid(format!(
                    "type {other:#06x} is not RSA or ECC"
                )));
            }
        };
        c.finish("pubArea")?;
        Ok(Self { name_alg, key })
    }
}

/// TPMS_ATTEST with TPMS_CERTIFY_INFO.
#[derive(Debug)]
pub(super) struct CertInfo<'a> {
    magic: u32,
    ty: u16,
    extra_data: &'a [u8],
    attested_name: &'a [u8],
}

impl<'a> CertInfo<'a> {
    pub(super) fn parse(raw: &'a [u8]) -> Result<Self, TpmParseError> {
        let mut c = Cursor::new(raw);
        let magic = c.u32_be("certInfo.magic")?;
        let ty = c.u16_be("certInfo.type")?;
        let _qualified_signer = c.sized_u16_be("certInfo.qualifiedSigner")?;
        let extra_data = c.sized_u16_be("certInfo.extraData")?;
        // TPMS_CLOCK_INFO: clock (8), resetCount (4), restartCount (4), safe (1).
        c.take(17, "certInfo.clockInfo")?;
        let _firmware_version = c.u64_be("certInfo.firmwareVersion")?;
        let attested_name = c.sized_u16_be("certInfo.attested.name")?;
        let _qualified_name = c.sized_u16_be("certInfo.attested.qualifiedName")?;
        c.finish("certInfo")?;
        Ok(Self {
            magic,
            ty,
            extra_data,
            attested_name,
        })
    }
}

/// §8.3.1 TPM attestation statement certificate requirements.
fn check_aik_requirements(cert: &Cert<'_>) -> Result<(), StatementError> {
    check_v3(cert)?;
    // Subject empty.
    if cert.x509().subject().iter().next().is_some() {
        return Err(StatementError::Certificate(
            "AIK certificate subject must be empty".to_owned(),
        ));
    }
    // Subject Alternative Name with TPM manufacturer, model and version.
    let san = match cert.subject_alternative_name() {
        Ok(Some(san)) => san,
        Ok(None) => {
            return Err(StatementError::Certificate(
                "AIK certificate has no subjectAltName".to_owned(),
            ));
        }
        Err(e) => return Err(StatementError::Certificate(format!("subjectAltName: {e}"))),
    };
    let (mut manufacturer, mut model, mut version) = (None, false, false);
    for name in &san.general_names {
        if let GeneralName::DirectoryName(dn) = name {
            for attr in dn.iter_attributes() {
                let oid = attr.attr_type().as_bytes();
                if oid == OID_TPM_MANUFACTURER {
                    manufacturer = attr.as_str().ok().map(str::to_owned);
                } else if oid == OID_TPM_MODEL {
                    model = true;
                } else if oid == OID_TPM_VERSION {
                    version = true;
                }
            }
        }
    }
    let manufacturer = manufacturer.ok_or(StatementError::Certificate(
        "subjectAltName lacks tpmManufacturer".to_owned(),
    ))?;
    if !model || !version {
        return Err(StatementError::Certificate(
            "subjectAltName lacks tpmModel or tpmVersion".to_owned(),
        ));
    }
    let id = manufacturer.strip_prefix("id:").unwrap_or(&manufacturer);
    if !TPM_MANUFACTURERS.iter().any(|m| m.eq_ignore_ascii_case(id)) {
        return Err(StatementError::Certificate(format!(
            "tpmManufacturer {manufacturer:?} is not a registered TPM vendor"
        )));
    }
    // Extended Key Usage contains tcg-kp-AIKCertificate.
    let has_aik_eku = match cert.extended_key_usage() {
        Ok(Some(eku)) => eku
            .other
            .iter()
            .any(|o| o.as_bytes() == OID_TCG_KP_AIK_CERTIFICATE),
        _ => false,
    };
    if !has_aik_eku {
        return Err(StatementError::Certificate(
            "extendedKeyUsage lacks tcg-kp-AIKCertificate (2.23.133.8.3)".to_owned(),
        ));
    }
    // Basic Constraints CA false.
    check_not_ca(cert)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ecc_pub_area() -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&TPM_ALG_ECC.to_be_bytes());
        v.extend_from_slice(&TPM_ALG_SHA256.to_be_bytes());
        v.extend_from_slice(&0x0006_0472u32.to_be_bytes());
        v.extend_from_slice(&0u16.to_be_bytes());
        v.extend_from_slice(&TPM_ALG_NULL.to_be_bytes());
        v.extend_from_slice(&TPM_ALG_NULL.to_be_bytes());
        v.extend_from_slice(&TPM_ECC_NIST_P256.to_be_bytes());
        v.extend_from_slice(&TPM_ALG_NULL.to_be_bytes());
        v.extend_from_slice(&32u16.to_be_bytes());
        v.extend_from_slice(&[1; 32]);
        v.extend_from_slice(&32u16.to_be_bytes());
        v.extend_from_slice(&[2; 32]);
        v
    }

    fn cert_info() -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&TPM_GENERATED_VALUE.to_be_bytes());
        v.extend_from_slice(&TPM_ST_ATTEST_CERTIFY.to_be_bytes());
        v.extend_from_slice(&[0, 2, 9, 9]);
        v.extend_from_slice(&[0, 3, 1, 2, 3]);
        v.extend_from_slice(&[0; 17]);
        v.extend_from_slice(&[0; 8]);
        v.extend_from_slice(&[0, 2, 7, 7]);
        v.extend_from_slice(&[0, 1, 5]);
        v
    }

    #[test]
    fn pub_area_parses_and_truncations_fail() {
        let raw = ecc_pub_area();
        let p = PubArea::parse(&raw).unwrap();
        assert_eq!(p.name_alg, TPM_ALG_SHA256);
        for n in 0..raw.len() {
            assert!(PubArea::parse(&raw[..n]).is_err(), "prefix {n}");
        }
        let mut long = raw.clone();
        long.push(0);
        assert!(matches!(
            PubArea::parse(&long),
            Err(TpmParseError::Cursor(CursorError::TrailingData { .. }))
        ));
    }

    #[test]
    fn cert_info_parses_and_truncations_fail() {
        let raw = cert_info();
        let ci = CertInfo::parse(&raw).unwrap();
        assert_eq!(ci.extra_data, &[1, 2, 3]);
        assert_eq!(ci.attested_name, &[7, 7]);
        for n in 0..raw.len() {
            assert!(CertInfo::parse(&raw[..n]).is_err(), "prefix {n}");
        }
        let mut long = raw.clone();
        long.push(0);
        assert!(CertInfo::parse(&long).is_err());
    }
}
