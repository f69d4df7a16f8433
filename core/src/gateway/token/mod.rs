//! The verified-credential header: a compact JWS (ES256) the gateway signs
//! and the upstream verifies with the gateway's JWKS.
//!
//! Signing goes through the crate's crypto seam with the key parsed once;
//! verification through jsonwebtoken's crypto provider chosen by this
//! crate's features (aws-lc when enabled, else RustCrypto), named
//! explicitly so no process-wide default is needed.

mod claims;
mod signer;
mod verify;

pub use claims::{CredentialClaim, CredentialClaims, FlagsClaim, MetadataClaim};
pub use signer::{TokenSigner, jwks_json};
pub use verify::verify_token;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::UnixTime;
    use crate::b64;
    use crate::crypto::sha256;
    use jsonwebtoken::jwk::JwkSet;

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
