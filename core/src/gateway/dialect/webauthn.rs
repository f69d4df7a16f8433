//! The FIDO2 conformance server API (`webauthn`) and the cloud
//! authenticator (`nevis`), which posts the same PublicKeyCredential.

use super::{Failure, OptionsRequest, Registration, Verified, Verifier, malformed};
use crate::b64;
use crate::gateway::token::{CredentialClaim, FlagsClaim};
use crate::time::UnixTime;
use crate::webauthn::client_data::ClientData;
use crate::webauthn::{
    CoseAlgorithm, RegistrationCredential, VerifiedRegistration, verify_registration,
};
use serde_json::{Value, json};

/// Attestation conveyance values the options accept.
const CONVEYANCE: [&str; 4] = ["none", "indirect", "direct", "enterprise"];

pub(in crate::gateway) fn parse(body: &[u8]) -> Result<(Vec<u8>, Registration), Failure> {
    let credential =
        RegistrationCredential::from_json(body).map_err(|e| malformed(e.to_string()))?;
    let client_data = ClientData::parse(&credential.client_data_json)
        .map_err(|e| (e.class(), format!("clientDataJSON: {e}")))?;
    Ok((
        client_data.challenge,
        Registration::Webauthn(Box::new(credential)),
    ))
}

/// Verifies one WebAuthn credential and describes it for the header.
pub(in crate::gateway) fn verify(
    credential: &RegistrationCredential,
    challenge: &[u8],
    verifier: &Verifier,
    now: UnixTime,
) -> Result<CredentialClaim, Failure> {
    let v = verify_registration(
        credential,
        challenge,
        &verifier.rp,
        &verifier.anchors,
        &verifier.policy,
        now,
    )
    .map_err(|e| (e.class(), e.to_string()))?;
    Ok(claim(&v))
}

pub(in crate::gateway) fn verify_all(
    registration: &Registration,
    challenge: &[u8],
    verifier: &Verifier,
    now: UnixTime,
) -> Result<Verified, Failure> {
    match registration {
        Registration::Webauthn(c) => Ok(vec![verify(c, challenge, verifier, now)?]),
        _ => Err(malformed("not a WebAuthn registration")),
    }
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
    }
}

/// The pieces of PublicKeyCredentialCreationOptions both WebAuthn-based
/// dialects answer with.
pub(in crate::gateway) struct Issued<'a> {
    pub challenge: &'a str,
    pub user_handle: &'a [u8],
    pub username: &'a str,
}

/// `ServerPublicKeyCredentialCreationOptionsResponse` (FIDO2 conformance
/// server API §7.3.1).
pub(in crate::gateway) fn options_answer(
    req: &OptionsRequest,
    issued: &Issued<'_>,
    verifier: &Verifier,
) -> Result<Value, Failure> {
    let attestation = match req.body.get("attestation") {
        None | Some(Value::Null) => verifier.attestation.clone(),
        Some(Value::String(a)) if CONVEYANCE.contains(&a.as_str()) => a.clone(),
        Some(_) => {
            return Err(malformed(
                "attestation must be none, indirect, direct or enterprise",
            ));
        }
    };
    let mut selection = match req.body.get("authenticatorSelection") {
        None | Some(Value::Null) => json!({}),
        Some(Value::Object(o)) => Value::Object(o.clone()),
        Some(_) => return Err(malformed("authenticatorSelection must be an object")),
    };
    if let Some(obj) = selection.as_object_mut() {
        obj.entry("userVerification")
            .or_insert_with(|| json!(verifier.policy.user_verification.as_str()));
    }
    let extensions = match req.body.get("extensions") {
        None | Some(Value::Null) => json!({}),
        Some(Value::Object(o)) => Value::Object(o.clone()),
        Some(_) => return Err(malformed("extensions must be an object")),
    };
    let params: Vec<Value> = verifier
        .rp
        .algorithms
        .iter()
        .map(|a| json!({"type": "public-key", "alg": a.id()}))
        .collect();
    Ok(json!({
        "status": "ok",
        "errorMessage": "",
        "rp": { "id": verifier.rp.rp_id, "name": verifier.rp_name },
        "user": {
            "id": b64::encode(issued.user_handle),
            "name": issued.username,
            "displayName": req.display_name.as_deref().unwrap_or(issued.username),
        },
        "challenge": issued.challenge,
        "pubKeyCredParams": params,
        "timeout": verifier.timeout_ms,
        "excludeCredentials": [],
        "authenticatorSelection": selection,
        "attestation": attestation,
        "extensions": extensions,
    }))
}
