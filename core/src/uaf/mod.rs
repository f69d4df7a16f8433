//! FIDO UAF 1.x registration: RegistrationRequest (`/regRequest`) and
//! RegistrationResponse verification (`/regResponse`).
//!
//! [`verify_registration_response`] processes the array a client posts,
//! strictly: supported `upv`, `serverData` MAC and expiry
//! ([`ServerDataKey`]), the `fcParams` AppID, challenge, FacetID and channel
//! binding, then each UAFV1TLV assertion: strict TLV parsing, the KRD
//! fields, the AAID against the policy, FINAL_CHALLENGE_HASH against the
//! hash of `fcParams`, and the Basic Full (certificate chain against the
//! AAID's anchors at the verification time) or Basic Surrogate signature.
//! Only assertions that verified become [`UafRegistration`]s; any failure
//! rejects the whole response.
//!
//! ```
//! use fidogate_core::uaf::{RegistrationPolicy, ServerDataCheck, UafExpectations, verify_registration_response};
//! use fidogate_core::{trust::TrustAnchors, UnixTime};
//! let expected = UafExpectations {
//!     app_id: "https://example.com/uaf/facets".into(),
//!     challenge: "c".into(),
//!     trusted_facets: vec![],
//!     policy: RegistrationPolicy::any(),
//!     require_trusted: false,
//! };
//! let err = verify_registration_response(&serde_json::json!({}), &expected, ServerDataCheck::Skip,
//!                                        &TrustAnchors::new(), UnixTime::from_secs(0)).unwrap_err();
//! assert_eq!(err.class().as_str(), "malformed");
//! ```

pub mod algorithms;
pub mod assertion;
pub mod error;
pub mod request;
pub mod response;
pub mod server_data;
pub mod tlv;

pub use algorithms::{KeyEncoding, SignAlg, SignatureError};
pub use assertion::{
    UafAttestation, UafRegistration, parse_reg_assertion, verify_assertion, verify_assertion_json,
};
pub use error::{
    AssertionError, FinalChallengeError, MessageError, ServerDataError, TlvError, UafError,
};
pub use request::{
    MatchCriteria, RegistrationPolicy, RegistrationRequest, TooFewRandomBytes,
    challenge_from_random,
};
pub use response::{
    ServerDataCheck, UafExpectations, claimed_challenge, verify_registration_response,
};
pub use server_data::{ServerDataClaims, ServerDataIssueError, ServerDataKey};
