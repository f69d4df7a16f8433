//! The `fidogate` configuration file (YAML): the server, the keys, the
//! trust anchors, and the engine's [`GatewayConfig`] under `gateway`.
//!
//! Every error names the file, the key (a dotted path such as
//! `gateway.routes[1].dialect`) and what is wrong; unknown keys are errors.
//! `FIDOGATE_LISTEN` and `FIDOGATE_UPSTREAM` (comma-separated addresses)
//! override `listen` and `upstream`.

use fidogate_core::gateway::{
    Gateway, GatewayConfig, GatewayKeys, MokaChallengeStore, TokenSigner,
};
use fidogate_core::trust::{TrustAnchor, TrustAnchors};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The largest request body the gateway can hold for replay upstream.
pub const MAX_BODY_LIMIT: usize = 64 * 1024;

/// Log levels accepted.
pub const LOG_LEVELS: [&str; 5] = ["error", "warn", "info", "debug", "trace"];

/// One trust anchor file (PEM, one or more certificates).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnchorConfig {
    /// The PEM file, relative to the configuration file.
    pub path: PathBuf,
    /// Limit the anchors to one attestation format (`packed`, `tpm`, …) or
    /// one UAF AAID; every format when left out.
    #[serde(default)]
    pub scope: Option<String>,
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Addresses to listen on, each plain or with TLS.
    #[serde(default = "default_listen")]
    pub listen: Vec<ListenConfig>,
    /// The app's addresses (round robin).
    pub upstream: Vec<String>,
    /// TLS to the app: the name it is asked for and checked against, and
    /// the CAs trusted for it; plain HTTP when absent.
    #[serde(default)]
    pub upstream_tls: Option<UpstreamTls>,
    /// Where `GET /metrics` is served (Prometheus text format), on a
    /// listener of its own; off when absent.
    #[serde(default)]
    pub metrics_listen: Option<String>,
    /// Worker threads.
    #[serde(default = "default_threads")]
    pub threads: usize,
    /// Seconds given to requests in flight on shutdown.
    #[serde(default = "default_grace")]
    pub grace_period_secs: u64,
    /// The Unix socket over which `fidogate run --upgrade` takes the
    /// listening sockets of the running instance.
    #[serde(default = "default_upgrade_sock")]
    pub upgrade_sock: PathBuf,
    /// Where `fidogate run --daemon` writes its process ID.
    #[serde(default = "default_pid_file")]
    pub pid_file: PathBuf,
    /// `error`, `warn`, `info`, `debug` or `trace`.
    #[serde(default = "default_log_level")]
    pub log_level: String,
    /// Where the gateway answers health checks (GET).
    #[serde(default = "default_healthz")]
    pub healthz_path: String,
    /// Seconds to wait for a whole intercepted request body.
    #[serde(default = "default_body_timeout")]
    pub body_read_timeout_secs: u64,
    /// Seconds the app may take to accept a connection, to take a request
    /// and to send each part of its answer; past it, 504.
    #[serde(default = "default_upstream_timeout")]
    pub upstream_timeout_secs: u64,
    /// The PKCS#8 PEM signing key; generated on first start when missing.
    #[serde(default = "default_key_file")]
    pub signing_key_file: PathBuf,
    /// 32 or more secret bytes: they seal the challenges the gateway
    /// issues and derive user handles; generated on first start when
    /// missing. Every instance behind one load balancer holds the same.
    #[serde(default = "default_secret_file")]
    pub secret_file: PathBuf,
    /// Earlier secrets, each in its own file (never generated): challenges
    /// they sealed still open, while `secret_file` seals new ones.
    #[serde(default)]
    pub previous_secret_files: Vec<PathBuf>,
    /// Attestation trust anchors.
    #[serde(default)]
    pub trust_anchors: Vec<AnchorConfig>,
    /// FIDO metadata (MDS3): a BLOB, statements, and the policy; off when
    /// absent.
    #[serde(default)]
    pub metadata: Option<MetadataConfig>,
    /// The engine.
    pub gateway: GatewayConfig,
}

