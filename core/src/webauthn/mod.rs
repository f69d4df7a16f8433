//! WebAuthn (FIDO2) registration verification: W3C WebAuthn Level 3 §7.1.
//!
//! [`verify_registration`] takes the PublicKeyCredential a browser posts
//! after `navigator.credentials.create()`, the challenge issued for it, the
//! relying party's expectations, trust anchors, policy and the verification
//! instant, and returns what the relying party stores, or a
//! [`WebauthnError`] naming the step and field that failed.
//!
//! ```
//! use fidogate_core::webauthn::{Policy, RegistrationCredential, RelyingParty, verify_registration};
//! use fidogate_core::{trust::TrustAnchors, UnixTime};
//!
//! let json = br#"{"id":"AQ","type":"public-key","response":{"clientDataJSON":"e30","attestationObject":"oA"}}"#;
//! let credential = RegistrationCredential::from_json(json).unwrap();
//! let rp = RelyingParty::new("example.com", "https://example.com");
//! let err = verify_registration(&credential, b"challenge", &rp, &TrustAnchors::new(),
//!                               &Policy::default(), UnixTime::from_secs(1_700_000_000)).unwrap_err();
//! assert_eq!(err.class().as_str(), "malformed"); // clientDataJSON `{}` has no type
//! ```
//!
//! # Security
//!
//! - Every signature is verified over the bytes as received, never over a
//!   re-encoding; CBOR maps with duplicate keys are refused.
//! - Attestation chains are judged at the instant passed in; when anchors
//!   are configured for a format, a chain that does not reach one is
//!   rejected. Without anchors the result says `trusted: false`, and
//!   [`Policy::accept_untrusted`] decides.
//! - The challenge comparison is constant-time; keeping challenges single
//!   use is the caller's job (the gateway's challenge cache does it).

pub mod attestation;
pub mod auth_data;
pub mod client_data;
pub mod cose;
pub mod credential;
pub mod error;
pub mod policy;
pub mod verify;

pub use attestation::{AttestationType, Format};
pub use cose::{CoseAlgorithm, CoseKey};
pub use credential::RegistrationCredential;
pub use error::{
    AuthDataError, ClientDataError, CoseError, CredentialError, StatementError, WebauthnError,
};
pub use policy::{Policy, RelyingParty, UserVerification};
pub use verify::{VerifiedRegistration, format_uuid, verify_registration};
