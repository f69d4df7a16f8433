#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]
//! `fidogate run` with a TLS listener (a certificate made by rcgen for
//! this run): registrations over HTTP/1.1 and HTTP/2 chosen by ALPN with a
//! rustls client, a replay refused over HTTP/2, the body limit over
//! HTTP/2, the app receiving exactly one header that verifies.

use bytes::Bytes;
use fidogate_core::b64;
use fidogate_testkit::certs::{root_ca, tls_server};
use fidogate_testkit::keys::{SigningKey, alg};
use fidogate_testkit::webauthn::Authenticator;
use fidogate_tests::HEADER;
use fidogate_tests::app::{AppLog, spawn};
use fidogate_tests::config::{ORIGIN, RP_ID, run_file};
use fidogate_tests::process::GatewayProcess;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;

/// A TLS connection to `addr` trusting `ca` only, offering `alpn`.
async fn connect(
    addr: SocketAddr,
    ca: &[u8],
    alpn: &[u8],
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(ca) {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![alpn.to_vec()];
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(alpn), "ALPN");
    tls
}

enum Sender {
    H1(hyper::client::conn::http1::SendRequest<Full<Bytes>>),
    H2(hyper::client::conn::http2::SendRequest<Full<Bytes>>),
}

impl Sender {
    async fn open(addr: SocketAddr, ca: &[u8], h2: bool) -> Self {
        let io = TokioIo::new(connect(addr, ca, if h2 { b"h2" } else { b"http/1.1" }).await);
        if h2 {
            let (s, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                .await
                .unwrap();
            tokio::spawn(conn);
            Self::H2(s)
        } else {
            let (s, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
            tokio::spawn(conn);
            Self::H1(s)
        }
    }

    async fn post(&mut self, path: &str, body: Vec<u8>) -> (u16, Value, http::Version) {
        self.post_with(path, body, &[]).await
    }

    async fn post_with(
        &mut self,
        path: &str,
        body: Vec<u8>,
        extra: &[(&str, &str)],
    ) -> (u16, Value, http::Version) {
        let h2 = matches!(self, Self::H2(_));
        let mut req = http::Request::builder()
            .method("POST")
            .uri(if h2 {
                format!("https://127.0.0.1{path}")
            } else {
                path.to_owned()
            })
            .header("content-type", "application/json");
        if !h2 {
            req = req.header("host", "127.0.0.1");
        }
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        let req = req.body(Full::new(Bytes::from(body))).unwrap();
        // A connection is ready for the next request only once its task has
        // taken in the last answer's end; `send_request` without waiting
        // for that is refused ("connection was not ready").
        let resp = match self {
            Self::H1(s) => {
                s.ready().await.expect("connection kept open");
                s.send_request(req).await.unwrap()
            }
            Self::H2(s) => {
                s.ready().await.expect("connection kept open");
                s.send_request(req).await.unwrap()
            }
        };
        let status = resp.status().as_u16();
        let version = resp.version();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
        (status, json, version)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registrations_over_http1_and_http2_on_a_tls_listener() {
    let dir = std::env::temp_dir().join(format!("fidogate-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let ca = root_ca("fidogate test TLS CA", SigningKey::generate(alg::ES256, 90));
    let (server, key) = tls_server(&["127.0.0.1", "localhost"], 91, &ca);
    let (cert_file, key_file) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_file, server.pem()).unwrap();
    std::fs::write(&key_file, key).unwrap();
    let log = AppLog::default();
    let app = spawn(log.clone());
    let config = run_file(app).replace(
        "listen: [\"127.0.0.1:0\"]",
        &format!(
            "listen:\n  - address: \"127.0.0.1:0\"\n    tls: {{ cert_file: \"{}\", key_file: \"{}\" }}",
            cert_file.display(),
            key_file.display()
        ),
    );
    let gw = GatewayProcess::start(&fidogate_testkit::fidogate_binary(), &config, &[]);
    let ca = ca.pem().into_bytes();

    let mut replays = Vec::new();
    for (h2, user, seed) in [(false, "ana", 92), (true, "bea", 93)] {
        let mut s = Sender::open(gw.addr, &ca, h2).await;
        let body = serde_json::to_vec(&json!({"username": user, "displayName": user})).unwrap();
        let (status, options, version) = s.post("/attestation/options", body).await;
        assert_eq!(status, 200, "options over {version:?}: {options}");
        assert_eq!(
            version,
            if h2 {
                http::Version::HTTP_2
            } else {
                http::Version::HTTP_11
            }
        );
        let challenge = b64::decode(options["challenge"].as_str().unwrap()).unwrap();
        let cred = Authenticator::none(alg::ES256, seed).register(RP_ID, ORIGIN, &challenge);
        let (status, answer, _) = s
            .post("/attestation/result", cred.to_string().into_bytes())
            .await;
        assert_eq!(status, 200, "result over {version:?}: {answer}");
        replays.push(cred);
    }
    // A replay over HTTP/2 is refused, and so is a body past the limit.
    let mut s = Sender::open(gw.addr, &ca, true).await;
    let (status, answer, _) = s
        .post("/attestation/result", replays[1].to_string().into_bytes())
        .await;
    assert_eq!(status, 403, "{answer}");
    assert!(
        answer["errorMessage"]
            .as_str()
            .unwrap_or_default()
            .contains("already used"),
        "{answer}"
    );
    let (status, answer, _) = s.post("/attestation/result", vec![b' '; 70 * 1024]).await;
    assert_eq!(status, 413, "{answer}");

    // A client's own copy of the header (lower-case, as HTTP/2 sends every
    // name) never reaches the app, on a pass-through path either.
    let (status, _, _) = s
        .post_with("/pass/h2", b"{}".to_vec(), &[(HEADER, "forged")])
        .await;
    assert_eq!(status, 200);
    let pass: Vec<_> = log
        .seen()
        .into_iter()
        .filter(|s| s.path == "/pass/h2")
        .collect();
    assert_eq!(pass.len(), 1);
    assert!(
        pass[0].headers.get(HEADER).is_none(),
        "{:?}",
        pass[0].headers
    );

    // The app received the two registrations, each with one header, and
    // nothing else of the refused ones.
    let results: Vec<_> = log
        .seen()
        .into_iter()
        .filter(|s| s.path == "/attestation/result")
        .collect();
    assert_eq!(results.len(), 2);
    for r in &results {
        assert_eq!(r.headers.get_all(HEADER).iter().count(), 1);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A TLS front for the plain app at `app`, with this certificate and key
/// (PEM): what an app served over TLS looks like to the gateway.
async fn tls_front(app: SocketAddr, cert: &str, key: &str) -> SocketAddr {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_slice_iter(cert.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(tcp).await
                    && let Ok(mut plain) = tokio::net::TcpStream::connect(app).await
                {
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                }
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registrations_reach_an_app_served_over_tls() {
    use fidogate_tests::client::send;
    use fidogate_tests::scenario::Req;
    let dir = std::env::temp_dir().join(format!("fidogate-upstream-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let ca = root_ca("fidogate app CA", SigningKey::generate(alg::ES256, 94));
    let (server, key) = tls_server(&["app.internal"], 95, &ca);
    let ca_file = dir.join("app-ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let log = AppLog::default();
    let front = tls_front(spawn(log.clone()), &server.pem(), &key).await;
    let start = |sni: &str| {
        let config = format!(
            "upstream_tls: {{ sni: {sni}, ca_file: \"{}\" }}\n{}",
            ca_file.display(),
            run_file(front)
        );
        GatewayProcess::start(&fidogate_testkit::fidogate_binary(), &config, &[])
    };
    let gw = start("app.internal");

    // A gateway-issued challenge: the verified registration goes over TLS.
    let options = send(
        gw.addr,
        &Req::json("/attestation/options", &json!({"username": "ida"})),
    )
    .await;
    assert_eq!(options.status, 200);
    let cred = Authenticator::none(alg::ES256, 96).register(RP_ID, ORIGIN, &options.challenge());
    let result = send(gw.addr, &Req::json("/attestation/result", &cred)).await;
    assert_eq!(result.status, 200, "{}", result.json());
    // An app-issued challenge: the gateway's own request goes over TLS too.
    let options = send(
        gw.addr,
        &Req::json("/app/webauthn/options", &json!({"username": "ida"})),
    )
    .await;
    assert_eq!(options.status, 200, "{}", options.json());
    let cred = Authenticator::none(alg::ES256, 97).register(RP_ID, ORIGIN, &options.challenge());
    let result = send(gw.addr, &Req::json("/app/webauthn/result", &cred)).await;
    assert_eq!(result.status, 200, "{}", result.json());
    let pass = send(gw.addr, &Req::bare("GET", "/pass/tls")).await;
    assert_eq!(pass.status, 200);
    let paths: Vec<String> = log.seen().into_iter().map(|s| s.path).collect();
    for want in [
        "/attestation/result",
        "/app/webauthn/options",
        "/app/webauthn/result",
        "/pass/tls",
    ] {
        assert!(paths.iter().any(|p| p == want), "{want} not in {paths:?}");
    }

    // A name the app's certificate does not carry: nothing reaches it.
    let before = log.seen().len();
    let wrong = start("other.internal");
    let pass = send(wrong.addr, &Req::bare("GET", "/pass/tls")).await;
    assert_eq!(pass.status, 502);
    let options = send(
        wrong.addr,
        &Req::json("/app/webauthn/options", &json!({"username": "ida"})),
    )
    .await;
    assert_eq!(options.status, 502, "{}", options.json());
    assert_eq!(
        log.seen().len(),
        before,
        "the app was reached without a valid certificate"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
