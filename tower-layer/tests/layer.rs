#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]
//! The layer end to end with `oneshot`, no sockets: every dialect with the
//! software authenticators, gateway- and upstream-issued challenges, and
//! the attacks: replay, expiry, another route or user, spoofed headers,
//! oversized and malformed bodies, an app answer without a challenge.

use bytes::Bytes;
use fidogate_core::UnixTime;
use fidogate_core::b64;
use fidogate_core::gateway::Gateway;
use fidogate_core::gateway::{
    CredentialClaims, Dialect, EndpointConfig, GatewayConfig, GatewayKeys, MokaChallengeStore,
    RouteConfig, RpConfig, TokenSigner, UafConfig, verify_token,
};
use fidogate_core::trust::TrustAnchors;
use fidogate_testkit::keycred::{KeyCeremony, KeyClient, fido2_credential};
use fidogate_testkit::keys::{SigningKey, alg};
use fidogate_testkit::uaf::{UafAttestationKind, UafAuthenticator, UafCeremony};
use fidogate_testkit::webauthn::Authenticator;
use fidogate_tower::{BoxError, FidogateBody, FidogateLayer, Rejection};
use http::{HeaderMap, Request, Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use std::collections::{HashSet, VecDeque};
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::SystemTime;
use tower::{Service, ServiceExt, service_fn};

const RP_ID: &str = "example.com";
const ORIGIN: &str = "https://example.com";
const APP_ID: &str = "https://uaf.example.com/facets";
const FACET: &str = "https://uaf.example.com";
const HEADER: &str = "x-verified-credential";

type ReqBody = BoxBody<Bytes, BoxError>;

/// What the app received.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Clone, Default)]
struct AppState {
    seen: Arc<Mutex<Vec<Seen>>>,
    registered: Arc<Mutex<HashSet<String>>>,
}

impl AppState {
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
    fn seen_at(&self, path: &str) -> Vec<Seen> {
        self.seen().into_iter().filter(|s| s.path == path).collect()
    }
}

fn json_response(status: u16, v: &Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(v.to_string())))
        .unwrap()
}

/// The app behind the gateway: issues its own challenges on the `/app/…`
/// options endpoints, answers registrations, refuses a credential twice.
async fn app(
    state: AppState,
    req: Request<FidogateBody<ReqBody>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let path = parts.uri.path().to_owned();
    state.seen.lock().unwrap().push(Seen {
        path: path.clone(),
        headers: parts.headers.clone(),
        body: body.clone(),
    });
    let app_challenge =
        b64::encode(format!("app challenge {} ....", state.seen().len()).as_bytes());
    let r = match path.as_str() {
        "/app/webauthn/options" | "/app/dfns/init" => json_response(
            200,
            &json!({"status": "ok", "errorMessage": "", "challenge": app_challenge,
                    "rp": {"id": RP_ID}, "user": {"id": b64::encode(b"app user handle"), "name": "x"}}),
        ),
        "/app/broken/options" => json_response(200, &json!({"status": "ok", "errorMessage": ""})),
        p if p.starts_with("/app/uaf/regRequest/") => {
            let user = p.trim_start_matches("/app/uaf/regRequest/");
            if user == "unknown" {
                json_response(
                    400,
                    &json!({"code": 400, "message": "Unknown username unknown"}),
                )
            } else {
                json_response(
                    200,
                    &json!({"code": 200, "message": [{
                        "header": {"upv": {"major": 1, "minor": 0}, "op": "Reg", "appID": APP_ID,
                                   "serverData": "app-server-data", "exts": null},
                        "challenge": app_challenge, "username": user, "policy": {"accepted": [], "disallowed": null}}]}),
                )
            }
        }
        p if p.ends_with("regResponse") || p.ends_with("result") || p.ends_with("registration") => {
            // The app trusts the header alone (its signature is checked in
            // the tests); a credential ID seen before is refused as the UAF
            // server does.
            let header = parts
                .headers
                .get(HEADER)
                .map(|h| h.to_str().unwrap().to_owned());
            let Some(token) = header else {
                return Ok(json_response(
                    500,
                    &json!({"error": "unverified request reached the app"}),
                ));
            };
            let claims: Value =
                serde_json::from_slice(&b64::decode(token.split('.').nth(1).unwrap()).unwrap())
                    .unwrap();
            let id = claims["credentials"][0]["id"].as_str().unwrap().to_owned();
            if !state.registered.lock().unwrap().insert(id) {
                json_response(
                    409,
                    &json!({"code": 409, "message": "Authenticator already Registered"}),
                )
            } else {
                json_response(
                    200,
                    &json!({"code": 200, "status": "ok", "errorMessage": "", "stored": true}),
                )
            }
        }
        _ => json_response(200, &json!({"hello": path})),
    };
    Ok(r)
}

fn endpoint(path: &str) -> Option<EndpointConfig> {
    Some(EndpointConfig {
        method: "POST".into(),
        path: path.into(),
    })
}

