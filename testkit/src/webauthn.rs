//! A software WebAuthn authenticator.
//!
//! ```ignore
//! let authn = Authenticator::packed_self(alg::ES256, 1);
//! let mut c = authn.ceremony("example.com", "https://example.com", b"challenge-bytes-0123456789abcdef");
//! c.client_data["origin"] = "https://evil.example".into(); // mutate before signing
//! let credential_json = c.attest(&authn).credential_json();
//! ```

use crate::b64u;
use crate::keys::SigningKey;
use ciborium::value::Value;
use serde_json::json;
use sha2::{Digest, Sha256};

/// Authenticator data flag bits.
pub mod flags {
    /// User present.
    pub const UP: u8 = 0x01;
    /// User verified.
    pub const UV: u8 = 0x04;
    /// Backup eligible.
    pub const BE: u8 = 0x08;
    /// Backed up.
    pub const BS: u8 = 0x10;
    /// Attested credential data included.
    pub const AT: u8 = 0x40;
    /// Extension data included.
    pub const ED: u8 = 0x80;
}

/// Encodes a CBOR value.
pub fn cbor(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::ser::into_writer(value, &mut out).expect("CBOR encoding");
    out
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

/// How the authenticator attests.
#[derive(Debug)]
pub enum Attestation {
    /// `none`.
    None,
    /// `packed` self attestation: signed with the credential key.
    PackedSelf,
    /// `packed` with an attestation certificate chain (leaf first).
    Packed {
        /// The attestation private key (certified by `x5c[0]`).
        key: SigningKey,
        /// The chain, leaf first.
        x5c: Vec<Vec<u8>>,
    },
    /// `tpm`.
    Tpm(crate::formats::Tpm),
    /// `android-key`.
    AndroidKey(crate::formats::AndroidKey),
    /// `apple`.
    Apple(crate::formats::Apple),
    /// `android-safetynet`.
    SafetyNet(crate::formats::SafetyNet),
    /// `fido-u2f` with one attestation certificate.
    FidoU2f {
        /// The attestation private key.
        key: SigningKey,
        /// The attestation certificate.
        cert: Vec<u8>,
    },
}

/// A software authenticator with one credential.
#[derive(Debug)]
pub struct Authenticator {
    /// The credential key pair.
    pub credential_key: SigningKey,
    /// The credential ID.
    pub credential_id: Vec<u8>,
    /// The AAGUID.
    pub aaguid: [u8; 16],
    /// How registrations are attested.
    pub attestation: Attestation,
}

/// The AAGUID the software authenticators use.
pub const SOFT_AAGUID: [u8; 16] = *b"fidogate-soft-01";

impl Authenticator {
    /// An authenticator with a credential for COSE `alg` from `seed`.
    pub fn new(alg: i64, seed: u64, attestation: Attestation) -> Self {
        let mut credential_id = Sha256::digest(seed.to_be_bytes()).to_vec();
        credential_id.truncate(32);
        Self {
            credential_key: SigningKey::generate(alg, seed),
            credential_id,
            aaguid: SOFT_AAGUID,
            attestation,
        }
    }

    /// `none` attestation.
    pub fn none(alg: i64, seed: u64) -> Self {
        Self::new(alg, seed, Attestation::None)
    }

    /// `packed` self attestation.
    pub fn packed_self(alg: i64, seed: u64) -> Self {
        Self::new(alg, seed, Attestation::PackedSelf)
    }

    /// The fields of one registration, to adjust before signing.
    pub fn ceremony(&self, rp_id: &str, origin: &str, challenge: &[u8]) -> Ceremony {
        let mut client_data = serde_json::Map::new();
        client_data.insert("type".into(), json!("webauthn.create"));
        client_data.insert("challenge".into(), json!(b64u(challenge)));
        client_data.insert("origin".into(), json!(origin));
        client_data.insert("crossOrigin".into(), json!(false));
        let aaguid = match self.attestation {
            Attestation::FidoU2f { .. } => [0; 16],
            _ => self.aaguid,
        };
        Ceremony {
            client_data: serde_json::Value::Object(client_data),
            client_data_override: None,
            rp_id_hash: Sha256::digest(rp_id.as_bytes()).into(),
            flags: flags::UP | flags::UV | flags::AT,
            sign_count: 0,
            aaguid,
            credential_id: self.credential_id.clone(),
            cose_key: self.credential_key.cose_key(),
            extensions: None,
            trailing: Vec::new(),
            raw_id: None,
            transports: vec!["usb".into()],
        }
    }

    /// A complete registration: the PublicKeyCredential JSON.
    pub fn register(&self, rp_id: &str, origin: &str, challenge: &[u8]) -> serde_json::Value {
        self.ceremony(rp_id, origin, challenge)
            .attest(self)
            .credential_json()
    }
}

/// One registration's fields before signing.
#[derive(Debug, Clone)]
pub struct Ceremony {
    /// The client data, serialised in key order as `clientDataJSON`.
    pub client_data: serde_json::Value,
    /// Exact `clientDataJSON` bytes to use instead of `client_data`.
    pub client_data_override: Option<Vec<u8>>,
    /// SHA-256 of the RP ID.
    pub rp_id_hash: [u8; 32],
    /// Flags byte.
    pub flags: u8,
    /// Signature counter.
    pub sign_count: u32,
    /// AAGUID in the attested credential data.
    pub aaguid: [u8; 16],
    /// Credential ID in the attested credential data.
    pub credential_id: Vec<u8>,
    /// COSE_Key bytes in the attested credential data.
    pub cose_key: Vec<u8>,
    /// Extensions map, encoded after the key when set (set ED too).
    pub extensions: Option<Value>,
    /// Bytes appended to the authenticator data.
    pub trailing: Vec<u8>,
    /// `rawId` to post instead of the credential ID.
    pub raw_id: Option<Vec<u8>>,
    /// `response.transports`.
    pub transports: Vec<String>,
}

impl Ceremony {
    /// The `clientDataJSON` bytes.
    pub fn client_data_json(&self) -> Vec<u8> {
        self.client_data_override
            .clone()
            .unwrap_or_else(|| serde_json::to_vec(&self.client_data).expect("JSON"))
    }

    /// The authenticator data bytes.
    pub fn auth_data(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&self.rp_id_hash);
        out.push(self.flags);
        out.extend_from_slice(&self.sign_count.to_be_bytes());
        if self.flags & flags::AT != 0 {
            out.extend_from_slice(&self.aaguid);
            out.extend_from_slice(&(self.credential_id.len() as u16).to_be_bytes());
            out.extend_from_slice(&self.credential_id);
            out.extend_from_slice(&self.cose_key);
        }
        if let Some(ext) = &self.extensions {
            out.extend_from_slice(&cbor(ext));
        }
        out.extend_from_slice(&self.trailing);
        out
    }

    /// Signs the registration as `authn` attests.
    pub fn attest(&self, authn: &Authenticator) -> Attested {
        let client_data_json = self.client_data_json();
        let auth_data = self.auth_data();
        let client_data_hash: [u8; 32] = Sha256::digest(&client_data_json).into();
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&client_data_hash);
        let (fmt, att_stmt) = match &authn.attestation {
            Attestation::None => ("none", Value::Map(vec![])),
            Attestation::PackedSelf => (
                "packed",
                Value::Map(vec![
                    (
                        text("alg"),
                        Value::Integer(authn.credential_key.cose_alg().into()),
                    ),
                    (
                        text("sig"),
                        Value::Bytes(authn.credential_key.sign(&signed)),
                    ),
                ]),
            ),
            Attestation::Packed { key, x5c } => (
                "packed",
                Value::Map(vec![
                    (text("alg"), Value::Integer(key.cose_alg().into())),
                    (text("sig"), Value::Bytes(key.sign(&signed))),
                    (
                        text("x5c"),
                        Value::Array(x5c.iter().map(|c| Value::Bytes(c.clone())).collect()),
                    ),
                ]),
            ),
            Attestation::Tpm(t) => (
                "tpm",
                t.statement(&authn.credential_key, &auth_data, &client_data_hash),
            ),
            Attestation::AndroidKey(a) => (
                "android-key",
                a.statement(&authn.credential_key, &auth_data, &client_data_hash),
            ),
            Attestation::Apple(a) => (
                "apple",
                a.statement(&authn.credential_key, &auth_data, &client_data_hash),
            ),
            Attestation::SafetyNet(s) => (
                "android-safetynet",
                s.statement(&auth_data, &client_data_hash),
            ),
            Attestation::FidoU2f { key, cert } => {
                // A U2F authenticator only has P-256 keys; for other keys
                // (broken authenticators in negative tests) sign the COSE key.
                let point = match authn.credential_key {
                    SigningKey::P256(_) => authn.credential_key.ec_point(),
                    _ => authn.credential_key.cose_key(),
                };
                let mut data = vec![0x00];
                data.extend_from_slice(&self.rp_id_hash);
                data.extend_from_slice(&client_data_hash);
                data.extend_from_slice(&self.credential_id);
                data.extend_from_slice(&point);
                (
                    "fido-u2f",
                    Value::Map(vec![
                        (text("sig"), Value::Bytes(key.sign(&data))),
                        (text("x5c"), Value::Array(vec![Value::Bytes(cert.clone())])),
                    ]),
                )
            }
        };
        Attested {
            fmt: fmt.to_owned(),
            att_stmt,
            auth_data,
            client_data_json,
            credential_id: self
                .raw_id
                .clone()
                .unwrap_or_else(|| self.credential_id.clone()),
            transports: self.transports.clone(),
        }
    }
}

