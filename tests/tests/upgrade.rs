#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]
//! Restarts that drop nothing: `fidogate run --upgrade` takes the
//! listening socket of the running process (SIGQUIT) under a steady
//! registration load without losing a request, and registrations whose
//! options the old process answered complete on the new one (the
//! challenges are sealed); SIGTERM lets a registration in flight finish.

use fidogate_core::b64;
use fidogate_testkit::keys::alg;
use fidogate_testkit::webauthn::Authenticator;
use fidogate_tests::app::{AppLog, spawn};
use fidogate_tests::client::send;
use fidogate_tests::config::{ORIGIN, RP_ID, run_file};
use fidogate_tests::process::GatewayProcess;
use fidogate_tests::scenario::Req;
use serde_json::json;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A route whose app answers registrations after 1.5 s.
const SLOW_ROUTE: &str = "    - name: slow\n      dialect: webauthn\n      options: { path: /slow/options }\n      result: { path: /slow/result }\n";

/// The run file: a fixed port (an upgrade hands a socket over by its
/// address), a grace period, the upgrade socket, the slow route.
fn config(app: SocketAddr, sock: &std::path::Path, grace: u64) -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let file = run_file(app)
        .replace(
            "listen: [\"127.0.0.1:0\"]",
            &format!("listen: [\"127.0.0.1:{port}\"]"),
        )
        .replace(
            "grace_period_secs: 0",
            &format!("grace_period_secs: {grace}"),
        )
        .replacen("  routes:\n", &format!("  routes:\n{SLOW_ROUTE}"), 1);
    format!("upgrade_sock: \"{}\"\n{file}", sock.display())
}

fn sock_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("fidogate-{name}-{}.sock", std::process::id()))
}

static SEED: AtomicU64 = AtomicU64::new(1000);

/// Options for `user` on `prefix` (`/attestation` or `/slow`): the
/// challenge.
async fn options(addr: SocketAddr, prefix: &str, user: &str) -> Vec<u8> {
    let a = send(
        addr,
        &Req::json(
            &format!("{prefix}/options"),
            &json!({"username": user, "displayName": user}),
        ),
    )
    .await;
    assert_eq!(a.status, 200, "options for {user}: {}", a.json());
    b64::decode(a.json()["challenge"].as_str().unwrap()).unwrap()
}

/// Registers a fresh authenticator on `challenge`: the status.
async fn register(addr: SocketAddr, prefix: &str, challenge: &[u8]) -> u16 {
    let seed = SEED.fetch_add(1, Ordering::Relaxed);
    let cred = Authenticator::none(alg::ES256, seed).register(RP_ID, ORIGIN, challenge);
    send(addr, &Req::json(&format!("{prefix}/result"), &cred))
        .await
        .status
}

/// Connections a shutting-down process closed before reading their
/// request (no byte answered), each sent again.
static UNREAD: AtomicU64 = AtomicU64::new(0);

