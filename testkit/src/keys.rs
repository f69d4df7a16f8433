//! Signing keys for software authenticators.

use ciborium::value::Value;
use rand::SeedableRng;
use rand::rngs::StdRng;
use signature::{SignatureEncoding, Signer};

/// COSE algorithm identifiers.
pub mod alg {
    /// ECDSA w/ SHA-256.
    pub const ES256: i64 = -7;
    /// ECDSA w/ SHA-384.
    pub const ES384: i64 = -35;
    /// ECDSA w/ SHA-512.
    pub const ES512: i64 = -36;
    /// EdDSA.
    pub const EDDSA: i64 = -8;
    /// RSASSA-PKCS1-v1_5 w/ SHA-256.
    pub const RS256: i64 = -257;
    /// RSASSA-PKCS1-v1_5 w/ SHA-1.
    pub const RS1: i64 = -65535;
    /// RSASSA-PSS w/ SHA-256.
    pub const PS256: i64 = -37;
}

/// A private key that can sign as an authenticator would.
#[derive(Clone)]
pub enum SigningKey {
    /// ECDSA P-256.
    P256(p256::ecdsa::SigningKey),
    /// ECDSA P-384.
    P384(p384::ecdsa::SigningKey),
    /// ECDSA P-521.
    P521(Box<p521::ecdsa::SigningKey>),
    /// Ed25519.
    Ed25519(ed25519_dalek::SigningKey),
    /// RSA, used with PKCS#1 v1.5 or PSS.
    Rsa {
        /// The key.
        key: Box<rsa::RsaPrivateKey>,
        /// Sign with PSS rather than PKCS#1 v1.5.
        pss: bool,
        /// Sign with SHA-1 (RS1, -65535) rather than SHA-256.
        sha1: bool,
    },
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey(alg {})", self.cose_alg())
    }
}

/// A deterministic RNG for reproducible fixtures.
pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

impl SigningKey {
    /// A key for COSE algorithm `alg`, generated from `seed`.
    pub fn generate(alg: i64, seed: u64) -> Self {
        let mut rng = rng(seed);
        match alg {
            alg::ES256 => Self::P256(p256::ecdsa::SigningKey::random(&mut rng)),
            alg::ES384 => Self::P384(p384::ecdsa::SigningKey::random(&mut rng)),
            alg::ES512 => Self::P521(Box::new(p521::ecdsa::SigningKey::random(&mut rng))),
            alg::EDDSA => Self::Ed25519(ed25519_dalek::SigningKey::generate(&mut rng)),
            alg::RS256 | alg::RS1 | alg::PS256 => Self::Rsa {
                key: Box::new(rsa::RsaPrivateKey::new(&mut rng, 2048).expect("RSA key generation")),
                pss: alg == alg::PS256,
                sha1: alg == alg::RS1,
            },
            other => panic!("no software key for COSE alg {other}"),
        }
    }

    /// The COSE algorithm this key signs with.
    pub fn cose_alg(&self) -> i64 {
        match self {
            Self::P256(_) => alg::ES256,
            Self::P384(_) => alg::ES384,
            Self::P521(_) => alg::ES512,
            Self::Ed25519(_) => alg::EDDSA,
            Self::Rsa { sha1: true, .. } => alg::RS1,
            Self::Rsa { pss: false, .. } => alg::RS256,
            Self::Rsa { pss: true, .. } => alg::PS256,
        }
    }

