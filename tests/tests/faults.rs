#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]
//! Faults, each answered cleanly by the real `fidogate run`: an app slower
//! than `upstream_timeout_secs` (504), an app that closes mid-answer or
//! answers what is not HTTP (502), in the dialect's shape on intercepted
//! routes; a client that stalls its body past `body_read_timeout_secs` or
//! its head past the read timeout (the connection closed, nothing
//! forwarded); a challenge store that stops answering (503, nothing
//! forwarded). The app here is a raw socket that misbehaves on purpose.

use fidogate_testkit::keys::alg;
use fidogate_testkit::webauthn::Authenticator;
use fidogate_tests::HEADER;
use fidogate_tests::config::{ORIGIN, RP_ID, run_file, run_file_with};
use fidogate_tests::process::GatewayProcess;
use fidogate_tests::redis::{self, RedisServer};
use fidogate_tests::scenario::Answer;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the raw app received: each request's path and whether it carried
/// the gateway's header.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<(String, bool)>>>);

impl Seen {
    fn paths(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(p, _)| p.clone())
            .collect()
    }
}

/// Reads one request head and its Content-Length body; `None` when the
/// gateway closed first.
fn read_request(conn: &mut TcpStream) -> Option<(String, String)> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match conn.read(&mut byte) {
            Ok(1) => buf.push(byte[0]),
            _ => return None,
        }
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let len = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0; len];
    conn.read_exact(&mut body).ok()?;
    let path = head.split(' ').nth(1).unwrap_or("").to_owned();
    Some((path, head))
}

/// The misbehaving app: by the path it is asked for, it sleeps past the
/// gateway's upstream timeout (`slow`), cuts its answer short (`cut`),
/// answers what is not HTTP (`garbage`), or answers 200.
fn start_raw_app() -> (SocketAddr, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Seen::default();
    let log = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let log = log.clone();
            std::thread::spawn(move || {
                while let Some((path, head)) = read_request(&mut conn) {
                    let verified = head
                        .to_ascii_lowercase()
                        .contains(&format!("\r\n{HEADER}:"));
                    log.0.lock().unwrap().push((path.clone(), verified));
                    let answer: &[u8] = if path.contains("slow") {
                        std::thread::sleep(Duration::from_secs(4));
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"
                    } else if path.contains("cut") {
                        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n{\"status\":\"ok\",\"chall"
                    } else if path.contains("garbage") {
                        b"SSH-2.0-OpenSSH_9.6\r\n\r\n\x00\x01\x02"
                    } else {
                        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"
                    };
                    if conn.write_all(answer).is_err() {
                        return;
                    }
                    if path.contains("cut") || path.contains("garbage") {
                        return;
                    }
                }
            });
        }
    });
    (addr, seen)
}

/// The scenarios' file, with short timeouts and routes whose app issues
/// the challenges at the misbehaving paths.
fn config(app: SocketAddr, redis: Option<&str>) -> String {
    let base = match redis {
        Some(url) => run_file_with(app, Some(url), ""),
        None => run_file(app),
    };
    let routes = ["slow", "cut", "garbage"]
        .iter()
        .map(|m| {
            format!(
                "    - name: {m}-app\n      dialect: webauthn\n      challenge_source: upstream\n      options: {{ path: /{m}/options }}\n      result: {{ path: /{m}/result }}\n"
            )
        })
        .collect::<String>();
    base.replace(
        "body_read_timeout_secs: 10\n",
        "body_read_timeout_secs: 1\nupstream_timeout_secs: 1\n",
    ) + &routes
}

/// One request on a fresh connection (`connection: close`), read to its
/// end; the status 0 when the gateway closed without an answer.
fn send(gw: SocketAddr, method: &str, path: &str, body: &[u8]) -> Answer {
    let mut conn = TcpStream::connect(gw).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: gw\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).unwrap();
    conn.write_all(body).unwrap();
    let mut all = Vec::new();
    let _ = conn.read_to_end(&mut all);
    let Some(end) = all.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Answer {
            status: 0,
            headers: Vec::new(),
            body: all,
        };
    };
    let status = String::from_utf8_lossy(&all[..end])
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Answer {
        status,
        headers: Vec::new(),
        body: all[end + 4..].to_vec(),
    }
}

