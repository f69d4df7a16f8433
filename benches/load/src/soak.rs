//! `gateway-load soak --minutes N`: a mixed load on 127.0.0.1 for N
//! minutes through `fidogate run` and, at the same time and separately,
//! through an axum app behind the tower layer. Every answer is checked
//! against what it must be; the app checks every request it receives (a
//! registration must carry a header that verifies with the gateway's
//! JWKS, no other request may carry the header at all); the process under
//! test's resident memory and open descriptors are sampled every 10 s.
//! Writes soak.csv, soak.md and soak.png into `--out`.

use crate::cli::RunArgs;
use crate::client::post_body;
use crate::process::{Harness, Proc, free_port};
use crate::roles::{self, HEADER};
use crate::{OPTIONS, ORIGIN, PASS, RESULT, RP, Res, procfs, report};
use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use bytes::Bytes;
use fidogate_core::UnixTime;
use fidogate_core::b64;
use fidogate_core::gateway::verify_token;
use fidogate_testkit::keycred::fido2_credential;
use fidogate_testkit::keys::alg;
use fidogate_testkit::uaf::{UafAttestationKind, UafAuthenticator, UafCeremony};
use fidogate_testkit::webauthn::{Authenticator, attestation_root};
use fidogate_tower::FidogateLayer;
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The AppID of the soak's UAF route; its facet is the origin.
const UAF_APP_ID: &str = "https://example.com/uaf/facets";

/// The dialects the soak registers in, in turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    Webauthn,
    Nevis,
    Dfns,
    Uaf,
}

const DIALECTS: [Dialect; 4] = [
    Dialect::Webauthn,
    Dialect::Nevis,
    Dialect::Dfns,
    Dialect::Uaf,
];

impl Dialect {
    fn name(self) -> &'static str {
        match self {
            Self::Webauthn => "webauthn",
            Self::Nevis => "nevis",
            Self::Dfns => "dfns",
            Self::Uaf => "uaf",
        }
    }

    /// The default options and result paths of the dialect's route.
    fn paths(self) -> (&'static str, &'static str) {
        match self {
            Self::Webauthn => (OPTIONS, RESULT),
            Self::Nevis => ("/_app/attestation/options", "/_app/attestation/result"),
            Self::Dfns => ("/auth/registration/init", "/auth/registration"),
            Self::Uaf => ("/regRequest", "/regResponse"),
        }
    }
}

/// The routes the soak adds to the harness's one, in YAML.
const EXTRA_ROUTES: &str = "    - { name: nevis, dialect: nevis }\n    - { name: dfns, dialect: dfns }\n    - { name: uaf, dialect: uaf }\n";

/// The harness's engine configuration with a route of every dialect.
fn soak_config() -> fidogate_core::gateway::GatewayConfig {
    use fidogate_core::gateway::{Dialect as D, RouteConfig};
    let mut config = roles::gateway_config();
    config.routes.push(RouteConfig::new("nevis", D::Nevis));
    config.routes.push(RouteConfig::new("dfns", D::Dfns));
    config.routes.push(RouteConfig::new("uaf", D::Uaf));
    config.uaf.app_id = UAF_APP_ID.into();
    config
}

/// The value a client puts in its own copy of the header.
const SPOOF: &str = "forged-by-the-client";
/// How often memory and descriptors are sampled.
const SAMPLE: Duration = Duration::from_secs(10);
/// The longest any one action may take before it counts as unexpected.
const ACTION_TIMEOUT: Duration = Duration::from_secs(30);

// ---- the app ---------------------------------------------------------------

/// What the soak app saw; `GET /soak/counters` answers it as JSON.
#[derive(Default)]
struct AppCounters {
    requests: AtomicU64,
    verified: AtomicU64,
    /// A registration whose header is missing or does not verify.
    unverified: AtomicU64,
    /// Any other request carrying the header.
    client_copies: AtomicU64,
    /// A POST /pass body that is not the whole body the client sends.
    cut_bodies: AtomicU64,
}

#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
struct AppFigures {
    requests: u64,
    verified: u64,
    unverified: u64,
    client_copies: u64,
    cut_bodies: u64,
}

struct AppState {
    counters: AppCounters,
    /// The gateway's JWKS: given (the layer's, in process) or read from
    /// the file the orchestrator writes once `fidogate run` answers.
    jwks: OnceLock<jsonwebtoken::jwk::JwkSet>,
    jwks_file: Option<PathBuf>,
    issuer: String,
    audience: String,
}

impl AppState {
    fn jwks(&self) -> Option<&jsonwebtoken::jwk::JwkSet> {
        if let Some(set) = self.jwks.get() {
            return Some(set);
        }
        let bytes = std::fs::read(self.jwks_file.as_ref()?).ok()?;
        let set = serde_json::from_slice(&bytes).ok()?;
        Some(self.jwks.get_or_init(|| set))
    }

