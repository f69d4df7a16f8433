//! The FIDO2 conformance server API (`webauthn`): the options the gateway
//! issues, and the PublicKeyCredential a browser posts.

use super::{Check, OptionsRequest, Registration, Rules, Verifier};
use crate::b64;
use crate::gateway::error::InternalError;
use crate::gateway::error::{CredentialRole, GatewayError, RequestError};
use crate::gateway::token::{CredentialClaim, FlagsClaim};
use crate::webauthn::client_data::ClientData;
use crate::webauthn::verify::verify_with_client_data;
use crate::webauthn::{
    CoseAlgorithm, RegistrationCredential, RelyingParty, VerifiedRegistration, WebauthnError,
    verify_registration,
};
use http::StatusCode;
use serde::Serialize;
use serde_json::{Map, Value, json};

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

/// The gateway-issued options of the WebAuthn-based dialects, serialised:
/// the conformance API's answer, or (`kinds`) the wallet API's, which has
/// no status envelope and names the credential kinds it verifies.
pub(in crate::gateway) fn issue(
    req: &OptionsRequest,
    username: &str,
    challenge: &[u8],
    verifier: &Verifier,
    rp: &RelyingParty,
    kinds: Option<&'static SupportedKinds>,
) -> Result<Vec<u8>, GatewayError> {
    let handle = b64::encode(&verifier.user_handle(username));
    let challenge = b64::encode(challenge);
    let answer = options_answer(req, &challenge, &handle, username, verifier, rp, kinds)?;
    serde_json::to_vec(&answer).map_err(|e| InternalError::Serialise(e.to_string()).into())
}

/// A posted PublicKeyCredential with its clientDataJSON parsed once: for
/// the challenge it names, then for the verifier.
#[derive(Debug)]
pub(in crate::gateway) struct WebauthnRegistration {
    credential: RegistrationCredential,
    client_data: ClientData,
}

pub(in crate::gateway) fn parse(body: &[u8]) -> Result<WebauthnRegistration, GatewayError> {
    let credential = RegistrationCredential::from_json(body).map_err(WebauthnError::from)?;
    let client_data =
        ClientData::parse(&credential.client_data_json).map_err(WebauthnError::from)?;
    Ok(WebauthnRegistration {
        credential,
        client_data,
    })
}

impl Registration for WebauthnRegistration {
    fn challenge(&self) -> &[u8] {
        &self.client_data.challenge
    }

    fn verify(&self, check: &Check<'_>) -> Result<Vec<CredentialClaim>, GatewayError> {
        Ok(vec![
            verify(
                &self.credential,
                Some(&self.client_data),
                &self.client_data.challenge,
                check,
            )
            .map_err(|e| e.in_role(None))?,
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
/// `client_data`, when given, is the credential's clientDataJSON as
/// already parsed from it.
pub(in crate::gateway) fn verify(
    credential: &RegistrationCredential,
    client_data: Option<&ClientData>,
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
    let verified = match client_data {
        Some(cd) => verify_with_client_data(
            credential, cd, challenge, check.rp, &v.anchors, policy, check.now,
        ),
        None => verify_registration(
            credential, challenge, check.rp, &v.anchors, policy, check.now,
        ),
    }?;
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

/// The credential kinds of the wallet API's registration init answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(in crate::gateway) struct SupportedKinds {
    pub first_factor: [&'static str; 3],
    pub second_factor: [&'static str; 3],
}

/// `ServerPublicKeyCredentialCreationOptionsResponse` (FIDO2 conformance
/// server API §7.3.1), serialised straight from borrowed fields: the
/// options answer is on every registration's path, and a JSON tree of it
/// cost more than the rest of the options step.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CreationOptions<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_message: Option<&'static str>,
    rp: RpEntity<'a>,
    user: UserEntity<'a>,
    challenge: &'a str,
    pub_key_cred_params: Vec<CredParam>,
    timeout: u64,
    exclude_credentials: [(); 0],
    authenticator_selection: Selection<'a>,
    attestation: &'a str,
    extensions: &'a Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    supported_credential_kinds: Option<&'static SupportedKinds>,
}

#[derive(Debug, Serialize)]
struct RpEntity<'a> {
    id: &'a str,
    name: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct UserEntity<'a> {
    id: &'a str,
    name: &'a str,
    display_name: &'a str,
}

#[derive(Debug, Serialize)]
struct CredParam {
    #[serde(rename = "type")]
    kind: &'static str,
    alg: i64,
}

/// The client's `authenticatorSelection` as it sent it, with
/// `userVerification` added from the policy when it named none.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Selection<'a> {
    #[serde(flatten)]
    asked: &'a Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_verification: Option<&'static str>,
}

/// An empty JSON object, for options that name no selection or extensions.
static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

fn options_answer<'a>(
    req: &'a OptionsRequest,
    challenge: &'a str,
    user_handle: &'a str,
    username: &'a str,
    verifier: &'a Verifier,
    rp: &RelyingParty,
    kinds: Option<&'static SupportedKinds>,
) -> Result<CreationOptions<'a>, RequestError> {
    let attestation = match req.body.get("attestation") {
        None | Some(Value::Null) => verifier.attestation.as_str(),
        Some(Value::String(a)) if CONVEYANCE.contains(&a.as_str()) => a.as_str(),
        Some(_) => {
            return Err(RequestError::invalid(
                "attestation",
                "none, indirect, direct or enterprise",
            ));
        }
    };
    let asked = match req.body.get("authenticatorSelection") {
        None | Some(Value::Null) => &*EMPTY,
        Some(Value::Object(o)) => o,
        Some(_) => {
            return Err(RequestError::invalid("authenticatorSelection", "an object"));
        }
    };
    let user_verification = (!asked.contains_key("userVerification"))
        .then(|| verifier.policy.user_verification.as_str());
    let extensions = match req.body.get("extensions") {
        None | Some(Value::Null) => &*EMPTY,
        Some(Value::Object(o)) => o,
        Some(_) => return Err(RequestError::invalid("extensions", "an object")),
    };
    let envelope = kinds.is_none();
    Ok(CreationOptions {
        status: envelope.then_some("ok"),
        error_message: envelope.then_some(""),
        rp: RpEntity {
            id: &verifier.rp.rp_id,
            name: &verifier.rp_name,
        },
        user: UserEntity {
            id: user_handle,
            name: username,
            display_name: req.display_name.as_deref().unwrap_or(username),
        },
        challenge,
        pub_key_cred_params: rp
            .algorithms
            .iter()
            .map(|a| CredParam {
                kind: "public-key",
                alg: a.id(),
            })
            .collect(),
        timeout: verifier.timeout_ms,
        exclude_credentials: [],
        authenticator_selection: Selection {
            asked,
            user_verification,
        },
        attestation,
        extensions,
        supported_credential_kinds: kinds,
    })
}
