//! The verified-credential header: a compact JWS (ES256) the gateway signs
//! and the upstream verifies with the gateway's JWKS.
//!
//! Signing goes through the crate's crypto seam with the key parsed once;
//! verification through jsonwebtoken's crypto provider chosen by this
//! crate's features (aws-lc when enabled, else RustCrypto), named
//! explicitly so no process-wide default is needed.

use crate::b64;
use crate::crypto::{P256Signer, sha256};
use crate::time::UnixTime;
use jsonwebtoken::crypto::CryptoProvider;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Header};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;

/// Why a token could not be made or was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The signing key is not a P-256 PKCS#8 private key.
    #[error("signing key: {0}")]
    Key(String),
    /// Signing failed.
    #[error("signing failed: {0}")]
    Sign(String),
    /// The token is not a compact JWS of the expected shape.
    #[error("token: {0}")]
    Malformed(String),
    /// No key in the JWKS has the token's `kid`.
    #[error("no key {0:?} in the key set")]
    UnknownKey(String),
    /// The signature does not verify.
    #[error("token signature does not verify")]
    Signature,
    /// A claim is not as expected.
    #[error("claim {claim}: {reason}")]
    Claim {
        /// The claim.
        claim: &'static str,
        /// What is wrong.
        reason: String,
    },
}

#[cfg(feature = "aws-lc")]
fn provider() -> &'static CryptoProvider {
    &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER
}

#[cfg(all(feature = "rust-crypto", not(feature = "aws-lc")))]
fn provider() -> &'static CryptoProvider {
    &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER
}

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

/// Flags of a WebAuthn authenticator data, as claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlagsClaim {
    /// User present.
    pub up: bool,
    /// User verified.
    pub uv: bool,
    /// Backup eligible.
    pub be: bool,
    /// Backed up.
    pub bs: bool,
}

/// One verified credential, as the header carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialClaim {
    /// The credential's role where the dialect has several
    /// (`firstFactor`, `secondFactor`, `recovery`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The credential kind as the client named it (`Fido2`, `Key`, …),
    /// where the dialect names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// `webauthn`, `uaf` or `key`.
    pub protocol: String,
    /// The credential ID (UAF: the KeyID), base64url.
    pub id: String,
    /// The public key, base64url, in the format `public_key_format` names.
    pub public_key: String,
    /// `cose` (WebAuthn), `spki` (key credentials), or the UAF encoding
    /// (`ecc_x962_raw`, `ecc_x962_der`, `rsa_2048_raw`, `rsa_2048_der`).
    pub public_key_format: String,
    /// The signature algorithm, as a JOSE name where one exists.
    pub alg: String,
    /// The COSE algorithm identifier (WebAuthn).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cose_alg: Option<i64>,
    /// The AAGUID (WebAuthn).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aaguid: Option<String>,
    /// The AAID (UAF).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aaid: Option<String>,
    /// The attestation statement format (`packed`, `tpm`, … for WebAuthn;
    /// `uaf` or `key` otherwise).
    pub fmt: String,
    /// The attestation type (`none`, `self`, `basic`, `attca`, …).
    pub attestation_type: String,
    /// Whether the attestation chains to a configured trust anchor.
    pub trusted: bool,
    /// The signature counter.
    pub sign_count: u32,
    /// Authenticator data flags (WebAuthn).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<FlagsClaim>,
    /// Transports the client reported (WebAuthn).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transports: Vec<String>,
}

/// The claims of the verified-credential header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialClaims {
    /// The gateway (`issuer` in its configuration).
    pub iss: String,
    /// The upstream app (`audience` in its configuration).
    pub aud: String,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expires at, seconds since the epoch (short: the header is for one
    /// request).
    pub exp: i64,
    /// A unique token ID the upstream can use to refuse a replayed header.
    pub jti: String,
    /// `webauthn`, `uaf` or `key` (of the first credential).
    pub protocol: String,
    /// The dialect of the route (`webauthn`, `nevis`, `dfns`, `uaf`).
    pub dialect: String,
    /// The route's name.
    pub route: String,
    /// The user the challenge was issued for, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The WebAuthn user handle issued with the challenge, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_handle: Option<String>,
    /// The verified credentials.
    pub credentials: Vec<CredentialClaim>,
}

