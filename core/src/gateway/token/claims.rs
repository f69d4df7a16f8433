//! The claims of the verified-credential header.

use serde::{Deserialize, Serialize};

/// Flags of a WebAuthn authenticator data, as claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlagsClaim {
    /// User present.
    pub up: bool,
    /// User verified.
    pub uv: bool,
    /// Backup eligible.
    pub be: bool,
    /// Backed up.
    pub bs: bool,
}

/// One verified credential, as the header carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialClaim {
    /// The credential's role where the dialect has several
    /// (`firstFactor`, `secondFactor`, `recovery`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The credential kind as the client named it (`Fido2`, `Key`, …),
    /// where the dialect names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// `webauthn`, `uaf` or `key`.
    pub protocol: String,
    /// The credential ID (UAF: the KeyID), base64url.
    pub id: String,
    /// The public key, base64url, in the format `public_key_format` names.
    pub public_key: String,
    /// `cose` (WebAuthn), `spki` (key credentials), or the UAF encoding
    /// (`ecc_x962_raw`, `ecc_x962_der`, `rsa_2048_raw`, `rsa_2048_der`).
    pub public_key_format: String,
    /// The signature algorithm, as a JOSE name where one exists.
    pub alg: String,
    /// The COSE algorithm identifier (WebAuthn).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cose_alg: Option<i64>,
    /// The AAGUID (WebAuthn).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aaguid: Option<String>,
    /// The AAID (UAF).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aaid: Option<String>,
    /// The attestation statement format (`packed`, `tpm`, … for WebAuthn;
    /// `uaf` or `key` otherwise).
    pub fmt: String,
    /// The attestation type (`none`, `self`, `basic`, `attca`, …).
    pub attestation_type: String,
    /// Whether the attestation chains to a configured trust anchor.
    pub trusted: bool,
    /// The signature counter.
    pub sign_count: u32,
    /// Authenticator data flags (WebAuthn).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<FlagsClaim>,
    /// Transports the client reported (WebAuthn).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transports: Vec<String>,
    /// What FIDO metadata says of the authenticator, when an entry matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<MetadataClaim>,
}

/// The metadata entry that described a credential's authenticator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataClaim {
    /// The statement's description.
    pub description: String,
    /// The latest status report in effect.
    pub status: Option<String>,
    /// The latest certification level in effect.
    pub certification: Option<String>,
    /// The latest status report's date (`YYYY-MM-DD`).
    pub effective_date: Option<String>,
    /// `blob` or `statements`.
    pub source: String,
    /// The credential's COSE algorithm, when the statement does not list it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unlisted_algorithm: Option<i64>,
}

impl From<&crate::metadata::MetadataVerdict> for MetadataClaim {
    fn from(v: &crate::metadata::MetadataVerdict) -> Self {
        Self {
            description: v.description.clone(),
            status: v.status.clone(),
            certification: v.certification.clone(),
            effective_date: v.effective_date.clone(),
            source: v.source.as_str().to_owned(),
            unlisted_algorithm: v.unlisted_algorithm,
        }
    }
}

/// The claims of the verified-credential header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialClaims {
    /// The gateway (`issuer` in its configuration).
    pub iss: String,
    /// The upstream app (`audience` in its configuration).
    pub aud: String,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expires at, seconds since the epoch (short: the header is for one
    /// request).
    pub exp: i64,
    /// A unique token ID the upstream can use to refuse a replayed header.
    pub jti: String,
    /// `webauthn`, `uaf` or `key` (of the first credential).
    pub protocol: String,
    /// The dialect of the route (`webauthn`, `nevis`, `dfns`, `uaf`).
    pub dialect: String,
    /// The route's name.
    pub route: String,
    /// The user the challenge was issued for, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The WebAuthn user handle issued with the challenge, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_handle: Option<String>,
    /// The verified credentials.
    pub credentials: Vec<CredentialClaim>,
}