/// The `metadata` section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetadataConfig {
    /// The signed BLOB (the compact JWS the FIDO MDS serves).
    #[serde(default)]
    pub blob_file: Option<PathBuf>,
    /// PEM roots the BLOB may chain to, besides the shipped GlobalSign
    /// Root CA - R3.
    #[serde(default)]
    pub roots: Vec<PathBuf>,
    /// CRL files (PEM or DER) for the BLOB's signing path.
    #[serde(default)]
    pub crl_files: Vec<PathBuf>,
    /// `require`, `if_present` or `off`.
    #[serde(default = "default_revocation")]
    pub revocation: String,
    /// Metadata statement files, folders of them, or decoded payloads:
    /// the operator vouches for them.
    #[serde(default)]
    pub statements: Vec<PathBuf>,
    /// Where the last accepted BLOB's `no` is kept (a BLOB must not go
    /// backwards); not kept when absent.
    #[serde(default)]
    pub state_file: Option<PathBuf>,
    /// A BLOB past its `nextUpdate`: `reject` or `warn`.
    #[serde(default = "default_stale")]
    pub stale: String,
    /// Accepted `legalHeader` values; any when empty.
    #[serde(default)]
    pub legal_headers: Vec<String>,
    /// How often the BLOB file is looked at for a new one, in seconds; 0
    /// never.
    #[serde(default = "default_reload_secs")]
    pub reload_secs: u64,
    /// What metadata decides (routes may have their own).
    #[serde(default)]
    pub policy: fidogate_core::gateway::MetadataPolicyConfig,
}

fn default_revocation() -> String {
    "if_present".to_owned()
}
fn default_stale() -> String {
    "warn".to_owned()
}
fn default_reload_secs() -> u64 {
    60
}

fn default_listen() -> Vec<ListenConfig> {
    vec![ListenConfig::Plain("127.0.0.1:8080".to_owned())]
}

/// One listener: a plain `IP:port`, or an address with TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenConfig {
    /// Plain HTTP/1.1 (and HTTP/2 with prior knowledge, as Pingora does).
    Plain(String),
    /// TLS, offering HTTP/2 and HTTP/1.1 by ALPN.
    Tls {
        /// `IP:port`.
        address: String,
        /// The certificate and key files.
        tls: TlsFiles,
    },
}

/// TLS to the app.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamTls {
    /// The server name sent (SNI) and checked in the app's certificate.
    pub sni: String,
    /// PEM certificates of the CAs trusted for the app's certificate
    /// instead of the system's roots (relative to the configuration file).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

/// A TLS listener's files.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// PEM certificate chain, the server's certificate first.
    pub cert_file: PathBuf,
    /// PEM private key: PKCS#8, SEC1 or PKCS#1.
    pub key_file: PathBuf,
    /// When both files are missing, `fidogate run` generates a
    /// self-signed certificate into them (a demo, a first start).
    #[serde(default)]
    pub self_signed: bool,
}

impl ListenConfig {
    /// The `IP:port` text.
    pub fn address(&self) -> &str {
        match self {
            Self::Plain(a) | Self::Tls { address: a, .. } => a,
        }
    }
}

impl std::fmt::Display for ListenConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Plain(a) => write!(f, "{a}"),
            Self::Tls { address, .. } => write!(f, "{address} (TLS: HTTP/2, HTTP/1.1)"),
        }
    }
}

impl<'de> Deserialize<'de> for ListenConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct WithTls {
            address: String,
            tls: TlsFiles,
        }
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = ListenConfig;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an \"IP:port\" string or {address, tls: {cert_file, key_file}}")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ListenConfig, E> {
                Ok(ListenConfig::Plain(v.to_owned()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<ListenConfig, A::Error> {
                let w = WithTls::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(ListenConfig::Tls {
                    address: w.address,
                    tls: w.tls,
                })
            }
        }
        d.deserialize_any(Visit)
    }
}

