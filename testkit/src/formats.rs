//! Generators for the certificate-based attestation formats: `tpm`,
//! `android-key`, `apple`, `android-safetynet`. Each has knobs that make
//! it produce the defects negative tests need.

use crate::certs::{self, Issued};
use crate::der;
use crate::keys::{SigningKey, alg};
use ciborium::value::Value;
use rcgen::{CustomExtension, DnType, ExtendedKeyUsagePurpose, IsCa};
use sha2::{Digest, Sha256};
use std::sync::Arc;

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

fn x5c(certs: &[Vec<u8>]) -> Value {
    Value::Array(certs.iter().map(|c| Value::Bytes(c.clone())).collect())
}

fn signed_data(auth_data: &[u8], client_data_hash: &[u8; 32]) -> Vec<u8> {
    [auth_data, client_data_hash].concat()
}

// ---- tpm ----------------------------------------------------------------------

/// How the AIK certificate is made.
#[derive(Debug, Clone)]
pub struct TpmCertOptions {
    /// A subject CN (the requirement is an empty subject).
    pub subject_cn: Option<String>,
    /// Include the subjectAltName with manufacturer, model and version.
    pub san: bool,
    /// The tpmManufacturer value.
    pub manufacturer: String,
    /// Include the tcg-kp-AIKCertificate extended key usage.
    pub eku: bool,
}

impl Default for TpmCertOptions {
    fn default() -> Self {
        Self {
            subject_cn: None,
            san: true,
            manufacturer: "id:4E544300".to_owned(),
            eku: true,
        }
    }
}

/// A TPM 2.0 attestation: an RSA AIK certified by a CA.
#[derive(Debug, Clone)]
pub struct Tpm {
    /// The AIK.
    pub aik: SigningKey,
    /// AIK certificate and its CA.
    pub x5c: Vec<Vec<u8>>,
    /// Sign with RS1 rather than RS256.
    pub sha1: bool,
}

impl Tpm {
    /// An AIK from `seed`, certified per `opts` by `ca`.
    pub fn new(seed: u64, ca: &Issued, opts: &TpmCertOptions, aaguid: [u8; 16]) -> Self {
        let dn: Vec<(DnType, &str)> = match &opts.subject_cn {
            Some(cn) => vec![(DnType::CommonName, cn.as_str())],
            None => Vec::new(),
        };
        let mut p = certs::params(&dn);
        p.is_ca = IsCa::ExplicitNoCa;
        if opts.eku {
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::Other(vec![2, 23, 133, 8, 3])];
        }
        if opts.san {
            let attr = |oid_last: u8, v: &str| {
                der::set(&[der::seq(&[
                    der::oid(&[0x67, 0x81, 0x05, 0x02, oid_last]),
                    der::utf8(v),
                ])])
            };
            let name = der::seq(&[
                attr(1, &opts.manufacturer),
                attr(2, "NPCT6xx"),
                attr(3, "id:13"),
            ]);
            let san = der::seq(&[der::explicit(4, &name)]);
            let mut ext = CustomExtension::from_oid_content(&[2, 5, 29, 17], san);
            ext.set_criticality(true);
            p.custom_extensions.push(ext);
        }
        p.custom_extensions.push(certs::aaguid_extension(aaguid));
        let aik = certs::issue(p, SigningKey::generate(alg::RS256, seed), ca);
        Self {
            aik: aik.key.clone(),
            x5c: vec![aik.der.clone(), ca.der.clone()],
            sha1: false,
        }
    }

    /// The `pubArea` (TPMT_PUBLIC) for `key`.
    pub fn pub_area(key: &SigningKey) -> Vec<u8> {
        let mut v = Vec::new();
        match key {
            SigningKey::Rsa { .. } => {
                let (n, e) = key.rsa_components();
                v.extend_from_slice(&0x0001u16.to_be_bytes());
                v.extend_from_slice(&0x000bu16.to_be_bytes());
                v.extend_from_slice(&0x0006_0472u32.to_be_bytes());
                v.extend_from_slice(&0u16.to_be_bytes());
                v.extend_from_slice(&0x0010u16.to_be_bytes());
                v.extend_from_slice(&0x0010u16.to_be_bytes());
                v.extend_from_slice(&2048u16.to_be_bytes());
                let exp = if e == [1, 0, 1] {
                    0
                } else {
                    u32::from_be_bytes([0, e[0], e[1], e[2]])
                };
                v.extend_from_slice(&exp.to_be_bytes());
                v.extend_from_slice(&(n.len() as u16).to_be_bytes());
                v.extend_from_slice(&n);
            }
            SigningKey::P256(_) => {
                let point = key.ec_point();
                v.extend_from_slice(&0x0023u16.to_be_bytes());
                v.extend_from_slice(&0x000bu16.to_be_bytes());
                v.extend_from_slice(&0x0006_0472u32.to_be_bytes());
                v.extend_from_slice(&0u16.to_be_bytes());
                v.extend_from_slice(&0x0010u16.to_be_bytes());
                v.extend_from_slice(&0x0010u16.to_be_bytes());
                v.extend_from_slice(&0x0003u16.to_be_bytes());
                v.extend_from_slice(&0x0010u16.to_be_bytes());
                v.extend_from_slice(&32u16.to_be_bytes());
                v.extend_from_slice(&point[1..33]);
                v.extend_from_slice(&32u16.to_be_bytes());
                v.extend_from_slice(&point[33..]);
            }
            _ => panic!("TPM credentials are RSA or P-256"),
        }
        v
    }

    /// The attestation statement.
    pub fn statement(
        &self,
        credential: &SigningKey,
        auth_data: &[u8],
        client_data_hash: &[u8; 32],
    ) -> Value {
        let pub_area = Self::pub_area(credential);
        let att_to_be_signed = signed_data(auth_data, client_data_hash);
        let extra = if self.sha1 {
            sha1::Sha1::digest(&att_to_be_signed).to_vec()
        } else {
            Sha256::digest(&att_to_be_signed).to_vec()
        };
        let mut name = 0x000bu16.to_be_bytes().to_vec();
        name.extend_from_slice(&Sha256::digest(&pub_area));
        let mut ci = Vec::new();
        ci.extend_from_slice(&0xff54_4347u32.to_be_bytes());
        ci.extend_from_slice(&0x8017u16.to_be_bytes());
        ci.extend_from_slice(&34u16.to_be_bytes());
        ci.extend_from_slice(&[0u8; 34]);
        ci.extend_from_slice(&(extra.len() as u16).to_be_bytes());
        ci.extend_from_slice(&extra);
        ci.extend_from_slice(&[0u8; 17]);
        ci.extend_from_slice(&[0u8; 8]);
        ci.extend_from_slice(&(name.len() as u16).to_be_bytes());
        ci.extend_from_slice(&name);
        ci.extend_from_slice(&34u16.to_be_bytes());
        ci.extend_from_slice(&[0u8; 34]);
        let (alg_id, sig) = if self.sha1 {
            (alg::RS1, self.aik.sign_sha1(&ci))
        } else {
            (alg::RS256, self.aik.sign(&ci))
        };
        Value::Map(vec![
            (text("ver"), text("2.0")),
            (text("alg"), Value::Integer(alg_id.into())),
            (text("x5c"), x5c(&self.x5c)),
            (text("sig"), Value::Bytes(sig)),
            (text("certInfo"), Value::Bytes(ci)),
            (text("pubArea"), Value::Bytes(pub_area)),
        ])
    }
}

