//! Base64url as the protocols use it.
//!
//! WebAuthn JSON and UAF messages carry binary fields as base64url without
//! padding. Decoding accepts optional padding (some client libraries add it)
//! but rejects non-canonical trailing bits and characters of the standard
//! alphabet, so one byte string has exactly one accepted unpadded spelling.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

const URL_LENIENT_PAD: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

const URL_NO_PAD: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

/// Decodes base64url without padding only: the one spelling of a byte
/// string (canonical trailing bits, the URL alphabet, no `=`), for values
/// compared as the string that was issued (a WebAuthn challenge).
pub fn decode_unpadded(s: &str) -> Result<Vec<u8>, base64::DecodeError> {
    URL_NO_PAD.decode(s)
}

/// Decodes base64url, with or without padding.
pub fn decode(s: &str) -> Result<Vec<u8>, base64::DecodeError> {
    URL_LENIENT_PAD.decode(s)
}

/// Encodes base64url without padding.
pub fn encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes standard base64 with padding (certificates inside JWS headers).
pub fn decode_std(s: &str) -> Result<Vec<u8>, base64::DecodeError> {
    base64::engine::general_purpose::STANDARD.decode(s)
}

/// Encodes standard base64 with padding.
pub fn encode_std(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_accepts_padding() {
        assert_eq!(encode(&[0xfb, 0xff]), "-_8");
        assert_eq!(decode("-_8"), Ok(vec![0xfb, 0xff]));
        assert_eq!(decode("-_8="), Ok(vec![0xfb, 0xff]));
    }

    #[test]
    fn the_unpadded_spelling_is_the_only_one() {
        assert_eq!(decode_unpadded("-_8"), Ok(vec![0xfb, 0xff]));
        for other in ["-_8=", "+/8", "-_9", "-_8 ", ""] {
            let decoded = decode_unpadded(other);
            assert!(decoded.is_err() || decoded == Ok(vec![]), "{other:?}");
        }
    }

    #[test]
    fn rejects_standard_alphabet_and_junk() {
        assert!(decode("+/8").is_err());
        assert!(decode("a b").is_err());
        // Non-zero trailing bits are not a canonical encoding.
        assert!(decode("-_9").is_err());
    }
}
