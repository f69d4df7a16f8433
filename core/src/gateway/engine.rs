//! The engine: the flow of one request through its three calls (head,
//! body, the app's answer), shared by every adapter. What differs by
//! dialect is asked of the route's dialect rules (`dialect/`, private).

use super::action::{
    AfterKind, AfterResponse, AppAnswer, BodyAction, Client, Endpoint, Failure, Forward, Intercept,
    RequestAction, ResponseAction,
};
use super::challenge::{ChallengeContext, ChallengeError, ChallengeStore, StoreFuture};
use super::client::Script;
use super::config::{ChallengeSource, ConfigError, GatewayConfig};
use super::dialect::{self, AppChallenge, Check, Registration, Verifier};
use super::error::{GatewayError, InternalError, RequestError, UpstreamError};
use super::headers::{content_length, header_key, spoofed};
use super::limit::{Cidr, ClientLimiter, client_of};
use super::observe::{Observer, Origin, Outcome, Place, Timer};
use super::reply::Reply;
use super::route::{PathTemplate, RequestPath};
use super::routes::{self, Route};
use super::seal::{SEAL_RANDOM_LEN, SealKeys, SealedUser};
use super::source::Env;
use super::token::{CredentialClaim, CredentialClaims, TokenSigner, jwks_json};
use crate::UnixTime;
use crate::b64;
use crate::metadata::{Metadata, MetadataPolicy};
use crate::trust::TrustAnchors;
use crate::uaf::RegistrationPolicy;
use crate::webauthn::{Policy, RelyingParty, UserVerification};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

pub use super::dialect::MIN_UPSTREAM_CHALLENGE_LEN;

/// The gateway's secrets.
#[derive(Clone)]
pub struct GatewayKeys {
    /// Signs the verified-credential header.
    pub signer: TokenSigner,
    /// Retired public keys (JWKs) still served in the JWKS.
    pub retired: Vec<Value>,
    /// 32 or more secret bytes: seal the challenges the gateway issues and
    /// derive stable WebAuthn user handles. Every instance that takes a
    /// registration must hold the secret that sealed its challenge.
    pub secret: Vec<u8>,
    /// Earlier secrets: challenges they sealed still open (rotation); new
    /// ones are sealed with `secret` only.
    pub previous_secrets: Vec<Vec<u8>>,
}

impl std::fmt::Debug for GatewayKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayKeys")
            .field("signer", &self.signer)
            .finish_non_exhaustive()
    }
}

struct Inner {
    config: GatewayConfig,
    header_name: HeaderName,
    header_key: String,
    jwks_path: PathTemplate,
    jwks: Vec<u8>,
    /// The UAF facet list, served at the AppID's path when the AppID is on
    /// one of the relying party's origins.
    facets: Option<(PathTemplate, Vec<u8>)>,
    /// `fidogate.js` and where it is served, unless turned off.
    client: Option<(PathTemplate, Script)>,
    routes: Vec<Arc<Route>>,
    /// FIDO metadata, replaced whole when a new BLOB is put in force.
    metadata: std::sync::RwLock<Option<Arc<Metadata>>>,
    default_metadata_policy: MetadataPolicy,
    signer: TokenSigner,
    verifier: Verifier,
    seals: SealKeys,
    store: Arc<dyn ChallengeStore>,
    limiter: Option<ClientLimiter>,
    trusted_proxies: Vec<Cidr>,
}

