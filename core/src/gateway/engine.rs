//! The engine: one decision per request, shared by every adapter.

use super::challenge::{ChallengeContext, ChallengeStore};
use super::config::{ChallengeSource, ConfigError, Dialect, GatewayConfig, RouteConfig};
use super::dialect::{self, Failure, Verifier, dfns, uaf, webauthn};
use super::reply::{Refusal, Reply};
use super::route::{PathTemplate, RequestPath};
use super::token::{CredentialClaims, TokenSigner, jwks_json};
use crate::b64;
use crate::error::ErrorClass;
use crate::time::UnixTime;
use crate::trust::TrustAnchors;
use crate::uaf::{RegistrationPolicy, ServerDataKey, challenge_from_random};
use crate::webauthn::{Policy, RelyingParty, UserVerification};
use hmac::{Hmac, Mac};
use http::header::CONTENT_LENGTH;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;
use std::sync::Arc;
use std::time::Duration;

/// Fewest bytes an upstream-issued challenge may have.
pub const MIN_UPSTREAM_CHALLENGE_LEN: usize = 16;

/// The gateway's secrets.
#[derive(Clone)]
pub struct GatewayKeys {
    /// Signs the verified-credential header.
    pub signer: TokenSigner,
    /// Retired public keys (JWKs) still served in the JWKS.
    pub retired: Vec<Value>,
    /// 32 or more secret bytes: derive stable WebAuthn user handles and
    /// key the UAF serverData MAC.
    pub secret: Vec<u8>,
}

impl std::fmt::Debug for GatewayKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayKeys")
            .field("signer", &self.signer)
            .finish_non_exhaustive()
    }
}

/// What the adapter supplies per request: the time, and fresh random bytes
/// (core has neither a clock nor a random source).
#[derive(Debug, Clone, Copy)]
pub struct Env {
    /// Now.
    pub now: UnixTime,
    /// 48 fresh random bytes: 32 for a challenge, 16 for a token ID.
    pub random: [u8; 48],
}

/// Which endpoint of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// The endpoint that issues challenges.
    Options,
    /// The endpoint that takes registrations.
    Result,
}

/// The first decision, made on the request head alone.
#[derive(Debug)]
pub enum RequestAction {
    /// Not intercepted: forward as it is (after removing spoofed headers).
    PassThrough,
    /// Answer directly (JWKS, 405, 413 by Content-Length).
    Respond(Reply),
    /// Intercepted: read the body, at most [`Intercept::limit`] bytes, then
    /// call [`Gateway::on_body`] (or [`Gateway::too_large`] past the limit).
    ReadBody(Intercept),
}

/// An intercepted request, between its head and its body.
#[derive(Debug, Clone)]
pub struct Intercept {
    route: usize,
    endpoint: Endpoint,
    username: Option<String>,
    limit: usize,
    name: String,
    dialect: Dialect,
}

impl Intercept {
    /// The most body bytes to read.
    pub fn limit(&self) -> usize {
        self.limit
    }
    /// The route's name.
    pub fn route_name(&self) -> &str {
        &self.name
    }
    /// The route's dialect.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }
    /// Which endpoint.
    pub fn endpoint(&self) -> Endpoint {
        self.endpoint
    }
}

/// The decision on an intercepted request's body.
#[derive(Debug)]
pub enum BodyAction {
    /// Answer directly; nothing goes upstream.
    Respond(Reply),
    /// Forward the body unchanged, with these headers added.
    Forward(Forward),
}

/// A request to forward.
#[derive(Debug)]
pub struct Forward {
    /// Headers to add (the verified-credential header).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// When set, the app's answer goes through [`Gateway::on_response`].
    pub after: Option<AfterResponse>,
    /// The verified claims, for logs.
    pub claims: Option<Box<CredentialClaims>>,
}

/// What the gateway still has to do with the app's answer.
#[derive(Debug, Clone)]
pub struct AfterResponse {
    route: usize,
    kind: AfterKind,
}

#[derive(Debug, Clone)]
enum AfterKind {
    /// Read the upstream-issued challenge from the answer.
    Capture { username: Option<String> },
    /// Answer with the token (cloud authenticator dialect).
    Token { token: String },
}

