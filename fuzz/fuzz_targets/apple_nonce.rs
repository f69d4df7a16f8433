//! The Apple anonymous attestation nonce extension (DER) fed directly.
#![no_main]

use fidogate_core::webauthn::attestation::fuzzing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(len) = fuzzing::apple_nonce(data) {
        assert!(len <= data.len());
    }
});
