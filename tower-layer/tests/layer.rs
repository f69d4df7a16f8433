#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]
//! What only the Layer has (everything both adapters promise is in the
//! scenario table, `tests/scenarios.rs`): the typed [`Rejection`] in the
//! extensions of every refusal, a body longer than its Content-Length
//! refused without reading it all, the framing of the body it forwards,
//! inner-service errors on pass-through routes left to the caller, and the
//! service driven with `poll_ready` and `call`.

use bytes::Bytes;
use fidogate_core::ErrorClass;
use fidogate_core::gateway::{
    Gateway, GatewayError, GatewayKeys, MokaChallengeStore, RequestError, SealError, TokenSigner,
};
use fidogate_core::trust::TrustAnchors;
use fidogate_testkit::keys::{SigningKey, alg};
use fidogate_testkit::webauthn::Authenticator;
use fidogate_tests::app::{AppLog, router};
use fidogate_tests::config::{ORIGIN, RP_ID, gateway_config};
use fidogate_tower::{BoxError, FidogateBody, FidogateLayer, Rejection};
use http::{Request, StatusCode};
use http_body::{Body, Frame};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use tower::{Layer, Service, ServiceExt};

type ReqBody = BoxBody<Bytes, BoxError>;

fn gateway() -> Gateway {
    let keys = GatewayKeys {
        signer: TokenSigner::from_pkcs8_der(&SigningKey::generate(alg::ES256, 99).pkcs8_der())
            .unwrap(),
        retired: vec![],
        secret: vec![9; 32],
        previous_secrets: vec![],
    };
    Gateway::new(
        gateway_config(),
        keys,
        TrustAnchors::new(),
        Arc::new(MokaChallengeStore::new(1000)),
    )
    .unwrap()
}

fn body(bytes: impl Into<Bytes>) -> ReqBody {
    Full::new(bytes.into()).map_err(|e| match e {}).boxed()
}

fn post(path: &str, v: &Value) -> Request<ReqBody> {
    let bytes = v.to_string();
    Request::post(path)
        .header("content-length", bytes.len())
        .body(body(bytes))
        .unwrap()
}

/// A chunked body that records whether it was read to the end.
struct Chunks {
    chunks: VecDeque<Bytes>,
    drained: Arc<AtomicBool>,
}

impl Body for Chunks {
    type Data = Bytes;
    type Error = BoxError;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let next = self.chunks.pop_front();
        if next.is_none() {
            self.drained.store(true, Ordering::SeqCst);
        }
        Poll::Ready(next.map(|c| Ok(Frame::data(c))))
    }
}

#[tokio::test]
async fn every_refusal_carries_the_typed_error() {
    let log = AppLog::default();
    let svc = FidogateLayer::new(gateway()).layer(router(log.clone()));
    let rejection = |res: http::Response<_>| res.extensions().get::<Rejection>().cloned();

    let r = svc
        .clone()
        .oneshot(post("/attestation/options", &json!({})))
        .await
        .unwrap();
    let got = rejection(r).expect("a rejection");
    assert_eq!(
        (got.status, got.reason),
        (StatusCode::BAD_REQUEST, "malformed")
    );
    assert_eq!(
        got.error,
        GatewayError::Request(RequestError::Missing("username".into()))
    );
    assert_eq!(got.message, "username is missing");

    let cred = Authenticator::none(alg::ES256, 1).register(RP_ID, ORIGIN, &[7; 32]);
    let r = svc
        .clone()
        .oneshot(post("/attestation/result", &cred))
        .await
        .unwrap();
    let got = rejection(r).expect("a rejection");
    assert_eq!(got.error, GatewayError::Seal(SealError::Truncated));
    assert_eq!(got.error.class(), Some(ErrorClass::Replay));

    let r = svc
        .clone()
        .oneshot(Request::get("/attestation/result").body(body("")).unwrap())
        .await
        .unwrap();
    assert!(matches!(
        rejection(r).expect("a rejection").error,
        GatewayError::Method { .. }
    ));

    // Answers that are not refusals carry none.
    let r = svc
        .clone()
        .oneshot(post("/attestation/options", &json!({"username": "a"})))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(rejection(r).is_none());
    assert!(log.seen().is_empty());
}

#[tokio::test]
async fn a_body_longer_than_its_content_length_is_413_without_reading_it_all() {
    let log = AppLog::default();
    let svc = FidogateLayer::new(gateway()).layer(router(log.clone()));
    let drained = Arc::new(AtomicBool::new(false));
    let chunks = Chunks {
        chunks: std::iter::repeat_n(Bytes::from(vec![b'x'; 16 * 1024]), 100).collect(),
        drained: drained.clone(),
    };
    // It claims 10 bytes.
    let req = Request::post("/attestation/result")
        .header("content-length", "10")
        .body(chunks.boxed())
        .unwrap();
    let r = svc.oneshot(req).await.unwrap();
    assert_eq!(r.status(), 413);
    assert!(
        !drained.load(Ordering::SeqCst),
        "the body was read to its end"
    );
    assert!(log.seen().is_empty());
}

/// Half a body, then nothing more, ever.
struct Stalls {
    first: Option<Bytes>,
}

