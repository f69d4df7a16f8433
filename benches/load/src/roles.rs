//! The processes the harness starts: the app (bare, or behind the tower
//! layer), a bare Pingora proxy, verification alone, the challenge cache.

use crate::procfs;
use crate::{ORIGIN, RP, Res};
use async_trait::async_trait;
use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use bytes::Bytes;
use fidogate_core::UnixTime;
use fidogate_core::gateway::{
    ChallengeContext, Dialect, Gateway, GatewayConfig, GatewayKeys, MokaChallengeStore,
    RouteConfig, RpConfig, TokenSigner,
};
use fidogate_core::trust::{TrustAnchor, TrustAnchors};
use fidogate_core::webauthn::{
    Policy, RegistrationCredential, RelyingParty, UserVerification, verify_registration,
};
use fidogate_testkit::keys::{SigningKey, alg};
use fidogate_testkit::webauthn::{Authenticator, attestation_root};
use fidogate_tower::FidogateLayer;
use pingora::proxy::{ProxyHttp, Session};
use pingora::server::Server;
use pingora::server::configuration::ServerConf;
use pingora::upstreams::peer::HttpPeer;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the app answers on the pass-through path: a small JSON document.
pub(crate) const ANSWER: &str = r#"{"ok":true,"items":[{"id":1,"name":"alpha"},{"id":2,"name":"beta"},{"id":3,"name":"gamma"}],"next":null}"#;

/// The header the gateway adds.
pub(crate) const HEADER: &str = "fidogate-credential";

/// The app: `/pass` (GET, and POST reading the body) and the registration
/// endpoint, which stores nothing but refuses a request without the
/// gateway's header, so a registration that was not verified counts as an
/// error in the load figures.
fn app() -> Router {
    async fn pass() -> &'static str {
        ANSWER
    }
    async fn pass_post(body: Bytes) -> (StatusCode, &'static str) {
        if body.is_empty() {
            (StatusCode::BAD_REQUEST, "empty body")
        } else {
            (StatusCode::OK, ANSWER)
        }
    }
    async fn registered(headers: HeaderMap, _body: Bytes) -> (StatusCode, &'static str) {
        if headers.contains_key(HEADER) {
            (StatusCode::OK, r#"{"status":"ok","errorMessage":""}"#)
        } else {
            (StatusCode::FORBIDDEN, r#"{"status":"failed"}"#)
        }
    }
    Router::new()
        .route("/pass", get(pass).post(pass_post))
        .route("/attestation/result", post(registered))
}

/// The gateway's configuration in both adapters: one WebAuthn route,
/// gateway-issued challenges, attestations required to chain to the
/// testkit's root.
pub(crate) fn gateway_config() -> GatewayConfig {
    let mut config = GatewayConfig::new(
        RpConfig {
            id: RP.into(),
            name: None,
            origins: vec![ORIGIN.into()],
            top_origins: vec![],
        },
        vec![RouteConfig::new("passkeys", Dialect::Webauthn)],
    );
    config.webauthn.require_trusted = true;
    config.webauthn.attestation = "direct".into();
    config
}

pub(crate) fn anchors() -> Res<TrustAnchors> {
    let mut anchors = TrustAnchors::new();
    let root = TrustAnchor::from_der(attestation_root(900).der, "bench root")
        .map_err(|e| format!("bench root: {e}"))?;
    anchors.add_global(root);
    Ok(anchors)
}

fn runtime(threads: usize) -> Res<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))
}

/// The app on `listen`, bare or behind the tower layer.
/// The engine an app behind the layer runs: `config`, the memory store,
/// a signing key and a secret from `seed`.
pub(crate) fn layer_gateway(seed: u8, config: GatewayConfig) -> Res<Gateway> {
    layer_gateway_with(seed, config, anchors()?)
}

