//! Key-credential documents: `credId`, `clientData` and `attestationData`
//! (three lines of base64url, or three raw documents separated by NUL and
//! encoded here) verified against a fixed challenge and origin.
#![no_main]

use fidogate_core::b64;
use fidogate_core::keycred::verify_key_credential;
use libfuzzer_sys::fuzz_target;

const CHALLENGE: &[u8] = b"0123456789abcdef0123456789abcdef";

fuzz_target!(|data: &[u8]| {
    let parts: Vec<String> = match std::str::from_utf8(data) {
        Ok(text) if text.matches('\n').count() == 2 => {
            text.split('\n').map(str::to_owned).collect()
        }
        _ => data.splitn(3, |b| *b == 0).map(b64::encode).collect(),
    };
    let [cred_id, client_data, attestation] = parts.as_slice() else {
        return;
    };
    let origins = ["https://example.com".to_owned()];
    let _ = verify_key_credential(cred_id, client_data, attestation, CHALLENGE, &origins);
});
