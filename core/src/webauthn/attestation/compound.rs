//! `compound` (WebAuthn Level 3 §8.9): several attestation statements for
//! one credential, each verified by its own format.

use super::{Ctx, Format, Outcome, verify as verify_one};
use crate::cbor::{self, Map};
use crate::webauthn::error::StatementError;
use ciborium::value::Value;

/// Most sub-statements accepted.
const MAX_STATEMENTS: usize = 8;

pub(super) fn verify<'a>(
    att_stmt: &'a Value,
    ctx: &Ctx<'_>,
) -> Result<Outcome<'a>, StatementError> {
    let Value::Array(items) = att_stmt else {
        return Err(StatementError::malformed(
            "attStmt",
            "must be an array for compound",
        ));
    };
    if items.len() < 2 || items.len() > MAX_STATEMENTS {
        return Err(StatementError::malformed(
            "attStmt",
            format!(
                "compound holds {} statements; 2 to {MAX_STATEMENTS} are accepted",
                items.len()
            ),
        ));
    }
    let mut sub = Vec::with_capacity(items.len());
    for item in items {
        let map = Map::new(item, "compound statement")
            .map_err(|e| StatementError::malformed("attStmt", e.to_string()))?;
        if map.entries().len() != 2 {
            return Err(StatementError::malformed(
                "attStmt",
                "each compound statement holds exactly fmt and attStmt",
            ));
        }
        let fmt_id = map
            .get_text("fmt")
            .and_then(|v| cbor::as_text(v, "fmt").ok())
            .ok_or(StatementError::malformed(
                "attStmt",
                "compound statement without a text fmt",
            ))?;
        let fmt = match Format::from_id(fmt_id) {
            Some(Format::Compound) => {
                return Err(StatementError::malformed(
                    "attStmt",
                    "compound statements cannot nest",
                ));
            }
            Some(f) => f,
            None => {
                return Err(StatementError::malformed(
                    "attStmt",
                    format!("format {fmt_id:?} is not supported"),
                ));
            }
        };
        let inner = map.get_text("attStmt").ok_or(StatementError::malformed(
            "attStmt",
            "compound statement without attStmt",
        ))?;
        // A failing sub-statement fails the whole with its own error and class.
        let outcome = verify_one(fmt, inner, ctx)?;
        sub.push((fmt, outcome));
    }
    let attestation_type = sub
        .first()
        .map(|(_, o)| o.attestation_type)
        .unwrap_or(super::AttestationType::None);
    Ok(Outcome {
        attestation_type,
        trust_path: super::TrustPath::Der(Vec::new()),
        sub,
    })
}
