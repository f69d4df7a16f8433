//! The UAF registration error, grouped by the part of the message that
//! failed; each variant names the field, each reports an [`ErrorClass`].

use crate::cursor::CursorError;
use crate::error::ErrorClass;
use crate::trust::TrustError;

/// Why a UAF RegistrationResponse was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UafError {
    /// The JSON message shape (array, header, fcParams, assertions).
    #[error("message: {0}")]
    Message(#[from] MessageError),
    /// `header.serverData`.
    #[error("serverData: {0}")]
    ServerData(#[from] ServerDataError),
    /// The decoded `fcParams` (FinalChallengeParams).
    #[error("fcParams: {0}")]
    FinalChallenge(#[from] FinalChallengeError),
    /// One registration assertion.
    #[error("assertion {index}: {error}")]
    Assertion {
        /// Its position in `assertions`.
        index: usize,
        /// What failed.
        error: AssertionError,
    },
}

impl UafError {
    /// The error's class.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Message(e) => e.class(),
            Self::ServerData(e) => e.class(),
            Self::FinalChallenge(e) => e.class(),
            Self::Assertion { error, .. } => error.class(),
        }
    }
}

/// The RegistrationResponse JSON is not as the UAF protocol defines it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MessageError {
    /// Not JSON, or not the expected JSON type.
    #[error("{0}")]
    NotJson(String),
    /// A required member is missing.
    #[error("missing member {0}")]
    MissingField(&'static str),
    /// A member has the wrong type or value.
    #[error("{field}: {reason}")]
    BadField {
        /// The member.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// `header.upv` is not a supported protocol version.
    #[error("header.upv {major}.{minor} is not supported (1.0 and 1.1 are)")]
    Version {
        /// Major version.
        major: u64,
        /// Minor version.
        minor: u64,
    },
    /// `header.op` is not `Reg`.
    #[error("header.op is {0:?}, expected \"Reg\"")]
    Operation(String),
    /// `header.appID` is not the configured AppID.
    #[error("header.appID {0:?} is not this server's AppID")]
    HeaderAppId(String),
    /// Too many responses or assertions.
    #[error("{what} has {len} entries; at most {max} are accepted")]
    TooMany {
        /// The array.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The bound.
        max: usize,
    },
}

impl MessageError {
    /// The error's class.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::HeaderAppId(_) | Self::Version { .. } => ErrorClass::Policy,
            _ => ErrorClass::Malformed,
        }
    }
}

/// `serverData` is not one this server issued, or has expired.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ServerDataError {
    /// Not in the format this server issues.
    #[error("not in this server's format: {0}")]
    Format(String),
    /// The MAC does not verify: tampered or issued by another key.
    #[error("MAC does not verify (tampered, or issued with another key)")]
    Mac,
    /// Past its expiry.
    #[error("expired at {expiry}, verification time {at}")]
    Expired {
        /// Its expiry (Unix seconds).
        expiry: i64,
        /// The verification instant (Unix seconds).
        at: i64,
    },
    /// Issued for another challenge than the one in fcParams.
    #[error("was issued for another challenge")]
    Challenge,
    /// Issued for another user.
    #[error("was issued for user {0:?}")]
    Username(String),
}

impl ServerDataError {
    /// The error's class.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Format(_) => ErrorClass::Malformed,
            Self::Mac => ErrorClass::Signature,
            Self::Expired { .. } | Self::Challenge | Self::Username(_) => ErrorClass::Replay,
        }
    }
}

/// The FinalChallengeParams do not bind this registration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FinalChallengeError {
    /// Not base64url JSON, or a member is missing or mistyped.
    #[error("{0}")]
    Malformed(String),
    /// `appID` is not the configured AppID.
    #[error("appID {0:?} is not this server's AppID")]
    AppId(String),
    /// `challenge` is not the challenge issued.
    #[error("challenge does not match the challenge issued for this registration")]
    Challenge,
    /// `facetID` is not a trusted facet.
    #[error("facetID {0:?} is not a trusted facet of the AppID")]
    FacetId(String),
    /// `channelBinding` is not a ChannelBinding dictionary.
    #[error("channelBinding: {0}")]
    ChannelBinding(String),
}

