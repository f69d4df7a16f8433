//! A software FIDO UAF authenticator: UAFV1TLV registration assertions
//! with Basic Full or Basic Surrogate attestation, P-256 or RSA-PSS keys.

use crate::b64u;
use crate::keys::SigningKey;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// A UAFV1TLV item: little-endian tag and length, then the value.
pub fn tlv(tag: u16, value: &[u8]) -> Vec<u8> {
    let mut v = tag.to_le_bytes().to_vec();
    v.extend_from_slice(&(value.len() as u16).to_le_bytes());
    v.extend_from_slice(value);
    v
}

/// How the registration is attested.
#[derive(Debug, Clone)]
#[allow(
    clippy::large_enum_variant,
    reason = "a test fixture built a handful of times"
)]
pub enum UafAttestationKind {
    /// Signed by an attestation key, certificates leaf first.
    BasicFull {
        /// The attestation key.
        key: SigningKey,
        /// The certificates.
        certs: Vec<Vec<u8>>,
    },
    /// Signed by the new key.
    BasicSurrogate,
}

/// A software UAF authenticator with one new key.
#[derive(Debug, Clone)]
pub struct UafAuthenticator {
    /// AAID.
    pub aaid: String,
    /// The new UAuth key (P-256 or RSA-PSS).
    pub key: SigningKey,
    /// KeyID.
    pub key_id: Vec<u8>,
    /// Attestation.
    pub attestation: UafAttestationKind,
}

/// One registration's context, to adjust before building.
#[derive(Debug, Clone)]
pub struct UafCeremony {
    /// header.upv.
    pub upv: (u64, u64),
    /// header.op.
    pub op: String,
    /// header.appID and fcParams.appID.
    pub app_id: String,
    /// fcParams.appID when different from header.appID.
    pub fc_app_id: Option<String>,
    /// fcParams.challenge.
    pub challenge: String,
    /// fcParams.facetID.
    pub facet_id: String,
    /// header.serverData.
    pub server_data: String,
    /// FINAL_CHALLENGE_HASH to use instead of SHA-256(fcParams).
    pub final_challenge_hash: Option<Vec<u8>>,
    /// Extra TLVs appended inside the KRD (signed).
    pub extra_krd: Vec<u8>,
    /// Flip a bit of the attestation signature.
    pub corrupt_signature: bool,
}

impl UafCeremony {
    /// A ceremony with upv 1.0 and empty channel binding.
    pub fn new(app_id: &str, challenge: &str, facet_id: &str, server_data: &str) -> Self {
        Self {
            upv: (1, 0),
            op: "Reg".into(),
            app_id: app_id.into(),
            fc_app_id: None,
            challenge: challenge.into(),
            facet_id: facet_id.into(),
            server_data: server_data.into(),
            final_challenge_hash: None,
            extra_krd: Vec::new(),
            corrupt_signature: false,
        }
    }

    /// The fcParams string.
    pub fn fc_params(&self) -> String {
        let fc = json!({
            "appID": self.fc_app_id.as_deref().unwrap_or(&self.app_id),
            "challenge": self.challenge,
            "facetID": self.facet_id,
            "channelBinding": {},
        });
        b64u(fc.to_string().as_bytes())
    }
}

impl UafAuthenticator {
    /// A new authenticator for `aaid` with a key for COSE `alg` (ES256 or
    /// PS256) from `seed`.
    pub fn new(aaid: &str, alg: i64, seed: u64, attestation: UafAttestationKind) -> Self {
        Self {
            aaid: aaid.into(),
            key: SigningKey::generate(alg, seed),
            key_id: Sha256::digest(seed.to_le_bytes()).to_vec(),
            attestation,
        }
    }

    fn sign_alg(key: &SigningKey) -> u16 {
        match key {
            SigningKey::P256(_) => 0x0001,
            SigningKey::Rsa { pss: true, .. } => 0x0003,
            _ => panic!("UAF software keys are P-256 or RSA-PSS"),
        }
    }

    /// The PUB_KEY encoding and bytes.
    pub fn public_key(&self) -> (u16, Vec<u8>) {
        match &self.key {
            SigningKey::P256(_) => (0x0100, self.key.ec_point()),
            SigningKey::Rsa { .. } => {
                let (n, e) = self.key.rsa_components();
                let mut v = vec![0u8; 256 - n.len()];
                v.extend_from_slice(&n);
                v.extend_from_slice(&[0u8; 4][..4 - e.len()]);
                v.extend_from_slice(&e);
                (0x0102, v)
            }
            _ => panic!("UAF software keys are P-256 or RSA-PSS"),
        }
    }

    /// The TAG_UAFV1_KRD (tag and length included).
    pub fn krd(&self, final_challenge_hash: &[u8], extra: &[u8]) -> Vec<u8> {
        let signer = match &self.attestation {
            UafAttestationKind::BasicFull { key, .. } => key,
            UafAttestationKind::BasicSurrogate => &self.key,
        };
        let (enc, pk) = self.public_key();
        let mut info = 0x0100u16.to_le_bytes().to_vec();
        info.push(0x01);
        info.extend_from_slice(&Self::sign_alg(signer).to_le_bytes());
        info.extend_from_slice(&enc.to_le_bytes());
        let mut counters = 0u32.to_le_bytes().to_vec();
        counters.extend_from_slice(&1u32.to_le_bytes());
        let body = [
            tlv(0x2E0B, self.aaid.as_bytes()),
            tlv(0x2E0E, &info),
            tlv(0x2E0A, final_challenge_hash),
            tlv(0x2E09, &self.key_id),
            tlv(0x2E0D, &counters),
            tlv(0x2E0C, &pk),
            extra.to_vec(),
        ]
        .concat();
        tlv(0x3E03, &body)
    }

    /// The TAG_UAFV1_REG_ASSERTION bytes.
    pub fn assertion(
        &self,
        final_challenge_hash: &[u8],
        extra_krd: &[u8],
        corrupt: bool,
    ) -> Vec<u8> {
        let krd = self.krd(final_challenge_hash, extra_krd);
        let (signer, certs): (&SigningKey, &[Vec<u8>]) = match &self.attestation {
            UafAttestationKind::BasicFull { key, certs } => (key, certs),
            UafAttestationKind::BasicSurrogate => (&self.key, &[]),
        };
        let mut sig = signer.sign_fixed(&krd);
        if corrupt {
            sig[5] ^= 1;
        }
        let mut att = tlv(0x2E06, &sig);
        for c in certs {
            att.extend_from_slice(&tlv(0x2E05, c));
        }
        let att_tag = if certs.is_empty() { 0x3E08 } else { 0x3E07 };
        tlv(0x3E01, &[krd, tlv(att_tag, &att)].concat())
    }

    /// The `/regResponse` body: a RegistrationResponse array of one.
    pub fn register(&self, c: &UafCeremony) -> Value {
        let fc = c.fc_params();
        let fch = c
            .final_challenge_hash
            .clone()
            .unwrap_or_else(|| Sha256::digest(fc.as_bytes()).to_vec());
        let assertion = self.assertion(&fch, &c.extra_krd, c.corrupt_signature);
        json!([{
            "header": {
                "upv": {"major": c.upv.0, "minor": c.upv.1},
                "op": c.op,
                "appID": c.app_id,
                "serverData": c.server_data,
            },
            "fcParams": fc,
            "assertions": [{"assertionScheme": "UAFV1TLV", "assertion": b64u(&assertion)}],
        }])
    }
}
