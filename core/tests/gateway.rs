#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]
//! The engine with a fixed clock and fixed randomness: configuration
//! errors, expiry at its boundary, Content-Length handling, the app's
//! answers on upstream-issued routes, the token's claims.

use fidogate_core::UnixTime;
use fidogate_core::b64;
use fidogate_core::gateway::*;
use fidogate_core::trust::TrustAnchors;
use fidogate_testkit::Ready;
use fidogate_testkit::keys::{SigningKey, alg};
use fidogate_testkit::webauthn::Authenticator;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;

const T0: i64 = 1_800_000_000;

fn rp() -> RpConfig {
    RpConfig {
        id: "example.com".into(),
        name: None,
        origins: vec!["https://example.com".into()],
        top_origins: vec![],
    }
}

fn keys() -> GatewayKeys {
    let der = SigningKey::generate(alg::ES256, 1).pkcs8_der();
    GatewayKeys {
        signer: TokenSigner::from_pkcs8_der(&der).unwrap(),
        retired: vec![],
        secret: vec![1; 32],
        previous_secrets: vec![],
    }
}

fn build(config: GatewayConfig) -> Result<Gateway, ConfigError> {
    Gateway::new(
        config,
        keys(),
        TrustAnchors::new(),
        Arc::new(MokaChallengeStore::new(100)),
    )
}

fn gateway() -> Gateway {
    let mut up = RouteConfig::new("up", Dialect::Webauthn).upstream_challenges();
    up.options = Some(EndpointConfig {
        method: "POST".into(),
        path: "/up/options".into(),
    });
    up.result = Some(EndpointConfig {
        method: "POST".into(),
        path: "/up/result".into(),
    });
    let mut uaf = RouteConfig::new("uaf", Dialect::Uaf).upstream_challenges();
    uaf.challenge_ttl_secs = 60;
    let mut c = GatewayConfig::new(
        rp(),
        vec![RouteConfig::new("wa", Dialect::Webauthn), up, uaf],
    );
    c.uaf.app_id = "https://example.com/facets".into();
    build(c).unwrap()
}

fn env(at: i64, fill: u8) -> Env {
    Env {
        now: UnixTime::from_secs(at),
        random: [fill; 48],
    }
}

fn intercept(g: &Gateway, path: &str) -> Intercept {
    match g.on_request(&Method::POST, path, &HeaderMap::new(), Client::UNKNOWN) {
        RequestAction::ReadBody(ix) => ix,
        other => panic!("{path}: {other:?}"),
    }
}

fn respond(a: BodyAction) -> Reply {
    match a {
        BodyAction::Respond(r) => r,
        BodyAction::Forward(f) => panic!("forwarded: {f:?}"),
    }
}

fn json_of(r: &Reply) -> Value {
    serde_json::from_slice(&r.body).unwrap()
}

#[test]
fn configuration_errors_name_their_key() {
    let err = |f: &dyn Fn(&mut GatewayConfig)| {
        let mut c = GatewayConfig::new(rp(), vec![RouteConfig::new("wa", Dialect::Webauthn)]);
        f(&mut c);
        build(c).unwrap_err().key
    };
    assert_eq!(err(&|c| c.header_name = "bad header".into()), "header_name");
    assert_eq!(err(&|c| c.rp.origins.clear()), "rp.origins");
    assert_eq!(
        err(&|c| c.webauthn.user_verification = "sometimes".into()),
        "webauthn.user_verification"
    );
    assert_eq!(
        err(&|c| c.routes.push(RouteConfig::new("wa", Dialect::Nevis))),
        "routes[1].name"
    );
    assert_eq!(
        err(&|c| c.routes.push(RouteConfig::new("again", Dialect::Webauthn))),
        "routes[1].options.path"
    );
    assert_eq!(
        err(&|c| c.routes.push(RouteConfig::new("u", Dialect::Uaf))),
        "uaf.app_id"
    );
    assert_eq!(
        err(&|c| c.routes[0].options = Some(EndpointConfig {
            method: "P OST".into(),
            path: "/x".into()
        })),
        "routes[0].options.method"
    );
    assert_eq!(
        err(&|c| c.routes[0].result = Some(EndpointConfig {
            method: "POST".into(),
            path: "/x/{".into()
        })),
        "routes[0].result.path"
    );
    assert_eq!(
        err(&|c| c.routes[0].challenge_pointer = Some("challenge".into())),
        "routes[0].challenge_pointer"
    );
    assert_eq!(
        err(&|c| c.routes[0].challenge_ttl_secs = 0),
        "routes[0].challenge_ttl_secs"
    );
    for bad in [vec![], vec![-7, -7], vec![-7, -9999]] {
        assert_eq!(
            err(&|c| c.routes[0].algorithms = Some(bad.clone())),
            "routes[0].algorithms",
            "{bad:?}"
        );
        assert_eq!(
            err(&|c| c.webauthn.algorithms = Some(bad.clone())),
            "webauthn.algorithms",
            "{bad:?}"
        );
    }
    let mut k = keys();
    k.secret.truncate(31);
    let c = GatewayConfig::new(rp(), vec![]);
    assert_eq!(
        Gateway::new(
            c,
            k,
            TrustAnchors::new(),
            Arc::new(MokaChallengeStore::new(1))
        )
        .unwrap_err()
        .key,
        "secret"
    );
    // Unknown keys in a configuration file are refused by name.
    let e =
        serde_json::from_value::<RouteConfig>(json!({"name": "x", "dialect": "uaf", "colour": 1}))
            .unwrap_err();
    assert!(e.to_string().contains("colour"), "{e}");
}

