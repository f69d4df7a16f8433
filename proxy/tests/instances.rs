#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]
//! Two `fidogate run` instances sharing one secret and one real Redis, as
//! behind a load balancer: options from one, the registration to the
//! other; single use across both, also under concurrent submissions; and
//! Redis going away and coming back.

use fidogate_testkit::keycred::{KeyCeremony, KeyClient};
use fidogate_testkit::keys::alg;
use fidogate_testkit::uaf::{UafAttestationKind, UafAuthenticator, UafCeremony};
use fidogate_testkit::webauthn::Authenticator;
use fidogate_tests::app::{APP_ID, AppLog, FACET, router};
use fidogate_tests::client::send;
use fidogate_tests::config::{ORIGIN, RP_ID, run_file_with};
use fidogate_tests::process::GatewayProcess;
use fidogate_tests::redis::{RedisServer, available};
use fidogate_tests::scenario::{Answer, Req};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

async fn options(at: SocketAddr, path: &str, user: &str) -> Answer {
    send(at, &Req::json(path, &json!({ "username": user }))).await
}

async fn post(at: SocketAddr, path: &str, body: &Value) -> Answer {
    send(at, &Req::json(path, body)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_share_one_redis() {
    if !available() {
        return;
    }
    let mut redis = RedisServer::start();
    let log = AppLog::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = listener.local_addr().unwrap();
    let serving = router(log.clone());
    tokio::spawn(async move { axum::serve(listener, serving).await });

    // One secret and one signing key for both, in a folder of the test's.
    let shared = std::env::temp_dir().join(format!("fidogate-shared-{}", std::process::id()));
    std::fs::create_dir_all(&shared).unwrap();
    let extra = format!(
        "secret_file: {}\nsigning_key_file: {}\n",
        shared.join("secret").display(),
        shared.join("key.pem").display()
    );
    let config = run_file_with(app, Some(&redis.url()), &extra);
    let binary = Path::new(env!("CARGO_BIN_EXE_fidogate"));
    let (a, b) = tokio::task::spawn_blocking(move || {
        let a = GatewayProcess::start(binary, &config, &[]);
        let b = GatewayProcess::start(binary, &config, &[]);
        (a, b)
    })
    .await
    .unwrap();

    // Options from A, the registration to B; the replay to either refused.
    let o = options(a.addr, "/attestation/options", "alice").await;
    assert_eq!(o.status, 200);
    let cred = Authenticator::none(alg::ES256, 1).register(RP_ID, ORIGIN, &o.challenge());
    let r = post(b.addr, "/attestation/result", &cred).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    for gw in [a.addr, b.addr] {
        let again = post(gw, "/attestation/result", &cred).await;
        assert_eq!(again.status, 403);
        assert!(
            again.json()["errorMessage"]
                .as_str()
                .unwrap()
                .contains("already used")
        );
    }
    // App-issued challenges are shared too: options through A, result to B.
    let o = options(a.addr, "/app/webauthn/options", "bob").await;
    let cred = Authenticator::none(alg::ES256, 2).register(RP_ID, ORIGIN, &o.challenge());
    assert_eq!(
        post(b.addr, "/app/webauthn/result", &cred).await.status,
        200
    );
    assert_eq!(
        post(a.addr, "/app/webauthn/result", &cred).await.status,
        403
    );

    // 20 rounds of one registration sent to A and B at once.
    for round in 0..20u64 {
        let o = options(a.addr, "/attestation/options", "carol").await;
        let cred =
            Authenticator::none(alg::ES256, 100 + round).register(RP_ID, ORIGIN, &o.challenge());
        let (x, y) = tokio::join!(
            post(a.addr, "/attestation/result", &cred),
            post(b.addr, "/attestation/result", &cred)
        );
        let mut statuses = [x.status, y.status];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 403], "round {round}");
    }

    // Redis goes away: registrations are refused with 503 in each
    // dialect's shape, nothing is forwarded; other traffic is untouched.
    let wa = options(a.addr, "/attestation/options", "dan").await;
    let nv = options(a.addr, "/_app/attestation/options", "dan").await;
    let df = options(a.addr, "/auth/registration/init", "dan").await;
    let uf = send(a.addr, &Req::json("/regRequest/dan", &json!({}))).await;
    let forwarded = log.seen().len();
    redis.stop();
    let wa_cred = Authenticator::none(alg::ES256, 3).register(RP_ID, ORIGIN, &wa.challenge());
    let nv_cred = Authenticator::none(alg::ES256, 4).register(RP_ID, ORIGIN, &nv.challenge());
    let key = KeyClient::new(alg::ES256, 5);
    let df_body = json!({"firstFactorCredential": key.credential("Key", &KeyCeremony::new(&df.challenge(), ORIGIN))});
    let (challenge, server_data) = uf.uaf_request();
    let uf_body = UafAuthenticator::new(
        "ABCD#0001",
        alg::ES256,
        6,
        UafAttestationKind::BasicSurrogate,
    )
    .register(&UafCeremony::new(APP_ID, &challenge, FACET, &server_data));
    for (path, body, shape) in [
        ("/attestation/result", &wa_cred, "webauthn"),
        ("/_app/attestation/result", &nv_cred, "nevis"),
        ("/auth/registration", &df_body, "dfns"),
        ("/regResponse", &uf_body, "uaf"),
    ] {
        let r = post(b.addr, path, body).await;
        assert_eq!(
            r.status,
            503,
            "{path}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert_eq!(r.header("retry-after"), Some("1"), "{path}");
        let j = r.json();
        let shaped = match shape {
            "webauthn" => j["status"] == "failed" && j["errorMessage"].is_string(),
            "nevis" => j["status"] == "failed" && j["token"] == "",
            "dfns" => {
                j["error"]["httpStatus"] == 503 && j["error"]["name"] == "ServiceUnavailableError"
            }
            _ => j["code"] == 503,
        };
        assert!(shaped, "{path}: {j}");
    }
    assert_eq!(
        send(
            b.addr,
            &Req::json("/app/webauthn/options", &json!({"username": "dan"}))
        )
        .await
        .status,
        503,
        "an app-issued challenge cannot be kept"
    );
    let pass = send(b.addr, &Req::bare("GET", "/profile")).await;
    assert_eq!(pass.status, 200, "pass-through is untouched");
    let health = send(b.addr, &Req::bare("GET", "/healthz")).await;
    assert_eq!(health.status, 503);
    assert_eq!(
        health.json(),
        json!({"status": "degraded", "challenge_store": "unreachable"})
    );
    // The app-issued options went to the app (its challenge could not be
    // kept); nothing else reached it.
    let seen: Vec<_> = log
        .seen()
        .into_iter()
        .skip(forwarded)
        .map(|s| s.path)
        .collect();
    assert_eq!(seen, ["/app/webauthn/options", "/profile"]);

    // Redis comes back: registrations succeed again, without a restart.
    redis.start_again();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seed = 200;
    loop {
        let o = options(a.addr, "/attestation/options", "erin").await;
        seed += 1;
        let cred = Authenticator::none(alg::ES256, seed).register(RP_ID, ORIGIN, &o.challenge());
        let r = post(b.addr, "/attestation/result", &cred).await;
        if r.status == 200 {
            break;
        }
        assert_eq!(r.status, 503, "{}", String::from_utf8_lossy(&r.body));
        assert!(
            Instant::now() < deadline,
            "registrations still refused 30 s after Redis came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        send(b.addr, &Req::bare("GET", "/healthz")).await.status,
        200
    );
    let lines = b.log();
    assert!(lines.contains("challenge store unreachable"), "{lines}");
    assert!(lines.contains("challenge store reachable again"), "{lines}");
    drop((a, b));
    let _ = std::fs::remove_dir_all(&shared);
}
