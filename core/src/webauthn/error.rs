//! The WebAuthn registration error: grouped by the part of the input that
//! failed, each variant naming the step of W3C WebAuthn Level 3 §7.1 and the
//! field, and each reporting an [`ErrorClass`].

use crate::cbor::CborError;
use crate::crypto::CryptoError;
use crate::cursor::CursorError;
use crate::error::ErrorClass;
use crate::trust::TrustError;

/// Why a WebAuthn registration was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebauthnError {
    /// The PublicKeyCredential JSON itself.
    #[error("credential: {0}")]
    Credential(#[from] CredentialError),
    /// `clientDataJSON` (§7.1 steps 5 to 11).
    #[error("clientDataJSON: {0}")]
    ClientData(#[from] ClientDataError),
    /// The attestation object's CBOR (§7.1 step 13).
    #[error("step 13: attestationObject: {0}")]
    AttestationObject(CborError),
    /// Authenticator data (§7.1 steps 14 to 17, 25).
    #[error("authData: {0}")]
    AuthData(#[from] AuthDataError),
    /// The credential public key (§7.1 step 20).
    #[error("credentialPublicKey: {0}")]
    PublicKey(#[from] CoseError),
    /// `fmt` is not a supported attestation format (§7.1 step 21).
    #[error("step 21: attestation format {0:?} is not supported")]
    UnsupportedFormat(String),
    /// The attestation statement (§7.1 step 22).
    #[error("step 22: {fmt} attestation: {error}")]
    Statement {
        /// The attestation format.
        fmt: &'static str,
        /// What failed.
        error: StatementError,
    },
    /// The attestation trust path (§7.1 steps 23 and 24).
    #[error("step 24: {fmt} attestation: {error}")]
    Trust {
        /// The attestation format.
        fmt: &'static str,
        /// What failed.
        error: TrustError,
    },
    /// The attestation could not be tied to a trust anchor and policy
    /// requires that (§7.1 step 24).
    #[error(
        "step 24: {fmt} attestation ({attestation_type}) is not trusted and policy requires trusted attestation"
    )]
    Untrusted {
        /// The attestation format.
        fmt: &'static str,
        /// Its attestation type.
        attestation_type: &'static str,
    },
}

impl WebauthnError {
    /// The error's class.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Credential(_) | Self::AttestationObject(_) | Self::UnsupportedFormat(_) => {
                ErrorClass::Malformed
            }
            Self::ClientData(e) => e.class(),
            Self::AuthData(e) => e.class(),
            Self::PublicKey(e) => e.class(),
            Self::Statement { error, .. } => error.class(),
            Self::Trust { error, .. } => error.class(),
            Self::Untrusted { .. } => ErrorClass::Untrusted,
        }
    }
}

/// The PublicKeyCredential JSON is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialError {
    /// Not JSON, or not an object.
    #[error("not a JSON object: {0}")]
    NotJson(String),
    /// A required field is missing.
    #[error("missing field {0}")]
    MissingField(&'static str),
    /// A field has the wrong JSON type.
    #[error("field {field} must be {expected}")]
    WrongType {
        /// The field.
        field: &'static str,
        /// The type it must have.
        expected: &'static str,
    },
    /// A binary field is not base64url.
    #[error("field {0} is not valid base64url")]
    Base64(&'static str),
    /// `type` is not `public-key` (step 3).
    #[error("step 3: type is {0:?}, expected \"public-key\"")]
    CredentialType(String),
    /// `id` and `rawId` name different credentials.
    #[error("id and rawId differ")]
    IdMismatch,
    /// A field exceeds its size bound.
    #[error("field {field} is {len} bytes, more than {max}")]
    TooLarge {
        /// The field.
        field: &'static str,
        /// Its size.
        len: usize,
        /// The bound.
        max: usize,
    },
}

/// `clientDataJSON` failed a check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientDataError {
    /// Step 5: not UTF-8.
    #[error("step 5: not valid UTF-8")]
    NotUtf8,
    /// Step 6: not a JSON object.
    #[error("step 6: not a JSON object: {0}")]
    NotJson(String),
    /// A required member is missing.
    #[error("missing member {0}")]
    MissingField(&'static str),
    /// A member has the wrong JSON type.
    #[error("member {field} must be {expected}")]
    WrongType {
        /// The member.
        field: &'static str,
        /// The type it must have.
        expected: &'static str,
    },
    /// Step 7: `type` is not `webauthn.create`.
    #[error("step 7: type is {0:?}, expected \"webauthn.create\"")]
    Type(String),
    /// Step 8: `challenge` is not base64url without padding, the one
    /// spelling of the issued challenge.
    #[error(
        "step 8: challenge is not base64url without padding (the spelling the relying party issued)"
    )]
    ChallengeEncoding,
    /// Step 8: `challenge` is not the expected challenge.
    #[error("step 8: challenge does not match the challenge issued for this registration")]
    ChallengeMismatch,
    /// Step 9: `origin` is not allowed.
    #[error("step 9: origin {0:?} is not an allowed origin")]
    Origin(String),
    /// Step 10: `crossOrigin` is true and cross-origin registration is not allowed.
    #[error("step 10: crossOrigin is true but no top origins are allowed")]
    CrossOrigin,
    /// Step 11: `topOrigin` is present without `crossOrigin: true`.
    #[error("step 11: topOrigin is present but crossOrigin is not true")]
    TopOriginWithoutCrossOrigin,
    /// Step 11: `topOrigin` is not an allowed top origin.
    #[error("step 11: topOrigin {0:?} is not an allowed top origin")]
    TopOrigin(String),
    /// `tokenBinding` is present and invalid.
    #[error("tokenBinding: {0}")]
    TokenBinding(String),
}

