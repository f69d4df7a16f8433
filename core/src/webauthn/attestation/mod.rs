//! Attestation statement formats: W3C WebAuthn Level 3 §8.
//!
//! Each format's verification procedure takes the statement, the
//! authenticator data and the client data hash, and returns the
//! attestation type and trust path; trust in that path is assessed
//! afterwards, in one place (`verify.rs`), for every format alike.

mod android_key;
mod android_safetynet;
mod apple;
mod compound;
mod der;
mod fido_u2f;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod none;
mod packed;
mod tpm;

use super::auth_data::{AttestedCredential, AuthenticatorData};
use super::cose::{CoseAlgorithm, CoseKey};
use super::error::StatementError;
use super::policy::Policy;
use crate::cbor::{self, Map};
use crate::crypto::PublicKey;
use crate::time::UnixTime;
use crate::trust::{Cert, MAX_CHAIN_LEN};
use ciborium::value::Value;

/// OID 1.3.6.1.4.1.45724.1.1.4, id-fido-gen-ce-aaguid (DER content).
pub(crate) const OID_FIDO_AAGUID: &[u8] = &[
    0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0xe5, 0x1c, 0x01, 0x01, 0x04,
];

/// An attestation statement format (§8, and the compound format of L3 §8.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// `none` (§8.7).
    None,
    /// `packed` (§8.2).
    Packed,
    /// `tpm` (§8.3).
    Tpm,
    /// `android-key` (§8.4).
    AndroidKey,
    /// `android-safetynet` (§8.5).
    AndroidSafetynet,
    /// `fido-u2f` (§8.6).
    FidoU2f,
    /// `apple` (§8.8).
    Apple,
    /// `compound` (§8.9).
    Compound,
}

impl Format {
    /// The format with identifier `id` (case-sensitive, §7.1 step 21).
    pub fn from_id(id: &str) -> Option<Self> {
        Some(match id {
            "none" => Self::None,
            "packed" => Self::Packed,
            "tpm" => Self::Tpm,
            "android-key" => Self::AndroidKey,
            "android-safetynet" => Self::AndroidSafetynet,
            "fido-u2f" => Self::FidoU2f,
            "apple" => Self::Apple,
            "compound" => Self::Compound,
            _ => return None,
        })
    }

    /// The format identifier.
    pub fn id(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Packed => "packed",
            Self::Tpm => "tpm",
            Self::AndroidKey => "android-key",
            Self::AndroidSafetynet => "android-safetynet",
            Self::FidoU2f => "fido-u2f",
            Self::Apple => "apple",
            Self::Compound => "compound",
        }
    }
}

/// The attestation type (§6.5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AttestationType {
    /// No attestation.
    None,
    /// Self attestation: signed by the credential key itself.
    SelfAttestation,
    /// Basic attestation: a batch attestation key.
    Basic,
    /// Attestation CA: an attestation identity key certified by a CA (TPM).
    AttCa,
    /// Anonymization CA: a per-credential certificate (Apple).
    AnonCa,
}

impl AttestationType {
    /// `none`, `self`, `basic`, `attca` or `anonca`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::SelfAttestation => "self",
            Self::Basic => "basic",
            Self::AttCa => "attca",
            Self::AnonCa => "anonca",
        }
    }
}

/// The certificate chain to assess (leaf first).
#[derive(Debug)]
pub(crate) enum TrustPath<'a> {
    /// As the format parsed it from the statement: assessed without
    /// parsing it again.
    Parsed(Vec<Cert<'a>>),
    /// DER the format decoded itself (android-safetynet's JWS header),
    /// parsed when assessed; empty for none and self attestation.
    Der(Vec<Vec<u8>>),
}

impl TrustPath<'_> {
    pub(crate) fn is_empty(&self) -> bool {
        match self {
            Self::Parsed(certs) => certs.is_empty(),
            Self::Der(ders) => ders.is_empty(),
        }
    }

    /// The chain's DER, leaf first.
    pub(crate) fn to_der(&self) -> Vec<Vec<u8>> {
        match self {
            Self::Parsed(certs) => certs.iter().map(|c| c.der().to_vec()).collect(),
            Self::Der(ders) => ders.clone(),
        }
    }
}

