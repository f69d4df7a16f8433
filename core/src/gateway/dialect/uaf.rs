//! FIDO UAF `/regRequest` and `/regResponse` in the UAF server's
//! `{"code":…,"message":…}` envelope.

use super::{Failure, Registration, Verified, Verifier, malformed};
use crate::b64;
use crate::gateway::token::CredentialClaim;
use crate::time::UnixTime;
use crate::uaf::{
    RegistrationRequest, ServerDataCheck, UafExpectations, claimed_challenge,
    verify_registration_response,
};
use serde_json::Value;

pub(in crate::gateway) fn parse(body: &[u8]) -> Result<(Vec<u8>, Registration), Failure> {
    let body: Value = serde_json::from_slice(body)
        .map_err(|e| malformed(format!("the request body is not JSON: {e}")))?;
    let challenge = claimed_challenge(&body).map_err(|e| (e.class(), e.to_string()))?;
    Ok((
        challenge.as_bytes().to_vec(),
        Registration::Uaf { body, challenge },
    ))
}

pub(in crate::gateway) fn verify_all(
    registration: &Registration,
    username: Option<&str>,
    check_server_data: bool,
    verifier: &Verifier,
    now: UnixTime,
) -> Result<Verified, Failure> {
    let Registration::Uaf { body, challenge } = registration else {
        return Err(malformed("not a UAF registration"));
    };
    let expected = UafExpectations {
        app_id: verifier.uaf_app_id.clone(),
        challenge: challenge.clone(),
        trusted_facets: verifier.uaf_trusted_facets.clone(),
        policy: verifier.uaf_policy.clone(),
        require_trusted: verifier.uaf_require_trusted,
    };
    let server_data = if check_server_data {
        ServerDataCheck::Verify {
            key: &verifier.server_data_key,
            username,
        }
    } else {
        ServerDataCheck::Skip
    };
    let registrations =
        verify_registration_response(body, &expected, server_data, &verifier.anchors, now)
            .map_err(|e| (e.class(), e.to_string()))?;
    Ok(registrations
        .iter()
        .map(|r| CredentialClaim {
            role: None,
            kind: None,
            protocol: "uaf".to_owned(),
            id: b64::encode(&r.key_id),
            public_key: b64::encode(&r.public_key),
            public_key_format: r.public_key_encoding.name().to_owned(),
            alg: r.sign_alg.name().to_owned(),
            cose_alg: None,
            aaguid: None,
            aaid: Some(r.aaid.clone()),
            fmt: "uaf".to_owned(),
            attestation_type: r.attestation.as_str().to_owned(),
            trusted: r.trusted,
            sign_count: r.sign_counter,
            flags: None,
            transports: Vec::new(),
        })
        .collect())
}

/// The gateway's `/regRequest` answer.
pub(in crate::gateway) fn options_answer(
    challenge: &str,
    username: &str,
    expiry: UnixTime,
    verifier: &Verifier,
) -> Result<Value, Failure> {
    let server_data = verifier
        .server_data_key
        .issue(challenge, username, expiry)
        .map_err(malformed)?;
    Ok(RegistrationRequest {
        upv: (1, 0),
        app_id: verifier.uaf_app_id.clone(),
        server_data,
        challenge: challenge.to_owned(),
        username: username.to_owned(),
        policy: verifier.uaf_policy.clone(),
    }
    .envelope())
}