fn route(name: &str, dialect: Dialect, paths: Option<(&str, &str)>, upstream: bool) -> RouteConfig {
    let mut r = RouteConfig::new(name, dialect);
    if let Some((o, res)) = paths {
        r.options = endpoint(o);
        r.result = endpoint(res);
    }
    if upstream {
        r = r.upstream_challenges();
    }
    r
}

fn config() -> GatewayConfig {
    let rp = RpConfig {
        id: RP_ID.into(),
        name: Some("Example".into()),
        origins: vec![ORIGIN.into()],
        top_origins: vec![],
    };
    let mut short = route(
        "short",
        Dialect::Webauthn,
        Some(("/short/options", "/short/result")),
        false,
    );
    short.challenge_ttl_secs = 1;
    let mut c = GatewayConfig::new(
        rp,
        vec![
            route("webauthn", Dialect::Webauthn, None, false),
            route(
                "webauthn-up",
                Dialect::Webauthn,
                Some(("/app/webauthn/options", "/app/webauthn/result")),
                true,
            ),
            route(
                "per-user",
                Dialect::Webauthn,
                Some(("/users/{username}/options", "/users/{username}/result")),
                false,
            ),
            route("nevis", Dialect::Nevis, None, false),
            route("dfns", Dialect::Dfns, None, false),
            route(
                "dfns-up",
                Dialect::Dfns,
                Some(("/app/dfns/init", "/app/dfns/registration")),
                true,
            ),
            route("uaf", Dialect::Uaf, None, false),
            route(
                "uaf-up",
                Dialect::Uaf,
                Some(("/app/uaf/regRequest/{username}", "/app/uaf/regResponse")),
                true,
            ),
            route(
                "broken-up",
                Dialect::Webauthn,
                Some(("/app/broken/options", "/app/broken/result")),
                true,
            ),
            short,
        ],
    );
    c.header_name = "X-Verified-Credential".into();
    c.uaf = UafConfig {
        app_id: APP_ID.into(),
        trusted_facets: vec![],
        aaids: vec![],
        require_trusted: false,
    };
    c
}

struct Harness {
    svc: tower::util::BoxCloneService<
        Request<ReqBody>,
        Response<FidogateBody<Full<Bytes>>>,
        Infallible,
    >,
    state: AppState,
    gateway: Gateway,
}

fn harness() -> Harness {
    let der = SigningKey::generate(alg::ES256, 99).pkcs8_der();
    let keys = GatewayKeys {
        signer: TokenSigner::from_pkcs8_der(&der).unwrap(),
        retired: vec![],
        secret: vec![9; 32],
    };
    let gateway = Gateway::new(
        config(),
        keys,
        TrustAnchors::new(),
        Arc::new(MokaChallengeStore::new(1000)),
    )
    .unwrap();
    let state = AppState::default();
    let s = state.clone();
    let inner = service_fn(move |req| app(s.clone(), req));
    let svc = tower::ServiceBuilder::new()
        .layer(FidogateLayer::new(gateway.clone()))
        .service(inner);
    Harness {
        svc: tower::util::BoxCloneService::new(svc),
        state,
        gateway,
    }
}

fn body(bytes: impl Into<Bytes>) -> ReqBody {
    Full::new(bytes.into()).map_err(|e| match e {}).boxed()
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    rejection: Option<Rejection>,
    bytes: Bytes,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or_else(|e| panic!("{e}: {:?}", self.bytes))
    }
}

impl Harness {
    async fn send(&self, req: Request<ReqBody>) -> Answer {
        let res = self.svc.clone().oneshot(req).await.unwrap();
        let (parts, b) = res.into_parts();
        Answer {
            status: parts.status,
            rejection: parts.extensions.get::<Rejection>().cloned(),
            headers: parts.headers,
            bytes: b.collect().await.unwrap().to_bytes(),
        }
    }

    async fn post(&self, path: &str, v: &Value) -> Answer {
        self.post_with(path, v, &[]).await
    }

    async fn post_with(&self, path: &str, v: &Value, headers: &[(&str, &str)]) -> Answer {
        let bytes = v.to_string();
        let mut req = Request::post(path).header("content-length", bytes.len());
        for (k, val) in headers {
            req = req.header(*k, *val);
        }
        self.send(req.body(body(bytes)).unwrap()).await
    }

    /// The JWKS the gateway serves, as an upstream would fetch it.
    async fn jwks(&self) -> jsonwebtoken::jwk::JwkSet {
        let a = self
            .send(
                Request::get("/.well-known/fidogate/jwks.json")
                    .body(body(""))
                    .unwrap(),
            )
            .await;
        assert_eq!(a.status, 200);
        serde_json::from_slice(&a.bytes).unwrap()
    }

