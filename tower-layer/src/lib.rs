//! fidogate-tower: the fidogate gateway engine as a tower [`Layer`].
//!
//! [`FidogateLayer`] wraps any `Service<http::Request<B>>` (axum, hyper,
//! tonic-style stacks). It intercepts the registration endpoints configured
//! in [`GatewayConfig`], verifies the FIDO UAF, WebAuthn or key-credential
//! registration against a challenge it issued (or read from the app's own
//! answer), and forwards the request with a signed verified-credential
//! header. Everything else passes through untouched, its body unbuffered.
//!
//! ```
//! use fidogate_core::gateway::*;
//! use fidogate_core::trust::TrustAnchors;
//! use fidogate_tower::FidogateLayer;
//! use std::sync::Arc;
//! # let der = fidogate_testkit::keys::SigningKey::generate(fidogate_testkit::keys::alg::ES256, 1).pkcs8_der();
//! let rp = RpConfig {
//!     id: "localhost".into(),
//!     name: Some("Demo".into()),
//!     origins: vec!["http://localhost:8080".into()],
//!     top_origins: vec![],
//! };
//! let config = GatewayConfig::new(rp, vec![RouteConfig::new("passkeys", Dialect::Webauthn)]);
//! let keys = GatewayKeys {
//!     signer: TokenSigner::from_pkcs8_der(&der)?, // keep the key in a file
//!     retired: vec![],
//!     secret: vec![42; 32], // 32 secret random bytes, kept across restarts
//!     previous_secrets: vec![],
//! };
//! let store = Arc::new(MokaChallengeStore::new(config.challenge_capacity));
//! let gateway = Gateway::new(config, keys, TrustAnchors::new(), store)?;
//! let layer = FidogateLayer::new(gateway);
//! // axum: Router::new().route(…).layer(layer)
//! # let _ = layer;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Security
//! - Client-sent copies of the verified-credential header (any case, `_`
//!   for `-`) are removed from every request.
//! - A request to a registration endpoint reaches the service only with a
//!   header the gateway signed for that very body; every refusal is an
//!   answer in the dialect's error shape, with a [`Rejection`] in its
//!   extensions, never a service error.
//! - The service should still verify the header with the JWKS the layer
//!   serves (`/.well-known/fidogate/jwks.json` by default) and check `iss`,
//!   `aud` and `exp`, so a request that bypassed the gateway is caught.
//!
//! [`Layer`]: tower_layer::Layer
//! [`GatewayConfig`]: fidogate_core::gateway::GatewayConfig

mod body;
mod future;
mod layer;
mod service;

pub use body::{BoxError, FidogateBody};
pub use future::ResponseFuture;
pub use layer::{DEFAULT_BODY_TIMEOUT, FidogateLayer};
pub use service::{Fidogate, PeerFn, Rejection, socket_addr_peer};

/// A fresh ECDSA P-256 signing key for the verified-credential header, as
/// PKCS#8 DER (for [`TokenSigner::from_pkcs8_der`]). Keep it: a key made
/// at every start invalidates headers in flight and the upstream's cached
/// JWKS.
///
/// [`TokenSigner::from_pkcs8_der`]: fidogate_core::gateway::TokenSigner::from_pkcs8_der
pub fn generate_signing_key() -> Result<Vec<u8>, String> {
    rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .map(|k| k.serialize_der())
        .map_err(|e| e.to_string())
}

/// 32 fresh random bytes for [`GatewayKeys::secret`].
///
/// [`GatewayKeys::secret`]: fidogate_core::gateway::GatewayKeys::secret
pub fn generate_secret() -> Vec<u8> {
    use rand::RngCore;
    let mut secret = vec![0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    secret
}