/// A listener as loaded: its address, and its certificate when TLS.
#[derive(Debug, Clone)]
pub struct Listener {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The certificate served, for a TLS listener.
    pub tls: Option<crate::tls::ServerCert>,
    /// A TLS listener whose self-signed certificate `fidogate run`
    /// generates at start: where it writes the certificate and the key.
    pub generate: Option<(PathBuf, PathBuf)>,
}
fn default_threads() -> usize {
    2
}
fn default_grace() -> u64 {
    5
}
fn default_upgrade_sock() -> PathBuf {
    PathBuf::from("/tmp/fidogate-upgrade.sock")
}
fn default_pid_file() -> PathBuf {
    PathBuf::from("/tmp/fidogate.pid")
}
fn default_log_level() -> String {
    "info".to_owned()
}
fn default_healthz() -> String {
    "/healthz".to_owned()
}
fn default_body_timeout() -> u64 {
    10
}
fn default_upstream_timeout() -> u64 {
    30
}
fn default_key_file() -> PathBuf {
    PathBuf::from("fidogate-signing-key.pem")
}
fn default_secret_file() -> PathBuf {
    PathBuf::from("fidogate-secret")
}

/// A configuration problem: the file, the key and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {key}: {problem}")]
pub struct ConfigFileError {
    /// The file.
    pub file: String,
    /// The key (dotted path); `(file)` for the file as a whole.
    pub key: String,
    /// What is wrong.
    pub problem: String,
}

/// A loaded, validated configuration.
#[derive(Debug)]
pub struct Loaded {
    /// The file's contents with the environment overrides applied.
    pub file: FileConfig,
    /// The listeners, TLS files read and checked.
    pub listen: Vec<Listener>,
    /// Upstream addresses.
    pub upstream: Vec<SocketAddr>,
    /// Trust anchors read from their files.
    pub anchors: TrustAnchors,
    /// The key file, resolved against the configuration's folder.
    pub signing_key_path: PathBuf,
    /// The secret file, resolved likewise.
    pub secret_path: PathBuf,
    /// `previous_secret_files`, resolved.
    pub previous_secret_paths: Vec<PathBuf>,
    /// `gateway.challenge_store.ca_file`'s certificates (PEM), read.
    pub redis_roots: Option<Vec<u8>>,
    /// `metrics_listen`, parsed.
    pub metrics: Option<SocketAddr>,
    /// `upstream_tls.ca_file`, resolved, and its certificates (DER), read.
    pub upstream_roots: Option<(PathBuf, Vec<Vec<u8>>)>,
    /// The `metadata` section, its files read, and what they held when
    /// loaded.
    pub metadata: Option<(
        crate::metadata_files::Settings,
        crate::metadata_files::Configured,
    )>,
}

/// The key a deserialisation error is at, as the file spells it:
/// `gateway.routes[0].name`; a key that is empty or not a plain name is
/// quoted (`gateway.""`), and the file itself is `(file)`.
fn key_of(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    use std::fmt::Write as _;
    let mut out = String::new();
    for segment in path.iter() {
        let name = match segment {
            Segment::Seq { index } => {
                let _ = write!(out, "[{index}]");
                continue;
            }
            Segment::Map { key } => key.as_str(),
            Segment::Enum { variant } => variant.as_str(),
            Segment::Unknown => "?",
        };
        if !out.is_empty() {
            out.push('.');
        }
        let plain = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '?');
        if plain {
            out.push_str(name);
        } else {
            let _ = write!(out, "{name:?}");
        }
    }
    if out.is_empty() {
        "(file)".to_owned()
    } else {
        out
    }
}

