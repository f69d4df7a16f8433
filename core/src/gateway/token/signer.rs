//! The gateway's signing key and the JWKS it serves.

use super::TokenError;
use crate::b64;
use crate::crypto::{P256Signer, sha256};
use jsonwebtoken::{Algorithm, Header};
use serde::Serialize;
use serde_json::json;
use std::sync::Arc;

/// The gateway's signing key (ECDSA P-256, ES256) and its key ID. The
/// key is parsed once (through the crypto seam, the verifier's backend)
/// and shared by clones.
#[derive(Clone)]
pub struct TokenSigner {
    key: Arc<P256Signer>,
    kid: String,
    x: String,
    y: String,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSigner")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl TokenSigner {
    /// From a PKCS#8 DER P-256 private key. The key ID is the key's
    /// RFC 7638 JWK thumbprint (base64url SHA-256).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, TokenError> {
        let key = P256Signer::from_pkcs8_der(der).map_err(|e| TokenError::Key(e.to_string()))?;
        let point = key.public_point();
        let (Some(x), Some(y)) = (point.get(1..33), point.get(33..65)) else {
            return Err(TokenError::Key("not a P-256 key".to_owned()));
        };
        let (x, y) = (b64::encode(x), b64::encode(y));
        // RFC 7638 §3.2: the required members, lexicographic order, no spaces.
        let thumbprint_input = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let kid = b64::encode(&sha256(thumbprint_input.as_bytes()));
        let signer = Self {
            key: Arc::new(key),
            kid,
            x,
            y,
        };
        // Fail now, not on the first registration, if the key cannot sign.
        signer.sign_bytes(b"probe")?;
        Ok(signer)
    }

    /// From a PEM `PRIVATE KEY` (PKCS#8) block.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, TokenError> {
        let (_, block) = x509_parser::pem::parse_x509_pem(pem.as_bytes())
            .map_err(|_| TokenError::Key("not a PEM block".to_owned()))?;
        if block.label != "PRIVATE KEY" {
            return Err(TokenError::Key(format!(
                "PEM label is {:?}, expected \"PRIVATE KEY\" (PKCS#8)",
                block.label
            )));
        }
        Self::from_pkcs8_der(&block.contents)
    }

    /// Replaces the key ID.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = kid.into();
        self
    }

    /// The key ID (`kid`) tokens carry.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK (`kty`, `crv`, `x`, `y`, `kid`, `use`, `alg`).
    pub fn jwk(&self) -> serde_json::Value {
        json!({
            "kty": "EC",
            "crv": "P-256",
            "x": self.x,
            "y": self.y,
            "kid": self.kid,
            "use": "sig",
            "alg": "ES256",
        })
    }

    fn sign_bytes(&self, message: &[u8]) -> Result<Vec<u8>, TokenError> {
        self.key
            .sign(message)
            .map_err(|e| TokenError::Sign(e.to_string()))
    }

    /// Signs `claims` as a compact JWS with header
    /// `{"typ":"JWT","alg":"ES256","kid":…}`.
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, TokenError> {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        let header = serde_json::to_vec(&header).map_err(|e| TokenError::Sign(e.to_string()))?;
        let claims = serde_json::to_vec(claims).map_err(|e| TokenError::Sign(e.to_string()))?;
        let message = format!("{}.{}", b64::encode(&header), b64::encode(&claims));
        let signature = self.sign_bytes(message.as_bytes())?;
        Ok(format!("{message}.{}", b64::encode(&signature)))
    }
}

/// The JWKS document: the current key first, then retired keys still
/// accepted while tokens they signed may be in flight.
pub fn jwks_json(current: &TokenSigner, retired: &[serde_json::Value]) -> serde_json::Value {
    let mut keys = vec![current.jwk()];
    keys.extend(retired.iter().cloned());
    json!({ "keys": keys })
}
