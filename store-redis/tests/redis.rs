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

/// A Redis over TLS with a certificate for 127.0.0.1 from a CA of the
/// test's own: the CA (PEM) and the server.
fn tls_redis(name: &str) -> (String, RedisServer, std::path::PathBuf) {
    use fidogate_testkit::certs::{root_ca, tls_server};
    use fidogate_testkit::keys::{SigningKey, alg};
    let dir =
        std::env::temp_dir().join(format!("fidogate-redis-tls-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let ca = root_ca("redis test CA", SigningKey::generate(alg::ES256, 70));
    let (server, key) = tls_server(&["127.0.0.1"], 71, &ca);
    let (cert_file, key_file) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_file, server.pem()).unwrap();
    std::fs::write(&key_file, key).unwrap();
    (ca.pem(), RedisServer::start_tls(&cert_file, &key_file), dir)
}

#[test]
fn rediss_checks_the_servers_certificate_against_the_roots_given() {
    if !available() {
        return;
    }
    let (ca, redis, dir) = tls_redis("roots");
    let url = redis.tls_url().unwrap();
    let rt = home();
    let connect = |roots: Option<&[u8]>| {
        rt.block_on(RedisChallengeStore::connect_with_roots(
            &url,
            roots,
            "tls:",
            Duration::from_millis(2000),
            rt.handle().clone(),
        ))
    };
    // Trusted through the CA given: single use holds over TLS, from this
    // runtime and from another.
    let store = connect(Some(ca.as_bytes())).unwrap();
    assert_eq!(rt.block_on(store.spend(b"t", NOW, TTL)), Ok(true));
    assert_eq!(
        current_thread().block_on(store.spend(b"t", NOW, TTL)),
        Ok(false)
    );
    // Not trusted by the public web roots, nor by another CA: refused,
    // naming the URL and the certificate.
    let other = fidogate_testkit::certs::root_ca(
        "another CA",
        fidogate_testkit::keys::SigningKey::generate(fidogate_testkit::keys::alg::ES256, 72),
    )
    .pem();
    for roots in [None, Some(other.as_bytes())] {
        match connect(roots) {
            Err(StoreError::Unavailable(m)) => {
                assert!(m.contains(&url), "{m}");
                assert!(m.to_lowercase().contains("certificate"), "{m}");
            }
            other => panic!("an untrusted Redis certificate was accepted: {other:?}"),
        }
    }
    // Plain Redis protocol on the TLS port is no answer either.
    let plain = url.replacen("rediss://", "redis://", 1);
    assert!(
        rt.block_on(RedisChallengeStore::connect(
            &plain,
            "tls:",
            Duration::from_millis(500),
            rt.handle().clone(),
        ))
        .is_err()
    );
    let _ = std::fs::remove_dir_all(dir);
}
