//! UAFV1TLV: little-endian 16-bit tags and lengths (FIDO UAF Authenticator
//! Commands §4, UAF Registry §3.1), nested for composite tags.

use super::error::TlvError;
use crate::cursor::Cursor;

/// TAG_UAFV1_REG_ASSERTION.
pub const TAG_UAFV1_REG_ASSERTION: u16 = 0x3E01;
/// TAG_UAFV1_KRD.
pub const TAG_UAFV1_KRD: u16 = 0x3E03;
/// TAG_ATTESTATION_BASIC_FULL.
pub const TAG_ATTESTATION_BASIC_FULL: u16 = 0x3E07;
/// TAG_ATTESTATION_BASIC_SURROGATE.
pub const TAG_ATTESTATION_BASIC_SURROGATE: u16 = 0x3E08;
/// TAG_ATTESTATION_ECDAA.
pub const TAG_ATTESTATION_ECDAA: u16 = 0x3E09;
/// TAG_EXTENSION (critical).
pub const TAG_EXTENSION: u16 = 0x3E11;
/// TAG_EXTENSION_NON_CRITICAL.
pub const TAG_EXTENSION_NON_CRITICAL: u16 = 0x3E12;
/// TAG_ATTESTATION_CERT.
pub const TAG_ATTESTATION_CERT: u16 = 0x2E05;
/// TAG_SIGNATURE.
pub const TAG_SIGNATURE: u16 = 0x2E06;
/// TAG_KEYID.
pub const TAG_KEYID: u16 = 0x2E09;
/// TAG_FINAL_CHALLENGE_HASH.
pub const TAG_FINAL_CHALLENGE_HASH: u16 = 0x2E0A;
/// TAG_AAID.
pub const TAG_AAID: u16 = 0x2E0B;
/// TAG_PUB_KEY.
pub const TAG_PUB_KEY: u16 = 0x2E0C;
/// TAG_COUNTERS.
pub const TAG_COUNTERS: u16 = 0x2E0D;
/// TAG_ASSERTION_INFO.
pub const TAG_ASSERTION_INFO: u16 = 0x2E0E;

/// TAG_AUTHENTICATOR_NONCE.
pub const TAG_AUTHENTICATOR_NONCE: u16 = 0x2E0F;
/// TAG_TRANSACTION_CONTENT_HASH.
pub const TAG_TRANSACTION_CONTENT_HASH: u16 = 0x2E10;

/// Most TLVs accepted in one structure.
pub const MAX_TLVS: usize = 32;

/// One TLV, borrowing its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The tag.
    pub tag: u16,
    /// The value.
    pub value: &'a [u8],
    /// Tag, length and value, as signed.
    pub raw: &'a [u8],
}

/// Splits `bytes` into consecutive TLVs; every byte must belong to one.
pub fn parse_all<'a>(bytes: &'a [u8], inside: &'static str) -> Result<Vec<Tlv<'a>>, TlvError> {
    let mut c = Cursor::new(bytes);
    let mut out = Vec::new();
    while !c.is_empty() {
        if out.len() == MAX_TLVS {
            return Err(TlvError::TooMany {
                inside,
                max: MAX_TLVS,
            });
        }
        let start = c.rest();
        let tag = c.u16_le("TLV tag")?;
        let len = usize::from(c.u16_le("TLV length")?);
        let value = c.take(len, inside)?;
        let raw = start.get(..4 + len).unwrap_or_default();
        out.push(Tlv { tag, value, raw });
    }
    Ok(out)
}

/// Parses `bytes` as exactly one TLV with tag `tag`.
pub fn parse_one<'a>(bytes: &'a [u8], tag: u16, name: &'static str) -> Result<Tlv<'a>, TlvError> {
    let mut all = parse_all(bytes, name)?;
    match (all.pop(), all.is_empty()) {
        (Some(t), true) if t.tag == tag => Ok(t),
        (Some(t), true) => Err(TlvError::UnexpectedTag {
            tag: t.tag,
            inside: name,
        }),
        (None, _) => Err(TlvError::Missing {
            tag: name,
            inside: "assertion",
        }),
        (Some(_), false) => Err(TlvError::Cursor(crate::cursor::CursorError::TrailingData {
            what: name,
            extra: bytes
                .len()
                .saturating_sub(all.first().map_or(0, |t| t.raw.len())),
        })),
    }
}

/// The one TLV with `tag` among `tlvs`, refusing repeats.
pub fn unique<'a>(
    tlvs: &[Tlv<'a>],
    tag: u16,
    name: &'static str,
    inside: &'static str,
) -> Result<Option<Tlv<'a>>, TlvError> {
    let mut found = None;
    for t in tlvs.iter().filter(|t| t.tag == tag) {
        if found.is_some() {
            return Err(TlvError::Duplicate { tag: name, inside });
        }
        found = Some(*t);
    }
    Ok(found)
}

/// Like [`unique`], but the tag must be present.
pub fn required<'a>(
    tlvs: &[Tlv<'a>],
    tag: u16,
    name: &'static str,
    inside: &'static str,
) -> Result<Tlv<'a>, TlvError> {
    unique(tlvs, tag, name, inside)?.ok_or(TlvError::Missing { tag: name, inside })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_little_endian_tags_and_lengths() {
        let bytes = [0x0b, 0x2e, 0x02, 0x00, b'h', b'i', 0x06, 0x2e, 0x00, 0x00];
        let t = parse_all(&bytes, "t").unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(
            (t[0].tag, t[0].value, t[0].raw),
            (TAG_AAID, &b"hi"[..], &bytes[..6])
        );
        assert_eq!((t[1].tag, t[1].value), (TAG_SIGNATURE, &[][..]));
        for n in 1..bytes.len() {
            if n != 6 {
                assert!(parse_all(&bytes[..n], "t").is_err(), "prefix {n}");
            }
        }
    }

    #[test]
    fn oversized_lengths_and_repeats_are_refused() {
        assert!(parse_all(&[0x0b, 0x2e, 0xff, 0xff, 1, 2], "t").is_err());
        let bytes = [0x0b, 0x2e, 0x00, 0x00, 0x0b, 0x2e, 0x00, 0x00];
        let t = parse_all(&bytes, "t").unwrap();
        assert!(matches!(
            unique(&t, TAG_AAID, "AAID", "KRD"),
            Err(TlvError::Duplicate { .. })
        ));
        assert!(matches!(
            required(&t, TAG_KEYID, "KEYID", "KRD"),
            Err(TlvError::Missing { .. })
        ));
        let many: Vec<u8> = std::iter::repeat_n([0x0b, 0x2e, 0, 0], 40)
            .flatten()
            .collect();
        assert!(matches!(
            parse_all(&many, "t"),
            Err(TlvError::TooMany { .. })
        ));
    }

    #[test]
    fn parse_one_refuses_trailing_data_and_wrong_tags() {
        assert!(parse_one(&[0x01, 0x3e, 0, 0], TAG_UAFV1_REG_ASSERTION, "reg").is_ok());
        assert!(parse_one(&[0x01, 0x3e, 0, 0, 0], TAG_UAFV1_REG_ASSERTION, "reg").is_err());
        assert!(
            parse_one(
                &[0x01, 0x3e, 0, 0, 0x01, 0x3e, 0, 0],
                TAG_UAFV1_REG_ASSERTION,
                "reg"
            )
            .is_err()
        );
        assert!(matches!(
            parse_one(&[0x03, 0x3e, 0, 0], TAG_UAFV1_REG_ASSERTION, "reg"),
            Err(TlvError::UnexpectedTag { .. })
        ));
    }
}