#[test]
fn expiry_is_judged_at_its_boundary_with_the_callers_clock() {
    let g = gateway();
    for (late, ok) in [(300, true), (301, false)] {
        let ix = intercept(&g, "/attestation/options");
        let o = json_of(&respond(
            g.on_body(&ix, br#"{"username":"a"}"#, &env(T0, late as u8))
                .ready(),
        ));
        let challenge = b64::decode(o["challenge"].as_str().unwrap()).unwrap();
        assert_eq!(challenge.len(), 52, "a seal carrying the one-byte username");
        assert!(
            challenge.windows(16).any(|w| w == [late as u8; 16]),
            "the seal's randomness is the caller's"
        );
        let cred = Authenticator::none(alg::ES256, 2).register(
            "example.com",
            "https://example.com",
            &challenge,
        );
        let ix = intercept(&g, "/attestation/result");
        let action = g
            .on_body(&ix, cred.to_string().as_bytes(), &env(T0 + late, 9))
            .ready();
        match (action, ok) {
            (BodyAction::Forward(f), true) => {
                let claims = f.claims.unwrap();
                assert_eq!((claims.iat, claims.exp), (T0 + late, T0 + late + 60));
                assert_eq!(claims.jti, b64::encode(&[9; 16]));
                // The header carries exactly these claims, signed.
                let jwks = serde_json::from_slice(g.jwks()).unwrap();
                let token = f.headers[0].1.to_str().unwrap();
                let verified = verify_token(
                    token,
                    &jwks,
                    "fidogate",
                    "upstream",
                    UnixTime::from_secs(T0 + late),
                    0,
                )
                .unwrap();
                assert_eq!(verified, *claims);
                assert_eq!(f.headers[0].0, "fidogate-credential");
            }
            (BodyAction::Respond(r), false) => {
                assert_eq!(r.status, StatusCode::FORBIDDEN);
                assert!(
                    json_of(&r)["errorMessage"]
                        .as_str()
                        .unwrap()
                        .contains("expired")
                );
            }
            (other, _) => panic!("late {late}: {other:?}"),
        }
    }
}

#[test]
fn content_length_is_checked_before_the_body() {
    let g = gateway();
    let with = |values: &[&str]| {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("content-length", HeaderValue::from_str(v).unwrap());
        }
        g.on_request(&Method::POST, "/attestation/result", &h, Client::UNKNOWN)
    };
    assert!(matches!(with(&["65536"]), RequestAction::ReadBody(ref ix) if ix.limit() == 65536));
    let status = |a: RequestAction| match a {
        RequestAction::Respond(r) => r.status.as_u16(),
        other => panic!("{other:?}"),
    };
    assert_eq!(status(with(&["65537"])), 413);
    assert_eq!(status(with(&["99999999999999999999999"])), 400);
    assert_eq!(status(with(&["+5"])), 400);
    assert_eq!(status(with(&["10", "20"])), 400);
    assert!(matches!(with(&["10", "10"]), RequestAction::ReadBody(_)));
    // The engine refuses a body past the limit even if the adapter read it.
    let ix = intercept(&g, "/attestation/result");
    assert_eq!(
        respond(g.on_body(&ix, &vec![b' '; 65537], &env(T0, 1)).ready()).status,
        413
    );
}

#[test]
fn the_uaf_facet_list_is_served_at_an_app_id_on_our_origin() {
    // gateway(): AppID https://example.com/facets, an origin of the RP.
    let g = gateway();
    let h = HeaderMap::new();
    for m in [Method::GET, Method::HEAD] {
        let RequestAction::Respond(r) = g.on_request(&m, "/facets", &h, Client::UNKNOWN) else {
            panic!("{m} /facets was not answered")
        };
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.content_type(), "application/fido.trusted-apps+json");
        assert_eq!(
            json_of(&r),
            json!({"trustedFacets": [{"version": {"major": 1, "minor": 0}, "ids": ["https://example.com"]}]})
        );
    }
    assert!(matches!(
        g.on_request(&Method::POST, "/facets", &h, Client::UNKNOWN),
        RequestAction::PassThrough
    ));
    // Configured facets (web, Android, iOS) are the list.
    let mut c = GatewayConfig::new(rp(), vec![RouteConfig::new("uaf", Dialect::Uaf)]);
    c.uaf.app_id = "https://example.com/uaf/facets.json".into();
    let ids = [
        "https://example.com",
        "android:apk-key-hash:2jmj7l5rSw0yVb/vlWAYkK/YBwk",
        "ios:bundle-id:com.example.app",
    ];
    c.uaf.trusted_facets = ids.iter().map(|s| (*s).to_owned()).collect();
    let g = build(c).unwrap();
    let RequestAction::Respond(r) =
        g.on_request(&Method::GET, "/uaf/facets.json", &h, Client::UNKNOWN)
    else {
        panic!()
    };
    assert_eq!(json_of(&r)["trustedFacets"][0]["ids"], json!(ids));
    // An AppID on another origin is that origin's to serve.
    let mut c = GatewayConfig::new(rp(), vec![RouteConfig::new("uaf", Dialect::Uaf)]);
    c.uaf.app_id = "https://uaf.example.org/facets".into();
    let g = build(c).unwrap();
    assert!(matches!(
        g.on_request(&Method::GET, "/facets", &h, Client::UNKNOWN),
        RequestAction::PassThrough
    ));
}

