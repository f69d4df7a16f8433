//! The load generator: keep-alive HTTP/1.1 connections to 127.0.0.1, a
//! bounded number of requests in a bounded time, latency in an HDR
//! histogram, and the CPU time of the process under test and of this one
//! over the measured window.

use crate::procfs;
use crate::roles::registration;
use crate::{OPTIONS, PASS, RESULT, Res};
use bytes::Bytes;
use fidogate_testkit::certs;
use fidogate_testkit::keys::SigningKey;
use fidogate_testkit::keys::alg;
use fidogate_testkit::webauthn::{Attestation, Authenticator, SOFT_AAGUID, attestation_root};
use hdrhistogram::Histogram;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What each connection does in a loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Workload {
    /// GET `/pass`.
    Get,
    /// POST `/pass` with a 1 KiB JSON body.
    Post,
    /// A registration: options, the authenticator signs, result.
    Register,
    /// Registration options alone, each for a new user (a flood of
    /// challenges never answered).
    Options,
    /// A registration against an app that verifies it itself: the
    /// challenge read from the options wherever the app's library puts
    /// it (`challenge`, or `publicKey.challenge`), the result posted with
    /// `?username=` so the app finds its pending state.
    RegisterApp,
    /// What a registration's two exchanges cost an adapter without
    /// fidogate: the options request and the registration posted to
    /// `/pass` (the app answers both), the authenticator signing between
    /// them as in a registration, so the adapter sees the same bodies at
    /// the same pace (and wakes up as often) as it does for a registration.
    Carry,
}

impl Workload {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Post => "post",
            Self::Register => "register",
            Self::Options => "options",
            Self::RegisterApp => "register-app",
            Self::Carry => "carry",
        }
    }

    pub(crate) fn parse(s: &str) -> Res<Self> {
        match s {
            "get" => Ok(Self::Get),
            "post" => Ok(Self::Post),
            "register" => Ok(Self::Register),
            "options" => Ok(Self::Options),
            "register-app" => Ok(Self::RegisterApp),
            "carry" => Ok(Self::Carry),
            other => Err(format!(
                "workload {other:?}: get, post, register, options, register-app or carry"
            )),
        }
    }
}

/// One run's settings.
#[derive(Debug, Clone)]
pub(crate) struct Load {
    pub(crate) target: SocketAddr,
    pub(crate) workload: Workload,
    pub(crate) connections: usize,
    pub(crate) warmup: Duration,
    pub(crate) duration: Duration,
    pub(crate) max_requests: u64,
    /// The processes under test, whose CPU time is read (and summed) over
    /// the window.
    pub(crate) server_pids: Vec<u32>,
    /// TLS to the target, trusting this PEM CA.
    pub(crate) tls_ca: Option<std::path::PathBuf>,
    /// Registrations whose attestation chains were never seen: this many
    /// authenticators made beforehand, each used once; 0 for one
    /// authenticator throughout.
    pub(crate) fresh_chains: u64,
}

/// One run's figures (a "request" is a whole registration in the
/// register workload), as the load process prints them.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Outcome {
    pub(crate) requests: u64,
    pub(crate) errors: u64,
    /// The measured span: the window, or less when `max_requests` ended
    /// the run before the window did.
    pub(crate) seconds: f64,
    pub(crate) p50_us: u64,
    pub(crate) p99_us: u64,
    pub(crate) max_us: u64,
    pub(crate) server_cpu_s: f64,
    pub(crate) client_cpu_s: f64,
}

