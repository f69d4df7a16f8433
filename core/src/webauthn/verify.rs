//! Registration verification in the order of W3C WebAuthn Level 3 §7.1
//! <https://www.w3.org/TR/webauthn-3/#sctn-registering-a-new-credential>.

use super::attestation::{self, AttestationType, Ctx, Format, Outcome, TrustPath};
use super::auth_data::{AuthenticatorData, Flags};
use super::client_data::ClientData;
use super::cose::CoseKey;
use super::credential::RegistrationCredential;
use super::error::{AuthDataError, CoseError, WebauthnError};
use super::policy::{Policy, RelyingParty, UserVerification};
use crate::cbor::{self, Map};
use crate::crypto::sha256;
use crate::time::UnixTime;
use crate::trust::{Cert, TrustAnchors, TrustError, verify_chain_cached};
use ciborium::value::Value;

/// A verified registration: what the relying party stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedRegistration {
    /// The credential ID.
    pub credential_id: Vec<u8>,
    /// The credential public key as the authenticator encoded it (COSE_Key).
    pub public_key: Vec<u8>,
    /// The key's COSE algorithm.
    pub alg: i64,
    /// The signature counter.
    pub sign_count: u32,
    /// The authenticator model's AAGUID.
    pub aaguid: [u8; 16],
    /// The attestation format.
    pub fmt: Format,
    /// The attestation type.
    pub attestation_type: AttestationType,
    /// Whether the attestation chains to a configured trust anchor.
    pub trusted: bool,
    /// The subject of the anchor reached, when trusted.
    pub trust_anchor: Option<String>,
    /// The attestation certificate chain (leaf first), DER.
    pub x5c: Vec<Vec<u8>>,
    /// Authenticator data flags.
    pub flags: Flags,
    /// `response.transports`.
    pub transports: Vec<String>,
    /// Authenticator extension outputs, as JSON.
    pub authenticator_extensions: Option<serde_json::Value>,
    /// Client extension results.
    pub client_extension_results: serde_json::Map<String, serde_json::Value>,
}

impl VerifiedRegistration {
    /// The AAGUID as a UUID string.
    pub fn aaguid_string(&self) -> String {
        format_uuid(&self.aaguid)
    }
}

/// Formats 16 bytes as a lower-case UUID.
pub fn format_uuid(b: &[u8; 16]) -> String {
    // One allocation: this runs for every registration's claims.
    let mut s = String::with_capacity(36);
    for (i, x) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        // A nibble is always a hex digit: `from_digit` never fails here.
        for nibble in [x >> 4, x & 0x0f] {
            s.extend(char::from_digit(u32::from(nibble), 16));
        }
    }
    s
}

/// Verifies a registration credential against the challenge issued for it.
///
/// `time` is the instant certificates and timestamps are judged at.
/// Registering the credential (and refusing a credential ID that is already
/// registered, §7.1 step 26) is the relying party's job.
pub fn verify_registration(
    credential: &RegistrationCredential,
    challenge: &[u8],
    rp: &RelyingParty,
    anchors: &TrustAnchors,
    policy: &Policy,
    time: UnixTime,
) -> Result<VerifiedRegistration, WebauthnError> {
    // Steps 1 to 4 (options, create(), response type, client extension
    // results) happened in the browser and when the JSON was parsed.
    // Steps 5 and 6: clientDataJSON decoded and parsed.
    let client_data = ClientData::parse(&credential.client_data_json)?;
    verify_with_client_data(
        credential,
        &client_data,
        challenge,
        rp,
        anchors,
        policy,
        time,
    )
}

