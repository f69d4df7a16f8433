//! The wallet API's `/auth/registration`: a first-factor credential, and
//! optionally a second-factor and a recovery credential, all answering one
//! challenge.

use super::webauthn::{Issued, options_answer as webauthn_options};
use super::{Failure, OptionsRequest, Registration, Verified, Verifier, malformed};
use crate::b64;
use crate::error::ErrorClass;
use crate::gateway::token::CredentialClaim;
use crate::keycred::{KeyClientData, verify_key_credential};
use crate::time::UnixTime;
use crate::webauthn::RegistrationCredential;
use crate::webauthn::client_data::ClientData;
use serde_json::{Map, Value, json};

/// Where a credential sits in the request.
const ROLES: [(&str, &str); 3] = [
    ("firstFactorCredential", "firstFactor"),
    ("secondFactorCredential", "secondFactor"),
    ("recoveryCredential", "recovery"),
];

/// The credential kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::gateway) enum Kind {
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
pub(in crate::gateway) struct Credential {
    role: &'static str,
    kind: Kind,
    cred_id: String,
    client_data: String,
    attestation_data: String,
    challenge: Vec<u8>,
}

pub(in crate::gateway) fn parse(body: &[u8]) -> Result<(Vec<u8>, Registration), Failure> {
    let obj: Map<String, Value> = match serde_json::from_slice(body) {
        Ok(Value::Object(o)) => o,
        Ok(_) => return Err(malformed("the request body must be a JSON object")),
        Err(e) => return Err(malformed(format!("the request body is not JSON: {e}"))),
    };
    let mut credentials = Vec::new();
    for (field, role) in ROLES {
        match obj.get(field) {
            None | Some(Value::Null) if field != "firstFactorCredential" => {}
            None | Some(Value::Null) => return Err(malformed(format!("{field} is missing"))),
            Some(v) => credentials.push(credential(v, field, role)?),
        }
    }
    // All credentials answer the same challenge: the first factor's.
    let mut challenges = credentials.iter().map(|c| c.challenge.as_slice());
    let challenge = challenges.next().unwrap_or_default().to_vec();
    if challenges.any(|c| c != challenge.as_slice()) {
        return Err((
            ErrorClass::Replay,
            "the credentials answer different challenges".to_owned(),
        ));
    }
    Ok((challenge, Registration::Dfns(credentials)))
}

fn credential(v: &Value, field: &'static str, role: &'static str) -> Result<Credential, Failure> {
    let obj = v
        .as_object()
        .ok_or_else(|| malformed(format!("{field} must be an object")))?;
    let text = |o: &Map<String, Value>, k: &str, at: &str| -> Result<String, Failure> {
        o.get(k)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| malformed(format!("{at}.{k} is missing or not a string")))
    };
    let kind = match text(obj, "credentialKind", field)?.as_str() {
        "Fido2" => Kind::Fido2,
        "Key" => Kind::Key,
        "PasswordProtectedKey" => Kind::PasswordProtectedKey,
        "RecoveryKey" => Kind::RecoveryKey,
        other => {
            return Err(malformed(format!(
                "{field}.credentialKind {other:?} is not Fido2, Key, PasswordProtectedKey or RecoveryKey"
            )));
        }
    };
    // A recovery credential is a RecoveryKey, and only it.
    if (role == "recovery") != (kind == Kind::RecoveryKey) {
        return Err((
            ErrorClass::Policy,
            format!("{field} cannot be of kind {}", kind.name()),
        ));
    }
    // The encrypted private key is the client's secret, passed on as sent;
    // a PasswordProtectedKey must carry one.
    match obj.get("encryptedPrivateKey") {
        Some(Value::String(s)) if !s.is_empty() => {}
        None | Some(Value::Null) if kind != Kind::PasswordProtectedKey => {}
        _ => {
            return Err(malformed(format!(
                "{field}.encryptedPrivateKey must be a non-empty string{}",
                if kind == Kind::PasswordProtectedKey {
                    " for a PasswordProtectedKey"
                } else {
                    ""
                }
            )));
        }
    }
    let info_at = format!("{field}.credentialInfo");
    let info = obj
        .get("credentialInfo")
        .and_then(Value::as_object)
        .ok_or_else(|| malformed(format!("{info_at} is missing or not an object")))?;
    let cred_id = text(info, "credId", &info_at)?;
    let client_data = text(info, "clientData", &info_at)?;
    let attestation_data = text(info, "attestationData", &info_at)?;
    let bytes = b64::decode(&client_data)
        .map_err(|_| malformed(format!("{info_at}.clientData is not base64url")))?;
    let challenge = if kind == Kind::Fido2 {
        ClientData::parse(&bytes)
            .map_err(|e| (e.class(), format!("{info_at}.clientData: {e}")))?
            .challenge
    } else {
        KeyClientData::parse(&bytes)
            .map_err(|e| (e.class(), format!("{info_at}: {e}")))?
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

pub(in crate::gateway) fn verify_all(
    registration: &Registration,
    challenge: &[u8],
    verifier: &Verifier,
    now: UnixTime,
) -> Result<Verified, Failure> {
    let Registration::Dfns(credentials) = registration else {
        return Err(malformed("not a wallet API registration"));
    };
    credentials
        .iter()
        .map(|c| {
            let at = |e: String| format!("{}Credential: {e}", c.role);
            let mut claim = if c.kind == Kind::Fido2 {
                let decode = |v: &str, what: &str| {
                    b64::decode(v).map_err(|_| malformed(at(format!("{what} is not base64url"))))
                };
                let credential = RegistrationCredential {
                    raw_id: decode(&c.cred_id, "credId")?,
                    client_data_json: decode(&c.client_data, "clientData")?,
                    attestation_object: decode(&c.attestation_data, "attestationData")?,
                    transports: Vec::new(),
                    client_extension_results: Map::new(),
                };
                super::webauthn::verify(&credential, challenge, verifier, now)
                    .map_err(|(class, e)| (class, at(e)))?
            } else {
                let v = verify_key_credential(
                    &c.cred_id,
                    &c.client_data,
                    &c.attestation_data,
                    challenge,
                    &verifier.rp.origins,
                )
                .map_err(|e| (e.class(), at(e.to_string())))?;
                CredentialClaim {
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
                }
            };
            claim.role = Some(c.role.to_owned());
            claim.kind = Some(c.kind.name().to_owned());
            Ok(claim)
        })
        .collect()
}

/// The registration init answer: the WebAuthn creation options plus the
/// credential kinds the gateway verifies.
pub(in crate::gateway) fn options_answer(
    req: &OptionsRequest,
    issued: &Issued<'_>,
    verifier: &Verifier,
) -> Result<Value, Failure> {
    let mut answer = webauthn_options(req, issued, verifier)?;
    if let Some(obj) = answer.as_object_mut() {
        obj.remove("status");
        obj.remove("errorMessage");
        obj.insert(
            "supportedCredentialKinds".to_owned(),
            json!({
                "firstFactor": ["Fido2", "Key", "PasswordProtectedKey"],
                "secondFactor": ["Fido2", "Key", "PasswordProtectedKey"],
            }),
        );
    }
    Ok(answer)
}