/// A JSON body of about 1 KiB.
pub(crate) fn post_body() -> Bytes {
    let items: Vec<String> = (0..20)
        .map(|i| format!(r#"{{"id":{i},"name":"item-{i:04}","tags":["a","b"]}}"#))
        .collect();
    Bytes::from(format!(r#"{{"items":[{}]}}"#, items.join(",")))
}

struct Shared {
    load: Load,
    tls: Option<tokio_rustls::TlsConnector>,
    window: (Instant, Instant),
    issued: AtomicU64,
    body: Bytes,
    authn: Option<Authenticator>,
    /// With `fresh_chains`: registration `n` uses `pool[n]`.
    pool: Vec<Authenticator>,
}

impl Shared {
    /// The authenticator of registration `n`.
    fn authenticator(&self, n: u64) -> Result<&Authenticator, String> {
        if self.pool.is_empty() {
            return self
                .authn
                .as_ref()
                .ok_or_else(|| "no authenticator".to_owned());
        }
        usize::try_from(n)
            .ok()
            .and_then(|i| self.pool.get(i))
            .ok_or_else(|| format!("registration {n}: the fresh chains are spent"))
    }
}

/// `count` authenticators, each with its own intermediate CA and leaf
/// certificate under `root`: chains no verifier has seen. Their keys are
/// shared (key generation would take most of a millisecond each here, and
/// no verifier caches anything by key); every certificate is distinct, so
/// each registration's two certificate signatures are checked.
fn fresh_authenticators(count: u64, root: &certs::Issued) -> Vec<Authenticator> {
    let inter_key = SigningKey::generate(alg::ES256, FRESH_SEED);
    let leaf_key = SigningKey::generate(alg::ES256, FRESH_SEED + 1);
    let credential_key = SigningKey::generate(alg::ES256, FRESH_SEED + 2);
    let (inter_pkcs8, leaf_pkcs8) = (inter_key.pkcs8_der(), leaf_key.pkcs8_der());
    (0..count)
        .map(|i| {
            let inter = certs::issue_pkcs8(
                certs::intermediate_params(&format!("fidogate test attestation CA {i}")),
                inter_key.clone(),
                &inter_pkcs8,
                root,
            );
            let leaf = certs::issue_pkcs8(
                certs::packed_leaf_params(Some(SOFT_AAGUID)),
                leaf_key.clone(),
                &leaf_pkcs8,
                &inter,
            );
            Authenticator {
                credential_key: credential_key.clone(),
                credential_id: (FRESH_SEED + i).to_be_bytes().repeat(4),
                aaguid: SOFT_AAGUID,
                attestation: Attestation::Packed {
                    key: leaf_key.clone(),
                    x5c: vec![leaf.der, inter.der],
                },
            }
        })
        .collect()
}

/// Seeds of the fresh-chain keys, clear of the fixed authenticators'.
const FRESH_SEED: u64 = 1 << 32;

/// The longest a request (or registration) may take before the run
/// counts it as an error and drops the connection.
const UNIT_TIMEOUT: Duration = Duration::from_secs(10);

struct Tally {
    hist: Histogram<u64>,
    errors: u64,
    /// When the last counted unit finished.
    last_done: Option<Instant>,
}

fn histogram() -> Res<Histogram<u64>> {
    Histogram::new_with_bounds(1, 60_000_000, 3).map_err(|e| format!("histogram: {e}"))
}

pub(crate) async fn send(
    sender: &mut http1::SendRequest<Full<Bytes>>,
    target: SocketAddr,
    method: Method,
    path: &str,
    body: Bytes,
) -> Result<(StatusCode, Bytes), String> {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header(http::header::HOST, target.to_string())
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(body))
        .map_err(|e| e.to_string())?;
    sender.ready().await.map_err(|e| e.to_string())?;
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, body))
}

/// The body of an options request for `user`.
fn options_body(user: &str) -> Bytes {
    Bytes::from(format!(
        r#"{{"username":"{user}","displayName":"{user}","attestation":"direct"}}"#
    ))
}

/// Registration options for `user`: the challenge, or `None` when the
/// gateway refused.
pub(crate) async fn options(
    sender: &mut http1::SendRequest<Full<Bytes>>,
    target: SocketAddr,
    user: &str,
) -> Result<Option<Vec<u8>>, String> {
    let (s, answer) = send(sender, target, Method::POST, OPTIONS, options_body(user)).await?;
    if !s.is_success() {
        return Ok(None);
    }
    let answer: serde_json::Value =
        serde_json::from_slice(&answer).map_err(|e| format!("options answer: {e}"))?;
    let options = answer.get("publicKey").unwrap_or(&answer);
    options
        .get("challenge")
        .and_then(serde_json::Value::as_str)
        .and_then(|c| fidogate_core::b64::decode(c).ok())
        .map(Some)
        .ok_or_else(|| "options answer without a challenge".to_owned())
}

/// One unit of work: a request, or a registration's two.
async fn unit(
    sender: &mut http1::SendRequest<Full<Bytes>>,
    shared: &Shared,
    n: u64,
) -> Result<bool, String> {
    let target = shared.load.target;
    match shared.load.workload {
        Workload::Get => {
            let (s, _) = send(sender, target, Method::GET, PASS, Bytes::new()).await?;
            Ok(s.is_success())
        }
        Workload::Post => {
            let (s, _) = send(sender, target, Method::POST, PASS, shared.body.clone()).await?;
            Ok(s.is_success())
        }
        Workload::Options => {
            let Some(_) = options(sender, target, &format!("user-{n}")).await? else {
                return Ok(false);
            };
            Ok(true)
        }
        Workload::Register => {
            let authn = shared.authenticator(n)?;
            let Some(challenge) = options(sender, target, &format!("user-{n}")).await? else {
                return Ok(false);
            };
            let body = registration(authn, &challenge).to_string();
            let (s, _) = send(sender, target, Method::POST, RESULT, Bytes::from(body)).await?;
            Ok(s.is_success())
        }
        Workload::Carry => {
            let authn = shared.authn.as_ref().ok_or("no authenticator")?;
            let user = format!("user-{n}");
            let (s, _) = send(sender, target, Method::POST, PASS, options_body(&user)).await?;
            if !s.is_success() {
                return Ok(false);
            }
            let mut challenge = [0u8; 32];
            challenge[..8].copy_from_slice(&n.to_le_bytes());
            let body = registration(authn, &challenge).to_string();
            let (s, _) = send(sender, target, Method::POST, PASS, Bytes::from(body)).await?;
            Ok(s.is_success())
        }
        Workload::RegisterApp => {
            let authn = shared.authenticator(n)?;
            let user = format!("user-{n}");
            let Some(challenge) = options(sender, target, &user).await? else {
                return Ok(false);
            };
            let body = registration(authn, &challenge).to_string();
            let path = format!("{RESULT}?username={user}");
            let (s, _) = send(sender, target, Method::POST, &path, Bytes::from(body)).await?;
            Ok(s.is_success())
        }
    }
}

async fn connection(shared: Arc<Shared>) -> Result<Tally, String> {
    let mut tally = Tally {
        hist: histogram()?,
        errors: 0,
        last_done: None,
    };
    let (start, end) = shared.window;
    let stream = tokio::net::TcpStream::connect(shared.load.target)
        .await
        .map_err(|e| format!("connect {}: {e}", shared.load.target))?;
    let _ = stream.set_nodelay(true);
    let mut sender = match &shared.tls {
        None => {
            let (sender, conn) = http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|e| format!("handshake: {e}"))?;
            tokio::spawn(conn);
            sender
        }
        Some(tls) => {
            let name = rustls::pki_types::ServerName::from(shared.load.target.ip());
            let stream = tls
                .connect(name, stream)
                .await
                .map_err(|e| format!("TLS: {e}"))?;
            let (sender, conn) = http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|e| format!("handshake: {e}"))?;
            tokio::spawn(conn);
            sender
        }
    };
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        let n = shared.issued.fetch_add(1, Ordering::Relaxed);
        if n >= shared.load.max_requests {
            break;
        }
        let ok = tokio::time::timeout(UNIT_TIMEOUT, unit(&mut sender, &shared, n))
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {UNIT_TIMEOUT:?}")));
        let done = Instant::now();
        // Only units wholly inside the window count.
        if now >= start && done <= end {
            match ok {
                Ok(true) => {
                    let us =
                        u64::try_from(done.duration_since(now).as_micros()).unwrap_or(u64::MAX);
                    tally.hist.saturating_record(us.max(1));
                    tally.last_done = Some(done);
                }
                Ok(false) => tally.errors += 1,
                Err(e) => {
                    tally.errors += 1;
                    eprintln!("load: {e}");
                    return Ok(tally);
                }
            }
        } else if let Err(e) = ok {
            eprintln!("load: {e}");
            return Ok(tally);
        }
    }
    Ok(tally)
}

