//! RegistrationResponse processing (UAF Protocol §3.4.6.5, server-side
//! processing of registration responses), strict throughout: the final
//! challenge hash, AppID and FacetID are checked, and an assertion whose
//! signature or chain fails is an error, never a stored record.

use super::algorithms::{KeyEncoding, SignAlg};
use super::error::{
    AssertionError, FinalChallengeError, MessageError, ServerDataError, TlvError, UafError,
};
use super::request::RegistrationPolicy;
use super::server_data::ServerDataKey;
use super::tlv::{self, Tlv};
use crate::b64;
use crate::crypto::sha256;
use crate::cursor::Cursor;
use crate::time::UnixTime;
use crate::trust::{Cert, TrustAnchors, verify_chain};
use crate::webauthn::client_data::constant_time_eq;
use serde_json::{Map, Value, json};

/// Most RegistrationResponse entries, and assertions per entry, accepted.
pub const MAX_ENTRIES: usize = 8;
/// Most attestation certificates accepted in one assertion.
pub const MAX_CERTS: usize = 8;

/// What the server expects of a registration response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UafExpectations {
    /// The AppID (`header.appID` and `fcParams.appID`).
    pub app_id: String,
    /// The challenge issued (`fcParams.challenge`), compared exactly.
    pub challenge: String,
    /// Trusted FacetIDs. Empty: only a web facet with the AppID's own
    /// https origin is trusted (FIDO AppID and Facet §3.1.2).
    pub trusted_facets: Vec<String>,
    /// Which AAIDs may register.
    pub policy: RegistrationPolicy,
    /// Reject attestations that do not chain to an anchor configured for
    /// their AAID (basic_surrogate never does).
    pub require_trusted: bool,
}

/// Whether `header.serverData` is checked here or by the caller.
#[derive(Debug, Clone, Copy)]
pub enum ServerDataCheck<'a> {
    /// The caller has checked it (or, offline, cannot).
    Skip,
    /// Verify its MAC and expiry, that it was issued for the expected
    /// challenge, and (when given) for this user.
    Verify {
        /// The MAC key.
        key: &'a ServerDataKey,
        /// The user the request was issued for.
        username: Option<&'a str>,
    },
}

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

impl UafRegistration {
    /// The registration record in the shape `/regResponse` answers with.
    pub fn record_json(&self, username: Option<&str>, time: UnixTime) -> Value {
        json!({
            "authenticator": {
                "AAID": self.aaid,
                "KeyID": b64::encode(&self.key_id),
                "deviceId": null,
                "username": username,
                "status": null,
            },
            "PublicKey": b64::encode(&self.public_key),
            "SignCounter": self.sign_counter.to_string(),
            "AuthenticatorVersion": format!("{}.{}", self.authenticator_version >> 8, self.authenticator_version & 0xff),
            "tcDisplayPNGCharacteristics": null,
            "username": username,
            "userId": null,
            "deviceId": null,
            "timeStamp": (i128::from(time.as_secs()) * 1000).to_string(),
            "status": "SUCCESS",
            "attestCert": self.attest_cert.as_deref().map(b64::encode),
            "attestDataToSign": b64::encode(&self.attest_data_to_sign),
            "attestSignature": b64::encode(&self.attest_signature),
            "attestVerifiedStatus": "VALID",
        })
    }
}

/// Verifies a `/regResponse` body: the JSON array of RegistrationResponse.
/// Returns one registration per assertion; any failure rejects the whole.
pub fn verify_registration_response(
    body: &Value,
    expected: &UafExpectations,
    server_data: ServerDataCheck<'_>,
    anchors: &TrustAnchors,
    time: UnixTime,
) -> Result<Vec<UafRegistration>, UafError> {
    let entries = bounded_array(body, "the RegistrationResponse array")?;
    let mut out = Vec::new();
    for entry in entries {
        out.extend(verify_one(entry, expected, server_data, anchors, time)?);
    }
    Ok(out)
}