    fn figures(&self) -> AppFigures {
        let c = &self.counters;
        AppFigures {
            requests: c.requests.load(Ordering::Relaxed),
            verified: c.verified.load(Ordering::Relaxed),
            unverified: c.unverified.load(Ordering::Relaxed),
            client_copies: c.client_copies.load(Ordering::Relaxed),
            cut_bodies: c.cut_bodies.load(Ordering::Relaxed),
        }
    }
}

fn soak_router(state: Arc<AppState>) -> Router {
    let pass_get = {
        let s = state.clone();
        move |headers: HeaderMap| {
            let s = s.clone();
            async move {
                s.counters.requests.fetch_add(1, Ordering::Relaxed);
                if headers.contains_key(HEADER) {
                    s.counters.client_copies.fetch_add(1, Ordering::Relaxed);
                }
                roles::ANSWER
            }
        }
    };
    let pass_post = {
        let s = state.clone();
        move |headers: HeaderMap, body: Bytes| {
            let s = s.clone();
            async move {
                s.counters.requests.fetch_add(1, Ordering::Relaxed);
                if headers.contains_key(HEADER) {
                    s.counters.client_copies.fetch_add(1, Ordering::Relaxed);
                }
                if body != post_body() {
                    s.counters.cut_bodies.fetch_add(1, Ordering::Relaxed);
                    return (StatusCode::BAD_REQUEST, "not the body sent");
                }
                (StatusCode::OK, roles::ANSWER)
            }
        }
    };
    let result = {
        let s = state.clone();
        move |headers: HeaderMap, _body: Bytes| {
            let s = s.clone();
            async move {
                s.counters.requests.fetch_add(1, Ordering::Relaxed);
                let values: Vec<_> = headers.get_all(HEADER).iter().collect();
                let now = SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
                let ok = match (values.as_slice(), s.jwks()) {
                    ([one], Some(jwks)) => one.to_str().ok().is_some_and(|t| {
                        verify_token(t, jwks, &s.issuer, &s.audience, UnixTime::from_secs(now), 5)
                            .is_ok()
                    }),
                    _ => false,
                };
                if ok {
                    s.counters.verified.fetch_add(1, Ordering::Relaxed);
                    (StatusCode::OK, r#"{"status":"ok","errorMessage":""}"#)
                } else {
                    s.counters.unverified.fetch_add(1, Ordering::Relaxed);
                    (StatusCode::FORBIDDEN, r#"{"status":"failed"}"#)
                }
            }
        }
    };
    let counters = move || {
        let s = state.clone();
        async move { serde_json::to_string(&s.figures()).unwrap_or_default() }
    };
    Router::new()
        .route(PASS, get(pass_get).post(pass_post))
        .route(RESULT, post(result.clone()))
        .route(Dialect::Nevis.paths().1, post(result.clone()))
        .route(Dialect::Dfns.paths().1, post(result.clone()))
        .route(Dialect::Uaf.paths().1, post(result))
        .route("/soak/counters", get(counters))
}

/// The soak app on `listen`: bare (behind `fidogate run`, its JWKS read
/// from `jwks_file`) or behind the tower layer.
pub(crate) fn serve_soak_app(
    listen: SocketAddr,
    layer: bool,
    jwks_file: Option<PathBuf>,
) -> Res<()> {
    let config = soak_config();
    let mut state = AppState {
        counters: AppCounters::default(),
        jwks: OnceLock::new(),
        jwks_file,
        issuer: config.issuer.clone(),
        audience: config.audience.clone(),
    };
    let gateway = if layer {
        let gateway = roles::layer_gateway(78, soak_config())?;
        let set: jsonwebtoken::jwk::JwkSet =
            serde_json::from_slice(gateway.jwks()).map_err(|e| format!("jwks: {e}"))?;
        state.jwks = OnceLock::from(set);
        Some(gateway)
    } else {
        None
    };
    let router = soak_router(Arc::new(state));
    let router = match gateway {
        Some(g) => router.layer(FidogateLayer::new(g)),
        None => router,
    };
    roles::serve_router(listen, 1, router)
}

// ---- the client --------------------------------------------------------------

/// What a client does once, and what it must get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Action {
    /// 20 GET /pass on one keep-alive connection: 200 each.
    KeepAliveGets,
    /// POST /pass with a 1 KiB body: 200.
    Post,
    /// Options then result: 200, 200.
    Register,
    /// The last registration again: 403.
    Replay,
    /// A registration with client copies of the header: 200, and the
    /// app sees only the gateway's.
    SpoofedRegister,
    /// GET /pass with client copies of the header: 200, the app sees none.
    SpoofedGet,
    /// A truncated JSON registration: 400.
    Malformed,
    /// A registration body past body_limit by Content-Length: 413.
    Oversized,
    /// GET /pass with a 2 s pause mid-head: 200.
    StallHead,
    /// A registration with a 2 s pause mid-body: 200.
    StallBody,
    /// A registration body stalled past body_read_timeout_secs (`fidogate
    /// run` only): 408.
    StallPastTimeout,
    /// Half a registration, then the connection closed: nothing reaches
    /// the app.
    DisconnectMidBody,
    /// Half a head, then closed.
    DisconnectMidHead,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Self::KeepAliveGets => "keep-alive GETs",
            Self::Post => "POST",
            Self::Register => "registration",
            Self::Replay => "replay",
            Self::SpoofedRegister => "registration with client copies of the header",
            Self::SpoofedGet => "GET with client copies of the header",
            Self::Malformed => "malformed registration",
            Self::Oversized => "oversized registration",
            Self::StallHead => "stall mid-head (2 s)",
            Self::StallBody => "stall mid-body (2 s)",
            Self::StallPastTimeout => "stall past the body timeout",
            Self::DisconnectMidBody => "disconnect mid-body",
            Self::DisconnectMidHead => "disconnect mid-head",
        }
    }
}

