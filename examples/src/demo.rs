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

/// The page: registers a passkey through the gateway with `fidogate.js`
/// (which the gateway serves), in any WebAuthn dialect, and shows what
/// the app stored as a table.
const PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>fidogate demo app</title>
<style>
body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
pre{background:#f4f4f4;padding:1rem;overflow:auto}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}
td.id{font-family:monospace;word-break:break-all;max-width:14rem}
.ok{color:#070}.failed{color:#b00}
</style>
</head><body>
<h1>fidogate demo app</h1>
<p>This app contains no FIDO code. The fidogate gateway in front of it verifies the
registration and forwards it with a signed header; the app stores what the header says.
The page uses <code>fidogate.js</code>, which the gateway serves.</p>
<p><label>Username <input id="username" value="alice"></label>
<label>Dialect <select id="dialect">
<option value="webauthn">webauthn (FIDO2 conformance API)</option>
<option value="nevis">nevis (cloud authenticator)</option>
<option value="dfns">dfns (wallet API)</option></select></label>
<label>Attestation <select id="attestation">
<option value="none">none</option><option value="direct">direct</option></select></label>
<button id="register">Register a passkey</button></p>
<h2>Result <span id="status">-</span></h2><pre id="result">-</pre>
<h2>What the app stored</h2>
<table><thead><tr><th>user</th><th>dialect</th><th>credential id</th><th>format</th>
<th>algorithm</th><th>AAGUID</th><th>trusted</th><th>flags</th><th>registered</th></tr></thead>
<tbody id="stored"><tr><td colspan="9">nothing yet</td></tr></tbody></table>
<script type="module">
const $ = (id) => document.getElementById(id);
function cell(row, text, cls) {
  const td = row.insertCell();
  td.textContent = text;
  if (cls) td.className = cls;
}
async function refresh() {
  const records = await (await fetch('/registrations')).json();
  const body = $('stored');
  body.replaceChildren();
  for (const r of records) {
    for (const c of r.credentials) {
      const row = body.insertRow();
      row.dataset.credentialId = c.id;
      cell(row, r.username ?? '');
      cell(row, r.dialect);
      cell(row, c.id, 'id');
      cell(row, c.fmt);
      cell(row, c.cose_alg === undefined ? c.alg : `${c.alg} (${c.cose_alg})`);
      cell(row, c.aaguid ?? c.aaid ?? '');
      cell(row, c.trusted ? 'yes' : 'no');
      const f = c.flags || {};
      cell(row, ['up', 'uv', 'be', 'bs'].filter((k) => f[k]).join(' ').toUpperCase());
      cell(row, new Date(r.registered_at * 1000).toISOString());
    }
  }
  if (!body.rows.length) {
    const row = body.insertRow();
    const td = row.insertCell();
    td.colSpan = 9;
    td.textContent = 'nothing yet';
  }
}
let client;
try {
  client = await import('/.well-known/fidogate/fidogate.js');
} catch (e) {
  $('result').textContent = 'fidogate.js did not load: open this page through the gateway.';
}
$('register').onclick = async () => {
  if (!client) return;
  $('status').textContent = '…';
  const username = $('username').value;
  const result = await client.register({
    dialect: $('dialect').value,
    username,
    displayName: username,
    request: { attestation: $('attestation').value },
  });
  const shown = { ...result };
  delete shown.answer;
  $('status').textContent = result.code.statusCode;
  $('status').className = result.success ? 'ok' : 'failed';
  $('result').textContent = JSON.stringify(shown, null, 2);
  refresh();
};
refresh();
</script></body></html>
"#;
