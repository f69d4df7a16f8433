//! Everything that differs between dialects, behind one dispatch
//! ([`rules`]): the default endpoints, how the gateway answers an options
//! request, where a registration names its challenge and how its
//! credentials are verified, how the app's own options answer names its
//! challenge, what the client gets after a verified registration, and the
//! error body. The engine holds the flow and calls these.
//!
//! A new dialect is a file here with a unit struct implementing [`Rules`],
//! a [`Dialect`] variant, and one line in [`rules`].

pub(super) mod dfns;
pub(super) mod nevis;
pub(super) mod uaf;
pub(super) mod webauthn;

use super::config::Dialect;
use super::error::{GatewayError, RequestError, UpstreamError};
use super::seal::SealError;
use super::token::CredentialClaim;
use crate::time::UnixTime;
use http::StatusCode;
use serde_json::{Map, Value};

/// Longest username accepted, in bytes.
pub(in crate::gateway) const MAX_USERNAME_LEN: usize = 256;

/// Fewest bytes an upstream-issued challenge may have.
pub const MIN_UPSTREAM_CHALLENGE_LEN: usize = 16;

/// The one dispatch from a dialect to its rules.
pub(in crate::gateway) fn rules(dialect: Dialect) -> &'static dyn Rules {
    match dialect {
        Dialect::Webauthn => &webauthn::Webauthn,
        Dialect::Nevis => &nevis::Nevis,
        Dialect::Dfns => &dfns::Dfns,
        Dialect::Uaf => &uaf::Uaf,
    }
}

/// A dialect: what the engine's flow asks of it.
pub(in crate::gateway) trait Rules: Send + Sync {
    /// The default path of the endpoint that issues challenges.
    fn options_path(&self) -> &'static str;

    /// The default path of the endpoint that takes registrations.
    fn result_path(&self) -> &'static str;

    /// Where an app-issued challenge is found in the app's answer by
    /// default (RFC 6901 JSON pointer).
    fn challenge_pointer(&self) -> &'static str {
        "/challenge"
    }

    /// The gateway's own answer to an options request for `username`,
    /// carrying the sealed `challenge`, for the route's relying party
    /// `rp`, as the JSON body's bytes; by default the conformance API's
    /// creation options.
    fn issue(
        &self,
        req: &OptionsRequest,
        username: &str,
        challenge: &[u8],
        verifier: &Verifier,
        rp: &crate::webauthn::RelyingParty,
    ) -> Result<Vec<u8>, GatewayError> {
        webauthn::issue(req, username, challenge, verifier, rp, None)
    }

    /// The WebAuthn user handle issued to `username`, where the dialect
    /// has one.
    fn user_handle(&self, verifier: &Verifier, username: &str) -> Option<Vec<u8>> {
        Some(verifier.user_handle(username))
    }

    /// Parses a registration body, without verifying anything; by default
    /// a PublicKeyCredential.
    fn parse(&self, body: &[u8]) -> Result<Box<dyn Registration>, GatewayError> {
        Ok(Box::new(webauthn::parse(body)?))
    }

    /// The challenge in the app's own options answer, as the store keys
    /// it; [`AppChallenge::Refusal`] when the answer is the app refusing
    /// (it passes through as written).
    fn app_challenge(&self, answer: &Value, pointer: &str) -> Result<AppChallenge, UpstreamError> {
        let text = challenge_text(answer, pointer)?;
        crate::b64::decode(text)
            .ok()
            .filter(|k| k.len() >= MIN_UPSTREAM_CHALLENGE_LEN)
            .map(AppChallenge::Key)
            .ok_or_else(|| UpstreamError::BadChallenge {
                pointer: pointer.to_owned(),
                expected: "base64url of at least 16 bytes",
            })
    }

    /// What the client gets instead of the app's 2xx answer to a verified
    /// registration; `None`: the app's answer itself.
    fn answer_after_verified(&self, _token: &str) -> Option<Value> {
        None
    }

    /// The dialect's error body.
    fn error_body(&self, status: StatusCode, reason: &str, message: &str) -> Value;
}

/// The string at `pointer` in the app's answer.
fn challenge_text<'a>(answer: &'a Value, pointer: &str) -> Result<&'a str, UpstreamError> {
    answer
        .pointer(pointer)
        .and_then(Value::as_str)
        .ok_or_else(|| UpstreamError::NoChallenge {
            pointer: pointer.to_owned(),
        })
}