/// The challenge a registration response claims to answer (the
/// `challenge` in each entry's `fcParams`), read without verifying
/// anything, so a server can look up what it issued before it calls
/// [`verify_registration_response`]. Every entry must name the same one.
pub fn claimed_challenge(body: &Value) -> Result<String, UafError> {
    let entries = bounded_array(body, "the RegistrationResponse array")?;
    let mut claimed: Option<String> = None;
    for entry in entries {
        let obj = entry.as_object().ok_or_else(|| {
            MessageError::NotJson("a RegistrationResponse is an object".to_owned())
        })?;
        let fc_params = string(obj, "fcParams")?;
        let challenge = fc_params_object(fc_params)?
            .get("challenge")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                FinalChallengeError::Malformed("challenge is missing or not a string".to_owned())
            })?
            .to_owned();
        match &claimed {
            Some(c) if *c != challenge => return Err(FinalChallengeError::Challenge.into()),
            Some(_) => {}
            None => claimed = Some(challenge),
        }
    }
    claimed.ok_or_else(|| MessageError::MissingField("fcParams").into())
}

/// `fcParams` decoded: base64url of a JSON object.
fn fc_params_object(fc_params: &str) -> Result<Map<String, Value>, FinalChallengeError> {
    let bytes = b64::decode(fc_params)
        .map_err(|_| FinalChallengeError::Malformed("not base64url".to_owned()))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(obj)) => Ok(obj),
        Ok(_) => Err(FinalChallengeError::Malformed(
            "not a JSON object".to_owned(),
        )),
        Err(e) => Err(FinalChallengeError::Malformed(format!("not JSON: {e}"))),
    }
}

/// `value` as an array of 1 to [`MAX_ENTRIES`] items.
fn bounded_array<'a>(value: &'a Value, what: &'static str) -> Result<&'a Vec<Value>, MessageError> {
    let items = value.as_array().ok_or(MessageError::BadField {
        field: what,
        reason: "must be an array".to_owned(),
    })?;
    if items.is_empty() || items.len() > MAX_ENTRIES {
        return Err(MessageError::TooMany {
            what,
            len: items.len(),
            max: MAX_ENTRIES,
        });
    }
    Ok(items)
}

fn field<'a>(obj: &'a Map<String, Value>, key: &'static str) -> Result<&'a Value, MessageError> {
    obj.get(key).ok_or(MessageError::MissingField(key))
}

fn string<'a>(obj: &'a Map<String, Value>, key: &'static str) -> Result<&'a str, MessageError> {
    field(obj, key)?.as_str().ok_or(MessageError::BadField {
        field: key,
        reason: "must be a string".to_owned(),
    })
}

fn verify_one(
    entry: &Value,
    expected: &UafExpectations,
    server_data: ServerDataCheck<'_>,
    anchors: &TrustAnchors,
    time: UnixTime,
) -> Result<Vec<UafRegistration>, UafError> {
    let obj = entry
        .as_object()
        .ok_or_else(|| MessageError::NotJson("a RegistrationResponse is an object".to_owned()))?;
    let header = field(obj, "header")?
        .as_object()
        .ok_or(MessageError::BadField {
            field: "header",
            reason: "must be an object".to_owned(),
        })?;
    // The protocol version is supported (1.0 or 1.1).
    let upv = field(header, "upv")?;
    let (major, minor) = (upv["major"].as_u64(), upv["minor"].as_u64());
    match (major, minor) {
        (Some(1), Some(0 | 1)) => {}
        (Some(major), Some(minor)) => return Err(MessageError::Version { major, minor }.into()),
        _ => {
            return Err(MessageError::BadField {
                field: "header.upv",
                reason: "needs integer major and minor".to_owned(),
            }
            .into());
        }
    }
    let op = string(header, "op")?;
    if op != "Reg" {
        return Err(MessageError::Operation(op.to_owned()).into());
    }
    let header_app_id = string(header, "appID")?;
    if header_app_id != expected.app_id {
        return Err(MessageError::HeaderAppId(header_app_id.to_owned()).into());
    }
    // serverData: issued by this server, unexpired, for this challenge and user.
    let sd = string(header, "serverData")?;
    if let ServerDataCheck::Verify { key, username } = server_data {
        let claims = key.verify(sd, time)?;
        if claims.challenge != expected.challenge {
            return Err(ServerDataError::Challenge.into());
        }
        if let Some(u) = username
            && claims.username != u
        {
            return Err(ServerDataError::Username(claims.username).into());
        }
    }
    // fcParams: appID, challenge, facetID, channelBinding.
    let fc_params = string(obj, "fcParams")?;
    check_final_challenge(fc_params, expected)?;
    let fc_hash = sha256(fc_params.as_bytes());
    let assertions = bounded_array(field(obj, "assertions")?, "assertions")?;
    assertions
        .iter()
        .enumerate()
        .map(|(index, a)| {
            verify_assertion_json(
                a,
                Some(&fc_hash),
                &expected.policy,
                anchors,
                time,
                expected.require_trusted,
            )
            .map_err(|error| UafError::Assertion { index, error })
        })
        .collect()
}

