//! `packed` (§8.2): self attestation, or a batch key with a certificate
//! meeting §8.2.1.

use super::{
    AttestationType, Ctx, Outcome, alg_field, bytes_field, cert_key, check_aaguid_extension,
    check_not_ca, check_sig, check_v3, parse_chain, statement, x5c_field,
};
use crate::webauthn::error::StatementError;
use ciborium::value::Value;
use x509_parser::oid_registry::{
    OID_X509_COMMON_NAME, OID_X509_COUNTRY_NAME, OID_X509_ORGANIZATION_NAME,
    OID_X509_ORGANIZATIONAL_UNIT,
};

pub(super) fn verify<'a>(
    att_stmt: &'a Value,
    ctx: &Ctx<'_>,
) -> Result<Outcome<'a>, StatementError> {
    let map = statement(att_stmt, &["alg", "sig", "x5c"])?;
    let alg = alg_field(&map)?;
    let sig = bytes_field(&map, "sig")?;
    let signed = ctx.signed_data();
    if map.get_text("x5c").is_some() {
        let x5c = x5c_field(&map)?;
        let chain = parse_chain(&x5c)?;
        let leaf = chain
            .first()
            .ok_or(StatementError::malformed("x5c", "empty"))?;
        // The signature over authData || clientDataHash with attestnCert's key.
        check_sig("sig", &cert_key(leaf)?, alg, &signed, sig)?;
        // attestnCert meets the requirements of §8.2.1.
        check_requirements(leaf)?;
        // The AAGUID extension, when present, matches authData.
        check_aaguid_extension(leaf, &ctx.attested.aaguid)?;
        Ok(Outcome::chain(AttestationType::Basic, chain))
    } else {
        // Self attestation: alg is the credential key's, and the credential
        // key made the signature.
        if alg != ctx.credential.alg {
            return Err(StatementError::mismatch(
                "alg",
                format!(
                    "self attestation alg {} differs from the credential key's {}",
                    alg.id(),
                    ctx.credential.alg.id()
                ),
            ));
        }
        check_sig("sig", &ctx.credential.key, alg, &signed, sig)?;
        Ok(Outcome::new(AttestationType::SelfAttestation, Vec::new()))
    }
}

/// §8.2.1 Packed attestation statement certificate requirements.
fn check_requirements(cert: &crate::trust::Cert<'_>) -> Result<(), StatementError> {
    check_v3(cert)?;
    let country = cert.subject_attr(&OID_X509_COUNTRY_NAME);
    if !matches!(country.as_slice(), [c] if c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()))
    {
        return Err(StatementError::Certificate(
            "subject C must be one ISO 3166 two-letter country code".to_owned(),
        ));
    }
    if !matches!(cert.subject_attr(&OID_X509_ORGANIZATION_NAME).as_slice(), [o] if !o.is_empty()) {
        return Err(StatementError::Certificate(
            "subject O must name the vendor".to_owned(),
        ));
    }
    if cert.subject_attr(&OID_X509_ORGANIZATIONAL_UNIT).as_slice() != ["Authenticator Attestation"]
    {
        return Err(StatementError::Certificate(
            "subject OU must be \"Authenticator Attestation\"".to_owned(),
        ));
    }
    if !matches!(cert.subject_attr(&OID_X509_COMMON_NAME).as_slice(), [cn] if !cn.is_empty()) {
        return Err(StatementError::Certificate(
            "subject CN must be set".to_owned(),
        ));
    }
    check_not_ca(cert)
}