    /// The verified-credential header on the app's last request to `path`,
    /// checked as the app would check it.
    async fn verified(&self, path: &str) -> CredentialClaims {
        let seen = self.state.seen_at(path);
        let last = seen.last().expect("the app received the request");
        let values: Vec<_> = last.headers.get_all(HEADER).iter().collect();
        assert_eq!(values.len(), 1, "exactly one verified-credential header");
        let now = UnixTime::from_system(SystemTime::now());
        verify_token(
            values[0].to_str().unwrap(),
            &self.jwks().await,
            "fidogate",
            "upstream",
            now,
            5,
        )
        .unwrap()
    }

    fn forwarded(&self, path: &str) -> usize {
        self.state.seen_at(path).len()
    }
}

fn challenge_bytes(options: &Value) -> Vec<u8> {
    b64::decode(options["challenge"].as_str().unwrap()).unwrap()
}

// ---------------------------------------------------------------- webauthn

#[tokio::test]
async fn webauthn_gateway_issued_end_to_end() {
    let h = harness();
    let opts = h
        .post(
            "/attestation/options",
            &json!({"username": "alice", "displayName": "Alice", "attestation": "direct"}),
        )
        .await;
    assert_eq!(opts.status, 200);
    let o = opts.json();
    assert_eq!(
        (o["status"].as_str(), o["errorMessage"].as_str()),
        (Some("ok"), Some(""))
    );
    assert_eq!(o["rp"]["id"], RP_ID);
    assert_eq!(o["user"]["name"], "alice");
    assert_eq!(o["user"]["displayName"], "Alice");
    assert_eq!(o["attestation"], "direct");
    assert!(
        o["pubKeyCredParams"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["alg"] == -7)
    );
    assert_eq!(challenge_bytes(&o).len(), 32);
    assert_eq!(
        h.forwarded("/attestation/options"),
        0,
        "the gateway answered itself"
    );

    // The user handle is stable for a user and differs between users.
    let again = h
        .post("/attestation/options", &json!({"username": "alice"}))
        .await
        .json();
    let bob = h
        .post("/attestation/options", &json!({"username": "bob"}))
        .await
        .json();
    assert_eq!(again["user"]["id"], o["user"]["id"]);
    assert_ne!(bob["user"]["id"], o["user"]["id"]);
    assert_ne!(again["challenge"], o["challenge"]);

    let authn = Authenticator::packed_self(alg::ES256, 1);
    let cred = authn.register(RP_ID, ORIGIN, &challenge_bytes(&o));
    let res = h.post("/attestation/result", &cred).await;
    assert_eq!(res.status, 200, "{:?}", res.bytes);
    assert_eq!(
        res.json()["stored"],
        true,
        "the app's own answer comes back"
    );

    let seen = h.state.seen_at("/attestation/result");
    assert_eq!(
        seen[0].body,
        Bytes::from(cred.to_string()),
        "the body goes upstream unchanged"
    );
    let claims = h.verified("/attestation/result").await;
    assert_eq!(
        (
            claims.protocol.as_str(),
            claims.dialect.as_str(),
            claims.route.as_str()
        ),
        ("webauthn", "webauthn", "webauthn")
    );
    assert_eq!(claims.username.as_deref(), Some("alice"));
    assert_eq!(claims.user_handle.as_deref(), o["user"]["id"].as_str());
    let c = &claims.credentials[0];
    assert_eq!(c.id, b64::encode(&authn.credential_id));
    assert_eq!(
        (c.fmt.as_str(), c.attestation_type.as_str(), c.alg.as_str()),
        ("packed", "self", "ES256")
    );
    assert_eq!(c.public_key, b64::encode(&authn.credential_key.cose_key()));
    assert!(c.flags.unwrap().up);
    assert!(claims.exp - claims.iat <= 60);

    // Replay of the same registration: the challenge is spent.
    let replay = h.post("/attestation/result", &cred).await;
    assert_eq!(replay.status, 403);
    assert_eq!(replay.json()["status"], "failed");
    assert!(
        replay.json()["errorMessage"]
            .as_str()
            .unwrap()
            .contains("unknown")
    );
    assert_eq!(replay.rejection.unwrap().reason, "replay");
    assert_eq!(
        h.forwarded("/attestation/result"),
        1,
        "the replay never reached the app"
    );
}

#[tokio::test]
async fn webauthn_upstream_issued_end_to_end() {
    let h = harness();
    let opts = h
        .post("/app/webauthn/options", &json!({"username": "carol"}))
        .await;
    assert_eq!(opts.status, 200);
    assert_eq!(
        h.forwarded("/app/webauthn/options"),
        1,
        "the app issued the options"
    );
    let o = opts.json();
    // The app's answer passes through as the app wrote it.
    assert_eq!(o["user"]["id"], b64::encode(b"app user handle"));
    let cred = Authenticator::none(alg::EDDSA, 2).register(RP_ID, ORIGIN, &challenge_bytes(&o));
    let res = h.post("/app/webauthn/result", &cred).await;
    assert_eq!(res.status, 200, "{:?}", res.bytes);
    let claims = h.verified("/app/webauthn/result").await;
    assert_eq!(claims.route, "webauthn-up");
    assert_eq!(claims.username.as_deref(), Some("carol"));
    assert_eq!(claims.user_handle, Some(b64::encode(b"app user handle")));
    assert_eq!(claims.credentials[0].alg, "EdDSA");
}

