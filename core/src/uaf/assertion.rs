//! Registration assertions (UAF Authenticator Commands §6.4.1 and the
//! UAFV1TLV assertion scheme): strict TLV parsing of
//! TAG_UAFV1_REG_ASSERTION and its Key Registration Data, and the
//! attestation's verification (Basic Full with its chain, Basic
//! Surrogate with the new key).

use super::algorithms::{KeyEncoding, SignAlg};
use super::error::{AssertionError, TlvError};
use super::request::RegistrationPolicy;
use super::tlv::{self, Tlv};
use crate::b64;
use crate::crypto::constant_time_eq;
use crate::cursor::Cursor;
use crate::time::UnixTime;
use crate::trust::{Cert, TrustAnchors, verify_chain_cached};
use serde_json::Value;

/// Most attestation certificates accepted in one assertion.
pub const MAX_CERTS: usize = 8;

/// The attestation type of a UAF registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UafAttestation {
    /// TAG_ATTESTATION_BASIC_FULL: signed by an attestation key with a certificate.
    BasicFull,
    /// TAG_ATTESTATION_BASIC_SURROGATE: signed by the new key itself.
    BasicSurrogate,
}

impl UafAttestation {
    /// `basic_full` or `basic_surrogate`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BasicFull => "basic_full",
            Self::BasicSurrogate => "basic_surrogate",
        }
    }
}

/// A verified UAF registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UafRegistration {
    /// AAID.
    pub aaid: String,
    /// KeyID.
    pub key_id: Vec<u8>,
    /// The public key as encoded in the assertion.
    pub public_key: Vec<u8>,
    /// Its encoding.
    pub public_key_encoding: KeyEncoding,
    /// The signature algorithm.
    pub sign_alg: SignAlg,
    /// The signature counter.
    pub sign_counter: u32,
    /// The registration counter.
    pub reg_counter: u32,
    /// The message's protocol version (`upv`), set by the response check
    /// (1.0 for an assertion checked on its own).
    pub upv: (u64, u64),
    /// AuthenticatorVersion.
    pub authenticator_version: u16,
    /// The attestation type.
    pub attestation: UafAttestation,
    /// Whether the attestation chains to an anchor configured for the AAID.
    pub trusted: bool,
    /// The attestation certificate (basic_full), DER.
    pub attest_cert: Option<Vec<u8>>,
    /// The signed KRD (tag, length and value).
    pub attest_data_to_sign: Vec<u8>,
    /// The attestation signature.
    pub attest_signature: Vec<u8>,
}

/// Verifies one `{assertionScheme, assertion}` object. With
/// `final_challenge_hash` `None` (a bare assertion without its request),
/// the hash is not compared.
pub fn verify_assertion_json(
    assertion: &Value,
    final_challenge_hash: Option<&[u8; 32]>,
    policy: &RegistrationPolicy,
    anchors: &TrustAnchors,
    time: UnixTime,
    require_trusted: bool,
) -> Result<UafRegistration, AssertionError> {
    let scheme = assertion["assertionScheme"].as_str().unwrap_or_default();
    if scheme != "UAFV1TLV" {
        return Err(AssertionError::Scheme(scheme.to_owned()));
    }
    let text = assertion["assertion"]
        .as_str()
        .ok_or(AssertionError::Encoding)?;
    let bytes = b64::decode(text).map_err(|_| AssertionError::Encoding)?;
    verify_assertion(
        &bytes,
        final_challenge_hash,
        policy,
        anchors,
        time,
        require_trusted,
    )
}

/// The parsed Key Registration Data.
#[derive(Debug, Clone)]
pub struct Krd<'a> {
    /// TAG_UAFV1_KRD with tag and length: what the attestation signs.
    pub raw: &'a [u8],
    /// AAID.
    pub aaid: String,
    /// AuthenticatorVersion.
    pub authenticator_version: u16,
    /// SignatureAlgAndEncoding.
    pub sign_alg: SignAlg,
    /// PublicKeyAlgAndEncoding.
    pub key_encoding: KeyEncoding,
    /// FINAL_CHALLENGE_HASH.
    pub final_challenge_hash: &'a [u8],
    /// KEYID.
    pub key_id: &'a [u8],
    /// SignCounter.
    pub sign_counter: u32,
    /// RegCounter.
    pub reg_counter: u32,
    /// PUB_KEY.
    pub public_key: &'a [u8],
}

