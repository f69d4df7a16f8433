//! Sealed challenges: a challenge the gateway issues carries its own
//! context (the route, the user, the expiry) and fresh randomness,
//! authenticated with a key derived from the gateway secret. Nothing is
//! stored while it is pending; any instance holding the secret opens it;
//! a restart loses nothing.
//!
//! ```text
//! version   1 byte    0x01
//! route     8 bytes   SHA-256(route name), first 8 bytes
//! expiry    8 bytes   Unix seconds, big-endian
//! user      1 byte    0x00: the username follows (1 length byte, then it)
//!                     0x01: SHA-256(username), first 8 bytes, follow (the
//!                           result request names the user in its path)
//! random   16 bytes
//! mac      16 bytes   HMAC-SHA-256(key, everything before), first 16 bytes
//! ```
//!
//! 51 bytes plus the username (1 to [`MAX_SEALED_USERNAME`] bytes), or 58
//! bytes with its hash: 70 to 239 characters of base64url (a random-only
//! challenge of 32 bytes is 43). WebAuthn clients see it as the challenge
//! (authenticators only sign its hash); UAF clients get it as the
//! serverData, with its SHA-256 as the challenge. The context is
//! authenticated, not hidden: it tells the client nothing it did not send
//! (its own username, the route it called, a time), so an AEAD would add a
//! nonce and cost without protecting anything.
//!
//! # Security
//! - The MAC is compared in constant time; a seal that does not verify
//!   under the current key or a previous one is refused before anything
//!   else is looked at.
//! - A seal is single use through the spent-set ([`ChallengeStore::spend`]),
//!   which the engine consults after the seal opens and before verifying.
//!
//! [`ChallengeStore::spend`]: super::ChallengeStore::spend

use crate::crypto::{constant_time_eq, hmac_sha256, sha256};
use crate::error::ErrorClass;
use crate::time::UnixTime;

/// The seal format version.
const VERSION: u8 = 1;
/// Longest username a seal carries, in bytes.
pub const MAX_SEALED_USERNAME: usize = 128;
/// Fresh random bytes per seal.
pub const SEAL_RANDOM_LEN: usize = 16;
const TAG_LEN: usize = 8;
const MAC_LEN: usize = 16;
/// The shortest seal (an empty name; a username hash is 6 bytes longer).
const MIN_LEN: usize = 1 + TAG_LEN + 8 + 1 + 1 + SEAL_RANDOM_LEN + MAC_LEN;

/// The keys that seal and open challenges: the current one seals, the
/// previous ones still open (secret rotation).
#[derive(Clone)]
pub(in crate::gateway) struct SealKeys {
    current: [u8; 32],
    previous: Vec<[u8; 32]>,
}

impl std::fmt::Debug for SealKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealKeys")
            .field("previous", &self.previous.len())
            .finish_non_exhaustive()
    }
}

/// Who a seal was issued for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::gateway) enum SealedUser<'a> {
    /// The username itself.
    Name(&'a str),
    /// Its hash: the result request's path names the user.
    Hash(&'a str),
}

/// What an opened seal says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::gateway) struct Opened {
    /// The username, when the seal carries it.
    pub username: Option<String>,
    /// When the challenge expires.
    pub expiry: UnixTime,
}

/// Why a sealed challenge was refused; each names the check that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// Too short, too long, or its parts do not add up.
    #[error("the challenge is not a sealed challenge of this gateway (truncated or malformed)")]
    Truncated,
    /// A format version this gateway does not know.
    #[error("the challenge's seal has version {0}, not 1")]
    Version(u8),
    /// The MAC verifies under no key this gateway holds: forged, altered,
    /// or sealed with another or a retired secret.
    #[error(
        "the challenge's seal does not verify (forged, altered, or sealed with a secret this gateway does not hold)"
    )]
    Forged,
    /// Issued for another route.
    #[error("the challenge was issued for another route")]
    OtherRoute,
    /// Issued for another user.
    #[error("the challenge was issued for another user")]
    OtherUser,
    /// Past its expiry.
    #[error("the challenge expired at {expired_at}, now {at}")]
    Expired {
        /// Its expiry.
        expired_at: UnixTime,
        /// The instant it was presented.
        at: UnixTime,
    },
}

