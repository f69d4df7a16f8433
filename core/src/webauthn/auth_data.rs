//! Authenticator data: W3C WebAuthn Level 3 §6.1 and §6.5.1.
//!
//! ```text
//! rpIdHash (32) | flags (1) | signCount (4, BE)
//! [ aaguid (16) | credentialIdLength (2, BE) | credentialId | credentialPublicKey (CBOR) ]  if AT
//! [ extensions (CBOR map) ]                                                                if ED
//! ```
//! Nothing may follow.

use super::error::AuthDataError;
use crate::cbor::{self, CborError};
use crate::cursor::Cursor;
use ciborium::value::Value;

/// Largest credential ID accepted (§7.1 step 25).
pub const MAX_CREDENTIAL_ID_LEN: usize = 1023;

/// The flags byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flags(pub u8);

impl Flags {
    /// User present (bit 0).
    pub fn up(self) -> bool {
        self.0 & 0x01 != 0
    }
    /// User verified (bit 2).
    pub fn uv(self) -> bool {
        self.0 & 0x04 != 0
    }
    /// Backup eligible (bit 3).
    pub fn be(self) -> bool {
        self.0 & 0x08 != 0
    }
    /// Backed up (bit 4).
    pub fn bs(self) -> bool {
        self.0 & 0x10 != 0
    }
    /// Attested credential data included (bit 6).
    pub fn at(self) -> bool {
        self.0 & 0x40 != 0
    }
    /// Extension data included (bit 7).
    pub fn ed(self) -> bool {
        self.0 & 0x80 != 0
    }
}

/// The attested credential data.
#[derive(Debug, Clone)]
pub struct AttestedCredential<'a> {
    /// The authenticator model's AAGUID.
    pub aaguid: [u8; 16],
    /// The credential ID.
    pub credential_id: &'a [u8],
    /// The COSE_Key bytes as the authenticator encoded them.
    pub public_key_raw: &'a [u8],
    /// The COSE_Key decoded.
    pub public_key: Value,
}

/// Parsed authenticator data, borrowing its bytes.
#[derive(Debug, Clone)]
pub struct AuthenticatorData<'a> {
    /// The bytes, as signed.
    pub raw: &'a [u8],
    /// SHA-256 of the RP ID.
    pub rp_id_hash: [u8; 32],
    /// Flags.
    pub flags: Flags,
    /// Signature counter.
    pub sign_count: u32,
    /// Attested credential data (present when AT is set).
    pub attested: Option<AttestedCredential<'a>>,
    /// Extension outputs (present when ED is set).
    pub extensions: Option<Value>,
}

impl<'a> AuthenticatorData<'a> {
    /// Parses authenticator data; refuses truncated or trailing bytes and a
    /// flags byte that disagrees with what follows.
    pub fn parse(raw: &'a [u8]) -> Result<Self, AuthDataError> {
        let mut c = Cursor::new(raw);
        let rp_id_hash = c.take_array::<32>("authData.rpIdHash")?;
        let flags = Flags(c.u8("authData.flags")?);
        let sign_count = c.u32_be("authData.signCount")?;
        let attested = if flags.at() {
            let aaguid = c.take_array::<16>("attestedCredentialData.aaguid")?;
            let len = c.u16_be("attestedCredentialData.credentialIdLength")?;
            let len = usize::from(len);
            if len > MAX_CREDENTIAL_ID_LEN {
                return Err(AuthDataError::CredentialIdTooLong(len));
            }
            let credential_id = c.take(len, "attestedCredentialData.credentialId")?;
            let rest = c.rest();
            let (public_key, used) = cbor::decode_prefix(rest, "credentialPublicKey")?;
            let public_key_raw = c.take(used, "credentialPublicKey")?;
            Some(AttestedCredential {
                aaguid,
                credential_id,
                public_key_raw,
                public_key,
            })
        } else {
            None
        };
        let extensions = if flags.ed() {
            if c.is_empty() {
                return Err(AuthDataError::Extensions(
                    "ED flag is set but no extensions follow",
                ));
            }
            let (ext, used) = cbor::decode_prefix(c.rest(), "authData.extensions")?;
            c.take(used, "authData.extensions")?;
            if !ext.is_map() {
                return Err(AuthDataError::Cbor(CborError::WrongType {
                    what: "authData.extensions",
                    expected: "a map",
                }));
            }
            cbor::Map::new(&ext, "authData.extensions")?;
            Some(ext)
        } else {
            None
        };
        c.finish("authData")?;
        Ok(Self {
            raw,
            rp_id_hash,
            flags,
            sign_count,
            attested,
            extensions,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cursor::CursorError;

    fn sample() -> Vec<u8> {
        let mut v = vec![7u8; 32];
        v.push(0x41 | 0x80); // UP, AT, ED
        v.extend_from_slice(&5u32.to_be_bytes());
        v.extend_from_slice(&[9u8; 16]);
        v.extend_from_slice(&2u16.to_be_bytes());
        v.extend_from_slice(&[0xaa, 0xbb]);
        v.extend_from_slice(&[0xa1, 0x01, 0x02]); // {1: 2}
        v.extend_from_slice(&[0xa1, 0x61, b'x', 0xf5]); // {"x": true}
        v
    }

    #[test]
    fn parses_all_parts() {
        let bytes = sample();
        let ad = AuthenticatorData::parse(&bytes).unwrap();
        assert_eq!(ad.sign_count, 5);
        let at = ad.attested.unwrap();
        assert_eq!(at.credential_id, &[0xaa, 0xbb]);
        assert_eq!(at.public_key_raw, &[0xa1, 0x01, 0x02]);
        assert!(ad.extensions.is_some());
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = sample();
        for n in 0..bytes.len() {
            assert!(
                AuthenticatorData::parse(&bytes[..n]).is_err(),
                "prefix {n} parsed"
            );
        }
    }

    #[test]
    fn trailing_data_is_an_error() {
        let mut bytes = sample();
        bytes.push(0);
        assert!(matches!(
            AuthenticatorData::parse(&bytes),
            Err(AuthDataError::Cbor(_) | AuthDataError::Parse(CursorError::TrailingData { .. }))
        ));
        // Without ED, the extensions map itself is trailing data.
        let mut bytes = sample();
        bytes[32] &= !0x80;
        assert!(matches!(
            AuthenticatorData::parse(&bytes),
            Err(AuthDataError::Parse(CursorError::TrailingData {
                what: "authData",
                extra: 4
            }))
        ));
    }

    #[test]
    fn long_credential_id_is_refused() {
        let mut bytes = vec![0u8; 37];
        bytes[32] = 0x41;
        bytes.extend_from_slice(&[0u8; 16]);
        bytes.extend_from_slice(&1024u16.to_be_bytes());
        bytes.extend_from_slice(&[0u8; 1024]);
        assert_eq!(
            AuthenticatorData::parse(&bytes).unwrap_err(),
            AuthDataError::CredentialIdTooLong(1024)
        );
    }
}
