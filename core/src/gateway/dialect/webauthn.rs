//! The FIDO2 conformance server API (`webauthn`): the options the gateway
//! issues, and the PublicKeyCredential a browser posts.

use super::{Check, OptionsRequest, Registration, Rules, Verifier};
use crate::b64;
use crate::gateway::error::{CredentialRole, GatewayError, RequestError};
use crate::gateway::token::{CredentialClaim, FlagsClaim};
use crate::webauthn::client_data::ClientData;
use crate::webauthn::{
    CoseAlgorithm, RegistrationCredential, RelyingParty, VerifiedRegistration, WebauthnError,
    verify_registration,
};
use http::StatusCode;
use serde_json::{Value, json};

/// Attestation conveyance values the options accept.
const CONVEYANCE: [&str; 4] = ["none", "indirect", "direct", "enterprise"];

/// The FIDO2 conformance server API.
#[derive(Debug)]
pub(in crate::gateway) struct Webauthn;

impl Rules for Webauthn {
    fn options_path(&self) -> &'static str {
        "/attestation/options"
    }

    fn result_path(&self) -> &'static str {
        "/attestation/result"
    }

    fn error_body(&self, _status: StatusCode, _reason: &str, message: &str) -> Value {
        // ServerResponse.
        json!({ "status": "failed", "errorMessage": message })
    }
}

/// The gateway-issued options of the WebAuthn-based dialects.
pub(in crate::gateway) fn issue(
    req: &OptionsRequest,
    username: &str,
    challenge: &[u8],
    verifier: &Verifier,
    rp: &RelyingParty,
) -> Result<Value, GatewayError> {
    let handle = verifier.user_handle(username);
    Ok(options_answer(
        req,
        &b64::encode(challenge),
        &handle,
        username,
        verifier,
        rp,
    )?)
}

/// A posted PublicKeyCredential with the challenge its clientDataJSON
/// names.
#[derive(Debug)]
pub(in crate::gateway) struct WebauthnRegistration {
    credential: RegistrationCredential,
    challenge: Vec<u8>,
}

pub(in crate::gateway) fn parse(body: &[u8]) -> Result<WebauthnRegistration, GatewayError> {
    let credential = RegistrationCredential::from_json(body).map_err(WebauthnError::from)?;
    let challenge = ClientData::parse(&credential.client_data_json)
        .map_err(WebauthnError::from)?
        .challenge;
    Ok(WebauthnRegistration {
        credential,
        challenge,
    })
}

impl Registration for WebauthnRegistration {
    fn challenge(&self) -> &[u8] {
        &self.challenge
    }

    fn verify(&self, check: &Check<'_>) -> Result<Vec<CredentialClaim>, GatewayError> {
        Ok(vec![
            verify(&self.credential, &self.challenge, check).map_err(|e| e.in_role(None))?,
        ])
    }
}

/// Why a WebAuthn credential was refused: its verification, or metadata.
#[derive(Debug)]
pub(in crate::gateway) enum Fido2Error {
    Webauthn(WebauthnError),
    Metadata(crate::metadata::MetadataError),
}

impl From<WebauthnError> for Fido2Error {
    fn from(e: WebauthnError) -> Self {
        Self::Webauthn(e)
    }
}

impl Fido2Error {
    /// The gateway's error, for the credential in `role`.
    pub(in crate::gateway) fn in_role(self, role: Option<CredentialRole>) -> GatewayError {
        match self {
            Self::Webauthn(error) => GatewayError::Webauthn { role, error },
            Self::Metadata(error) => GatewayError::Metadata { role, error },
        }
    }
}