/// Verifies a verified-credential token with a JWKS, as an upstream would:
/// ES256 only, `kid` found in the set, signature, `iss`, `aud`, and
/// `iat <= now < exp` (with `leeway` seconds either side).
pub fn verify_token(
    token: &str,
    jwks: &JwkSet,
    issuer: &str,
    audience: &str,
    now: UnixTime,
    leeway: i64,
) -> Result<CredentialClaims, TokenError> {
    let malformed = |m: &str| TokenError::Malformed(m.to_owned());
    // Compact JWS parts are base64url without padding (RFC 7515 §2): one
    // token, one spelling.
    if token.contains('=') {
        return Err(malformed("padding in a compact JWS"));
    }
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("not three dot-separated parts"));
    };
    let header =
        jsonwebtoken::decode_header(token).map_err(|e| TokenError::Malformed(e.to_string()))?;
    if header.alg != Algorithm::ES256 {
        return Err(TokenError::Malformed(format!(
            "alg {:?}, expected ES256",
            header.alg
        )));
    }
    let kid = header.kid.ok_or_else(|| malformed("no kid"))?;
    let jwk = jwks
        .find(&kid)
        .ok_or_else(|| TokenError::UnknownKey(kid.clone()))?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| TokenError::Malformed(e.to_string()))?;
    let verifier = (provider().verifier_factory)(&Algorithm::ES256, &key)
        .map_err(|e| TokenError::Malformed(e.to_string()))?;
    let signature = b64::decode(s).map_err(|_| malformed("signature is not base64url"))?;
    let message = format!("{h}.{c}");
    verifier
        .verify(message.as_bytes(), &signature)
        .map_err(|_| TokenError::Signature)?;
    let claims_bytes = b64::decode(c).map_err(|_| malformed("claims are not base64url"))?;
    let claims: CredentialClaims = serde_json::from_slice(&claims_bytes)
        .map_err(|e| TokenError::Malformed(format!("claims: {e}")))?;
    let claim = |claim, reason: String| Err(TokenError::Claim { claim, reason });
    if claims.iss != issuer {
        return claim("iss", format!("{:?}, expected {issuer:?}", claims.iss));
    }
    if claims.aud != audience {
        return claim("aud", format!("{:?}, expected {audience:?}", claims.aud));
    }
    let now = now.as_secs();
    if claims.iat > now.saturating_add(leeway) {
        return claim(
            "iat",
            format!("{} is in the future (now {now})", claims.iat),
        );
    }
    if claims.exp.saturating_add(leeway) <= now {
        return claim("exp", format!("expired at {} (now {now})", claims.exp));
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> TokenSigner {
        let key =
            fidogate_testkit::keys::SigningKey::generate(fidogate_testkit::keys::alg::ES256, 7)
                .pkcs8_der();
        TokenSigner::from_pkcs8_der(&key).unwrap()
    }

    fn claims(iat: i64) -> CredentialClaims {
        CredentialClaims {
            iss: "gw".into(),
            aud: "app".into(),
            iat,
            exp: iat + 60,
            jti: "j".into(),
            protocol: "webauthn".into(),
            dialect: "webauthn".into(),
            route: "r".into(),
            username: Some("alice".into()),
            user_handle: None,
            credentials: vec![],
        }
    }

    fn set(s: &TokenSigner) -> JwkSet {
        serde_json::from_value(jwks_json(s, &[])).unwrap()
    }

    #[test]
    fn round_trip_and_claim_checks() {
        let s = signer();
        let token = s.sign(&claims(1000)).unwrap();
        let jwks = set(&s);
        let at = UnixTime::from_secs(1010);
        assert_eq!(
            verify_token(&token, &jwks, "gw", "app", at, 0).unwrap(),
            claims(1000)
        );
        let err = |iss, aud, now| {
            verify_token(&token, &jwks, iss, aud, UnixTime::from_secs(now), 0).unwrap_err()
        };
        assert!(matches!(
            err("other", "app", 1010),
            TokenError::Claim { claim: "iss", .. }
        ));
        assert!(matches!(
            err("gw", "other", 1010),
            TokenError::Claim { claim: "aud", .. }
        ));
        assert!(matches!(
            err("gw", "app", 1060),
            TokenError::Claim { claim: "exp", .. }
        ));
        assert!(matches!(
            err("gw", "app", 900),
            TokenError::Claim { claim: "iat", .. }
        ));
    }

    #[test]
    fn tampering_and_foreign_keys_are_refused() {
        let s = signer();
        let token = s.sign(&claims(1000)).unwrap();
        let at = UnixTime::from_secs(1010);
        // Another claims part under the same signature.
        let other = s.sign(&claims(1001)).unwrap();
        let mut parts: Vec<&str> = token.split('.').collect();
        let other_claims = other.split('.').nth(1).unwrap();
        parts[1] = other_claims;
        let spliced = parts.join(".");
        assert_eq!(
            verify_token(&spliced, &set(&s), "gw", "app", at, 0),
            Err(TokenError::Signature)
        );
        // A key set without the signing key.
        let other_key = TokenSigner::from_pkcs8_der(
            &fidogate_testkit::keys::SigningKey::generate(fidogate_testkit::keys::alg::ES256, 8)
                .pkcs8_der(),
        )
        .unwrap();
        assert!(matches!(
            verify_token(&token, &set(&other_key), "gw", "app", at, 0),
            Err(TokenError::UnknownKey(_))
        ));
        // The same kid on another key.
        let impostor = other_key.with_kid(s.kid());
        assert_eq!(
            verify_token(&token, &set(&impostor), "gw", "app", at, 0),
            Err(TokenError::Signature)
        );
        assert!(matches!(
            verify_token("a.b", &set(&s), "gw", "app", at, 0),
            Err(TokenError::Malformed(_))
        ));
    }

    #[test]
    fn kid_is_the_rfc7638_thumbprint() {
        let s = signer();
        let jwk = s.jwk();
        let input = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            jwk["x"].as_str().unwrap(),
            jwk["y"].as_str().unwrap()
        );
        assert_eq!(s.kid(), b64::encode(&sha256(input.as_bytes())));
        assert_eq!(b64::decode(jwk["x"].as_str().unwrap()).unwrap().len(), 32);
    }

    #[test]
    fn every_truncation_and_a_trailing_byte_are_refused() {
        let s = signer();
        let token = s.sign(&claims(1000)).unwrap();
        let jwks = set(&s);
        let at = UnixTime::from_secs(1010);
        for cut in 0..token.len() {
            assert!(
                verify_token(&token[..cut], &jwks, "gw", "app", at, 0).is_err(),
                "cut at {cut}"
            );
        }
        for extra in ["A", ".", "=="] {
            let longer = format!("{token}{extra}");
            assert!(
                verify_token(&longer, &jwks, "gw", "app", at, 0).is_err(),
                "{extra}"
            );
        }
        // A flipped character anywhere is refused too.
        for i in 0..token.len() {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let t = String::from_utf8(bytes).unwrap();
            if t != token {
                assert!(
                    verify_token(&t, &jwks, "gw", "app", at, 0).is_err(),
                    "flip at {i}"
                );
            }
        }
    }

    #[test]
    fn bad_keys_are_refused() {
        assert!(TokenSigner::from_pkcs8_der(b"junk").is_err());
        assert!(
            TokenSigner::from_pkcs8_pem(
                "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
            )
            .is_err()
        );
    }
}
