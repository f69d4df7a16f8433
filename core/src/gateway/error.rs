//! Why the gateway refused a request: one typed error that wraps the
//! protocol errors and adds what only the gateway sees (the request's
//! shape, its size and method, the app's answer, its own faults).
//!
//! Each error reports what decides the answer: a [`ErrorClass`] for the
//! verification-like failures, or its own kind ([`Refusal`] maps both to a
//! status in one place).
//!
//! [`Refusal`]: super::Refusal

use super::challenge::{ChallengeError, StoreError};
use super::seal::{SealError, UsernameTooLong};
use super::source::SourceError;
use super::token::TokenError;
use crate::error::ErrorClass;
use crate::keycred::KeyCredentialError;
use crate::uaf::UafError;
use crate::webauthn::WebauthnError;
use http::Method;

/// Why the gateway refused a request or could not use the app's answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// A WebAuthn credential failed verification (in the wallet dialect,
    /// the one in `role`).
    #[error("{}{error}", role_prefix(*role))]
    Webauthn {
        /// Where the credential sits in a wallet registration.
        role: Option<CredentialRole>,
        /// What failed.
        error: WebauthnError,
    },
    /// A UAF registration response failed verification.
    #[error("{0}")]
    Uaf(UafError),
    /// A key credential of a wallet registration failed verification.
    #[error("{}{error}", role_prefix(Some(*role)))]
    KeyCredential {
        /// Where the credential sits.
        role: CredentialRole,
        /// What failed.
        error: KeyCredentialError,
    },
    /// FIDO metadata refused the authenticator (in the wallet dialect,
    /// the credential in `role`).
    #[error("{}{error}", role_prefix(*role))]
    Metadata {
        /// Where the credential sits in a wallet registration.
        role: Option<CredentialRole>,
        /// The rule that refused.
        error: crate::metadata::MetadataError,
    },
    /// The challenge the registration names is not one the gateway can
    /// accept here and now.
    #[error("{0}")]
    Challenge(ChallengeError),
    /// A gateway-issued challenge whose seal does not open here, now, for
    /// this route and user.
    #[error("{0}")]
    Seal(SealError),
    /// The challenge store cannot answer: nothing is accepted unrecorded.
    #[error("{0}")]
    Store(StoreError),
    /// The request is not shaped as the dialect defines it.
    #[error("{0}")]
    Request(RequestError),
    /// The request body is larger than the route allows.
    #[error("{}", too_large_message(*limit, *length))]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
        /// The length announced by Content-Length, when that is how it was
        /// found; `None` when the body itself ran over.
        length: Option<u64>,
    },
    /// The method is not the one configured for the endpoint.
    #[error("{path} takes {allowed}, not {got}")]
    Method {
        /// The endpoint's path template.
        path: String,
        /// The configured method.
        allowed: Method,
        /// The request's method.
        got: Method,
    },
    /// The client sent more requests to the intercepted endpoints than
    /// `rate_limit` allows.
    #[error("too many requests from this client; try again in {retry_after_secs} s")]
    RateLimited {
        /// Seconds until the client's next request is allowed.
        retry_after_secs: u64,
    },
    /// The app failed, or answered something the gateway cannot use.
    #[error("{0}")]
    Upstream(UpstreamError),
    /// Something on the gateway's side failed; the input is not at fault.
    #[error("{0}")]
    Internal(InternalError),
}

fn role_prefix(role: Option<CredentialRole>) -> String {
    role.map_or_else(String::new, |r| format!("{}: ", r.field()))
}

fn too_large_message(limit: usize, length: Option<u64>) -> String {
    match length {
        Some(len) => format!("the body is {len} bytes; the limit is {limit}"),
        None => format!("the body is over the limit of {limit} bytes"),
    }
}

impl GatewayError {
    /// The class of a verification-like failure; `None` for the kinds that
    /// are not about the registration's content (size, method, the app).
    pub fn class(&self) -> Option<ErrorClass> {
        match self {
            Self::Webauthn { error, .. } => Some(error.class()),
            Self::Uaf(e) => Some(e.class()),
            Self::KeyCredential { error, .. } => Some(error.class()),
            Self::Metadata { error, .. } => Some(error.class()),
            Self::Challenge(e) => Some(e.class()),
            Self::Seal(e) => Some(e.class()),
            Self::Request(e) => Some(e.class()),
            Self::Internal(_) => Some(ErrorClass::Internal),
            Self::TooLarge { .. }
            | Self::Method { .. }
            | Self::RateLimited { .. }
            | Self::Upstream(_)
            | Self::Store(_) => None,
        }
    }
}

impl From<RequestError> for GatewayError {
    fn from(e: RequestError) -> Self {
        Self::Request(e)
    }
}

impl From<ChallengeError> for GatewayError {
    fn from(e: ChallengeError) -> Self {
        Self::Challenge(e)
    }
}

impl From<SealError> for GatewayError {
    fn from(e: SealError) -> Self {
        Self::Seal(e)
    }
}

impl From<StoreError> for GatewayError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl From<UpstreamError> for GatewayError {
    fn from(e: UpstreamError) -> Self {
        Self::Upstream(e)
    }
}