/// What a format's verification procedure established.
#[derive(Debug)]
pub(crate) struct Outcome<'a> {
    pub attestation_type: AttestationType,
    pub trust_path: TrustPath<'a>,
    /// For `compound`: each verified sub-statement.
    pub sub: Vec<(Format, Outcome<'a>)>,
}

impl<'a> Outcome<'a> {
    fn new(attestation_type: AttestationType, trust_path: Vec<Vec<u8>>) -> Self {
        Self {
            attestation_type,
            trust_path: TrustPath::Der(trust_path),
            sub: Vec::new(),
        }
    }

    /// A trust path the format parsed.
    fn chain(attestation_type: AttestationType, chain: Vec<Cert<'a>>) -> Self {
        Self {
            attestation_type,
            trust_path: TrustPath::Parsed(chain),
            sub: Vec::new(),
        }
    }
}

/// Everything a verification procedure needs besides the statement.
#[derive(Debug)]
pub(crate) struct Ctx<'a> {
    pub auth_data: &'a AuthenticatorData<'a>,
    pub attested: &'a AttestedCredential<'a>,
    pub credential: &'a CoseKey,
    pub client_data_hash: &'a [u8; 32],
    pub policy: &'a Policy,
    pub time: UnixTime,
}

impl Ctx<'_> {
    /// `authData || clientDataHash`, what most formats sign.
    pub(crate) fn signed_data(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.auth_data.raw.len() + 32);
        v.extend_from_slice(self.auth_data.raw);
        v.extend_from_slice(self.client_data_hash);
        v
    }
}

/// Runs `fmt`'s verification procedure (§7.1 step 22).
pub(crate) fn verify<'a>(
    fmt: Format,
    att_stmt: &'a Value,
    ctx: &Ctx<'_>,
) -> Result<Outcome<'a>, StatementError> {
    match fmt {
        Format::None => none::verify(att_stmt),
        Format::Packed => packed::verify(att_stmt, ctx),
        Format::Tpm => tpm::verify(att_stmt, ctx),
        Format::AndroidKey => android_key::verify(att_stmt, ctx),
        Format::AndroidSafetynet => android_safetynet::verify(att_stmt, ctx),
        Format::FidoU2f => fido_u2f::verify(att_stmt, ctx),
        Format::Apple => apple::verify(att_stmt, ctx),
        Format::Compound => compound::verify(att_stmt, ctx),
    }
}

/// The statement as a map whose keys are all among `allowed`.
fn statement<'a>(att_stmt: &'a Value, allowed: &[&str]) -> Result<Map<'a>, StatementError> {
    let map = Map::new(att_stmt, "attStmt")
        .map_err(|e| StatementError::malformed("attStmt", e.to_string()))?;
    for (k, _) in map.entries() {
        match k.as_text() {
            Some(k) if allowed.contains(&k) => {}
            Some("ecdaaKeyId") => {
                return Err(StatementError::malformed(
                    "attStmt.ecdaaKeyId",
                    "ECDAA is not supported",
                ));
            }
            Some(k) => {
                return Err(StatementError::malformed(
                    "attStmt",
                    format!("unexpected member {k:?}"),
                ));
            }
            None => {
                return Err(StatementError::malformed(
                    "attStmt",
                    "member names must be text",
                ));
            }
        }
    }
    Ok(map)
}

fn required<'a>(map: &Map<'a>, key: &'static str) -> Result<&'a Value, StatementError> {
    map.get_text(key)
        .ok_or(StatementError::malformed(key, "missing"))
}

fn bytes_field<'a>(map: &Map<'a>, key: &'static str) -> Result<&'a [u8], StatementError> {
    cbor::as_bytes(required(map, key)?, key)
        .map_err(|e| StatementError::malformed(key, e.to_string()))
}

fn text_field<'a>(map: &Map<'a>, key: &'static str) -> Result<&'a str, StatementError> {
    cbor::as_text(required(map, key)?, key)
        .map_err(|e| StatementError::malformed(key, e.to_string()))
}

/// `alg` as a supported COSE algorithm.
fn alg_field(map: &Map<'_>) -> Result<CoseAlgorithm, StatementError> {
    let id = cbor::as_i64(required(map, "alg")?, "alg")
        .map_err(|e| StatementError::malformed("alg", e.to_string()))?;
    CoseAlgorithm::from_id(id).ok_or(StatementError::malformed(
        "alg",
        format!("algorithm {id} is not supported"),
    ))
}

