//! `android-key` (§8.4): Android Keystore attestation. The attestation
//! certificate certifies the credential key and carries the Keystore
//! KeyDescription (OID 1.3.6.1.4.1.11129.2.1.17) whose challenge is the
//! client data hash.

use super::der::{self, tag};
use super::{
    AttestationType, Ctx, Outcome, alg_field, bytes_field, cert_key, check_same_key, check_sig,
    parse_chain, statement, x5c_field,
};
use crate::crypto::constant_time_eq;
use crate::webauthn::error::StatementError;
use ciborium::value::Value;
use x509_parser::der_parser::asn1_rs::Any;

/// OID 1.3.6.1.4.1.11129.2.1.17 (DER content).
const OID_KEY_DESCRIPTION: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79, 0x02, 0x01, 0x11];
const TAG_PURPOSE: u32 = 1;
const TAG_ALL_APPLICATIONS: u32 = 600;
const TAG_ORIGIN: u32 = 702;
const KM_ORIGIN_GENERATED: u64 = 0;
const KM_PURPOSE_SIGN: u64 = 2;
const SECURITY_LEVEL_SOFTWARE: u64 = 0;

pub(super) fn verify<'a>(
    att_stmt: &'a Value,
    ctx: &Ctx<'_>,
) -> Result<Outcome<'a>, StatementError> {
    let map = statement(att_stmt, &["alg", "sig", "x5c"])?;
    let alg = alg_field(&map)?;
    let sig = bytes_field(&map, "sig")?;
    let x5c = x5c_field(&map)?;
    let chain = parse_chain(&x5c)?;
    let leaf = chain
        .first()
        .ok_or(StatementError::malformed("x5c", "empty"))?;
    let leaf_key = cert_key(leaf)?;
    // sig over authData || clientDataHash with the first certificate's key.
    check_sig("sig", &leaf_key, alg, &ctx.signed_data(), sig)?;
    // The first certificate certifies the credential public key.
    check_same_key(&leaf_key, ctx, "attestation certificate")?;
    // The key description extension.
    let (value, _) = leaf
        .extension(OID_KEY_DESCRIPTION)
        .map_err(|e| StatementError::Certificate(e.to_string()))?
        .ok_or(StatementError::Certificate(
            "missing the Android key description extension".to_owned(),
        ))?;
    let desc = KeyDescription::parse(value)?;
    // attestationChallenge is the client data hash.
    if !constant_time_eq(desc.challenge, ctx.client_data_hash) {
        return Err(StatementError::mismatch(
            "attestationChallenge",
            "is not the client data hash",
        ));
    }
    // allApplications must be in neither list: the key is scoped to the RP.
    if desc.software.all_applications || desc.tee.all_applications {
        return Err(StatementError::policy(
            "allApplications",
            "the key is usable by every application on the device",
        ));
    }
    let tee_only = ctx.policy.android_key_require_tee;
    if tee_only
        && (desc.attestation_security_level == SECURITY_LEVEL_SOFTWARE
            || desc.keymaster_security_level == SECURITY_LEVEL_SOFTWARE)
    {
        return Err(StatementError::policy(
            "attestationSecurityLevel",
            "software attestation, and policy requires a TEE or StrongBox",
        ));
    }
    // origin and purpose: from teeEnforced only when policy requires a TEE,
    // otherwise from either list.
    let origin = desc
        .tee
        .origin
        .or(if tee_only { None } else { desc.software.origin });
    if origin != Some(KM_ORIGIN_GENERATED) {
        return Err(StatementError::policy(
            "origin",
            format!(
                "key origin must be KM_ORIGIN_GENERATED{}",
                if tee_only { " in teeEnforced" } else { "" }
            ),
        ));
    }
    let sign = desc.tee.purposes.contains(&KM_PURPOSE_SIGN)
        || (!tee_only && desc.software.purposes.contains(&KM_PURPOSE_SIGN));
    if !sign {
        return Err(StatementError::policy(
            "purpose",
            format!(
                "key purpose must include KM_PURPOSE_SIGN{}",
                if tee_only { " in teeEnforced" } else { "" }
            ),
        ));
    }
    Ok(Outcome::chain(AttestationType::Basic, chain))
}

#[derive(Debug, Default)]
struct AuthorizationList {
    purposes: Vec<u64>,
    all_applications: bool,
    origin: Option<u64>,
}

#[derive(Debug)]
pub(super) struct KeyDescription<'a> {
    attestation_security_level: u64,
    keymaster_security_level: u64,
    challenge: &'a [u8],
    software: AuthorizationList,
    tee: AuthorizationList,
}

impl<'a> KeyDescription<'a> {
    pub(super) fn parse(value: &'a [u8]) -> Result<Self, StatementError> {
        const WHAT: &str = "KeyDescription";
        let seq = der::single(value, WHAT)?;
        if !der::is_universal(&seq, tag::SEQUENCE) {
            return Err(StatementError::malformed(WHAT, "must be a SEQUENCE"));
        }
        let fields = der::items(seq.data, WHAT)?;
        let [
            version,
            att_level,
            _km_version,
            km_level,
            challenge,
            _unique_id,
            software,
            tee,
            ..,
        ] = fields.as_slice()
        else {
            return Err(StatementError::malformed(WHAT, "has fewer than 8 fields"));
        };
        if !der::is_universal(version, tag::INTEGER)
            || !der::is_universal(att_level, tag::ENUMERATED)
            || !der::is_universal(km_level, tag::ENUMERATED)
            || !der::is_universal(challenge, tag::OCTET_STRING)
        {
            return Err(StatementError::malformed(
                WHAT,
                "fields have the wrong types",
            ));
        }
        Ok(Self {
            attestation_security_level: der::small_uint(att_level, "attestationSecurityLevel")?,
            keymaster_security_level: der::small_uint(km_level, "keymasterSecurityLevel")?,
            challenge: challenge.data,
            software: authorization_list(software, "softwareEnforced")?,
            tee: authorization_list(tee, "teeEnforced")?,
        })
    }
}

fn authorization_list(
    any: &Any<'_>,
    what: &'static str,
) -> Result<AuthorizationList, StatementError> {
    if !der::is_universal(any, tag::SEQUENCE) {
        return Err(StatementError::malformed(what, "must be a SEQUENCE"));
    }
    let mut list = AuthorizationList::default();
    for item in der::items(any.data, what)? {
        if der::is_context(&item, TAG_PURPOSE) {
            let set = der::single(item.data, what)?;
            if !der::is_universal(&set, tag::SET) {
                return Err(StatementError::malformed(
                    what,
                    "purpose must be a SET OF INTEGER",
                ));
            }
            for p in der::items(set.data, what)? {
                if !der::is_universal(&p, tag::INTEGER) {
                    return Err(StatementError::malformed(
                        what,
                        "purpose must be a SET OF INTEGER",
                    ));
                }
                list.purposes.push(der::small_uint(&p, "purpose")?);
            }
        } else if der::is_context(&item, TAG_ALL_APPLICATIONS) {
            let null = der::single(item.data, what)?;
            if !der::is_universal(&null, tag::NULL) {
                return Err(StatementError::malformed(
                    what,
                    "allApplications must be NULL",
                ));
            }
            list.all_applications = true;
        } else if der::is_context(&item, TAG_ORIGIN) {
            let origin = der::single(item.data, what)?;
            if !der::is_universal(&origin, tag::INTEGER) {
                return Err(StatementError::malformed(what, "origin must be an INTEGER"));
            }
            list.origin = Some(der::small_uint(&origin, "origin")?);
        }
    }
    Ok(list)
}
