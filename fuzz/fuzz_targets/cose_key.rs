//! A COSE_Key: CBOR decoded, then checked for its key type and algorithm.
#![no_main]

use fidogate_core::webauthn::CoseKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = ciborium::from_reader::<ciborium::value::Value, _>(data) {
        let _ = CoseKey::from_value(&value);
    }
});