/// Verifies one WebAuthn credential and describes it for the header,
/// with what metadata says of its authenticator when there is metadata.
pub(in crate::gateway) fn verify(
    credential: &RegistrationCredential,
    challenge: &[u8],
    check: &Check<'_>,
) -> Result<CredentialClaim, Fido2Error> {
    let v = check.verifier;
    // With metadata, trust is decided after its statement's roots.
    let policy = if check.metadata.is_some() {
        &v.policy_before_metadata
    } else {
        &v.policy
    };
    let verified = verify_registration(
        credential, challenge, check.rp, &v.anchors, policy, check.now,
    )?;
    let mut claim = claim(&verified);
    if let Some(m) = check.metadata {
        let verdict = m
            .check_webauthn_under(check.metadata_policy, &verified, check.now)
            .map_err(Fido2Error::Metadata)?;
        if let Some(verdict) = verdict {
            claim.trusted |= verdict.trusted;
            claim.metadata = Some((&verdict).into());
        }
        if !v.policy.accept_untrusted && !claim.trusted {
            return Err(WebauthnError::Untrusted {
                fmt: verified.fmt.id(),
                attestation_type: verified.attestation_type.as_str(),
            }
            .into());
        }
    }
    Ok(claim)
}

fn claim(v: &VerifiedRegistration) -> CredentialClaim {
    CredentialClaim {
        role: None,
        kind: None,
        protocol: "webauthn".to_owned(),
        id: b64::encode(&v.credential_id),
        public_key: b64::encode(&v.public_key),
        public_key_format: "cose".to_owned(),
        alg: CoseAlgorithm::from_id(v.alg)
            .map_or_else(|| v.alg.to_string(), |a| a.jose_name().to_owned()),
        cose_alg: Some(v.alg),
        aaguid: Some(v.aaguid_string()),
        aaid: None,
        fmt: v.fmt.id().to_owned(),
        attestation_type: v.attestation_type.as_str().to_owned(),
        trusted: v.trusted,
        sign_count: v.sign_count,
        flags: Some(FlagsClaim {
            up: v.flags.up(),
            uv: v.flags.uv(),
            be: v.flags.be(),
            bs: v.flags.bs(),
        }),
        transports: v.transports.clone(),
        metadata: None,
    }
}

/// `ServerPublicKeyCredentialCreationOptionsResponse` (FIDO2 conformance
/// server API §7.3.1).
fn options_answer(
    req: &OptionsRequest,
    challenge: &str,
    user_handle: &[u8],
    username: &str,
    verifier: &Verifier,
    rp: &RelyingParty,
) -> Result<Value, RequestError> {
    let attestation = match req.body.get("attestation") {
        None | Some(Value::Null) => verifier.attestation.clone(),
        Some(Value::String(a)) if CONVEYANCE.contains(&a.as_str()) => a.clone(),
        Some(_) => {
            return Err(RequestError::invalid(
                "attestation",
                "none, indirect, direct or enterprise",
            ));
        }
    };
    let mut selection = match req.body.get("authenticatorSelection") {
        None | Some(Value::Null) => json!({}),
        Some(Value::Object(o)) => Value::Object(o.clone()),
        Some(_) => {
            return Err(RequestError::invalid("authenticatorSelection", "an object"));
        }
    };
    if let Some(obj) = selection.as_object_mut() {
        obj.entry("userVerification")
            .or_insert_with(|| json!(verifier.policy.user_verification.as_str()));
    }
    let extensions = match req.body.get("extensions") {
        None | Some(Value::Null) => json!({}),
        Some(Value::Object(o)) => Value::Object(o.clone()),
        Some(_) => return Err(RequestError::invalid("extensions", "an object")),
    };
    let params: Vec<Value> = rp
        .algorithms
        .iter()
        .map(|a| json!({"type": "public-key", "alg": a.id()}))
        .collect();
    Ok(json!({
        "status": "ok",
        "errorMessage": "",
        "rp": { "id": verifier.rp.rp_id, "name": verifier.rp_name },
        "user": {
            "id": b64::encode(user_handle),
            "name": username,
            "displayName": req.display_name.as_deref().unwrap_or(username),
        },
        "challenge": challenge,
        "pubKeyCredParams": params,
        "timeout": verifier.timeout_ms,
        "excludeCredentials": [],
        "authenticatorSelection": selection,
        "attestation": attestation,
        "extensions": extensions,
    }))
}
