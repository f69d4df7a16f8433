//! Challenges the gateway issued (or read from the app's response), kept
//! until the registration that answers them arrives.
//!
//! A challenge is **single use**: [`ChallengeStore::take`] removes it
//! atomically whatever the outcome, so two concurrent submissions of one
//! response can never both find it, and a failed attempt cannot be retried
//! against the same challenge. The store keeps the context the challenge
//! was issued for; [`ChallengeContext::check`] refuses it for another
//! route or user, or after its expiry at the instant the caller passes.
//!
//! The store is a trait so a store shared by several gateway instances can
//! be one (`fidogate-redis`); [`MokaChallengeStore`] is the in-process
//! one: bounded, with per-entry time-to-live so expired entries also free
//! their memory.
//!
//! ```
//! use fidogate_core::gateway::{ChallengeContext, MokaChallengeStore};
//! use fidogate_core::UnixTime;
//! use std::time::Duration;
//!
//! let store = MokaChallengeStore::new(10_000);
//! let now = UnixTime::from_secs(1_700_000_000);
//! let ctx = ChallengeContext::new("webauthn", "example.com", Some("alice"), None, now, Duration::from_secs(300));
//! store.issue_now(b"challenge-bytes", ctx)?;
//! let ctx = store.take_now(b"challenge-bytes")?.unwrap();
//! assert!(ctx.check("webauthn", Some("alice"), now).is_ok());
//! assert!(store.take_now(b"challenge-bytes")?.is_none()); // single use
//!
//! // A sealed challenge, once spent, stays spent for its lifetime.
//! assert!(store.spend_now(b"sealed", now, Duration::from_secs(300))?);
//! assert!(!store.spend_now(b"sealed", now, Duration::from_secs(300))?);
//! # Ok::<(), fidogate_core::gateway::StoreError>(())
//! ```

use super::spent::SpentSet;
use crate::crypto::sha256;
use crate::error::ErrorClass;
use crate::time::UnixTime;
use moka::Expiry;
use moka::policy::EvictionPolicy;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a challenge was issued for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeContext {
    /// The route (dialect endpoint) that issued it.
    pub route: String,
    /// The RP ID or AppID.
    pub rp_id: String,
    /// The username, when the request named one.
    pub username: Option<String>,
    /// The WebAuthn user handle, when one was issued.
    pub user_handle: Option<Vec<u8>>,
    /// When it was issued.
    pub issued_at: UnixTime,
    /// How long it is valid.
    pub ttl: Duration,
}

impl ChallengeContext {
    /// A context issued at `issued_at`, valid for `ttl`.
    pub fn new(
        route: &str,
        rp_id: &str,
        username: Option<&str>,
        user_handle: Option<&[u8]>,
        issued_at: UnixTime,
        ttl: Duration,
    ) -> Self {
        Self {
            route: route.to_owned(),
            rp_id: rp_id.to_owned(),
            username: username.map(str::to_owned),
            user_handle: user_handle.map(<[u8]>::to_vec),
            issued_at,
            ttl,
        }
    }

    /// When it expires.
    pub fn expires_at(&self) -> UnixTime {
        self.issued_at.plus(self.ttl)
    }

    /// Refuses the challenge for another route or user, or after expiry.
    /// `username` `None` means the request does not name a user.
    pub fn check(
        &self,
        route: &str,
        username: Option<&str>,
        at: UnixTime,
    ) -> Result<(), ChallengeError> {
        if self.route != route {
            return Err(ChallengeError::OtherRoute {
                issued_for: self.route.clone(),
            });
        }
        if let (Some(expected), Some(got)) = (self.username.as_deref(), username)
            && expected != got
        {
            return Err(ChallengeError::OtherUser);
        }
        if at > self.expires_at() {
            return Err(ChallengeError::Expired {
                expired_at: self.expires_at(),
                at,
            });
        }
        Ok(())
    }
}

/// Why a challenge was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChallengeError {
    /// Never issued, already used, or evicted.
    #[error("the challenge is unknown: never issued, already used, or expired")]
    Unknown,
    /// A sealed challenge a registration already named.
    #[error("the challenge was already used")]
    Spent,
    /// Issued for another route.
    #[error("the challenge was issued for route {issued_for:?}")]
    OtherRoute {
        /// The route it was issued for.
        issued_for: String,
    },
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

