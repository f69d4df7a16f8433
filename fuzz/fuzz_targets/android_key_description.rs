//! The Android key attestation extension (KeyDescription, DER) fed
//! directly, not only inside a certificate.
#![no_main]

use fidogate_core::webauthn::attestation::fuzzing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = fuzzing::android_key_description(data);
});