impl From<InternalError> for GatewayError {
    fn from(e: InternalError) -> Self {
        Self::Internal(e)
    }
}

impl From<UafError> for GatewayError {
    fn from(e: UafError) -> Self {
        Self::Uaf(e)
    }
}

impl From<WebauthnError> for GatewayError {
    fn from(error: WebauthnError) -> Self {
        Self::Webauthn { role: None, error }
    }
}

/// Where a credential sits in a wallet registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CredentialRole {
    /// `firstFactorCredential`.
    FirstFactor,
    /// `secondFactorCredential`.
    SecondFactor,
    /// `recoveryCredential`.
    Recovery,
}

impl CredentialRole {
    /// Every role, in the order a registration lists them.
    pub const ALL: [Self; 3] = [Self::FirstFactor, Self::SecondFactor, Self::Recovery];

    /// The request field that holds the credential.
    pub fn field(self) -> &'static str {
        match self {
            Self::FirstFactor => "firstFactorCredential",
            Self::SecondFactor => "secondFactorCredential",
            Self::Recovery => "recoveryCredential",
        }
    }

    /// The role's name in the header's claims.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FirstFactor => "firstFactor",
            Self::SecondFactor => "secondFactor",
            Self::Recovery => "recovery",
        }
    }
}

/// The request is not shaped as the dialect defines it; each variant names
/// the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The body is not JSON.
    #[error("the request body is not JSON: {0}")]
    NotJson(String),
    /// The body is JSON but not an object.
    #[error("the request body must be a JSON object")]
    NotObject,
    /// A required field is missing.
    #[error("{0} is missing")]
    Missing(String),
    /// A field has the wrong type or value.
    #[error("{field} must be {expected}")]
    Invalid {
        /// The field, as a path (`firstFactorCredential.credentialInfo`).
        field: String,
        /// What it must be.
        expected: &'static str,
    },
    /// The username is unusable.
    #[error("username must be 1 to 256 bytes, not blank, without control characters")]
    Username,
    /// The username is longer than a gateway-issued challenge carries.
    #[error("{0}")]
    SealedUsername(UsernameTooLong),
    /// The path and the body name different users.
    #[error("the username in the path and in the body differ")]
    UsernameMismatch,
    /// Content-Length is not one number (or several disagree).
    #[error("Content-Length is not a number")]
    ContentLength,
    /// The body could not be read.
    #[error("the request body could not be read")]
    Unreadable,
    /// The body did not arrive in time.
    #[error("the request body did not arrive in time")]
    BodyTimeout,
    /// `credentialKind` is not one the wallet dialect defines.
    #[error(
        "{field}.credentialKind {kind:?} is not Fido2, Key, PasswordProtectedKey or RecoveryKey"
    )]
    CredentialKind {
        /// The credential's field.
        field: &'static str,
        /// The kind sent.
        kind: String,
    },
    /// A credential of this kind cannot take this role.
    #[error("{field} cannot be of kind {kind}")]
    RoleKind {
        /// The credential's field.
        field: &'static str,
        /// Its kind.
        kind: &'static str,
    },
    /// The credentials of one registration answer different challenges.
    #[error("the credentials answer different challenges")]
    DifferentChallenges,
}

impl RequestError {
    /// The error's class.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::RoleKind { .. } => ErrorClass::Policy,
            Self::DifferentChallenges => ErrorClass::Replay,
            _ => ErrorClass::Malformed,
        }
    }

    pub(in crate::gateway) fn invalid(field: impl Into<String>, expected: &'static str) -> Self {
        Self::Invalid {
            field: field.into(),
            expected,
        }
    }
}

/// The app failed, or its answer cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UpstreamError {
    /// The app could not be reached, or the exchange with it failed.
    #[error("the app could not be reached: {0}")]
    Unreachable(String),
    /// The app did not answer in time.
    #[error("the app did not answer in time")]
    Timeout,
    /// The app's answer is larger than the gateway reads.
    #[error("the app's answer is over {limit} bytes")]
    TooLarge {
        /// The response limit, in bytes.
        limit: usize,
    },
    /// The app's answer is not JSON.
    #[error("the app's answer is not JSON")]
    NotJson,
    /// The app's answer has no challenge where the route says.
    #[error("the app's answer has no challenge string at {pointer}")]
    NoChallenge {
        /// The route's JSON pointer.
        pointer: String,
    },
    /// The app's challenge is too short or not in the dialect's encoding.
    #[error("the app's challenge at {pointer} is not {expected}")]
    BadChallenge {
        /// The route's JSON pointer.
        pointer: String,
        /// What it must be.
        expected: &'static str,
    },
}

/// A fault on the gateway's side.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InternalError {
    /// The verified-credential header could not be signed.
    #[error("signing the header: {0}")]
    Token(TokenError),
    /// The signed header is not a valid header value.
    #[error("the token is not a header value")]
    HeaderValue,
    /// The time and randomness source failed.
    #[error("{0}")]
    Source(SourceError),
    /// The gateway's own options answer could not be written.
    #[error("writing the options answer: {0}")]
    Serialise(String),
}