impl SealError {
    /// Always [`ErrorClass::Replay`].
    pub fn class(&self) -> ErrorClass {
        ErrorClass::Replay
    }
}

/// Why a challenge could not be sealed: the username is too long to carry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("username is {0} bytes; a gateway-issued challenge carries at most {MAX_SEALED_USERNAME}")]
pub struct UsernameTooLong(pub usize);

fn tag(text: &str) -> [u8; TAG_LEN] {
    let mut out = [0u8; TAG_LEN];
    for (o, d) in out.iter_mut().zip(sha256(text.as_bytes())) {
        *o = d;
    }
    out
}

fn mac(key: &[u8; 32], data: &[u8]) -> [u8; MAC_LEN] {
    let mut out = [0u8; MAC_LEN];
    for (o, d) in out.iter_mut().zip(hmac_sha256(key, data)) {
        *o = d;
    }
    out
}

impl SealKeys {
    /// Keys derived from the current secret and the previous ones.
    pub(in crate::gateway) fn new(current: &[u8], previous: &[Vec<u8>]) -> Self {
        let derive = |s: &[u8]| hmac_sha256(s, b"fidogate challenge seal v1");
        Self {
            current: derive(current),
            previous: previous.iter().map(|p| derive(p)).collect(),
        }
    }

    /// Seals a challenge for `route` and `user`, valid until `expiry`.
    pub(in crate::gateway) fn seal(
        &self,
        route: &str,
        user: &SealedUser<'_>,
        expiry: UnixTime,
        random: &[u8; SEAL_RANDOM_LEN],
    ) -> Result<Vec<u8>, UsernameTooLong> {
        let mut out = Vec::with_capacity(MIN_LEN + MAX_SEALED_USERNAME);
        out.push(VERSION);
        out.extend_from_slice(&tag(route));
        out.extend_from_slice(&expiry.as_secs().to_be_bytes());
        match user {
            SealedUser::Name(name) => {
                let len = u8::try_from(name.len())
                    .ok()
                    .filter(|l| usize::from(*l) <= MAX_SEALED_USERNAME)
                    .ok_or(UsernameTooLong(name.len()))?;
                out.push(0);
                out.push(len);
                out.extend_from_slice(name.as_bytes());
            }
            SealedUser::Hash(name) => {
                out.push(1);
                out.extend_from_slice(&tag(name));
            }
        }
        out.extend_from_slice(random);
        let m = mac(&self.current, &out);
        out.extend_from_slice(&m);
        Ok(out)
    }

    /// Opens `sealed`: its MAC under the current key or a previous one,
    /// then its format. What it says is not yet checked.
    pub(in crate::gateway) fn authenticate(&self, sealed: &[u8]) -> Result<Authentic, SealError> {
        if sealed.len() < MIN_LEN || sealed.len() > MIN_LEN + MAX_SEALED_USERNAME {
            return Err(SealError::Truncated);
        }
        let (body, their_mac) = sealed.split_at(sealed.len() - MAC_LEN);
        // The MAC first: nothing in an unauthenticated seal is read.
        let authentic = std::iter::once(&self.current)
            .chain(&self.previous)
            .fold(false, |ok, key| {
                ok | constant_time_eq(&mac(key, body), their_mac)
            });
        if !authentic {
            return Err(SealError::Forged);
        }
        let mut c = crate::cursor::Cursor::new(body);
        let parse = |c: &mut crate::cursor::Cursor<'_>| -> Option<Authentic> {
            let version = c.u8("version").ok()?;
            let route = c.take_array::<TAG_LEN>("route").ok()?;
            let expiry = i64::from_be_bytes(c.take_array::<8>("expiry").ok()?);
            let user = match c.u8("user").ok()? {
                0 => {
                    let len = c.u8("username length").ok()?;
                    let name = c.take(usize::from(len), "username").ok()?;
                    Sealed::Name(std::str::from_utf8(name).ok()?.to_owned())
                }
                1 => Sealed::Hash(c.take_array::<TAG_LEN>("user hash").ok()?),
                _ => return None,
            };
            c.take(SEAL_RANDOM_LEN, "random").ok()?;
            Some(Authentic {
                version,
                route,
                expiry: UnixTime::from_secs(expiry),
                user,
            })
        };
        let authentic = parse(&mut c).ok_or(SealError::Truncated)?;
        c.finish("seal").map_err(|_| SealError::Truncated)?;
        if authentic.version != VERSION {
            return Err(SealError::Version(authentic.version));
        }
        Ok(authentic)
    }

    /// Opens `sealed` and checks it for `route` at `now` (both steps of
    /// [`authenticate`](Self::authenticate) and [`Authentic::check`]).
    #[cfg(test)]
    fn open(
        &self,
        sealed: &[u8],
        route: &str,
        path_user: Option<&str>,
        now: UnixTime,
    ) -> Result<Opened, SealError> {
        self.authenticate(sealed)?.check(route, path_user, now)
    }
}

