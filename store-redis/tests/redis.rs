#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]
//! The store against a real `redis-server` of the test's own: single use
//! across runtimes that come and go (each caller's thread has its own
//! connection, made on its runtime), callers outside any runtime, and an
//! outage and recovery.

use fidogate_core::UnixTime;
use fidogate_core::gateway::{ChallengeStore, StoreError};
use fidogate_redis::RedisChallengeStore;
use fidogate_tests::redis::{RedisServer, available};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

const NOW: UnixTime = UnixTime::from_secs(1_800_000_000);
const TTL: Duration = Duration::from_secs(60);

fn home() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

fn connect(rt: &tokio::runtime::Runtime, url: &str, prefix: &str) -> RedisChallengeStore {
    rt.block_on(RedisChallengeStore::connect(
        url,
        prefix,
        Duration::from_millis(500),
        rt.handle().clone(),
    ))
    .unwrap()
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Runs `f` to completion on this thread with no tokio runtime at all.
fn outside_any_runtime<F: std::future::Future>(f: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        match f.as_mut().poll(&mut cx) {
            Poll::Ready(v) => return v,
            Poll::Pending => std::thread::park_timeout(Duration::from_millis(10)),
        }
    }
}

#[test]
fn single_use_holds_across_runtimes_that_come_and_go() {
    if !available() {
        return;
    }
    let redis = RedisServer::start();
    let rt = home();
    let store = connect(&rt, &redis.url(), "runtimes:");
    // A runtime makes this thread's connection, then shuts down with it.
    let first = current_thread();
    assert_eq!(first.block_on(store.spend(b"a", NOW, TTL)), Ok(true));
    drop(first);
    // The next runtime on the same thread still finds the record.
    let second = current_thread();
    assert_eq!(second.block_on(store.spend(b"a", NOW, TTL)), Ok(false));
    assert_eq!(second.block_on(store.spend(b"b", NOW, TTL)), Ok(true));
    drop(second);
    // Outside any runtime the store's own runtime carries the command.
    assert_eq!(outside_any_runtime(store.spend(b"b", NOW, TTL)), Ok(false));
    assert_eq!(outside_any_runtime(store.spend(b"c", NOW, TTL)), Ok(true));
    // Other threads, at once: exactly one of them spends each seal.
    for round in 0..20u32 {
        let key = round.to_be_bytes();
        let winners: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        let rt = current_thread();
                        rt.block_on(store.spend(&key, NOW, TTL)) == Ok(true)
                    })
                })
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
fn an_outage_is_unavailable_and_recovery_needs_no_restart() {
    if !available() {
        return;
    }
    let mut redis = RedisServer::start();
    let rt = home();
    let store = connect(&rt, &redis.url(), "outage:");
    assert_eq!(rt.block_on(store.spend(b"x", NOW, TTL)), Ok(true));
    redis.stop();
    let started = Instant::now();
    let down = rt.block_on(store.spend(b"y", NOW, TTL));
    assert!(
        matches!(&down, Err(StoreError::Unavailable(m)) if m.contains(&redis.addr.to_string())),
        "{down:?}"
    );
    // Within the deadline (500 ms) and some slack, never hanging.
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(rt.block_on(store.health()).is_err());
    redis.start_again();
    // Reconnection is in the background: allow it a bounded while.
    let deadline = Instant::now() + Duration::from_secs(20);
    let back = loop {
        match rt.block_on(store.spend(b"y", NOW, TTL)) {
            Err(StoreError::Unavailable(_)) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(100));
            }
            other => break other,
        }
    };
    // A fresh Redis (no persistence): "y" was never recorded while down.
    assert_eq!(back, Ok(true));
    assert_eq!(rt.block_on(store.spend(b"y", NOW, TTL)), Ok(false));
    assert!(rt.block_on(store.health()).is_ok());
}