#[test]
fn fidogate_js_is_served_with_an_etag_and_revalidated() {
    let g = gateway();
    let none = HeaderMap::new();
    let get =
        |m: &Method, path: &str, h: &HeaderMap| match g.on_request(m, path, h, Client::UNKNOWN) {
            RequestAction::Respond(r) => Some(r),
            _ => None,
        };
    let header = |r: &Reply, name: &str| {
        r.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    };
    let mut etag = String::new();
    for m in [Method::GET, Method::HEAD] {
        let r = get(&m, DEFAULT_CLIENT_PATH, &none).unwrap();
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.content_type(), "text/javascript");
        assert_eq!(r.body, FIDOGATE_JS.as_bytes());
        assert_eq!(r.content_length(), Some(FIDOGATE_JS.len()));
        assert!(
            std::str::from_utf8(&r.body)
                .unwrap()
                .contains("export async function register")
        );
        etag = header(&r, "etag").unwrap();
        assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
        assert_eq!(header(&r, "cache-control").as_deref(), Some("no-cache"));
        assert_eq!(
            header(&r, "x-content-type-options").as_deref(),
            Some("nosniff")
        );
    }
    // The copy the client has: 304, no body and no Content-Length.
    let mut h = HeaderMap::new();
    h.insert(
        http::header::IF_NONE_MATCH,
        HeaderValue::from_str(&format!("\"stale\", W/{etag}")).unwrap(),
    );
    let r = get(&Method::GET, DEFAULT_CLIENT_PATH, &h).unwrap();
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    assert!(r.body.is_empty());
    assert_eq!(r.content_length(), None);
    assert_eq!(header(&r, "etag"), Some(etag.clone()));
    h.insert(
        http::header::IF_NONE_MATCH,
        HeaderValue::from_static("\"stale\""),
    );
    assert_eq!(
        get(&Method::GET, DEFAULT_CLIENT_PATH, &h).unwrap().status,
        StatusCode::OK
    );
    // Other methods are the app's; so is every path when it is turned off.
    assert!(get(&Method::POST, DEFAULT_CLIENT_PATH, &none).is_none());
    let mut c = GatewayConfig::new(rp(), vec![RouteConfig::new("wa", Dialect::Webauthn)]);
    c.client_path = "/static/fg.js".into();
    let moved = build(c).unwrap();
    assert!(matches!(
        moved.on_request(&Method::GET, "/static//fg.js", &none, Client::UNKNOWN),
        RequestAction::Respond(r) if r.status == StatusCode::OK
    ));
    let mut c = GatewayConfig::new(rp(), vec![RouteConfig::new("wa", Dialect::Webauthn)]);
    c.client_path = String::new();
    let off = build(c).unwrap();
    assert!(matches!(
        off.on_request(&Method::GET, DEFAULT_CLIENT_PATH, &none, Client::UNKNOWN),
        RequestAction::PassThrough
    ));
    for bad in [
        "no-slash.js",
        "/x/{name}",
        "/.well-known/fidogate/jwks.json",
    ] {
        let mut c = GatewayConfig::new(rp(), vec![RouteConfig::new("wa", Dialect::Webauthn)]);
        c.client_path = bad.into();
        assert_eq!(build(c).unwrap_err().key, "client_path", "{bad}");
    }
}

#[test]
fn jwks_is_served_on_get_and_head_only() {
    let g = gateway();
    let h = HeaderMap::new();
    for m in [Method::GET, Method::HEAD] {
        let RequestAction::Respond(r) =
            g.on_request(&m, "/.well-known/fidogate/jwks.json", &h, Client::UNKNOWN)
        else {
            panic!()
        };
        assert_eq!(json_of(&r)["keys"][0]["alg"], "ES256");
    }
    assert!(matches!(
        g.on_request(
            &Method::POST,
            "/.well-known/fidogate/jwks.json",
            &h,
            Client::UNKNOWN
        ),
        RequestAction::PassThrough
    ));
}

#[test]
fn spoofed_header_names_in_every_spelling() {
    let g = gateway();
    let mut h = HeaderMap::new();
    for n in [
        "fidogate-credential",
        "fidogate_credential",
        "FIDOGATE_CREDENTIAL",
        "fidogate-credentials",
        "x-fidogate-credential",
    ] {
        h.append(
            http::HeaderName::from_bytes(n.as_bytes()).unwrap(),
            HeaderValue::from_static("x"),
        );
    }
    let mut found: Vec<String> = g
        .spoofed_headers(&h)
        .iter()
        .map(|n| n.to_string())
        .collect();
    found.sort();
    assert_eq!(found, ["fidogate-credential", "fidogate_credential"]);
}

fn capture(g: &Gateway, path: &str, answer: Option<&[u8]>, status: u16) -> ResponseAction {
    let ix = intercept(g, path);
    let BodyAction::Forward(f) = g.on_body(&ix, br#"{"username":"u"}"#, &env(T0, 1)).ready() else {
        panic!()
    };
    assert!(
        f.headers.is_empty(),
        "options requests carry no credential header"
    );
    let after = f.after.unwrap();
    assert!(after.depends_on_answer_body());
    let answer = answer.map_or(AppAnswer::TooLarge, AppAnswer::Body);
    g.on_response(
        &after,
        StatusCode::from_u16(status).unwrap(),
        answer,
        &env(T0, 2),
    )
    .ready()
}

#[test]
fn upstream_answers_that_cannot_be_used_are_502() {
    let g = gateway();
    let reason = |a: ResponseAction| match a {
        ResponseAction::Replace(r) => (
            r.status.as_u16(),
            json_of(&r)["errorMessage"].as_str().unwrap().to_owned(),
        ),
        ResponseAction::Keep => (0, String::new()),
    };
    let short = json!({"challenge": b64::encode(b"short")}).to_string();
    assert_eq!(
        reason(capture(&g, "/up/options", Some(short.as_bytes()), 200)).0,
        502
    );
    assert_eq!(
        reason(capture(&g, "/up/options", Some(b"<html>"), 200)).0,
        502
    );
    assert_eq!(reason(capture(&g, "/up/options", None, 200)).0, 502);
    let not_b64 = json!({"challenge": "*** not base64url ***"}).to_string();
    assert_eq!(
        reason(capture(&g, "/up/options", Some(not_b64.as_bytes()), 200)).0,
        502
    );
    // The app's own refusals pass through untouched.
    assert!(matches!(
        capture(&g, "/up/options", Some(b"not json"), 404),
        ResponseAction::Keep
    ));
    let refusal = json!({"code": 400, "message": "Unknown username u"}).to_string();
    assert!(matches!(
        capture(&g, "/regRequest/u", Some(refusal.as_bytes()), 200),
        ResponseAction::Keep
    ));
    // A usable answer is kept and its challenge remembered.
    let good = json!({"challenge": b64::encode(&[5; 32])}).to_string();
    assert!(matches!(
        capture(&g, "/up/options", Some(good.as_bytes()), 200),
        ResponseAction::Keep
    ));
    let cred =
        Authenticator::none(alg::ES256, 3).register("example.com", "https://example.com", &[5; 32]);
    let ix = intercept(&g, "/up/result");
    assert!(matches!(
        g.on_body(&ix, cred.to_string().as_bytes(), &env(T0 + 1, 3))
            .ready(),
        BodyAction::Forward(_)
    ));
}