// ---- android-key ---------------------------------------------------------------

/// The Keystore KeyDescription the certificate carries.
#[derive(Debug, Clone)]
pub struct AndroidKeyOptions {
    /// Put origin and purpose in teeEnforced (else softwareEnforced).
    pub in_tee: bool,
    /// attestationSecurityLevel and keymasterSecurityLevel (0 software, 1 TEE).
    pub security_level: u8,
    /// Add allApplications.
    pub all_applications: bool,
    /// The key purpose (2 = sign).
    pub purpose: u8,
    /// The key origin (0 = generated).
    pub origin: u8,
    /// A challenge other than the client data hash.
    pub challenge: Option<Vec<u8>>,
}

impl Default for AndroidKeyOptions {
    fn default() -> Self {
        Self {
            in_tee: true,
            security_level: 1,
            all_applications: false,
            purpose: 2,
            origin: 0,
            challenge: None,
        }
    }
}

/// An Android Keystore attestation.
#[derive(Debug, Clone)]
pub struct AndroidKey {
    /// The issuing CA.
    pub ca: Arc<Issued>,
    /// The KeyDescription.
    pub options: AndroidKeyOptions,
}

impl AndroidKey {
    /// The KeyDescription DER.
    pub fn key_description(&self, client_data_hash: &[u8; 32]) -> Vec<u8> {
        let o = &self.options;
        let mut auth = vec![
            der::explicit(1, &der::set(&[der::int(o.purpose)])),
            der::explicit(702, &der::int(o.origin)),
        ];
        if o.all_applications {
            auth.push(der::explicit(600, &[0x05, 0x00]));
        }
        let (sw, tee) = if o.in_tee {
            (der::seq(&[]), der::seq(&auth))
        } else {
            (der::seq(&auth), der::seq(&[]))
        };
        der::seq(&[
            der::int(3),
            der::enumerated(o.security_level),
            der::int(4),
            der::enumerated(o.security_level),
            der::octets(o.challenge.as_deref().unwrap_or(client_data_hash)),
            der::octets(&[]),
            sw,
            tee,
        ])
    }

