//! A software key-credential client (the wallet API's `Key`,
//! `PasswordProtectedKey` and `RecoveryKey` kinds): it signs the compact
//! JSON `{"clientDataHash":"<hex>","publicKey":"<PEM>"}`.

use crate::b64u as b64url;
use crate::keys::SigningKey;
use base64::Engine as _;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// A client holding one key pair.
#[derive(Debug)]
pub struct KeyClient {
    /// The key.
    pub key: SigningKey,
    /// The credential ID.
    pub credential_id: Vec<u8>,
}

/// The knobs of one key-credential registration.
#[derive(Debug, Clone)]
pub struct KeyCeremony {
    /// `clientData.type`.
    pub ty: String,
    /// `clientData.challenge` (base64url).
    pub challenge: String,
    /// `clientData.origin`.
    pub origin: String,
    /// `attestationData.algorithm`, if any.
    pub algorithm: Option<String>,
    /// Flip a bit of the signature.
    pub corrupt_signature: bool,
    /// Sign another public key than the one posted.
    pub sign_other_key: Option<String>,
}

impl KeyCeremony {
    /// A `key.create` for `challenge` (raw bytes) from `origin`.
    pub fn new(challenge: &[u8], origin: &str) -> Self {
        Self {
            ty: "key.create".to_owned(),
            challenge: b64url(challenge),
            origin: origin.to_owned(),
            algorithm: None,
            corrupt_signature: false,
            sign_other_key: None,
        }
    }
}

/// PEM `PUBLIC KEY` (SubjectPublicKeyInfo) of a key, 64-column lines.
pub fn spki_pem(key: &SigningKey) -> String {
    let der = key.rcgen_key_pair().public_key_der();
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = "-----BEGIN PUBLIC KEY-----\n".to_owned();
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).expect("ascii"));
        pem.push('\n');
    }
    pem.push_str("-----END PUBLIC KEY-----\n");
    pem
}

impl KeyClient {
    /// A client with a key for COSE algorithm `alg` (ES256, ES384, RS256, EdDSA).
    pub fn new(alg: i64, seed: u64) -> Self {
        let mut id = Sha256::digest(format!("key-credential-{seed}")).to_vec();
        id.truncate(32);
        Self {
            key: SigningKey::generate(alg, seed),
            credential_id: id,
        }
    }

    /// `credentialInfo`: `{credId, clientData, attestationData}`.
    pub fn credential_info(&self, c: &KeyCeremony) -> Value {
        let client_data = json!({
            "type": c.ty,
            "challenge": c.challenge,
            "origin": c.origin,
            "crossOrigin": false,
        })
        .to_string();
        let pem = spki_pem(&self.key);
        let signed_pem = c.sign_other_key.clone().unwrap_or_else(|| pem.clone());
        let payload = json!({
            "clientDataHash": hex(&Sha256::digest(client_data.as_bytes())),
            "publicKey": signed_pem,
        });
        // serde_json keeps insertion order only with preserve_order; write
        // the compact form by hand to be sure of the member order.
        let payload = format!(
            "{{\"clientDataHash\":{},\"publicKey\":{}}}",
            payload["clientDataHash"], payload["publicKey"]
        );
        let mut signature = self.key.sign(payload.as_bytes());
        if c.corrupt_signature {
            let last = signature.len() - 1;
            signature[last] ^= 1;
        }
        let mut attestation = json!({ "publicKey": pem, "signature": hex(&signature) });
        if let Some(a) = &c.algorithm {
            attestation["algorithm"] = json!(a);
        }
        json!({
            "credId": b64url(&self.credential_id),
            "clientData": b64url(client_data.as_bytes()),
            "attestationData": b64url(attestation.to_string().as_bytes()),
        })
    }

    /// A whole credential: `{credentialKind, credentialInfo}` plus an
    /// `encryptedPrivateKey` for the password-protected and recovery kinds.
    pub fn credential(&self, kind: &str, c: &KeyCeremony) -> Value {
        let mut v = json!({ "credentialKind": kind, "credentialInfo": self.credential_info(c) });
        if kind == "PasswordProtectedKey" || kind == "RecoveryKey" {
            v["encryptedPrivateKey"] = json!(b64url(b"opaque encrypted key, never decrypted here"));
        }
        v
    }
}

/// A WebAuthn registration as the wallet API posts it (`Fido2`).
pub fn fido2_credential(credential_json: &Value) -> Value {
    let decode = |p: &str| {
        let text = credential_json
            .pointer(p)
            .and_then(Value::as_str)
            .expect("field");
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .expect("base64url")
    };
    json!({
        "credentialKind": "Fido2",
        "credentialInfo": {
            "credId": b64url(&decode("/rawId")),
            "clientData": b64url(&decode("/response/clientDataJSON")),
            "attestationData": b64url(&decode("/response/attestationObject")),
        }
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
