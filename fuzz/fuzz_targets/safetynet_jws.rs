//! The SafetyNet statement's `response` (a compact JWS: header with x5c,
//! payload with nonce, ctsProfileMatch and timestampMs) checked against
//! fixed authenticator data.
#![no_main]

use fidogate_core::webauthn::attestation::fuzzing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = fuzzing::safetynet_response(data);
});
