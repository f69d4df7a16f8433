//! `clientDataJSON`: W3C WebAuthn Level 3 §5.8.1 (CollectedClientData) and
//! §7.1 steps 5 to 11.

use super::error::ClientDataError;
use crate::b64;
use crate::crypto::constant_time_eq;
use serde_json::{Map, Value};

/// The members of `clientDataJSON` that registration checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientData {
    /// `type`.
    pub ty: String,
    /// `challenge`, decoded.
    pub challenge: Vec<u8>,
    /// `origin`.
    pub origin: String,
    /// `crossOrigin`.
    pub cross_origin: Option<bool>,
    /// `topOrigin`.
    pub top_origin: Option<String>,
}

impl ClientData {
    /// Parses `clientDataJSON` (§7.1 steps 5 and 6) and validates
    /// `tokenBinding` when present.
    pub fn parse(bytes: &[u8]) -> Result<Self, ClientDataError> {
        // Step 5: UTF-8 decode.
        let text = std::str::from_utf8(bytes).map_err(|_| ClientDataError::NotUtf8)?;
        // Step 6: parse JSON.
        let value: Value =
            serde_json::from_str(text).map_err(|e| ClientDataError::NotJson(e.to_string()))?;
        let obj = value
            .as_object()
            .ok_or_else(|| ClientDataError::NotJson("expected an object".to_owned()))?;
        let ty = string(obj, "type")?.to_owned();
        let challenge_text = string(obj, "challenge")?;
        // Step 8 compares the challenge as the string the relying party
        // issued (base64url without padding): only that spelling decodes.
        let challenge =
            b64::decode_unpadded(challenge_text).map_err(|_| ClientDataError::ChallengeEncoding)?;
        let origin = string(obj, "origin")?.to_owned();
        let cross_origin = match obj.get("crossOrigin") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                return Err(ClientDataError::WrongType {
                    field: "crossOrigin",
                    expected: "a boolean",
                });
            }
        };
        let top_origin = match obj.get("topOrigin") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                return Err(ClientDataError::WrongType {
                    field: "topOrigin",
                    expected: "a string",
                });
            }
        };
        if let Some(tb) = obj.get("tokenBinding") {
            check_token_binding(tb)?;
        }
        Ok(Self {
            ty,
            challenge,
            origin,
            cross_origin,
            top_origin,
        })
    }

    /// §7.1 steps 7 to 11.
    pub fn check(
        &self,
        expected_type: &str,
        challenge: &[u8],
        origins: &[String],
        top_origins: &[String],
    ) -> Result<(), ClientDataError> {
        // Step 7: the ceremony type.
        if self.ty != expected_type {
            return Err(ClientDataError::Type(self.ty.clone()));
        }
        // Step 8: the challenge, compared as bytes in constant time.
        if !constant_time_eq(&self.challenge, challenge) {
            return Err(ClientDataError::ChallengeMismatch);
        }
        // Step 9: the origin must be one the relying party expects.
        if !origins.contains(&self.origin) {
            return Err(ClientDataError::Origin(self.origin.clone()));
        }
        // Step 10: a cross-origin iframe needs top origins to be allowed.
        let cross = self.cross_origin == Some(true);
        if cross && top_origins.is_empty() {
            return Err(ClientDataError::CrossOrigin);
        }
        // Step 11: topOrigin only with crossOrigin, and only an allowed one.
        if let Some(top) = &self.top_origin {
            if !cross {
                return Err(ClientDataError::TopOriginWithoutCrossOrigin);
            }
            if !top_origins.iter().any(|o| o == top) {
                return Err(ClientDataError::TopOrigin(top.clone()));
            }
        }
        Ok(())
    }
}

fn string<'a>(
    obj: &'a Map<String, Value>,
    field: &'static str,
) -> Result<&'a str, ClientDataError> {
    obj.get(field)
        .ok_or(ClientDataError::MissingField(field))?
        .as_str()
        .ok_or(ClientDataError::WrongType {
            field,
            expected: "a string",
        })
}

/// `tokenBinding` (WebAuthn Level 2 §5.8.1): an object whose `status` is
/// `present` (then with a base64url `id`) or `supported`. Early clients sent
/// a bare string meaning token binding was not used; `"unused"` and
/// `"not-supported"` are accepted in that form. This relying party never
/// negotiates token binding, so nothing further is compared.
fn check_token_binding(tb: &Value) -> Result<(), ClientDataError> {
    let err = |m: &str| ClientDataError::TokenBinding(m.to_owned());
    match tb {
        Value::String(s) if s == "unused" || s == "not-supported" => Ok(()),
        Value::String(s) => Err(ClientDataError::TokenBinding(format!(
            "unexpected value {s:?}"
        ))),
        Value::Object(o) => match o.get("status").and_then(Value::as_str) {
            Some("supported") => Ok(()),
            Some("present") => match o.get("id").and_then(Value::as_str) {
                Some(id) if b64::decode(id).is_ok_and(|b| !b.is_empty()) => Ok(()),
                _ => Err(err(
                    "status is \"present\" but id is missing or not base64url",
                )),
            },
            Some(other) => Err(ClientDataError::TokenBinding(format!(
                "status {other:?} is not \"present\" or \"supported\""
            ))),
            None => Err(err("status is missing")),
        },
        _ => Err(err("must be an object")),
    }
}
