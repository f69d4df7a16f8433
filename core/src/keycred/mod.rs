//! Key credentials: a key pair the client holds itself (a service
//! account's key, a password-protected or recovery key) and registers by
//! signing the challenge together with its public key. This is the wallet
//! API's `Key`, `PasswordProtectedKey` and `RecoveryKey` credential kinds.
//!
//! The registration carries two base64url JSON documents:
//!
//! - `clientData`: `{"type":"key.create","challenge":…,"origin":…}`;
//! - `attestationData`: `{"publicKey":"<PEM SPKI>","signature":"<hex>",
//!   "algorithm":…}`, where the signature covers the compact JSON
//!   `{"clientDataHash":"<hex SHA-256 of the clientData bytes>","publicKey":"<the PEM>"}`
//!   (those keys in that order, no spaces).
//!
//! ```
//! use fidogate_core::keycred::{KeyCredentialError, verify_key_credential};
//! // A credential that does not even decode is refused with a reason.
//! let err = verify_key_credential("aWQ", "not base64!", "e30", b"challenge", &[]).unwrap_err();
//! assert!(matches!(err, KeyCredentialError::Encoding { field: "clientData", .. }));
//! ```
//!
//! Supported keys: ECDSA P-256 and P-384 (DER signatures, SHA-256 unless
//! `algorithm` names another digest), RSA 2048 to 8192 bits (PKCS#1 v1.5)
//! and Ed25519.

mod error;
mod verify;

pub use error::KeyCredentialError;
pub use verify::{
    KeyClientData, MAX_DOCUMENT_LEN, VerifiedKeyCredential, signed_payload, verify_key_credential,
};