fn check_final_challenge(
    fc_params: &str,
    expected: &UafExpectations,
) -> Result<(), FinalChallengeError> {
    let obj = fc_params_object(fc_params)?;
    let text = |k: &'static str| {
        obj.get(k).and_then(Value::as_str).ok_or_else(|| {
            FinalChallengeError::Malformed(format!("{k} is missing or not a string"))
        })
    };
    let app_id = text("appID")?;
    if app_id != expected.app_id {
        return Err(FinalChallengeError::AppId(app_id.to_owned()));
    }
    if !constant_time_eq(text("challenge")?.as_bytes(), expected.challenge.as_bytes()) {
        return Err(FinalChallengeError::Challenge);
    }
    let facet = text("facetID")?;
    if !facet_trusted(facet, &expected.app_id, &expected.trusted_facets) {
        return Err(FinalChallengeError::FacetId(facet.to_owned()));
    }
    match obj.get("channelBinding") {
        Some(Value::Object(cb)) => {
            for (k, v) in cb {
                if !v.is_string() {
                    return Err(FinalChallengeError::ChannelBinding(format!(
                        "{k} must be a string"
                    )));
                }
            }
            Ok(())
        }
        Some(_) => Err(FinalChallengeError::ChannelBinding(
            "must be an object".to_owned(),
        )),
        None => Err(FinalChallengeError::ChannelBinding("is missing".to_owned())),
    }
}

/// Whether `facet` may register for `app_id`.
pub fn facet_trusted(facet: &str, app_id: &str, trusted: &[String]) -> bool {
    if !trusted.is_empty() {
        return trusted.iter().any(|t| t == facet);
    }
    match https_origin(app_id) {
        Some(origin) => facet == origin,
        None => false,
    }
}

fn https_origin(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("https://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..end)?;
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    url.get(..8 + end)
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
            let key = leaf.public_key().map_err(|e| bad("ATTESTATION_CERT", e))?;
            // The signature over the KRD (tag, length, value) with the
            // attestation certificate's key.
            krd.sign_alg
                .verify(&key, krd.raw, a.signature)
                .map_err(|reason| AssertionError::Signature {
                    attestation: "basic_full",
                    reason,
                })?;
            // The chain, at the verification time, against the AAID's anchors.
            let scoped: Vec<_> = anchors.for_scope(&krd.aaid).collect();
            let trusted = if scoped.is_empty() {
                false
            } else {
                verify_chain(&chain, &scoped, time, &krd.aaid).map_err(AssertionError::Trust)?;
                true
            };
            (trusted, a.certs.first().map(|c| c.to_vec()))
        }
        UafAttestation::BasicSurrogate => {
            // Signed with the new key itself.
            krd.sign_alg
                .verify(&new_key, krd.raw, a.signature)
                .map_err(|reason| AssertionError::Signature {
                    attestation: "basic_surrogate",
                    reason,
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
        attestation: a.attestation,
        trusted,
        attest_cert,
        attest_data_to_sign: krd.raw.to_vec(),
        attest_signature: a.signature.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facets_default_to_the_app_id_origin() {
        let app = "https://example.com:8443/uaf/facets";
        assert!(facet_trusted("https://example.com:8443", app, &[]));
        assert!(!facet_trusted("https://example.com", app, &[]));
        assert!(!facet_trusted("android:apk-key-hash:abc", app, &[]));
        assert!(facet_trusted(
            "android:apk-key-hash:abc",
            app,
            &["android:apk-key-hash:abc".to_owned()]
        ));
        assert!(!facet_trusted(
            "https://example.com:8443",
            "http://example.com:8443/x",
            &[]
        ));
    }
}
