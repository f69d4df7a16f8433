//! An axum app that stores passkeys, UAF authenticators and key
//! credentials without any FIDO code: the [`FidogateLayer`] in front of it
//! verifies each registration, and the app keeps only what the signed
//! verified-credential header says, after checking that header with the
//! gateway's JWKS as any upstream would.
//!
//! Run it with `cargo run -p fidogate-examples --bin axum-passkeys`, then:
//!
//! ```text
//! curl -s -XPOST localhost:3000/attestation/options -H 'content-type: application/json' -d '{"username":"alice"}'
//! curl -s localhost:3000/.well-known/fidogate/jwks.json
//! curl -s localhost:3000/registrations
//! curl -s localhost:3000/metrics | grep ^fidogate_   # the layer's series
//! # a registration nobody verified never reaches the app:
//! curl -si -XPOST localhost:3000/attestation/result -H 'Fidogate-Credential: forged' -d '{}'
//! ```

pub mod demo;
pub mod http;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use fidogate_core::gateway::{
    CredentialClaims, Dialect, Gateway, GatewayConfig, GatewayKeys, MokaChallengeStore,
    RouteConfig, RpConfig, TokenSigner, UafConfig,
};
use fidogate_core::trust::TrustAnchors;
use fidogate_tower::FidogateLayer;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// The gateway's configuration for this app: the FIDO2 conformance API,
/// the wallet API's registration and UAF, all with gateway-issued
/// challenges.
pub fn gateway_config(origin: &str) -> GatewayConfig {
    let rp = RpConfig {
        id: "localhost".into(),
        name: Some("fidogate example".into()),
        origins: vec![origin.into()],
        top_origins: vec![],
    };
    let mut config = GatewayConfig::new(
        rp,
        vec![
            RouteConfig::new("passkeys", Dialect::Webauthn),
            RouteConfig::new("wallet", Dialect::Dfns),
            RouteConfig::new("uaf", Dialect::Uaf),
        ],
    );
    config.uaf = UafConfig {
        app_id: format!("{origin}/uaf/facets"),
        ..UafConfig::default()
    };
    config
}

/// The gateway, with a fresh signing key and secret (a real deployment
/// keeps both in files, so headers and user handles survive restarts).
pub fn gateway(config: GatewayConfig, signing_key_pkcs8: &[u8], secret: Vec<u8>) -> Gateway {
    let keys = GatewayKeys {
        signer: TokenSigner::from_pkcs8_der(signing_key_pkcs8).unwrap_or_else(|e| {
            eprintln!("bad signing key: {e}");
            std::process::exit(2)
        }),
        retired: vec![],
        secret,
        previous_secrets: vec![],
    };
    let store = Arc::new(MokaChallengeStore::new(config.challenge_capacity));
    let gateway = Gateway::new(config, keys, TrustAnchors::new(), store).unwrap_or_else(|e| {
        eprintln!("bad gateway configuration: {e}");
        std::process::exit(2)
    });
    // The layer's series, in the default registry that `/metrics` serves.
    match fidogate_metrics::Metrics::global() {
        Ok(metrics) => gateway.with_observer(metrics),
        Err(e) => {
            tracing::warn!(error = %e, "metrics: not recorded");
            gateway
        }
    }
}

/// `GET /metrics`: the default registry, fidogate's series among them
/// (an app exposing metrics already serves this registry).
async fn metrics() -> impl IntoResponse {
    let (content_type, body) =
        fidogate_metrics::render(fidogate_metrics::prometheus::default_registry());
    ([(axum::http::header::CONTENT_TYPE, content_type)], body)
}

/// What the app keeps.
#[derive(Default)]
struct Db {
    /// Stored credentials by username.
    users: HashMap<String, Vec<Value>>,
    /// Credential IDs already registered.
    ids: HashSet<String>,
    /// Token IDs already used: a header is good for one request.
    jtis: HashSet<String>,
}

#[derive(Clone)]
struct AppState {
    db: Arc<Mutex<Db>>,
    jwks: Arc<JwkSet>,
    header: String,
    validation: Arc<Validation>,
}

/// The app, with the layer in front of it.
pub fn app(gateway: Gateway) -> Router {
    // jsonwebtoken needs one crypto provider per process; this workspace
    // builds it with more than one, so pick one (ignore "already set").
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    // A separate app would fetch this from the gateway's JWKS URL.
    let jwks: JwkSet = serde_json::from_slice(gateway.jwks()).unwrap_or(JwkSet { keys: vec![] });
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_issuer(&[gateway.config().issuer.as_str()]);
    validation.set_audience(&[gateway.config().audience.as_str()]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    let state = AppState {
        db: Arc::default(),
        jwks: Arc::new(jwks),
        header: gateway.header_name().to_string(),
        validation: Arc::new(validation),
    };
    Router::new()
        .route("/", get(|| async { "fidogate example app\n" }))
        .route("/registrations", get(list))
        .route("/metrics", get(metrics))
        .route("/attestation/result", post(register))
        .route("/auth/registration", post(register))
        .route("/regResponse", post(register))
        .with_state(state)
        .layer(FidogateLayer::new(gateway))
}

fn refuse(status: StatusCode, message: &str) -> (StatusCode, Json<Value>) {
    (
        status,
        Json(json!({"status": "failed", "errorMessage": message})),
    )
}

/// Checks the verified-credential header: signature with the JWKS, `iss`,
/// `aud`, `exp`, and a `jti` not seen before.
fn verified(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<CredentialClaims, (StatusCode, Json<Value>)> {
    let token = headers
        .get(&state.header)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| refuse(StatusCode::UNAUTHORIZED, "no verified credential"))?;
    let header = jsonwebtoken::decode_header(token)
        .map_err(|_| refuse(StatusCode::UNAUTHORIZED, "bad credential header"))?;
    let jwk = header
        .kid
        .and_then(|kid| state.jwks.find(&kid).cloned())
        .ok_or_else(|| refuse(StatusCode::UNAUTHORIZED, "unknown signing key"))?;
    let key = DecodingKey::from_jwk(&jwk)
        .map_err(|_| refuse(StatusCode::UNAUTHORIZED, "unusable signing key"))?;
    let data = jsonwebtoken::decode::<CredentialClaims>(token, &key, &state.validation)
        .map_err(|e| refuse(StatusCode::UNAUTHORIZED, &format!("credential header: {e}")))?;
    Ok(data.claims)
}

async fn register(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, (StatusCode, Json<Value>)> {
    let claims = verified(&state, &headers)?;
    let mut db = state
        .db
        .lock()
        .map_err(|_| refuse(StatusCode::INTERNAL_SERVER_ERROR, "store poisoned"))?;
    if !db.jtis.insert(claims.jti.clone()) {
        return Err(refuse(
            StatusCode::CONFLICT,
            "credential header already used",
        ));
    }
    let user = claims.username.unwrap_or_else(|| "(unknown)".to_owned());
    if claims.credentials.iter().any(|c| db.ids.contains(&c.id)) {
        return Err(refuse(
            StatusCode::CONFLICT,
            "Authenticator already Registered",
        ));
    }
    for c in claims.credentials {
        db.ids.insert(c.id.clone());
        db.users.entry(user.clone()).or_default().push(json!(c));
    }
    Ok(Json(
        json!({"status": "ok", "errorMessage": "", "username": user}),
    ))
}

async fn list(State(state): State<AppState>) -> Json<Value> {
    let users = state
        .db
        .lock()
        .map(|db| json!(db.users))
        .unwrap_or_else(|_| json!({}));
    Json(users)
}
