//! Authenticator data: flags, attested credential data, extensions.
#![no_main]

use fidogate_core::webauthn::auth_data::AuthenticatorData;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = AuthenticatorData::parse(data) {
        // What parsed must re-read as the same bytes it came from.
        let again = AuthenticatorData::parse(data).ok();
        assert_eq!(again.map(|a| a.flags), Some(parsed.flags));
    }
});