/// Reads and validates `path`, applying environment overrides from `env`
/// (a lookup function, so tests need not touch the process environment).
pub fn load(path: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<Loaded, ConfigFileError> {
    let file = path.display().to_string();
    let err = |key: &str, problem: String| ConfigFileError {
        file: file.clone(),
        key: key.to_owned(),
        problem,
    };
    let bytes = crate::files::read_regular(path, crate::files::MAX_CONFIG_FILE)
        .map_err(|e| err("(file)", e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|_| err("(file)", "is not UTF-8".to_owned()))?;
    let de = serde_yaml::Deserializer::from_str(&text);
    let mut cfg: FileConfig = serde_path_to_error::deserialize(de).map_err(|e| {
        let shown = e.path().to_string();
        let key = key_of(e.path());
        let problem = e.into_inner().to_string();
        // serde_yaml may repeat the path at the start of its message.
        let problem = problem
            .strip_prefix(&format!("{shown}: "))
            .map_or(problem.clone(), str::to_owned);
        err(&key, problem)
    })?;
    if let Some(v) = env("FIDOGATE_LISTEN") {
        cfg.listen = split_list(&v)
            .into_iter()
            .map(ListenConfig::Plain)
            .collect();
    }
    if let Some(v) = env("FIDOGATE_UPSTREAM") {
        cfg.upstream = split_list(&v);
    }
    if let Some(v) = env("FIDOGATE_METRICS_LISTEN") {
        // Empty turns the metrics listener off.
        cfg.metrics_listen = Some(v.trim().to_owned()).filter(|v| !v.is_empty());
    }
    let addrs = |key: &str, list: &[String]| -> Result<Vec<SocketAddr>, ConfigFileError> {
        if list.is_empty() {
            return Err(err(key, "needs at least one address".to_owned()));
        }
        list.iter()
            .enumerate()
            .map(|(i, a)| {
                a.parse::<SocketAddr>().map_err(|_| {
                    err(
                        &format!("{key}[{i}]"),
                        format!("{a:?} is not an IP:port address"),
                    )
                })
            })
            .collect()
    };
    let listen_addrs: Vec<String> = cfg.listen.iter().map(|l| l.address().to_owned()).collect();
    let listen_addrs = addrs("listen", &listen_addrs)?;
    let upstream = addrs("upstream", &cfg.upstream)?;
    let metrics = match &cfg.metrics_listen {
        None => None,
        Some(a) => {
            let addr = a
                .parse::<SocketAddr>()
                .map_err(|_| err("metrics_listen", format!("{a:?} is not an IP:port address")))?;
            if listen_addrs.contains(&addr) {
                return Err(err(
                    "metrics_listen",
                    format!(
                        "{addr} is also in listen: metrics need a listener of their own (two port-0 listeners would share one socket)"
                    ),
                ));
            }
            Some(addr)
        }
    };
    if !(1..=256).contains(&cfg.threads) {
        return Err(err("threads", "must be 1 to 256".to_owned()));
    }
    if cfg.grace_period_secs > 3600 {
        return Err(err("grace_period_secs", "must be at most 3600".to_owned()));
    }
    if !(1..=600).contains(&cfg.body_read_timeout_secs) {
        return Err(err("body_read_timeout_secs", "must be 1 to 600".to_owned()));
    }
    if !(1..=600).contains(&cfg.upstream_timeout_secs) {
        return Err(err("upstream_timeout_secs", "must be 1 to 600".to_owned()));
    }
    if !LOG_LEVELS.contains(&cfg.log_level.as_str()) {
        return Err(err(
            "log_level",
            format!("must be one of {}", LOG_LEVELS.join(", ")),
        ));
    }
    if !cfg.healthz_path.starts_with('/') {
        return Err(err("healthz_path", "must start with '/'".to_owned()));
    }
    if cfg.gateway.body_limit > MAX_BODY_LIMIT {
        return Err(err(
            "gateway.body_limit",
            format!(
                "at most {MAX_BODY_LIMIT} bytes: the gateway holds the body to replay it upstream"
            ),
        ));
    }
    let base = path.parent().unwrap_or(Path::new("."));
    let resolve = |p: &Path| {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            base.join(p)
        }
    };
    let mut listen = Vec::with_capacity(cfg.listen.len());
    for (i, (l, addr)) in cfg.listen.iter().zip(listen_addrs).enumerate() {
        if let ListenConfig::Tls { tls, .. } = l {
            let (cert, key) = (resolve(&tls.cert_file), resolve(&tls.key_file));
            if tls.self_signed && !cert.exists() && !key.exists() {
                listen.push(Listener {
                    addr,
                    tls: None,
                    generate: Some((cert, key)),
                });
                continue;
            }
        }
        let tls = match l {
            ListenConfig::Plain(_) => None,
            ListenConfig::Tls { tls, .. } => Some(
                crate::tls::ServerCert::load(&resolve(&tls.cert_file), &resolve(&tls.key_file))
                    .map_err(|e| {
                        let key = if e.cert { "cert_file" } else { "key_file" };
                        err(&format!("listen[{i}].tls.{key}"), e.to_string())
                    })?,
            ),
        };
        listen.push(Listener {
            addr,
            tls,
            generate: None,
        });
    }
    let mut anchors = TrustAnchors::new();
    for (i, a) in cfg.trust_anchors.iter().enumerate() {
        let key = format!("trust_anchors[{i}].path");
        let p = resolve(&a.path);
        let pem = crate::files::read_regular(&p, crate::files::MAX_PEM_FILE)
            .map_err(|e| err(&key, format!("{}: {e}", p.display())))?;
        let found = TrustAnchor::from_pem(&pem, &p.display().to_string())
            .map_err(|e| err(&key, e.to_string()))?;
        if found.is_empty() {
            return Err(err(&key, "holds no certificate".to_owned()));
        }
        for anchor in found {
            match &a.scope {
                Some(scope) => anchors.add_scoped(scope, anchor),
                None => anchors.add_global(anchor),
            };
        }
    }
    // The engine validates its own part; its keys come back under `gateway.`.
    let probe_keys = GatewayKeys {
        signer: probe_signer().map_err(|e| err("signing_key_file", e))?,
        retired: vec![],
        secret: vec![0; 32],
        previous_secrets: vec![],
    };
    Gateway::new(
        cfg.gateway.clone(),
        probe_keys,
        TrustAnchors::new(),
        Arc::new(MokaChallengeStore::new(1)),
    )
    .map_err(|e| {
        let key = if e.key == "secret" {
            "secret_file".to_owned()
        } else {
            format!("gateway.{}", e.key)
        };
        err(&key, e.problem)
    })?;
    if let Some(url) = &cfg.gateway.challenge_store.url {
        fidogate_redis::check_url(url).map_err(|e| err("gateway.challenge_store.url", e))?;
    }
    // A CA file: every certificate must parse, so that a bad file fails
    // here and not at the first connection.
    let ca_file = |key: &str, path: &Path| -> Result<(PathBuf, Vec<u8>), ConfigFileError> {
        let p = resolve(path);
        let pem = crate::files::read_regular(&p, crate::files::MAX_PEM_FILE)
            .map_err(|e| err(key, format!("{}: {e}", p.display())))?;
        let found = TrustAnchor::from_pem(&pem, &p.display().to_string())
            .map_err(|e| err(key, e.to_string()))?;
        if found.is_empty() {
            return Err(err(key, format!("{} holds no certificate", p.display())));
        }
        Ok((p, pem))
    };
    let redis_roots = match &cfg.gateway.challenge_store.ca_file {
        Some(path) => Some(ca_file("gateway.challenge_store.ca_file", path)?.1),
        None => None,
    };
    let upstream_roots = match &cfg.upstream_tls {
        None => None,
        Some(tls) => {
            if rustls::pki_types::ServerName::try_from(tls.sni.as_str()).is_err() {
                return Err(err(
                    "upstream_tls.sni",
                    format!("{:?} is not a DNS name or IP address", tls.sni),
                ));
            }
            match &tls.ca_file {
                None => None,
                Some(path) => {
                    let key = "upstream_tls.ca_file";
                    let (p, pem) = ca_file(key, path)?;
                    let ders = crate::tls::pem_certificates(&pem)
                        .map_err(|e| err(key, format!("{}: {e}", p.display())))?;
                    Some((p, ders))
                }
            }
        }
    };
    let metadata = match &cfg.metadata {
        None => None,
        Some(m) => {
            let settings = metadata_settings(m, &resolve).map_err(|(k, p)| err(&k, p))?;
            let now = fidogate_core::UnixTime::from_system(std::time::SystemTime::now());
            let configured = crate::metadata_files::load_configured(&settings, now)
                .map_err(|(k, p)| err(&k, p))?;
            Some((settings, configured))
        }
    };
    Ok(Loaded {
        metadata,
        upstream_roots,
        signing_key_path: resolve(&cfg.signing_key_file),
        secret_path: resolve(&cfg.secret_file),
        previous_secret_paths: cfg
            .previous_secret_files
            .iter()
            .map(|p| resolve(p))
            .collect(),
        file: cfg,
        listen,
        upstream,
        anchors,
        redis_roots,
        metrics,
    })
}

/// The `metadata` section's files read and its values checked.
fn metadata_settings(
    m: &MetadataConfig,
    resolve: &dyn Fn(&Path) -> PathBuf,
) -> Result<crate::metadata_files::Settings, (String, String)> {
    use fidogate_core::metadata::{Revocation, read_crls};
    let revocation = Revocation::parse(&m.revocation).ok_or_else(|| {
        (
            "metadata.revocation".to_owned(),
            format!("{:?}: must be require, if_present or off", m.revocation),
        )
    })?;
    let stale_reject = match m.stale.as_str() {
        "reject" => true,
        "warn" => false,
        other => {
            return Err((
                "metadata.stale".to_owned(),
                format!("{other:?}: must be reject or warn"),
            ));
        }
    };
    let extra: Vec<PathBuf> = m.roots.iter().map(|p| resolve(p)).collect();
    let mut roots = fidogate_core::metadata::default_metadata_roots()
        .map_err(|e| ("metadata.roots".to_owned(), e.to_string()))?;
    for (i, p) in extra.iter().enumerate() {
        roots.extend(
            crate::metadata_files::root_file(p)
                .map_err(|e| (format!("metadata.roots[{i}]"), e.to_string()))?,
        );
    }
    let mut crls = Vec::new();
    for (i, p) in m.crl_files.iter().enumerate() {
        let key = format!("metadata.crl_files[{i}]");
        let p = resolve(p);
        let bytes = crate::files::read_regular(&p, crate::files::MAX_PEM_FILE)
            .map_err(|e| (key.clone(), format!("{}: {e}", p.display())))?;
        crls.extend(read_crls(&bytes).map_err(|e| (key, format!("{}: {e}", p.display())))?);
    }
    if revocation == Revocation::Require && crls.is_empty() {
        return Err((
            "metadata.crl_files".to_owned(),
            "revocation is require, and no CRL file is named".to_owned(),
        ));
    }
    if m.blob_file.is_none() && m.statements.is_empty() {
        return Err((
            "metadata".to_owned(),
            "names neither a blob_file nor statements".to_owned(),
        ));
    }
    let policy = m
        .policy
        .policy("metadata.policy")
        .map_err(|e| (e.key, e.problem))?;
    Ok(crate::metadata_files::Settings {
        blob_file: m.blob_file.as_deref().map(resolve),
        roots,
        crls,
        revocation,
        statements: m.statements.iter().map(|p| resolve(p)).collect(),
        state_file: m.state_file.as_deref().map(resolve),
        stale_reject,
        legal_headers: m.legal_headers.clone(),
        policy,
    })
}

fn split_list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A throw-away signer, to validate the engine's configuration without
/// touching the key files.
fn probe_signer() -> Result<TokenSigner, String> {
    let key =
        rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|e| e.to_string())?;
    TokenSigner::from_pkcs8_der(&key.serialize_der()).map_err(|e| e.to_string())
}