impl FinalChallengeError {
    /// The error's class.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Malformed(_) | Self::ChannelBinding(_) => ErrorClass::Malformed,
            Self::Challenge => ErrorClass::Replay,
            Self::AppId(_) | Self::FacetId(_) => ErrorClass::Policy,
        }
    }
}

/// A registration assertion failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AssertionError {
    /// `assertionScheme` is not `UAFV1TLV`.
    #[error("assertionScheme {0:?} is not supported (UAFV1TLV is)")]
    Scheme(String),
    /// `assertion` is not base64url.
    #[error("assertion is not base64url")]
    Encoding,
    /// The TLV structure is broken.
    #[error("{0}")]
    Tlv(#[from] TlvError),
    /// A TLV field has an invalid value.
    #[error("{field}: {reason}")]
    BadField {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The algorithm or key encoding is not supported.
    #[error("{0}")]
    Unsupported(String),
    /// FINAL_CHALLENGE_HASH is not the hash of fcParams.
    #[error("FINAL_CHALLENGE_HASH is not SHA-256 of fcParams")]
    FinalChallengeHash,
    /// The AAID is not accepted by the policy.
    #[error("AAID {0} is not accepted by the registration policy")]
    Aaid(String),
    /// The attestation signature does not verify.
    #[error("{attestation} signature does not verify: {reason}")]
    Signature {
        /// basic_full or basic_surrogate.
        attestation: &'static str,
        /// Why.
        reason: String,
    },
    /// The attestation certificate chain.
    #[error("attestation certificate: {0}")]
    Trust(TrustError),
    /// Trust is required and no anchor is configured for the AAID, or the
    /// attestation is surrogate.
    #[error(
        "{attestation} attestation of {aaid} is not trusted and policy requires trusted attestation"
    )]
    Untrusted {
        /// The AAID.
        aaid: String,
        /// basic_full or basic_surrogate.
        attestation: &'static str,
    },
}

impl AssertionError {
    /// The error's class.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Scheme(_)
            | Self::Encoding
            | Self::Tlv(_)
            | Self::BadField { .. }
            | Self::Unsupported(_) => ErrorClass::Malformed,
            Self::FinalChallengeHash | Self::Signature { .. } => ErrorClass::Signature,
            Self::Aaid(_) => ErrorClass::Policy,
            Self::Trust(e) => e.class(),
            Self::Untrusted { .. } => ErrorClass::Untrusted,
        }
    }
}

/// The UAFV1TLV structure is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlvError {
    /// Truncated or trailing bytes.
    #[error("{0}")]
    Cursor(#[from] CursorError),
    /// A tag that is not allowed where it appears.
    #[error("unexpected tag {tag:#06x} in {inside}")]
    UnexpectedTag {
        /// The tag.
        tag: u16,
        /// The enclosing structure.
        inside: &'static str,
    },
    /// A required tag is missing.
    #[error("{inside} lacks {tag}")]
    Missing {
        /// The missing tag's name.
        tag: &'static str,
        /// The enclosing structure.
        inside: &'static str,
    },
    /// A tag that may appear once appears again.
    #[error("{tag} appears more than once in {inside}")]
    Duplicate {
        /// The repeated tag's name.
        tag: &'static str,
        /// The enclosing structure.
        inside: &'static str,
    },
    /// A value has the wrong length.
    #[error("{tag} is {len} bytes; {expected}")]
    Length {
        /// The tag's name.
        tag: &'static str,
        /// Its length.
        len: usize,
        /// What is required.
        expected: &'static str,
    },
    /// Too many TLVs in one structure.
    #[error("{inside} holds more than {max} TLVs")]
    TooMany {
        /// The enclosing structure.
        inside: &'static str,
        /// The bound.
        max: usize,
    },
}
