//! The wallet API's `/auth/registration`: a first-factor credential, and
//! optionally a second-factor and a recovery credential, all answering one
//! challenge.

use super::webauthn::{Fido2Error, SupportedKinds, issue, verify as verify_webauthn};
use super::{Check, OptionsRequest, Registration, Rules, Verifier};
use crate::b64;
use crate::gateway::error::{CredentialRole, GatewayError, RequestError};
use crate::gateway::token::CredentialClaim;
use crate::keycred::{KeyClientData, KeyCredentialError, verify_key_credential};
use crate::webauthn::client_data::ClientData;
use crate::webauthn::{RegistrationCredential, RelyingParty, WebauthnError};
use http::StatusCode;
use serde_json::{Map, Value, json};

/// The wallet API's registration endpoints.
#[derive(Debug)]
pub(in crate::gateway) struct Dfns;

impl Rules for Dfns {
    fn options_path(&self) -> &'static str {
        "/auth/registration/init"
    }

    fn result_path(&self) -> &'static str {
        "/auth/registration"
    }

    /// The registration init answer: the WebAuthn creation options plus
    /// the credential kinds the gateway verifies.
    fn issue(
        &self,
        req: &OptionsRequest,
        username: &str,
        challenge: &[u8],
        verifier: &Verifier,
        rp: &RelyingParty,
    ) -> Result<Vec<u8>, GatewayError> {
        static KINDS: SupportedKinds = SupportedKinds {
            first_factor: ["Fido2", "Key", "PasswordProtectedKey"],
            second_factor: ["Fido2", "Key", "PasswordProtectedKey"],
        };
        issue(req, username, challenge, verifier, rp, Some(&KINDS))
    }

    fn parse(&self, body: &[u8]) -> Result<Box<dyn Registration>, GatewayError> {
        Ok(Box::new(parse(body)?))
    }

    fn error_body(&self, status: StatusCode, reason: &str, message: &str) -> Value {
        // The wallet API's error object.
        json!({
            "error": {
                "name": error_name(status),
                "message": message,
                "httpStatus": status.as_u16(),
                "reason": reason,
            }
        })
    }
}

fn error_name(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "BadRequestError",
        StatusCode::FORBIDDEN => "ForbiddenError",
        StatusCode::METHOD_NOT_ALLOWED => "MethodNotAllowedError",
        StatusCode::PAYLOAD_TOO_LARGE => "PayloadTooLargeError",
        StatusCode::TOO_MANY_REQUESTS => "TooManyRequestsError",
        StatusCode::BAD_GATEWAY => "BadGatewayError",
        StatusCode::GATEWAY_TIMEOUT => "GatewayTimeoutError",
        StatusCode::REQUEST_TIMEOUT => "RequestTimeoutError",
        StatusCode::SERVICE_UNAVAILABLE => "ServiceUnavailableError",
        _ => "InternalServerError",
    }
}

/// The credential kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Fido2,
    Key,
    PasswordProtectedKey,
    RecoveryKey,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Self::Fido2 => "Fido2",
            Self::Key => "Key",
            Self::PasswordProtectedKey => "PasswordProtectedKey",
            Self::RecoveryKey => "RecoveryKey",
        }
    }
}

/// One credential of the request, decoded but not verified.
#[derive(Debug)]
struct Credential {
    role: CredentialRole,
    kind: Kind,
    cred_id: String,
    client_data: String,
    attestation_data: String,
    challenge: Vec<u8>,
}

/// A wallet registration: its credentials, all answering one challenge.
#[derive(Debug)]
struct DfnsRegistration {
    credentials: Vec<Credential>,
    challenge: Vec<u8>,
}

fn parse(body: &[u8]) -> Result<DfnsRegistration, GatewayError> {
    let obj: Map<String, Value> = match serde_json::from_slice(body) {
        Ok(Value::Object(o)) => o,
        Ok(_) => return Err(RequestError::NotObject.into()),
        Err(e) => return Err(RequestError::NotJson(e.to_string()).into()),
    };
    let mut credentials = Vec::new();
    for role in CredentialRole::ALL {
        let field = role.field();
        match obj.get(field) {
            None | Some(Value::Null) if role != CredentialRole::FirstFactor => {}
            None | Some(Value::Null) => return Err(RequestError::Missing(field.to_owned()).into()),
            Some(v) => credentials.push(credential(v, role)?),
        }
    }
    // All credentials answer the same challenge: the first factor's.
    let mut challenges = credentials.iter().map(|c| c.challenge.as_slice());
    let challenge = challenges.next().unwrap_or_default().to_vec();
    if challenges.any(|c| c != challenge.as_slice()) {
        return Err(RequestError::DifferentChallenges.into());
    }
    Ok(DfnsRegistration {
        credentials,
        challenge,
    })
}

