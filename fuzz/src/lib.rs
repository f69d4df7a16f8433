//! What the fuzz targets and the seed generator share: the engine under a
//! fixed configuration, and the text form of the requests fed to it.
//!
//! A request is written as HTTP/1.1 text without the version:
//!
//! ```text
//! POST /attestation/result
//! content-type: application/json
//!
//! {"id": ...}
//! ```
//!
//! and several are separated by a line `=====`. What follows a line
//! `----- app` in a request is the app's answer to it, for an answer the
//! engine reads (the options of a route whose app issues challenges).

use fidogate_core::UnixTime;
use fidogate_core::gateway::{
    Dialect, EndpointConfig, Env, Gateway, GatewayConfig, GatewayKeys, MokaChallengeStore,
    RouteConfig, RpConfig, TokenSigner,
};
use fidogate_core::trust::TrustAnchors;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

/// The time the options are issued at; requests are judged a second later.
pub const T0: i64 = 1_767_225_600;

/// The gateway's signing key (for fuzzing only).
pub const GATEWAY_KEY: &str = include_str!("../gateway-key.pem");

/// The header the engine adds; clients must not send it.
pub const HEADER: &str = "x-fidogate-credential";

/// The options each route issues before the fuzzed requests, with the
/// random fill of its [`Env`]: (route's options path, body, fill).
pub const ISSUED: &[(&str, &str, u8)] = &[
    ("/attestation/options", r#"{"username":"u"}"#, 1),
    ("/_app/attestation/options", r#"{"username":"u"}"#, 2),
    ("/auth/registration/init", r#"{"username":"u"}"#, 3),
    ("/regRequest/u", r#"{"username":"u"}"#, 4),
];

/// A fresh engine with one route of every dialect at its default paths,
/// one route whose app issues the challenges (`/up/options`,
/// `/up/result`), and a fresh in-memory store.
pub fn gateway() -> Gateway {
    let rp = RpConfig {
        id: "example.com".into(),
        name: None,
        origins: vec!["https://example.com".into()],
        top_origins: vec![],
    };
    let mut up = RouteConfig::new("up", Dialect::Webauthn).upstream_challenges();
    up.options = Some(EndpointConfig {
        method: "POST".into(),
        path: "/up/options".into(),
    });
    up.result = Some(EndpointConfig {
        method: "POST".into(),
        path: "/up/result".into(),
    });
    let mut config = GatewayConfig::new(
        rp,
        vec![
            RouteConfig::new("wa", Dialect::Webauthn),
            RouteConfig::new("nv", Dialect::Nevis),
            RouteConfig::new("df", Dialect::Dfns),
            RouteConfig::new("uaf", Dialect::Uaf),
            up,
        ],
    );
    config.uaf.app_id = "https://example.com/facets".into();
    config.header_name = HEADER.into();
    let keys = GatewayKeys {
        signer: TokenSigner::from_pkcs8_pem(GATEWAY_KEY).expect("the fuzz key parses"),
        retired: vec![],
        secret: vec![9; 32],
        previous_secrets: vec![],
    };
    Gateway::new(
        config,
        keys,
        TrustAnchors::new(),
        Arc::new(MokaChallengeStore::new(64)),
    )
    .expect("the fuzz configuration is valid")
}

/// The environment of a request: `at` seconds after [`T0`], random bytes
/// all `fill`.
pub fn env(at: i64, fill: u8) -> Env {
    Env {
        now: UnixTime::from_secs(T0 + at),
        random: [fill; 48],
    }
}

/// Runs a future that the in-memory store never leaves pending for long.
pub fn ready<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

/// One request in its text form.
#[derive(Debug)]
pub struct Request<'a> {
    pub method: Method,
    pub path: &'a str,
    pub headers: HeaderMap,
    pub body: &'a [u8],
    pub app_answer: Option<&'a [u8]>,
}

/// The requests in `data` (those whose head does not parse are skipped).
pub fn requests(data: &[u8]) -> Vec<Request<'_>> {
    split(data, b"\n=====\n")
        .into_iter()
        .filter_map(request)
        .collect()
}

fn split<'a>(data: &'a [u8], sep: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some(at) = find(rest, sep) {
        out.push(&rest[..at]);
        rest = &rest[at + sep.len()..];
    }
    out.push(rest);
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn request(data: &[u8]) -> Option<Request<'_>> {
    let (head, rest) = match find(data, b"\n\n") {
        Some(at) => (&data[..at], &data[at + 2..]),
        None => (data, &b""[..]),
    };
    let (body, app_answer) = match find(rest, b"\n----- app\n") {
        Some(at) => (&rest[..at], Some(&rest[at + 11..])),
        None => (rest, None),
    };
    let head = std::str::from_utf8(head).ok()?;
    let mut lines = head.split('\n');
    let (method, path) = lines.next()?.split_once(' ')?;
    let method = Method::from_bytes(method.as_bytes()).ok()?;
    let mut headers = HeaderMap::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.trim().as_bytes()),
            HeaderValue::from_str(value.trim()),
        ) {
            headers.append(name, value);
        }
    }
    Some(Request {
        method,
        path,
        headers,
        body,
        app_answer,
    })
}
