//! The app behind the gateway in every scenario: a "legacy" app with no
//! FIDO code. It records every request it receives, issues its own
//! challenges on the `/app/…` options endpoints, stores a registration
//! when the verified-credential header names a credential it has not seen
//! (409 otherwise, as the UAF server does), and answers anything else with
//! its path.

use axum::body::Body;
use axum::http::{HeaderMap, Request, Response, StatusCode};
use fidogate_core::b64;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// The AppID the UAF routes use.
pub const APP_ID: &str = "https://uaf.example.com/facets";
/// The UAF facet (the AppID's origin, trusted by default).
pub const FACET: &str = "https://uaf.example.com";
/// Bytes of the answers the app writes to exceed the gateway's
/// `response_limit` (4096 in the scenarios' configuration).
pub const HUGE: usize = 10_000;
/// The challenge in the app's answer that is too large to be read.
pub const HUGE_CHALLENGE: &[u8] = b"the challenge of a huge answer";

/// One request the app received.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The path.
    pub path: String,
    /// Its headers.
    pub headers: HeaderMap,
    /// Its body.
    pub body: Vec<u8>,
}

/// What the app saw, shared with the test.
#[derive(Debug, Clone, Default)]
pub struct AppLog {
    seen: Arc<Mutex<Vec<Seen>>>,
    registered: Arc<Mutex<HashSet<String>>>,
}

impl AppLog {
    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn record(&self, seen: Seen) -> usize {
        let mut log = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        log.push(seen);
        log.len()
    }

    fn register(&self, id: String) -> bool {
        self.registered
            .lock()
            .map(|mut r| r.insert(id))
            .unwrap_or(false)
    }
}

fn json_answer(status: u16, v: &Value) -> Response<Body> {
    let mut r = Response::new(Body::from(v.to_string()));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    r
}

/// The app on a port the OS picked, served by a runtime of its own on a
/// thread of its own (for tests that drive a real `fidogate run`).
pub fn spawn(log: AppLog) -> std::net::SocketAddr {
    let listener = match std::net::TcpListener::bind("127.0.0.1:0") {
        Ok(l) => l,
        Err(e) => panic!("the app cannot listen: {e}"),
    };
    let addr = match listener
        .set_nonblocking(true)
        .and_then(|()| listener.local_addr())
    {
        Ok(a) => a,
        Err(e) => panic!("the app's listener: {e}"),
    };
    let app = router(log);
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async move {
            if let Ok(listener) = tokio::net::TcpListener::from_std(listener) {
                let _ = axum::serve(listener, app).await;
            }
        });
    });
    addr
}

/// The app as an axum router (a tower service, and servable on a socket).
pub fn router(log: AppLog) -> axum::Router {
    axum::Router::new().fallback(move |req: Request<Body>| {
        let log = log.clone();
        async move { answer(&log, req).await }
    })
}

async fn answer(log: &AppLog, req: Request<Body>) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .map(|b| b.to_vec())
        .unwrap_or_default();
    let path = parts.uri.path().to_owned();
    // An app that takes its time: a request in flight while the gateway
    // shuts down or upgrades.
    if path.starts_with("/slow/") {
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    }
    let n = log.record(Seen {
        path: path.clone(),
        headers: parts.headers.clone(),
        body,
    });
    let challenge = b64::encode(format!("app challenge number {n:08}").as_bytes());
    match path.as_str() {
        "/app/webauthn/options" | "/app/nevis/options" | "/app/dfns/init" => json_answer(
            200,
            &json!({"status": "ok", "errorMessage": "", "challenge": challenge,
                    "rp": {"id": "example.com"},
                    "user": {"id": b64::encode(b"app user handle"), "name": "x"}}),
        ),
        "/app/broken/options" => json_answer(200, &json!({"status": "ok", "errorMessage": ""})),
        "/app/refuse/options" => json_answer(
            403,
            &json!({"status": "failed", "errorMessage": "x".repeat(HUGE)}),
        ),
        "/app/huge/options" => json_answer(
            200,
            &json!({"status": "ok", "errorMessage": "", "challenge": b64::encode(HUGE_CHALLENGE),
                    "pad": "x".repeat(HUGE)}),
        ),
        p if p.starts_with("/app/uaf/regRequest/") => {
            let user = p.trim_start_matches("/app/uaf/regRequest/");
            if user == "unknown" {
                json_answer(
                    400,
                    &json!({"code": 400, "message": "Unknown username unknown"}),
                )
            } else {
                json_answer(
                    200,
                    &json!({"code": 200, "message": [{
                        "header": {"upv": {"major": 1, "minor": 0}, "op": "Reg", "appID": APP_ID,
                                   "serverData": "app-server-data", "exts": null},
                        "challenge": challenge, "username": user,
                        "policy": {"accepted": [], "disallowed": null}}]}),
                )
            }
        }
        p if p.ends_with("regResponse") || p.ends_with("result") || p.ends_with("registration") => {
            registration(log, &parts.headers)
        }
        _ => json_answer(200, &json!({"hello": path})),
    }
}

/// A registration: the app trusts the header (the tests check its
/// signature); a credential ID seen before is refused.
fn registration(log: &AppLog, headers: &HeaderMap) -> Response<Body> {
    let id = headers
        .get(crate::HEADER)
        .and_then(|h| h.to_str().ok())
        .and_then(|t| t.split('.').nth(1))
        .and_then(|c| b64::decode(c).ok())
        .and_then(|c| serde_json::from_slice::<Value>(&c).ok())
        .and_then(|c| c["credentials"][0]["id"].as_str().map(str::to_owned));
    let Some(id) = id else {
        return json_answer(500, &json!({"error": "unverified request reached the app"}));
    };
    if log.register(id) {
        json_answer(
            200,
            &json!({"code": 200, "status": "ok", "errorMessage": "", "stored": true}),
        )
    } else {
        json_answer(
            409,
            &json!({"code": 409, "message": "Authenticator already Registered"}),
        )
    }
}