/// A parsed TAG_UAFV1_REG_ASSERTION.
#[derive(Debug, Clone)]
pub struct RegAssertion<'a> {
    /// The KRD.
    pub krd: Krd<'a>,
    /// Basic full or surrogate.
    pub attestation: UafAttestation,
    /// TAG_SIGNATURE.
    pub signature: &'a [u8],
    /// TAG_ATTESTATION_CERT values, leaf first.
    pub certs: Vec<&'a [u8]>,
}

fn bad(field: &'static str, reason: impl Into<String>) -> AssertionError {
    AssertionError::BadField {
        field,
        reason: reason.into(),
    }
}

/// Parses a registration assertion strictly: exactly one
/// TAG_UAFV1_REG_ASSERTION, a KRD with each field once and no unknown tags
/// (non-critical extensions excepted), one attestation.
pub fn parse_reg_assertion(bytes: &[u8]) -> Result<RegAssertion<'_>, AssertionError> {
    let outer = tlv::parse_one(
        bytes,
        tlv::TAG_UAFV1_REG_ASSERTION,
        "TAG_UAFV1_REG_ASSERTION",
    )?;
    let parts = tlv::parse_all(outer.value, "TAG_UAFV1_REG_ASSERTION")?;
    const REG: &str = "TAG_UAFV1_REG_ASSERTION";
    for t in &parts {
        match t.tag {
            tlv::TAG_UAFV1_KRD
            | tlv::TAG_ATTESTATION_BASIC_FULL
            | tlv::TAG_ATTESTATION_BASIC_SURROGATE
            | tlv::TAG_EXTENSION_NON_CRITICAL => {}
            tlv::TAG_ATTESTATION_ECDAA => {
                return Err(AssertionError::Unsupported(
                    "ECDAA attestation is not supported".to_owned(),
                ));
            }
            tag => return Err(TlvError::UnexpectedTag { tag, inside: REG }.into()),
        }
    }
    let krd_tlv = tlv::required(&parts, tlv::TAG_UAFV1_KRD, "TAG_UAFV1_KRD", REG)?;
    let krd = parse_krd(krd_tlv)?;
    let full = tlv::unique(
        &parts,
        tlv::TAG_ATTESTATION_BASIC_FULL,
        "TAG_ATTESTATION_BASIC_FULL",
        REG,
    )?;
    let surrogate = tlv::unique(
        &parts,
        tlv::TAG_ATTESTATION_BASIC_SURROGATE,
        "TAG_ATTESTATION_BASIC_SURROGATE",
        REG,
    )?;
    let (attestation, att) = match (full, surrogate) {
        (Some(f), None) => (UafAttestation::BasicFull, f),
        (None, Some(s)) => (UafAttestation::BasicSurrogate, s),
        (None, None) => {
            return Err(TlvError::Missing {
                tag: "an attestation",
                inside: REG,
            }
            .into());
        }
        (Some(_), Some(_)) => {
            return Err(bad("attestation", "both basic full and basic surrogate"));
        }
    };
    let inside = if attestation == UafAttestation::BasicFull {
        "TAG_ATTESTATION_BASIC_FULL"
    } else {
        "TAG_ATTESTATION_BASIC_SURROGATE"
    };
    let items = tlv::parse_all(att.value, inside)?;
    let mut certs = Vec::new();
    for t in &items {
        match (t.tag, attestation) {
            (tlv::TAG_SIGNATURE, _) => {}
            (tlv::TAG_ATTESTATION_CERT, UafAttestation::BasicFull) => {
                if certs.len() == MAX_CERTS {
                    return Err(bad(
                        "ATTESTATION_CERT",
                        format!("more than {MAX_CERTS} certificates"),
                    ));
                }
                certs.push(t.value);
            }
            (tag, _) => return Err(TlvError::UnexpectedTag { tag, inside }.into()),
        }
    }
    let signature = tlv::required(&items, tlv::TAG_SIGNATURE, "TAG_SIGNATURE", inside)?.value;
    if signature.is_empty() {
        return Err(bad("SIGNATURE", "is empty"));
    }
    if attestation == UafAttestation::BasicFull && certs.is_empty() {
        return Err(TlvError::Missing {
            tag: "TAG_ATTESTATION_CERT",
            inside,
        }
        .into());
    }
    Ok(RegAssertion {
        krd,
        attestation,
        signature,
        certs,
    })
}

