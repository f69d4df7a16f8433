use super::error::KeyCredentialError;
use crate::b64;
use crate::crypto::constant_time_eq;
use crate::crypto::{self, Curve, Hash, PublicKey, SignatureScheme, sha256};
use crate::trust::spki_public_key;
use serde_json::{Map, Value};
use x509_parser::prelude::FromDer;
use x509_parser::x509::SubjectPublicKeyInfo;

/// Longest decoded `clientData` or `attestationData` accepted.
pub const MAX_DOCUMENT_LEN: usize = 16 * 1024;

/// The parsed `clientData` of a key credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyClientData {
    /// `type`.
    pub ty: String,
    /// `challenge`, base64url-decoded.
    pub challenge: Vec<u8>,
    /// `origin`.
    pub origin: String,
}

impl KeyClientData {
    /// Parses the decoded `clientData` bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, KeyCredentialError> {
        let obj = object(bytes, "clientData")?;
        let text = |k: &'static str| string(&obj, "clientData", k);
        let challenge =
            b64::decode(text("challenge")?).map_err(|_| KeyCredentialError::Document {
                document: "clientData",
                reason: "challenge is not base64url".to_owned(),
            })?;
        Ok(Self {
            ty: text("type")?.to_owned(),
            challenge,
            origin: text("origin")?.to_owned(),
        })
    }
}

/// A verified key credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedKeyCredential {
    /// `credId`, decoded.
    pub credential_id: Vec<u8>,
    /// The public key as SubjectPublicKeyInfo DER.
    pub public_key_spki: Vec<u8>,
    /// The public key as it was posted (PEM).
    pub public_key_pem: String,
    /// The signature algorithm, as a JOSE name (`ES256`, `RS256`, `EdDSA`…).
    pub alg: &'static str,
}

/// The bytes the key signs: the compact JSON
/// `{"clientDataHash":"<hex>","publicKey":"<PEM>"}`.
pub fn signed_payload(client_data: &[u8], public_key_pem: &str) -> String {
    // serde_json writes the two members in this order, without spaces,
    // escaping the PEM's newlines as `\n`.
    #[derive(serde::Serialize)]
    struct Payload<'a> {
        #[serde(rename = "clientDataHash")]
        client_data_hash: String,
        #[serde(rename = "publicKey")]
        public_key: &'a str,
    }
    let payload = Payload {
        client_data_hash: hex::encode(sha256(client_data)),
        public_key: public_key_pem,
    };
    serde_json::to_string(&payload).unwrap_or_default()
}

/// Verifies a key credential registration: `credId`, `clientData` and
/// `attestationData` as posted (base64url), against the challenge issued
/// and the allowed origins.
pub fn verify_key_credential(
    cred_id: &str,
    client_data: &str,
    attestation_data: &str,
    challenge: &[u8],
    origins: &[String],
) -> Result<VerifiedKeyCredential, KeyCredentialError> {
    let credential_id = decode_field(cred_id, "credId")?;
    if credential_id.is_empty() || credential_id.len() > 1023 {
        return Err(KeyCredentialError::Encoding {
            field: "credId",
            reason: format!("{} bytes; 1 to 1023 are accepted", credential_id.len()),
        });
    }
    let client_data_bytes = decode_field(client_data, "clientData")?;
    let attestation_bytes = decode_field(attestation_data, "attestationData")?;

    // The client data: a key creation, for this challenge, from an allowed origin.
    let cd = KeyClientData::parse(&client_data_bytes)?;
    if cd.ty != "key.create" {
        return Err(KeyCredentialError::Type(cd.ty));
    }
    if !constant_time_eq(&cd.challenge, challenge) {
        return Err(KeyCredentialError::Challenge);
    }
    if !origins.contains(&cd.origin) {
        return Err(KeyCredentialError::Origin(cd.origin));
    }

    // The attestation data: the public key, and its signature over the
    // client data hash and that same key.
    let att = object(&attestation_bytes, "attestationData")?;
    let pem = string(&att, "attestationData", "publicKey")?;
    let signature_hex = string(&att, "attestationData", "signature")?;
    let algorithm = match att.get("algorithm") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => {
            return Err(KeyCredentialError::Document {
                document: "attestationData",
                reason: "algorithm must be a string".to_owned(),
            });
        }
    };
    let (spki, key) = parse_pem_public_key(pem)?;
    let (scheme, alg) = scheme_for(&key, algorithm)?;
    let signature = unhex(signature_hex).ok_or_else(|| KeyCredentialError::Document {
        document: "attestationData",
        reason: "signature is not hex".to_owned(),
    })?;
    let payload = signed_payload(&client_data_bytes, pem);
    crypto::verify(&key, scheme, payload.as_bytes(), &signature)
        .map_err(|e| KeyCredentialError::Signature(e.to_string()))?;
    Ok(VerifiedKeyCredential {
        credential_id,
        public_key_spki: spki,
        public_key_pem: pem.to_owned(),
        alg,
    })
}

fn decode_field(value: &str, field: &'static str) -> Result<Vec<u8>, KeyCredentialError> {
    // base64 grows by 4/3; refuse long input before decoding it.
    if value.len() > MAX_DOCUMENT_LEN * 4 / 3 + 4 {
        return Err(KeyCredentialError::Encoding {
            field,
            reason: format!("longer than {MAX_DOCUMENT_LEN} bytes"),
        });
    }
    b64::decode(value).map_err(|_| KeyCredentialError::Encoding {
        field,
        reason: "not base64url".to_owned(),
    })
}