/// A seal this gateway made, its context not yet checked.
#[derive(Debug, Clone)]
pub(in crate::gateway) struct Authentic {
    version: u8,
    route: [u8; TAG_LEN],
    /// When the challenge expires.
    pub expiry: UnixTime,
    user: Sealed,
}

impl Authentic {
    /// Checks the seal was issued for `route` and the user the result
    /// request's path names (`path_user`, if it names one), and has not
    /// expired at `now`.
    pub(in crate::gateway) fn check(
        self,
        route: &str,
        path_user: Option<&str>,
        now: UnixTime,
    ) -> Result<Opened, SealError> {
        if !constant_time_eq(&self.route, &tag(route)) {
            return Err(SealError::OtherRoute);
        }
        let username = match (self.user, path_user) {
            (Sealed::Name(name), Some(p)) if name != p => return Err(SealError::OtherUser),
            (Sealed::Name(name), _) => Some(name),
            (Sealed::Hash(h), Some(p)) if constant_time_eq(&h, &tag(p)) => None,
            (Sealed::Hash(_), _) => return Err(SealError::OtherUser),
        };
        if now > self.expiry {
            return Err(SealError::Expired {
                expired_at: self.expiry,
                at: now,
            });
        }
        Ok(Opened {
            username,
            expiry: self.expiry,
        })
    }
}