impl ChallengeError {
    /// Always [`ErrorClass::Replay`].
    pub fn class(&self) -> ErrorClass {
        ErrorClass::Replay
    }
}

/// The store cannot answer: the engine refuses the request (503), never
/// accepts it unrecorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The spent-set holds `capacity` challenges that have not expired:
    /// recording one more would mean evicting a live one, which would let
    /// its registration be replayed.
    #[error("the spent-challenge set is full ({capacity} live entries); try again shortly")]
    Full {
        /// The bound.
        capacity: u64,
    },
    /// A shared store did not answer, or answered an error.
    #[error("the challenge store is unavailable: {0}")]
    Unavailable(String),
}

/// Where challenges live: app-issued ones while pending ([`issue`] and
/// [`take`]), and sealed gateway-issued ones once spent ([`spend`]).
///
/// [`issue`]: ChallengeStore::issue
/// [`take`]: ChallengeStore::take
/// [`spend`]: ChallengeStore::spend
///
/// Each call returns a future, so a store shared over the network (Redis)
/// can be one; the in-process store's futures are ready at once.
pub trait ChallengeStore: Send + Sync + std::fmt::Debug {
    /// Remembers `challenge` with its context, replacing any earlier entry.
    fn issue<'a>(&'a self, challenge: &'a [u8], context: ChallengeContext) -> StoreFuture<'a, ()>;

    /// Removes `challenge` and returns its context, atomically: of any
    /// number of concurrent calls for one challenge, at most one gets it.
    fn take<'a>(&'a self, challenge: &'a [u8]) -> StoreFuture<'a, Option<ChallengeContext>>;

    /// Records `challenge` as spent at `now` for `ttl` (its remaining
    /// lifetime); `Ok(true)` the first time, `Ok(false)` when it was
    /// already spent. Atomic: of any number of concurrent calls, at most
    /// one gets `true`. An entry is never dropped before its `ttl`: when
    /// that would be needed, the call fails with [`StoreError::Full`].
    fn spend<'a>(
        &'a self,
        challenge: &'a [u8],
        now: UnixTime,
        ttl: Duration,
    ) -> StoreFuture<'a, bool>;

    /// Whether the store answers now (for the health endpoint).
    fn health(&self) -> StoreFuture<'_, ()> {
        Box::pin(std::future::ready(Ok(())))
    }

    /// What the store holds now, for gauges; `None` for a store shared by
    /// several instances (count it at the store itself).
    fn held(&self) -> Option<Held> {
        None
    }
}

/// What an in-process store holds ([`ChallengeStore::held`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Held {
    /// App-issued challenges waiting for their registration.
    pub pending: u64,
    /// Sealed challenges recorded as spent until they expire.
    pub spent: u64,
}

/// What a [`ChallengeStore`] call returns.
pub type StoreFuture<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// The in-process store: app-issued challenges pending in a moka cache
/// (bounded, least recently issued dropped first, entries dropped after
/// their TTL), spent sealed challenges in a [`SpentSet`] (bounded, never
/// dropped before their expiry).
///
/// Pending entries are kept compact, since a flood of options requests
/// fills the cache: the key is the challenge's SHA-256 (fixed size, held
/// inline), route names and RP IDs are shared rather than copied per
/// entry, and the context lives inside the cache's own entry.
#[derive(Debug, Clone)]
pub struct MokaChallengeStore {
    cache: moka::sync::Cache<[u8; 32], Pending, foldhash::fast::RandomState>,
    names: Arc<Names>,
    spent: Arc<SpentSet>,
}

/// A pending challenge's context as the store holds it.
#[derive(Debug, Clone)]
struct Pending {
    route: Arc<str>,
    rp_id: Arc<str>,
    username: Option<Box<str>>,
    user_handle: Option<Box<[u8]>>,
    issued_at: UnixTime,
    ttl: Duration,
}

/// Route names and RP IDs, shared by the entries that name them. They
/// come from the configuration, so there are few; past [`Names::MAX`] a
/// name is kept per entry instead.
#[derive(Debug, Default)]
struct Names(std::sync::RwLock<Vec<Arc<str>>>);

impl Names {
    const MAX: usize = 256;

