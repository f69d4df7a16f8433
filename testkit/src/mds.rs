//! FIDO metadata BLOBs made at test time: a compact JWS over a payload,
//! signed by a generated signer whose certificates go in `x5c`.

use crate::certs::Issued;
use crate::keys::SigningKey;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

/// A compact JWS of `payload` with `alg` (`ES256`: raw `r || s`, unless
/// `header` has `"der": true`; anything else: the key's own signature),
/// the `x5c` certificates, and `header`'s members added.
pub fn jws(
    alg: &str,
    key: &SigningKey,
    x5c: &[&Issued],
    header: &Value,
    payload: &Value,
) -> String {
    let mut h = json!({
        "alg": alg,
        "typ": "JWT",
        "x5c": x5c.iter().map(|c| STANDARD.encode(&c.der)).collect::<Vec<_>>(),
    });
    if let (Some(h), Some(extra)) = (h.as_object_mut(), header.as_object()) {
        for (k, v) in extra {
            h.insert(k.clone(), v.clone());
        }
    }
    let input = format!(
        "{}.{}",
        crate::b64u(h.to_string().as_bytes()),
        crate::b64u(payload.to_string().as_bytes())
    );
    let sig = if alg == "ES256" && header.get("der").is_none() {
        key.sign_fixed(input.as_bytes())
    } else {
        key.sign(input.as_bytes())
    };
    format!("{input}.{}", crate::b64u(&sig))
}

/// A metadata PKI: a root, a CA and a BLOB signer (P-256).
#[derive(Debug)]
pub struct MdsPki {
    /// The root.
    pub root: Issued,
    /// The CA it certifies.
    pub ca: Issued,
    /// The signer the CA certifies.
    pub signer: Issued,
}

impl MdsPki {
    /// A PKI from `seed`.
    pub fn new(seed: u64) -> Self {
        use crate::keys::alg::ES256;
        let root = crate::certs::root_ca("metadata test root", SigningKey::generate(ES256, seed));
        let ca = crate::certs::intermediate_ca(
            "metadata test CA-1",
            SigningKey::generate(ES256, seed + 1),
            &root,
        );
        let signer = crate::certs::issue(
            crate::certs::params(&[(rcgen::DnType::CommonName, "metadata BLOB signer")]),
            SigningKey::generate(ES256, seed + 2),
            &ca,
        );
        Self { root, ca, signer }
    }

    /// A BLOB of `payload`, ES256, with the signer and the CA in `x5c`.
    pub fn blob(&self, payload: &Value) -> String {
        jws(
            "ES256",
            &self.signer.key,
            &[&self.signer, &self.ca],
            &json!({}),
            payload,
        )
    }
}

/// The FIDO conformance BLOB and its root's PEM from the shared vectors
/// (`mds/`), or `None` with a visible message when they are absent.
pub fn conformance() -> Option<(Vec<u8>, Vec<u8>)> {
    let dir = crate::vectors::dir()?.join("mds");
    match (
        std::fs::read(dir.join("fido-conformance-mds3-blob.jwt")),
        std::fs::read(dir.join("fido-conformance-mds3-root.pem")),
    ) {
        (Ok(blob), Ok(root)) => Some((blob, root)),
        _ => {
            println!(
                "SKIPPED: the conformance MDS3 BLOB is not in {}",
                dir.display()
            );
            None
        }
    }
}
