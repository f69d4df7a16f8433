//! The in-process spent-set: sealed challenges already answered, each kept
//! until its own expiry, never evicted before it.
//!
//! A spent challenge is recorded by the first 16 bytes of its SHA-256 and
//! its expiry in Unix seconds: 24 bytes and one control byte per entry in
//! a SwissTable, so 1,000,000 spent challenges cost tens of MiB, not the
//! hundreds a general-purpose cache spends on its per-entry bookkeeping.
//! Two different challenges share a record only if their hashes agree in
//! 128 bits, which no one can arrange; were it to happen by chance, the
//! second would be refused as spent (a refusal, never an acceptance).
//!
//! The set is split into shards, each behind its own lock, so concurrent
//! spends rarely wait on each other. A shard drops its expired entries in
//! one pass when its earliest expiry has come (so at most once a second,
//! since expiries are whole seconds), and every shard is swept before a
//! spend is refused because the set is full. The clock is the caller's
//! (the gateway's `Env`), the same one the seal's expiry is judged by.
//!
//! ```
//! use fidogate_core::gateway::SpentSet;
//! use fidogate_core::UnixTime;
//! use std::time::Duration;
//!
//! let set = SpentSet::new(1_000);
//! let now = UnixTime::from_secs(1_700_000_000);
//! let ttl = Duration::from_secs(300);
//! assert_eq!(set.spend(b"sealed", now, ttl), Ok(true));
//! assert_eq!(set.spend(b"sealed", now, ttl), Ok(false)); // single use
//! # Ok::<(), fidogate_core::gateway::StoreError>(())
//! ```

use super::challenge::StoreError;
use crate::crypto::sha256;
use crate::time::UnixTime;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// Shards of the set; a power of two.
const SHARDS: usize = 16;

/// What one spent challenge is recorded by.
type Key = [u8; 16];

/// Sealed challenges already spent, each until its expiry; see the
/// [module documentation](self).
#[derive(Debug)]
pub struct SpentSet {
    shards: Box<[Mutex<Shard>]>,
    live: AtomicU64,
    capacity: u64,
}

#[derive(Debug)]
struct Shard {
    /// Key to expiry (Unix seconds): the entry is live while `now` is
    /// before it.
    map: HashMap<Key, i64, foldhash::fast::RandomState>,
    /// No entry expires before this; a sweep is worth doing from then.
    earliest: i64,
}

impl SpentSet {
    /// A set recording at most `capacity` live spent challenges.
    pub fn new(capacity: u64) -> Self {
        let shards = (0..SHARDS)
            .map(|_| {
                Mutex::new(Shard {
                    // A keyed hash seeded per process: the keys come from
                    // clients' submissions, so their layout in the table
                    // must not be predictable.
                    map: HashMap::with_hasher(foldhash::fast::RandomState::default()),
                    earliest: i64::MAX,
                })
            })
            .collect();
        Self {
            shards,
            live: AtomicU64::new(0),
            capacity,
        }
    }