#[tokio::test]
async fn upstream_answer_without_challenge_is_a_502_and_nothing_is_accepted() {
    let h = harness();
    let res = h
        .post("/app/broken/options", &json!({"username": "dave"}))
        .await;
    assert_eq!(res.status, 502);
    assert_eq!(res.json()["status"], "failed");
    assert!(
        res.json()["errorMessage"]
            .as_str()
            .unwrap()
            .contains("/challenge")
    );
    // A registration made up for any challenge is refused.
    let cred = Authenticator::none(alg::ES256, 3).register(
        RP_ID,
        ORIGIN,
        b"made up challenge, 32 bytes long",
    );
    let r = h.post("/app/broken/result", &cred).await;
    assert_eq!(r.status, 403);
    assert_eq!(h.forwarded("/app/broken/result"), 0);
}

#[tokio::test]
async fn challenge_from_another_route_or_user_is_refused() {
    let h = harness();
    let o = h
        .post("/attestation/options", &json!({"username": "erin"}))
        .await
        .json();
    let cred = Authenticator::none(alg::ES256, 4).register(RP_ID, ORIGIN, &challenge_bytes(&o));
    let r = h.post("/_app/attestation/result", &cred).await;
    assert_eq!(r.status, 403);
    let j = r.json();
    assert_eq!(
        (j["status"].as_str(), j["token"].as_str()),
        (Some("failed"), Some(""))
    );
    assert!(j["errorMessage"].as_str().unwrap().contains("route"), "{j}");
    // Spent, even though it failed: the right route cannot use it now.
    assert_eq!(h.post("/attestation/result", &cred).await.status, 403);

    let o = h.post("/users/frank/options", &json!({})).await.json();
    assert_eq!(o["user"]["name"], "frank");
    let cred = Authenticator::none(alg::ES256, 5).register(RP_ID, ORIGIN, &challenge_bytes(&o));
    let r = h.post("/users/grace/result", &cred).await;
    assert_eq!(r.status, 403);
    assert!(
        r.json()["errorMessage"]
            .as_str()
            .unwrap()
            .contains("another user")
    );
    assert_eq!(
        h.forwarded("/users/grace/result") + h.forwarded("/_app/attestation/result"),
        0
    );

    // The path and body users must agree.
    let r = h
        .post("/users/frank/options", &json!({"username": "grace"}))
        .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn expired_challenge_is_refused() {
    let h = harness();
    let o = h
        .post("/short/options", &json!({"username": "heidi"}))
        .await
        .json();
    let cred = Authenticator::none(alg::ES256, 6).register(RP_ID, ORIGIN, &challenge_bytes(&o));
    // The route's TTL is one second; wait it out.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let r = h.post("/short/result", &cred).await;
    assert_eq!(r.status, 403);
    assert!(
        r.json()["errorMessage"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{}",
        r.json()
    );
    assert_eq!(h.forwarded("/short/result"), 0);
}

#[tokio::test]
async fn concurrent_submissions_of_one_registration_succeed_once() {
    let h = harness();
    for round in 0..10u64 {
        let o = h
            .post("/attestation/options", &json!({"username": "ivan"}))
            .await
            .json();
        let cred = Authenticator::none(alg::ES256, 100 + round).register(
            RP_ID,
            ORIGIN,
            &challenge_bytes(&o),
        );
        let (a, b) = tokio::join!(
            h.post("/attestation/result", &cred),
            h.post("/attestation/result", &cred)
        );
        let mut statuses = [a.status.as_u16(), b.status.as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 403], "round {round}");
    }
    assert_eq!(h.forwarded("/attestation/result"), 10);
}

#[tokio::test]
async fn failed_verification_is_answered_in_the_dialect_shape_and_spends_the_challenge() {
    let h = harness();
    let o = h
        .post("/attestation/options", &json!({"username": "judy"}))
        .await
        .json();
    // Registered from another origin.
    let cred = Authenticator::none(alg::ES256, 7).register(
        RP_ID,
        "https://evil.example",
        &challenge_bytes(&o),
    );
    let r = h.post("/attestation/result", &cred).await;
    assert_eq!(r.status, 403);
    assert!(
        r.json()["errorMessage"]
            .as_str()
            .unwrap()
            .contains("evil.example")
    );
    let good = Authenticator::none(alg::ES256, 7).register(RP_ID, ORIGIN, &challenge_bytes(&o));
    assert_eq!(
        h.post("/attestation/result", &good).await.status,
        403,
        "the challenge was spent"
    );
    assert_eq!(h.forwarded("/attestation/result"), 0);
}

// ---------------------------------------------------------------- headers

#[tokio::test]
async fn spoofed_headers_are_removed_everywhere() {
    let h = harness();
    let spoof = [
        ("X-Verified-Credential", "forged"),
        ("x_verified_credential", "forged"),
        ("X_VERIFIED-CREDENTIAL", "forged"),
    ];
    // A pass-through path.
    let r = h.post_with("/profile", &json!({"a": 1}), &spoof).await;
    assert_eq!(r.status, 200);
    let seen = h.state.seen_at("/profile");
    for (name, _) in spoof {
        assert!(
            seen[0].headers.get(name).is_none(),
            "{name} reached the app"
        );
    }
    assert_eq!(
        seen[0].headers.len(),
        1,
        "only content-length is left: {:?}",
        seen[0].headers
    );
    // An intercepted path with a valid registration: only the gateway's header.
    let o = h
        .post("/attestation/options", &json!({"username": "kim"}))
        .await
        .json();
    let cred = Authenticator::none(alg::ES256, 8).register(RP_ID, ORIGIN, &challenge_bytes(&o));
    let r = h.post_with("/attestation/result", &cred, &spoof).await;
    assert_eq!(r.status, 200);
    let seen = h.state.seen_at("/attestation/result");
    assert!(seen[0].headers.get("x_verified_credential").is_none());
    assert_ne!(seen[0].headers.get(HEADER).unwrap(), "forged");
    h.verified("/attestation/result").await;
    // An intercepted path with a forged header and no valid registration.
    let r = h
        .post_with("/attestation/result", &json!({"id": "x"}), &spoof)
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(h.forwarded("/attestation/result"), 1);
}

#[tokio::test]
async fn lenient_spellings_of_a_registration_path_are_intercepted() {
    let h = harness();
    for path in [
        "/attestation/result/",
        "//attestation/result",
        "/Attestation/Result",
        "/attestation/%72esult",
        "/x/../attestation/result;a=b",
    ] {
        let r = h.post(path, &json!({"forged": true})).await;
        assert_eq!(r.status, 400, "{path}");
    }
    assert!(h.state.seen().is_empty());
}

#[tokio::test]
async fn wrong_method_on_a_registration_path_is_405() {
    let h = harness();
    let r = h
        .send(
            Request::put("/attestation/result")
                .body(body("{}"))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 405);
    assert_eq!(r.json()["status"], "failed");
    assert!(h.state.seen().is_empty());
}

// ---------------------------------------------------------------- bodies

/// A body that records whether it was polled.
struct Untouched(Arc<AtomicBool>);

impl Body for Untouched {
    type Data = Bytes;
    type Error = BoxError;
    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.0.store(true, Ordering::SeqCst);
        Poll::Ready(None)
    }
}