impl AfterResponse {
    /// Whether the app's answer with this status must be read (at most
    /// [`Gateway::response_limit`] bytes) and passed to
    /// [`Gateway::on_response`]; other answers pass through.
    pub fn wants_body(&self, status: StatusCode) -> bool {
        status.is_success()
    }

    /// Whether the decision depends on the app's whole answer (an
    /// upstream-issued challenge), so the client may see nothing of it
    /// before [`Gateway::on_response`]; otherwise only its status matters.
    pub fn depends_on_answer_body(&self) -> bool {
        matches!(self.kind, AfterKind::Capture { .. })
    }
}

/// The decision on the app's answer.
#[derive(Debug)]
pub enum ResponseAction {
    /// Send the app's answer as it is.
    Keep,
    /// Send this instead.
    Replace(Reply),
}

struct Route {
    config: RouteConfig,
    options: (Method, PathTemplate),
    result: (Method, PathTemplate),
    pointer: String,
    ttl: Duration,
}

struct Inner {
    config: GatewayConfig,
    header_name: HeaderName,
    header_key: String,
    jwks_path: PathTemplate,
    jwks: Vec<u8>,
    routes: Vec<Route>,
    signer: TokenSigner,
    secret: Vec<u8>,
    verifier: Verifier,
    store: Arc<dyn ChallengeStore>,
}

/// The gateway engine. Cheap to clone; share one per process.
///
/// See the [module documentation](super) for the request flow.
#[derive(Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("routes", &self.inner.config.routes)
            .finish_non_exhaustive()
    }
}

/// A header name's byte as proxies and CGI-style servers may fold it:
/// case-insensitive, `_` read as `-`.
fn fold(b: u8) -> u8 {
    if b == b'_' {
        b'-'
    } else {
        b.to_ascii_lowercase()
    }
}

/// `name` folded (the configured header's comparison key).
fn header_key(name: &str) -> String {
    name.bytes().map(|b| char::from(fold(b))).collect()
}

/// Whether `name` folds to `key`, without allocating (it runs on every
/// header of every request).
fn folds_to(name: &str, key: &str) -> bool {
    name.len() == key.len() && name.bytes().zip(key.bytes()).all(|(n, k)| fold(n) == k)
}