    fn get(&self, name: &str) -> Arc<str> {
        let found = |names: &[Arc<str>]| names.iter().find(|n| ***n == *name).cloned();
        if let Some(n) = self.0.read().ok().and_then(|names| found(&names)) {
            return n;
        }
        let Ok(mut names) = self.0.write() else {
            return name.into();
        };
        if let Some(n) = found(&names) {
            return n;
        }
        let n: Arc<str> = name.into();
        if names.len() < Self::MAX {
            names.push(n.clone());
        }
        n
    }
}

struct PerEntryTtl;

impl Expiry<[u8; 32], Pending> for PerEntryTtl {
    fn expire_after_create(&self, _: &[u8; 32], value: &Pending, _: Instant) -> Option<Duration> {
        // A little past the TTL: the decision is `check`'s, against the
        // caller's clock; the cache only reclaims memory.
        Some(value.ttl + Duration::from_secs(5))
    }
}

impl MokaChallengeStore {
    /// A store holding at most about `capacity` pending app-issued
    /// challenges, and at most `capacity` spent sealed ones.
    pub fn new(capacity: u64) -> Self {
        Self {
            // Spent entries leave only when their TTL passes, never to
            // make room: the compact set, not moka, which would evict.
            spent: Arc::new(SpentSet::new(capacity)),
            cache: moka::sync::Cache::builder()
                .max_capacity(capacity)
                // LRU rather than TinyLFU: a fresh challenge must always be
                // admitted, even when the store is full.
                .eviction_policy(EvictionPolicy::lru())
                .expire_after(PerEntryTtl)
                // A keyed hash seeded per process (as the default SipHash
                // is), at a fraction of SipHash's cost per key.
                .build_with_hasher(foldhash::fast::RandomState::default()),
            names: Arc::default(),
        }
    }

    /// Pending challenges (approximate until maintenance runs).
    pub fn len(&self) -> u64 {
        self.cache.run_pending_tasks();
        self.cache.entry_count()
    }

    /// Whether no challenge is pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Spent sealed challenges still recorded.
    pub fn spent_len(&self) -> u64 {
        self.spent.len()
    }
}

impl ChallengeStore for MokaChallengeStore {
    fn held(&self) -> Option<Held> {
        Some(Held {
            // moka's count lags by its pending maintenance: cheap, and
            // exact enough for a gauge.
            pending: self.cache.entry_count(),
            spent: self.spent.len(),
        })
    }

    fn issue<'a>(&'a self, challenge: &'a [u8], context: ChallengeContext) -> StoreFuture<'a, ()> {
        Box::pin(std::future::ready(self.issue_now(challenge, context)))
    }

    fn take<'a>(&'a self, challenge: &'a [u8]) -> StoreFuture<'a, Option<ChallengeContext>> {
        Box::pin(std::future::ready(self.take_now(challenge)))
    }

    fn spend<'a>(
        &'a self,
        challenge: &'a [u8],
        now: UnixTime,
        ttl: Duration,
    ) -> StoreFuture<'a, bool> {
        Box::pin(std::future::ready(self.spend_now(challenge, now, ttl)))
    }
}

impl MokaChallengeStore {
    /// [`ChallengeStore::issue`], at once.
    pub fn issue_now(&self, challenge: &[u8], context: ChallengeContext) -> Result<(), StoreError> {
        let pending = Pending {
            route: self.names.get(&context.route),
            rp_id: self.names.get(&context.rp_id),
            username: context.username.map(String::into_boxed_str),
            user_handle: context.user_handle.map(Vec::into_boxed_slice),
            issued_at: context.issued_at,
            ttl: context.ttl,
        };
        self.cache.insert(sha256(challenge), pending);
        Ok(())
    }

    /// [`ChallengeStore::take`], at once.
    pub fn take_now(&self, challenge: &[u8]) -> Result<Option<ChallengeContext>, StoreError> {
        Ok(self
            .cache
            .remove(&sha256(challenge))
            .map(|p| ChallengeContext {
                route: p.route.as_ref().to_owned(),
                rp_id: p.rp_id.as_ref().to_owned(),
                username: p.username.map(String::from),
                user_handle: p.user_handle.map(Vec::from),
                issued_at: p.issued_at,
                ttl: p.ttl,
            }))
    }