/// [`verify_registration`] for a caller that has parsed the credential's
/// `clientDataJSON` already (the gateway reads the challenge from it to
/// find the challenge's context): `client_data` must be
/// `ClientData::parse(&credential.client_data_json)`, which the caller
/// keeps together with the credential it came from.
pub(crate) fn verify_with_client_data(
    credential: &RegistrationCredential,
    client_data: &ClientData,
    challenge: &[u8],
    rp: &RelyingParty,
    anchors: &TrustAnchors,
    policy: &Policy,
    time: UnixTime,
) -> Result<VerifiedRegistration, WebauthnError> {
    // Steps 7 to 11: clientDataJSON's members.
    client_data.check("webauthn.create", challenge, &rp.origins, &rp.top_origins)?;
    // Step 12: hash the clientDataJSON bytes as received.
    let client_data_hash = sha256(&credential.client_data_json);
    // Step 13: decode the attestation object.
    let object = decode_attestation_object(&credential.attestation_object)?;
    let auth_data = AuthenticatorData::parse(&object.auth_data)?;
    // Step 14: rpIdHash.
    if auth_data.rp_id_hash != sha256(rp.rp_id.as_bytes()) {
        return Err(AuthDataError::RpIdHash(rp.rp_id.clone()).into());
    }
    // Step 15: user present.
    if policy.require_user_presence && !auth_data.flags.up() {
        return Err(AuthDataError::UserNotPresent.into());
    }
    // Step 16: user verified, when required.
    if policy.user_verification == UserVerification::Required && !auth_data.flags.uv() {
        return Err(AuthDataError::UserNotVerified.into());
    }
    // Step 17: BS only with BE. (Steps 18 and 19 are the RP's use of them.)
    if auth_data.flags.bs() && !auth_data.flags.be() {
        return Err(AuthDataError::BackupState.into());
    }
    let attested = auth_data
        .attested
        .as_ref()
        .ok_or(AuthDataError::NoAttestedCredential)?;
    // The credential ID is the one the client reported as rawId.
    if attested.credential_id != credential.raw_id.as_slice() {
        return Err(AuthDataError::CredentialIdMismatch.into());
    }
    // Step 20: the credential key's alg is an allowed one.
    let key = CoseKey::from_value(&attested.public_key)?;
    if !rp.algorithms.contains(&key.alg) {
        return Err(CoseError::AlgNotAllowed(key.alg.id()).into());
    }
    // The key must be usable: an EC point off its curve would be stored
    // by the app and could never verify an assertion (most formats never
    // use the credential key while registering).
    crate::crypto::check_public_key(&key.key).map_err(CoseError::Key)?;
    // Step 21: the attestation format.
    let fmt = Format::from_id(&object.fmt)
        .ok_or_else(|| WebauthnError::UnsupportedFormat(object.fmt.clone()))?;
    // Step 22: the format's verification procedure.
    let ctx = Ctx {
        auth_data: &auth_data,
        attested,
        credential: &key,
        client_data_hash: &client_data_hash,
        policy,
        time,
    };
    let outcome = attestation::verify(fmt, &object.att_stmt, &ctx).map_err(|error| {
        WebauthnError::Statement {
            fmt: fmt.id(),
            error,
        }
    })?;
    // Steps 23 and 24: trust anchors for the format, and the trust path.
    let (trusted, trust_anchor) = assess_trust(fmt, &outcome, anchors, time)?;
    if !trusted && !policy.accept_untrusted {
        return Err(WebauthnError::Untrusted {
            fmt: fmt.id(),
            attestation_type: outcome.attestation_type.as_str(),
        });
    }
    // Step 25: credential ID length (bounded while parsing authData too).
    if attested.credential_id.len() > super::auth_data::MAX_CREDENTIAL_ID_LEN {
        return Err(AuthDataError::CredentialIdTooLong(attested.credential_id.len()).into());
    }
    // Step 28: extension outputs are reported for the RP to process.
    let x5c = std::iter::once(&outcome)
        .chain(outcome.sub.iter().map(|(_, o)| o))
        .find(|o| !o.trust_path.is_empty())
        .map(|o| o.trust_path.to_der())
        .unwrap_or_default();
    Ok(VerifiedRegistration {
        credential_id: attested.credential_id.to_vec(),
        public_key: attested.public_key_raw.to_vec(),
        alg: key.alg.id(),
        sign_count: auth_data.sign_count,
        aaguid: attested.aaguid,
        fmt,
        attestation_type: outcome.attestation_type,
        trusted,
        trust_anchor,
        x5c,
        flags: auth_data.flags,
        transports: credential.transports.clone(),
        authenticator_extensions: auth_data.extensions.as_ref().map(cbor::to_json),
        client_extension_results: credential.client_extension_results.clone(),
    })
}

