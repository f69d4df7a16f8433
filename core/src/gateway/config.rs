//! The engine's configuration: what the gateway is, which routes it
//! intercepts, and how each gets its challenges. Plain data with serde, so
//! the same types read the `fidogate` YAML file and are built in code by a
//! tower user.

use serde::Deserialize;

/// The registration dialects the gateway speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    /// The FIDO2 conformance server API: `/attestation/options`,
    /// `/attestation/result`.
    Webauthn,
    /// The cloud authenticator's `/_app/attestation/result`.
    Nevis,
    /// The wallet API's `/auth/registration` (`Fido2`, `Key`,
    /// `PasswordProtectedKey`, `RecoveryKey` credentials).
    Dfns,
    /// FIDO UAF `/regRequest` and `/regResponse`.
    Uaf,
}

impl Dialect {
    /// The dialect's name in configuration and in the header.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webauthn => "webauthn",
            Self::Nevis => "nevis",
            Self::Dfns => "dfns",
            Self::Uaf => "uaf",
        }
    }
}

/// Who issues a route's challenges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChallengeSource {
    /// The gateway answers the options endpoint itself.
    #[default]
    Gateway,
    /// The app answers it; the gateway reads the challenge from the app's
    /// JSON answer and remembers it.
    Upstream,
}

/// One HTTP endpoint: method and path template (`{name}` matches one
/// path segment; `{username}` names the user).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointConfig {
    /// The method; `POST` when left out.
    #[serde(default = "default_method")]
    pub method: String,
    /// The path template.
    pub path: String,
}

fn default_method() -> String {
    "POST".to_owned()
}

/// One registration flow: a dialect's options and result endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// A name, unique among routes; challenges are bound to it.
    pub name: String,
    /// The dialect.
    pub dialect: Dialect,
    /// The endpoint issuing challenges; the dialect's default when left out.
    #[serde(default)]
    pub options: Option<EndpointConfig>,
    /// The endpoint taking registrations; the dialect's default when left out.
    #[serde(default)]
    pub result: Option<EndpointConfig>,
    /// Who issues challenges.
    #[serde(default)]
    pub challenge_source: ChallengeSource,
    /// With `upstream`: the JSON pointer to the challenge in the app's
    /// answer; the dialect's default when left out.
    #[serde(default)]
    pub challenge_pointer: Option<String>,
    /// How long a challenge stays valid, in seconds.
    #[serde(default = "default_challenge_ttl")]
    pub challenge_ttl_secs: u64,
    /// The COSE algorithms this route's credential keys may use, in the
    /// order the options offer them; `webauthn.algorithms` when left out.
    #[serde(default)]
    pub algorithms: Option<Vec<i64>>,
    /// This route's metadata policy, in place of `metadata.policy`.
    #[serde(default)]
    pub metadata_policy: Option<MetadataPolicyConfig>,
}

/// What FIDO metadata decides (`metadata.policy`, or a route's own).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetadataPolicyConfig {
    /// Refuse authenticators without an entry.
    #[serde(default)]
    pub require_entry: bool,
    /// The lowest certification level accepted (`FIDO_CERTIFIED_L1`, …).
    #[serde(default)]
    pub require_certified: Option<String>,
    /// Statuses that refuse when a report in effect has one.
    #[serde(default = "default_reject_statuses")]
    pub reject_statuses: Vec<String>,
    /// Refuse a WebAuthn credential whose algorithm the statement does
    /// not list (else the header reports it).
    #[serde(default)]
    pub refuse_unlisted_algorithm: bool,
}

fn default_reject_statuses() -> Vec<String> {
    crate::metadata::DEFAULT_REJECT_STATUSES
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
}

impl Default for MetadataPolicyConfig {
    fn default() -> Self {
        Self {
            require_entry: false,
            require_certified: None,
            reject_statuses: default_reject_statuses(),
            refuse_unlisted_algorithm: false,
        }
    }
}

