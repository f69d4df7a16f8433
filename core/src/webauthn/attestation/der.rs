//! Minimal DER reading for the ASN.1 structures inside attestation
//! certificate extensions (Android KeyDescription, Apple nonce), over
//! asn1-rs as x509-parser exposes it.

use crate::webauthn::error::StatementError;
use x509_parser::der_parser::asn1_rs::{Any, Class, FromDer};

/// Every TLV item in `bytes`, which must hold nothing else.
pub(super) fn items<'a>(
    bytes: &'a [u8],
    what: &'static str,
) -> Result<Vec<Any<'a>>, StatementError> {
    let mut rest = bytes;
    let mut out = Vec::new();
    while !rest.is_empty() {
        if out.len() >= 64 {
            return Err(StatementError::malformed(what, "more than 64 items"));
        }
        let (r, any) = Any::from_der(rest)
            .map_err(|e| StatementError::malformed(what, format!("invalid DER: {e}")))?;
        out.push(any);
        rest = r;
    }
    Ok(out)
}

/// The one item `bytes` holds.
pub(super) fn single<'a>(bytes: &'a [u8], what: &'static str) -> Result<Any<'a>, StatementError> {
    let mut v = items(bytes, what)?;
    match (v.pop(), v.is_empty()) {
        (Some(any), true) => Ok(any),
        _ => Err(StatementError::malformed(
            what,
            "must hold exactly one DER item",
        )),
    }
}

/// Whether `any` is universal `tag`.
pub(super) fn is_universal(any: &Any<'_>, tag: u32) -> bool {
    any.header.class() == Class::Universal && any.header.tag().0 == tag
}

/// Whether `any` is context-specific `[tag]`.
pub(super) fn is_context(any: &Any<'_>, tag: u32) -> bool {
    any.header.class() == Class::ContextSpecific && any.header.tag().0 == tag
}

/// A small non-negative INTEGER or ENUMERATED value.
pub(super) fn small_uint(any: &Any<'_>, what: &'static str) -> Result<u64, StatementError> {
    let data = any.data;
    let bad =
        || StatementError::malformed(what, "must be a non-negative integer of at most 64 bits");
    if data.is_empty() || data.len() > 9 || data.first().is_some_and(|b| b & 0x80 != 0) {
        return Err(bad());
    }
    let mut v: u64 = 0;
    for b in data {
        v = v.checked_mul(256).ok_or_else(bad)? | u64::from(*b);
    }
    Ok(v)
}

/// Universal tag numbers used here.
pub(super) mod tag {
    pub(crate) const INTEGER: u32 = 2;
    pub(crate) const OCTET_STRING: u32 = 4;
    pub(crate) const NULL: u32 = 5;
    pub(crate) const ENUMERATED: u32 = 10;
    pub(crate) const SEQUENCE: u32 = 16;
    pub(crate) const SET: u32 = 17;
}