/// The decoded attestation object.
#[derive(Debug)]
struct AttestationObject {
    fmt: String,
    att_stmt: Value,
    auth_data: Vec<u8>,
}

/// Step 13: `{fmt: text, attStmt: map or array, authData: bytes}`, each
/// exactly once and nothing else.
fn decode_attestation_object(bytes: &[u8]) -> Result<AttestationObject, WebauthnError> {
    let value =
        cbor::decode_exact(bytes, "attestationObject").map_err(WebauthnError::AttestationObject)?;
    Map::new(&value, "attestationObject").map_err(WebauthnError::AttestationObject)?;
    let Value::Map(entries) = value else {
        return Err(WebauthnError::AttestationObject(
            cbor::CborError::WrongType {
                what: "attestationObject",
                expected: "a map",
            },
        ));
    };
    let (mut fmt, mut att_stmt, mut auth_data) = (None, None, None);
    for (k, v) in entries {
        match (k.as_text(), v) {
            (Some("fmt"), Value::Text(t)) => fmt = Some(t),
            (Some("attStmt"), v @ (Value::Map(_) | Value::Array(_))) => att_stmt = Some(v),
            (Some("authData"), Value::Bytes(b)) => auth_data = Some(b),
            (Some(name @ ("fmt" | "attStmt" | "authData")), _) => {
                return Err(WebauthnError::AttestationObject(
                    cbor::CborError::WrongType {
                        what: match name {
                            "fmt" => "attestationObject.fmt",
                            "attStmt" => "attestationObject.attStmt",
                            _ => "attestationObject.authData",
                        },
                        expected: match name {
                            "fmt" => "a text string",
                            "attStmt" => "a map",
                            _ => "a byte string",
                        },
                    },
                ));
            }
            _ => {
                return Err(WebauthnError::AttestationObject(cbor::CborError::Invalid {
                    what: "attestationObject",
                    reason: "unexpected member (only fmt, attStmt and authData are allowed)"
                        .to_owned(),
                }));
            }
        }
    }
    let missing = |what| WebauthnError::AttestationObject(cbor::CborError::Missing { what });
    Ok(AttestationObject {
        fmt: fmt.ok_or_else(|| missing("attestationObject.fmt"))?,
        att_stmt: att_stmt.ok_or_else(|| missing("attestationObject.attStmt"))?,
        auth_data: auth_data.ok_or_else(|| missing("attestationObject.authData"))?,
    })
}

/// Steps 23 and 24: a trust path is trusted when it chains to an anchor
/// configured for its format; a format with anchors must chain to one.
fn assess_trust(
    fmt: Format,
    outcome: &Outcome<'_>,
    anchors: &TrustAnchors,
    time: UnixTime,
) -> Result<(bool, Option<String>), WebauthnError> {
    if fmt == Format::Compound {
        // Every sub-statement is assessed; the registration is trusted when
        // any of them is (each attests the same credential).
        let mut result = (false, None);
        for (sub_fmt, sub) in &outcome.sub {
            let r = assess_trust(*sub_fmt, sub, anchors, time)?;
            if r.0 && !result.0 {
                result = r;
            }
        }
        return Ok(result);
    }
    if outcome.trust_path.is_empty() {
        return Ok((false, None));
    }
    let scoped: Vec<_> = anchors.for_scope(fmt.id()).collect();
    if scoped.is_empty() {
        return Ok((false, None));
    }
    let trust_err = |error: TrustError| WebauthnError::Trust {
        fmt: fmt.id(),
        error,
    };
    let reparsed;
    let chain: &[Cert<'_>] = match &outcome.trust_path {
        TrustPath::Parsed(certs) => certs,
        TrustPath::Der(ders) => {
            reparsed = ders
                .iter()
                .enumerate()
                .map(|(i, der)| Cert::parse(der, i))
                .collect::<Result<Vec<_>, _>>()
                .map_err(trust_err)?;
            &reparsed
        }
    };
    let anchor = verify_chain_cached(chain, &scoped, time, fmt.id(), anchors.signature_cache())
        .map_err(trust_err)?;
    Ok((true, Some(anchor.name().to_owned())))
}

#[cfg(test)]
mod tests;
