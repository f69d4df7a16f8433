//! A UAF RegistrationResponse array (JSON, fcParams, TLV assertions).
#![no_main]

use fidogate_core::UnixTime;
use fidogate_core::trust::TrustAnchors;
use fidogate_core::uaf::{
    RegistrationPolicy, ServerDataCheck, UafExpectations, verify_registration_response,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let expected = UafExpectations {
        app_id: "https://example.com/uaf/facets".into(),
        challenge: "Y2hhbGxlbmdl".into(),
        trusted_facets: vec![],
        policy: RegistrationPolicy::any(),
        require_trusted: false,
    };
    let _ = verify_registration_response(
        &value,
        &expected,
        ServerDataCheck::Skip,
        &TrustAnchors::new(),
        UnixTime::from_secs(1_767_225_600),
    );
});
