#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]
//! The scenario table against the real `fidogate run`, built from this
//! source (`CARGO_BIN_EXE_fidogate`, with the `test-clock` feature),
//! over loopback sockets: the app on a port the OS picked, the gateway on
//! one it picked and read back from `/proc`, and a second gateway whose
//! app is a port bound but not listening (connections refused).

use fidogate_core::UnixTime;
use fidogate_tests::app::{AppLog, Seen, router};
use fidogate_tests::config::run_file_with;
use fidogate_tests::process::GatewayProcess;
use fidogate_tests::runner::run_all;
use fidogate_tests::scenario::{Answer, Req, Target};
use fidogate_tests::table::scenarios;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// One `fidogate run` with its clock file.
struct Binary {
    gateway: GatewayProcess,
    clock: PathBuf,
    /// The gateway's clock, stopped: it moves only when a step advances it.
    at: Mutex<i64>,
    log: AppLog,
    // Holds the port of a down app.
    _reserved: Option<tokio::net::TcpSocket>,
}

impl Binary {
    fn start(
        upstream: SocketAddr,
        log: AppLog,
        reserved: Option<tokio::net::TcpSocket>,
        redis: Option<&str>,
    ) -> Self {
        Self::start_with(upstream, log, reserved, redis, "")
    }

    fn start_with(
        upstream: SocketAddr,
        log: AppLog,
        reserved: Option<tokio::net::TcpSocket>,
        redis: Option<&str>,
        extra: &str,
    ) -> Self {
        let clock_dir = tempdir();
        let clock = clock_dir.join("clock");
        let at = UnixTime::from_system(SystemTime::now()).as_secs();
        std::fs::write(&clock, format!("@{at}")).unwrap();
        let gateway = GatewayProcess::start(
            Path::new(env!("CARGO_BIN_EXE_fidogate")),
            &run_file_with(upstream, redis, extra),
            &[("FIDOGATE_TEST_CLOCK_FILE", clock.to_str().unwrap())],
        );
        Self {
            gateway,
            clock,
            at: Mutex::new(at),
            log,
            _reserved: reserved,
        }
    }
}

fn tempdir() -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "fidogate-clock-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[async_trait::async_trait]
impl Target for Binary {
    async fn send(&self, req: Req) -> Answer {
        fidogate_tests::client::send(self.gateway.addr, &req).await
    }

    fn seen(&self) -> Vec<Seen> {
        self.log.seen()
    }

    fn advance(&self, by: Duration) {
        let mut at = self.at.lock().unwrap();
        *at += i64::try_from(by.as_secs()).unwrap();
        std::fs::write(&self.clock, format!("@{at}")).unwrap();
    }

    fn now(&self) -> UnixTime {
        UnixTime::from_secs(*self.at.lock().unwrap())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scenario_table_through_fidogate_run() {
    table_through_fidogate_run(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scenario_table_through_fidogate_run_with_redis() {
    if !fidogate_tests::redis::available() {
        return;
    }
    let redis = fidogate_tests::redis::RedisServer::start();
    table_through_fidogate_run(Some(&redis.url())).await;
}

async fn table_through_fidogate_run(redis: Option<&str>) {
    let redis = redis.map(str::to_owned);
    let log = AppLog::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = listener.local_addr().unwrap();
    let serving = router(log.clone());
    tokio::spawn(async move { axum::serve(listener, serving).await });

    // A port bound and never listened on: the app is down.
    let reserved = tokio::net::TcpSocket::new_v4().unwrap();
    reserved.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let dead = reserved.local_addr().unwrap();

    let (up, down) = tokio::task::spawn_blocking(move || {
        (
            Binary::start(app, log, None, redis.as_deref()),
            Binary::start(dead, AppLog::default(), Some(reserved), redis.as_deref()),
        )
    })
    .await
    .unwrap();
    run_all(&up, &down, &scenarios()).await;
    // The gateway logged one line per intercepted request, with a reason.
    let lines = up.gateway.log();
    for want in [
        "route=\"webauthn\" dialect=\"webauthn\" endpoint=\"result\" decision=\"verified\" status=200 reason=\"verified\"",
        "decision=\"refused\" status=403 reason=\"replay\"",
    ] {
        assert!(lines.contains(want), "no {want:?} in the log:\n{lines}");
    }
    assert!(!lines.contains('\u{1b}'), "colour codes in a log file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_by_exactly_what_was_sent_through_fidogate_run() {
    use fidogate_tests::metrics::{assert_moved, known_sequence, samples};
    use fidogate_tests::process::scrape;
    let log = AppLog::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = listener.local_addr().unwrap();
    let serving = router(log.clone());
    tokio::spawn(async move { axum::serve(listener, serving).await });
    let up = tokio::task::spawn_blocking(move || {
        let line = fidogate_tests::process::metrics_listen_line();
        Binary::start_with(app, log, None, None, &line)
    })
    .await
    .unwrap();
    let at = up.gateway.metrics.expect("a metrics listener");
    let get = move || async move {
        tokio::task::spawn_blocking(move || scrape(at).expect("GET /metrics"))
            .await
            .unwrap()
    };
    let before = get().await;
    let want = known_sequence(&up).await;
    // Pingora counts a request once its answer is sent: the last one may
    // be recorded a moment after the client has it.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let after = loop {
        let after = get().await;
        let total = |t: &str| -> f64 {
            samples(t)
                .iter()
                .filter(|(k, _)| k.0 == "fidogate_requests_total")
                .map(|(_, v)| v)
                .sum()
        };
        let sent: f64 = want
            .iter()
            .filter(|(k, _)| k.0 == "fidogate_requests_total")
            .map(|(_, v)| v)
            .sum();
        if total(&after) - total(&before) >= sent || std::time::Instant::now() > deadline {
            break after;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_moved(&before, &after, &want);
    // The memory store's gauges are there.
    let now = samples(&after);
    assert!(
        now.keys().any(|k| k.0 == "fidogate_challenges_pending"),
        "{after}"
    );
    assert!(
        now.keys().any(|k| k.0 == "fidogate_challenges_spent"),
        "{after}"
    );
    // The public listener does not serve them: /metrics there is the app's.
    let public = fidogate_tests::client::send(up.gateway.addr, &Req::bare("GET", "/metrics")).await;
    assert!(
        !String::from_utf8_lossy(&public.body).contains("fidogate_"),
        "the public listener served metrics"
    );
}