/// The mix one connection cycles through (weights by repetition).
fn mix(past_timeout: bool) -> Vec<Action> {
    use Action::*;
    let mut v = vec![
        KeepAliveGets,
        Post,
        Register,
        KeepAliveGets,
        Post,
        Register,
        Replay,
        SpoofedGet,
        Malformed,
        KeepAliveGets,
        Register,
        Oversized,
        SpoofedRegister,
        DisconnectMidBody,
        KeepAliveGets,
        Post,
        Register,
        DisconnectMidHead,
        StallHead,
        StallBody,
    ];
    if past_timeout {
        v.push(StallPastTimeout);
    }
    v
}

#[derive(Default)]
struct Tally {
    done: BTreeMap<Action, u64>,
    unexpected: BTreeMap<Action, u64>,
    samples: Vec<String>,
}

struct Client {
    target: SocketAddr,
    stop: AtomicBool,
    tally: Mutex<Tally>,
    requests: AtomicU64,
    unexpected: AtomicU64,
    last: Mutex<Option<(&'static str, String)>>,
    user: AtomicU64,
    dialect: AtomicU64,
    per_dialect: Mutex<BTreeMap<&'static str, u64>>,
}

/// One answer read to the end of the connection (`connection: close`).
struct Answer {
    status: u16,
    body: Vec<u8>,
}

fn parse(all: &[u8]) -> Answer {
    let Some(end) = all.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Answer {
            status: 0,
            body: Vec::new(),
        };
    };
    let status = std::str::from_utf8(all.get(..end).unwrap_or_default())
        .ok()
        .and_then(|h| h.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Answer {
        status,
        body: all.get(end + 4..).unwrap_or_default().to_vec(),
    }
}

fn head(method: &str, path: &str, extra: &str, len: usize) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nhost: soak\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {len}\r\n{extra}\r\n"
    )
}

