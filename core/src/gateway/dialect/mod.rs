//! What differs between dialects: how the options request reads, what the
//! gateway answers when it issues the challenge, where a registration names
//! its challenge, and how its credentials are verified.

pub(super) mod dfns;
pub(super) mod uaf;
pub(super) mod webauthn;

use super::config::Dialect;
use super::token::CredentialClaim;
use crate::error::ErrorClass;
use serde_json::{Map, Value};

/// Longest username accepted, in bytes.
pub(in crate::gateway) const MAX_USERNAME_LEN: usize = 256;

/// A failure with the class that decides the status, and a message.
pub(in crate::gateway) type Failure = (ErrorClass, String);

pub(in crate::gateway) fn malformed(message: impl Into<String>) -> Failure {
    (ErrorClass::Malformed, message.into())
}

/// The options request, as far as the gateway reads it.
#[derive(Debug, Default)]
pub(in crate::gateway) struct OptionsRequest {
    pub username: Option<String>,
    pub display_name: Option<String>,
    pub body: Map<String, Value>,
}

/// Reads an options request: a JSON object (an empty body reads as `{}`),
/// with the user from the path or the body's `username`.
pub(in crate::gateway) fn options_request(
    body: &[u8],
    path_user: Option<&str>,
) -> Result<OptionsRequest, Failure> {
    let body: Map<String, Value> = if body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        match serde_json::from_slice(body) {
            Ok(Value::Object(obj)) => obj,
            Ok(_) => return Err(malformed("the request body must be a JSON object")),
            Err(e) => return Err(malformed(format!("the request body is not JSON: {e}"))),
        }
    };
    let body_user = match body.get("username") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(malformed("username must be a string")),
    };
    let username = match (path_user, body_user) {
        (Some(p), Some(b)) if p != b => {
            return Err(malformed("the username in the path and in the body differ"));
        }
        (Some(p), _) => Some(p.to_owned()),
        (None, b) => b,
    };
    if let Some(u) = &username {
        check_username(u)?;
    }
    let display_name = match body.get("displayName") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.len() <= MAX_USERNAME_LEN => Some(s.clone()),
        Some(_) => {
            return Err(malformed(
                "displayName must be a string of at most 256 bytes",
            ));
        }
    };
    Ok(OptionsRequest {
        username,
        display_name,
        body,
    })
}

fn check_username(u: &str) -> Result<(), Failure> {
    if u.trim().is_empty() || u.len() > MAX_USERNAME_LEN || u.chars().any(char::is_control) {
        return Err(malformed(
            "username must be 1 to 256 bytes, not blank, without control characters",
        ));
    }
    Ok(())
}

/// What a registration body claims, parsed once.
#[derive(Debug)]
pub(in crate::gateway) enum Registration {
    Webauthn(Box<crate::webauthn::RegistrationCredential>),
    Dfns(Vec<dfns::Credential>),
    Uaf { body: Value, challenge: String },
}

/// Parses a registration body and returns the challenge it claims (as the
/// store keys it) without verifying anything.
pub(in crate::gateway) fn parse_registration(
    dialect: Dialect,
    body: &[u8],
) -> Result<(Vec<u8>, Registration), Failure> {
    match dialect {
        Dialect::Webauthn | Dialect::Nevis => webauthn::parse(body),
        Dialect::Dfns => dfns::parse(body),
        Dialect::Uaf => uaf::parse(body),
    }
}

/// The verified credentials.
pub(in crate::gateway) type Verified = Vec<CredentialClaim>;

/// What verification needs besides the registration and its challenge.
#[derive(Debug)]
pub(in crate::gateway) struct Verifier {
    pub rp: crate::webauthn::RelyingParty,
    pub rp_name: String,
    pub policy: crate::webauthn::Policy,
    pub attestation: String,
    pub timeout_ms: u64,
    pub anchors: crate::trust::TrustAnchors,
    pub uaf_app_id: String,
    pub uaf_trusted_facets: Vec<String>,
    pub uaf_policy: crate::uaf::RegistrationPolicy,
    pub uaf_require_trusted: bool,
    pub server_data_key: crate::uaf::ServerDataKey,
}
