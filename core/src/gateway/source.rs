//! Where the time and the fresh randomness of each request come from.
//!
//! The engine decides on what it is given: every call that needs the time
//! or random bytes takes an [`Env`]. Both adapters get their `Env` from one
//! [`Source`] passed to their builder: [`SystemSource`] (the system clock
//! and the operating system's random source) unless a test passes
//! [`ManualSource`], whose clock moves only when told, so expiry is tested
//! without sleeping.
//!
//! ```
//! use fidogate_core::gateway::{ManualSource, Source};
//! use fidogate_core::UnixTime;
//! use std::time::Duration;
//!
//! let source = ManualSource::new(UnixTime::from_secs(1_700_000_000));
//! let before = source.env()?;
//! source.advance(Duration::from_secs(301));
//! let after = source.env()?;
//! assert_eq!(after.now.as_secs() - before.now.as_secs(), 301);
//! assert_ne!(before.random, after.random);
//! # Ok::<(), fidogate_core::gateway::SourceError>(())
//! ```

use crate::time::UnixTime;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

/// What one request is decided with: the time, and fresh random bytes.
#[derive(Debug, Clone, Copy)]
pub struct Env {
    /// Now.
    pub now: UnixTime,
    /// 48 fresh random bytes: 32 for a challenge, 16 for a token ID.
    pub random: [u8; 48],
}

/// A source of [`Env`]s, shared by every request of an adapter.
pub trait Source: Send + Sync + std::fmt::Debug {
    /// The time and fresh randomness for one request.
    fn env(&self) -> Result<Env, SourceError>;

    /// A clock that never goes back, from an arbitrary fixed point, for
    /// the per-client rate limit (which needs finer steps than
    /// [`Env::now`]). The system's monotonic clock unless overridden.
    fn monotonic(&self) -> Duration {
        SystemSource.monotonic()
    }
}

/// The system clock and the operating system's random source: what a
/// deployment uses.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemSource;

impl Source for SystemSource {
    fn monotonic(&self) -> Duration {
        // The fixed point: the first reading in this process.
        static ANCHOR: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        ANCHOR.get_or_init(std::time::Instant::now).elapsed()
    }

    fn env(&self) -> Result<Env, SourceError> {
        let mut random = [0u8; 48];
        getrandom::getrandom(&mut random).map_err(|e| SourceError(e.to_string()))?;
        Ok(Env {
            now: UnixTime::from_system(SystemTime::now()),
            random,
        })
    }
}

/// The random source failed: the request is refused (a challenge made
/// from anything else could be predicted).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the random source failed: {0}")]
pub struct SourceError(pub String);

/// A clock that moves only when told, and random bytes from a counter
/// (distinct per call, predictable): for tests.
#[derive(Debug)]
pub struct ManualSource {
    now: AtomicI64,
    counter: AtomicU64,
    /// The monotonic clock, in nanoseconds: moved by `advance` only.
    mono: AtomicU64,
}

impl ManualSource {
    /// A clock standing at `now`.
    pub fn new(now: UnixTime) -> Self {
        Self {
            now: AtomicI64::new(now.as_secs()),
            counter: AtomicU64::new(0),
            mono: AtomicU64::new(0),
        }
    }

    /// Moves the clock forward (the wall clock by whole seconds, the
    /// monotonic clock by `by` exactly).
    pub fn advance(&self, by: Duration) {
        let secs = i64::try_from(by.as_secs()).unwrap_or(i64::MAX);
        self.now.fetch_add(secs, Ordering::SeqCst);
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.mono.fetch_add(nanos, Ordering::SeqCst);
    }

    /// Sets the clock.
    pub fn set(&self, now: UnixTime) {
        self.now.store(now.as_secs(), Ordering::SeqCst);
    }
}

impl Source for ManualSource {
    fn monotonic(&self) -> Duration {
        Duration::from_nanos(self.mono.load(Ordering::SeqCst))
    }

    fn env(&self) -> Result<Env, SourceError> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let digest = crate::crypto::sha256(&n.to_le_bytes());
        let mut random = [0u8; 48];
        for (i, r) in random.iter_mut().enumerate() {
            *r = digest.get(i % digest.len()).copied().unwrap_or(0) ^ (i as u8);
        }
        Ok(Env {
            now: UnixTime::from_secs(self.now.load(Ordering::SeqCst)),
            random,
        })
    }
}

impl<S: Source + ?Sized> Source for std::sync::Arc<S> {
    fn env(&self) -> Result<Env, SourceError> {
        (**self).env()
    }

    fn monotonic(&self) -> Duration {
        (**self).monotonic()
    }
}