/// Issues a challenge on `options` and returns the registration body for
/// `result`, made by the software authenticators.
fn registration(g: &Gateway, dialect: Dialect, seed: u64) -> (&'static str, Vec<u8>) {
    use fidogate_testkit::keycred::{KeyCeremony, KeyClient, fido2_credential};
    use fidogate_testkit::uaf::{UafAttestationKind, UafAuthenticator, UafCeremony};
    let (options, result) = match dialect {
        Dialect::Webauthn => ("/attestation/options", "/attestation/result"),
        Dialect::Nevis => ("/_app/attestation/options", "/_app/attestation/result"),
        Dialect::Dfns => ("/auth/registration/init", "/auth/registration"),
        Dialect::Uaf => ("/regRequest/u", "/regResponse"),
    };
    let ix = intercept(g, options);
    let answer = json_of(&respond(
        g.on_body(&ix, br#"{"username":"u"}"#, &env(T0, seed as u8))
            .ready(),
    ));
    let body = match dialect {
        Dialect::Uaf => {
            let m = &answer["message"][0];
            let c = UafCeremony::new(
                "https://example.com/facets",
                m["challenge"].as_str().unwrap(),
                "https://example.com",
                m["header"]["serverData"].as_str().unwrap(),
            );
            UafAuthenticator::new(
                "ABCD#0001",
                alg::ES256,
                seed,
                UafAttestationKind::BasicSurrogate,
            )
            .register(&c)
        }
        _ => {
            let challenge = b64::decode(answer["challenge"].as_str().unwrap()).unwrap();
            let cred = Authenticator::none(alg::ES256, seed).register(
                "example.com",
                "https://example.com",
                &challenge,
            );
            if dialect == Dialect::Dfns {
                let kc = KeyCeremony::new(&challenge, "https://example.com");
                json!({
                    "firstFactorCredential": fido2_credential(&cred),
                    "recoveryCredential": KeyClient::new(alg::ES256, seed).credential("RecoveryKey", &kc),
                })
            } else {
                cred
            }
        }
    };
    (result, body.to_string().into_bytes())
}

#[test]
fn truncated_or_oversized_registrations_are_refused_without_spending_the_challenge() {
    let mut c = GatewayConfig::new(
        rp(),
        vec![
            RouteConfig::new("wa", Dialect::Webauthn),
            RouteConfig::new("nv", Dialect::Nevis),
            RouteConfig::new("df", Dialect::Dfns),
            RouteConfig::new("uaf", Dialect::Uaf),
        ],
    );
    c.uaf.app_id = "https://example.com/facets".into();
    let g = build(c).unwrap();
    for (seed, dialect) in [
        (1, Dialect::Webauthn),
        (2, Dialect::Nevis),
        (3, Dialect::Dfns),
        (4, Dialect::Uaf),
    ] {
        let (path, body) = registration(&g, dialect, seed);
        let ix = intercept(&g, path);
        for cut in 0..body.len() {
            match g.on_body(&ix, &body[..cut], &env(T0 + 1, 0)).ready() {
                BodyAction::Respond(r) => assert_eq!(r.status, 400, "{dialect:?} cut at {cut}"),
                BodyAction::Forward(_) => panic!("{dialect:?}: a body cut at {cut} was forwarded"),
            }
        }
        let mut padded = body.clone();
        padded.resize(65_537, b' ');
        assert_eq!(
            respond(g.on_body(&ix, &padded, &env(T0 + 1, 0)).ready()).status,
            413,
            "{dialect:?}"
        );
        // None of that spent the challenge: the whole body still goes through, once.
        assert!(
            matches!(
                g.on_body(&ix, &body, &env(T0 + 1, 0)).ready(),
                BodyAction::Forward(_)
            ),
            "{dialect:?}"
        );
        assert_eq!(
            respond(g.on_body(&ix, &body, &env(T0 + 1, 0)).ready()).status,
            403,
            "{dialect:?}"
        );
    }
}

#[test]
fn uaf_entries_naming_different_challenges_are_refused() {
    use fidogate_testkit::uaf::{UafAttestationKind, UafAuthenticator, UafCeremony};
    let a = UafAuthenticator::new(
        "ABCD#0001",
        alg::ES256,
        5,
        UafAttestationKind::BasicSurrogate,
    );
    let one = a.register(&UafCeremony::new(
        "https://example.com/facets",
        "challenge-one-0123456789",
        "https://example.com",
        "sd",
    ));
    let two = a.register(&UafCeremony::new(
        "https://example.com/facets",
        "challenge-two-0123456789",
        "https://example.com",
        "sd",
    ));
    let both = Value::Array(
        [
            one.as_array().unwrap().clone(),
            two.as_array().unwrap().clone(),
        ]
        .concat(),
    );
    let err = fidogate_core::uaf::claimed_challenge(&both).unwrap_err();
    assert_eq!(err.class(), fidogate_core::ErrorClass::Replay, "{err}");
    assert_eq!(
        fidogate_core::uaf::claimed_challenge(&one).unwrap(),
        "challenge-one-0123456789"
    );
}

/// One gateway-issued WebAuthn route.
fn simple_config() -> GatewayConfig {
    GatewayConfig::new(rp(), vec![RouteConfig::new("wa", Dialect::Webauthn)])
}

/// A gateway with `secret` and `previous` secrets, its own memory store.
fn gateway_with(secret: u8, previous: &[u8]) -> Gateway {
    let mut k = keys();
    k.secret = vec![secret; 32];
    k.previous_secrets = previous.iter().map(|p| vec![*p; 32]).collect();
    Gateway::new(
        simple_config(),
        k,
        TrustAnchors::new(),
        Arc::new(MokaChallengeStore::new(100)),
    )
    .unwrap()
}

/// Options from `issuer`, the registration to `taker`: its status and
/// error message.
fn across(issuer: &Gateway, taker: &Gateway, seed: u64) -> (u16, String) {
    let ix = intercept(issuer, "/attestation/options");
    let o = json_of(&respond(
        issuer
            .on_body(&ix, br#"{"username":"a"}"#, &env(T0, 3))
            .ready(),
    ));
    let challenge = b64::decode(o["challenge"].as_str().unwrap()).unwrap();
    let cred = Authenticator::none(alg::ES256, seed).register(
        "example.com",
        "https://example.com",
        &challenge,
    );
    let ix = intercept(taker, "/attestation/result");
    status_and_message(
        taker
            .on_body(&ix, cred.to_string().as_bytes(), &env(T0 + 1, 4))
            .ready(),
    )
}

/// 200 for a forwarded registration, else the status and `errorMessage`.
fn status_and_message(a: BodyAction) -> (u16, String) {
    match a {
        BodyAction::Forward(_) => (200, String::new()),
        BodyAction::Respond(r) => (
            r.status.as_u16(),
            json_of(&r)["errorMessage"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        ),
    }
}

#[test]
fn a_sealed_challenge_opens_on_any_instance_with_the_secret_and_rotation_retires_old_ones() {
    let a = gateway_with(1, &[]);
    let b = gateway_with(1, &[]);
    assert_eq!(across(&a, &b, 10).0, 200, "same secret, another instance");
    let rotated = gateway_with(2, &[1]);
    assert_eq!(
        across(&a, &rotated, 11).0,
        200,
        "sealed by the previous secret"
    );
    let (status, message) = across(&a, &gateway_with(3, &[2]), 12);
    assert_eq!(status, 403, "sealed by a retired secret");
    assert!(message.contains("does not verify"), "{message}");
    let (status, _) = across(&rotated, &a, 13);
    assert_eq!(
        status, 403,
        "the old secret cannot open what the new one sealed"
    );
}

#[test]
fn previous_secrets_must_be_long_enough() {
    let mut k = keys();
    k.previous_secrets = vec![vec![1; 32], vec![2; 31]];
    let e = Gateway::new(
        simple_config(),
        k,
        TrustAnchors::new(),
        Arc::new(MokaChallengeStore::new(1)),
    )
    .unwrap_err();
    assert_eq!(e.key, "previous_secrets[1]");
}

#[test]
fn a_full_spent_set_refuses_with_503_and_retry_after_never_accepting_unrecorded() {
    let g = Gateway::new(
        simple_config(),
        keys(),
        TrustAnchors::new(),
        Arc::new(MokaChallengeStore::new(1)),
    )
    .unwrap();
    assert_eq!(across(&g, &g, 20).0, 200);
    let ix = intercept(&g, "/attestation/options");
    let o = json_of(&respond(
        g.on_body(&ix, br#"{"username":"a"}"#, &env(T0, 5)).ready(),
    ));
    let challenge = b64::decode(o["challenge"].as_str().unwrap()).unwrap();
    let cred = Authenticator::none(alg::ES256, 21).register(
        "example.com",
        "https://example.com",
        &challenge,
    );
    let ix = intercept(&g, "/attestation/result");
    let BodyAction::Respond(r) = g
        .on_body(&ix, cred.to_string().as_bytes(), &env(T0 + 1, 6))
        .ready()
    else {
        panic!("a registration was forwarded although it could not be recorded")
    };
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.headers, vec![("retry-after", "1".to_owned())]);
    assert_eq!(r.reason(), "unavailable");
    assert!(matches!(
        r.refusal.unwrap().error(),
        GatewayError::Store(StoreError::Full { capacity: 1 })
    ));
}

#[test]
fn a_username_longer_than_a_seal_carries_is_refused_at_the_options_endpoint() {
    let g = gateway();
    let ix = intercept(&g, "/attestation/options");
    let long = json!({"username": "u".repeat(129)}).to_string();
    let r = respond(g.on_body(&ix, long.as_bytes(), &env(T0, 1)).ready());
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        json_of(&r)["errorMessage"]
            .as_str()
            .unwrap()
            .contains("at most 128"),
        "{}",
        json_of(&r)
    );
    let ok = json!({"username": "u".repeat(128)}).to_string();
    assert_eq!(
        respond(g.on_body(&ix, ok.as_bytes(), &env(T0, 1)).ready()).status,
        200
    );
}

/// A store whose spends answer only on a later poll, as one across the
/// network does (the in-process store's answer is there at once).
#[derive(Debug)]
struct Remote {
    inner: MokaChallengeStore,
    pending: std::sync::atomic::AtomicUsize,
}

impl ChallengeStore for Remote {
    fn issue<'a>(&'a self, challenge: &'a [u8], context: ChallengeContext) -> StoreFuture<'a, ()> {
        self.inner.issue(challenge, context)
    }

    fn take<'a>(&'a self, challenge: &'a [u8]) -> StoreFuture<'a, Option<ChallengeContext>> {
        self.inner.take(challenge)
    }

    fn spend<'a>(
        &'a self,
        challenge: &'a [u8],
        now: UnixTime,
        ttl: std::time::Duration,
    ) -> StoreFuture<'a, bool> {
        // Recorded when sent, as Redis records it whatever the caller does
        // next; answered one poll later.
        let answer = self.inner.spend_now(challenge, now, ttl);
        let mut sent = false;
        Box::pin(std::future::poll_fn(move |cx| {
            if sent {
                std::task::Poll::Ready(answer.clone())
            } else {
                sent = true;
                self.pending
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                cx.waker().wake_by_ref();
                std::task::Poll::Pending
            }
        }))
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

#[test]
fn a_store_that_answers_later_gives_every_answer_the_in_process_one_gives() {
    // The engine verifies while a remote spend travels; the answers, and
    // what is spent, must not differ from a store that answers at once.
    let run = |store: Arc<dyn ChallengeStore>| -> Vec<(u16, String)> {
        let g = Gateway::new(simple_config(), keys(), TrustAnchors::new(), store).unwrap();
        let submit = |body: &[u8], at: i64| {
            let ix = intercept(&g, "/attestation/result");
            match block_on(g.on_body(&ix, body, &env(at, 4))) {
                BodyAction::Forward(f) => {
                    assert_eq!(f.headers.len(), 1);
                    (200, String::new())
                }
                BodyAction::Respond(r) => (
                    r.status.as_u16(),
                    json_of(&r)["errorMessage"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                ),
            }
        };
        let challenge = |user: &str| {
            let ix = intercept(&g, "/attestation/options");
            let body = format!(r#"{{"username":"{user}"}}"#);
            let o = json_of(&respond(block_on(g.on_body(
                &ix,
                body.as_bytes(),
                &env(T0, 3),
            ))));
            b64::decode(o["challenge"].as_str().unwrap()).unwrap()
        };
        let reg = |c: &[u8], origin: &str, seed: u64| {
            Authenticator::none(alg::ES256, seed)
                .register("example.com", origin, c)
                .to_string()
        };
        let mut answers = Vec::new();
        // Accepted, then its replay refused.
        let good = reg(&challenge("a"), "https://example.com", 30);
        answers.push(submit(good.as_bytes(), T0 + 1));
        answers.push(submit(good.as_bytes(), T0 + 1));
        // A registration that fails verification still spends its
        // challenge: the good one answering it afterwards is refused.
        let c = challenge("b");
        answers.push(submit(
            reg(&c, "https://evil.example", 31).as_bytes(),
            T0 + 1,
        ));
        answers.push(submit(
            reg(&c, "https://example.com", 32).as_bytes(),
            T0 + 1,
        ));
        // Expired: refused by the seal (and nothing to record).
        let late = reg(&challenge("c"), "https://example.com", 33);
        answers.push(submit(late.as_bytes(), T0 + 10_000));
        answers
    };
    let at_once = run(Arc::new(MokaChallengeStore::new(100)));
    let remote = Arc::new(Remote {
        inner: MokaChallengeStore::new(100),
        pending: Default::default(),
    });
    let later = run(remote.clone());
    assert_eq!(later, at_once);
    // The remote path was taken (one pending spend per submission that
    // reached the store), and the outcomes are the expected ones.
    assert_eq!(remote.pending.load(std::sync::atomic::Ordering::Relaxed), 4);
    let statuses: Vec<u16> = at_once.iter().map(|a| a.0).collect();
    assert_eq!(statuses, [200, 403, 403, 403, 403]);
    assert!(at_once[1].1.contains("already used"), "{:?}", at_once[1]);
    assert!(at_once[2].1.contains("origin"), "{:?}", at_once[2]);
    assert!(at_once[3].1.contains("already used"), "{:?}", at_once[3]);
    assert!(at_once[4].1.contains("expired"), "{:?}", at_once[4]);
}

/// Registers an `alg` credential key on the route at `options`/`result`:
/// the options' algorithm list, and the status (200 forwarded) and error
/// message of the registration.
fn register_alg(
    g: &Gateway,
    (options, result): (&str, &str),
    key_alg: i64,
    fill: u8,
) -> (Vec<i64>, u16, String) {
    let ix = intercept(g, options);
    let o = json_of(&respond(
        g.on_body(&ix, br#"{"username":"w"}"#, &env(T0, fill))
            .ready(),
    ));
    let offered = o["pubKeyCredParams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["alg"].as_i64().unwrap())
        .collect();
    let challenge = b64::decode(o["challenge"].as_str().unwrap()).unwrap();
    let cred =
        Authenticator::none(key_alg, 40).register("example.com", "https://example.com", &challenge);
    let ix = intercept(g, result);
    let (status, message) = status_and_message(
        g.on_body(&ix, cred.to_string().as_bytes(), &env(T0 + 1, 6))
            .ready(),
    );
    (offered, status, message)
}

#[test]
fn rs1_credential_keys_are_accepted_only_on_a_route_that_lists_them() {
    let mut hello = RouteConfig::new("hello", Dialect::Webauthn);
    hello.options = Some(EndpointConfig {
        method: "POST".into(),
        path: "/hello/options".into(),
    });
    hello.result = Some(EndpointConfig {
        method: "POST".into(),
        path: "/hello/result".into(),
    });
    hello.algorithms = Some(vec![-7, -257, -65535]);
    let g = build(GatewayConfig::new(
        rp(),
        vec![RouteConfig::new("wa", Dialect::Webauthn), hello],
    ))
    .unwrap();
    let default = ("/attestation/options", "/attestation/result");
    let listing = ("/hello/options", "/hello/result");
    // The default list: every supported algorithm but RS1.
    let (offered, status, message) = register_alg(&g, default, alg::RS1, 11);
    assert!(!offered.contains(&-65535), "{offered:?}");
    assert!(
        offered.contains(&-7) && offered.contains(&-257),
        "{offered:?}"
    );
    assert_eq!(status, 403, "{message}");
    assert!(message.contains("-65535"), "{message}");
    // The route's own list, in its order; RS1 registers there.
    let (offered, status, message) = register_alg(&g, listing, alg::RS1, 12);
    assert_eq!(offered, vec![-7, -257, -65535]);
    assert_eq!(status, 200, "{message}");
    // A key the route's list leaves out is refused there.
    let (_, status, message) = register_alg(&g, listing, alg::EDDSA, 13);
    assert_eq!((status, message.contains("-8")), (403, true), "{message}");
    // webauthn.algorithms sets every route's list but those with their own.
    let mut c = GatewayConfig::new(rp(), vec![RouteConfig::new("wa", Dialect::Webauthn)]);
    c.webauthn.algorithms = Some(vec![-65535, -7]);
    let g = build(c).unwrap();
    let (offered, status, message) = register_alg(&g, default, alg::RS1, 14);
    assert_eq!((offered, status), (vec![-65535, -7], 200), "{message}");
    let (_, status, _) = register_alg(&g, default, alg::RS256, 15);
    assert_eq!(status, 403);
}

/// A UAF registration from an Android or iOS facet the configuration
/// trusts is accepted; one from a facet it does not list is refused, and
/// so is the web origin once the list no longer names it.
#[test]
fn uaf_registrations_from_listed_android_and_ios_facets_are_accepted() {
    use fidogate_testkit::uaf::{UafAttestationKind, UafAuthenticator, UafCeremony};
    const ANDROID: &str = "android:apk-key-hash:2jmj7l5rSw0yVb_vlWAYkK_YBwk";
    const IOS: &str = "ios:bundle-id:com.example.wallet";
    let mut c = GatewayConfig::new(rp(), vec![RouteConfig::new("uaf", Dialect::Uaf)]);
    c.uaf.app_id = "https://example.com/uaf/facets".into();
    c.uaf.trusted_facets = vec![ANDROID.into(), IOS.into()];
    let g = build(c).unwrap();
    let attempt = |facet: &str, fill: u8| {
        let ix = intercept(&g, "/regRequest/u");
        let answer = json_of(&respond(g.on_body(&ix, b"", &env(T0, fill)).ready()));
        let m = &answer["message"][0];
        let ceremony = UafCeremony::new(
            "https://example.com/uaf/facets",
            m["challenge"].as_str().unwrap(),
            facet,
            m["header"]["serverData"].as_str().unwrap(),
        );
        let body = UafAuthenticator::new(
            "ABCD#0001",
            alg::ES256,
            u64::from(fill),
            UafAttestationKind::BasicSurrogate,
        )
        .register(&ceremony);
        let ix = intercept(&g, "/regResponse");
        match g
            .on_body(&ix, body.to_string().as_bytes(), &env(T0 + 1, fill + 1))
            .ready()
        {
            BodyAction::Forward(_) => (200, String::new()),
            BodyAction::Respond(r) => (r.status.as_u16(), r.body.escape_ascii().to_string()),
        }
    };
    assert_eq!(attempt(ANDROID, 10).0, 200, "the Android facet");
    assert_eq!(attempt(IOS, 20).0, 200, "the iOS facet");
    for (facet, fill) in [
        ("android:apk-key-hash:AAAAAAAAAAAAAAAAAAAAAAAAAAA", 30),
        ("https://example.com", 40),
    ] {
        let (status, body) = attempt(facet, fill);
        assert_eq!(status, 403, "{facet}: {body}");
        assert!(body.contains("facetID"), "{facet}: {body}");
    }
}

/// The engine with FIDO metadata: a compromised authenticator refused
/// with the rule named, a described one forwarded with `metadata` in the
/// header and trusted by its statement's roots (so `require_trusted`
/// accepts it), a route's own policy, and metadata put out of force.
#[test]
fn metadata_decides_in_the_engine_and_reaches_the_header() {
    use fidogate_core::metadata::{Metadata, MetadataPolicy, Payload};
    use fidogate_testkit::webauthn::{SOFT_AAGUID, attestation_root};
    let root = attestation_root(960);
    let entry = |status: &str| {
        json!({"aaguid": fidogate_core::webauthn::format_uuid(&SOFT_AAGUID),
               "statusReports": [{"status": status, "effectiveDate": "2020-01-01"}],
               "metadataStatement": {"description": "soft key", "attestationTypes": ["basic_full"],
                   "attestationRootCertificates": [b64::encode_std(&root.der)]}})
    };
    let metadata = |status: &str| {
        let p = json!({"no": 1, "nextUpdate": "2030-01-01", "entries": [entry(status)]});
        Arc::new(Metadata {
            blob: Some(Payload::parse(p.to_string().as_bytes()).unwrap()),
            statements: Payload::default(),
            policy: MetadataPolicy::default(),
        })
    };
    let mut strict = RouteConfig::new("strict", Dialect::Webauthn);
    strict.options = Some(EndpointConfig {
        method: "POST".into(),
        path: "/strict/options".into(),
    });
    strict.result = Some(EndpointConfig {
        method: "POST".into(),
        path: "/strict/result".into(),
    });
    strict.metadata_policy = Some(MetadataPolicyConfig {
        require_certified: Some("FIDO_CERTIFIED_L2".into()),
        ..MetadataPolicyConfig::default()
    });
    let mut c = GatewayConfig::new(
        rp(),
        vec![RouteConfig::new("wa", Dialect::Webauthn), strict],
    );
    c.webauthn.require_trusted = true;
    let g = build(c).unwrap();
    let attempt = |paths: (&str, &str), seed: u64| {
        let ix = intercept(&g, paths.0);
        let o = json_of(&respond(
            g.on_body(&ix, br#"{"username":"m"}"#, &env(T0, seed as u8))
                .ready(),
        ));
        let challenge = b64::decode(o["challenge"].as_str().unwrap()).unwrap();
        let cred = Authenticator::packed_x5c(alg::ES256, seed, &root).register(
            "example.com",
            "https://example.com",
            &challenge,
        );
        let ix = intercept(&g, paths.1);
        g.on_body(
            &ix,
            cred.to_string().as_bytes(),
            &env(T0 + 1, seed as u8 + 1),
        )
        .ready()
    };
    let default = ("/attestation/options", "/attestation/result");
    // Without metadata, require_trusted refuses (no anchors).
    let (status, message) = status_and_message(attempt(default, 70));
    assert_eq!(status, 403, "{message}");
    assert!(message.contains("not trusted"), "{message}");
    // Certified, with the statement's roots: trusted, described.
    g.set_metadata(Some(metadata("FIDO_CERTIFIED_L1")));
    let BodyAction::Forward(f) = attempt(default, 72) else {
        panic!("not forwarded")
    };
    let claim = &f.claims.unwrap().credentials[0];
    assert!(claim.trusted);
    let m = claim.metadata.as_ref().unwrap();
    assert_eq!(
        (
            m.description.as_str(),
            m.certification.as_deref(),
            m.source.as_str()
        ),
        ("soft key", Some("FIDO_CERTIFIED_L1"), "blob")
    );
    // The route's own policy wants L2.
    let (status, message) = status_and_message(attempt(("/strict/options", "/strict/result"), 74));
    assert_eq!(status, 403);
    assert!(
        message.contains("below the required FIDO_CERTIFIED_L2"),
        "{message}"
    );
    // A compromise refuses on every route.
    g.set_metadata(Some(metadata("ATTESTATION_KEY_COMPROMISE")));
    let (status, message) = status_and_message(attempt(default, 76));
    assert_eq!(status, 403);
    assert!(
        message.starts_with("metadata: AAGUID ")
            && message.contains("ATTESTATION_KEY_COMPROMISE since 2020-01-01"),
        "{message}"
    );
    // Out of force: as before.
    g.set_metadata(None);
    assert!(g.metadata().is_none());
    assert_eq!(status_and_message(attempt(default, 78)).0, 403);
    // A route policy naming an unknown status or level is a config error.
    for (policy, key) in [
        (
            MetadataPolicyConfig {
                reject_statuses: vec!["COMPROMISED".into()],
                ..MetadataPolicyConfig::default()
            },
            "routes[0].metadata_policy.reject_statuses",
        ),
        (
            MetadataPolicyConfig {
                require_certified: Some("L2".into()),
                ..MetadataPolicyConfig::default()
            },
            "routes[0].metadata_policy.require_certified",
        ),
    ] {
        let mut r = RouteConfig::new("wa", Dialect::Webauthn);
        r.metadata_policy = Some(policy);
        assert_eq!(
            build(GatewayConfig::new(rp(), vec![r])).unwrap_err().key,
            key
        );
    }
}

/// UAF through the engine with metadata: the AAID's revoked status
/// refuses; a certified entry whose statement agrees is described.
#[test]
fn metadata_decides_uaf_registrations_by_aaid() {
    use fidogate_core::metadata::{Metadata, Payload};
    use fidogate_testkit::uaf::{UafAttestationKind, UafAuthenticator, UafCeremony};
    let mut c = GatewayConfig::new(rp(), vec![RouteConfig::new("uaf", Dialect::Uaf)]);
    c.uaf.app_id = "https://example.com/uaf/facets".into();
    let g = build(c).unwrap();
    let register = |fill: u8| {
        let ix = intercept(&g, "/regRequest/u");
        let answer = json_of(&respond(g.on_body(&ix, b"", &env(T0, fill)).ready()));
        let m = &answer["message"][0];
        let ceremony = UafCeremony::new(
            "https://example.com/uaf/facets",
            m["challenge"].as_str().unwrap(),
            "https://example.com",
            m["header"]["serverData"].as_str().unwrap(),
        );
        let body = UafAuthenticator::new(
            "ABCD#0001",
            alg::ES256,
            u64::from(fill),
            UafAttestationKind::BasicSurrogate,
        )
        .register(&ceremony);
        let ix = intercept(&g, "/regResponse");
        g.on_body(&ix, body.to_string().as_bytes(), &env(T0 + 1, fill + 1))
            .ready()
    };
    let with_status = |status: &str| {
        let p = json!({"no": 1, "nextUpdate": "2030-01-01", "entries": [{
            "aaid": "ABCD#0001",
            "statusReports": [{"status": status}],
            "metadataStatement": {"description": "soft UAF", "upv": [{"major": 1, "minor": 0}],
                "authenticationAlgorithms": ["secp256r1_ecdsa_sha256_raw"],
                "publicKeyAlgAndEncodings": ["ecc_x962_raw"]}}]});
        Some(Arc::new(Metadata {
            blob: Some(Payload::parse(p.to_string().as_bytes()).unwrap()),
            ..Metadata::default()
        }))
    };
    g.set_metadata(with_status("REVOKED"));
    // UAF answers in its own shape: the rule is in the body.
    let r = respond(register(30));
    let body = String::from_utf8_lossy(&r.body).into_owned();
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("AAID ABCD#0001 has status REVOKED"), "{body}");
    g.set_metadata(with_status("FIDO_CERTIFIED_L2"));
    let BodyAction::Forward(f) = register(40) else {
        panic!("not forwarded")
    };
    let m = f.claims.unwrap().credentials[0].metadata.clone().unwrap();
    assert_eq!(
        (m.description.as_str(), m.certification.as_deref()),
        ("soft UAF", Some("FIDO_CERTIFIED_L2"))
    );
}

#[test]
fn the_options_answer_carries_every_field_and_echoes_what_the_client_asked() {
    let g = gateway();
    let ix = intercept(&g, "/attestation/options");
    let plain = json!({"username": "alice", "displayName": "Alice A."}).to_string();
    let r = respond(g.on_body(&ix, plain.as_bytes(), &env(T0, 1)).ready());
    assert_eq!(r.status, StatusCode::OK);
    let j = json_of(&r);
    let keys: Vec<&str> = j.as_object().unwrap().keys().map(String::as_str).collect();
    let mut want = vec![
        "status",
        "errorMessage",
        "rp",
        "user",
        "challenge",
        "pubKeyCredParams",
        "timeout",
        "excludeCredentials",
        "authenticatorSelection",
        "attestation",
        "extensions",
    ];
    want.sort_unstable();
    assert_eq!(keys, want, "{j}");
    assert_eq!(
        (j["status"].as_str(), j["errorMessage"].as_str()),
        (Some("ok"), Some(""))
    );
    assert_eq!(j["rp"]["id"], "example.com");
    assert_eq!(j["user"]["name"], "alice");
    assert_eq!(j["user"]["displayName"], "Alice A.");
    assert!(b64::decode(j["user"]["id"].as_str().unwrap()).is_ok_and(|h| h.len() == 32));
    assert!(b64::decode(j["challenge"].as_str().unwrap()).is_ok_and(|c| c.len() > 32));
    assert!(
        j["pubKeyCredParams"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["type"] == "public-key" && p["alg"].is_i64())
    );
    assert!(
        j["pubKeyCredParams"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["alg"] == -7)
    );
    assert!(j["timeout"].as_u64().is_some_and(|t| t > 0));
    assert_eq!(j["excludeCredentials"], json!([]));
    assert_eq!(
        j["authenticatorSelection"],
        json!({"userVerification": "preferred"})
    );
    assert_eq!(j["attestation"], "none");
    assert_eq!(j["extensions"], json!({}));

    // What the client names is kept: its selection (userVerification
    // only added when absent), its extensions, its conveyance.
    let asked = json!({
        "username": "bob",
        "attestation": "direct",
        "authenticatorSelection": {"residentKey": "required", "userVerification": "required"},
        "extensions": {"credProps": true},
    })
    .to_string();
    let j = json_of(&respond(
        g.on_body(&ix, asked.as_bytes(), &env(T0, 2)).ready(),
    ));
    assert_eq!(j["user"]["displayName"], "bob");
    assert_eq!(
        j["authenticatorSelection"],
        json!({"residentKey": "required", "userVerification": "required"})
    );
    assert_eq!(j["extensions"], json!({"credProps": true}));
    assert_eq!(j["attestation"], "direct");
    let partial =
        json!({"username": "carol", "authenticatorSelection": {"residentKey": "discouraged"}})
            .to_string();
    let j = json_of(&respond(
        g.on_body(&ix, partial.as_bytes(), &env(T0, 3)).ready(),
    ));
    assert_eq!(
        j["authenticatorSelection"],
        json!({"residentKey": "discouraged", "userVerification": "preferred"})
    );
    for (bad, field) in [
        (
            json!({"username": "d", "attestation": "everything"}),
            "attestation",
        ),
        (
            json!({"username": "d", "authenticatorSelection": []}),
            "authenticatorSelection",
        ),
        (json!({"username": "d", "extensions": "x"}), "extensions"),
    ] {
        let r = respond(
            g.on_body(&ix, bad.to_string().as_bytes(), &env(T0, 4))
                .ready(),
        );
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(
            json_of(&r)["errorMessage"]
                .as_str()
                .unwrap()
                .contains(field),
            "{}",
            json_of(&r)
        );
    }
}