impl Gateway {
    /// Builds the engine; every problem in `config` is named.
    pub fn new(
        config: GatewayConfig,
        keys: GatewayKeys,
        anchors: TrustAnchors,
        store: Arc<dyn ChallengeStore>,
    ) -> Result<Self, ConfigError> {
        let header_name = HeaderName::try_from(config.header_name.as_str())
            .map_err(|_| ConfigError::new("header_name", "not a valid HTTP header name"))?;
        let jwks_path = PathTemplate::parse(&config.jwks_path)
            .ok()
            // A parameter is the only place a template may hold a brace.
            .filter(|t| !t.as_str().contains('{'))
            .ok_or_else(|| ConfigError::new("jwks_path", "not a valid path without parameters"))?;
        if config.body_limit == 0 || config.body_limit > 64 * 1024 * 1024 {
            return Err(ConfigError::new("body_limit", "must be 1 byte to 64 MiB"));
        }
        if config.token_ttl_secs == 0 || config.token_ttl_secs > 3600 {
            return Err(ConfigError::new("token_ttl_secs", "must be 1 to 3600"));
        }
        if keys.secret.len() < 32 {
            return Err(ConfigError::new("secret", "needs at least 32 bytes"));
        }
        if config.rp.id.is_empty() {
            return Err(ConfigError::new("rp.id", "must not be empty"));
        }
        if config.rp.origins.is_empty() {
            return Err(ConfigError::new("rp.origins", "needs at least one origin"));
        }
        let user_verification = match config.webauthn.user_verification.as_str() {
            "required" => UserVerification::Required,
            "preferred" => UserVerification::Preferred,
            "discouraged" => UserVerification::Discouraged,
            _ => {
                return Err(ConfigError::new(
                    "webauthn.user_verification",
                    "must be required, preferred or discouraged",
                ));
            }
        };
        if !["none", "indirect", "direct", "enterprise"]
            .contains(&config.webauthn.attestation.as_str())
        {
            return Err(ConfigError::new(
                "webauthn.attestation",
                "must be none, indirect, direct or enterprise",
            ));
        }
        let mut routes: Vec<Route> = Vec::new();
        for (i, r) in config.routes.iter().enumerate() {
            let at = |k: &str| format!("routes[{i}].{k}");
            if r.name.is_empty() || routes.iter().any(|o| o.config.name == r.name) {
                return Err(ConfigError::new(at("name"), "must be set and unique"));
            }
            let endpoint = |which: &str, e: &Option<super::config::EndpointConfig>, default| {
                let (method, path) = e
                    .as_ref()
                    .map_or(("POST", default), |e| (e.method.as_str(), e.path.as_str()));
                let method =
                    Method::from_bytes(method.to_ascii_uppercase().as_bytes()).map_err(|_| {
                        ConfigError::new(at(&format!("{which}.method")), "not a method")
                    })?;
                let path = PathTemplate::parse(path)
                    .map_err(|e| ConfigError::new(at(&format!("{which}.path")), e))?;
                Ok::<_, ConfigError>((method, path))
            };
            let options = endpoint("options", &r.options, r.dialect.default_options_path())?;
            let result = endpoint("result", &r.result, r.dialect.default_result_path())?;
            for (which, (_, t)) in [("options", &options), ("result", &result)] {
                let clash = routes
                    .iter()
                    .any(|o| o.options.1.same_shape(t) || o.result.1.same_shape(t))
                    || (which == "result" && options.1.same_shape(t));
                if clash {
                    return Err(ConfigError::new(
                        at(&format!("{which}.path")),
                        format!("{} is already used by another endpoint", t.as_str()),
                    ));
                }
            }
            if r.dialect == Dialect::Uaf && config.uaf.app_id.is_empty() {
                return Err(ConfigError::new("uaf.app_id", "is needed by uaf routes"));
            }
            if r.challenge_ttl_secs == 0 || r.challenge_ttl_secs > 86_400 {
                return Err(ConfigError::new(
                    at("challenge_ttl_secs"),
                    "must be 1 to 86400",
                ));
            }
            let pointer = r
                .challenge_pointer
                .clone()
                .unwrap_or_else(|| r.dialect.default_challenge_pointer().to_owned());
            if !pointer.is_empty() && !pointer.starts_with('/') {
                return Err(ConfigError::new(
                    at("challenge_pointer"),
                    "a JSON pointer starts with '/'",
                ));
            }
            routes.push(Route {
                config: r.clone(),
                options,
                result,
                pointer,
                ttl: Duration::from_secs(r.challenge_ttl_secs),
            });
        }
        let mut rp = RelyingParty::new(config.rp.id.clone(), String::new());
        rp.origins.clone_from(&config.rp.origins);
        rp.top_origins.clone_from(&config.rp.top_origins);
        let policy = Policy {
            user_verification,
            accept_untrusted: !config.webauthn.require_trusted,
            ..Policy::default()
        };
        let server_data_key = ServerDataKey::new(&derive(&keys.secret, b"uaf server data"))
            .map_err(|e| ConfigError::new("secret", e))?;
        let verifier = Verifier {
            rp_name: config
                .rp
                .name
                .clone()
                .unwrap_or_else(|| config.rp.id.clone()),
            rp,
            policy,
            attestation: config.webauthn.attestation.clone(),
            timeout_ms: config.webauthn.timeout_ms,
            anchors,
            uaf_app_id: config.uaf.app_id.clone(),
            uaf_trusted_facets: config.uaf.trusted_facets.clone(),
            uaf_policy: if config.uaf.aaids.is_empty() {
                RegistrationPolicy::any()
            } else {
                RegistrationPolicy::aaids(&config.uaf.aaids)
            },
            uaf_require_trusted: config.uaf.require_trusted,
            server_data_key,
        };
        let jwks = jwks_json(&keys.signer, &keys.retired)
            .to_string()
            .into_bytes();
        Ok(Self {
            inner: Arc::new(Inner {
                header_key: header_key(header_name.as_str()),
                header_name,
                jwks_path,
                jwks,
                routes,
                signer: keys.signer,
                secret: keys.secret,
                verifier,
                store,
                config,
            }),
        })
    }

