#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]
//! The example app behind the layer, driven with `oneshot`.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use fidogate_examples::{app, gateway, gateway_config};
use fidogate_testkit::keycred::{KeyCeremony, KeyClient};
use fidogate_testkit::keys::{SigningKey, alg};
use fidogate_testkit::webauthn::Authenticator;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

const ORIGIN: &str = "http://localhost:3000";

async fn call(
    router: &axum::Router,
    method: &str,
    path: &str,
    body: &Value,
) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let res = router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn router() -> axum::Router {
    let key = SigningKey::generate(alg::ES256, 5).pkcs8_der();
    app(gateway(gateway_config(ORIGIN), &key, vec![3; 32]))
}

fn challenge(options: &Value) -> Vec<u8> {
    fidogate_core::b64::decode(options["challenge"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn the_app_stores_what_the_header_says_and_nothing_else() {
    let r = router();
    let (s, o) = call(
        &r,
        "POST",
        "/attestation/options",
        &json!({"username": "alice"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let authn = Authenticator::packed_self(alg::ES256, 1);
    let cred = authn.register("localhost", ORIGIN, &challenge(&o));
    let (s, body) = call(&r, "POST", "/attestation/result", &cred).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (_, stored) = call(&r, "GET", "/registrations", &Value::Null).await;
    assert_eq!(
        stored["alice"][0]["id"],
        fidogate_core::b64::encode(&authn.credential_id)
    );
    assert_eq!(stored["alice"][0]["fmt"], "packed");

    // The same authenticator again: the app refuses the known credential ID.
    let (_, o) = call(
        &r,
        "POST",
        "/attestation/options",
        &json!({"username": "alice"}),
    )
    .await;
    let cred = authn.register("localhost", ORIGIN, &challenge(&o));
    let (s, _) = call(&r, "POST", "/attestation/result", &cred).await;
    assert_eq!(s, StatusCode::CONFLICT);

    // A forged header on a made-up registration never gets stored.
    let req = Request::post("/attestation/result")
        .header("Fidogate-Credential", "forged")
        .body(Body::from("{}"))
        .unwrap();
    assert_eq!(
        r.clone().oneshot(req).await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    let (_, stored) = call(&r, "GET", "/registrations", &Value::Null).await;
    assert_eq!(stored["alice"].as_array().unwrap().len(), 1);

    // The app serves the layer's series from its own /metrics.
    let res = r
        .clone()
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = String::from_utf8(
        axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    for want in [
        "fidogate_requests_total{decision=\"verified\",endpoint=\"result\",route=\"passkeys\",status=\"200\"}",
        "fidogate_verification_seconds_count{fmt=\"packed\",route=\"passkeys\"}",
    ] {
        assert!(text.contains(want), "no {want} in:\n{text}");
    }
}

#[tokio::test]
async fn a_key_credential_through_the_wallet_dialect() {
    let r = router();
    let (s, init) = call(
        &r,
        "POST",
        "/auth/registration/init",
        &json!({"username": "bob"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let key = KeyClient::new(alg::ES256, 2);
    let req = json!({"firstFactorCredential": key.credential("Key", &KeyCeremony::new(&challenge(&init), ORIGIN))});
    let (s, body) = call(&r, "POST", "/auth/registration", &req).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (_, stored) = call(&r, "GET", "/registrations", &Value::Null).await;
    assert_eq!(stored["bob"][0]["protocol"], "key");
    assert_eq!(stored["bob"][0]["role"], "firstFactor");
}
