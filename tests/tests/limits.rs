#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]
//! `fidogate run` with a per-client limit: one client over its budget is
//! answered 429 in the dialect's shape with `Retry-After` while another
//! still registers; a client cannot pick its key with a spoofed
//! `X-Forwarded-For`, and a trusted proxy's is believed; pass-through
//! traffic is never limited; the refusals are counted.

use fidogate_core::b64;
use fidogate_testkit::keys::alg;
use fidogate_testkit::webauthn::Authenticator;
use fidogate_tests::app::{AppLog, spawn};
use fidogate_tests::client::send_from;
use fidogate_tests::config::{ORIGIN, RP_ID, run_file};
use fidogate_tests::metrics::samples;
use fidogate_tests::process::{GatewayProcess, scrape};
use fidogate_tests::scenario::Req;
use serde_json::{Value, json};
use std::net::IpAddr;
use std::time::{Duration, Instant};

fn ip(s: &str) -> Option<IpAddr> {
    Some(s.parse().unwrap())
}

fn options(user: &str) -> Req {
    Req::json(
        "/attestation/options",
        &json!({"username": user, "displayName": user}),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_over_its_budget_is_refused_while_others_register() {
    let app = spawn(AppLog::default());
    // One a second after a burst of 20: the 21st request within the
    // second is over, whatever the machine's speed.
    let config = format!(
        "{}{}",
        fidogate_tests::process::metrics_listen_line(),
        run_file(app).replacen(
            "gateway:\n",
            "gateway:\n  rate_limit: { per_client_per_sec: 1, burst: 20 }\n  trusted_proxies: [\"127.0.0.2\"]\n",
            1,
        )
    );
    let gw = GatewayProcess::start(&fidogate_testkit::fidogate_binary(), &config, &[]);
    let (hammer, proxy, other) = (ip("127.0.0.1"), ip("127.0.0.2"), ip("127.0.0.3"));

    // 20 from one client, each claiming another address: the peer is not
    // a trusted proxy, so the header changes nothing.
    let started = Instant::now();
    for i in 0..20 {
        let spoofed = options("ann").header("x-forwarded-for", &format!("198.51.100.{i}"));
        let a = send_from(hammer, gw.addr, &spoofed).await;
        assert_eq!(a.status, 200, "request {i}: {}", a.json());
    }
    let over = send_from(
        hammer,
        gw.addr,
        &options("ann").header("x-forwarded-for", "203.0.113.1"),
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "21 requests took {:?}: too slow to test a limit of one a second",
        started.elapsed()
    );
    assert_eq!(over.status, 429, "{}", over.json());
    assert_eq!(over.header("retry-after"), Some("1"));
    let body = over.json();
    assert_eq!(body["status"], "failed", "{body}");
    assert!(
        body["errorMessage"]
            .as_str()
            .unwrap()
            .contains("too many requests"),
        "{body}"
    );
    // One budget across every intercepted endpoint, refused in each
    // dialect's shape.
    let dfns = send_from(
        hammer,
        gw.addr,
        &Req::json("/auth/registration/init", &json!({"username": "ann"})),
    )
    .await;
    assert_eq!(dfns.status, 429);
    assert_eq!(dfns.json()["error"]["name"], "TooManyRequestsError");
    // Pass-through traffic is never limited.
    let pass = send_from(hammer, gw.addr, &Req::bare("GET", "/pass/limited")).await;
    assert_eq!(pass.status, 200);

    // Another client registers.
    let a = send_from(other, gw.addr, &options("bea")).await;
    assert_eq!(a.status, 200);
    let challenge = b64::decode(a.json()["challenge"].as_str().unwrap()).unwrap();
    let cred: Value = Authenticator::none(alg::ES256, 31).register(RP_ID, ORIGIN, &challenge);
    let r = send_from(other, gw.addr, &Req::json("/attestation/result", &cred)).await;
    assert_eq!(r.status, 200, "{}", r.json());

    // Behind the trusted proxy, the address it appends is the client: a
    // fresh one is served, the hammering one is not.
    let fresh = options("cid").header("x-forwarded-for", "6.6.6.6, 198.51.100.77");
    assert_eq!(send_from(proxy, gw.addr, &fresh).await.status, 200);
    let known = options("cid").header("x-forwarded-for", "127.0.0.1");
    assert_eq!(send_from(proxy, gw.addr, &known).await.status, 429);

    // Three refusals counted as rate_limited, by route.
    let at = gw.metrics.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let limited = loop {
        let text = tokio::task::spawn_blocking(move || scrape(at).unwrap())
            .await
            .unwrap();
        let by_route: Vec<(String, f64)> = samples(&text)
            .into_iter()
            .filter(|(k, _)| {
                k.0 == "fidogate_refusals_total"
                    && k.1.iter().any(|(n, v)| n == "class" && v == "rate_limited")
            })
            .map(|(k, v)| {
                let route = k.1.iter().find(|(n, _)| n == "route").unwrap().1.clone();
                (route, v)
            })
            .collect();
        let total: f64 = by_route.iter().map(|(_, v)| v).sum();
        if total >= 3.0 || Instant::now() > deadline {
            break by_route;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        limited,
        vec![("dfns".to_owned(), 1.0), ("webauthn".to_owned(), 2.0)]
    );
}
