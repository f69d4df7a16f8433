#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    reason = "bench fixtures: generated inputs, failures abort the run"
)]
//! The engine's own cost, no I/O: a WebAuthn registration through
//! `Gateway` (options, then result: challenge issued and taken, the
//! registration verified, the header signed) beside verifying the same
//! registration alone; the header's signature; the challenge store.
//!
//! `cargo bench -p fidogate-bench --bench gateway [--features aws-lc]`.
//! Entries under `<backend>/engine/`:
//! - `<kind>/verify-alone`: `verify_registration` on the registration;
//! - `<kind>/options` and `<kind>/result`: the engine's two steps; their
//!   sum over `verify-alone` is what the gateway adds to verification;
//! - `pass-through`: the decision on a request that is not intercepted
//!   (header hygiene and route matching on a browser-like head), what the
//!   gateway adds to every other request;
//! - `sign-header`: one verified-credential header (ES256 JWS);
//! - `challenge-issue-take`: one challenge issued and taken in a store
//!   holding 100,000 others.

use criterion::{BatchSize, Criterion, black_box, criterion_group, criterion_main};
use fidogate_core::UnixTime;
use fidogate_core::crypto;
use fidogate_core::gateway::{
    BodyAction, ChallengeContext, Client, Dialect, Env, Gateway, GatewayConfig, GatewayKeys,
    Intercept, MokaChallengeStore, RequestAction, RouteConfig, RpConfig, TokenSigner,
};
use fidogate_core::trust::{TrustAnchor, TrustAnchors};
use fidogate_core::webauthn::{Policy, RegistrationCredential, RelyingParty, verify_registration};
use fidogate_testkit::Ready;
use fidogate_testkit::keys::{SigningKey, alg};
use fidogate_testkit::webauthn::{Authenticator, attestation_root};
use http::{HeaderMap, Method};
use std::cell::Cell;
use std::sync::Arc;
use std::time::Duration;

const RP: &str = "example.com";
const ORIGIN: &str = "https://example.com";
const NOW: UnixTime = UnixTime::from_secs(1_748_736_000);
const OPTIONS: &str = "/attestation/options";
const RESULT: &str = "/attestation/result";
const OPTIONS_BODY: &[u8] = br#"{"username":"alice","displayName":"Alice","attestation":"direct"}"#;

fn gateway(anchors: TrustAnchors) -> Gateway {
    let config = GatewayConfig::new(
        RpConfig {
            id: RP.into(),
            name: None,
            origins: vec![ORIGIN.into()],
            top_origins: vec![],
        },
        vec![RouteConfig::new("passkeys", Dialect::Webauthn)],
    );
    let keys = GatewayKeys {
        signer: TokenSigner::from_pkcs8_der(&SigningKey::generate(alg::ES256, 1).pkcs8_der())
            .unwrap(),
        retired: vec![],
        secret: vec![7; 32],
        previous_secrets: vec![],
    };
    Gateway::new(
        config,
        keys,
        anchors,
        // Every `result` iteration spends a seal, kept until it expires
        // (hours on the bench's fixed clock): room for the millions of
        // iterations a fast backend runs, where 100,000 filled up and the
        // engine answered 503 instead of verifying.
        Arc::new(MokaChallengeStore::new(SPENT_CAPACITY)),
    )
    .unwrap()
}

/// Spent seals the bench's store holds (about 50 bytes each).
const SPENT_CAPACITY: u64 = 4_000_000;

fn intercept(g: &Gateway, path: &str) -> Intercept {
    match g.on_request(&Method::POST, path, &HeaderMap::new(), Client::UNKNOWN) {
        RequestAction::ReadBody(ix) => ix,
        other => panic!("{path}: {other:?}"),
    }
}

/// Fresh randomness per call, from a counter: every challenge differs.
fn env(counter: &Cell<u64>) -> Env {
    let n = counter.get() + 1;
    counter.set(n);
    let mut random = [0u8; 48];
    random[..8].copy_from_slice(&n.to_le_bytes());
    Env { now: NOW, random }
}

fn respond_json(action: BodyAction) -> serde_json::Value {
    match action {
        BodyAction::Respond(r) if r.status.is_success() => serde_json::from_slice(&r.body).unwrap(),
        other => panic!("options: {other:?}"),
    }
}

/// Options through the engine, then the authenticator's registration for
/// the challenge it issued: (challenge, registration body).
fn issue_and_register(
    g: &Gateway,
    authn: &Authenticator,
    counter: &Cell<u64>,
) -> (Vec<u8>, Vec<u8>) {
    let answer = respond_json(
        g.on_body(&intercept(g, OPTIONS), OPTIONS_BODY, &env(counter))
            .ready(),
    );
    let challenge = fidogate_core::b64::decode(answer["challenge"].as_str().unwrap()).unwrap();
    let body = authn.register(RP, ORIGIN, &challenge).to_string();
    (challenge, body.into_bytes())
}

