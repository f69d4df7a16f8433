//! The relying party's expectations and policy for a registration.

use super::cose::CoseAlgorithm;
use std::time::Duration;

/// User verification requirement (`authenticatorSelection.userVerification`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserVerification {
    /// The UV flag must be set (§7.1 step 16).
    Required,
    /// UV is asked for but not enforced.
    #[default]
    Preferred,
    /// UV is not asked for.
    Discouraged,
}

impl UserVerification {
    /// The WebAuthn string (`required`, `preferred`, `discouraged`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::Preferred => "preferred",
            Self::Discouraged => "discouraged",
        }
    }
}

/// What the relying party expects of every registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelyingParty {
    /// The RP ID (§7.1 step 14).
    pub rp_id: String,
    /// Allowed origins, compared exactly (§7.1 step 9).
    pub origins: Vec<String>,
    /// Allowed top origins for registration in a cross-origin iframe; empty
    /// refuses `crossOrigin: true` (§7.1 steps 10 and 11).
    pub top_origins: Vec<String>,
    /// Allowed credential key algorithms (§7.1 step 20).
    pub algorithms: Vec<CoseAlgorithm>,
}

impl RelyingParty {
    /// An RP with one origin and every supported algorithm.
    pub fn new(rp_id: impl Into<String>, origin: impl Into<String>) -> Self {
        Self {
            rp_id: rp_id.into(),
            origins: vec![origin.into()],
            top_origins: Vec::new(),
            algorithms: CoseAlgorithm::CREDENTIAL.to_vec(),
        }
    }
}

/// Policy knobs; [`Policy::default`] is what the gateway uses unless
/// configured otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// User verification (default: preferred, not enforced).
    pub user_verification: UserVerification,
    /// Require the UP flag (default true; false only for conditional
    /// create, §7.1 step 15).
    pub require_user_presence: bool,
    /// Accept attestations that do not chain to a trust anchor (`none`,
    /// self, or no anchors configured for the format). Default true.
    pub accept_untrusted: bool,
    /// Accept RS1 (RSASSA-PKCS1-v1_5 with SHA-1) in TPM statements, which
    /// many Windows Hello TPMs still produce. Default true. Credential keys
    /// never use SHA-1.
    pub allow_sha1_tpm: bool,
    /// android-key: take origin and purpose from `teeEnforced` only and
    /// refuse software attestation. Default true.
    pub android_key_require_tee: bool,
    /// android-safetynet: require `ctsProfileMatch: true`. Default true.
    pub safetynet_require_cts_profile_match: bool,
    /// android-safetynet: largest allowed difference between `timestampMs`
    /// and the verification time; `None` skips the check (offline
    /// verification of old captures). Default 60 s.
    pub safetynet_timestamp_skew: Option<Duration>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            user_verification: UserVerification::Preferred,
            require_user_presence: true,
            accept_untrusted: true,
            allow_sha1_tpm: true,
            android_key_require_tee: true,
            safetynet_require_cts_profile_match: true,
            safetynet_timestamp_skew: Some(Duration::from_secs(60)),
        }
    }
}
