//! `apple` (§8.8): Apple anonymous attestation. The credential certificate
//! carries `SHA-256(authData || clientDataHash)` in extension
//! 1.2.840.113635.100.8.2 and certifies the credential key.

use super::der::{self, tag};
use super::{
    AttestationType, Ctx, Outcome, alg_field, cert_key, check_same_key, parse_chain, statement,
    x5c_field,
};
use crate::crypto::constant_time_eq;
use crate::crypto::sha256;
use crate::webauthn::error::StatementError;
use ciborium::value::Value;

/// OID 1.2.840.113635.100.8.2 (DER content).
const OID_APPLE_NONCE: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x63, 0x64, 0x08, 0x02];

pub(super) fn verify<'a>(
    att_stmt: &'a Value,
    ctx: &Ctx<'_>,
) -> Result<Outcome<'a>, StatementError> {
    // §8.8 defines x5c alone; Safari on macOS (Touch ID) also sends `alg`,
    // accepted when it names the credential key's algorithm.
    let map = statement(att_stmt, &["x5c", "alg"])?;
    if map.get_text("alg").is_some() {
        let alg = alg_field(&map)?;
        if alg != ctx.credential.alg {
            return Err(StatementError::mismatch(
                "alg",
                format!(
                    "apple statement alg {} differs from the credential key's {}",
                    alg.id(),
                    ctx.credential.alg.id()
                ),
            ));
        }
    }
    let x5c = x5c_field(&map)?;
    let chain = parse_chain(&x5c)?;
    let cred_cert = chain
        .first()
        .ok_or(StatementError::malformed("x5c", "empty"))?;
    // nonce = SHA-256(authData || clientDataHash).
    let expected = sha256(&ctx.signed_data());
    // The nonce extension of credCert.
    let (value, _) = cred_cert
        .extension(OID_APPLE_NONCE)
        .map_err(|e| StatementError::Certificate(e.to_string()))?
        .ok_or(StatementError::Certificate(
            "missing the Apple nonce extension".to_owned(),
        ))?;
    let nonce = nonce_from_extension(value)?;
    if !constant_time_eq(nonce, &expected) {
        return Err(StatementError::mismatch(
            "nonce",
            "the certificate's nonce is not SHA-256(authData || clientDataHash)",
        ));
    }
    // The credential public key equals credCert's subject public key.
    check_same_key(&cert_key(cred_cert)?, ctx, "credCert")?;
    Ok(Outcome::chain(AttestationType::AnonCa, chain))
}

/// `SEQUENCE { [1] EXPLICIT OCTET STRING nonce }`.
pub(super) fn nonce_from_extension(value: &[u8]) -> Result<&[u8], StatementError> {
    const WHAT: &str = "Apple nonce extension";
    let seq = der::single(value, WHAT)?;
    if !der::is_universal(&seq, tag::SEQUENCE) {
        return Err(StatementError::malformed(WHAT, "must be a SEQUENCE"));
    }
    let tagged = der::single(seq.data, WHAT)?;
    if !der::is_context(&tagged, 1) {
        return Err(StatementError::malformed(WHAT, "must hold [1]"));
    }
    let octets = der::single(tagged.data, WHAT)?;
    if !der::is_universal(&octets, tag::OCTET_STRING) {
        return Err(StatementError::malformed(
            WHAT,
            "[1] must hold an OCTET STRING",
        ));
    }
    Ok(octets.data)
}