/// A signed registration, still open to tampering.
#[derive(Debug, Clone)]
pub struct Attested {
    /// Attestation statement format.
    pub fmt: String,
    /// Attestation statement.
    pub att_stmt: Value,
    /// Authenticator data.
    pub auth_data: Vec<u8>,
    /// `clientDataJSON`.
    pub client_data_json: Vec<u8>,
    /// `id`/`rawId` to post.
    pub credential_id: Vec<u8>,
    /// `response.transports`.
    pub transports: Vec<String>,
}

impl Attested {
    /// The attestation object: `{fmt, attStmt, authData}`.
    pub fn attestation_object(&self) -> Vec<u8> {
        cbor(&Value::Map(vec![
            (text("fmt"), text(&self.fmt)),
            (text("attStmt"), self.att_stmt.clone()),
            (text("authData"), Value::Bytes(self.auth_data.clone())),
        ]))
    }

    /// A mutable reference to the attestation statement entry `key`.
    pub fn att_stmt_entry(&mut self, key: &str) -> &mut Value {
        let Value::Map(entries) = &mut self.att_stmt else {
            panic!("attStmt is not a map")
        };
        &mut entries
            .iter_mut()
            .find(|(k, _)| k.as_text() == Some(key))
            .unwrap_or_else(|| panic!("attStmt has no {key}"))
            .1
    }