impl MetadataPolicyConfig {
    /// The policy, every value checked (`key` names the section).
    pub fn policy(&self, key: &str) -> Result<crate::metadata::MetadataPolicy, ConfigError> {
        use crate::metadata::{AUTHENTICATOR_STATUSES, is_certification_level};
        if let Some(level) = &self.require_certified
            && !is_certification_level(level)
        {
            return Err(ConfigError::new(
                format!("{key}.require_certified"),
                format!(
                    "{level:?} is not a certification level (FIDO_CERTIFIED_L1 … FIDO_CERTIFIED_L3plus)"
                ),
            ));
        }
        if let Some(s) = self
            .reject_statuses
            .iter()
            .find(|s| !AUTHENTICATOR_STATUSES.contains(&s.as_str()))
        {
            return Err(ConfigError::new(
                format!("{key}.reject_statuses"),
                format!("{s:?} is not an authenticator status"),
            ));
        }
        Ok(crate::metadata::MetadataPolicy {
            require_entry: self.require_entry,
            require_certified: self.require_certified.clone(),
            reject_statuses: self.reject_statuses.clone(),
            refuse_unlisted_algorithm: self.refuse_unlisted_algorithm,
        })
    }
}

fn default_challenge_ttl() -> u64 {
    300
}

impl RouteConfig {
    /// A route with the dialect's default endpoints and gateway-issued
    /// challenges.
    pub fn new(name: impl Into<String>, dialect: Dialect) -> Self {
        Self {
            name: name.into(),
            dialect,
            options: None,
            result: None,
            challenge_source: ChallengeSource::Gateway,
            challenge_pointer: None,
            challenge_ttl_secs: default_challenge_ttl(),
            algorithms: None,
            metadata_policy: None,
        }
    }

    /// The same route with challenges issued by the app.
    pub fn upstream_challenges(mut self) -> Self {
        self.challenge_source = ChallengeSource::Upstream;
        self
    }
}

/// The relying party (WebAuthn) the gateway verifies for.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RpConfig {
    /// The RP ID (a registrable domain, e.g. `example.com`).
    pub id: String,
    /// The RP name shown by authenticators.
    #[serde(default)]
    pub name: Option<String>,
    /// Origins registrations may come from (`https://example.com`).
    pub origins: Vec<String>,
    /// Top-level origins allowed for cross-origin iframes.
    #[serde(default)]
    pub top_origins: Vec<String>,
}

/// WebAuthn policy knobs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebauthnConfig {
    /// `required`, `preferred` or `discouraged`.
    #[serde(default = "default_uv")]
    pub user_verification: String,
    /// Attestation conveyance the options ask for when the client does not
    /// say: `none`, `indirect`, `direct` or `enterprise`.
    #[serde(default = "default_attestation")]
    pub attestation: String,
    /// Refuse registrations whose attestation does not chain to a
    /// configured trust anchor.
    #[serde(default)]
    pub require_trusted: bool,
    /// The `timeout` the options carry, in milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// The COSE algorithms credential keys may use (every route's, unless
    /// the route lists its own), in the order the options offer them.
    /// When left out: every supported one but RS1 (-65535), which is
    /// accepted only when listed.
    #[serde(default)]
    pub algorithms: Option<Vec<i64>>,
}

fn default_uv() -> String {
    "preferred".to_owned()
}
fn default_attestation() -> String {
    "none".to_owned()
}
fn default_timeout_ms() -> u64 {
    300_000
}

impl Default for WebauthnConfig {
    fn default() -> Self {
        Self {
            user_verification: default_uv(),
            attestation: default_attestation(),
            require_trusted: false,
            timeout_ms: default_timeout_ms(),
            algorithms: None,
        }
    }
}

/// FIDO UAF settings.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UafConfig {
    /// The AppID (`https://…/facets`).
    #[serde(default)]
    pub app_id: String,
    /// Trusted FacetIDs; empty trusts the AppID's own origin.
    #[serde(default)]
    pub trusted_facets: Vec<String>,
    /// AAIDs that may register; empty accepts any.
    #[serde(default)]
    pub aaids: Vec<String>,
    /// Refuse attestations that do not chain to an anchor for their AAID.
    #[serde(default)]
    pub require_trusted: bool,
}

