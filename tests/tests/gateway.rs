#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]
//! The real `fidogate run` in front of an in-process mock app, over
//! loopback sockets on ports chosen at run time.

use fidogate_core::UnixTime;
use fidogate_core::b64;
use fidogate_core::gateway::verify_token;
use fidogate_testkit::keycred::{KeyCeremony, KeyClient};
use fidogate_testkit::keys::alg;
use fidogate_testkit::uaf::{UafAttestationKind, UafAuthenticator, UafCeremony};
use fidogate_testkit::webauthn::Authenticator;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

const ORIGIN: &str = "http://localhost:8080";
const HEADER: &str = "fidogate-credential";

// ------------------------------------------------------------ mock app

#[derive(Debug, Clone)]
struct Seen {
    path: String,
    headers: HashMap<String, Vec<String>>,
    body: Vec<u8>,
}

type Log = Arc<Mutex<Vec<Seen>>>;

/// The app: records every request; issues its own challenge at
/// `/app/options`; answers everything else with 200.
fn start_app() -> (SocketAddr, Log) {
    let log: Log = Arc::default();
    let l = log.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
                let l = l.clone();
                async move {
                    let (parts, body) = req.into_parts();
                    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap().to_vec();
                    let mut headers: HashMap<String, Vec<String>> = HashMap::new();
                    for (k, v) in &parts.headers {
                        headers.entry(k.as_str().to_owned()).or_default().push(v.to_str().unwrap_or("").to_owned());
                    }
                    let path = parts.uri.path().to_owned();
                    let n = {
                        let mut g = l.lock().unwrap();
                        g.push(Seen { path: path.clone(), headers, body });
                        g.len()
                    };
                    let answer = if path == "/app/options" {
                        json!({"status": "ok", "errorMessage": "", "challenge": b64::encode(format!("app challenge number {n:04}").as_bytes())})
                    } else {
                        json!({"status": "ok", "errorMessage": "", "stored": path})
                    };
                    axum::Json(answer)
                }
            });
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    (addr, log)
}

// ------------------------------------------------------------ gateway

struct Gateway {
    child: Child,
    addr: SocketAddr,
    _dir: PathBuf,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_gateway(upstream: SocketAddr) -> Gateway {
    let dir = std::env::temp_dir().join(format!(
        "fidogate-e2e-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let config = format!(
        r#"
listen: ["127.0.0.1:{port}"]
upstream: ["{upstream}"]
threads: 1
grace_period_secs: 0
gateway:
  audience: e2e
  rp: {{ id: localhost, origins: ["{ORIGIN}"] }}
  uaf: {{ app_id: "{ORIGIN}/uaf/facets", trusted_facets: ["{ORIGIN}"] }}
  routes:
    - {{ name: passkeys, dialect: webauthn }}
    - name: app-issued
      dialect: webauthn
      challenge_source: upstream
      options: {{ path: /app/options }}
      result: {{ path: /app/result }}
    - {{ name: cloud, dialect: nevis }}
    - {{ name: wallet, dialect: dfns }}
    - {{ name: uaf, dialect: uaf }}
"#
    );
    let file = dir.join("fidogate.yaml");
    std::fs::write(&file, config).unwrap();
    let child = Command::new(fidogate_testkit::fidogate_binary())
        .args(["run", "--config"])
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "the gateway did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Gateway {
        child,
        addr,
        _dir: dir,
    }
}

// ------------------------------------------------------------ client

struct Response {
    status: u16,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Response {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
}

/// One HTTP/1.1 exchange on `conn` (kept open).
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
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        conn.read_line(&mut h).unwrap();
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':').unwrap();
        headers.insert(k.to_ascii_lowercase(), v.trim().to_owned());
    }
    let mut body = Vec::new();
    if let Some(len) = headers.get("content-length") {
        body.resize(len.parse().unwrap(), 0);
        conn.read_exact(&mut body).unwrap();
    } else if headers
        .get("transfer-encoding")
        .is_some_and(|t| t.contains("chunked"))
    {
        loop {
            let mut size = String::new();
            conn.read_line(&mut size).unwrap();
            let n = usize::from_str_radix(size.trim(), 16).unwrap();
            let mut chunk = vec![0; n + 2];
            conn.read_exact(&mut chunk).unwrap();
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    }
    Response {
        status,
        headers,
        body,
    }
}

