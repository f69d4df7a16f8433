//! FIDO UAF `/regRequest` and `/regResponse` in the UAF server's
//! `{"code":…,"message":…}` envelope.

use super::{AppChallenge, Check, OptionsRequest, Registration, Rules, Verifier, json_body};
use super::{MIN_UPSTREAM_CHALLENGE_LEN, challenge_text};
use crate::b64;
use crate::crypto::{constant_time_eq, sha256};
use crate::gateway::error::{GatewayError, InternalError, UpstreamError};
use crate::gateway::seal::SealError;
use crate::gateway::token::CredentialClaim;
use crate::uaf::{
    RegistrationRequest, ServerDataCheck, UafExpectations, claimed_challenge,
    verify_registration_response,
};
use crate::webauthn::RelyingParty;
use http::StatusCode;
use serde_json::{Value, json};
use std::borrow::Cow;

/// The UAF server's registration endpoints.
#[derive(Debug)]
pub(in crate::gateway) struct Uaf;

impl Rules for Uaf {
    fn options_path(&self) -> &'static str {
        "/regRequest/{username}"
    }

    fn result_path(&self) -> &'static str {
        "/regResponse"
    }

    fn challenge_pointer(&self) -> &'static str {
        "/message/0/challenge"
    }

    /// The gateway's `/regRequest` answer: the seal travels as the
    /// serverData (UAF allows 1536 characters), and the challenge is its
    /// SHA-256 (43 characters, as a UAF ServerChallenge must be short).
    fn issue(
        &self,
        _req: &OptionsRequest,
        username: &str,
        challenge: &[u8],
        verifier: &Verifier,
        _rp: &RelyingParty,
    ) -> Result<Vec<u8>, GatewayError> {
        let envelope = RegistrationRequest {
            upv: (1, 0),
            app_id: verifier.uaf_app_id.clone(),
            server_data: b64::encode(challenge),
            challenge: b64::encode(&sha256(challenge)),
            username: username.to_owned(),
            policy: verifier.uaf_policy.clone(),
        }
        .envelope();
        serde_json::to_vec(&envelope).map_err(|e| InternalError::Serialise(e.to_string()).into())
    }

    fn user_handle(&self, _verifier: &Verifier, _username: &str) -> Option<Vec<u8>> {
        None
    }

    fn parse(&self, body: &[u8]) -> Result<Box<dyn Registration>, GatewayError> {
        let body = json_body(body)?;
        let challenge = claimed_challenge(&body)?;
        Ok(Box::new(UafRegistration { body, challenge }))
    }

    /// The UAF server answers refusals in its envelope, possibly with
    /// status 200: those pass through as the app wrote them. A challenge
    /// is keyed by its text (UAF challenges are strings).
    fn app_challenge(&self, answer: &Value, pointer: &str) -> Result<AppChallenge, UpstreamError> {
        if answer
            .get("code")
            .and_then(Value::as_i64)
            .is_some_and(|c| c != 200)
        {
            return Ok(AppChallenge::Refusal);
        }
        let text = challenge_text(answer, pointer)?;
        if text.len() < MIN_UPSTREAM_CHALLENGE_LEN {
            return Err(UpstreamError::BadChallenge {
                pointer: pointer.to_owned(),
                expected: "a string of at least 16 characters",
            });
        }
        Ok(AppChallenge::Key(text.as_bytes().to_vec()))
    }

    fn error_body(&self, status: StatusCode, _reason: &str, message: &str) -> Value {
        json!({ "code": status.as_u16(), "message": message })
    }
}

/// A posted RegistrationResponse array with the challenge its entries name.
#[derive(Debug)]
struct UafRegistration {
    body: Value,
    challenge: String,
}

impl Registration for UafRegistration {
    fn challenge(&self) -> &[u8] {
        self.challenge.as_bytes()
    }

    /// The seal is the serverData, the same in every entry, and the
    /// challenge must be its SHA-256.
    fn sealed(&self) -> Result<Cow<'_, [u8]>, SealError> {
        let mut found: Option<&str> = None;
        for entry in self.body.as_array().into_iter().flatten() {
            let sd = entry
                .pointer("/header/serverData")
                .and_then(Value::as_str)
                .ok_or(SealError::Truncated)?;
            if found.is_some_and(|f| f != sd) {
                return Err(SealError::Forged);
            }
            found = Some(sd);
        }
        let seal = found
            .and_then(|sd| b64::decode(sd).ok())
            .ok_or(SealError::Truncated)?;
        let bound = b64::encode(&sha256(&seal));
        if !constant_time_eq(bound.as_bytes(), self.challenge.as_bytes()) {
            return Err(SealError::Forged);
        }
        Ok(Cow::Owned(seal))
    }

    fn verify(&self, check: &Check<'_>) -> Result<Vec<CredentialClaim>, GatewayError> {
        let v = check.verifier;
        let expected = UafExpectations {
            app_id: v.uaf_app_id.clone(),
            challenge: self.challenge.clone(),
            trusted_facets: v.uaf_trusted_facets.clone(),
            policy: v.uaf_policy.clone(),
            // With metadata, trust is decided after its statement's roots.
            require_trusted: v.uaf_require_trusted && check.metadata.is_none(),
        };
        // Gateway-issued: the serverData is the seal, which the engine has
        // opened and bound to the challenge. App-issued: the app made the
        // serverData and checks it.
        let server_data = ServerDataCheck::Skip;
        let registrations = verify_registration_response(
            &self.body,
            &expected,
            server_data,
            &v.anchors,
            check.now,
        )?;
        registrations
            .iter()
            .map(|r| {
                let mut claim = CredentialClaim {
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
                    metadata: None,
                };
                if let Some(m) = check.metadata {
                    let verdict = m
                        .check_uaf_under(check.metadata_policy, r, check.now)
                        .map_err(|error| GatewayError::Metadata { role: None, error })?;
                    if let Some(verdict) = verdict {
                        claim.trusted |= verdict.trusted;
                        claim.metadata = Some((&verdict).into());
                    }
                    if v.uaf_require_trusted && !claim.trusted {
                        return Err(GatewayError::Uaf(crate::uaf::UafError::Assertion {
                            index: 0,
                            error: crate::uaf::AssertionError::Untrusted {
                                aaid: r.aaid.clone(),
                                attestation: r.attestation.as_str(),
                            },
                        }));
                    }
                }
                Ok(claim)
            })
            .collect()
    }
}