    /// The PublicKeyCredential JSON as a browser posts it.
    pub fn credential_json(&self) -> serde_json::Value {
        self.credential_json_with(&self.attestation_object())
    }

    /// The PublicKeyCredential JSON with the given attestation object bytes.
    pub fn credential_json_with(&self, attestation_object: &[u8]) -> serde_json::Value {
        json!({
            "id": b64u(&self.credential_id),
            "rawId": b64u(&self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64u(&self.client_data_json),
                "attestationObject": b64u(attestation_object),
                "transports": self.transports,
            },
            "clientExtensionResults": {},
        })
    }
}

/// A test attestation root CA (P-256) from `seed`.
pub fn attestation_root(seed: u64) -> crate::certs::Issued {
    crate::certs::root_ca(
        "fidogate test attestation root",
        SigningKey::generate(crate::keys::alg::ES256, seed),
    )
}

impl Authenticator {
    /// `packed` with an x5c chain: a P-256 attestation key certified by
    /// `root` through one intermediate, meeting §8.2.1 and carrying the
    /// AAGUID extension.
    pub fn packed_x5c(alg: i64, seed: u64, root: &crate::certs::Issued) -> Self {
        Self::packed_x5c_for(alg, seed, root, SOFT_AAGUID)
    }

    /// `packed` with an x5c chain, as [`Self::packed_x5c`], for another
    /// AAGUID (in the authenticator data and the certificate's extension).
    pub fn packed_x5c_for(
        alg: i64,
        seed: u64,
        root: &crate::certs::Issued,
        aaguid: [u8; 16],
    ) -> Self {
        let inter = crate::certs::intermediate_ca(
            "fidogate test attestation CA",
            SigningKey::generate(crate::keys::alg::ES256, seed ^ 0x11),
            root,
        );
        let leaf = crate::certs::issue(
            crate::certs::packed_leaf_params(Some(aaguid)),
            SigningKey::generate(crate::keys::alg::ES256, seed ^ 0x22),
            &inter,
        );
        let mut authn = Self::new(
            alg,
            seed,
            Attestation::Packed {
                key: leaf.key.clone(),
                x5c: vec![leaf.der.clone(), inter.der.clone()],
            },
        );
        authn.aaguid = aaguid;
        authn
    }

    /// `fido-u2f` with a P-256 credential and an attestation certificate
    /// issued by `root`.
    pub fn fido_u2f(seed: u64, root: &crate::certs::Issued) -> Self {
        let leaf = crate::certs::issue(
            crate::certs::params(&[(rcgen::DnType::CommonName, "fidogate soft U2F")]),
            SigningKey::generate(crate::keys::alg::ES256, seed ^ 0x33),
            root,
        );
        Self::new(
            crate::keys::alg::ES256,
            seed,
            Attestation::FidoU2f {
                key: leaf.key.clone(),
                cert: leaf.der.clone(),
            },
        )
    }
}
