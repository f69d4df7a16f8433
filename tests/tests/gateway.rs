#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]
//! What only the socket side has, beyond the scenario table
//! (`proxy/tests/scenarios.rs`): connection reuse after refusals, the
//! health endpoint, and a client written by others (1Password's
//! passkey-rs) registering through the real `fidogate run`.

use fidogate_core::UnixTime;
use fidogate_core::gateway::verify_token;
use fidogate_tests::HEADER;
use fidogate_tests::app::{AppLog, router};
use fidogate_tests::config::{AUDIENCE, ORIGIN, RP_ID, run_file};
use fidogate_tests::process::GatewayProcess;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, SystemTime};

/// The scenarios' app on a port the OS picked, served by its own runtime.
fn start_app() -> (SocketAddr, AppLog) {
    let log = AppLog::default();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let app = router(log.clone());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    (addr, log)
}

fn start_gateway(upstream: SocketAddr) -> GatewayProcess {
    GatewayProcess::start(
        &fidogate_testkit::fidogate_binary(),
        &run_file(upstream),
        &[],
    )
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
}

/// One HTTP/1.1 exchange on `conn`, which stays open (answers framed by
/// Content-Length).
fn exchange(conn: &mut BufReader<TcpStream>, request: &[u8]) -> Response {
    conn.get_mut().write_all(request).unwrap();
    let mut line = String::new();
    conn.read_line(&mut line).unwrap();
    let status: u16 = line
        .split(' ')
        .nth(1)
        .unwrap_or_else(|| panic!("bad status line {line:?}"))
        .parse()
        .unwrap();
    let mut length = 0;
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        conn.read_line(&mut h).unwrap();
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':').unwrap();
        if k.eq_ignore_ascii_case("content-length") && status != 304 && status != 204 {
            length = v.trim().parse().unwrap();
        }
        headers.push((k.to_owned(), v.trim().to_owned()));
    }
    let mut body = vec![0; length];
    conn.read_exact(&mut body).unwrap();
    Response {
        status,
        headers,
        body,
    }
}