/// `x5c` as 1 to [`MAX_CHAIN_LEN`] DER certificates.
fn x5c_field<'a>(map: &Map<'a>) -> Result<Vec<&'a [u8]>, StatementError> {
    let Value::Array(items) = required(map, "x5c")? else {
        return Err(StatementError::malformed("x5c", "must be an array"));
    };
    if items.is_empty() || items.len() > MAX_CHAIN_LEN {
        return Err(StatementError::malformed(
            "x5c",
            format!(
                "has {} certificates; 1 to {MAX_CHAIN_LEN} are accepted",
                items.len()
            ),
        ));
    }
    items
        .iter()
        .map(|c| {
            cbor::as_bytes(c, "x5c").map_err(|e| StatementError::malformed("x5c", e.to_string()))
        })
        .collect()
}

/// Parses every certificate of a chain.
fn parse_chain<'a>(x5c: &[&'a [u8]]) -> Result<Vec<Cert<'a>>, StatementError> {
    x5c.iter()
        .enumerate()
        .map(|(i, der)| {
            Cert::parse(der, i).map_err(|e| StatementError::malformed("x5c", e.to_string()))
        })
        .collect()
}

/// The leaf certificate's public key.
fn cert_key(cert: &Cert<'_>) -> Result<PublicKey, StatementError> {
    cert.public_key()
        .map_err(|e| StatementError::Certificate(format!("public key: {e}")))
}

/// Verifies `sig` over `data` with `key` under `alg`.
fn check_sig(
    what: &'static str,
    key: &PublicKey,
    alg: CoseAlgorithm,
    data: &[u8],
    sig: &[u8],
) -> Result<(), StatementError> {
    crate::crypto::verify(key, alg.scheme(), data, sig)
        .map_err(|source| StatementError::Signature { what, source })
}

/// The id-fido-gen-ce-aaguid check (§8.2.1, §8.3.1): when the extension is
/// present it must not be critical and must equal the AAGUID.
fn check_aaguid_extension(cert: &Cert<'_>, aaguid: &[u8; 16]) -> Result<(), StatementError> {
    let Some((value, critical)) = cert
        .extension(OID_FIDO_AAGUID)
        .map_err(|e| StatementError::Certificate(e.to_string()))?
    else {
        return Ok(());
    };
    if critical {
        return Err(StatementError::Certificate(
            "id-fido-gen-ce-aaguid extension must not be critical".to_owned(),
        ));
    }
    // extnValue is an OCTET STRING holding the 16 AAGUID bytes.
    let inner = match value {
        [0x04, 0x10, rest @ ..] if rest.len() == 16 => rest,
        _ => {
            return Err(StatementError::Certificate(
                "id-fido-gen-ce-aaguid extension is not a 16-byte OCTET STRING".to_owned(),
            ));
        }
    };
    if inner != aaguid {
        return Err(StatementError::mismatch(
            "id-fido-gen-ce-aaguid",
            "the attestation certificate's AAGUID differs from authData's",
        ));
    }
    Ok(())
}

/// The credential key must be the key a certificate certifies.
fn check_same_key(
    cert_key: &PublicKey,
    ctx: &Ctx<'_>,
    what: &'static str,
) -> Result<(), StatementError> {
    if *cert_key != ctx.credential.key {
        return Err(StatementError::mismatch(
            what,
            "certified key differs from the credential public key",
        ));
    }
    Ok(())
}

/// Version 3 (value 2) certificate check.
fn check_v3(cert: &Cert<'_>) -> Result<(), StatementError> {
    if cert.x509().version().0 != 2 {
        return Err(StatementError::Certificate(
            "must be an X.509 version 3 certificate".to_owned(),
        ));
    }
    Ok(())
}

/// basicConstraints absent or CA false.
fn check_not_ca(cert: &Cert<'_>) -> Result<(), StatementError> {
    match cert.basic_constraints() {
        Ok(None) => Ok(()),
        Ok(Some(bc)) if !bc.ca => Ok(()),
        Ok(Some(_)) => Err(StatementError::Certificate(
            "basicConstraints CA must be false".to_owned(),
        )),
        Err(e) => Err(StatementError::Certificate(format!(
            "basicConstraints: {e}"
        ))),
    }
}