    /// Signs `msg` as WebAuthn expects (ECDSA as DER).
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        match self {
            Self::P256(k) => Signer::<p256::ecdsa::DerSignature>::sign(k, msg).to_vec(),
            Self::P384(k) => Signer::<p384::ecdsa::DerSignature>::sign(k, msg).to_vec(),
            Self::P521(k) => {
                let sig: p521::ecdsa::Signature = k.sign(msg);
                sig.to_der().to_vec()
            }
            Self::Ed25519(k) => k.sign(msg).to_bytes().to_vec(),
            Self::Rsa { key, pss, sha1 } => rsa_sign(key, *pss, msg, *sha1),
        }
    }

    /// Signs `msg` with ECDSA as fixed-size `r || s` (UAF `_RAW`).
    pub fn sign_fixed(&self, msg: &[u8]) -> Vec<u8> {
        match self {
            Self::P256(k) => Signer::<p256::ecdsa::Signature>::sign(k, msg).to_vec(),
            other => other.sign(msg),
        }
    }

    /// Signs with RSASSA-PKCS1-v1_5 SHA-1 (legacy TPM statements).
    pub fn sign_sha1(&self, msg: &[u8]) -> Vec<u8> {
        match self {
            Self::Rsa { key, .. } => rsa_sign(key, false, msg, true),
            _ => panic!("SHA-1 signatures only with RSA keys"),
        }
    }

    /// The SEC1 uncompressed point of an EC key.
    pub fn ec_point(&self) -> Vec<u8> {
        match self {
            Self::P256(k) => k
                .verifying_key()
                .to_encoded_point(false)
                .as_bytes()
                .to_vec(),
            Self::P384(k) => k
                .verifying_key()
                .to_encoded_point(false)
                .as_bytes()
                .to_vec(),
            Self::P521(k) => {
                let vk = p521::ecdsa::VerifyingKey::from(k.as_ref());
                vk.to_encoded_point(false).as_bytes().to_vec()
            }
            _ => panic!("not an EC key"),
        }
    }

    /// RSA modulus and exponent, big-endian.
    pub fn rsa_components(&self) -> (Vec<u8>, Vec<u8>) {
        use rsa::traits::PublicKeyParts;
        match self {
            Self::Rsa { key, .. } => (key.n().to_bytes_be(), key.e().to_bytes_be()),
            _ => panic!("not an RSA key"),
        }
    }

    /// The public key as a COSE_Key map.
    pub fn cose_key_value(&self) -> Value {
        let int = |i: i64| Value::Integer(i.into());
        let bytes = |b: &[u8]| Value::Bytes(b.to_vec());
        match self {
            Self::P256(_) | Self::P384(_) | Self::P521(_) => {
                let point = self.ec_point();
                let len = (point.len() - 1) / 2;
                let crv = match self {
                    Self::P256(_) => 1,
                    Self::P384(_) => 2,
                    _ => 3,
                };
                Value::Map(vec![
                    (int(1), int(2)),
                    (int(3), int(self.cose_alg())),
                    (int(-1), int(crv)),
                    (int(-2), bytes(&point[1..=len])),
                    (int(-3), bytes(&point[1 + len..])),
                ])
            }
            Self::Ed25519(k) => Value::Map(vec![
                (int(1), int(1)),
                (int(3), int(alg::EDDSA)),
                (int(-1), int(6)),
                (int(-2), bytes(k.verifying_key().as_bytes())),
            ]),
            Self::Rsa { .. } => {
                let (n, e) = self.rsa_components();
                Value::Map(vec![
                    (int(1), int(3)),
                    (int(3), int(self.cose_alg())),
                    (int(-1), bytes(&n)),
                    (int(-2), bytes(&e)),
                ])
            }
        }
    }

    /// The public key as encoded COSE_Key bytes.
    pub fn cose_key(&self) -> Vec<u8> {
        crate::webauthn::cbor(&self.cose_key_value())
    }

    /// The private key in its algorithm's own PEM form: SEC1 (`EC PRIVATE
    /// KEY`) for P-256, PKCS#1 (`RSA PRIVATE KEY`) for RSA; `None` for
    /// the others.
    pub fn traditional_pem(&self) -> Option<String> {
        match self {
            Self::P256(k) => p256::SecretKey::from(k)
                .to_sec1_pem(Default::default())
                .ok()
                .map(|z| z.to_string()),
            Self::Rsa { key, .. } => {
                use rsa::pkcs1::EncodeRsaPrivateKey;
                key.to_pkcs1_pem(Default::default())
                    .ok()
                    .map(|z| z.to_string())
            }
            _ => None,
        }
    }

    /// PKCS#8 DER of the private key (for rcgen).
    pub fn pkcs8_der(&self) -> Vec<u8> {
        use p256::pkcs8::EncodePrivateKey;
        match self {
            Self::P256(k) => k.to_pkcs8_der().expect("pkcs8").as_bytes().to_vec(),
            Self::P384(k) => k.to_pkcs8_der().expect("pkcs8").as_bytes().to_vec(),
            Self::Ed25519(k) => k.to_pkcs8_der().expect("pkcs8").as_bytes().to_vec(),
            Self::Rsa { key, .. } => key.to_pkcs8_der().expect("pkcs8").as_bytes().to_vec(),
            Self::P521(_) => panic!("P-521 certificates are not generated"),
        }
    }

    /// The key as an rcgen key pair, for issuing or holding certificates.
    pub fn rcgen_key_pair(&self) -> rcgen::KeyPair {
        let alg = match self {
            Self::P256(_) => &rcgen::PKCS_ECDSA_P256_SHA256,
            Self::P384(_) => &rcgen::PKCS_ECDSA_P384_SHA384,
            Self::Ed25519(_) => &rcgen::PKCS_ED25519,
            Self::Rsa { .. } => &rcgen::PKCS_RSA_SHA256,
            Self::P521(_) => panic!("P-521 certificates are not generated"),
        };
        let der = self.pkcs8_der();
        let pair = rcgen::KeyPair::try_from(der.as_slice()).expect("rcgen key pair");
        assert!(
            pair.is_compatible(alg),
            "rcgen picked an incompatible algorithm"
        );
        pair
    }
}

fn rsa_sign(key: &rsa::RsaPrivateKey, pss: bool, msg: &[u8], sha1: bool) -> Vec<u8> {
    use sha2::Digest;
    if sha1 {
        let digest = sha1::Sha1::digest(msg);
        return key
            .sign(rsa::Pkcs1v15Sign::new::<sha1::Sha1>(), &digest)
            .expect("RSA sign");
    }
    let digest = sha2::Sha256::digest(msg);
    if pss {
        let mut rng = rng(7);
        key.sign_with_rng(&mut rng, rsa::Pss::new::<sha2::Sha256>(), &digest)
            .expect("RSA-PSS sign")
    } else {
        key.sign(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &digest)
            .expect("RSA sign")
    }
}