/// Everything the engine needs besides keys, trust anchors and the store.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    /// `iss` of the verified-credential header.
    #[serde(default = "default_issuer")]
    pub issuer: String,
    /// `aud` of the verified-credential header.
    #[serde(default = "default_audience")]
    pub audience: String,
    /// The verified-credential header's name.
    #[serde(default = "default_header_name")]
    pub header_name: String,
    /// Where the gateway serves its JWKS (GET).
    #[serde(default = "default_jwks_path")]
    pub jwks_path: String,
    /// Where the gateway serves `fidogate.js`, the browser client (GET);
    /// empty: not served.
    #[serde(default = "default_client_path")]
    pub client_path: String,
    /// Largest request body accepted on intercepted routes, in bytes.
    #[serde(default = "default_body_limit")]
    pub body_limit: usize,
    /// Largest app answer the gateway reads (upstream-issued challenges).
    #[serde(default = "default_response_limit")]
    pub response_limit: usize,
    /// Lifetime of a verified-credential header, in seconds.
    #[serde(default = "default_token_ttl")]
    pub token_ttl_secs: u64,
    /// Most challenges remembered at once by the memory store (pending
    /// app-issued ones, least recently issued go first; spent sealed ones,
    /// never dropped before they expire).
    #[serde(default = "default_challenge_capacity")]
    pub challenge_capacity: u64,
    /// Where challenges are kept: this process (the default) or Redis.
    #[serde(default)]
    pub challenge_store: ChallengeStoreConfig,
    /// A limit per client on the intercepted endpoints; none when absent.
    #[serde(default)]
    pub rate_limit: Option<RateLimitConfig>,
    /// Peers whose `X-Forwarded-For` is believed (CIDR blocks or
    /// addresses): behind them, the client is the rightmost address that
    /// is not one of them.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// The WebAuthn relying party.
    pub rp: RpConfig,
    /// WebAuthn policy.
    #[serde(default)]
    pub webauthn: WebauthnConfig,
    /// UAF settings (needed by `uaf` routes).
    #[serde(default)]
    pub uaf: UafConfig,
    /// The intercepted flows.
    pub routes: Vec<RouteConfig>,
}

/// A per-client limit on the intercepted endpoints: `burst` requests at
/// once, then `per_client_per_sec` a second; over it, 429 with
/// `Retry-After` in the dialect's error shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Requests a second, once the burst is spent.
    pub per_client_per_sec: u32,
    /// Requests allowed at once.
    pub burst: u32,
    /// Clients tracked at once (IPv6 clients by their /64).
    #[serde(default = "default_max_clients")]
    pub max_clients: usize,
}

fn default_max_clients() -> usize {
    100_000
}

impl RateLimitConfig {
    /// `per_client_per_sec` a second after a burst of `burst`.
    pub fn new(per_client_per_sec: u32, burst: u32) -> Self {
        Self {
            per_client_per_sec,
            burst,
            max_clients: default_max_clients(),
        }
    }

    /// Checks the bounds; problems name the key under `rate_limit`.
    pub fn check(&self) -> Result<(), ConfigError> {
        let at = |k: &str| format!("rate_limit.{k}");
        if self.per_client_per_sec == 0 || self.per_client_per_sec > 1_000_000 {
            return Err(ConfigError::new(
                at("per_client_per_sec"),
                "must be 1 to 1000000",
            ));
        }
        if self.burst == 0 || self.burst > 1_000_000 {
            return Err(ConfigError::new(at("burst"), "must be 1 to 1000000"));
        }
        if self.max_clients == 0 || self.max_clients > 100_000_000 {
            return Err(ConfigError::new(
                at("max_clients"),
                "must be 1 to 100000000",
            ));
        }
        Ok(())
    }
}

/// Which challenge store the adapter builds (the engine takes any
/// [`ChallengeStore`](super::ChallengeStore); this is what the `fidogate`
/// binary reads).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChallengeStoreConfig {
    /// `memory` or `redis`.
    #[serde(default)]
    pub kind: StoreKind,
    /// With `redis`: `redis://` or `rediss://` URL.
    #[serde(default)]
    pub url: Option<String>,
    /// With `redis`: the prefix of every key.
    #[serde(default = "default_key_prefix")]
    pub key_prefix: String,
    /// With `redis`: the deadline of every call, in milliseconds.
    #[serde(default = "default_store_timeout")]
    pub timeout_ms: u64,
    /// With a `rediss://` URL: PEM certificates of the CAs that may issue
    /// the Redis server's certificate, trusted instead of the public web
    /// roots (relative to the configuration file).
    #[serde(default)]
    pub ca_file: Option<std::path::PathBuf>,
}