/// [`layer_gateway`] trusting `anchors`.
fn layer_gateway_with(seed: u8, config: GatewayConfig, anchors: TrustAnchors) -> Res<Gateway> {
    let keys = GatewayKeys {
        signer: TokenSigner::from_pkcs8_der(
            &SigningKey::generate(alg::ES256, u64::from(seed)).pkcs8_der(),
        )
        .map_err(|e| format!("signing key: {e}"))?,
        retired: vec![],
        secret: vec![seed; 32],
        previous_secrets: vec![],
    };
    let store = Arc::new(MokaChallengeStore::new(config.challenge_capacity));
    Gateway::new(config, keys, anchors, store).map_err(|e| format!("gateway: {e}"))
}

/// Without `signature_cache`, the layer's anchors check every
/// certificate signature of every registration, as for chains never seen.
pub(crate) fn serve_app(
    listen: SocketAddr,
    threads: usize,
    layer: bool,
    signature_cache: bool,
) -> Res<()> {
    let router = if layer {
        let anchors = if signature_cache {
            anchors()?
        } else {
            anchors()?.without_signature_cache()
        };
        let gateway = layer_gateway_with(77, gateway_config(), anchors)?;
        app().layer(FidogateLayer::new(gateway))
    } else {
        app()
    };
    serve_router(listen, threads, router)
}

/// Serves `router` on `listen` with `threads` worker threads, until killed.
pub(crate) fn serve_router(listen: SocketAddr, threads: usize, router: Router) -> Res<()> {
    runtime(threads)?.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| format!("{listen}: {e}"))?;
        axum::serve(listener, router)
            .await
            .map_err(|e| format!("serve: {e}"))
    })
}

/// Pingora with nothing but an upstream: what the gateway is compared with.
struct BareProxy {
    upstream: SocketAddr,
}

#[async_trait]
impl ProxyHttp for BareProxy {
    type CTX = ();

    fn new_ctx(&self) {}

    async fn upstream_peer(
        &self,
        _session: &mut Session,
        _ctx: &mut (),
    ) -> pingora::Result<Box<HttpPeer>> {
        let mut peer = HttpPeer::new(self.upstream, false, String::new());
        // The upstream timeouts `fidogate run` sets on its peers (its
        // default `upstream_timeout_secs`), as a proxy in production would:
        // the comparison is then of the fidogate module alone.
        let t = Some(BARE_UPSTREAM_TIMEOUT);
        peer.options.connection_timeout = t;
        peer.options.total_connection_timeout = t;
        peer.options.read_timeout = t;
        peer.options.write_timeout = t;
        Ok(Box::new(peer))
    }
}

/// `fidogate run`'s default `upstream_timeout_secs`.
const BARE_UPSTREAM_TIMEOUT: Duration = Duration::from_secs(30);

/// A bare Pingora proxy, configured as `fidogate run` configures its own
/// (same thread count, same ServerConf otherwise).
pub(crate) fn serve_bare_pingora(
    listen: SocketAddr,
    upstream: SocketAddr,
    threads: usize,
    tls: Option<&(std::path::PathBuf, std::path::PathBuf)>,
) -> Res<()> {
    if tls.is_some() {
        // The crypto fidogate's listeners use, so the comparison is of
        // the gateway, not of two TLS libraries' providers. Installed
        // before the server is built: Pingora installs ring as the
        // process default when it sets up, and the first one stays.
        rustls::crypto::aws_lc_rs::default_provider()
            .install_default()
            .map_err(|_| "a TLS crypto provider other than aws-lc-rs was installed first")?;
    }
    let conf = ServerConf {
        threads,
        ..ServerConf::default()
    };
    let mut server = Server::new_with_opt_and_conf(None, conf);
    server.bootstrap();
    let mut service =
        pingora::proxy::http_proxy_service(&server.configuration, BareProxy { upstream });
    match tls {
        None => service.add_tcp(&listen.to_string()),
        Some((cert, key)) => {
            let (cert, key) = (cert.display().to_string(), key.display().to_string());
            let mut settings = pingora::listeners::tls::TlsSettings::intermediate(&cert, &key)
                .map_err(|e| format!("TLS settings: {e}"))?;
            settings.enable_h2();
            service.add_tls_with_settings(&listen.to_string(), None, settings);
        }
    }
    server.add_service(service);
    server.run_forever()
}

