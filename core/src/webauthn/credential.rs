//! The PublicKeyCredential JSON a browser posts after `create()`.
//!
//! Binary members are base64url (`PublicKeyCredential.toJSON()` and every
//! WebAuthn client library use that form). Unknown members are ignored, as
//! browsers and dialects add their own (`authenticatorAttachment`,
//! `userFriendlyName`, ...).

use super::error::CredentialError;
use crate::b64;
use serde_json::{Map, Value};

/// Largest accepted `clientDataJSON`, in bytes.
pub const MAX_CLIENT_DATA_LEN: usize = 16 * 1024;
/// Largest accepted `attestationObject`, in bytes.
pub const MAX_ATTESTATION_OBJECT_LEN: usize = 64 * 1024;
/// Most `transports` entries accepted.
pub const MAX_TRANSPORTS: usize = 16;

/// A registration credential, decoded from JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationCredential {
    /// `rawId` (or `id` when `rawId` is absent), decoded.
    pub raw_id: Vec<u8>,
    /// `response.clientDataJSON`, decoded.
    pub client_data_json: Vec<u8>,
    /// `response.attestationObject`, decoded.
    pub attestation_object: Vec<u8>,
    /// `response.transports`.
    pub transports: Vec<String>,
    /// `clientExtensionResults`.
    pub client_extension_results: Map<String, Value>,
}

impl RegistrationCredential {
    /// Parses the credential from JSON bytes.
    pub fn from_json(bytes: &[u8]) -> Result<Self, CredentialError> {
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| CredentialError::NotJson(e.to_string()))?;
        Self::from_value(&value)
    }

    /// Parses the credential from a JSON value.
    pub fn from_value(value: &Value) -> Result<Self, CredentialError> {
        let obj = value
            .as_object()
            .ok_or_else(|| CredentialError::NotJson("expected an object".to_owned()))?;
        let id = binary(obj, "id", "id", usize::MAX)?;
        let raw_id = match obj.get("rawId") {
            None | Some(Value::Null) => id.clone(),
            Some(_) => binary(obj, "rawId", "rawId", usize::MAX)?,
        };
        if raw_id != id {
            return Err(CredentialError::IdMismatch);
        }
        // §7.1 step 3: the credential must be a public-key credential.
        let ty = string(obj, "type", "type")?;
        if ty != "public-key" {
            return Err(CredentialError::CredentialType(ty.to_owned()));
        }
        let response = obj
            .get("response")
            .ok_or(CredentialError::MissingField("response"))?
            .as_object()
            .ok_or(CredentialError::WrongType {
                field: "response",
                expected: "an object",
            })?;
        let client_data_json = binary(
            response,
            "clientDataJSON",
            "response.clientDataJSON",
            MAX_CLIENT_DATA_LEN,
        )?;
        let attestation_object = binary(
            response,
            "attestationObject",
            "response.attestationObject",
            MAX_ATTESTATION_OBJECT_LEN,
        )?;
        let transports = match response.get("transports") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => {
                if items.len() > MAX_TRANSPORTS {
                    return Err(CredentialError::TooLarge {
                        field: "response.transports",
                        len: items.len(),
                        max: MAX_TRANSPORTS,
                    });
                }
                items
                    .iter()
                    .map(|t| {
                        t.as_str()
                            .map(str::to_owned)
                            .ok_or(CredentialError::WrongType {
                                field: "response.transports",
                                expected: "an array of strings",
                            })
                    })
                    .collect::<Result<_, _>>()?
            }
            Some(_) => {
                return Err(CredentialError::WrongType {
                    field: "response.transports",
                    expected: "an array of strings",
                });
            }
        };
        // §7.1 step 4: the client extension results.
        let client_extension_results = match obj.get("clientExtensionResults") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(_) => {
                return Err(CredentialError::WrongType {
                    field: "clientExtensionResults",
                    expected: "an object",
                });
            }
        };
        Ok(Self {
            raw_id,
            client_data_json,
            attestation_object,
            transports,
            client_extension_results,
        })
    }
}

fn string<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    field: &'static str,
) -> Result<&'a str, CredentialError> {
    obj.get(key)
        .ok_or(CredentialError::MissingField(field))?
        .as_str()
        .ok_or(CredentialError::WrongType {
            field,
            expected: "a string",
        })
}

fn binary(
    obj: &Map<String, Value>,
    key: &str,
    field: &'static str,
    max: usize,
) -> Result<Vec<u8>, CredentialError> {
    let s = string(obj, key, field)?;
    // Base64 expands 3 bytes to 4 characters; refuse before decoding.
    if s.len() / 4 * 3 > max {
        return Err(CredentialError::TooLarge {
            field,
            len: s.len() / 4 * 3,
            max,
        });
    }
    b64::decode(s).map_err(|_| CredentialError::Base64(field))
}