impl Client {
    /// Sends `parts` with `pause` between them on a fresh connection and
    /// reads the answer to its end.
    async fn exchange(&self, parts: &[&[u8]], pause: Duration) -> Res<Answer> {
        let mut conn = TcpStream::connect(self.target)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                tokio::time::sleep(pause).await;
            }
            conn.write_all(part)
                .await
                .map_err(|e| format!("write: {e}"))?;
        }
        let mut all = Vec::new();
        conn.read_to_end(&mut all)
            .await
            .map_err(|e| format!("read: {e}"))?;
        self.requests.fetch_add(1, Ordering::Relaxed);
        Ok(parse(&all))
    }

    async fn send(&self, method: &str, path: &str, extra: &str, body: &[u8]) -> Res<Answer> {
        let h = head(method, path, extra, body.len());
        self.exchange(&[h.as_bytes(), body], Duration::ZERO).await
    }

    /// Options for a new user; the registration for its challenge, as
    /// the webauthn route takes it.
    async fn registration(&self, authn: &Authenticator) -> Res<String> {
        self.registration_in(Dialect::Webauthn, authn)
            .await
            .map(|(_, body)| body)
    }

    /// Options for a new user on `dialect`'s route, then the registration
    /// for its challenge: the path to post it to, and the body.
    async fn registration_in(
        &self,
        dialect: Dialect,
        authn: &Authenticator,
    ) -> Res<(&'static str, String)> {
        let n = self.user.fetch_add(1, Ordering::Relaxed);
        let user = format!("soak-{n}");
        let (options, result) = dialect.paths();
        let options = if dialect == Dialect::Uaf {
            format!("{options}/{user}")
        } else {
            options.to_owned()
        };
        let o = self
            .send(
                "POST",
                &options,
                "",
                format!(r#"{{"username":"{user}"}}"#).as_bytes(),
            )
            .await?;
        if o.status != 200 {
            return Err(format!("{} options answered {}", dialect.name(), o.status));
        }
        let v: serde_json::Value =
            serde_json::from_slice(&o.body).map_err(|e| format!("options: {e}"))?;
        let body = if dialect == Dialect::Uaf {
            let m = v.pointer("/message/0");
            let text = |p: &str| {
                m.and_then(|m| m.pointer(p))
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| format!("regRequest without {p}"))
            };
            let ceremony = UafCeremony::new(
                UAF_APP_ID,
                &text("/challenge")?,
                ORIGIN,
                &text("/header/serverData")?,
            );
            UafAuthenticator::new(
                "ABCD#0001",
                alg::ES256,
                n,
                UafAttestationKind::BasicSurrogate,
            )
            .register(&ceremony)
            .to_string()
        } else {
            let challenge = v
                .get("challenge")
                .and_then(serde_json::Value::as_str)
                .and_then(|c| b64::decode(c).ok())
                .ok_or("options without a challenge")?;
            let cred = authn.register(RP, ORIGIN, &challenge);
            if dialect == Dialect::Dfns {
                serde_json::json!({ "firstFactorCredential": fido2_credential(&cred) }).to_string()
            } else {
                cred.to_string()
            }
        };
        Ok((result, body))
    }

    async fn expect(&self, a: Res<Answer>, status: u16) -> Res<()> {
        match a {
            Ok(a) if a.status == status => Ok(()),
            Ok(a) => Err(format!(
                "{} instead of {status}: {}",
                a.status,
                String::from_utf8_lossy(&a.body)
                    .chars()
                    .take(160)
                    .collect::<String>()
            )),
            Err(e) => Err(e),
        }
    }

    async fn run(&self, action: Action, authn: &Authenticator) -> Res<()> {
        let spoof = format!("{HEADER}: {SPOOF}\r\nFidogate-Credential: {SPOOF}\r\n");
        match action {
            Action::KeepAliveGets => self.keep_alive_gets().await,
            Action::Post => {
                let a = self.send("POST", PASS, "", &post_body()).await;
                self.expect(a, 200).await
            }
            Action::Register | Action::SpoofedRegister => {
                let n = self.dialect.fetch_add(1, Ordering::Relaxed);
                let dialect = DIALECTS
                    .get(usize::try_from(n).unwrap_or(0) % DIALECTS.len())
                    .copied()
                    .unwrap_or(Dialect::Webauthn);
                let (path, body) = self.registration_in(dialect, authn).await?;
                let extra = if action == Action::SpoofedRegister {
                    spoof.as_str()
                } else {
                    ""
                };
                let a = self.send("POST", path, extra, body.as_bytes()).await;
                self.expect(a, 200)
                    .await
                    .map_err(|e| format!("{}: {e}", dialect.name()))?;
                if let Ok(mut per) = self.per_dialect.lock() {
                    *per.entry(dialect.name()).or_default() += 1;
                }
                *self.last.lock().map_err(|_| "poisoned")? = Some((path, body));
                Ok(())
            }
            Action::Replay => {
                let last = self.last.lock().map_err(|_| "poisoned")?.clone();
                let Some((path, body)) = last else {
                    return Ok(());
                };
                let a = self.send("POST", path, "", body.as_bytes()).await;
                self.expect(a, 403)
                    .await
                    .map_err(|e| format!("{path}: {e}"))
            }
            Action::SpoofedGet => {
                let a = self.send("GET", PASS, &spoof, b"").await;
                self.expect(a, 200).await
            }
            Action::Malformed => {
                let cred = self.registration(authn).await?;
                let cut = cred.as_bytes().get(..cred.len() / 3).unwrap_or_default();
                let a = self.send("POST", RESULT, "", cut).await;
                self.expect(a, 400).await
            }
            Action::Oversized => {
                let h = head("POST", RESULT, "", 64 * 1024 + 1);
                let a = self
                    .exchange(&[h.as_bytes(), b"{\"id\":"], Duration::ZERO)
                    .await;
                self.expect(a, 413).await
            }
            Action::StallHead => {
                let h = head("GET", PASS, "", 0);
                let (first, second) = h.as_bytes().split_at(h.len() / 2);
                let a = self
                    .exchange(&[first, second], Duration::from_secs(2))
                    .await;
                self.expect(a, 200).await
            }
            Action::StallBody | Action::StallPastTimeout => {
                let cred = self.registration(authn).await?;
                let h = head("POST", RESULT, "", cred.len());
                let (first, second) = cred.as_bytes().split_at(cred.len() / 2);
                if action == Action::StallBody {
                    let a = self
                        .exchange(&[h.as_bytes(), first, second], Duration::from_secs(2))
                        .await;
                    self.expect(a, 200).await
                } else {
                    // Past body_read_timeout_secs (10 s in the soak's file).
                    let a = self
                        .exchange(&[h.as_bytes(), first, second], Duration::from_secs(12))
                        .await;
                    match a {
                        // The gateway answered and closed; the late half may fail to write.
                        Ok(a) => self.expect(Ok(a), 408).await,
                        Err(e) if e.starts_with("write") => Ok(()),
                        Err(e) => Err(e),
                    }
                }
            }
            Action::DisconnectMidBody => {
                let cred = self.registration(authn).await?;
                let h = head("POST", RESULT, "", cred.len());
                let mut conn = TcpStream::connect(self.target)
                    .await
                    .map_err(|e| format!("connect: {e}"))?;
                conn.write_all(h.as_bytes())
                    .await
                    .map_err(|e| e.to_string())?;
                conn.write_all(cred.as_bytes().get(..cred.len() / 2).unwrap_or_default())
                    .await
                    .map_err(|e| e.to_string())?;
                self.requests.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Action::DisconnectMidHead => {
                let h = head("POST", RESULT, "", 100);
                let mut conn = TcpStream::connect(self.target)
                    .await
                    .map_err(|e| format!("connect: {e}"))?;
                conn.write_all(h.as_bytes().get(..h.len() / 2).unwrap_or_default())
                    .await
                    .map_err(|e| e.to_string())?;
                self.requests.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
        }
    }

    /// 20 requests on one connection, each answer framed by Content-Length.
    async fn keep_alive_gets(&self) -> Res<()> {
        let mut conn = TcpStream::connect(self.target)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let req = format!("GET {PASS} HTTP/1.1\r\nhost: soak\r\n\r\n");
        let mut buf = Vec::new();
        for i in 0..20 {
            conn.write_all(req.as_bytes())
                .await
                .map_err(|e| format!("write #{i}: {e}"))?;
            let (status, _) = read_framed(&mut conn, &mut buf).await?;
            self.requests.fetch_add(1, Ordering::Relaxed);
            if status != 200 {
                return Err(format!("keep-alive GET #{i}: {status}"));
            }
        }
        Ok(())
    }
}

/// Reads one answer framed by Content-Length from `conn` (`buf` keeps
/// what was read past it).
async fn read_framed(conn: &mut TcpStream, buf: &mut Vec<u8>) -> Res<(u16, Vec<u8>)> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let headers = String::from_utf8_lossy(buf.get(..end).unwrap_or_default()).into_owned();
            let len = headers
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .ok_or("an answer without Content-Length on a keep-alive connection")?;
            while buf.len() < end + 4 + len {
                let n = conn
                    .read(&mut chunk)
                    .await
                    .map_err(|e| format!("read: {e}"))?;
                if n == 0 {
                    return Err("closed mid-answer".into());
                }
                buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
            }
            let status = parse(buf).status;
            let body = buf.get(end + 4..end + 4 + len).unwrap_or_default().to_vec();
            buf.drain(..end + 4 + len);
            return Ok((status, body));
        }
        let n = conn
            .read(&mut chunk)
            .await
            .map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err("closed before an answer".into());
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
}