fn credential(v: &Value, role: CredentialRole) -> Result<Credential, GatewayError> {
    let field = role.field();
    let obj = v
        .as_object()
        .ok_or_else(|| RequestError::invalid(field, "an object"))?;
    let text = |o: &Map<String, Value>, k: &str, at: &str| -> Result<String, RequestError> {
        o.get(k)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| RequestError::invalid(format!("{at}.{k}"), "a string"))
    };
    let kind = match text(obj, "credentialKind", field)?.as_str() {
        "Fido2" => Kind::Fido2,
        "Key" => Kind::Key,
        "PasswordProtectedKey" => Kind::PasswordProtectedKey,
        "RecoveryKey" => Kind::RecoveryKey,
        other => {
            return Err(RequestError::CredentialKind {
                field,
                kind: other.to_owned(),
            }
            .into());
        }
    };
    // A recovery credential is a RecoveryKey, and only it.
    if (role == CredentialRole::Recovery) != (kind == Kind::RecoveryKey) {
        return Err(RequestError::RoleKind {
            field,
            kind: kind.name(),
        }
        .into());
    }
    // The encrypted private key is the client's secret, passed on as sent;
    // a PasswordProtectedKey must carry one.
    match obj.get("encryptedPrivateKey") {
        Some(Value::String(s)) if !s.is_empty() => {}
        None | Some(Value::Null) if kind != Kind::PasswordProtectedKey => {}
        _ => {
            return Err(RequestError::invalid(
                format!("{field}.encryptedPrivateKey"),
                if kind == Kind::PasswordProtectedKey {
                    "a non-empty string for a PasswordProtectedKey"
                } else {
                    "a non-empty string"
                },
            )
            .into());
        }
    }
    let info_at = format!("{field}.credentialInfo");
    let info = obj
        .get("credentialInfo")
        .and_then(Value::as_object)
        .ok_or_else(|| RequestError::invalid(info_at.clone(), "an object"))?;
    let cred_id = text(info, "credId", &info_at)?;
    let client_data = text(info, "clientData", &info_at)?;
    let attestation_data = text(info, "attestationData", &info_at)?;
    let bytes = b64::decode(&client_data)
        .map_err(|_| RequestError::invalid(format!("{info_at}.clientData"), "base64url"))?;
    let challenge = if kind == Kind::Fido2 {
        ClientData::parse(&bytes)
            .map_err(|e| GatewayError::Webauthn {
                role: Some(role),
                error: e.into(),
            })?
            .challenge
    } else {
        KeyClientData::parse(&bytes)
            .map_err(|error| GatewayError::KeyCredential { role, error })?
            .challenge
    };
    Ok(Credential {
        role,
        kind,
        cred_id,
        client_data,
        attestation_data,
        challenge,
    })
}

impl Registration for DfnsRegistration {
    fn challenge(&self) -> &[u8] {
        &self.challenge
    }

    fn verify(&self, check: &Check<'_>) -> Result<Vec<CredentialClaim>, GatewayError> {
        self.credentials
            .iter()
            .map(|c| {
                let mut claim = if c.kind == Kind::Fido2 {
                    fido2(c, &self.challenge, check).map_err(|e| e.in_role(Some(c.role)))?
                } else {
                    key(c, &self.challenge, check).map_err(|error| GatewayError::KeyCredential {
                        role: c.role,
                        error,
                    })?
                };
                claim.role = Some(c.role.as_str().to_owned());
                claim.kind = Some(c.kind.name().to_owned());
                Ok(claim)
            })
            .collect()
    }
}

fn fido2(
    c: &Credential,
    challenge: &[u8],
    check: &Check<'_>,
) -> Result<CredentialClaim, Fido2Error> {
    let decode = |v: &str, what: &'static str| {
        b64::decode(v)
            .map_err(|_| WebauthnError::from(crate::webauthn::CredentialError::Base64(what)))
    };
    let credential = RegistrationCredential {
        raw_id: decode(&c.cred_id, "credId")?,
        client_data_json: decode(&c.client_data, "clientData")?,
        attestation_object: decode(&c.attestation_data, "attestationData")?,
        transports: Vec::new(),
        client_extension_results: Map::new(),
    };
    verify_webauthn(&credential, None, challenge, check)
}

fn key(
    c: &Credential,
    challenge: &[u8],
    check: &Check<'_>,
) -> Result<CredentialClaim, KeyCredentialError> {
    let v = verify_key_credential(
        &c.cred_id,
        &c.client_data,
        &c.attestation_data,
        challenge,
        &check.rp.origins,
    )?;
    Ok(CredentialClaim {
        role: None,
        kind: None,
        protocol: "key".to_owned(),
        id: b64::encode(&v.credential_id),
        public_key: b64::encode(&v.public_key_spki),
        public_key_format: "spki".to_owned(),
        alg: v.alg.to_owned(),
        cose_alg: None,
        aaguid: None,
        aaid: None,
        fmt: "key".to_owned(),
        attestation_type: "self".to_owned(),
        trusted: false,
        sign_count: 0,
        flags: None,
        transports: Vec::new(),
        metadata: None,
    })
}
