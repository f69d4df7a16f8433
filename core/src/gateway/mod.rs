//! The gateway engine: for each request, one decision, shared by the tower
//! Layer and the Pingora module so both behave the same.
//!
//! The flow an adapter drives:
//!
//! 1. On every request, remove [`Gateway::spoofed_headers`].
//! 2. [`Gateway::on_request`] with the head: pass through (nothing is
//!    buffered), answer directly (JWKS, 405, 413), or read the body.
//! 3. [`Gateway::on_body`] with the whole body (at most
//!    [`Intercept::limit`] bytes) and an [`Env`] from the adapter's
//!    [`Source`]: answer directly (the gateway-issued options, or a refusal
//!    in the dialect's error shape), or forward the body unchanged with the
//!    signed verified-credential header.
//! 4. When the forward carries an [`AfterResponse`], it says what to do
//!    with the app's answer: replace it ([`AfterResponse::replacement_for`],
//!    the cloud authenticator's token answer), read it and ask
//!    [`Gateway::on_response`] (an app-issued challenge), or pass it on.
//!
//! When the adapter's own part fails (the body cannot be read, the app
//! cannot be reached, the source fails), [`Gateway::on_failure`] writes the
//! answer: an adapter never builds one.
//!
//! ```
//! use fidogate_core::gateway::*;
//! use fidogate_core::trust::TrustAnchors;
//! use http::{HeaderMap, Method};
//! use std::sync::Arc;
//! # let der = fidogate_testkit::keys::SigningKey::generate(fidogate_testkit::keys::alg::ES256, 1).pkcs8_der();
//! let rp = RpConfig { id: "example.com".into(), name: None,
//!     origins: vec!["https://example.com".into()], top_origins: vec![] };
//! let config = GatewayConfig::new(rp, vec![RouteConfig::new("passkeys", Dialect::Webauthn)]);
//! let keys = GatewayKeys { signer: TokenSigner::from_pkcs8_der(&der)?, retired: vec![], secret: vec![7; 32], previous_secrets: vec![] };
//! let gateway = Gateway::new(config, keys, TrustAnchors::new(), Arc::new(MokaChallengeStore::new(10_000)))?;
//!
//! // Everything but the registration endpoints passes through.
//! let head = HeaderMap::new();
//! assert!(matches!(gateway.on_request(&Method::GET, "/", &head, Client::UNKNOWN), RequestAction::PassThrough));
//! // The options endpoint is answered by the gateway.
//! let RequestAction::ReadBody(ix) = gateway.on_request(&Method::POST, "/attestation/options", &head, Client::UNKNOWN) else { panic!() };
//! let env = Env { now: fidogate_core::UnixTime::from_secs(1_700_000_000), random: [1; 48] };
//! # use fidogate_testkit::Ready; // polls the engine's future: the memory store answers at once
//! let BodyAction::Respond(reply) = gateway.on_body(&ix, br#"{"username":"alice"}"#, &env).ready() else { panic!() };
//! assert_eq!(reply.status, 200);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Security
//! - Client-sent copies of the verified-credential header are removed from
//!   every request, in any letter case and with `_` for `-`: the upstream
//!   can trust the header's presence only because of this, and must still
//!   verify its signature with the JWKS, its `iss`, `aud` and `exp`.
//! - Intercepted paths are matched after normalisation (see [`route`]).
//! - A challenge is taken from the store before the registration is
//!   verified, pass or fail: a registration can be submitted once.
//! - Nothing unverified is forwarded on a result endpoint: every failure is
//!   an answer from the gateway.

mod action;
pub mod challenge;
pub mod client;
pub mod config;
mod dialect;
pub mod engine;
pub mod error;
mod headers;
pub mod limit;
pub mod observe;
pub mod reply;
pub mod route;
mod routes;
pub mod seal;
pub mod source;
pub mod spent;
pub mod token;

pub use action::{
    AfterResponse, AppAnswer, BodyAction, Client, Endpoint, Failure, Forward, Intercept,
    RequestAction, ResponseAction,
};
pub use challenge::{
    ChallengeContext, ChallengeError, ChallengeStore, Held, MokaChallengeStore, StoreError,
    StoreFuture,
};
pub use client::{DEFAULT_CLIENT_PATH, FIDOGATE_JS};
pub use config::{
    ChallengeSource, ChallengeStoreConfig, ConfigError, Dialect, EndpointConfig, GatewayConfig,
    MetadataPolicyConfig, RateLimitConfig, RouteConfig, RpConfig, StoreKind, UafConfig,
    WebauthnConfig,
};
pub use engine::{Gateway, GatewayKeys, MIN_UPSTREAM_CHALLENGE_LEN};
pub use error::{CredentialRole, GatewayError, InternalError, RequestError, UpstreamError};
pub use observe::{Decision, Observer, Outcome, Place, Timer};
pub use reply::{RETRY_AFTER_SECS, Refusal, Reply};
pub use seal::{MAX_SEALED_USERNAME, SealError, UsernameTooLong};
pub use source::{Env, ManualSource, Source, SourceError, SystemSource};
pub use spent::SpentSet;
pub use token::{
    CredentialClaim, CredentialClaims, FlagsClaim, MetadataClaim, TokenError, TokenSigner,
    jwks_json, verify_token,
};
