//! The bundled "legacy" demo app: it knows nothing of FIDO. It sits behind
//! the `fidogate` gateway, serves a page that registers a passkey from the
//! browser through the gateway, and stores whatever the gateway's signed
//! header says, after checking it with the gateway's JWKS.

use crate::http;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Html;
use axum::routing::{get, post};
use axum::{Json, Router};
use fidogate_core::gateway::CredentialClaims;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// Where the demo app finds the gateway and what it expects of the header.
#[derive(Debug, Clone)]
pub struct DemoConfig {
    /// The gateway's address (`host:port`), for its JWKS.
    pub gateway: String,
    /// The JWKS path on the gateway.
    pub jwks_path: String,
    /// The header's name.
    pub header: String,
    /// Expected `iss`.
    pub issuer: String,
    /// Expected `aud`.
    pub audience: String,
}

#[derive(Clone)]
struct DemoState {
    config: Arc<DemoConfig>,
    jwks: Arc<Mutex<Option<JwkSet>>>,
    stored: Arc<Mutex<Vec<Value>>>,
    jtis: Arc<Mutex<std::collections::HashSet<String>>>,
}

/// The demo app's routes.
pub fn demo_app(config: DemoConfig) -> Router {
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    let state = DemoState {
        config: Arc::new(config),
        jwks: Arc::default(),
        stored: Arc::default(),
        jtis: Arc::default(),
    };
    Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/registrations", get(list))
        .route("/attestation/result", post(store))
        .route("/_app/attestation/result", post(store))
        .route("/auth/registration", post(store))
        .route("/regResponse", post(store))
        .with_state(state)
}

async fn list(State(state): State<DemoState>) -> Json<Value> {
    Json(json!(
        state.stored.lock().map(|s| s.clone()).unwrap_or_default()
    ))
}

fn refuse(status: StatusCode, message: String) -> (StatusCode, Json<Value>) {
    (
        status,
        Json(json!({"status": "failed", "errorMessage": message})),
    )
}

/// The gateway's JWKS, fetched once (and again for an unknown key ID).
async fn jwks(state: &DemoState, kid: &str) -> Result<JwkSet, String> {
    if let Ok(guard) = state.jwks.lock()
        && let Some(set) = guard.as_ref()
        && set.find(kid).is_some()
    {
        return Ok(set.clone());
    }
    let (gw, path) = (state.config.gateway.clone(), state.config.jwks_path.clone());
    let (status, body) =
        tokio::task::spawn_blocking(move || http::request(&gw, "GET", &path, None))
            .await
            .map_err(|e| e.to_string())??;
    if status != 200 {
        return Err(format!("JWKS answered {status}"));
    }
    let set: JwkSet = serde_json::from_slice(&body).map_err(|e| format!("JWKS: {e}"))?;
    if let Ok(mut guard) = state.jwks.lock() {
        *guard = Some(set.clone());
    }
    Ok(set)
}

async fn store(
    State(state): State<DemoState>,
    headers: HeaderMap,
) -> Result<Json<Value>, (StatusCode, Json<Value>)> {
    let unauthorized = |m: String| refuse(StatusCode::UNAUTHORIZED, m);
    let token = headers
        .get(state.config.header.as_str())
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| unauthorized("no verified credential: is the gateway in front?".into()))?;
    let kid = jsonwebtoken::decode_header(token)
        .ok()
        .and_then(|h| h.kid)
        .ok_or_else(|| unauthorized("credential header without kid".into()))?;
    let set = jwks(&state, &kid).await.map_err(unauthorized)?;
    let jwk = set
        .find(&kid)
        .ok_or_else(|| unauthorized("unknown signing key".into()))?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| unauthorized(e.to_string()))?;
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_issuer(&[state.config.issuer.as_str()]);
    validation.set_audience(&[state.config.audience.as_str()]);
    let claims = jsonwebtoken::decode::<CredentialClaims>(token, &key, &validation)
        .map_err(|e| unauthorized(format!("credential header: {e}")))?
        .claims;
    let fresh = state
        .jtis
        .lock()
        .map(|mut j| j.insert(claims.jti.clone()))
        .unwrap_or(false);
    if !fresh {
        return Err(refuse(
            StatusCode::CONFLICT,
            "credential header already used".into(),
        ));
    }
    let record = json!({
        "username": claims.username,
        "dialect": claims.dialect,
        "protocol": claims.protocol,
        "credentials": claims.credentials,
        "registered_at": claims.iat,
    });
    if let Ok(mut stored) = state.stored.lock() {
        stored.push(record.clone());
    }
    Ok(Json(
        json!({"status": "ok", "errorMessage": "", "code": 200, "stored": record}),
    ))
}

/// The page: registers a passkey through the gateway with WebAuthn.
const PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>fidogate demo app</title>
<style>body{font-family:sans-serif;max-width:52rem;margin:2rem auto}pre{background:#f4f4f4;padding:1rem;overflow:auto}</style>
</head><body>
<h1>fidogate demo app</h1>
<p>This app contains no FIDO code. The fidogate gateway in front of it verifies the
registration and forwards it with a signed header; the app stores what the header says.</p>
<p><label>Username <input id="username" value="alice"></label>
<button id="register">Register a passkey</button></p>
<h2>Result</h2><pre id="result">-</pre>
<h2>What the app stored</h2><pre id="stored">-</pre>
<script>
const b64u = {
  decode: s => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), c => c.charCodeAt(0)),
  encode: b => btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''),
};
async function refresh() {
  const r = await fetch('/registrations');
  document.getElementById('stored').textContent = JSON.stringify(await r.json(), null, 2);
}
document.getElementById('register').onclick = async () => {
  const out = document.getElementById('result');
  try {
    const username = document.getElementById('username').value;
    const o = await (await fetch('/attestation/options', {method: 'POST',
      headers: {'content-type': 'application/json'},
      body: JSON.stringify({username, displayName: username, attestation: 'none'})})).json();
    if (o.status !== 'ok') throw new Error(o.errorMessage);
    const cred = await navigator.credentials.create({publicKey: {
      ...o, challenge: b64u.decode(o.challenge),
      user: {...o.user, id: b64u.decode(o.user.id)},
      excludeCredentials: [],
    }});
    const body = {id: cred.id, rawId: b64u.encode(cred.rawId), type: cred.type,
      response: {clientDataJSON: b64u.encode(cred.response.clientDataJSON),
                 attestationObject: b64u.encode(cred.response.attestationObject),
                 transports: cred.response.getTransports ? cred.response.getTransports() : []},
      clientExtensionResults: cred.getClientExtensionResults()};
    const r = await fetch('/attestation/result', {method: 'POST',
      headers: {'content-type': 'application/json'}, body: JSON.stringify(body)});
    out.textContent = r.status + ' ' + JSON.stringify(await r.json(), null, 2);
  } catch (e) { out.textContent = 'error: ' + e; }
  refresh();
};
refresh();
</script></body></html>
"#;