fn registration(gw: SocketAddr, seed: u64) -> Value {
    let o = send(gw, "POST", "/attestation/options", br#"{"username":"u"}"#);
    assert_eq!(o.status, 200);
    Authenticator::none(alg::ES256, seed).register(RP_ID, ORIGIN, &o.challenge())
}

fn refused_in_webauthn_shape(a: &Answer, status: u16, says: &str) {
    assert_eq!(a.status, status, "{}", String::from_utf8_lossy(&a.body));
    let j = a.json();
    assert_eq!(j["status"], "failed", "{j}");
    let message = j["errorMessage"].as_str().unwrap_or_default();
    assert!(message.contains(says), "{says:?} not in {message:?}");
}

#[test]
fn a_misbehaving_app_is_answered_in_the_dialects_shape() {
    let (app, seen) = start_raw_app();
    let gw = GatewayProcess::start(
        &fidogate_testkit::fidogate_binary(),
        &config(app, None),
        &[],
    );
    // Pass-through: 504 past the upstream timeout, 502 for a cut or
    // garbled answer (a cut one may already have its head sent: then the
    // connection is closed short of the promised length).
    let started = Instant::now();
    let slow = send(gw.addr, "GET", "/slow/page", b"");
    assert_eq!(slow.status, 504, "{}", String::from_utf8_lossy(&slow.body));
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the gateway waited for the app"
    );
    assert_eq!(send(gw.addr, "GET", "/garbage/page", b"").status, 502);
    let cut = send(gw.addr, "GET", "/cut/page", b"");
    assert!(
        cut.status == 502 || (cut.status == 200 && cut.body.len() < 500),
        "a cut answer was passed on as whole: {} {} bytes",
        cut.status,
        cut.body.len()
    );

    // The options of a route whose app issues challenges: the gateway must
    // read the answer, and refuses in the dialect's shape.
    let started = Instant::now();
    let o = send(gw.addr, "POST", "/slow/options", br#"{"username":"u"}"#);
    refused_in_webauthn_shape(&o, 504, "did not answer in time");
    assert!(started.elapsed() < Duration::from_secs(4));
    let o = send(gw.addr, "POST", "/cut/options", br#"{"username":"u"}"#);
    refused_in_webauthn_shape(&o, 502, "");
    let o = send(gw.addr, "POST", "/garbage/options", br#"{"username":"u"}"#);
    refused_in_webauthn_shape(&o, 502, "");

    // A verified registration forwarded to an app that is too slow: 504 in
    // the dialect's shape, and the challenge stays spent (the app got it;
    // the client must start again).
    let cred = registration(gw.addr, 1);
    let before = seen.paths().len();
    let r = send(
        gw.addr,
        "POST",
        "/attestation/result",
        cred.to_string().as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(seen.paths().len(), before + 1);
    let log = seen.0.lock().unwrap().clone();
    assert!(
        log.iter()
            .all(|(path, verified)| !path.ends_with("/result") || *verified),
        "a result reached the app without the header: {log:?}"
    );
}

#[test]
fn a_verified_registration_to_an_app_slower_than_the_timeout_is_a_504() {
    let (app, seen) = start_raw_app();
    // Every upstream path is slow for this gateway's default route: the
    // registration is verified, forwarded, and the app never answers in time.
    let file = config(app, None).replace(
        "    - { name: webauthn, dialect: webauthn }\n",
        "    - name: webauthn\n      dialect: webauthn\n      result: { path: /slow-result }\n",
    );
    let gw = GatewayProcess::start(&fidogate_testkit::fidogate_binary(), &file, &[]);
    let cred = registration(gw.addr, 2);
    let started = Instant::now();
    let r = send(gw.addr, "POST", "/slow-result", cred.to_string().as_bytes());
    refused_in_webauthn_shape(&r, 504, "did not answer in time");
    assert!(started.elapsed() < Duration::from_secs(4));
    assert_eq!(
        seen.0.lock().unwrap().clone(),
        [("/slow-result".to_owned(), true)]
    );
    // The challenge was spent by the verification: sending it again is a replay.
    let again = send(gw.addr, "POST", "/slow-result", cred.to_string().as_bytes());
    refused_in_webauthn_shape(&again, 403, "already used");
    assert_eq!(seen.paths().len(), 1, "the replay was not forwarded");
}

#[test]
fn a_client_that_stalls_its_body_or_its_head_is_cut_off_and_nothing_is_forwarded() {
    let (app, seen) = start_raw_app();
    let gw = GatewayProcess::start(
        &fidogate_testkit::fidogate_binary(),
        &config(app, None),
        &[],
    );
    let cred = registration(gw.addr, 3).to_string();
    // The body: half of it, then nothing, past body_read_timeout_secs (1 s).
    let mut conn = TcpStream::connect(gw.addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let head = format!(
        "POST /attestation/result HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        cred.len()
    );
    conn.write_all(head.as_bytes()).unwrap();
    conn.write_all(&cred.as_bytes()[..cred.len() / 2]).unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let _ = conn.read_to_end(&mut answer);
    let waited = started.elapsed();
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("\"status\":\"failed\""), "{text}");
    assert!(waited < Duration::from_secs(5), "closed after {waited:?}");
    // The rest of the body, late, goes nowhere: the connection is closed.
    let _ = conn.write_all(&cred.as_bytes()[cred.len() / 2..]);
    // The same registration, whole and in time, still goes through: the
    // stalled one spent nothing.
    let r = send(gw.addr, "POST", "/attestation/result", cred.as_bytes());
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(seen.paths(), ["/attestation/result"]);

    // The head: a part of it, then nothing. Pingora closes a connection
    // whose read waits past its 60 s read timeout.
    let mut conn = TcpStream::connect(gw.addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(90)))
        .unwrap();
    conn.write_all(b"POST /attestation/result HTTP/1.1\r\nhost: gw\r\ncontent-le")
        .unwrap();
    let started = Instant::now();
    let mut rest = Vec::new();
    let _ = conn.read_to_end(&mut rest);
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_secs(75),
        "a stalled head kept its connection {waited:?}"
    );
    assert!(
        !String::from_utf8_lossy(&rest).contains(" 200 "),
        "answered a stalled head"
    );
    assert_eq!(
        seen.paths(),
        ["/attestation/result"],
        "the stalled head reached the app"
    );
}

#[test]
fn a_challenge_store_that_stops_answering_is_a_503_and_nothing_is_forwarded() {
    if !redis::available() {
        eprintln!("SKIPPED: redis-server is not installed");
        return;
    }
    let store = RedisServer::start();
    let (app, seen) = start_raw_app();
    let gw = GatewayProcess::start(
        &fidogate_testkit::fidogate_binary(),
        &config(app, Some(&store.url())),
        &[],
    );
    let cred = registration(gw.addr, 4);
    // Redis stops answering (SIGSTOP): the store's calls time out.
    store.pause();
    let started = Instant::now();
    let r = send(
        gw.addr,
        "POST",
        "/attestation/result",
        cred.to_string().as_bytes(),
    );
    let waited = started.elapsed();
    store.resume();
    refused_in_webauthn_shape(&r, 503, "");
    assert!(waited < Duration::from_secs(5), "answered after {waited:?}");
    assert!(
        seen.paths().is_empty(),
        "forwarded while the store was away"
    );
    // Redis answers again (the write that timed out may still land, so
    // the registration it carried may count as used): fresh registrations
    // go through, without a restart.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seed = 10;
    loop {
        seed += 1;
        let cred = registration(gw.addr, seed);
        let r = send(
            gw.addr,
            "POST",
            "/attestation/result",
            cred.to_string().as_bytes(),
        );
        if r.status == 200 {
            break;
        }
        assert_eq!(r.status, 503, "{}", String::from_utf8_lossy(&r.body));
        assert!(Instant::now() < deadline, "still 503 after Redis came back");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(seen.paths(), ["/attestation/result"]);
}