fn connect(gw: &Gateway) -> BufReader<TcpStream> {
    let s = TcpStream::connect(gw.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    BufReader::new(s)
}

fn post_on(conn: &mut BufReader<TcpStream>, path: &str, body: &str, extra: &str) -> Response {
    let req = format!(
        "POST {path} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{extra}\r\n{body}",
        body.len()
    );
    exchange(conn, req.as_bytes())
}

fn post(gw: &Gateway, path: &str, body: &Value) -> Response {
    post_on(&mut connect(gw), path, &body.to_string(), "")
}

fn challenge(options: &Value) -> Vec<u8> {
    b64::decode(options["challenge"].as_str().unwrap()).unwrap()
}

fn seen_at(log: &Log, path: &str) -> Vec<Seen> {
    log.lock()
        .unwrap()
        .iter()
        .filter(|s| s.path == path)
        .cloned()
        .collect()
}

/// The header the app received, checked with the JWKS the gateway serves.
fn verified(gw: &Gateway, seen: &Seen) -> fidogate_core::gateway::CredentialClaims {
    let values = seen
        .headers
        .get(HEADER)
        .expect("the verified-credential header");
    assert_eq!(values.len(), 1);
    let jwks = exchange(
        &mut connect(gw),
        b"GET /.well-known/fidogate/jwks.json HTTP/1.1\r\nhost: x\r\n\r\n",
    );
    let set = serde_json::from_slice(&jwks.body).unwrap();
    verify_token(
        &values[0],
        &set,
        "fidogate",
        "e2e",
        UnixTime::from_system(SystemTime::now()),
        5,
    )
    .unwrap()
}

// ------------------------------------------------------------ tests

#[test]
fn every_dialect_end_to_end_over_sockets() {
    let (app, log) = start_app();
    let gw = start_gateway(app);

    // webauthn, gateway-issued; a spoofed copy of the header is dropped.
    let o = post(&gw, "/attestation/options", &json!({"username": "alice"}));
    assert_eq!(o.status, 200);
    let cred = Authenticator::packed_self(alg::ES256, 1)
        .register("localhost", ORIGIN, &challenge(&o.json()))
        .to_string();
    let r = post_on(
        &mut connect(&gw),
        "/attestation/result",
        &cred,
        "Fidogate-Credential: forged\r\nfidogate_credential: forged\r\n",
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let seen = seen_at(&log, "/attestation/result");
    assert_eq!(
        seen[0].body,
        cred.as_bytes(),
        "the body reaches the app unchanged"
    );
    assert!(!seen[0].headers.contains_key("fidogate_credential"));
    let claims = verified(&gw, &seen[0]);
    assert_eq!(
        (claims.username.as_deref(), claims.dialect.as_str()),
        (Some("alice"), "webauthn")
    );

    // webauthn, app-issued: the app's options answer comes back as written.
    let o = post(&gw, "/app/options", &json!({"username": "bob"}));
    assert_eq!(o.status, 200);
    assert_eq!(seen_at(&log, "/app/options").len(), 1);
    let cred =
        Authenticator::none(alg::ES256, 2).register("localhost", ORIGIN, &challenge(&o.json()));
    assert_eq!(post(&gw, "/app/result", &cred).status, 200);
    assert_eq!(
        verified(&gw, &seen_at(&log, "/app/result")[0])
            .username
            .as_deref(),
        Some("bob")
    );

    // nevis: the client gets the token the app got.
    let o = post(
        &gw,
        "/_app/attestation/options",
        &json!({"username": "carol"}),
    );
    let cred =
        Authenticator::none(alg::ES256, 3).register("localhost", ORIGIN, &challenge(&o.json()));
    let r = post(&gw, "/_app/attestation/result", &cred);
    assert_eq!(r.status, 200);
    let seen = seen_at(&log, "/_app/attestation/result");
    assert_eq!(r.json()["token"], seen[0].headers[HEADER][0]);
    assert_eq!(r.json()["status"], "ok");

    // dfns: a key credential.
    let o = post(&gw, "/auth/registration/init", &json!({"username": "dan"}));
    let key = KeyClient::new(alg::ES256, 4);
    let req = json!({"firstFactorCredential": key.credential("Key", &KeyCeremony::new(&challenge(&o.json()), ORIGIN))});
    assert_eq!(post(&gw, "/auth/registration", &req).status, 200);
    assert_eq!(
        verified(&gw, &seen_at(&log, "/auth/registration")[0]).protocol,
        "key"
    );

    // uaf.
    let env = post(&gw, "/regRequest/erin", &json!({})).json();
    let m = &env["message"][0];
    let c = UafCeremony::new(
        &format!("{ORIGIN}/uaf/facets"),
        m["challenge"].as_str().unwrap(),
        ORIGIN,
        m["header"]["serverData"].as_str().unwrap(),
    );
    let body = UafAuthenticator::new(
        "ABCD#0001",
        alg::ES256,
        5,
        UafAttestationKind::BasicSurrogate,
    )
    .register(&c);
    let r = post(&gw, "/regResponse", &body);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        verified(&gw, &seen_at(&log, "/regResponse")[0]).protocol,
        "uaf"
    );

    // Replays never reach the app.
    assert_eq!(post(&gw, "/regResponse", &body).status, 403);
    assert_eq!(seen_at(&log, "/regResponse").len(), 1);
}

#[test]
fn rejections_limits_keepalive_and_chunked_bodies() {
    let (app, log) = start_app();
    let gw = start_gateway(app);
    let mut conn = connect(&gw);
    // A rejected registration, then a pass-through request on the same connection.
    let r = post_on(&mut conn, "/attestation/result", "{\"id\":\"x\"}", "");
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["status"], "failed");
    let r = exchange(
        &mut conn,
        b"GET /profile HTTP/1.1\r\nhost: x\r\nfidogate-credential: forged\r\n\r\n",
    );
    assert_eq!(r.status, 200, "the connection is still usable");
    let seen = seen_at(&log, "/profile");
    assert!(!seen[0].headers.contains_key(HEADER));
    assert!(seen_at(&log, "/attestation/result").is_empty());

    // A chunked registration.
    let o = post(&gw, "/attestation/options", &json!({"username": "fay"}));
    let cred = Authenticator::none(alg::ES256, 6)
        .register("localhost", ORIGIN, &challenge(&o.json()))
        .to_string();
    let mut req =
        b"POST /attestation/result HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n"
            .to_vec();
    for chunk in cred.as_bytes().chunks(200) {
        req.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        req.extend_from_slice(chunk);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    let r = exchange(&mut connect(&gw), &req);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        seen_at(&log, "/attestation/result")[0].body,
        cred.as_bytes()
    );

    // Over the limit: 413, by Content-Length and by a chunked body.
    let big = "x".repeat(70_000);
    let r = post_on(&mut connect(&gw), "/regResponse", &big, "");
    assert_eq!(r.status, 413);
    assert_eq!(r.json()["code"], 413);
    let mut req =
        b"POST /attestation/result HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n"
            .to_vec();
    for _ in 0..20 {
        req.extend_from_slice(format!("{:x}\r\n{}\r\n", 4096, "y".repeat(4096)).as_bytes());
    }
    req.extend_from_slice(b"0\r\n\r\n");
    assert_eq!(exchange(&mut connect(&gw), &req).status, 413);
    assert_eq!(seen_at(&log, "/attestation/result").len(), 1);
    assert!(seen_at(&log, "/regResponse").is_empty());
}

#[test]
fn app_down_is_502_in_the_dialect_shape() {
    let dead: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let gw = start_gateway(dead);
    let o = post(&gw, "/attestation/options", &json!({"username": "gus"}));
    let cred =
        Authenticator::none(alg::ES256, 7).register("localhost", ORIGIN, &challenge(&o.json()));
    let r = post(&gw, "/attestation/result", &cred);
    assert_eq!(r.status, 502);
    assert_eq!(r.json()["status"], "failed");
    let r = post(&gw, "/app/options", &json!({"username": "gus"}));
    assert_eq!(r.status, 502);
    assert_eq!(r.json()["status"], "failed");
    let health = exchange(
        &mut connect(&gw),
        b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n",
    );
    assert_eq!(health.status, 200);
    let _ = r.headers;
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
    let seen = seen_at(&log, "/attestation/result");
    let claims = verified(&gw, &seen[0]);
    assert_eq!(claims.username.as_deref(), Some("hana"));
    assert_eq!(
        claims.credentials[0].id,
        credential["rawId"].as_str().unwrap()
    );
    // The same registration again is a replay.
    assert_eq!(post(&gw, "/attestation/result", &credential).status, 403);
}