    /// The attestation statement.
    pub fn statement(
        &self,
        credential: &SigningKey,
        auth_data: &[u8],
        client_data_hash: &[u8; 32],
    ) -> Value {
        let mut p = certs::params(&[(DnType::CommonName, "Android Keystore Key")]);
        p.custom_extensions.push(CustomExtension::from_oid_content(
            &[1, 3, 6, 1, 4, 1, 11129, 2, 1, 17],
            self.key_description(client_data_hash),
        ));
        let leaf = certs::issue(p, credential.clone(), &self.ca);
        Value::Map(vec![
            (text("alg"), Value::Integer(credential.cose_alg().into())),
            (
                text("sig"),
                Value::Bytes(credential.sign(&signed_data(auth_data, client_data_hash))),
            ),
            (text("x5c"), x5c(&[leaf.der.clone(), self.ca.der.clone()])),
        ])
    }
}

// ---- apple ------------------------------------------------------------------------

/// An Apple anonymous attestation.
#[derive(Debug, Clone)]
pub struct Apple {
    /// The issuing CA.
    pub ca: Arc<Issued>,
    /// A nonce other than SHA-256(authData || clientDataHash).
    pub nonce: Option<[u8; 32]>,
    /// Certify this key instead of the credential key.
    pub certified_key: Option<SigningKey>,
}

impl Apple {
    /// The attestation statement.
    pub fn statement(
        &self,
        credential: &SigningKey,
        auth_data: &[u8],
        client_data_hash: &[u8; 32],
    ) -> Value {
        let nonce: [u8; 32] = self
            .nonce
            .unwrap_or_else(|| Sha256::digest(signed_data(auth_data, client_data_hash)).into());
        let mut p = certs::params(&[(DnType::CommonName, "fidogate soft apple credential")]);
        p.custom_extensions.push(CustomExtension::from_oid_content(
            &[1, 2, 840, 113635, 100, 8, 2],
            der::seq(&[der::explicit(1, &der::octets(&nonce))]),
        ));
        let key = self
            .certified_key
            .clone()
            .unwrap_or_else(|| credential.clone());
        let leaf = certs::issue(p, key, &self.ca);
        Value::Map(vec![(
            text("x5c"),
            x5c(&[leaf.der.clone(), self.ca.der.clone()]),
        )])
    }
}

// ---- android-safetynet ---------------------------------------------------------------

/// A SafetyNet attestation JWS, ES256-signed by a leaf for `hostname`.
#[derive(Debug, Clone)]
pub struct SafetyNet {
    /// The JWS signing key.
    pub key: SigningKey,
    /// The signing certificate and its CA.
    pub x5c: Vec<Vec<u8>>,
    /// `ctsProfileMatch`.
    pub cts_profile_match: bool,
    /// `timestampMs`.
    pub timestamp_ms: i64,
    /// A nonce other than the right one.
    pub nonce: Option<String>,
}

impl SafetyNet {
    /// A signer certified for `hostname` by `ca`, reporting `timestamp_ms`.
    pub fn new(seed: u64, ca: &Issued, hostname: &str, timestamp_ms: i64) -> Self {
        let mut p = certs::params(&[(DnType::CommonName, hostname)]);
        p.subject_alt_names = vec![rcgen::SanType::DnsName(
            hostname.try_into().expect("DNS name"),
        )];
        let leaf = certs::issue(p, SigningKey::generate(alg::ES256, seed), ca);
        Self {
            key: leaf.key.clone(),
            x5c: vec![leaf.der.clone(), ca.der.clone()],
            cts_profile_match: true,
            timestamp_ms,
            nonce: None,
        }
    }

    /// The attestation statement.
    pub fn statement(&self, auth_data: &[u8], client_data_hash: &[u8; 32]) -> Value {
        use base64::Engine as _;
        let std = &base64::engine::general_purpose::STANDARD;
        let nonce = self.nonce.clone().unwrap_or_else(|| {
            std.encode(Sha256::digest(signed_data(auth_data, client_data_hash)))
        });
        let header = serde_json::json!({"alg": "ES256", "x5c": self.x5c.iter().map(|c| std.encode(c)).collect::<Vec<_>>()});
        let payload = serde_json::json!({
            "nonce": nonce,
            "timestampMs": self.timestamp_ms,
            "apkPackageName": "com.google.android.gms",
            "ctsProfileMatch": self.cts_profile_match,
            "basicIntegrity": true,
        });
        let input = format!(
            "{}.{}",
            crate::b64u(header.to_string().as_bytes()),
            crate::b64u(payload.to_string().as_bytes())
        );
        let sig = self.key.sign_fixed(input.as_bytes());
        let jws = format!("{input}.{}", crate::b64u(&sig));
        Value::Map(vec![
            (text("ver"), text("214815046")),
            (text("response"), Value::Bytes(jws.into_bytes())),
        ])
    }
}