/// A body in chunks, with no length known in advance.
struct Chunks(VecDeque<Bytes>);

impl Body for Chunks {
    type Data = Bytes;
    type Error = BoxError;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        Poll::Ready(self.0.pop_front().map(|c| Ok(Frame::data(c))))
    }
}

#[tokio::test]
async fn oversized_bodies_are_413_in_each_dialect() {
    let h = harness();
    for (path, dialect_check) in [
        ("/attestation/result", json!({"status": "failed"})),
        ("/regResponse", json!({"code": 413})),
        ("/auth/registration", json!({"error": {"httpStatus": 413}})),
        (
            "/_app/attestation/result",
            json!({"status": "failed", "token": ""}),
        ),
    ] {
        // Announced by Content-Length: refused before a byte is read.
        let polled = Arc::new(AtomicBool::new(false));
        let req = Request::post(path)
            .header("content-length", "70000")
            .body(Untouched(polled.clone()).boxed())
            .unwrap();
        let r = h.send(req).await;
        assert_eq!(r.status, 413, "{path}");
        assert!(!polled.load(Ordering::SeqCst), "{path}: the body was read");
        let j = r.json();
        for (k, v) in dialect_check.as_object().unwrap() {
            if let Some(inner) = v.as_object() {
                for (k2, v2) in inner {
                    assert_eq!(&j[k][k2], v2, "{path}: {j}");
                }
            } else {
                assert_eq!(&j[k], v, "{path}: {j}");
            }
        }
        // Chunked, no length: refused once it passes the limit.
        let chunks = (0..20).map(|_| Bytes::from(vec![b' '; 4096])).collect();
        let r = h
            .send(Request::post(path).body(Chunks(chunks).boxed()).unwrap())
            .await;
        assert_eq!(r.status, 413, "{path} chunked");
    }
    // A false Content-Length is not trusted either.
    let chunks = (0..20).map(|_| Bytes::from(vec![b' '; 4096])).collect();
    let r = h
        .send(
            Request::post("/attestation/result")
                .header("content-length", "10")
                .body(Chunks(chunks).boxed())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 413);
    assert!(h.state.seen().is_empty());
}

