//! `serverData`: opaque to the client, tamper-evident to the server.
//!
//! `base64url(1 | expiry (i64 BE) | len | challenge | len (u16 BE) | username | HMAC-SHA256)`
//! where the MAC, keyed with the server's secret, covers every byte before it.

use super::error::ServerDataError;
use crate::b64;
use crate::cursor::Cursor;
use crate::time::UnixTime;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const VERSION: u8 = 1;
const MAC_LEN: usize = 32;
/// Shortest accepted key, in bytes.
pub const MIN_KEY_LEN: usize = 32;

/// The secret that MACs serverData.
#[derive(Clone)]
pub struct ServerDataKey(Vec<u8>);

impl std::fmt::Debug for ServerDataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerDataKey(..)")
    }
}

/// What a valid serverData says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerDataClaims {
    /// The challenge it was issued with.
    pub challenge: String,
    /// The user it was issued for.
    pub username: String,
    /// When it expires.
    pub expiry: UnixTime,
}

/// serverData could not be made: the caller's inputs are out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ServerDataIssueError {
    /// The MAC key is too short.
    #[error("the serverData key must be at least {min} bytes, got {got}")]
    ShortKey {
        /// The shortest key.
        min: usize,
        /// Its length.
        got: usize,
    },
    /// The challenge is longer than 255 bytes.
    #[error("the challenge is {0} bytes, longer than 255")]
    LongChallenge(usize),
    /// The username is longer than 65,535 bytes.
    #[error("the username is {0} bytes, longer than 65535")]
    LongUsername(usize),
}

impl ServerDataKey {
    /// A key of at least [`MIN_KEY_LEN`] bytes.
    pub fn new(secret: &[u8]) -> Result<Self, ServerDataIssueError> {
        if secret.len() < MIN_KEY_LEN {
            return Err(ServerDataIssueError::ShortKey {
                min: MIN_KEY_LEN,
                got: secret.len(),
            });
        }
        Ok(Self(secret.to_vec()))
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes keys of any length; new_from_slice cannot fail.
        match Hmac::<Sha256>::new_from_slice(&self.0) {
            Ok(m) => m,
            Err(_) => unreachable_hmac(),
        }
    }

    /// serverData for `challenge` and `username`, valid until `expiry`.
    pub fn issue(
        &self,
        challenge: &str,
        username: &str,
        expiry: UnixTime,
    ) -> Result<String, ServerDataIssueError> {
        let c = u8::try_from(challenge.len())
            .map_err(|_| ServerDataIssueError::LongChallenge(challenge.len()))?;
        let u = u16::try_from(username.len())
            .map_err(|_| ServerDataIssueError::LongUsername(username.len()))?;
        let mut body = vec![VERSION];
        body.extend_from_slice(&expiry.as_secs().to_be_bytes());
        body.push(c);
        body.extend_from_slice(challenge.as_bytes());
        body.extend_from_slice(&u.to_be_bytes());
        body.extend_from_slice(username.as_bytes());
        let mut mac = self.mac();
        mac.update(&body);
        body.extend_from_slice(&mac.finalize().into_bytes());
        Ok(b64::encode(&body))
    }

    /// Checks the MAC and the expiry at `at`; returns the claims.
    pub fn verify(
        &self,
        server_data: &str,
        at: UnixTime,
    ) -> Result<ServerDataClaims, ServerDataError> {
        let fmt = |m: &str| ServerDataError::Format(m.to_owned());
        let bytes = b64::decode(server_data).map_err(|_| fmt("not base64url"))?;
        let split = bytes
            .len()
            .checked_sub(MAC_LEN)
            .ok_or_else(|| fmt("too short"))?;
        let (body, tag) = bytes.split_at(split);
        // MAC first: nothing of an unauthenticated body is interpreted.
        let mut mac = self.mac();
        mac.update(body);
        mac.verify_slice(tag).map_err(|_| ServerDataError::Mac)?;
        let mut c = Cursor::new(body);
        let parse = |e: crate::cursor::CursorError| ServerDataError::Format(e.to_string());
        if c.u8("serverData.version").map_err(parse)? != VERSION {
            return Err(fmt("unknown version"));
        }
        let expiry = UnixTime::from_secs(i64::from_be_bytes(
            c.take_array("serverData.expiry").map_err(parse)?,
        ));
        let clen = c.u8("serverData.challenge").map_err(parse)?;
        let challenge = c
            .take(usize::from(clen), "serverData.challenge")
            .map_err(parse)?;
        let username = c.sized_u16_be("serverData.username").map_err(parse)?;
        c.finish("serverData").map_err(parse)?;
        if at > expiry {
            return Err(ServerDataError::Expired {
                expiry: expiry.as_secs(),
                at: at.as_secs(),
            });
        }
        let text = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|_| fmt("not UTF-8"));
        Ok(ServerDataClaims {
            challenge: text(challenge)?,
            username: text(username)?,
            expiry,
        })
    }
}

#[allow(
    clippy::panic,
    reason = "HMAC accepts keys of every length; this cannot happen"
)]
fn unreachable_hmac() -> ! {
    panic!("HMAC-SHA256 rejected a key")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ServerDataKey {
        ServerDataKey::new(&[7; 32]).unwrap()
    }

    #[test]
    fn round_trips_and_expires() {
        let sd = key()
            .issue("chal", "bao", UnixTime::from_secs(100))
            .unwrap();
        let claims = key().verify(&sd, UnixTime::from_secs(100)).unwrap();
        assert_eq!(
            (claims.challenge.as_str(), claims.username.as_str()),
            ("chal", "bao")
        );
        assert!(matches!(
            key().verify(&sd, UnixTime::from_secs(101)),
            Err(ServerDataError::Expired { .. })
        ));
    }

    #[test]
    fn tampering_and_other_keys_are_refused() {
        let sd = key()
            .issue("chal", "bao", UnixTime::from_secs(100))
            .unwrap();
        let mut bytes = b64::decode(&sd).unwrap();
        for i in 0..bytes.len() {
            bytes[i] ^= 1;
            assert!(
                key()
                    .verify(&b64::encode(&bytes), UnixTime::from_secs(0))
                    .is_err(),
                "byte {i}"
            );
            bytes[i] ^= 1;
        }
        let other = ServerDataKey::new(&[8; 32]).unwrap();
        assert_eq!(
            other.verify(&sd, UnixTime::from_secs(0)),
            Err(ServerDataError::Mac)
        );
        assert!(key().verify("", UnixTime::from_secs(0)).is_err());
        assert!(key().verify("!!", UnixTime::from_secs(0)).is_err());
        assert!(ServerDataKey::new(&[1; 16]).is_err());
    }
}