async fn connection(client: Arc<Client>, actions: Vec<Action>, seed: u64) {
    let authn = Authenticator::packed_x5c(alg::ES256, seed, &attestation_root(900));
    let mut i = usize::try_from(seed).unwrap_or(0);
    while !client.stop.load(Ordering::Relaxed) {
        let Some(&action) = actions.get(i % actions.len().max(1)) else {
            return;
        };
        i += 1;
        let outcome = tokio::time::timeout(ACTION_TIMEOUT, client.run(action, &authn))
            .await
            .unwrap_or_else(|_| Err(format!("no end within {ACTION_TIMEOUT:?}")));
        let Ok(mut t) = client.tally.lock() else {
            return;
        };
        *t.done.entry(action).or_default() += 1;
        if let Err(e) = outcome {
            client.unexpected.fetch_add(1, Ordering::Relaxed);
            *t.unexpected.entry(action).or_default() += 1;
            if t.samples.len() < 20 {
                t.samples.push(format!("{}: {e}", action.name()));
            }
        }
    }
}

// ---- the orchestration ------------------------------------------------------

#[derive(Debug, Clone, Copy, Default)]
struct Sample {
    secs: u64,
    rss: u64,
    fds: u64,
    requests: u64,
    unexpected: u64,
}

fn open_fds(pid: u32) -> Res<u64> {
    let n = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map_err(|e| format!("/proc/{pid}/fd: {e}"))?
        .count();
    Ok(n as u64)
}

