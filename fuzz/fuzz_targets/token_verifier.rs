//! The verified-credential token verifier, as an app runs it with the
//! gateway's JWKS: arbitrary tokens are refused or verified, never a
//! panic; and claims the gateway's key signed come back as they went in
//! whenever the verifier accepts them.
#![no_main]

use fidogate_core::UnixTime;
use fidogate_core::gateway::{TokenSigner, verify_token};
use fidogate_fuzz::GATEWAY_KEY;
use jsonwebtoken::jwk::JwkSet;
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

static KEY: LazyLock<(TokenSigner, JwkSet)> = LazyLock::new(|| {
    let signer = TokenSigner::from_pkcs8_pem(GATEWAY_KEY).expect("the fuzz key parses");
    let set = serde_json::from_value(serde_json::json!({"keys": [signer.jwk()]})).expect("a JWKS");
    (signer, set)
});

fuzz_target!(|data: &[u8]| {
    let (signer, jwks) = &*KEY;
    let now = UnixTime::from_secs(1_767_225_600);
    match data.split_first() {
        Some((0, claims)) => {
            let Ok(claims) = serde_json::from_slice::<serde_json::Value>(claims) else {
                return;
            };
            let Ok(token) = signer.sign(&claims) else {
                return;
            };
            if let Ok(verified) = verify_token(&token, jwks, "fidogate", "app", now, 0) {
                let back = serde_json::to_value(&verified).expect("claims serialise");
                assert_eq!(back["iss"], claims["iss"]);
                assert_eq!(back["aud"], claims["aud"]);
                assert_eq!(back["jti"], claims["jti"]);
            }
        }
        _ => {
            if let Ok(token) = std::str::from_utf8(data) {
                let _ = verify_token(token, jwks, "fidogate", "app", now, 0);
            }
        }
    }
});