/// A registration as the load client makes it (packed, x5c chaining to
/// the testkit root, ES256), for `challenge`.
pub(crate) fn registration(authn: &Authenticator, challenge: &[u8]) -> serde_json::Value {
    authn.register(RP, ORIGIN, challenge)
}

/// The load client's own work without a server: registrations made by
/// the software authenticator for `seconds`. Run beside verification
/// alone, it gives that figure the neighbour the gateway has under load.
pub(crate) fn burn(seconds: u64) {
    let authn = Authenticator::packed_x5c(alg::ES256, 3, &attestation_root(900));
    let end = Instant::now() + Duration::from_secs(seconds);
    let mut n = 0u64;
    while Instant::now() < end {
        n += 1;
        let mut challenge = [0u8; 32];
        challenge[..8].copy_from_slice(&n.to_le_bytes());
        std::hint::black_box(registration(&authn, &challenge));
    }
}

/// Verification alone, as the gateway does it (JSON parse, same anchors
/// and policy), on this process's CPU: microseconds per registration,
/// the median of `rounds` batches.
pub(crate) fn verify_alone(batches: usize, per_batch: usize) -> Res<f64> {
    let root = attestation_root(900);
    let authn = Authenticator::packed_x5c(alg::ES256, 3, &root);
    let challenge = [5u8; 32];
    let body = registration(&authn, &challenge).to_string();
    let anchors = anchors()?;
    let rp = RelyingParty::new(RP, ORIGIN);
    let config = gateway_config();
    // As the engine builds it from the same configuration.
    let policy = Policy {
        user_verification: UserVerification::Preferred,
        accept_untrusted: !config.webauthn.require_trusted,
        ..Policy::default()
    };
    let now = UnixTime::from_secs(1_800_000_000);
    let once = || -> Res<()> {
        let cred = RegistrationCredential::from_json(body.as_bytes())
            .map_err(|e| format!("registration: {e}"))?;
        verify_registration(&cred, &challenge, &rp, &anchors, &policy, now)
            .map(drop)
            .map_err(|e| format!("verification alone: {e}"))
    };
    median_of_batches(batches, per_batch, once)
}

/// `once` run `per_batch` times to warm up, then in `batches` timed
/// batches: microseconds per run, the median batch.
fn median_of_batches(batches: usize, per_batch: usize, once: impl Fn() -> Res<()>) -> Res<f64> {
    for _ in 0..per_batch {
        once()?;
    }
    let mut times = Vec::with_capacity(batches);
    for _ in 0..batches {
        let start = Instant::now();
        for _ in 0..per_batch {
            once()?;
        }
        times.push(start.elapsed().as_secs_f64() * 1e6 / per_batch as f64);
    }
    times.sort_by(f64::total_cmp);
    times
        .get(times.len() / 2)
        .copied()
        .ok_or_else(|| "no batches".to_owned())
}

