use crate::error::ErrorClass;

/// Why a key credential was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyCredentialError {
    /// A field is not valid base64url, or too long.
    #[error("{field}: {reason}")]
    Encoding {
        /// `credId`, `clientData` or `attestationData`.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A document is not the JSON object expected.
    #[error("{document}: {reason}")]
    Document {
        /// `clientData` or `attestationData`.
        document: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// `clientData.type` is not `key.create`.
    #[error("clientData.type is {0:?}, expected \"key.create\"")]
    Type(String),
    /// `clientData.challenge` is not the challenge issued.
    #[error("clientData.challenge is not the challenge issued")]
    Challenge,
    /// `clientData.origin` is not an allowed origin.
    #[error("clientData.origin {0:?} is not an allowed origin")]
    Origin(String),
    /// The public key cannot be used.
    #[error("attestationData.publicKey: {0}")]
    PublicKey(String),
    /// `algorithm` is unknown or does not fit the key.
    #[error("attestationData.algorithm {0:?} is not supported for this key")]
    Algorithm(String),
    /// The signature does not verify.
    #[error("attestationData.signature does not verify: {0}")]
    Signature(String),
}

impl KeyCredentialError {
    /// The error's class.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Challenge => ErrorClass::Replay,
            Self::Origin(_) | Self::Algorithm(_) => ErrorClass::Policy,
            Self::Signature(_) => ErrorClass::Signature,
            Self::Encoding { .. } | Self::Document { .. } | Self::Type(_) | Self::PublicKey(_) => {
                ErrorClass::Malformed
            }
        }
    }
}