#[tokio::test]
async fn a_chunked_registration_within_the_limit_is_verified() {
    let h = harness();
    let o = h
        .post("/attestation/options", &json!({"username": "leo"}))
        .await
        .json();
    let cred = Authenticator::none(alg::ES256, 9)
        .register(RP_ID, ORIGIN, &challenge_bytes(&o))
        .to_string();
    let chunks = cred
        .as_bytes()
        .chunks(100)
        .map(Bytes::copy_from_slice)
        .collect();
    let r = h
        .send(
            Request::post("/attestation/result")
                .body(Chunks(chunks).boxed())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 200);
    let seen = h.state.seen_at("/attestation/result");
    assert_eq!(seen[0].body, Bytes::from(cred.clone()));
    assert_eq!(seen[0].headers["content-length"], cred.len().to_string());
}

#[tokio::test]
async fn malformed_bodies_are_400_in_each_dialect() {
    let h = harness();
    let o = h
        .post("/attestation/options", &json!({"username": "mia"}))
        .await
        .json();
    let cred = Authenticator::none(alg::ES256, 10)
        .register(RP_ID, ORIGIN, &challenge_bytes(&o))
        .to_string();
    for (path, bodies) in [
        (
            "/attestation/result",
            vec!["", "not json", "[]", "{\"id\":1}", &cred[..cred.len() / 2]],
        ),
        ("/_app/attestation/result", vec!["{", "null"]),
        (
            "/auth/registration",
            vec![
                "{}",
                "{\"firstFactorCredential\":{\"credentialKind\":\"Magic\"}}",
            ],
        ),
        ("/regResponse", vec!["{}", "[]", "[{\"fcParams\":\"!!\"}]"]),
        (
            "/attestation/options",
            vec!["[1]", "{\"username\":7}", "{}"],
        ),
    ] {
        for b in bodies {
            let req = Request::post(path).body(body(b.to_owned())).unwrap();
            let r = h.send(req).await;
            assert_eq!(r.status, 400, "{path} {b:?}: {:?}", r.bytes);
            assert_eq!(r.headers["content-type"], "application/json");
            r.json();
        }
    }
    assert!(h.state.seen().is_empty(), "nothing reached the app");
    // The challenge was never looked up, so the real registration still works.
    assert_eq!(
        h.post("/attestation/result", &serde_json::from_str(&cred).unwrap())
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn other_paths_pass_through_unbuffered_and_unlimited() {
    let h = harness();
    let big = vec![b'x'; 200 * 1024];
    let r = h
        .send(Request::post("/upload").body(body(big.clone())).unwrap())
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(h.state.seen_at("/upload")[0].body.len(), big.len());
    let r = h
        .send(Request::get("/attestation").body(body("")).unwrap())
        .await;
    assert_eq!(r.json()["hello"], "/attestation");
}

// ---------------------------------------------------------------- nevis

#[tokio::test]
async fn nevis_answers_with_the_token_the_app_received() {
    let h = harness();
    let o = h
        .post("/_app/attestation/options", &json!({"username": "nina"}))
        .await
        .json();
    let cred =
        Authenticator::packed_self(alg::RS256, 11).register(RP_ID, ORIGIN, &challenge_bytes(&o));
    // The cloud authenticator's clients post id without rawId.
    let mut posted = json!({
        "id": cred["id"], "type": "public-key", "response": cred["response"],
        "userFriendlyName": "Nina's key", "userAgent": "test"
    });
    let r = h.post("/_app/attestation/result", &posted).await;
    assert_eq!(r.status, 200, "{:?}", r.bytes);
    let j = r.json();
    assert_eq!(
        (j["status"].as_str(), j["errorMessage"].as_str()),
        (Some("ok"), Some(""))
    );
    let seen = h.state.seen_at("/_app/attestation/result");
    assert_eq!(j["token"], seen[0].headers[HEADER].to_str().unwrap());
    let claims = h.verified("/_app/attestation/result").await;
    assert_eq!(
        (claims.dialect.as_str(), claims.credentials[0].alg.as_str()),
        ("nevis", "RS256")
    );
    // Failure: the same shape, status failed.
    posted["userFriendlyName"] = json!("again");
    let r = h.post("/_app/attestation/result", &posted).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["status"], "failed");
}

// ---------------------------------------------------------------- dfns

async fn dfns_init(h: &Harness, path: &str, user: &str) -> Vec<u8> {
    let r = h.post(path, &json!({"username": user})).await;
    assert_eq!(r.status, 200, "{:?}", r.bytes);
    challenge_bytes(&r.json())
}

#[tokio::test]
async fn dfns_all_credential_kinds_gateway_issued() {
    let h = harness();
    let init = h
        .post(
            "/auth/registration/init",
            &json!({"username": "olga@example.com"}),
        )
        .await
        .json();
    assert!(
        init["supportedCredentialKinds"]["firstFactor"]
            .as_array()
            .unwrap()
            .contains(&json!("Key"))
    );
    assert!(init.get("status").is_none());
    let challenge = challenge_bytes(&init);
    let fido = Authenticator::packed_self(alg::ES256, 12);
    let cred = fido.register(RP_ID, ORIGIN, &challenge);
    let second = KeyClient::new(alg::RS256, 13);
    let recovery = KeyClient::new(alg::EDDSA, 14);
    let kc = KeyCeremony::new(&challenge, ORIGIN);
    let req = json!({
        "firstFactorCredential": fido2_credential(&cred),
        "secondFactorCredential": second.credential("PasswordProtectedKey", &kc),
        "recoveryCredential": recovery.credential("RecoveryKey", &kc),
    });
    let r = h.post("/auth/registration", &req).await;
    assert_eq!(r.status, 200, "{:?}", r.bytes);
    let claims = h.verified("/auth/registration").await;
    assert_eq!(claims.protocol, "webauthn");
    let roles: Vec<_> = claims
        .credentials
        .iter()
        .map(|c| {
            (
                c.role.clone().unwrap(),
                c.kind.clone().unwrap(),
                c.protocol.clone(),
                c.alg.clone(),
            )
        })
        .collect();
    assert_eq!(
        roles,
        [
            (
                "firstFactor".into(),
                "Fido2".into(),
                "webauthn".into(),
                "ES256".into()
            ),
            (
                "secondFactor".into(),
                "PasswordProtectedKey".into(),
                "key".into(),
                "RS256".into()
            ),
            (
                "recovery".into(),
                "RecoveryKey".into(),
                "key".into(),
                "EdDSA".into()
            ),
        ]
    );
    assert_eq!(claims.credentials[1].id, b64::encode(&second.credential_id));
    // The encrypted key went upstream untouched, in the unchanged body.
    assert_eq!(
        h.state.seen_at("/auth/registration")[0].body,
        Bytes::from(req.to_string())
    );
}

#[tokio::test]
async fn dfns_upstream_issued_key_credential() {
    let h = harness();
    let challenge = dfns_init(&h, "/app/dfns/init", "pat").await;
    assert_eq!(h.forwarded("/app/dfns/init"), 1);
    let key = KeyClient::new(alg::ES256, 15);
    let req = json!({"firstFactorCredential": key.credential("Key", &KeyCeremony::new(&challenge, ORIGIN))});
    let r = h.post("/app/dfns/registration", &req).await;
    assert_eq!(r.status, 200, "{:?}", r.bytes);
    let claims = h.verified("/app/dfns/registration").await;
    assert_eq!(
        (claims.protocol.as_str(), claims.username.as_deref()),
        ("key", Some("pat"))
    );
}

#[tokio::test]
async fn dfns_refusals() {
    let h = harness();
    let key = KeyClient::new(alg::ES256, 16);
    type Make<'a> = Box<dyn Fn(&[u8]) -> Value + 'a>;
    let cases: Vec<(&str, Make<'_>, u16)> = vec![
        (
            "no encrypted key",
            Box::new(|c| {
                json!({"firstFactorCredential":
            {"credentialKind": "PasswordProtectedKey", "credentialInfo": key.credential_info(&KeyCeremony::new(c, ORIGIN))}})
            }),
            400,
        ),
        (
            "recovery of kind Key",
            Box::new(|c| {
                json!({
            "firstFactorCredential": key.credential("Key", &KeyCeremony::new(c, ORIGIN)),
            "recoveryCredential": key.credential("Key", &KeyCeremony::new(c, ORIGIN))})
            }),
            403,
        ),
        (
            "two challenges",
            Box::new(|c| {
                json!({
            "firstFactorCredential": key.credential("Key", &KeyCeremony::new(c, ORIGIN)),
            "secondFactorCredential": key.credential("Key", &KeyCeremony::new(b"some other challenge of 32 bytes", ORIGIN))})
            }),
            403,
        ),
        (
            "bad signature",
            Box::new(|c| {
                let mut kc = KeyCeremony::new(c, ORIGIN);
                kc.corrupt_signature = true;
                json!({"firstFactorCredential": key.credential("Key", &kc)})
            }),
            400,
        ),
        (
            "wrong origin",
            Box::new(|c| {
                json!({"firstFactorCredential":
            key.credential("Key", &KeyCeremony::new(c, "https://evil.example"))})
            }),
            403,
        ),
    ];
    for (name, make, status) in cases {
        let challenge = dfns_init(&h, "/auth/registration/init", "quinn").await;
        let r = h.post("/auth/registration", &make(&challenge)).await;
        assert_eq!(r.status.as_u16(), status, "{name}: {:?}", r.bytes);
        let j = r.json();
        assert_eq!(j["error"]["httpStatus"], status, "{name}");
        assert!(!j["error"]["message"].as_str().unwrap().is_empty());
    }
    assert_eq!(h.forwarded("/auth/registration"), 0);
}

// ---------------------------------------------------------------- uaf

fn uaf_authenticator(seed: u64) -> UafAuthenticator {
    UafAuthenticator::new(
        "ABCD#0001",
        alg::ES256,
        seed,
        UafAttestationKind::BasicSurrogate,
    )
}

fn uaf_request(envelope: &Value) -> (String, String) {
    let m = &envelope["message"][0];
    (
        m["challenge"].as_str().unwrap().to_owned(),
        m["header"]["serverData"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn uaf_gateway_issued_end_to_end() {
    let h = harness();
    let r = h.post("/regRequest/rita", &json!({})).await;
    assert_eq!(r.status, 200);
    let env = r.json();
    assert_eq!(env["code"], 200);
    assert_eq!(env["message"][0]["header"]["appID"], APP_ID);
    assert_eq!(env["message"][0]["username"], "rita");
    let (challenge, server_data) = uaf_request(&env);
    let authn = uaf_authenticator(17);
    let body = authn.register(&UafCeremony::new(APP_ID, &challenge, FACET, &server_data));
    let r = h.post("/regResponse", &body).await;
    assert_eq!(r.status, 200, "{:?}", r.bytes);
    let claims = h.verified("/regResponse").await;
    assert_eq!(
        (claims.protocol.as_str(), claims.username.as_deref()),
        ("uaf", Some("rita"))
    );
    let c = &claims.credentials[0];
    assert_eq!(c.aaid.as_deref(), Some("ABCD#0001"));
    assert_eq!(c.id, b64::encode(&authn.key_id));
    assert_eq!(c.attestation_type, "basic_surrogate");

    // The same authenticator again, with a fresh challenge: the app's own
    // 409 answer comes back as the app wrote it.
    let (challenge, server_data) =
        uaf_request(&h.post("/regRequest/rita", &json!({})).await.json());
    let body = authn.register(&UafCeremony::new(APP_ID, &challenge, FACET, &server_data));
    let r = h.post("/regResponse", &body).await;
    assert_eq!(r.status, 409);
    assert_eq!(
        r.json(),
        json!({"code": 409, "message": "Authenticator already Registered"})
    );

    // serverData the gateway did not issue is refused, even with a live challenge.
    let (challenge, _) = uaf_request(&h.post("/regRequest/rita", &json!({})).await.json());
    let body =
        uaf_authenticator(18).register(&UafCeremony::new(APP_ID, &challenge, FACET, "forged"));
    let r = h.post("/regResponse", &body).await;
    assert_eq!(r.status.as_u16() / 100, 4);
    assert_eq!(r.json()["code"], r.status.as_u16());

    // Username in the body instead of the path is the same thing; none at all is refused.
    assert_eq!(
        h.post("/regRequest/sam", &json!({"username": "sam"}))
            .await
            .status,
        200
    );
    let r = h
        .send(Request::post("/regRequest/%20").body(body_of("")).unwrap())
        .await;
    assert_eq!(r.status, 400);
}

fn body_of(s: &str) -> ReqBody {
    body(s.to_owned())
}

#[tokio::test]
async fn uaf_upstream_issued_and_the_apps_own_refusals() {
    let h = harness();
    let r = h.post("/app/uaf/regRequest/unknown", &json!({})).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json(),
        json!({"code": 400, "message": "Unknown username unknown"})
    );

    let env = h.post("/app/uaf/regRequest/tom", &json!({})).await.json();
    let (challenge, server_data) = uaf_request(&env);
    assert_eq!(
        server_data, "app-server-data",
        "the app's request comes back as it wrote it"
    );
    let body =
        uaf_authenticator(19).register(&UafCeremony::new(APP_ID, &challenge, FACET, &server_data));
    let r = h.post("/app/uaf/regResponse", &body).await;
    assert_eq!(r.status, 200, "{:?}", r.bytes);
    let claims = h.verified("/app/uaf/regResponse").await;
    assert_eq!(
        (claims.route.as_str(), claims.username.as_deref()),
        ("uaf-up", Some("tom"))
    );
    // Replayed.
    assert_eq!(h.post("/app/uaf/regResponse", &body).await.status, 403);
    // A UAF challenge from the gateway route is not valid on the app's route.
    let (challenge, server_data) = uaf_request(&h.post("/regRequest/tom", &json!({})).await.json());
    let body =
        uaf_authenticator(20).register(&UafCeremony::new(APP_ID, &challenge, FACET, &server_data));
    let r = h.post("/app/uaf/regResponse", &body).await;
    assert_eq!(r.status, 403);
    assert!(r.json()["message"].as_str().unwrap().contains("route"));
    assert_eq!(h.forwarded("/app/uaf/regResponse"), 1);
}

#[tokio::test]
async fn jwks_lists_the_signing_key() {
    let h = harness();
    let set = h.jwks().await;
    assert_eq!(set.keys.len(), 1);
    assert_eq!(h.gateway.header_name().as_str(), HEADER);
    // The service can poll_ready and be called directly too.
    let mut svc = h.svc.clone();
    std::future::poll_fn(|cx| svc.poll_ready(cx)).await.unwrap();
    let r = svc
        .call(Request::get("/").body(body("")).unwrap())
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