impl ClientDataError {
    /// The error's class.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::ChallengeMismatch => ErrorClass::Replay,
            Self::Type(_)
            | Self::Origin(_)
            | Self::CrossOrigin
            | Self::TopOrigin(_)
            | Self::TopOriginWithoutCrossOrigin => ErrorClass::Policy,
            _ => ErrorClass::Malformed,
        }
    }
}

/// Authenticator data failed a check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthDataError {
    /// The bytes do not parse.
    #[error("{0}")]
    Parse(#[from] CursorError),
    /// The credential public key or extensions CBOR does not parse.
    #[error("{0}")]
    Cbor(#[from] CborError),
    /// Step 14: `rpIdHash` is not SHA-256 of the RP ID.
    #[error("step 14: rpIdHash is not the SHA-256 of RP ID {0:?}")]
    RpIdHash(String),
    /// Step 15: UP flag not set.
    #[error("step 15: user present (UP) flag is not set")]
    UserNotPresent,
    /// Step 16: UV flag not set and policy requires it.
    #[error("step 16: user verified (UV) flag is not set and user verification is required")]
    UserNotVerified,
    /// Step 17: BS set without BE.
    #[error("step 17: backup state (BS) is set but backup eligibility (BE) is not")]
    BackupState,
    /// The AT flag is not set: no credential to register.
    #[error("attested credential data (AT flag) is missing")]
    NoAttestedCredential,
    /// ED flag set without extensions, or an extensions value that is not a map.
    #[error("extensions: {0}")]
    Extensions(&'static str),
    /// Step 25: credential ID longer than 1023 bytes.
    #[error("step 25: credentialId is {0} bytes, more than 1023")]
    CredentialIdTooLong(usize),
    /// The credential ID differs from the credential's `rawId`.
    #[error("credentialId differs from the credential's rawId")]
    CredentialIdMismatch,
}

impl AuthDataError {
    /// The error's class.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::RpIdHash(_) | Self::UserNotPresent | Self::UserNotVerified => ErrorClass::Policy,
            _ => ErrorClass::Malformed,
        }
    }
}

/// The credential public key (COSE_Key) failed a check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CoseError {
    /// Not a CBOR map with unique labels.
    #[error("{0}")]
    Cbor(#[from] CborError),
    /// A required parameter is missing.
    #[error("missing parameter {0}")]
    MissingParam(&'static str),
    /// A parameter has a wrong value.
    #[error("parameter {param}: {reason}")]
    BadParam {
        /// The parameter.
        param: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The key type is not supported.
    #[error("key type (kty) {0} is not supported")]
    UnsupportedKeyType(i64),
    /// The algorithm is not supported.
    #[error("algorithm {0} is not supported")]
    UnsupportedAlg(i64),
    /// The algorithm does not fit the key.
    #[error("algorithm {alg} cannot be used with a {key} key")]
    AlgKeyMismatch {
        /// The COSE algorithm.
        alg: i64,
        /// The key's type.
        key: &'static str,
    },
    /// Step 20: the algorithm is not one the relying party allows.
    #[error("step 20: algorithm {0} is not an allowed algorithm")]
    AlgNotAllowed(i64),
    /// The key material is invalid.
    #[error("{0}")]
    Key(CryptoError),
}

impl CoseError {
    /// The error's class.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::AlgNotAllowed(_) => ErrorClass::Policy,
            _ => ErrorClass::Malformed,
        }
    }
}

/// An attestation statement failed its format's verification procedure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StatementError {
    /// The statement's structure is wrong (missing, extra or mistyped
    /// fields, unparsable embedded structures).
    #[error("{what}: {detail}")]
    Malformed {
        /// The field or structure.
        what: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// A signature does not verify.
    #[error("{what} does not verify: {source}")]
    Signature {
        /// Which signature.
        what: &'static str,
        /// The crypto error.
        source: CryptoError,
    },
    /// The statement is authentic but does not attest this registration
    /// (nonce, challenge, key or AAGUID differ).
    #[error("{what}: {detail}")]
    Mismatch {
        /// The binding that failed.
        what: &'static str,
        /// What differs.
        detail: String,
    },
    /// The attestation certificate does not meet the format's requirements.
    #[error("attestation certificate: {0}")]
    Certificate(String),
    /// The relying party's policy refuses the statement.
    #[error("{what}: {detail}")]
    Policy {
        /// The policy that refused it.
        what: &'static str,
        /// Why.
        detail: String,
    },
    /// The statement is stale (its timestamp is outside the allowed skew).
    #[error("{what}: {detail}")]
    Stale {
        /// The timestamp checked.
        what: &'static str,
        /// Why it is refused.
        detail: String,
    },
}

impl StatementError {
    /// The error's class.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Malformed { .. } => ErrorClass::Malformed,
            Self::Signature { .. } | Self::Mismatch { .. } => ErrorClass::Signature,
            Self::Certificate(_) => ErrorClass::Untrusted,
            Self::Policy { .. } => ErrorClass::Policy,
            Self::Stale { .. } => ErrorClass::Replay,
        }
    }

    pub(crate) fn malformed(what: &'static str, detail: impl Into<String>) -> Self {
        Self::Malformed {
            what,
            detail: detail.into(),
        }
    }

    pub(crate) fn mismatch(what: &'static str, detail: impl Into<String>) -> Self {
        Self::Mismatch {
            what,
            detail: detail.into(),
        }
    }

    pub(crate) fn policy(what: &'static str, detail: impl Into<String>) -> Self {
        Self::Policy {
            what,
            detail: detail.into(),
        }
    }
}