    /// The verified-credential header's name.
    pub fn header_name(&self) -> &HeaderName {
        &self.inner.header_name
    }

    /// The JWKS document the gateway serves.
    pub fn jwks(&self) -> &[u8] {
        &self.inner.jwks
    }

    /// The most bytes of an app answer the gateway reads.
    pub fn response_limit(&self) -> usize {
        self.inner.config.response_limit
    }

    /// The configuration.
    pub fn config(&self) -> &GatewayConfig {
        &self.inner.config
    }

    /// The headers in `headers` that are client-sent copies of the
    /// verified-credential header: the same name in any case, or with `_`
    /// for `-`. Remove them all from every request, intercepted or not.
    pub fn spoofed_headers(&self, headers: &HeaderMap) -> Vec<HeaderName> {
        // `keys()` yields each name once; an empty result does not allocate.
        headers
            .keys()
            .filter(|k| folds_to(k.as_str(), &self.inner.header_key))
            .cloned()
            .collect()
    }

    /// The decision on a request head. `path` is the request target's path
    /// (a query is ignored).
    pub fn on_request(&self, method: &Method, path: &str, headers: &HeaderMap) -> RequestAction {
        let Some(path) = RequestPath::new(path) else {
            return RequestAction::PassThrough;
        };
        if (method == Method::GET || method == Method::HEAD)
            && self.inner.jwks_path.matches(&path).is_some()
        {
            return RequestAction::Respond(Reply {
                status: StatusCode::OK,
                body: self.inner.jwks.clone(),
                refusal: None,
            });
        }
        for (index, route) in self.inner.routes.iter().enumerate() {
            for (endpoint, (want, template)) in [
                (Endpoint::Options, &route.options),
                (Endpoint::Result, &route.result),
            ] {
                let Some(params) = template.matches(&path) else {
                    continue;
                };
                let dialect = route.config.dialect;
                if method != want {
                    return RequestAction::Respond(Reply::refuse(
                        dialect,
                        Refusal::Method,
                        format!("{} takes {want}, not {method}", template.as_str()),
                    ));
                }
                let limit = self.inner.config.body_limit;
                if let Some(len) = content_length(headers) {
                    match len {
                        Ok(len) if len <= limit as u64 => {}
                        Ok(len) => {
                            return RequestAction::Respond(Reply::refuse(
                                dialect,
                                Refusal::TooLarge,
                                format!("the body is {len} bytes; the limit is {limit}"),
                            ));
                        }
                        Err(()) => {
                            return RequestAction::Respond(Reply::refuse(
                                dialect,
                                Refusal::Verification(ErrorClass::Malformed),
                                "Content-Length is not a number",
                            ));
                        }
                    }
                }
                let username = params
                    .into_iter()
                    .find(|(k, _)| k == "username")
                    .map(|(_, v)| v);
                return RequestAction::ReadBody(Intercept {
                    route: index,
                    endpoint,
                    username,
                    limit,
                    name: route.config.name.clone(),
                    dialect,
                });
            }
        }
        RequestAction::PassThrough
    }

    /// The answer when an intercepted body turned out larger than
    /// [`Intercept::limit`] (no or a false Content-Length).
    pub fn too_large(&self, intercept: &Intercept) -> Reply {
        Reply::refuse(
            intercept.dialect,
            Refusal::TooLarge,
            format!("the body is over the limit of {} bytes", intercept.limit),
        )
    }

    /// The decision on an intercepted request's whole body.
    pub fn on_body(&self, intercept: &Intercept, body: &[u8], env: &Env) -> BodyAction {
        let Some(route) = self.inner.routes.get(intercept.route) else {
            return BodyAction::Respond(Reply::refuse(
                intercept.dialect,
                Refusal::Internal,
                "unknown route",
            ));
        };
        let dialect = route.config.dialect;
        if body.len() > intercept.limit {
            return BodyAction::Respond(self.too_large(intercept));
        }
        let outcome = match intercept.endpoint {
            Endpoint::Options => self.options(route, intercept, body, env),
            Endpoint::Result => self.result(route, intercept, body, env),
        };
        outcome.unwrap_or_else(|(class, message)| {
            BodyAction::Respond(Reply::refuse(
                dialect,
                Refusal::Verification(class),
                message,
            ))
        })
    }