fn object(bytes: &[u8], document: &'static str) -> Result<Map<String, Value>, KeyCredentialError> {
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(obj)) => Ok(obj),
        Ok(_) => Err(KeyCredentialError::Document {
            document,
            reason: "not a JSON object".to_owned(),
        }),
        Err(e) => Err(KeyCredentialError::Document {
            document,
            reason: format!("not JSON: {e}"),
        }),
    }
}

fn string<'a>(
    obj: &'a Map<String, Value>,
    document: &'static str,
    key: &'static str,
) -> Result<&'a str, KeyCredentialError> {
    obj.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| KeyCredentialError::Document {
            document,
            reason: format!("{key} is missing or not a string"),
        })
}

/// One PEM `PUBLIC KEY` block (SubjectPublicKeyInfo), nothing else.
fn parse_pem_public_key(pem: &str) -> Result<(Vec<u8>, PublicKey), KeyCredentialError> {
    let bad = |m: &str| KeyCredentialError::PublicKey(m.to_owned());
    let (rest, block) =
        x509_parser::pem::parse_x509_pem(pem.as_bytes()).map_err(|_| bad("not a PEM block"))?;
    if !rest.iter().all(u8::is_ascii_whitespace) {
        return Err(bad("more than one PEM block"));
    }
    if block.label != "PUBLIC KEY" {
        return Err(KeyCredentialError::PublicKey(format!(
            "PEM label is {:?}, expected \"PUBLIC KEY\"",
            block.label
        )));
    }
    let (rest, spki) = SubjectPublicKeyInfo::from_der(&block.contents)
        .map_err(|_| bad("not a DER SubjectPublicKeyInfo"))?;
    if !rest.is_empty() {
        return Err(bad("trailing bytes after the SubjectPublicKeyInfo"));
    }
    let key = spki_public_key(&spki).map_err(|e| KeyCredentialError::PublicKey(e.to_string()))?;
    Ok((block.contents.clone(), key))
}

/// The scheme for the key and the optional `algorithm` (a digest name as
/// the signing library was given it; absent means SHA-256, or Ed25519).
fn scheme_for(
    key: &PublicKey,
    algorithm: Option<&str>,
) -> Result<(SignatureScheme, &'static str), KeyCredentialError> {
    let digest = match algorithm.map(str::to_ascii_uppercase).as_deref() {
        None => None,
        Some("SHA256" | "SHA-256" | "ES256" | "RS256") => Some(Hash::Sha256),
        Some("SHA384" | "SHA-384" | "ES384" | "RS384") => Some(Hash::Sha384),
        Some("SHA512" | "SHA-512" | "RS512") => Some(Hash::Sha512),
        Some("EDDSA" | "ED25519") => None,
        Some(_) => {
            return Err(KeyCredentialError::Algorithm(
                algorithm.unwrap_or_default().to_owned(),
            ));
        }
    };
    let refuse = || KeyCredentialError::Algorithm(algorithm.unwrap_or_default().to_owned());
    match key {
        PublicKey::Ec {
            curve: Curve::P256, ..
        } => match digest.unwrap_or(Hash::Sha256) {
            Hash::Sha256 => Ok((SignatureScheme::EcdsaDer(Hash::Sha256), "ES256")),
            _ => Err(refuse()),
        },
        PublicKey::Ec {
            curve: Curve::P384, ..
        } => match digest.unwrap_or(Hash::Sha384) {
            Hash::Sha384 => Ok((SignatureScheme::EcdsaDer(Hash::Sha384), "ES384")),
            _ => Err(refuse()),
        },
        PublicKey::Ec { .. } => Err(KeyCredentialError::PublicKey(format!(
            "{} keys are not accepted for key credentials",
            key.kind()
        ))),
        PublicKey::Rsa { .. } => match digest.unwrap_or(Hash::Sha256) {
            Hash::Sha256 => Ok((SignatureScheme::RsaPkcs1(Hash::Sha256), "RS256")),
            Hash::Sha384 => Ok((SignatureScheme::RsaPkcs1(Hash::Sha384), "RS384")),
            Hash::Sha512 => Ok((SignatureScheme::RsaPkcs1(Hash::Sha512), "RS512")),
            Hash::Sha1 => Err(refuse()),
        },
        PublicKey::Ed25519(_) => match (algorithm, digest) {
            (None, _) | (Some(_), None) => Ok((SignatureScheme::Ed25519, "EdDSA")),
            _ => Err(refuse()),
        },
    }
}

/// Hex to bytes, bounded before decoding.
fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() > 2 * MAX_DOCUMENT_LEN {
        return None;
    }
    hex::decode(s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_is_compact_json_in_order() {
        let p = signed_payload(
            b"{}",
            "-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----\n",
        );
        assert_eq!(
            p,
            "{\"clientDataHash\":\"44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\",\"publicKey\":\"-----BEGIN PUBLIC KEY-----\\nAA==\\n-----END PUBLIC KEY-----\\n\"}"
        );
    }

    #[test]
    fn hex_round_trip_and_rejects() {
        assert_eq!(
            unhex(&hex::encode([0, 1, 0xab, 0xff])),
            Some(vec![0, 1, 0xab, 0xff])
        );
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
        assert_eq!(unhex("+1"), None);
    }
}