/// What [`load_keys`] did, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOrigin {
    /// Read from the file.
    Read(PathBuf),
    /// Generated and written to the file (mode 0600).
    Generated(PathBuf),
}

/// Reads the signing key and the secret, generating and saving each that
/// does not exist yet.
pub fn load_keys(loaded: &Loaded) -> Result<(GatewayKeys, Vec<KeyOrigin>), ConfigFileError> {
    let err = |key: &str, p: &Path, problem: String| ConfigFileError {
        file: p.display().to_string(),
        key: key.to_owned(),
        problem,
    };
    let mut origins = Vec::new();
    let key_path = &loaded.signing_key_path;
    let pem = if key_path.exists() {
        origins.push(KeyOrigin::Read(key_path.clone()));
        let bytes = read_private(key_path).map_err(|e| err("signing_key_file", key_path, e))?;
        String::from_utf8(bytes).map_err(|_| {
            err(
                "signing_key_file",
                key_path,
                "is not a PEM file (not UTF-8)".to_owned(),
            )
        })?
    } else {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .map_err(|e| err("signing_key_file", key_path, e.to_string()))?;
        let pem = key.serialize_pem();
        write_private(key_path, pem.as_bytes())
            .map_err(|e| err("signing_key_file", key_path, e))?;
        origins.push(KeyOrigin::Generated(key_path.clone()));
        pem
    };
    let signer = TokenSigner::from_pkcs8_pem(&pem)
        .map_err(|e| err("signing_key_file", key_path, e.to_string()))?;
    let secret_path = &loaded.secret_path;
    let secret = if secret_path.exists() {
        origins.push(KeyOrigin::Read(secret_path.clone()));
        read_private(secret_path).map_err(|e| err("secret_file", secret_path, e))?
    } else {
        use rand::RngCore;
        let mut secret = vec![0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        write_private(secret_path, &secret).map_err(|e| err("secret_file", secret_path, e))?;
        origins.push(KeyOrigin::Generated(secret_path.clone()));
        secret
    };
    if secret.len() < 32 {
        return Err(err(
            "secret_file",
            secret_path,
            format!("holds {} bytes; 32 or more are needed", secret.len()),
        ));
    }
    let mut previous_secrets = Vec::new();
    for (i, path) in loaded.previous_secret_paths.iter().enumerate() {
        let key = format!("previous_secret_files[{i}]");
        let bytes = read_private(path).map_err(|e| err(&key, path, e))?;
        if bytes.len() < 32 {
            return Err(err(
                &key,
                path,
                format!("holds {} bytes; 32 or more are needed", bytes.len()),
            ));
        }
        origins.push(KeyOrigin::Read(path.clone()));
        previous_secrets.push(bytes);
    }
    Ok((
        GatewayKeys {
            signer,
            retired: vec![],
            secret,
            previous_secrets,
        },
        origins,
    ))
}

/// The largest key or secret file read.
const MAX_PRIVATE_FILE: u64 = 64 * 1024;

/// Reads a signing key or secret file: a regular file of at most 64 KiB
/// that no one but its owner may read and no one but its owner may change
/// (its group may read it, for a service group). Each problem is named.
fn read_private(path: &Path) -> Result<Vec<u8>, String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).map_err(|e| format!("cannot read: {e}"))?;
        let mode = meta.permissions().mode() & 0o777;
        if meta.is_file() && mode & 0o027 != 0 {
            return Err(format!(
                "has mode {mode:04o}: others may use it or its group may change it; \
                 `chmod 600` it (or 640 for a service group)"
            ));
        }
    }
    crate::files::read_regular(path, MAX_PRIVATE_FILE).map_err(|e| e.to_string())
}