    fn options(
        &self,
        route: &Route,
        intercept: &Intercept,
        body: &[u8],
        env: &Env,
    ) -> Result<BodyAction, Failure> {
        let req = dialect::options_request(body, intercept.username.as_deref())?;
        if route.config.challenge_source == ChallengeSource::Upstream {
            return Ok(BodyAction::Forward(Forward {
                headers: Vec::new(),
                after: Some(AfterResponse {
                    route: intercept.route,
                    kind: AfterKind::Capture {
                        username: req.username,
                    },
                }),
                claims: None,
            }));
        }
        let username = req
            .username
            .clone()
            .ok_or_else(|| dialect::malformed("username is missing"))?;
        let (random, _) = env.random.split_at(32);
        let dialect = route.config.dialect;
        let v = &self.inner.verifier;
        let expiry = env.now.plus(route.ttl);
        let (key, handle, answer) = if dialect == Dialect::Uaf {
            let challenge = challenge_from_random(random).map_err(dialect::malformed)?;
            let answer = uaf::options_answer(&challenge, &username, expiry, v)?;
            (challenge.into_bytes(), None, answer)
        } else {
            let challenge = b64::encode(random);
            let handle = self.user_handle(&username);
            let issued = webauthn::Issued {
                challenge: &challenge,
                user_handle: &handle,
                username: &username,
            };
            let answer = if dialect == Dialect::Dfns {
                dfns::options_answer(&req, &issued, v)?
            } else {
                webauthn::options_answer(&req, &issued, v)?
            };
            (random.to_vec(), Some(handle), answer)
        };
        self.inner.store.issue(
            &key,
            ChallengeContext::new(
                &route.config.name,
                &v.rp.rp_id,
                Some(&username),
                handle.as_deref(),
                env.now,
                route.ttl,
            ),
        );
        Ok(BodyAction::Respond(Reply::ok(&answer)))
    }

    fn result(
        &self,
        route: &Route,
        intercept: &Intercept,
        body: &[u8],
        env: &Env,
    ) -> Result<BodyAction, Failure> {
        let dialect = route.config.dialect;
        let (challenge, registration) = dialect::parse_registration(dialect, body)?;
        // Take the challenge before verifying: it is spent whether the
        // registration passes or not, and only one of two concurrent
        // submissions can get it.
        let context = self.inner.store.take(&challenge).ok_or((
            ErrorClass::Replay,
            "the challenge is unknown: never issued, already used, or expired".to_owned(),
        ))?;
        context
            .check(&route.config.name, intercept.username.as_deref(), env.now)
            .map_err(|e| (e.class(), e.to_string()))?;
        let v = &self.inner.verifier;
        let credentials = match dialect {
            Dialect::Webauthn | Dialect::Nevis => {
                webauthn::verify_all(&registration, &challenge, v, env.now)?
            }
            Dialect::Dfns => dfns::verify_all(&registration, &challenge, v, env.now)?,
            Dialect::Uaf => uaf::verify_all(
                &registration,
                context.username.as_deref(),
                route.config.challenge_source == ChallengeSource::Gateway,
                v,
                env.now,
            )?,
        };
        let (_, jti) = env.random.split_at(32);
        let now = env.now.as_secs();
        let claims = CredentialClaims {
            iss: self.inner.config.issuer.clone(),
            aud: self.inner.config.audience.clone(),
            iat: now,
            exp: now.saturating_add(
                i64::try_from(self.inner.config.token_ttl_secs).unwrap_or(i64::MAX),
            ),
            jti: b64::encode(jti),
            protocol: credentials
                .first()
                .map_or_else(String::new, |c| c.protocol.clone()),
            dialect: dialect.as_str().to_owned(),
            route: route.config.name.clone(),
            username: context.username.clone(),
            user_handle: context.user_handle.as_deref().map(b64::encode),
            credentials,
        };
        let token = self
            .inner
            .signer
            .sign(&claims)
            .map_err(|e| (ErrorClass::Internal, e.to_string()))?;
        let value = HeaderValue::from_str(&token).map_err(|_| {
            (
                ErrorClass::Internal,
                "token is not a header value".to_owned(),
            )
        })?;
        let after = (dialect == Dialect::Nevis).then_some(AfterResponse {
            route: intercept.route,
            kind: AfterKind::Token { token },
        });
        Ok(BodyAction::Forward(Forward {
            headers: vec![(self.inner.header_name.clone(), value)],
            after,
            claims: Some(Box::new(claims)),
        }))
    }