#[derive(Debug, Clone)]
enum Sealed {
    Name(String),
    Hash([u8; TAG_LEN]),
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);
    const LATER: UnixTime = UnixTime::from_secs(1_700_000_300);

    fn keys() -> SealKeys {
        SealKeys::new(&[1; 32], &[])
    }

    fn sealed(user: &SealedUser<'_>) -> Vec<u8> {
        keys().seal("passkeys", user, LATER, &[7; 16]).unwrap()
    }

    #[test]
    fn opens_what_it_sealed_and_sizes_are_as_documented() {
        let s = sealed(&SealedUser::Name("alice"));
        assert_eq!(s.len(), 51 + 5);
        let o = keys().open(&s, "passkeys", None, NOW).unwrap();
        assert_eq!(o.username.as_deref(), Some("alice"));
        assert_eq!(o.expiry, LATER);
        assert!(keys().open(&s, "passkeys", Some("alice"), LATER).is_ok());
        let h = sealed(&SealedUser::Hash("bob"));
        assert_eq!(h.len(), 58);
        assert_eq!(
            keys()
                .open(&h, "passkeys", Some("bob"), NOW)
                .unwrap()
                .username,
            None
        );
        let longest = "u".repeat(MAX_SEALED_USERNAME);
        let l = sealed(&SealedUser::Name(&longest));
        assert_eq!(crate::b64::encode(&l).len(), 239);
        assert_eq!(
            keys().seal(
                "passkeys",
                &SealedUser::Name(&"u".repeat(129)),
                LATER,
                &[7; 16]
            ),
            Err(UsernameTooLong(129))
        );
    }

    #[test]
    fn every_defect_is_named() {
        let s = sealed(&SealedUser::Name("alice"));
        let open = |b: &[u8], route: &str, user: Option<&str>, at| keys().open(b, route, user, at);
        struct Case {
            name: &'static str,
            got: Result<Opened, SealError>,
            want: SealError,
        }
        let mut flipped = s.clone();
        flipped[20] ^= 1;
        let mut mac_flipped = s.clone();
        let last = mac_flipped.len() - 1;
        mac_flipped[last] ^= 0x80;
        let other_secret = SealKeys::new(&[2; 32], &[])
            .seal("passkeys", &SealedUser::Name("alice"), LATER, &[7; 16])
            .unwrap();
        let hashed = sealed(&SealedUser::Hash("bob"));
        let cases = [
            Case {
                name: "a byte of the body flipped",
                got: open(&flipped, "passkeys", None, NOW),
                want: SealError::Forged,
            },
            Case {
                name: "a bit of the MAC flipped",
                got: open(&mac_flipped, "passkeys", None, NOW),
                want: SealError::Forged,
            },
            Case {
                name: "another secret",
                got: open(&other_secret, "passkeys", None, NOW),
                want: SealError::Forged,
            },
            Case {
                name: "another route",
                got: open(&s, "wallet", None, NOW),
                want: SealError::OtherRoute,
            },
            Case {
                name: "another user in the path",
                got: open(&s, "passkeys", Some("mallory"), NOW),
                want: SealError::OtherUser,
            },
            Case {
                name: "a hashed user, another in the path",
                got: open(&hashed, "passkeys", Some("alice"), NOW),
                want: SealError::OtherUser,
            },
            Case {
                name: "a hashed user, no path user",
                got: open(&hashed, "passkeys", None, NOW),
                want: SealError::OtherUser,
            },
            Case {
                name: "a second past its expiry",
                got: open(&s, "passkeys", None, UnixTime::from_secs(1_700_000_301)),
                want: SealError::Expired {
                    expired_at: LATER,
                    at: UnixTime::from_secs(1_700_000_301),
                },
            },
            Case {
                name: "empty",
                got: open(b"", "passkeys", None, NOW),
                want: SealError::Truncated,
            },
        ];
        for c in cases {
            assert_eq!(c.got, Err(c.want), "{}", c.name);
        }
        // Every cut, and a byte more, is refused.
        for n in 0..s.len() {
            assert!(
                keys().open(&s[..n], "passkeys", None, NOW).is_err(),
                "cut at {n}"
            );
        }
        let mut longer = s.clone();
        longer.push(0);
        assert!(keys().open(&longer, "passkeys", None, NOW).is_err());
    }

    #[test]
    fn a_version_this_gateway_does_not_know_is_named_when_authentic() {
        let k = keys();
        let mut s = sealed(&SealedUser::Name("alice"));
        s[0] = 2;
        let body_len = s.len() - MAC_LEN;
        let m = mac(&k.current, &s[..body_len]);
        s[body_len..].copy_from_slice(&m);
        assert_eq!(
            k.open(&s, "passkeys", None, NOW),
            Err(SealError::Version(2))
        );
    }

    #[test]
    fn rotation_previous_secrets_open_retired_ones_do_not() {
        let old = SealKeys::new(&[1; 32], &[]);
        let s = old
            .seal("passkeys", &SealedUser::Name("alice"), LATER, &[7; 16])
            .unwrap();
        let rotated = SealKeys::new(&[2; 32], &[vec![1; 32]]);
        assert!(rotated.open(&s, "passkeys", None, NOW).is_ok());
        let retired = SealKeys::new(&[3; 32], &[vec![2; 32]]);
        assert_eq!(
            retired.open(&s, "passkeys", None, NOW),
            Err(SealError::Forged)
        );
        // What the rotated gateway seals, the old one cannot open.
        let new = rotated
            .seal("passkeys", &SealedUser::Name("alice"), LATER, &[7; 16])
            .unwrap();
        assert_eq!(
            old.open(&new, "passkeys", None, NOW),
            Err(SealError::Forged)
        );
    }
}
