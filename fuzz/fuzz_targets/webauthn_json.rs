//! A PublicKeyCredential JSON through `verify_registration`, under a fixed
//! relying party, policy and time: any bytes give an answer, never a panic.
#![no_main]

use fidogate_core::UnixTime;
use fidogate_core::trust::TrustAnchors;
use fidogate_core::webauthn::{Policy, RegistrationCredential, RelyingParty, verify_registration};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(credential) = RegistrationCredential::from_json(data) else {
        return;
    };
    let rp = RelyingParty::new("example.com", "https://example.com");
    let _ = verify_registration(
        &credential,
        b"0123456789abcdef0123456789abcdef",
        &rp,
        &TrustAnchors::new(),
        &Policy::default(),
        UnixTime::from_secs(1_767_225_600),
    );
});
