//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`): the
//! parsers a statement format keeps to itself, fed directly, and one
//! statement verified against fixed authenticator data. Not an API.

use super::{Ctx, Format, android_key, apple, tpm};
use crate::crypto::sha256;
use crate::time::UnixTime;
use crate::webauthn::auth_data::AuthenticatorData;
use crate::webauthn::cose::CoseKey;
use crate::webauthn::policy::Policy;
use ciborium::value::Value;

/// P-256's generator point: a key on the curve for the fixed authData.
const G_X: [u8; 32] = [
    0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5, 0x63, 0xa4, 0x40, 0xf2,
    0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4, 0xa1, 0x39, 0x45, 0xd8, 0x98, 0xc2, 0x96,
];
const G_Y: [u8; 32] = [
    0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a, 0x7f, 0x9b, 0x8e, 0xe7, 0xeb, 0x4a, 0x7c, 0x0f, 0x9e, 0x16,
    0x2b, 0xce, 0x33, 0x57, 0x6b, 0x31, 0x5e, 0xce, 0xcb, 0xb6, 0x40, 0x68, 0x37, 0xbf, 0x51, 0xf5,
];

/// TPMT_PUBLIC (`pubArea`): `Err` with the reason, never a panic.
pub fn tpm_pub_area(raw: &[u8]) -> Result<(), String> {
    tpm::PubArea::parse(raw)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// TPMS_ATTEST (`certInfo`).
pub fn tpm_cert_info(raw: &[u8]) -> Result<(), String> {
    tpm::CertInfo::parse(raw)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The Android key attestation extension's KeyDescription (DER).
pub fn android_key_description(der: &[u8]) -> Result<(), String> {
    android_key::KeyDescription::parse(der)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The Apple anonymous attestation nonce extension (DER).
pub fn apple_nonce(der: &[u8]) -> Result<usize, String> {
    apple::nonce_from_extension(der)
        .map(<[u8]>::len)
        .map_err(|e| e.to_string())
}

/// Fixed authenticator data: rpIdHash of example.com, UP UV AT, a 16-byte
/// credential ID and an ES256 key.
pub fn fixed_auth_data() -> Vec<u8> {
    let key = Value::Map(vec![
        (Value::from(1), Value::from(2)),
        (Value::from(3), Value::from(-7)),
        (Value::from(-1), Value::from(1)),
        (Value::from(-2), Value::Bytes(G_X.to_vec())),
        (Value::from(-3), Value::Bytes(G_Y.to_vec())),
    ]);
    let mut raw = sha256(b"example.com").to_vec();
    raw.push(0x45);
    raw.extend_from_slice(&[0; 4]);
    raw.extend_from_slice(&[0; 16]);
    raw.extend_from_slice(&[0, 16]);
    raw.extend_from_slice(&[1; 16]);
    let mut cose = Vec::new();
    if ciborium::into_writer(&key, &mut cose).is_ok() {
        raw.extend_from_slice(&cose);
    }
    raw
}

/// `fmt`'s verification procedure over `att_stmt` against the fixed
/// authenticator data and a fixed client data hash.
pub fn statement(fmt: Format, att_stmt: &Value) -> Result<(), String> {
    let raw = fixed_auth_data();
    let auth_data = AuthenticatorData::parse(&raw).map_err(|e| e.to_string())?;
    let Some(attested) = auth_data.attested.as_ref() else {
        return Err("the fixed authData has no credential".into());
    };
    let key = CoseKey::from_value(&attested.public_key).map_err(|e| e.to_string())?;
    let ctx = Ctx {
        auth_data: &auth_data,
        attested,
        credential: &key,
        client_data_hash: &[7; 32],
        policy: &Policy::default(),
        time: UnixTime::from_secs(1_767_225_600),
    };
    super::verify(fmt, att_stmt, &ctx)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The SafetyNet statement with `response` as its JWS bytes.
pub fn safetynet_response(response: &[u8]) -> Result<(), String> {
    let stmt = Value::Map(vec![
        (Value::from("ver"), Value::from("12.0.0")),
        (Value::from("response"), Value::Bytes(response.to_vec())),
    ]);
    statement(Format::AndroidSafetynet, &stmt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixed_authenticator_data_reaches_the_statement_checks() {
        // `none` with an empty statement passes: the fixture itself parses.
        assert_eq!(statement(Format::None, &Value::Map(vec![])), Ok(()));
        // A SafetyNet response that is not a JWS is refused by name.
        let err = safetynet_response(b"not a jws").unwrap_err();
        assert!(err.contains("compact JWS"), "{err}");
        assert!(tpm_pub_area(&[0, 1]).is_err());
        assert!(apple_nonce(&[0x30, 0x00]).is_err());
    }
}