struct Target {
    name: &'static str,
    client: Arc<Client>,
    pid: u32,
    app: SocketAddr,
    samples: Vec<Sample>,
    _procs: Vec<Proc>,
}

async fn app_figures(app: SocketAddr) -> Res<AppFigures> {
    let mut conn = TcpStream::connect(app)
        .await
        .map_err(|e| format!("app: {e}"))?;
    conn.write_all(b"GET /soak/counters HTTP/1.1\r\nhost: app\r\nconnection: close\r\n\r\n")
        .await
        .map_err(|e| e.to_string())?;
    let mut all = Vec::new();
    conn.read_to_end(&mut all)
        .await
        .map_err(|e| e.to_string())?;
    serde_json::from_slice(&parse(&all).body).map_err(|e| format!("app counters: {e}"))
}

/// The process under test's highest figure in the 5th minute and its
/// highest in the last 5 minutes, and their ratio (for a run shorter than
/// 10 minutes: the highest in the minute before a third of the run, and
/// the highest in its last third).
fn flatness(samples: &[Sample], pick: fn(&Sample) -> u64) -> (u64, u64, f64) {
    let end = samples.last().map_or(0, |s| s.secs);
    let (at, from) = if end >= 600 {
        (300, end - 300)
    } else {
        (end / 3, end - end / 3)
    };
    let reference = samples
        .iter()
        .filter(|s| s.secs + 60 >= at && s.secs <= at)
        .map(pick)
        .max()
        .unwrap_or(0)
        .max(1);
    let late = samples
        .iter()
        .filter(|s| s.secs >= from)
        .map(pick)
        .max()
        .unwrap_or(0);
    (reference, late, late as f64 / reference as f64)
}