/// The CPU time of every process in `pids`, summed.
fn system_cpu(pids: &[u32], ticks: u64) -> Res<Duration> {
    pids.iter().try_fold(Duration::ZERO, |sum, &pid| {
        Ok(sum + procfs::cpu_time(pid, ticks)?)
    })
}

/// Runs `load` on a single-threaded runtime (the client's own CPU).
pub(crate) fn run(load: Load) -> Res<Outcome> {
    let ticks = procfs::clock_ticks();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    let registers = matches!(
        load.workload,
        Workload::Register | Workload::RegisterApp | Workload::Carry
    );
    let authn = registers.then(|| Authenticator::packed_x5c(alg::ES256, 3, &attestation_root(900)));
    let mut load = load;
    let pool = if registers && load.fresh_chains > 0 {
        let made = Instant::now();
        let pool = fresh_authenticators(load.fresh_chains, &attestation_root(900));
        eprintln!(
            "load: {} authenticators with fresh chains made in {:.1} s",
            pool.len(),
            made.elapsed().as_secs_f64()
        );
        // Each is used once: the run ends when they are spent.
        load.max_requests = load.max_requests.min(load.fresh_chains);
        pool
    } else {
        Vec::new()
    };
    let started = Instant::now();
    let window = (started + load.warmup, started + load.warmup + load.duration);
    let tls = match &load.tls_ca {
        None => None,
        Some(path) => Some(tls_connector(path)?),
    };
    let shared = Arc::new(Shared {
        load: load.clone(),
        tls,
        window,
        issued: AtomicU64::new(0),
        body: post_body(),
        authn,
        pool,
    });
    let me = std::process::id();
    rt.block_on(async move {
        let tasks: Vec<_> = (0..shared.load.connections)
            .map(|_| tokio::spawn(connection(shared.clone())))
            .collect();
        // CPU readings at the window's edges.
        tokio::time::sleep_until(window.0.into()).await;
        let server0 = system_cpu(&load.server_pids, ticks)?;
        let client0 = procfs::cpu_time(me, ticks)?;
        tokio::time::sleep_until(window.1.into()).await;
        let server1 = system_cpu(&load.server_pids, ticks)?;
        let client1 = procfs::cpu_time(me, ticks)?;
        let mut hist = histogram()?;
        let mut errors = 0;
        let mut last_done = None;
        for t in tasks {
            let tally = t.await.map_err(|e| format!("load task: {e}"))??;
            hist.add(&tally.hist)
                .map_err(|e| format!("histogram: {e}"))?;
            errors += tally.errors;
            last_done = last_done.max(tally.last_done);
        }
        // Requests/s over the span the load was applied: when the request
        // bound ended the run early, up to the last counted answer.
        let bounded = shared.issued.load(Ordering::Relaxed) >= load.max_requests;
        let seconds = match last_done {
            Some(done) if bounded => done.duration_since(window.0),
            _ => load.duration,
        };
        Ok(Outcome {
            requests: hist.len(),
            errors,
            seconds: seconds.as_secs_f64(),
            p50_us: hist.value_at_quantile(0.5),
            p99_us: hist.value_at_quantile(0.99),
            max_us: hist.max(),
            server_cpu_s: server1.saturating_sub(server0).as_secs_f64(),
            client_cpu_s: client1.saturating_sub(client0).as_secs_f64(),
        })
    })
}

/// A TLS client trusting the CA in `path` (PEM), offering HTTP/1.1.
fn tls_connector(path: &std::path::Path) -> Res<tokio_rustls::TlsConnector> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let pem = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| format!("{}: {e}", path.display()))?;
        roots
            .add(cert)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}
