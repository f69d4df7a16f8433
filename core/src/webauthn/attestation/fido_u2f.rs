//! `fido-u2f` (§8.6): a U2F registration signature over
//! `0x00 || rpIdHash || clientDataHash || credentialId || publicKeyU2F`.

use super::{
    AttestationType, Ctx, Outcome, bytes_field, cert_key, parse_chain, statement, x5c_field,
};
use crate::crypto::{self, Curve, Hash, PublicKey, SignatureScheme};
use crate::webauthn::error::StatementError;
use ciborium::value::Value;

pub(super) fn verify<'a>(
    att_stmt: &'a Value,
    ctx: &Ctx<'_>,
) -> Result<Outcome<'a>, StatementError> {
    let map = statement(att_stmt, &["sig", "x5c"])?;
    let sig = bytes_field(&map, "sig")?;
    // x5c has exactly one element: the attestation certificate.
    let x5c = x5c_field(&map)?;
    if x5c.len() != 1 {
        return Err(StatementError::malformed(
            "x5c",
            format!("must hold exactly one certificate, has {}", x5c.len()),
        ));
    }
    let chain = parse_chain(&x5c)?;
    let cert = chain
        .first()
        .ok_or(StatementError::malformed("x5c", "empty"))?;
    let att_key = cert_key(cert)?;
    // Its public key must be an EC P-256 key.
    if !matches!(
        att_key,
        PublicKey::Ec {
            curve: Curve::P256,
            ..
        }
    ) {
        return Err(StatementError::Certificate(
            "fido-u2f attestation key must be EC P-256".to_owned(),
        ));
    }
    // U2F authenticators report the zero AAGUID.
    if ctx.attested.aaguid != [0; 16] {
        return Err(StatementError::malformed(
            "aaguid",
            "must be all zeros for fido-u2f",
        ));
    }
    // publicKeyU2F: the credential key as an uncompressed P-256 point.
    let PublicKey::Ec {
        curve: Curve::P256,
        point,
    } = &ctx.credential.key
    else {
        return Err(StatementError::malformed(
            "credentialPublicKey",
            "fido-u2f credentials must be EC2 P-256 keys",
        ));
    };
    let mut data = Vec::with_capacity(1 + 32 + 32 + ctx.attested.credential_id.len() + 65);
    data.push(0x00);
    data.extend_from_slice(&ctx.auth_data.rp_id_hash);
    data.extend_from_slice(ctx.client_data_hash);
    data.extend_from_slice(ctx.attested.credential_id);
    data.extend_from_slice(point);
    crypto::verify(
        &att_key,
        SignatureScheme::EcdsaDer(Hash::Sha256),
        &data,
        sig,
    )
    .map_err(|source| StatementError::Signature {
        what: "sig",
        source,
    })?;
    // The trust path is the attestation certificate alone.
    Ok(Outcome::chain(
        AttestationType::Basic,
        chain.into_iter().take(1).collect(),
    ))
}
