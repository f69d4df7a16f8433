//! `none` (§8.7): no attestation; the statement is an empty map.

use super::{AttestationType, Outcome, statement};
use crate::webauthn::error::StatementError;
use ciborium::value::Value;

pub(super) fn verify(att_stmt: &Value) -> Result<Outcome<'static>, StatementError> {
    let map = statement(att_stmt, &[])?;
    if !map.entries().is_empty() {
        return Err(StatementError::malformed(
            "attStmt",
            "must be empty for none",
        ));
    }
    Ok(Outcome::new(AttestationType::None, Vec::new()))
}