impl Default for ChallengeStoreConfig {
    fn default() -> Self {
        Self {
            kind: StoreKind::Memory,
            url: None,
            key_prefix: default_key_prefix(),
            timeout_ms: default_store_timeout(),
            ca_file: None,
        }
    }
}

/// The kinds of challenge store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// In this process (moka): single use per instance.
    #[default]
    Memory,
    /// Redis, shared by every instance that points at it.
    Redis,
}

impl ChallengeStoreConfig {
    /// Checks what can be checked without connecting; problems name the
    /// key under `challenge_store`.
    pub fn check(&self) -> Result<(), ConfigError> {
        let at = |k: &str| format!("challenge_store.{k}");
        match (self.kind, self.url.as_deref()) {
            (StoreKind::Redis, None | Some("")) => {
                return Err(ConfigError::new(at("url"), "is needed by kind redis"));
            }
            (StoreKind::Redis, Some(u))
                if !u.starts_with("redis://") && !u.starts_with("rediss://") =>
            {
                return Err(ConfigError::new(
                    at("url"),
                    "must be a redis:// or rediss:// URL",
                ));
            }
            (StoreKind::Memory, Some(_)) => {
                return Err(ConfigError::new(at("url"), "is only for kind redis"));
            }
            _ => {}
        }
        if self.timeout_ms == 0 || self.timeout_ms > 60_000 {
            return Err(ConfigError::new(at("timeout_ms"), "must be 1 to 60000"));
        }
        let tls = self
            .url
            .as_deref()
            .is_some_and(|u| u.starts_with("rediss://"));
        if self.ca_file.is_some() && !tls {
            return Err(ConfigError::new(
                at("ca_file"),
                "is only for a rediss:// URL (Redis over TLS)",
            ));
        }
        Ok(())
    }
}

fn default_key_prefix() -> String {
    "fidogate:".to_owned()
}
fn default_store_timeout() -> u64 {
    200
}

fn default_issuer() -> String {
    "fidogate".to_owned()
}
fn default_audience() -> String {
    "upstream".to_owned()
}
fn default_header_name() -> String {
    "Fidogate-Credential".to_owned()
}
fn default_jwks_path() -> String {
    "/.well-known/fidogate/jwks.json".to_owned()
}
fn default_client_path() -> String {
    super::client::DEFAULT_CLIENT_PATH.to_owned()
}
fn default_body_limit() -> usize {
    64 * 1024
}
fn default_response_limit() -> usize {
    256 * 1024
}
fn default_token_ttl() -> u64 {
    60
}
fn default_challenge_capacity() -> u64 {
    100_000
}

impl GatewayConfig {
    /// A configuration with defaults for everything but the relying party
    /// and the routes.
    pub fn new(rp: RpConfig, routes: Vec<RouteConfig>) -> Self {
        Self {
            issuer: default_issuer(),
            audience: default_audience(),
            header_name: default_header_name(),
            jwks_path: default_jwks_path(),
            client_path: default_client_path(),
            body_limit: default_body_limit(),
            response_limit: default_response_limit(),
            token_ttl_secs: default_token_ttl(),
            challenge_capacity: default_challenge_capacity(),
            challenge_store: ChallengeStoreConfig::default(),
            rate_limit: None,
            trusted_proxies: Vec::new(),
            rp,
            webauthn: WebauthnConfig::default(),
            uaf: UafConfig::default(),
            routes,
        }
    }
}

/// A configuration the engine cannot run with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[error("{key}: {problem}")]
pub struct ConfigError {
    /// The key, as a dotted path (`routes[2].options.path`).
    pub key: String,
    /// What is wrong.
    pub problem: String,
}

impl ConfigError {
    /// A problem with `key`.
    pub fn new(key: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            problem: problem.into(),
        }
    }
}
