//! The metadata root fidogate ships: GlobalSign Root CA - R3, which the
//! FIDO MDS3 BLOB chains to (since August 2026 through GlobalSign Root
//! R46, cross-signed by R3; R46 itself can be added by configuration).
//! Its bytes are pinned by SHA-256.

use crate::crypto::sha256;
use crate::trust::{TrustAnchor, TrustError};

const R3_PEM: &[u8] = include_bytes!("globalsign-root-ca-r3.pem");

/// SHA-256 of the R3 certificate (DER), as GlobalSign publishes it.
pub const GLOBALSIGN_R3_SHA256: &str =
    "cbb522d7b7f127ad6a0113865bdf1cd4102e7d0759af635a7cf4720dc963c53b";

/// The shipped root, its pin checked.
pub fn default_metadata_roots() -> Result<Vec<TrustAnchor>, TrustError> {
    let roots = TrustAnchor::from_pem(R3_PEM, "GlobalSign Root CA - R3 (shipped)")?;
    for r in &roots {
        let hex: String = sha256(r.der()).iter().map(|b| format!("{b:02x}")).collect();
        if hex != GLOBALSIGN_R3_SHA256 {
            return Err(TrustError::BadAnchor {
                source_name: "GlobalSign Root CA - R3 (shipped)".to_owned(),
                reason: format!("SHA-256 {hex} is not the pinned {GLOBALSIGN_R3_SHA256}"),
            });
        }
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_root_is_r3_and_matches_its_pin() {
        let roots = default_metadata_roots().unwrap();
        assert_eq!(roots.len(), 1);
        assert!(
            roots[0].name().contains("GlobalSign Root CA - R3"),
            "{}",
            roots[0].name()
        );
    }
}