/// The challenge found in the app's own options answer.
#[derive(Debug, PartialEq, Eq)]
pub(in crate::gateway) enum AppChallenge {
    /// The challenge, as the store keys it.
    Key(Vec<u8>),
    /// The answer is the app's refusal, in the dialect's envelope.
    Refusal,
}

/// A parsed registration: the challenge it names, and how to verify it.
pub(in crate::gateway) trait Registration: Send + Sync {
    /// The challenge, as the store keys it.
    fn challenge(&self) -> &[u8];

    /// The seal of a gateway-issued challenge: by default the challenge
    /// itself.
    fn sealed(&self) -> Result<std::borrow::Cow<'_, [u8]>, SealError> {
        Ok(std::borrow::Cow::Borrowed(self.challenge()))
    }

    /// Verifies every credential and describes each for the header.
    fn verify(&self, check: &Check<'_>) -> Result<Vec<CredentialClaim>, GatewayError>;
}

/// What verifying a registration needs besides the registration.
#[derive(Debug)]
pub(in crate::gateway) struct Check<'a> {
    pub verifier: &'a Verifier,
    /// The route's relying party (its own algorithm list).
    pub rp: &'a crate::webauthn::RelyingParty,
    /// FIDO metadata, when configured, and the route's policy for it.
    pub metadata: Option<&'a crate::metadata::Metadata>,
    pub metadata_policy: &'a crate::metadata::MetadataPolicy,
    pub now: UnixTime,
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
) -> Result<OptionsRequest, RequestError> {
    let body: Map<String, Value> = if body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        match serde_json::from_slice(body) {
            Ok(Value::Object(obj)) => obj,
            Ok(_) => return Err(RequestError::NotObject),
            Err(e) => return Err(RequestError::NotJson(e.to_string())),
        }
    };
    let body_user = match body.get("username") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(RequestError::invalid("username", "a string")),
    };
    let username = match (path_user, body_user) {
        (Some(p), Some(b)) if p != b => return Err(RequestError::UsernameMismatch),
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
            return Err(RequestError::invalid(
                "displayName",
                "a string of at most 256 bytes",
            ));
        }
    };
    Ok(OptionsRequest {
        username,
        display_name,
        body,
    })
}

fn check_username(u: &str) -> Result<(), RequestError> {
    if u.trim().is_empty() || u.len() > MAX_USERNAME_LEN || u.chars().any(char::is_control) {
        return Err(RequestError::Username);
    }
    Ok(())
}

/// Parses a request body that must be a JSON value.
pub(in crate::gateway) fn json_body(body: &[u8]) -> Result<Value, RequestError> {
    serde_json::from_slice(body).map_err(|e| RequestError::NotJson(e.to_string()))
}

/// What verification needs besides the registration and its challenge.
#[derive(Debug)]
pub(in crate::gateway) struct Verifier {
    /// The relying party with `webauthn.algorithms`; each route has its
    /// own copy with its own list (`Route::rp`).
    pub rp: crate::webauthn::RelyingParty,
    pub rp_name: String,
    pub policy: crate::webauthn::Policy,
    /// `policy` accepting untrusted attestations: with metadata, trust
    /// is decided after the statement's roots are tried.
    pub policy_before_metadata: crate::webauthn::Policy,
    pub attestation: String,
    pub timeout_ms: u64,
    pub anchors: crate::trust::TrustAnchors,
    pub uaf_app_id: String,
    pub uaf_trusted_facets: Vec<String>,
    pub uaf_policy: crate::uaf::RegistrationPolicy,
    pub uaf_require_trusted: bool,
    /// Keys the stable WebAuthn user handles.
    pub user_handle_key: Vec<u8>,
}

impl Verifier {
    /// A stable, opaque WebAuthn user handle for `username`.
    pub(in crate::gateway) fn user_handle(&self, username: &str) -> Vec<u8> {
        let mut input = b"user handle\0".to_vec();
        input.extend_from_slice(self.rp.rp_id.as_bytes());
        input.push(0);
        input.extend_from_slice(username.as_bytes());
        crate::crypto::hmac_sha256(&self.user_handle_key, &input).to_vec()
    }
}