impl Body for Stalls {
    type Data = Bytes;
    type Error = BoxError;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.first.take() {
            Some(b) => Poll::Ready(Some(Ok(Frame::data(b)))),
            None => Poll::Pending,
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_body_that_stalls_past_the_timeout_is_408_and_nothing_is_forwarded() {
    let log = AppLog::default();
    let stalled = || {
        Request::post("/attestation/result")
            .header("content-type", "application/json")
            .body(
                Stalls {
                    first: Some(Bytes::from_static(br#"{"id":"AAAA","rawId":"#)),
                }
                .boxed(),
            )
            .unwrap()
    };
    // The default, 10 s (the clock is tokio's paused one: no real wait).
    let svc = FidogateLayer::new(gateway()).layer(router(log.clone()));
    let started = tokio::time::Instant::now();
    let r = svc.oneshot(stalled()).await.unwrap();
    assert_eq!(r.status(), StatusCode::REQUEST_TIMEOUT);
    assert_eq!(started.elapsed(), fidogate_tower::DEFAULT_BODY_TIMEOUT);
    let j: Value =
        serde_json::from_slice(&r.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(j["status"], "failed");
    assert_eq!(j["errorMessage"], "the request body did not arrive in time");
    // A shorter one of the caller's.
    let svc = FidogateLayer::new(gateway())
        .with_body_timeout(Some(std::time::Duration::from_millis(250)))
        .layer(router(log.clone()));
    let started = tokio::time::Instant::now();
    let r = svc.oneshot(stalled()).await.unwrap();
    assert_eq!(r.status(), StatusCode::REQUEST_TIMEOUT);
    assert_eq!(started.elapsed(), std::time::Duration::from_millis(250));
    assert!(
        log.seen().is_empty(),
        "a stalled registration reached the app"
    );
}

#[tokio::test]
async fn a_chunked_registration_goes_upstream_as_one_piece_of_known_length() {
    let log = AppLog::default();
    let svc = FidogateLayer::new(gateway()).layer(router(log.clone()));
    let options = svc
        .clone()
        .oneshot(post("/attestation/options", &json!({"username": "leo"})))
        .await
        .unwrap();
    let options: Value =
        serde_json::from_slice(&options.into_body().collect().await.unwrap().to_bytes()).unwrap();
    let challenge = fidogate_core::b64::decode(options["challenge"].as_str().unwrap()).unwrap();
    let cred = Authenticator::none(alg::ES256, 2)
        .register(RP_ID, ORIGIN, &challenge)
        .to_string();
    let chunks = Chunks {
        chunks: cred
            .as_bytes()
            .chunks(100)
            .map(Bytes::copy_from_slice)
            .collect(),
        drained: Arc::default(),
    };
    let req = Request::post("/attestation/result")
        .header("transfer-encoding", "chunked")
        .body(chunks.boxed())
        .unwrap();
    let r = svc.oneshot(req).await.unwrap();
    assert_eq!(r.status(), 200);
    let seen = log.seen();
    let last = seen.last().unwrap();
    assert_eq!(last.body, cred.as_bytes());
    assert_eq!(last.headers["content-length"], cred.len().to_string());
    assert!(last.headers.get("transfer-encoding").is_none());
}

#[tokio::test]
async fn inner_errors_on_pass_through_routes_are_the_callers() {
    let failing = tower::service_fn(|_: Request<FidogateBody<ReqBody>>| async {
        Err::<http::Response<Full<Bytes>>, BoxError>("the app is down".into())
    });
    let mut svc = FidogateLayer::new(gateway()).layer(failing);
    // Not intercepted: the layer does not answer for the app.
    let e = svc
        .call(Request::get("/profile").body(body("")).unwrap())
        .await
        .expect_err("the inner error");
    assert_eq!(e.to_string(), "the app is down");
}

#[tokio::test]
async fn the_service_is_driven_with_poll_ready_and_call_and_serves_its_jwks() {
    let g = gateway();
    let mut svc = FidogateLayer::new(g.clone()).layer(router(AppLog::default()));
    std::future::poll_fn(|cx| Service::<Request<ReqBody>>::poll_ready(&mut svc, cx))
        .await
        .unwrap();
    let r = svc
        .call(
            Request::get("/.well-known/fidogate/jwks.json")
                .body(body(""))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    let bytes = r.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(bytes, g.jwks());
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(set.keys.len(), 1);
    assert_eq!(g.header_name().as_str(), fidogate_tests::HEADER);
}

#[tokio::test]
async fn fidogate_js_is_served_and_a_304_claims_no_length() {
    let log = AppLog::default();
    let svc = FidogateLayer::new(gateway()).layer(router(log.clone()));
    let path = fidogate_core::gateway::DEFAULT_CLIENT_PATH;
    let r = svc
        .clone()
        .oneshot(Request::get(path).body(body("")).unwrap())
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/javascript");
    let etag = r.headers()["etag"].clone();
    let bytes = r.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(bytes, fidogate_core::gateway::FIDOGATE_JS.as_bytes());
    let r = svc
        .oneshot(
            Request::get(path)
                .header("if-none-match", etag.clone())
                .body(body(""))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    assert_eq!(r.headers()["etag"], etag);
    assert!(r.headers().get("content-length").is_none());
    assert!(r.into_body().collect().await.unwrap().to_bytes().is_empty());
    assert!(log.seen().is_empty());
}