/// Creates `path` (which must not exist) readable by its owner only, whole
/// or not at all: the bytes go to a temporary file beside it, synced, then
/// hard-linked into place (which, unlike a rename, never replaces a file
/// that appeared meanwhile) and the temporary name removed, so that a full
/// disk or a crash leaves no cut key behind for the next start to read.
pub fn write_private(path: &Path, data: &[u8]) -> Result<(), String> {
    use std::io::Write;
    if path.exists() {
        return Err("cannot create: it already exists".to_owned());
    }
    let name = path
        .file_name()
        .ok_or_else(|| "cannot create: not a file name".to_owned())?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(".{}.tmp", std::process::id()));
    let temp = path.with_file_name(temp_name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(&temp)
        .map_err(|e| format!("cannot create: {e}"))?;
    let written = f
        .write_all(data)
        .and_then(|()| f.sync_all())
        .map_err(|e| format!("cannot write: {e}"));
    drop(f);
    let placed = written.and_then(|()| {
        // A hard link fails if `path` appeared meanwhile: never replaced.
        std::fs::hard_link(&temp, path).map_err(|e| format!("cannot create: {e}"))
    });
    let _ = std::fs::remove_file(&temp);
    placed?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(dir) = std::fs::File::open(dir)
    {
        let _ = dir.sync_all();
    }
    Ok(())
}