    /// The bound given to [`SpentSet::new`].
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Entries recorded, including expired ones not yet swept.
    pub fn len(&self) -> u64 {
        self.live.load(Ordering::Relaxed)
    }

    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Records `challenge` as spent from `now` for `ttl` (rounded up to
    /// whole seconds): `Ok(true)` the first time, `Ok(false)` when it was
    /// already recorded. Of concurrent calls for one challenge, exactly
    /// one gets `true`. When `capacity` live entries are recorded, the
    /// call fails with [`StoreError::Full`] and records nothing.
    pub fn spend(
        &self,
        challenge: &[u8],
        now: UnixTime,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let digest = sha256(challenge);
        let mut key = Key::default();
        for (k, d) in key.iter_mut().zip(digest) {
            *k = d;
        }
        let whole_secs = ttl
            .as_secs()
            .saturating_add(u64::from(ttl.subsec_nanos() > 0));
        let expires = now
            .as_secs()
            .saturating_add(i64::try_from(whole_secs).unwrap_or(i64::MAX));
        match self.try_spend(key, now.as_secs(), expires) {
            Err(StoreError::Full { .. }) => {
                // Expired entries in other shards may be waiting for their
                // shard's next spend: reclaim them before refusing.
                self.sweep_all(now);
                self.try_spend(key, now.as_secs(), expires)
            }
            other => other,
        }
    }

    /// Drops every entry expired at `now`, in every shard.
    pub fn sweep_all(&self, now: UnixTime) {
        for shard in self.shards.iter() {
            let mut shard = lock(shard);
            self.sweep(&mut shard, now.as_secs());
        }
    }

    fn try_spend(&self, key: Key, now: i64, expires: i64) -> Result<bool, StoreError> {
        let index = usize::from(key[15]) & (SHARDS - 1);
        let Some(shard) = self.shards.get(index) else {
            return Err(StoreError::Unavailable("no shard for a spent key".into()));
        };
        let mut shard = lock(shard);
        self.sweep(&mut shard, now);
        if shard.map.contains_key(&key) {
            return Ok(false);
        }
        // Reserve a place first, so spends in other shards cannot
        // overshoot the bound between the check and the insert.
        if self.live.fetch_add(1, Ordering::Relaxed) >= self.capacity {
            self.live.fetch_sub(1, Ordering::Relaxed);
            return Err(StoreError::Full {
                capacity: self.capacity,
            });
        }
        shard.map.insert(key, expires);
        shard.earliest = shard.earliest.min(expires);
        Ok(true)
    }

    /// Drops the shard's entries expired at `now`, if any can be.
    fn sweep(&self, shard: &mut Shard, now: i64) {
        if shard.earliest > now {
            return;
        }
        let before = shard.map.len();
        let mut earliest = i64::MAX;
        shard.map.retain(|_, expires| {
            let live = *expires > now;
            if live {
                earliest = earliest.min(*expires);
            }
            live
        });
        shard.earliest = earliest;
        let removed = before.saturating_sub(shard.map.len());
        self.live
            .fetch_sub(u64::try_from(removed).unwrap_or(0), Ordering::Relaxed);
        // Give memory back once the set has emptied well below its peak.
        if shard.map.capacity() > 64 && shard.map.len() < shard.map.capacity() / 4 {
            shard.map.shrink_to_fit();
        }
    }
}

/// A shard's lock. Nothing in a shard's critical section can leave it
/// half-changed (an insert or a `retain` either happened or did not), so
/// a lock poisoned by a panicking thread is still sound to use.
fn lock(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    shard.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);
    const TTL: Duration = Duration::from_secs(300);

    fn at(secs: u64) -> UnixTime {
        NOW.plus(Duration::from_secs(secs))
    }

    #[test]
    fn single_use_and_bounded_never_evicted() {
        let set = SpentSet::new(100);
        assert_eq!(set.spend(b"s1", NOW, TTL), Ok(true));
        assert_eq!(set.spend(b"s1", NOW, TTL), Ok(false));
        for i in 1..100u32 {
            assert_eq!(set.spend(&i.to_be_bytes(), NOW, TTL), Ok(true), "{i}");
        }
        assert_eq!(set.len(), 100);
        // Full of live entries: the next spend is refused, and every
        // earlier one is still recorded (none evicted to make room).
        assert_eq!(
            set.spend(b"one more", at(299), TTL),
            Err(StoreError::Full { capacity: 100 })
        );
        assert_eq!(set.spend(b"s1", at(299), TTL), Ok(false));
        for i in 1..100u32 {
            assert_eq!(set.spend(&i.to_be_bytes(), at(299), TTL), Ok(false), "{i}");
        }
        assert_eq!(set.len(), 100);
    }