    /// The decision on the app's answer (only called when
    /// [`AfterResponse::wants_body`] said so), with at most
    /// [`Gateway::response_limit`] bytes of it (`None`: it was larger).
    pub fn on_response(
        &self,
        after: &AfterResponse,
        status: StatusCode,
        body: Option<&[u8]>,
        env: &Env,
    ) -> ResponseAction {
        let Some(route) = self.inner.routes.get(after.route) else {
            return ResponseAction::Keep;
        };
        let dialect = route.config.dialect;
        if !after.wants_body(status) {
            return ResponseAction::Keep;
        }
        let bad =
            |m: String| ResponseAction::Replace(Reply::refuse(dialect, Refusal::BadUpstream, m));
        match &after.kind {
            AfterKind::Token { token } => ResponseAction::Replace(Reply::ok(
                &json!({"status": "ok", "errorMessage": "", "token": token}),
            )),
            AfterKind::Capture { username } => {
                let Some(body) = body else {
                    return bad(format!(
                        "the app's answer is over {} bytes",
                        self.inner.config.response_limit
                    ));
                };
                let Ok(answer) = serde_json::from_slice::<Value>(body) else {
                    return bad("the app's answer is not JSON".to_owned());
                };
                // The UAF server answers refusals in its envelope, possibly
                // with status 200: those pass through as the app wrote them.
                if dialect == Dialect::Uaf
                    && answer
                        .get("code")
                        .and_then(Value::as_i64)
                        .is_some_and(|c| c != 200)
                {
                    return ResponseAction::Keep;
                }
                let Some(text) = answer.pointer(&route.pointer).and_then(Value::as_str) else {
                    return bad(format!(
                        "the app's answer has no challenge string at {}",
                        route.pointer
                    ));
                };
                let key = if dialect == Dialect::Uaf {
                    Some(text.as_bytes().to_vec())
                } else {
                    b64::decode(text).ok()
                };
                let Some(key) = key.filter(|k| k.len() >= MIN_UPSTREAM_CHALLENGE_LEN) else {
                    return bad(format!(
                        "the app's challenge at {} is not base64url of at least {MIN_UPSTREAM_CHALLENGE_LEN} bytes",
                        route.pointer
                    ));
                };
                let handle = answer
                    .pointer("/user/id")
                    .and_then(Value::as_str)
                    .and_then(|h| b64::decode(h).ok());
                self.inner.store.issue(
                    &key,
                    ChallengeContext::new(
                        &route.config.name,
                        &self.inner.verifier.rp.rp_id,
                        username.as_deref(),
                        handle.as_deref(),
                        env.now,
                        route.ttl,
                    ),
                );
                ResponseAction::Keep
            }
        }
    }

    /// A stable, opaque WebAuthn user handle for `username`.
    fn user_handle(&self, username: &str) -> Vec<u8> {
        let mut input = b"user handle\0".to_vec();
        input.extend_from_slice(self.inner.verifier.rp.rp_id.as_bytes());
        input.push(0);
        input.extend_from_slice(username.as_bytes());
        derive(&self.inner.secret, &input)
    }
}

/// HMAC-SHA-256 of `label` under `secret`.
fn derive(secret: &[u8], label: &[u8]) -> Vec<u8> {
    match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(label);
            mac.finalize().into_bytes().to_vec()
        }
        // HMAC takes keys of any length.
        Err(_) => Vec::new(),
    }
}

/// The Content-Length, if there is one: `Err` if it is not one number (or
/// several headers disagree).
fn content_length(headers: &HeaderMap) -> Option<Result<u64, ()>> {
    let mut values = headers.get_all(CONTENT_LENGTH).iter();
    let first = values.next()?;
    let parse = |v: &HeaderValue| {
        v.to_str()
            .ok()
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or(())
    };
    let len = parse(first);
    for other in values {
        if parse(other) != len {
            return Some(Err(()));
        }
    }
    Some(len)
}