/// The gateway engine. Cheap to clone; share one per process.
///
/// See the [module documentation](super) for the request flow.
#[derive(Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
    observer: Option<Arc<dyn Observer>>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("routes", &self.inner.config.routes)
            .finish_non_exhaustive()
    }
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
        let client = if config.client_path.is_empty() {
            None
        } else {
            let at = PathTemplate::parse(&config.client_path)
                .ok()
                .filter(|t| !t.as_str().contains('{'))
                .ok_or_else(|| {
                    ConfigError::new("client_path", "not a valid path without parameters")
                })?;
            if at.same_shape(&jwks_path) {
                return Err(ConfigError::new("client_path", "is the jwks_path"));
            }
            Some((at, Script::new()))
        };
        if config.body_limit == 0 || config.body_limit > 64 * 1024 * 1024 {
            return Err(ConfigError::new("body_limit", "must be 1 byte to 64 MiB"));
        }
        if config.token_ttl_secs == 0 || config.token_ttl_secs > 3600 {
            return Err(ConfigError::new("token_ttl_secs", "must be 1 to 3600"));
        }
        if keys.secret.len() < 32 {
            return Err(ConfigError::new("secret", "needs at least 32 bytes"));
        }
        if let Some(i) = keys.previous_secrets.iter().position(|p| p.len() < 32) {
            return Err(ConfigError::new(
                format!("previous_secrets[{i}]"),
                "needs at least 32 bytes",
            ));
        }
        config.challenge_store.check()?;
        if let Some(limit) = &config.rate_limit {
            limit.check()?;
        }
        let trusted_proxies = config
            .trusted_proxies
            .iter()
            .enumerate()
            .map(|(i, c)| {
                Cidr::parse(c).map_err(|e| ConfigError::new(format!("trusted_proxies[{i}]"), e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let limiter = config
            .rate_limit
            .map(|l| ClientLimiter::new(l.per_client_per_sec, l.burst, l.max_clients));
        let verifier = verifier(&config, anchors, &keys.secret)?;
        let routes = routes::build(&config, &verifier.rp)?;
        let jwks = jwks_json(&keys.signer, &keys.retired)
            .to_string()
            .into_bytes();
        let facets = facet_list(&config);
        Ok(Self {
            inner: Arc::new(Inner {
                header_key: header_key(header_name.as_str()),
                header_name,
                jwks_path,
                jwks,
                facets,
                client,
                routes,
                metadata: std::sync::RwLock::new(None),
                default_metadata_policy: MetadataPolicy::default(),
                signer: keys.signer,
                verifier,
                seals: SealKeys::new(&keys.secret, &keys.previous_secrets),
                store,
                limiter,
                trusted_proxies,
                config,
            }),
            observer: None,
        })
    }

    /// The same gateway, telling `observer` how each request ended (the
    /// Prometheus one is `fidogate_metrics::Metrics`).
    #[must_use]
    pub fn with_observer(mut self, observer: Arc<dyn Observer>) -> Self {
        observer.watch_store(Arc::downgrade(&self.inner.store));
        self.observer = Some(observer);
        self
    }

    /// Whether an observer is told of requests (an adapter times
    /// pass-through requests only then).
    pub fn is_observed(&self) -> bool {
        self.observer.is_some()
    }

    /// Ends a request: the log line of an intercepted one, and the
    /// observer's record of any. `elapsed` is from the request head's
    /// arrival to the answer.
    pub fn finish(&self, outcome: &Outcome, elapsed: Duration) {
        outcome.log(elapsed);
        if let Some(observer) = &self.observer {
            observer.finished(outcome, elapsed);
        }
    }

    fn verifying(&self) -> Timer {
        self.observer
            .as_ref()
            .map_or(Timer(None), |o| o.verifying())
    }

    fn verified(&self, timer: Timer, route: &Route, credentials: &[CredentialClaim]) {
        if let Some(observer) = &self.observer {
            let fmt = credentials.first().map_or("none", |c| c.fmt.as_str());
            observer.verified(timer, &route.name, fmt);
        }
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
        spoofed(headers, &self.inner.header_key)
    }

    /// The answer to a health check: 200, or 503 when the challenge store
    /// does not answer (registrations are refused until it does).
    pub async fn health(&self) -> Reply {
        let origin = Origin::place(Place::Health);
        match self.inner.store.health().await {
            Ok(()) => Reply::ok(origin, &json!({"status": "ok"})),
            Err(_) => Reply::unavailable(
                origin,
                &json!({"status": "degraded", "challenge_store": "unreachable"}),
            ),
        }
    }

    /// The decision on a request head. `path` is the request target's path
    /// (a query is ignored); `client` is who sent it and when, for the
    /// per-client limit.
    pub fn on_request(
        &self,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
        client: Client,
    ) -> RequestAction {
        let Some(path) = RequestPath::new(path) else {
            return RequestAction::PassThrough;
        };
        if (method == Method::GET || method == Method::HEAD)
            && self.inner.jwks_path.matches(&path).is_some()
        {
            return RequestAction::Respond(Reply::raw(
                Origin::place(Place::Jwks),
                StatusCode::OK,
                self.inner.jwks.clone(),
            ));
        }
        if let Some((at, body)) = &self.inner.facets
            && (method == Method::GET || method == Method::HEAD)
            && at.matches(&path).is_some()
        {
            let mut reply = Reply::raw(Origin::place(Place::Facets), StatusCode::OK, body.clone());
            reply.media_type = "application/fido.trusted-apps+json";
            return RequestAction::Respond(reply);
        }
        if let Some((at, script)) = &self.inner.client
            && (method == Method::GET || method == Method::HEAD)
            && at.matches(&path).is_some()
        {
            return RequestAction::Respond(script_reply(script, headers));
        }
        for route in &self.inner.routes {
            for (endpoint, (want, template)) in [
                (Endpoint::Options, &route.options),
                (Endpoint::Result, &route.result),
            ] {
                let Some(params) = template.matches(&path) else {
                    continue;
                };
                let refuse = |e: GatewayError| {
                    RequestAction::Respond(Reply::refuse(
                        Origin::route(route, endpoint),
                        route.dialect,
                        e,
                    ))
                };
                if let Err(wait) = self.limit(headers, client) {
                    // Whole seconds, rounded up: never "try again in 0 s".
                    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                    return refuse(GatewayError::RateLimited {
                        retry_after_secs: secs.max(1),
                    });
                }
                if method != want {
                    return refuse(GatewayError::Method {
                        path: template.as_str().to_owned(),
                        allowed: want.clone(),
                        got: method.clone(),
                    });
                }
                let limit = self.inner.config.body_limit;
                match content_length(headers) {
                    Some(Ok(len)) if len > limit as u64 => {
                        return refuse(GatewayError::TooLarge {
                            limit,
                            length: Some(len),
                        });
                    }
                    Some(Err(_)) => return refuse(RequestError::ContentLength.into()),
                    _ => {}
                }
                let username = params
                    .into_iter()
                    .find(|(k, _)| k == "username")
                    .map(|(_, v)| v);
                return RequestAction::ReadBody(Intercept {
                    route: route.clone(),
                    endpoint,
                    username,
                    limit,
                });
            }
        }
        RequestAction::PassThrough
    }

    /// Counts a request to an intercepted endpoint against its client's
    /// budget; `Err` with the wait when it is spent.
    fn limit(&self, headers: &HeaderMap, client: Client) -> Result<(), Duration> {
        let Some(limiter) = &self.inner.limiter else {
            return Ok(());
        };
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok());
        match client_of(client.peer, forwarded, &self.inner.trusted_proxies) {
            Some(ip) => limiter.check(ip, client.at),
            // The adapter does not know the peer: nothing to key on.
            None => Ok(()),
        }
    }

    /// The answer when the adapter could not do its part of an intercepted
    /// request: read the body, reach the app, get the time and randomness.
    pub fn on_failure(&self, intercept: &Intercept, failure: Failure) -> Reply {
        let error: GatewayError = match failure {
            Failure::BodyTooLarge => GatewayError::TooLarge {
                limit: intercept.limit,
                length: None,
            },
            Failure::BodyUnreadable => RequestError::Unreadable.into(),
            Failure::BodyTimedOut => RequestError::BodyTimeout.into(),
            Failure::AppUnreachable(why) => UpstreamError::Unreachable(why).into(),
            Failure::AppTimedOut => UpstreamError::Timeout.into(),
            Failure::Source(e) => InternalError::Source(e).into(),
        };
        intercept.refuse(error)
    }

    /// The decision on an intercepted request's whole body.
    pub async fn on_body(&self, intercept: &Intercept, body: &[u8], env: &Env) -> BodyAction {
        if body.len() > intercept.limit {
            return BodyAction::Respond(self.on_failure(intercept, Failure::BodyTooLarge));
        }
        let outcome = match intercept.endpoint {
            Endpoint::Options => self.options(intercept, body, env),
            Endpoint::Result => self.result(intercept, body, env).await,
        };
        outcome.unwrap_or_else(|e| BodyAction::Respond(intercept.refuse(e)))
    }

    fn options(
        &self,
        intercept: &Intercept,
        body: &[u8],
        env: &Env,
    ) -> Result<BodyAction, GatewayError> {
        let route = &intercept.route;
        let req = dialect::options_request(body, intercept.username.as_deref())?;
        if route.source == ChallengeSource::Upstream {
            return Ok(BodyAction::Forward(Forward {
                headers: Vec::new(),
                after: Some(AfterResponse {
                    route: route.clone(),
                    kind: AfterKind::Capture {
                        username: req.username,
                    },
                }),
                claims: None,
            }));
        }
        let username = req
            .username
            .as_deref()
            .ok_or_else(|| RequestError::Missing("username".to_owned()))?;
        // The result request names the user in its path: the seal need
        // only bind its hash; otherwise it carries the name for the header.
        let user = if route.result.1.has_param("username") {
            SealedUser::Hash(username)
        } else {
            SealedUser::Name(username)
        };
        let mut random = [0u8; SEAL_RANDOM_LEN];
        for (r, e) in random.iter_mut().zip(env.random) {
            *r = e;
        }
        let sealed = self
            .inner
            .seals
            .seal(&route.name, &user, env.now.plus(route.ttl), &random)
            .map_err(RequestError::SealedUsername)?;
        let answer = route
            .rules
            .issue(&req, username, &sealed, &self.inner.verifier, &route.rp)?;
        Ok(BodyAction::Respond(Reply::raw(
            intercept.origin(),
            StatusCode::OK,
            answer,
        )))
    }

    /// Opens the seal of a gateway-issued challenge, spends it and
    /// verifies the registration: the user it was issued for, their user
    /// handle, and the credentials.
    ///
    /// The seal is spent as soon as it is known to be ours, pass or fail,
    /// and kept until it expires (when the seal refuses it anyway). An
    /// in-process store answers at once, and a replay is refused before
    /// any verification. A remote store's answer takes a round trip: the
    /// registration is checked and verified while the spend travels, and
    /// the answer waits for it. Either way the refusals come in one order
    /// (the store, then spent, then the seal's context, then the
    /// registration), and nothing passes that was not spent by this call.
    async fn open_and_verify(
        &self,
        route: &Route,
        intercept: &Intercept,
        registration: &dyn Registration,
        env: &Env,
    ) -> Result<Verified, GatewayError> {
        let sealed = registration.sealed()?;
        let authentic = self.inner.seals.authenticate(&sealed)?;
        let left = authentic.expiry.as_secs().saturating_sub(env.now.as_secs());
        // Already expired (negative): nothing to record, the check refuses.
        let spend = u64::try_from(left).ok().map(|left| {
            let ttl = Duration::from_secs(left.saturating_add(1));
            self.inner.store.spend(&sealed, env.now, ttl)
        });
        let checked = || -> Result<Verified, GatewayError> {
            let opened = authentic.check(&route.name, intercept.username.as_deref(), env.now)?;
            let username = opened.username.or_else(|| intercept.username.clone());
            let user_handle = username
                .as_deref()
                .and_then(|u| route.rules.user_handle(&self.inner.verifier, u));
            let credentials = self.verify(route, registration, env.now)?;
            Ok(Verified {
                username,
                user_handle,
                credentials,
            })
        };
        let spent = match spend {
            // Already expired: nothing to record; the check refuses it.
            None => true,
            Some(mut spend) => match ready_now(&mut spend) {
                Some(spent) => spent?,
                None => {
                    let checked = checked();
                    if !spend.await? {
                        return Err(ChallengeError::Spent.into());
                    }
                    return checked;
                }
            },
        };
        if !spent {
            return Err(ChallengeError::Spent.into());
        }
        checked()
    }

    /// Verifies a registration whose challenge was accepted, timed for
    /// the observer, with the metadata in force now and the route's
    /// policy for it.
    fn verify(
        &self,
        route: &Route,
        registration: &dyn Registration,
        now: UnixTime,
    ) -> Result<Vec<CredentialClaim>, GatewayError> {
        let metadata = self.metadata();
        let timer = self.verifying();
        let credentials = registration.verify(&Check {
            verifier: &self.inner.verifier,
            rp: &route.rp,
            metadata: metadata.as_deref(),
            metadata_policy: route
                .metadata_policy
                .as_ref()
                .or(metadata.as_deref().map(|m| &m.policy))
                .unwrap_or(&self.inner.default_metadata_policy),
            now,
        })?;
        self.verified(timer, route, &credentials);
        Ok(credentials)
    }

    /// The FIDO metadata in force (`None` when none is configured).
    pub fn metadata(&self) -> Option<Arc<Metadata>> {
        self.inner
            .metadata
            .read()
            .map_or_else(|poisoned| poisoned.into_inner().clone(), |m| m.clone())
    }

    /// Puts `metadata` in force for the registrations verified from now
    /// on (a new BLOB, verified by the caller); `None` turns it off.
    pub fn set_metadata(&self, metadata: Option<Arc<Metadata>>) {
        match self.inner.metadata.write() {
            Ok(mut m) => *m = metadata,
            Err(poisoned) => *poisoned.into_inner() = metadata,
        }
    }

    async fn result(
        &self,
        intercept: &Intercept,
        body: &[u8],
        env: &Env,
    ) -> Result<BodyAction, GatewayError> {
        let route = &intercept.route;
        let registration = route.rules.parse(body)?;
        // The challenge is spent whether the registration passes or not,
        // and only one of two concurrent submissions can spend it.
        let Verified {
            username,
            user_handle,
            credentials,
        } = match route.source {
            ChallengeSource::Gateway => {
                self.open_and_verify(route, intercept, registration.as_ref(), env)
                    .await?
            }
            ChallengeSource::Upstream => {
                let context = self
                    .inner
                    .store
                    .take(registration.challenge())
                    .await?
                    .ok_or(ChallengeError::Unknown)?;
                context.check(&route.name, intercept.username.as_deref(), env.now)?;
                let credentials = self.verify(route, registration.as_ref(), env.now)?;
                Verified {
                    username: context.username,
                    user_handle: context.user_handle,
                    credentials,
                }
            }
        };
        let (_, jti) = env.random.split_at(32);
        let now = env.now.as_secs();
        let config = &self.inner.config;
        let claims = CredentialClaims {
            iss: config.issuer.clone(),
            aud: config.audience.clone(),
            iat: now,
            exp: now.saturating_add(i64::try_from(config.token_ttl_secs).unwrap_or(i64::MAX)),
            jti: b64::encode(jti),
            protocol: credentials
                .first()
                .map_or_else(String::new, |c| c.protocol.clone()),
            dialect: route.dialect.as_str().to_owned(),
            route: route.name.clone(),
            username,
            user_handle: user_handle.as_deref().map(b64::encode),
            credentials,
        };
        let token = self
            .inner
            .signer
            .sign(&claims)
            .map_err(InternalError::Token)?;
        let value = HeaderValue::from_str(&token).map_err(|_| InternalError::HeaderValue)?;
        let after = route
            .rules
            .answer_after_verified(&token)
            .map(|answer| AfterResponse {
                route: route.clone(),
                kind: AfterKind::Replace { answer },
            });
        Ok(BodyAction::Forward(Forward {
            headers: vec![(self.inner.header_name.clone(), value)],
            after,
            claims: Some(Box::new(claims)),
        }))
    }

    /// The decision on the app's answer, for an answer
    /// [`AfterResponse::wants_body`] asked for: its status and its body as
    /// read (at most [`Gateway::response_limit`] bytes).
    pub async fn on_response(
        &self,
        after: &AfterResponse,
        status: StatusCode,
        answer: AppAnswer<'_>,
        env: &Env,
    ) -> ResponseAction {
        let route = &after.route;
        match &after.kind {
            AfterKind::Capture { username } if status.is_success() => {
                match self.capture(route, username.as_deref(), answer, env).await {
                    Ok(()) => ResponseAction::Keep,
                    Err(e) => ResponseAction::Replace(Reply::refuse(
                        Origin::route(route, Endpoint::Options),
                        route.dialect,
                        e,
                    )),
                }
            }
            AfterKind::Replace { answer } if status.is_success() => {
                ResponseAction::Replace(Reply::ok(Origin::route(route, Endpoint::Result), answer))
            }
            _ => ResponseAction::Keep,
        }
    }

    /// Remembers the challenge in the app's own options answer.
    async fn capture(
        &self,
        route: &Route,
        username: Option<&str>,
        answer: AppAnswer<'_>,
        env: &Env,
    ) -> Result<(), GatewayError> {
        let body = match answer {
            AppAnswer::Body(body) => body,
            AppAnswer::TooLarge => {
                return Err(UpstreamError::TooLarge {
                    limit: self.inner.config.response_limit,
                }
                .into());
            }
            AppAnswer::Unreadable => {
                return Err(UpstreamError::Unreachable(
                    "the app's answer could not be read".to_owned(),
                )
                .into());
            }
        };
        let answer: Value = serde_json::from_slice(body).map_err(|_| UpstreamError::NotJson)?;
        let key = match route.rules.app_challenge(&answer, &route.pointer)? {
            AppChallenge::Key(key) => key,
            // The app refused in the dialect's envelope: nothing to remember.
            AppChallenge::Refusal => return Ok(()),
        };
        let handle = answer
            .pointer("/user/id")
            .and_then(Value::as_str)
            .and_then(|h| b64::decode(h).ok());
        self.inner
            .store
            .issue(
                &key,
                ChallengeContext::new(
                    &route.name,
                    &self.inner.verifier.rp.rp_id,
                    username,
                    handle.as_deref(),
                    env.now,
                    route.ttl,
                ),
            )
            .await?;
        Ok(())
    }
}

/// `fidogate.js`, or a 304 when the client's copy is this one. Cached
/// and revalidated every time (`no-cache`), so a new gateway version's
/// module is picked up at once.
fn script_reply(script: &Script, headers: &HeaderMap) -> Reply {
    let origin = Origin::place(Place::Client);
    let mut reply = if script.not_modified(headers) {
        Reply::raw(origin, StatusCode::NOT_MODIFIED, Vec::new())
    } else {
        Reply::raw(origin, StatusCode::OK, script.body.clone())
    };
    reply.media_type = "text/javascript";
    reply.headers = vec![
        ("etag", script.etag.clone()),
        ("cache-control", "no-cache".to_owned()),
        ("x-content-type-options", "nosniff".to_owned()),
    ];
    reply
}

/// The UAF TrustedFacets document (UAF AppID and Facet Specification
/// §3.1.2) for an AppID on one of the relying party's origins, with its
/// path: the configured trusted facets, or the AppID's own origin.
fn facet_list(config: &GatewayConfig) -> Option<(PathTemplate, Vec<u8>)> {
    let app_id = config.uaf.app_id.as_str();
    let (scheme, rest) = app_id.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    let origin = format!("{scheme}://{authority}");
    if authority.is_empty() || !config.rp.origins.contains(&origin) {
        return None;
    }
    let path = path.split(['?', '#']).next().filter(|p| !p.is_empty())?;
    let template = PathTemplate::parse(path)
        .ok()
        .filter(|t| !t.as_str().contains('{'))?;
    // The same facets the registration check trusts: the configured ones,
    // or else the AppID's own origin when it is https.
    let ids = match (config.uaf.trusted_facets.is_empty(), scheme) {
        (false, _) => config.uaf.trusted_facets.clone(),
        (true, "https") => vec![origin],
        (true, _) => Vec::new(),
    };
    let body = json!({"trustedFacets": [{"version": {"major": 1, "minor": 0}, "ids": ids}]});
    Some((template, body.to_string().into_bytes()))
}

/// What verification needs from the configuration.
fn verifier(
    config: &GatewayConfig,
    anchors: TrustAnchors,
    secret: &[u8],
) -> Result<Verifier, ConfigError> {
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
    if !["none", "indirect", "direct", "enterprise"].contains(&config.webauthn.attestation.as_str())
    {
        return Err(ConfigError::new(
            "webauthn.attestation",
            "must be none, indirect, direct or enterprise",
        ));
    }
    let mut rp = RelyingParty::new(config.rp.id.clone(), String::new());
    rp.origins.clone_from(&config.rp.origins);
    rp.top_origins.clone_from(&config.rp.top_origins);
    if let Some(ids) = &config.webauthn.algorithms {
        rp.algorithms = routes::algorithms(ids, "webauthn.algorithms")?;
    }
    Ok(Verifier {
        rp_name: config
            .rp
            .name
            .clone()
            .unwrap_or_else(|| config.rp.id.clone()),
        rp,
        policy: Policy {
            user_verification,
            accept_untrusted: !config.webauthn.require_trusted,
            ..Policy::default()
        },
        policy_before_metadata: Policy {
            user_verification,
            accept_untrusted: true,
            ..Policy::default()
        },
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
        user_handle_key: secret.to_vec(),
    })
}

/// A registration verified against its challenge, and who it is for.
struct Verified {
    username: Option<String>,
    user_handle: Option<Vec<u8>>,
    credentials: Vec<CredentialClaim>,
}

/// The store's answer if it is already there (an in-process store's
/// always is); else `None`, the call having been started (a remote
/// store sends its command on this first poll), to be awaited later.
fn ready_now<T>(
    future: &mut StoreFuture<'_, T>,
) -> Option<Result<T, super::challenge::StoreError>> {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(answer) => Some(answer),
        std::task::Poll::Pending => None,
    }
}
