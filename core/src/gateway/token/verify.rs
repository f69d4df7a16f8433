//! What an upstream does with the header: verify it with the JWKS.

use super::{CredentialClaims, TokenError};
use crate::b64;
use crate::time::UnixTime;
use jsonwebtoken::crypto::CryptoProvider;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey};

#[cfg(feature = "aws-lc")]
fn provider() -> &'static CryptoProvider {
    &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER
}

#[cfg(all(feature = "rust-crypto", not(feature = "aws-lc")))]
fn provider() -> &'static CryptoProvider {
    &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER
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