fn parse_krd(krd: Tlv<'_>) -> Result<Krd<'_>, AssertionError> {
    const KRD: &str = "TAG_UAFV1_KRD";
    let items = tlv::parse_all(krd.value, KRD)?;
    for t in &items {
        match t.tag {
            tlv::TAG_AAID
            | tlv::TAG_ASSERTION_INFO
            | tlv::TAG_FINAL_CHALLENGE_HASH
            | tlv::TAG_KEYID
            | tlv::TAG_COUNTERS
            | tlv::TAG_PUB_KEY
            | tlv::TAG_EXTENSION_NON_CRITICAL => {}
            // Registry tags that belong to other structures but that some
            // clients include; they are signed with the KRD and ignored.
            tlv::TAG_AUTHENTICATOR_NONCE | tlv::TAG_TRANSACTION_CONTENT_HASH => {}
            tlv::TAG_EXTENSION => {
                return Err(AssertionError::Unsupported(
                    "a critical extension is not supported".to_owned(),
                ));
            }
            tag => return Err(TlvError::UnexpectedTag { tag, inside: KRD }.into()),
        }
    }
    let aaid_raw = tlv::required(&items, tlv::TAG_AAID, "TAG_AAID", KRD)?.value;
    let aaid = std::str::from_utf8(aaid_raw).map_err(|_| bad("AAID", "is not ASCII"))?;
    // The registry asks for hex digits; deployed authenticators use letters
    // too (seed 000's "BATS#0001"), so any alphanumerics are accepted.
    let valid_aaid = aaid.len() == 9
        && aaid.bytes().enumerate().all(|(i, b)| {
            if i == 4 {
                b == b'#'
            } else {
                b.is_ascii_alphanumeric()
            }
        });
    if !valid_aaid {
        return Err(bad(
            "AAID",
            format!("{aaid:?} is not of the form VVVV#MMMM"),
        ));
    }
    let info = tlv::required(&items, tlv::TAG_ASSERTION_INFO, "TAG_ASSERTION_INFO", KRD)?.value;
    let mut c = Cursor::new(info);
    let authenticator_version = c
        .u16_le("ASSERTION_INFO.AuthenticatorVersion")
        .map_err(TlvError::from)?;
    let mode = c
        .u8("ASSERTION_INFO.AuthenticationMode")
        .map_err(TlvError::from)?;
    let sign_alg_raw = c
        .u16_le("ASSERTION_INFO.SignatureAlgAndEncoding")
        .map_err(TlvError::from)?;
    let key_enc_raw = c
        .u16_le("ASSERTION_INFO.PublicKeyAlgAndEncoding")
        .map_err(TlvError::from)?;
    c.finish("ASSERTION_INFO").map_err(TlvError::from)?;
    if mode != 0x01 {
        return Err(bad(
            "ASSERTION_INFO.AuthenticationMode",
            format!("is {mode}, registration requires 1"),
        ));
    }
    let sign_alg = SignAlg::from_u16(sign_alg_raw).ok_or_else(|| {
        AssertionError::Unsupported(format!(
            "signature algorithm {sign_alg_raw:#06x} is not supported"
        ))
    })?;
    let key_encoding = KeyEncoding::from_u16(key_enc_raw).ok_or_else(|| {
        AssertionError::Unsupported(format!(
            "public key encoding {key_enc_raw:#06x} is not supported"
        ))
    })?;
    let final_challenge_hash = tlv::required(
        &items,
        tlv::TAG_FINAL_CHALLENGE_HASH,
        "TAG_FINAL_CHALLENGE_HASH",
        KRD,
    )?
    .value;
    if final_challenge_hash.len() != 32 {
        return Err(TlvError::Length {
            tag: "TAG_FINAL_CHALLENGE_HASH",
            len: final_challenge_hash.len(),
            expected: "must be 32 (SHA-256)",
        }
        .into());
    }
    let key_id = tlv::required(&items, tlv::TAG_KEYID, "TAG_KEYID", KRD)?.value;
    if key_id.is_empty() || key_id.len() > 2048 {
        return Err(TlvError::Length {
            tag: "TAG_KEYID",
            len: key_id.len(),
            expected: "must be 1 to 2048",
        }
        .into());
    }
    let counters = tlv::required(&items, tlv::TAG_COUNTERS, "TAG_COUNTERS", KRD)?.value;
    let mut c = Cursor::new(counters);
    let sign_counter = c.u32_le("COUNTERS.SignCounter").map_err(TlvError::from)?;
    let reg_counter = c.u32_le("COUNTERS.RegCounter").map_err(TlvError::from)?;
    c.finish("TAG_COUNTERS").map_err(TlvError::from)?;
    let public_key = tlv::required(&items, tlv::TAG_PUB_KEY, "TAG_PUB_KEY", KRD)?.value;
    Ok(Krd {
        raw: krd.raw,
        aaid: aaid.to_ascii_uppercase(),
        authenticator_version,
        sign_alg,
        key_encoding,
        final_challenge_hash,
        key_id,
        sign_counter,
        reg_counter,
        public_key,
    })
}

/// Verifies one decoded registration assertion.
pub fn verify_assertion(
    bytes: &[u8],
    final_challenge_hash: Option<&[u8; 32]>,
    policy: &RegistrationPolicy,
    anchors: &TrustAnchors,
    time: UnixTime,
    require_trusted: bool,
) -> Result<UafRegistration, AssertionError> {
    let a = parse_reg_assertion(bytes)?;
    let krd = &a.krd;
    // The AAID is one the policy accepts.
    if !policy.accepts(&krd.aaid) {
        return Err(AssertionError::Aaid(krd.aaid.clone()));
    }
    // FINAL_CHALLENGE_HASH is the hash of the fcParams string.
    if let Some(expected) = final_challenge_hash
        && !constant_time_eq(krd.final_challenge_hash, expected)
    {
        return Err(AssertionError::FinalChallengeHash);
    }
    let new_key = krd.key_encoding.decode(krd.public_key, krd.sign_alg)?;
    let (trusted, attest_cert) = match a.attestation {
        UafAttestation::BasicFull => {
            let chain = a
                .certs
                .iter()
                .enumerate()
                .map(|(i, der)| Cert::parse(der, i))
                .collect::<Result<Vec<_>, _>>()
                .map_err(AssertionError::Trust)?;
            let leaf = chain
                .first()
                .ok_or_else(|| bad("ATTESTATION_CERT", "missing"))?;
            let key = leaf
                .public_key()
                .map_err(|e| bad("ATTESTATION_CERT", e.to_string()))?;
            // The signature over the KRD (tag, length, value) with the
            // attestation certificate's key.
            krd.sign_alg
                .verify(&key, krd.raw, a.signature)
                .map_err(|e| AssertionError::Signature {
                    attestation: "basic_full",
                    reason: e.to_string(),
                })?;
            // The chain, at the verification time, against the AAID's anchors.
            let scoped: Vec<_> = anchors.for_scope(&krd.aaid).collect();
            let trusted = if scoped.is_empty() {
                false
            } else {
                verify_chain_cached(&chain, &scoped, time, &krd.aaid, anchors.signature_cache())
                    .map_err(AssertionError::Trust)?;
                true
            };
            (trusted, a.certs.first().map(|c| c.to_vec()))
        }
        UafAttestation::BasicSurrogate => {
            // Signed with the new key itself.
            krd.sign_alg
                .verify(&new_key, krd.raw, a.signature)
                .map_err(|e| AssertionError::Signature {
                    attestation: "basic_surrogate",
                    reason: e.to_string(),
                })?;
            (false, None)
        }
    };
    if require_trusted && !trusted {
        return Err(AssertionError::Untrusted {
            aaid: krd.aaid.clone(),
            attestation: a.attestation.as_str(),
        });
    }
    Ok(UafRegistration {
        aaid: krd.aaid.clone(),
        key_id: krd.key_id.to_vec(),
        public_key: krd.public_key.to_vec(),
        public_key_encoding: krd.key_encoding,
        sign_alg: krd.sign_alg,
        sign_counter: krd.sign_counter,
        reg_counter: krd.reg_counter,
        authenticator_version: krd.authenticator_version,
        upv: (1, 0),
        attestation: a.attestation,
        trusted,
        attest_cert,
        attest_data_to_sign: krd.raw.to_vec(),
        attest_signature: a.signature.to_vec(),
    })
}