    #[test]
    fn entries_stay_until_their_expiry_then_make_room() {
        let set = SpentSet::new(2);
        assert_eq!(set.spend(b"a", NOW, Duration::from_secs(10)), Ok(true));
        assert_eq!(set.spend(b"b", NOW, Duration::from_secs(20)), Ok(true));
        // Still live one second before the first expiry.
        assert_eq!(
            set.spend(b"c", at(9), TTL),
            Err(StoreError::Full { capacity: 2 })
        );
        assert_eq!(set.spend(b"a", at(9), TTL), Ok(false));
        // At its expiry "a" is gone (the seal refuses it as expired by
        // then); "b" is not.
        assert_eq!(set.spend(b"c", at(10), TTL), Ok(true));
        assert_eq!(set.spend(b"b", at(19), TTL), Ok(false));
        assert_eq!(set.len(), 2);
        assert_eq!(set.spend(b"d", at(20), TTL), Ok(true));
        assert_eq!(set.len(), 2);
    }

    #[test]
    fn a_part_second_counts_as_a_whole_one() {
        let set = SpentSet::new(10);
        assert_eq!(set.spend(b"a", NOW, Duration::from_millis(1)), Ok(true));
        // Kept through the second it was spent in.
        set.sweep_all(NOW);
        assert_eq!(set.len(), 1);
        set.sweep_all(at(1));
        assert!(set.is_empty());
    }

    #[test]
    fn a_clock_that_goes_back_keeps_entries_longer_never_shorter() {
        let set = SpentSet::new(10);
        assert_eq!(set.spend(b"a", at(100), Duration::from_secs(5)), Ok(true));
        set.sweep_all(NOW);
        assert_eq!(set.spend(b"a", NOW, TTL), Ok(false));
        set.sweep_all(at(105));
        assert!(set.is_empty());
    }

    #[test]
    fn a_full_set_sweeps_every_shard_before_refusing() {
        // Fill the set with entries expiring at once, none of them in the
        // shard of the next spend: only a sweep of the other shards can
        // make room for it.
        let shard_of = |k: &[u8]| usize::from(sha256(k)[15]) & (SHARDS - 1);
        let later = b"later";
        let set = SpentSet::new(200);
        let mut filled = 0;
        for i in 0u32.. {
            if filled == 200 {
                break;
            }
            let k = i.to_be_bytes();
            if shard_of(&k) != shard_of(later) {
                assert_eq!(set.spend(&k, NOW, Duration::from_secs(1)), Ok(true));
                filled += 1;
            }
        }
        assert_eq!(
            set.spend(later, NOW, TTL),
            Err(StoreError::Full { capacity: 200 })
        );
        assert_eq!(set.spend(later, at(1), TTL), Ok(true));
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn memory_is_returned_when_the_set_empties() {
        let set = SpentSet::new(100_000);
        for i in 0..100_000u32 {
            assert_eq!(
                set.spend(&i.to_be_bytes(), NOW, Duration::from_secs(1)),
                Ok(true)
            );
        }
        let full: usize = set.shards.iter().map(|s| lock(s).map.capacity()).sum();
        set.sweep_all(at(1));
        let after: usize = set.shards.iter().map(|s| lock(s).map.capacity()).sum();
        assert!(after < full / 8, "{after} of {full} slots kept");
    }

    #[test]
    fn concurrent_spends_succeed_exactly_once() {
        let set = SpentSet::new(10_000);
        for round in 0..200u32 {
            let key = round.to_be_bytes();
            let winners: usize = std::thread::scope(|s| {
                let handles: Vec<_> = (0..8)
                    .map(|_| s.spawn(|| set.spend(&key, NOW, TTL) == Ok(true)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| usize::from(h.join().unwrap()))
                    .sum()
            });
            assert_eq!(winners, 1, "round {round}");
        }
        assert_eq!(set.len(), 200);
    }

    #[test]
    fn concurrent_spends_never_overshoot_the_bound() {
        let set = SpentSet::new(1_000);
        let accepted: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8u32)
                .map(|t| {
                    let set = &set;
                    s.spawn(move || {
                        (0..500u32)
                            .filter(|i| {
                                set.spend(&(t * 1_000 + i).to_be_bytes(), NOW, TTL) == Ok(true)
                            })
                            .count()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(accepted, 1_000);
        assert_eq!(set.len(), 1_000);
    }
}