fn connect(gw: &GatewayProcess) -> BufReader<TcpStream> {
    let s = TcpStream::connect(gw.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    BufReader::new(s)
}

fn post_on(conn: &mut BufReader<TcpStream>, path: &str, body: &str) -> Response {
    let req = format!(
        "POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    exchange(conn, req.as_bytes())
}

fn post(gw: &GatewayProcess, path: &str, body: &Value) -> Response {
    post_on(&mut connect(gw), path, &body.to_string())
}

#[test]
fn refusals_keep_the_connection_and_health_answers() {
    let (app, log) = start_app();
    let gw = start_gateway(app);
    let mut conn = connect(&gw);
    // A refused registration, then a pass-through request, then options,
    // on one connection.
    let r = post_on(&mut conn, "/attestation/result", "{\"id\":\"x\"}");
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["status"], "failed");
    let r = exchange(
        &mut conn,
        b"GET /profile HTTP/1.1\r\nhost: x\r\nfidogate-credential: forged\r\n\r\n",
    );
    assert_eq!(r.status, 200, "the connection is still usable");
    let r = post_on(&mut conn, "/attestation/options", "{\"username\":\"fay\"}");
    assert_eq!(r.status, 200);
    let seen = log.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/profile");
    assert!(seen[0].headers.get(HEADER).is_none());
    let health = exchange(&mut conn, b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n");
    assert_eq!(
        (health.status, health.json()),
        (200, json!({"status": "ok"}))
    );
}

/// fidogate.js from `fidogate run`: the module with its ETag, then a 304
/// for the copy the client has, framed so that the connection goes on;
/// the app sees none of it.
#[test]
fn fidogate_js_is_served_and_revalidated_on_one_connection() {
    let (app, log) = start_app();
    let gw = start_gateway(app);
    let mut conn = connect(&gw);
    let path = fidogate_core::gateway::DEFAULT_CLIENT_PATH;
    let r = exchange(
        &mut conn,
        format!("GET {path} HTTP/1.1\r\nhost: x\r\n\r\n").as_bytes(),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/javascript"));
    assert_eq!(r.body, fidogate_core::gateway::FIDOGATE_JS.as_bytes());
    let etag = r.header("etag").unwrap().to_owned();
    let r = exchange(
        &mut conn,
        format!("GET {path} HTTP/1.1\r\nhost: x\r\nif-none-match: {etag}\r\n\r\n").as_bytes(),
    );
    assert_eq!(r.status, 304);
    assert_eq!(r.header("etag"), Some(etag.as_str()));
    assert!(r.header("content-length").is_none(), "{:?}", r.headers);
    let health = exchange(&mut conn, b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n");
    assert_eq!(health.status, 200, "the connection goes on after the 304");
    assert!(log.seen().is_empty());
}

/// A gateway-issued challenge needs nothing kept in memory: options from
/// one process, the registration to its restarted successor (same secret
/// file), accepted; the same registration again, refused.
#[test]
fn a_registration_survives_a_restart_of_the_gateway() {
    let (app, log) = start_app();
    let binary = fidogate_testkit::fidogate_binary();
    let mut gw = GatewayProcess::start(&binary, &run_file(app), &[]);
    let options = post(&gw, "/attestation/options", &json!({"username": "rosa"}));
    assert_eq!(options.status, 200);
    let challenge =
        fidogate_core::b64::decode(options.json()["challenge"].as_str().unwrap()).unwrap();
    let cred =
        fidogate_testkit::webauthn::Authenticator::none(fidogate_testkit::keys::alg::ES256, 5)
            .register(RP_ID, ORIGIN, &challenge);
    gw.restart(&binary, &[]);
    let r = post(&gw, "/attestation/result", &cred);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let token = log
        .seen()
        .iter()
        .find(|s| s.path == "/attestation/result")
        .and_then(|s| s.headers.get(HEADER))
        .and_then(|h| h.to_str().ok())
        .unwrap()
        .to_owned();
    assert_eq!(verified(&gw, &token).username.as_deref(), Some("rosa"));
    let again = post(&gw, "/attestation/result", &cred);
    assert_eq!(again.status, 403);
    assert!(
        again.json()["errorMessage"]
            .as_str()
            .unwrap()
            .contains("already used")
    );
}

/// The header the app received, checked with the JWKS the gateway serves.
fn verified(gw: &GatewayProcess, token: &str) -> fidogate_core::gateway::CredentialClaims {
    let jwks = exchange(
        &mut connect(gw),
        b"GET /.well-known/fidogate/jwks.json HTTP/1.1\r\nhost: x\r\n\r\n",
    );
    let set = serde_json::from_slice(&jwks.body).unwrap();
    verify_token(
        token,
        &set,
        "fidogate",
        AUDIENCE,
        UnixTime::from_system(SystemTime::now()),
        5,
    )
    .unwrap()
}

// ------------------------------------------------------------ passkey-rs

/// A user who is always there and always verified.
struct PresentUser;

#[async_trait::async_trait]
impl passkey_authenticator::UserValidationMethod for PresentUser {
    type PasskeyItem = passkey_types::Passkey;

    async fn check_user<'a>(
        &self,
        _hint: passkey_authenticator::UiHint<'a, passkey_types::Passkey>,
        presence: bool,
        verification: bool,
    ) -> Result<passkey_authenticator::UserCheck, passkey_types::ctap2::Ctap2Error> {
        Ok(passkey_authenticator::UserCheck {
            presence,
            verification,
        })
    }

    fn is_presence_enabled(&self) -> bool {
        true
    }

    fn is_verification_enabled(&self) -> Option<bool> {
        Some(true)
    }
}

/// 1Password's passkey-rs (a client and authenticator written by others)
/// registers through the gateway from the options the gateway issued.
#[test]
fn passkey_rs_client_registers_through_the_gateway() {
    let (app, log) = start_app();
    let gw = start_gateway(app);
    let options = post(
        &gw,
        "/attestation/options",
        &json!({"username": "hana", "displayName": "Hana"}),
    )
    .json();
    let public_key: passkey_types::webauthn::PublicKeyCredentialCreationOptions =
        serde_json::from_value(options.clone()).unwrap_or_else(|e| panic!("{e}: {options}"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let created = rt.block_on(async {
        let authenticator = passkey_authenticator::Authenticator::new(
            passkey_types::ctap2::Aaguid::new_empty(),
            passkey_authenticator::MemoryStore::new(),
            PresentUser,
            passkey_crypto::AvailableBackend,
        );
        let mut client = passkey_client::Client::new(authenticator).allows_insecure_localhost(true);
        let origin = url::Url::parse(ORIGIN).unwrap();
        client
            .register(
                &origin,
                passkey_types::webauthn::CredentialCreationOptions { public_key },
                None,
            )
            .await
            .unwrap_or_else(|e| panic!("passkey-rs refused the options: {e:?}"))
    });
    let credential = serde_json::to_value(&created).unwrap();
    let r = post(&gw, "/attestation/result", &credential);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let seen = log.seen();
    let token = seen
        .iter()
        .find(|s| s.path == "/attestation/result")
        .and_then(|s| s.headers.get(HEADER))
        .and_then(|h| h.to_str().ok())
        .unwrap()
        .to_owned();
    let claims = verified(&gw, &token);
    assert_eq!(claims.username.as_deref(), Some("hana"));
    assert_eq!(
        claims.credentials[0].id,
        credential["rawId"].as_str().unwrap()
    );
    // The same registration again is a replay.
    assert_eq!(post(&gw, "/attestation/result", &credential).status, 403);
}
