//! `android-safetynet` (§8.5): a SafetyNet attestation JWS whose nonce is
//! `base64(SHA-256(authData || clientDataHash))`, signed by a certificate
//! issued to `attest.android.com`.

use super::{
    AttestationType, Ctx, Outcome, bytes_field, cert_key, parse_chain, statement, text_field,
};
use crate::b64;
use crate::crypto::{self, Hash, SignatureScheme, sha256};
use crate::trust::MAX_CHAIN_LEN;
use crate::webauthn::error::StatementError;
use ciborium::value::Value;
use serde_json::Value as Json;
use x509_parser::extensions::GeneralName;
use x509_parser::oid_registry::OID_X509_COMMON_NAME;

const HOSTNAME: &str = "attest.android.com";

pub(super) fn verify<'a>(
    att_stmt: &'a Value,
    ctx: &Ctx<'_>,
) -> Result<Outcome<'a>, StatementError> {
    let map = statement(att_stmt, &["ver", "response"])?;
    // ver: the version of Google Play Services; must be non-empty.
    if text_field(&map, "ver")?.is_empty() {
        return Err(StatementError::malformed("ver", "must not be empty"));
    }
    let response = std::str::from_utf8(bytes_field(&map, "response")?)
        .map_err(|_| StatementError::malformed("response", "is not UTF-8"))?;
    // The JWS: header.payload.signature, each base64url.
    let mut parts = response.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(StatementError::malformed(
            "response",
            "is not a compact JWS",
        ));
    };
    let header = json_part(h, "response JWS header")?;
    let payload = json_part(p, "response JWS payload")?;
    let signature = b64::decode(s)
        .map_err(|_| StatementError::malformed("response JWS signature", "is not base64url"))?;
    let scheme = match header.get("alg").and_then(Json::as_str) {
        Some("RS256") => SignatureScheme::RsaPkcs1(Hash::Sha256),
        Some("ES256") => SignatureScheme::EcdsaFixed(Hash::Sha256),
        Some(other) => {
            return Err(StatementError::malformed(
                "response JWS header.alg",
                format!("{other:?} is not supported"),
            ));
        }
        None => {
            return Err(StatementError::malformed(
                "response JWS header.alg",
                "missing",
            ));
        }
    };
    let x5c: Vec<Vec<u8>> = match header.get("x5c").and_then(Json::as_array) {
        Some(certs) if !certs.is_empty() && certs.len() <= MAX_CHAIN_LEN => certs
            .iter()
            .map(|c| c.as_str().and_then(|c| b64::decode_std(c).ok()))
            .collect::<Option<_>>()
            .ok_or(StatementError::malformed(
                "response JWS header.x5c",
                "must hold base64 certificates",
            ))?,
        _ => {
            return Err(StatementError::malformed(
                "response JWS header.x5c",
                format!("must hold 1 to {MAX_CHAIN_LEN} certificates"),
            ));
        }
    };
    let x5c_refs: Vec<&[u8]> = x5c.iter().map(Vec::as_slice).collect();
    let chain = parse_chain(&x5c_refs)?;
    let leaf = chain
        .first()
        .ok_or(StatementError::malformed("x5c", "empty"))?;
    // The JWS signature over `header.payload` with the leaf's key.
    let signing_input = &response[..h.len() + 1 + p.len()];
    crypto::verify(
        &cert_key(leaf)?,
        scheme,
        signing_input.as_bytes(),
        &signature,
    )
    .map_err(|source| StatementError::Signature {
        what: "response JWS",
        source,
    })?;
    // The leaf was issued to attest.android.com.
    if !issued_to_attest_android(leaf) {
        return Err(StatementError::Certificate(format!(
            "the JWS signing certificate is not issued to {HOSTNAME}"
        )));
    }
    // nonce = base64(SHA-256(authData || clientDataHash)).
    let expected = b64::encode_std(&sha256(&ctx.signed_data()));
    match payload.get("nonce").and_then(Json::as_str) {
        Some(n) if n == expected => {}
        Some(_) => {
            return Err(StatementError::mismatch(
                "nonce",
                "is not base64(SHA-256(authData || clientDataHash))",
            ));
        }
        None => {
            return Err(StatementError::malformed(
                "response JWS payload.nonce",
                "missing",
            ));
        }
    }
    // ctsProfileMatch: the device passed Android compatibility testing.
    if ctx.policy.safetynet_require_cts_profile_match
        && payload.get("ctsProfileMatch") != Some(&Json::Bool(true))
    {
        return Err(StatementError::policy("ctsProfileMatch", "is not true"));
    }
    // timestampMs against the verification time, within the skew.
    let ts = payload
        .get("timestampMs")
        .and_then(Json::as_i64)
        .ok_or(StatementError::malformed(
            "response JWS payload.timestampMs",
            "missing or not an integer",
        ))?;
    if let Some(skew) = ctx.policy.safetynet_timestamp_skew {
        let now_ms = i128::from(ctx.time.as_secs()) * 1000;
        let skew_ms = i128::try_from(skew.as_millis()).unwrap_or(i128::MAX);
        let age = now_ms - i128::from(ts);
        if age.abs() > skew_ms {
            return Err(StatementError::Stale {
                what: "timestampMs",
                detail: format!(
                    "{ts} is {}s {} the verification time; the allowed skew is {}s",
                    age.abs() / 1000,
                    if age < 0 { "after" } else { "before" },
                    skew.as_secs()
                ),
            });
        }
    }
    Ok(Outcome::new(AttestationType::Basic, x5c))
}

fn json_part(
    part: &str,
    what: &'static str,
) -> Result<serde_json::Map<String, Json>, StatementError> {
    let bytes =
        b64::decode(part).map_err(|_| StatementError::malformed(what, "is not base64url"))?;
    match serde_json::from_slice(&bytes) {
        Ok(Json::Object(m)) => Ok(m),
        _ => Err(StatementError::malformed(what, "is not a JSON object")),
    }
}

fn issued_to_attest_android(cert: &crate::trust::Cert<'_>) -> bool {
    let in_san = matches!(
        cert.subject_alternative_name(),
        Ok(Some(san)) if san.general_names.iter().any(|n| matches!(n, GeneralName::DNSName(d) if *d == HOSTNAME))
    );
    in_san
        || cert
            .subject_attr(&OID_X509_COMMON_NAME)
            .iter()
            .any(|cn| cn == HOSTNAME)
}