/// One verified-credential header signed (ES256 JWS over claims shaped as
/// a WebAuthn registration's) with the key type the gateway uses, on
/// this process's CPU: microseconds, the median of `batches` batches.
pub(crate) fn sign_alone(batches: usize, per_batch: usize) -> Res<f64> {
    let signer = TokenSigner::from_pkcs8_der(&SigningKey::generate(alg::ES256, 1).pkcs8_der())
        .map_err(|e| format!("signing key: {e}"))?;
    let claims = serde_json::json!({
        "iss": "fidogate", "aud": "upstream", "iat": 1_748_736_000, "exp": 1_748_736_060,
        "jti": "0123456789abcdef0123456789abcdef", "protocol": "webauthn",
        "dialect": "webauthn", "route": "passkeys", "username": "user-1",
        "credentials": [{"id": "AAECAwQFBgcICQoLDA0ODw", "public_key": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE", "alg": "ES256"}],
    });
    let once = || -> Res<()> {
        signer
            .sign(&claims)
            .map(|t| drop(std::hint::black_box(t)))
            .map_err(|e| format!("header: {e}"))
    };
    median_of_batches(batches, per_batch, once)
}

/// The challenge cache with `entries` pending challenges, as the engine
/// fills it (32-byte challenge, WebAuthn context): resident memory it
/// added, and the cost of one issue + take on the full store.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct CacheFigures {
    pub(crate) entries: u64,
    pub(crate) resident_bytes: u64,
    pub(crate) issue_take_ns: f64,
}

pub(crate) fn cache(entries: u64, ops: u64) -> Res<CacheFigures> {
    let before = procfs::resident_bytes()?;
    let store = MokaChallengeStore::new(entries);
    let now = UnixTime::from_secs(1_800_000_000);
    let context = |i: u64| {
        let user = format!("user-{i}@example.com");
        let handle: [u8; 32] = fidogate_core::crypto::sha256(user.as_bytes());
        ChallengeContext::new(
            "passkeys",
            RP,
            Some(&user),
            Some(&handle),
            now,
            Duration::from_secs(300),
        )
    };
    let key = |i: u64| {
        let mut k = fidogate_core::crypto::sha256(&i.to_le_bytes());
        k[..8].copy_from_slice(&i.to_le_bytes());
        k
    };
    for i in 0..entries {
        store
            .issue_now(&key(i), context(i))
            .map_err(|e| e.to_string())?;
    }
    let held = store.len();
    if held < entries * 99 / 100 {
        return Err(format!("the store holds {held} of {entries} challenges"));
    }
    let after = procfs::resident_bytes()?;
    let start = Instant::now();
    for i in entries..entries + ops {
        let k = key(i);
        store.issue_now(&k, context(i)).map_err(|e| e.to_string())?;
        if store.take_now(&k).map_err(|e| e.to_string())?.is_none() {
            return Err(format!("challenge {i} was issued but cannot be taken"));
        }
    }
    let issue_take_ns = start.elapsed().as_secs_f64() * 1e9 / ops as f64;
    Ok(CacheFigures {
        entries: held,
        resident_bytes: after.saturating_sub(before),
        issue_take_ns,
    })
}

/// The spent-set with `entries` spent sealed challenges (each a 56-byte
/// seal, kept 300 s): resident memory it added, and the cost of one spend
/// on the full set (plus the refusal once it is full).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct SpentFigures {
    pub(crate) entries: u64,
    pub(crate) resident_bytes: u64,
    pub(crate) spend_ns: f64,
}

pub(crate) fn spent(entries: u64, ops: u64) -> Res<SpentFigures> {
    let before = procfs::resident_bytes()?;
    let store = MokaChallengeStore::new(entries + ops);
    let ttl = Duration::from_secs(300);
    let now = fidogate_core::UnixTime::from_secs(1_700_000_000);
    let seal = |i: u64| {
        let mut s = [0x5au8; 56];
        s[..8].copy_from_slice(&i.to_le_bytes());
        s
    };
    for i in 0..entries {
        if !store
            .spend_now(&seal(i), now, ttl)
            .map_err(|e| e.to_string())?
        {
            return Err(format!("seal {i} was already spent"));
        }
    }
    let held = store.spent_len();
    if held != entries {
        return Err(format!("the spent-set holds {held} of {entries}"));
    }
    let after = procfs::resident_bytes()?;
    let start = Instant::now();
    for i in entries..entries + ops {
        if !store
            .spend_now(&seal(i), now, ttl)
            .map_err(|e| e.to_string())?
        {
            return Err(format!("seal {i} was already spent"));
        }
    }
    let spend_ns = start.elapsed().as_secs_f64() * 1e9 / ops as f64;
    // Full now: the next spend is refused, never recorded over a live one.
    if store.spend_now(&seal(u64::MAX), now, ttl).is_ok() {
        return Err("a full spent-set accepted one more".to_owned());
    }
    Ok(SpentFigures {
        entries: held,
        resident_bytes: after.saturating_sub(before),
        spend_ns,
    })
}