    /// [`ChallengeStore::spend`], at once.
    pub fn spend_now(
        &self,
        challenge: &[u8],
        now: UnixTime,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        self.spent.spend(challenge, now, ttl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);

    fn ctx(user: &str) -> ChallengeContext {
        ChallengeContext::new(
            "webauthn.result",
            "example.com",
            Some(user),
            Some(b"handle"),
            NOW,
            Duration::from_secs(60),
        )
    }

    #[test]
    fn contexts_come_back_whole_and_keys_do_not_blur() {
        let store = MokaChallengeStore::new(100);
        let bare = ChallengeContext::new(
            "uaf",
            "https://example.com/facets",
            None,
            None,
            NOW,
            Duration::from_secs(1),
        );
        store.issue_now(b"abc", ctx("alice")).unwrap();
        store.issue_now(b"abcd", bare.clone()).unwrap();
        let long = vec![7u8; 4096];
        store.issue_now(&long, ctx("bob")).unwrap();
        assert_eq!(store.take_now(b"abcd").unwrap(), Some(bare));
        assert_eq!(store.take_now(b"abc").unwrap(), Some(ctx("alice")));
        assert_eq!(store.take_now(&long).unwrap(), Some(ctx("bob")));
        assert_eq!(store.take_now(b"ab").unwrap(), None);
        // Names are shared: the same route from many entries is one string.
        for i in 0..300 {
            store
                .issue_now(format!("c{i}").as_bytes(), ctx("carol"))
                .unwrap();
        }
        assert_eq!(store.names.0.read().map(|n| n.len()).unwrap_or(0), 4);
        assert_eq!(store.take_now(b"c299").unwrap(), Some(ctx("carol")));
    }

    #[test]
    fn single_use_pass_or_fail() {
        let store = MokaChallengeStore::new(100);
        store.issue_now(b"c1", ctx("alice")).unwrap();
        let got = store.take_now(b"c1").unwrap().unwrap();
        // A failed check still consumed it.
        assert_eq!(
            got.check("webauthn.result", Some("mallory"), NOW),
            Err(ChallengeError::OtherUser)
        );
        assert!(store.take_now(b"c1").unwrap().is_none());
        assert!(store.take_now(b"never issued").unwrap().is_none());
    }

    #[test]
    fn context_checks() {
        let c = ctx("alice");
        assert!(c.check("webauthn.result", Some("alice"), NOW).is_ok());
        assert!(
            c.check("webauthn.result", None, NOW.plus(Duration::from_secs(60)))
                .is_ok()
        );
        assert!(matches!(
            c.check("uaf.regResponse", Some("alice"), NOW),
            Err(ChallengeError::OtherRoute { .. })
        ));
        let late = NOW.plus(Duration::from_secs(61));
        assert_eq!(
            c.check("webauthn.result", Some("alice"), late),
            Err(ChallengeError::Expired {
                expired_at: c.expires_at(),
                at: late
            })
        );
        assert_eq!(ChallengeError::Unknown.class(), ErrorClass::Replay);
    }

    #[test]
    fn concurrent_takes_succeed_at_most_once() {
        let store = MokaChallengeStore::new(10_000);
        for round in 0..200u32 {
            let key = round.to_be_bytes();
            store.issue_now(&key, ctx("alice")).unwrap();
            let winners: usize = std::thread::scope(|s| {
                let handles: Vec<_> = (0..8)
                    .map(|_| s.spawn(|| store.take_now(&key).unwrap().is_some()))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| usize::from(h.join().unwrap()))
                    .sum()
            });
            assert_eq!(winners, 1, "round {round}");
        }
    }

    #[test]
    fn capacity_is_bounded_and_new_challenges_are_admitted() {
        let store = MokaChallengeStore::new(1_000);
        for i in 0..10_000u32 {
            store.issue_now(&i.to_be_bytes(), ctx("alice")).unwrap();
        }
        assert!(store.len() <= 1_000, "{} entries", store.len());
        // The newest challenge is still there: LRU admits every insert.
        assert!(store.take_now(&9_999u32.to_be_bytes()).unwrap().is_some());
    }

    #[test]
    fn spent_seals_are_single_use() {
        let store = MokaChallengeStore::new(10);
        let ttl = Duration::from_secs(60);
        assert_eq!(store.spend_now(b"s", NOW, ttl), Ok(true));
        assert_eq!(store.spend_now(b"s", NOW, ttl), Ok(false));
        // Spent seals and pending challenges do not share keys.
        assert_eq!(store.take_now(b"s"), Ok(None));
        assert_eq!(store.spent_len(), 1);
    }
}