/// `req`, sent again on a fresh connection when the first was closed with
/// no answer at all: the request was never read, so a client may repeat
/// it. Had it been read (a registration spent), the repeat is refused
/// and the test fails.
async fn send_once_read(addr: SocketAddr, req: &Req) -> fidogate_tests::scenario::Answer {
    if let Some(answer) = fidogate_tests::client::try_send(addr, req).await {
        return answer;
    }
    UNREAD.fetch_add(1, Ordering::Relaxed);
    send(addr, req).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_under_load_loses_no_request_and_no_pending_registration() {
    let log = AppLog::default();
    let app = spawn(log.clone());
    let sock = sock_path("upgrade");
    let binary = fidogate_testkit::fidogate_binary();
    let mut gw = GatewayProcess::start(&binary, &config(app, &sock, 2), &[]);
    let addr = gw.addr;

    // Options the old process answers, registered after it is gone.
    let mut pending = Vec::new();
    for i in 0..3 {
        pending.push(options(addr, "/attestation", &format!("pending-{i}")).await);
    }

    // A steady load: three clients registering in a loop, a connection
    // per request.
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for c in 0..3 {
        let stop = stop.clone();
        clients.push(tokio::spawn(async move {
            let mut done = Vec::new();
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let user = format!("load-{c}-{i}");
                let options = send_once_read(
                    addr,
                    &Req::json(
                        "/attestation/options",
                        &json!({"username": user, "displayName": user}),
                    ),
                )
                .await;
                assert_eq!(options.status, 200, "options {c}-{i}");
                let seed = SEED.fetch_add(1, Ordering::Relaxed);
                let cred = Authenticator::none(alg::ES256, seed).register(
                    RP_ID,
                    ORIGIN,
                    &options.challenge(),
                );
                let status = send_once_read(addr, &Req::json("/attestation/result", &cred))
                    .await
                    .status;
                assert_eq!(status, 200, "registration {c}-{i}");
                done.push(Instant::now());
                i += 1;
            }
            done
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let upgraded_at = Instant::now();
    let (gw_back, mut old) = tokio::task::spawn_blocking(move || {
        let old = gw.upgrade(&binary, &sock);
        (gw, old)
    })
    .await
    .unwrap();
    gw = gw_back;
    // The old process finishes within its grace period and exits.
    let status = tokio::task::spawn_blocking(move || {
        fidogate_tests::process::wait_exit(&mut old, Duration::from_secs(30))
    })
    .await
    .unwrap();
    assert!(
        status.is_some(),
        "the old process did not exit:\n{}",
        gw.log()
    );
    let old_gone = Instant::now();
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let mut finished = Vec::new();
    for c in clients {
        finished.extend(c.await.expect("a client saw a failed request"));
    }
    eprintln!(
        "{} registrations; {} connections closed unread by a process shutting down, sent again",
        finished.len(),
        UNREAD.load(Ordering::Relaxed)
    );
    let before = finished.iter().filter(|t| **t < upgraded_at).count();
    let after = finished.iter().filter(|t| **t > old_gone).count();
    assert!(
        before > 0 && after > 0,
        "{before} registrations before the upgrade, {after} after the old process left"
    );

    // The pending registrations complete on the new process.
    for challenge in &pending {
        assert_eq!(register(addr, "/attestation", challenge).await, 200);
    }
    // The app stored every one, each verified (it answers 500 otherwise).
    let stored = log
        .seen()
        .iter()
        .filter(|s| s.path == "/attestation/result")
        .count();
    assert_eq!(stored, finished.len() + pending.len());
    let lines = gw.log();
    assert!(
        lines.contains("SIGQUIT received"),
        "the old process did not log the handover:\n{lines}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_a_registration_in_flight_finish() {
    let app = spawn(AppLog::default());
    let sock = sock_path("term");
    let binary = fidogate_testkit::fidogate_binary();
    let mut gw = GatewayProcess::start(&binary, &config(app, &sock, 5), &[]);
    let addr = gw.addr;
    let challenge = options(addr, "/slow", "tia").await;
    // The app takes 1.5 s to answer; SIGTERM arrives meanwhile.
    let in_flight = tokio::spawn(async move { register(addr, "/slow", &challenge).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    gw.signal("TERM");
    assert_eq!(in_flight.await.unwrap(), 200, "{}", gw.log());
    let exited = tokio::task::spawn_blocking(move || {
        let status = gw.wait_exit(Duration::from_secs(30));
        (status, gw)
    })
    .await
    .unwrap();
    assert!(
        exited.0.is_some(),
        "no exit after SIGTERM:\n{}",
        exited.1.log()
    );
}

/// Kills the daemon whose process ID is in the file, whatever happened.
struct Daemon(PathBuf);

impl Daemon {
    fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(&self.0).ok()?.trim().parse().ok()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(pid) = self.pid() {
            let _ = std::process::Command::new("kill")
                .arg(pid.to_string())
                .status();
        }
    }
}

fn alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_systemd_unit_flow_daemon_then_reload() {
    let app = spawn(AppLog::default());
    let dir = std::env::temp_dir().join(format!("fidogate-daemon-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (sock, pid_file) = (dir.join("upgrade.sock"), dir.join("fidogate.pid"));
    let text = config(app, &sock, 1);
    let port: u16 = text
        .split("listen: [\"127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .parse()
        .unwrap();
    let file = dir.join("fidogate.yaml");
    std::fs::write(
        &file,
        format!("pid_file: \"{}\"\n{text}", pid_file.display()),
    )
    .unwrap();
    let binary = fidogate_testkit::fidogate_binary();
    let run = |extra: &[&str]| {
        let status = std::process::Command::new(&binary)
            .arg("run")
            .args(extra)
            .arg("--config")
            .arg(&file)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        // The parent returns once the daemon is forked.
        assert!(status.success(), "fidogate run {extra:?}: {status}");
    };
    let daemon = Daemon(pid_file.clone());
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let healthy = || async move {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if tokio::net::TcpStream::connect(addr).await.is_ok()
                && send(addr, &Req::bare("GET", "/healthz")).await.status == 200
            {
                return;
            }
            assert!(Instant::now() < deadline, "no answer on {addr}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    run(&["--daemon"]);
    healthy().await;
    let first = daemon.pid().expect("a pid file");
    assert!(alive(first));
    let challenge = options(addr, "/attestation", "una").await;

    // ExecReload, in the unit's order: SIGQUIT, then the new process.
    fidogate_tests::process::signal(first, "QUIT");
    run(&["--upgrade", "--daemon"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let second = loop {
        if let Some(pid) = daemon.pid()
            && pid != first
            && !alive(first)
        {
            break pid;
        }
        assert!(
            Instant::now() < deadline,
            "the new daemon did not take over (pid file: {:?})",
            daemon.pid()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(alive(second));
    healthy().await;
    // Options from the first daemon, registration to the second.
    assert_eq!(register(addr, "/attestation", &challenge).await, 200);
    drop(daemon);
    let _ = std::fs::remove_dir_all(&dir);
}