fn forwarded(action: &BodyAction) -> bool {
    matches!(action, BodyAction::Forward(f) if !f.headers.is_empty())
}

fn bench(c: &mut Criterion) {
    let backend = crypto::BACKEND;
    let root = attestation_root(900);
    let mut anchors = TrustAnchors::new();
    anchors.add_global(TrustAnchor::from_der(root.der.clone(), "root").unwrap());
    let g = gateway(anchors.clone());
    let counter = Cell::new(0);
    let kinds = [
        ("none", Authenticator::none(alg::ES256, 2)),
        (
            "packed-x5c-es256",
            Authenticator::packed_x5c(alg::ES256, 3, &root),
        ),
    ];
    let mut group = c.benchmark_group(format!("{backend}/engine"));
    for (kind, authn) in &kinds {
        // The same registration verified alone, as the verify bench does
        // (JSON parse included), against the challenge the engine issued.
        let (challenge, body) = issue_and_register(&g, authn, &counter);
        let rp = RelyingParty::new(RP, ORIGIN);
        let policy = Policy::default();
        let verify = || {
            let cred = RegistrationCredential::from_json(&body).unwrap();
            verify_registration(&cred, &challenge, &rp, &anchors, &policy, NOW).is_ok()
        };
        assert!(verify(), "{kind}: the registration does not verify");
        // The engine must forward it with the header, or the figure would
        // be a refusal's.
        assert!(
            forwarded(
                &g.on_body(&intercept(&g, RESULT), &body, &env(&counter))
                    .ready()
            ),
            "{kind}: the engine does not forward the registration"
        );
        group.bench_function(format!("{kind}/verify-alone"), |b| {
            b.iter(|| black_box(verify()))
        });
        group.bench_function(format!("{kind}/options"), |b| {
            b.iter(|| {
                let ix = intercept(&g, OPTIONS);
                black_box(g.on_body(&ix, OPTIONS_BODY, &env(&counter)).ready())
            })
        });
        group.bench_function(format!("{kind}/result"), |b| {
            b.iter_batched(
                || issue_and_register(&g, authn, &counter).1,
                |body| {
                    let ix = intercept(&g, RESULT);
                    let action = g.on_body(&ix, &body, &env(&counter)).ready();
                    assert!(forwarded(&action));
                    action
                },
                BatchSize::SmallInput,
            )
        });
    }

    let mut head = HeaderMap::new();
    for (k, v) in [
        ("host", "example.com"),
        (
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36",
        ),
        (
            "accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9",
        ),
        ("accept-encoding", "gzip, deflate, br"),
        ("accept-language", "en-GB,en;q=0.9"),
        ("cookie", "session=0123456789abcdef; theme=dark"),
    ] {
        head.insert(k, v.parse().unwrap());
    }
    assert!(matches!(
        g.on_request(&Method::GET, "/account/profile", &head, Client::UNKNOWN),
        RequestAction::PassThrough
    ));
    group.bench_function("pass-through", |b| {
        b.iter(|| {
            let spoofed = g.spoofed_headers(black_box(&head));
            let action = g.on_request(
                &Method::GET,
                black_box("/account/profile"),
                &head,
                Client::UNKNOWN,
            );
            black_box((
                spoofed.is_empty(),
                matches!(action, RequestAction::PassThrough),
            ))
        })
    });

    let signer =
        TokenSigner::from_pkcs8_der(&SigningKey::generate(alg::ES256, 1).pkcs8_der()).unwrap();
    let claims = serde_json::json!({
        "iss": "fidogate", "aud": "upstream", "iat": 1_748_736_000, "exp": 1_748_736_060,
        "jti": "0123456789abcdef0123456789abcdef", "protocol": "webauthn",
        "dialect": "webauthn", "route": "passkeys", "username": "alice",
        "credentials": [{"id": "AAECAwQFBgcICQoLDA0ODw", "public_key": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE", "alg": "ES256"}],
    });
    group.bench_function("sign-header", |b| {
        b.iter(|| black_box(signer.sign(&claims).unwrap()))
    });

    let store = MokaChallengeStore::new(1_000_000);
    let context = |user: &str| {
        ChallengeContext::new(
            "passkeys.result",
            RP,
            Some(user),
            Some(&[9; 32]),
            NOW,
            Duration::from_secs(300),
        )
    };
    for i in 0u64..100_000 {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&i.to_le_bytes());
        store.issue_now(&key, context("bob")).unwrap();
    }
    group.bench_function("challenge-issue-take", |b| {
        b.iter(|| {
            let mut key = [0xffu8; 32];
            key[..8].copy_from_slice(&counter.get().to_le_bytes());
            counter.set(counter.get() + 1);
            store.issue_now(&key, context("alice")).unwrap();
            black_box(store.take_now(&key).unwrap().is_some())
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