pub(crate) fn soak(args: &RunArgs, minutes: u64, connections: usize) -> Res<()> {
    if minutes == 0 || minutes > 24 * 60 {
        return Err("--minutes: 1 to 1440".into());
    }
    let h = Harness::new(args)?;
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let mut targets = Vec::new();

    // fidogate run in front of the bare soak app.
    let app = free_port()?;
    let jwks_file = h.dir.join("jwks.json");
    let mut app_proc = h.spawn(
        false,
        &h.exe,
        &soak_app_args(app, false, Some(&jwks_file)),
        "soak app",
    )?;
    h.wait_ready(&mut app_proc, app)?;
    let gw = free_port()?;
    let config = h.fidogate_config(gw, app, 1, None)?;
    let text = std::fs::read_to_string(&config).map_err(|e| e.to_string())?;
    let routes = "  routes:\n    - name: passkeys\n      dialect: webauthn\n";
    if !text.contains(routes) {
        return Err("the harness's fidogate.yaml has changed: its routes were not found".into());
    }
    let text = text
        .replacen(
            "threads: 1\n",
            "threads: 1\nbody_read_timeout_secs: 10\nlog_level: warn\n",
            1,
        )
        .replacen(
            routes,
            &format!("  uaf: {{ app_id: \"{UAF_APP_ID}\" }}\n{routes}{EXTRA_ROUTES}"),
            1,
        );
    std::fs::write(&config, text).map_err(|e| e.to_string())?;
    let mut gw_proc = h.spawn(
        true,
        &h.fidogate,
        &[
            "run".into(),
            "--config".into(),
            config.display().to_string(),
        ],
        "fidogate run",
    )?;
    h.wait_ready(&mut gw_proc, gw)?;
    let jwks = fetch(gw, &roles::gateway_config().jwks_path)?;
    std::fs::write(&jwks_file, jwks).map_err(|e| format!("{}: {e}", jwks_file.display()))?;
    targets.push(Target {
        name: "fidogate run",
        client: client(gw),
        pid: gw_proc.pid(),
        app,
        samples: Vec::new(),
        _procs: vec![gw_proc, app_proc],
    });

    // The soak app behind the tower layer.
    let layer = free_port()?;
    let mut layer_proc = h.spawn(true, &h.exe, &soak_app_args(layer, true, None), "layer app")?;
    h.wait_ready(&mut layer_proc, layer)?;
    targets.push(Target {
        name: "tower layer",
        client: client(layer),
        pid: layer_proc.pid(),
        app: layer,
        samples: Vec::new(),
        _procs: vec![layer_proc],
    });

    let started = Instant::now();
    let end = started + Duration::from_secs(minutes * 60);
    let mut tasks = Vec::new();
    for (t, target) in targets.iter().enumerate() {
        // The layer has no body read timeout of its own (that is the
        // server's): the stall past it is fidogate run's alone.
        let actions = mix(t == 0);
        for c in 0..connections {
            let seed = 1000 * (t as u64 + 1) + c as u64;
            tasks.push(rt.spawn(connection(target.client.clone(), actions.clone(), seed)));
        }
    }
    eprintln!(
        "soak: {minutes} min, {connections} connections each, through {}",
        targets
            .iter()
            .map(|t| t.name)
            .collect::<Vec<_>>()
            .join(" and ")
    );
    let mut next = started;
    loop {
        for t in &mut targets {
            let secs = started.elapsed().as_secs();
            t.samples.push(Sample {
                secs,
                rss: procfs::resident_bytes_of(t.pid)?,
                fds: open_fds(t.pid)?,
                requests: t.client.requests.load(Ordering::Relaxed),
                unexpected: t.client.unexpected.load(Ordering::Relaxed),
            });
        }
        if let Some(last) = targets.first().and_then(|t| t.samples.last())
            && last.secs % 60 < 10
        {
            let line: Vec<String> = targets
                .iter()
                .filter_map(|t| t.samples.last().map(|s| (t.name, s)))
                .map(|(n, s)| {
                    format!(
                        "{n}: {} requests, {} unexpected, {:.1} MiB, {} fds",
                        s.requests,
                        s.unexpected,
                        s.rss as f64 / 1_048_576.0,
                        s.fds
                    )
                })
                .collect();
            eprintln!("soak {:>4}s  {}", last.secs, line.join("; "));
        }
        if Instant::now() >= end {
            break;
        }
        next += SAMPLE;
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    for t in &targets {
        t.client.stop.store(true, Ordering::Relaxed);
    }
    rt.block_on(async {
        for task in tasks {
            let _ = task.await;
        }
    });
    let apps: Vec<AppFigures> = targets
        .iter()
        .map(|t| rt.block_on(app_figures(t.app)))
        .collect::<Res<_>>()?;
    write_results(&args.out, minutes, connections, &targets, &apps)
}

fn soak_app_args(listen: SocketAddr, layer: bool, jwks: Option<&Path>) -> Vec<String> {
    let mut v = vec!["soak-app".into(), "--listen".into(), listen.to_string()];
    if layer {
        v.push("--layer".into());
    }
    if let Some(p) = jwks {
        v.push("--jwks-file".into());
        v.push(p.display().to_string());
    }
    v
}

fn client(target: SocketAddr) -> Arc<Client> {
    Arc::new(Client {
        target,
        stop: AtomicBool::new(false),
        tally: Mutex::new(Tally::default()),
        requests: AtomicU64::new(0),
        unexpected: AtomicU64::new(0),
        last: Mutex::new(None),
        user: AtomicU64::new(0),
        dialect: AtomicU64::new(0),
        per_dialect: Mutex::new(BTreeMap::new()),
    })
}

/// A GET's body, over a blocking connection.
fn fetch(at: SocketAddr, path: &str) -> Res<Vec<u8>> {
    use std::io::{Read as _, Write as _};
    let mut s = std::net::TcpStream::connect(at).map_err(|e| format!("{at}: {e}"))?;
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nhost: soak\r\nconnection: close\r\n\r\n").as_bytes(),
    )
    .map_err(|e| e.to_string())?;
    let mut all = Vec::new();
    s.read_to_end(&mut all).map_err(|e| e.to_string())?;
    let a = parse(&all);
    if a.status != 200 {
        return Err(format!("GET {path}: {}", a.status));
    }
    Ok(a.body)
}

