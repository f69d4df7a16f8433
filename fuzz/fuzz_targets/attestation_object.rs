//! Arbitrary attestationObject bytes (CBOR: fmt, attStmt, authData) with a
//! well-formed clientDataJSON, so that every statement format's checks see
//! the bytes.
#![no_main]

use fidogate_core::UnixTime;
use fidogate_core::trust::TrustAnchors;
use fidogate_core::webauthn::{Policy, RegistrationCredential, RelyingParty, verify_registration};
use libfuzzer_sys::fuzz_target;

const CLIENT_DATA: &[u8] = br#"{"type":"webauthn.create","challenge":"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY","origin":"https://example.com","crossOrigin":false}"#;

fuzz_target!(|data: &[u8]| {
    let credential = RegistrationCredential {
        raw_id: vec![1; 16],
        client_data_json: CLIENT_DATA.to_vec(),
        attestation_object: data.to_vec(),
        transports: Vec::new(),
        client_extension_results: serde_json::Map::new(),
    };
    let _ = verify_registration(
        &credential,
        b"0123456789abcdef0123456789abcdef",
        &RelyingParty::new("example.com", "https://example.com"),
        &TrustAnchors::new(),
        &Policy::default(),
        UnixTime::from_secs(1_767_225_600),
    );
});