fn write_results(
    out: &Path,
    minutes: u64,
    connections: usize,
    targets: &[Target],
    apps: &[AppFigures],
) -> Res<()> {
    let mut csv = String::from("target,seconds,rss_bytes,open_fds,requests,unexpected\n");
    for t in targets {
        for s in &t.samples {
            let _ = writeln!(
                csv,
                "{},{},{},{},{},{}",
                t.name, s.secs, s.rss, s.fds, s.requests, s.unexpected
            );
        }
    }
    let csv_path = out.join("soak.csv");
    std::fs::write(&csv_path, csv).map_err(|e| format!("{}: {e}", csv_path.display()))?;
    let mut md = format!(
        "Soak: {minutes} minutes, {connections} connections per target, both targets at once on this machine; memory (VmRSS) and open descriptors of the process under test sampled every 10 s.\n\n"
    );
    md.push_str("| target | requests | requests the app got | registrations the app verified | unexpected answers | unverified forwards | client copies seen by the app | cut bodies seen by the app | RSS at the reference (MiB) | highest RSS late (MiB) | ratio | fds at the reference | highest fds late | ratio |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    let mut verdicts = Vec::new();
    for (t, app) in targets.iter().zip(apps) {
        let (rss0, rss1, rss_ratio) = flatness(&t.samples, |s| s.rss);
        let (fd0, fd1, fd_ratio) = flatness(&t.samples, |s| s.fds);
        let last = t.samples.last().copied().unwrap_or_default();
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.1} | {:.1} | {rss_ratio:.3} | {fd0} | {fd1} | {fd_ratio:.3} |",
            t.name,
            last.requests,
            app.requests,
            app.verified,
            last.unexpected,
            app.unverified,
            app.client_copies,
            app.cut_bodies,
            rss0 as f64 / 1_048_576.0,
            rss1 as f64 / 1_048_576.0,
        );
        let ok = last.unexpected == 0
            && app.unverified == 0
            && app.client_copies == 0
            && app.cut_bodies == 0
            && rss_ratio <= 1.05
            && fd_ratio <= 1.05;
        verdicts.push(format!(
            "{}: {}",
            t.name,
            if ok { "goal met" } else { "goal MISSED" }
        ));
    }
    md.push_str("\nActions done (unexpected among them):\n\n| target | action | done | unexpected |\n|---|---|---|---|\n");
    for t in targets {
        let Ok(tally) = t.client.tally.lock() else {
            continue;
        };
        for (action, n) in &tally.done {
            let bad = tally.unexpected.get(action).copied().unwrap_or(0);
            let _ = writeln!(md, "| {} | {} | {n} | {bad} |", t.name, action.name());
        }
        for s in &tally.samples {
            let _ = writeln!(md, "\n- {}: {s}", t.name);
        }
        if let Ok(per) = t.client.per_dialect.lock() {
            let by: Vec<String> = per.iter().map(|(d, n)| format!("{d} {n}")).collect();
            let _ = writeln!(
                md,
                "\n{}: registrations by dialect: {}",
                t.name,
                by.join(", ")
            );
        }
    }
    let reference = if minutes >= 10 {
        "the highest sample of the 5th minute, against the highest of the last 5 minutes"
    } else {
        "the highest sample of the minute before a third of the run, against the highest of its last third (a run shorter than 10 minutes)"
    };
    let _ = writeln!(
        md,
        "\nReference: {reference}. Goal: no unexpected answer, no unverified forward, no client copy, ratios at most 1.05.\n\n{}\n",
        verdicts.join("; ")
    );
    let md_path = out.join("soak.md");
    std::fs::write(&md_path, &md).map_err(|e| format!("{}: {e}", md_path.display()))?;
    plot(&out.join("soak.png"), targets)?;
    print!("{md}");
    Ok(())
}

/// Two panels over time: resident memory and open descriptors, a line per
/// target.
fn plot(path: &Path, targets: &[Target]) -> Res<()> {
    report::register_font()?;
    let err = |e: &dyn std::fmt::Display| format!("soak chart: {e}");
    let root = BitMapBackend::new(path, (1200, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let (left, right) = root.split_horizontally(600);
    let colours = [RGBColor(31, 119, 180), RGBColor(214, 39, 40)];
    let end = targets
        .iter()
        .filter_map(|t| t.samples.last())
        .map(|s| s.secs as f64 / 60.0)
        .fold(1.0, f64::max);
    for (area, caption, pick) in [
        (
            &left,
            "Resident memory (MiB)",
            (|s: &Sample| s.rss as f64 / 1_048_576.0) as fn(&Sample) -> f64,
        ),
        (&right, "Open file descriptors", |s: &Sample| s.fds as f64),
    ] {
        let ymax = targets
            .iter()
            .flat_map(|t| t.samples.iter().map(pick))
            .fold(1.0, f64::max)
            * 1.2;
        let mut c = ChartBuilder::on(area)
            .caption(caption, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(34)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..end, 0f64..ymax)
            .map_err(|e| err(&e))?;
        c.configure_mesh()
            .x_desc("minutes")
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(|e| err(&e))?;
        for (t, colour) in targets.iter().zip(colours) {
            c.draw_series(LineSeries::new(
                t.samples.iter().map(|s| (s.secs as f64 / 60.0, pick(s))),
                colour.stroke_width(2),
            ))
            .map_err(|e| err(&e))?
            .label(t.name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], colour.stroke_width(2)));
        }
        c.configure_series_labels()
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .position(SeriesLabelPosition::LowerRight)
            .draw()
            .map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))
}
