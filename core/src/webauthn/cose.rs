//! COSE keys and algorithms (RFC 9052/9053, RFC 8230) as WebAuthn uses them.
//!
//! Decoded with ciborium; labels must be unique, the parameters each key
//! type needs must be present with the right sizes, private-key parameters
//! are refused, and the algorithm must fit the key.

use super::error::CoseError;
use crate::cbor::{self, Map};
use crate::crypto::{Curve, Hash, PublicKey, SignatureScheme};
use ciborium::value::Value;

/// The COSE algorithms fidogate verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CoseAlgorithm {
    /// ECDSA w/ SHA-256 (-7).
    Es256,
    /// ECDSA w/ SHA-384 (-35).
    Es384,
    /// ECDSA w/ SHA-512 (-36).
    Es512,
    /// EdDSA (-8), Ed25519 keys.
    EdDsa,
    /// RSASSA-PKCS1-v1_5 w/ SHA-256 (-257).
    Rs256,
    /// RSASSA-PKCS1-v1_5 w/ SHA-384 (-258).
    Rs384,
    /// RSASSA-PKCS1-v1_5 w/ SHA-512 (-259).
    Rs512,
    /// RSASSA-PSS w/ SHA-256 (-37).
    Ps256,
    /// RSASSA-PSS w/ SHA-384 (-38).
    Ps384,
    /// RSASSA-PSS w/ SHA-512 (-39).
    Ps512,
    /// RSASSA-PKCS1-v1_5 w/ SHA-1 (-65535): only inside TPM statements.
    Rs1,
}

impl CoseAlgorithm {
    /// Every algorithm a credential key may use (all but RS1).
    pub const CREDENTIAL: [Self; 10] = [
        Self::Es256,
        Self::Es384,
        Self::Es512,
        Self::EdDsa,
        Self::Rs256,
        Self::Rs384,
        Self::Rs512,
        Self::Ps256,
        Self::Ps384,
        Self::Ps512,
    ];

    /// The algorithm with COSE identifier `id`.
    pub fn from_id(id: i64) -> Option<Self> {
        Some(match id {
            -7 => Self::Es256,
            -35 => Self::Es384,
            -36 => Self::Es512,
            -8 => Self::EdDsa,
            -257 => Self::Rs256,
            -258 => Self::Rs384,
            -259 => Self::Rs512,
            -37 => Self::Ps256,
            -38 => Self::Ps384,
            -39 => Self::Ps512,
            -65535 => Self::Rs1,
            _ => return None,
        })
    }

    /// The COSE identifier.
    pub fn id(self) -> i64 {
        match self {
            Self::Es256 => -7,
            Self::Es384 => -35,
            Self::Es512 => -36,
            Self::EdDsa => -8,
            Self::Rs256 => -257,
            Self::Rs384 => -258,
            Self::Rs512 => -259,
            Self::Ps256 => -37,
            Self::Ps384 => -38,
            Self::Ps512 => -39,
            Self::Rs1 => -65535,
        }
    }

    /// The JOSE name (RFC 7518, RFC 8037); `RS1` for RSASSA-PKCS1-v1_5
    /// with SHA-1, which JOSE does not name.
    pub fn jose_name(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::Es512 => "ES512",
            Self::EdDsa => "EdDSA",
            Self::Rs256 => "RS256",
            Self::Rs384 => "RS384",
            Self::Rs512 => "RS512",
            Self::Ps256 => "PS256",
            Self::Ps384 => "PS384",
            Self::Ps512 => "PS512",
            Self::Rs1 => "RS1",
        }
    }

    /// The signature scheme (ECDSA signatures DER-encoded, as WebAuthn has them).
    pub fn scheme(self) -> SignatureScheme {
        match self {
            Self::Es256 => SignatureScheme::EcdsaDer(Hash::Sha256),
            Self::Es384 => SignatureScheme::EcdsaDer(Hash::Sha384),
            Self::Es512 => SignatureScheme::EcdsaDer(Hash::Sha512),
            Self::EdDsa => SignatureScheme::Ed25519,
            Self::Rs256 => SignatureScheme::RsaPkcs1(Hash::Sha256),
            Self::Rs384 => SignatureScheme::RsaPkcs1(Hash::Sha384),
            Self::Rs512 => SignatureScheme::RsaPkcs1(Hash::Sha512),
            Self::Ps256 => SignatureScheme::RsaPss(Hash::Sha256),
            Self::Ps384 => SignatureScheme::RsaPss(Hash::Sha384),
            Self::Ps512 => SignatureScheme::RsaPss(Hash::Sha512),
            Self::Rs1 => SignatureScheme::RsaPkcs1(Hash::Sha1),
        }
    }

    /// The hash the algorithm signs with (EdDSA: SHA-512 internally; TPM
    /// statements never use EdDSA).
    pub fn hash(self) -> Hash {
        match self {
            Self::Es256 | Self::Rs256 | Self::Ps256 => Hash::Sha256,
            Self::Es384 | Self::Rs384 | Self::Ps384 => Hash::Sha384,
            Self::Es512 | Self::Rs512 | Self::Ps512 | Self::EdDsa => Hash::Sha512,
            Self::Rs1 => Hash::Sha1,
        }
    }
}

/// A credential public key decoded from a COSE_Key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoseKey {
    /// The key's algorithm (`alg`, label 3).
    pub alg: CoseAlgorithm,
    /// The key material.
    pub key: PublicKey,
}

const KTY_OKP: i64 = 1;
const KTY_EC2: i64 = 2;
const KTY_RSA: i64 = 3;

impl CoseKey {
    /// Decodes a COSE_Key map.
    pub fn from_value(value: &Value) -> Result<Self, CoseError> {
        let map = Map::new(value, "COSE_Key")?;
        let kty = cbor::as_i64(
            map.get_int(1).ok_or(CoseError::MissingParam("kty (1)"))?,
            "COSE_Key kty",
        )?;
        let alg_id = cbor::as_i64(
            map.get_int(3).ok_or(CoseError::MissingParam("alg (3)"))?,
            "COSE_Key alg",
        )?;
        let alg = CoseAlgorithm::from_id(alg_id).ok_or(CoseError::UnsupportedAlg(alg_id))?;
        let bytes = |label: i64, name: &'static str| -> Result<&[u8], CoseError> {
            let v = map.get_int(label).ok_or(CoseError::MissingParam(name))?;
            v.as_bytes().map(Vec::as_slice).ok_or(CoseError::BadParam {
                param: name,
                reason: "must be a byte string".to_owned(),
            })
        };
        let key = match kty {
            KTY_EC2 => {
                refuse_private(&map, &[-4])?;
                let crv = cbor::as_i64(
                    map.get_int(-1).ok_or(CoseError::MissingParam("crv (-1)"))?,
                    "COSE_Key crv",
                )?;
                let curve = match crv {
                    1 => Curve::P256,
                    2 => Curve::P384,
                    3 => Curve::P521,
                    other => {
                        return Err(CoseError::BadParam {
                            param: "crv (-1)",
                            reason: format!("EC2 curve {other} is not supported"),
                        });
                    }
                };
                let x = bytes(-2, "x (-2)")?;
                // A boolean y is point compression, which WebAuthn does not allow.
                let y = bytes(-3, "y (-3)")?;
                PublicKey::ec(curve, x, y).map_err(CoseError::Key)?
            }
            KTY_OKP => {
                refuse_private(&map, &[-4])?;
                let crv = cbor::as_i64(
                    map.get_int(-1).ok_or(CoseError::MissingParam("crv (-1)"))?,
                    "COSE_Key crv",
                )?;
                if crv != 6 {
                    return Err(CoseError::BadParam {
                        param: "crv (-1)",
                        reason: format!("OKP curve {crv} is not supported; only Ed25519 (6)"),
                    });
                }
                let x: [u8; 32] =
                    bytes(-2, "x (-2)")?
                        .try_into()
                        .map_err(|_| CoseError::BadParam {
                            param: "x (-2)",
                            reason: "an Ed25519 key is 32 bytes".to_owned(),
                        })?;
                PublicKey::Ed25519(x)
            }
            KTY_RSA => {
                refuse_private(&map, &[-3, -4, -5, -6, -7, -8, -9, -10, -11, -12])?;
                let n = bytes(-1, "n (-1)")?;
                let e = bytes(-2, "e (-2)")?;
                PublicKey::rsa(n, e).map_err(CoseError::Key)?
            }
            other => return Err(CoseError::UnsupportedKeyType(other)),
        };
        let fits = matches!(
            (alg, &key),
            (
                CoseAlgorithm::Es256,
                PublicKey::Ec {
                    curve: Curve::P256,
                    ..
                }
            ) | (
                CoseAlgorithm::Es384,
                PublicKey::Ec {
                    curve: Curve::P384,
                    ..
                }
            ) | (
                CoseAlgorithm::Es512,
                PublicKey::Ec {
                    curve: Curve::P521,
                    ..
                }
            ) | (CoseAlgorithm::EdDsa, PublicKey::Ed25519(_))
                | (
                    CoseAlgorithm::Rs256
                        | CoseAlgorithm::Rs384
                        | CoseAlgorithm::Rs512
                        | CoseAlgorithm::Ps256
                        | CoseAlgorithm::Ps384
                        | CoseAlgorithm::Ps512
                        | CoseAlgorithm::Rs1,
                    PublicKey::Rsa { .. }
                )
        );
        if !fits {
            return Err(CoseError::AlgKeyMismatch {
                alg: alg_id,
                key: key.kind(),
            });
        }
        Ok(Self { alg, key })
    }
}

fn refuse_private(map: &Map<'_>, labels: &[i64]) -> Result<(), CoseError> {
    match labels.iter().find(|l| map.get_int(**l).is_some()) {
        Some(_) => Err(CoseError::BadParam {
            param: "d",
            reason: "a public key must not carry private key parameters".to_owned(),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cbor::decode_exact;

    fn int(i: i64) -> Value {
        Value::Integer(i.into())
    }

    fn ec2(alg: i64, crv: i64, len: usize) -> Value {
        // The P-256 generator point, a valid key.
        let x = hex_decode("6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296");
        let y = hex_decode("4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5");
        let (x, y) = if len == 32 {
            (x, y)
        } else {
            (vec![1; len], vec![1; len])
        };
        Value::Map(vec![
            (int(1), int(2)),
            (int(3), int(alg)),
            (int(-1), int(crv)),
            (int(-2), Value::Bytes(x)),
            (int(-3), Value::Bytes(y)),
        ])
    }

    fn hex_decode(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn decodes_p256() {
        let k = CoseKey::from_value(&ec2(-7, 1, 32)).unwrap();
        assert_eq!(k.alg, CoseAlgorithm::Es256);
    }

    #[test]
    fn refuses_mismatches_and_bad_params() {
        assert!(matches!(
            CoseKey::from_value(&ec2(-35, 1, 32)),
            Err(CoseError::AlgKeyMismatch { .. })
        ));
        assert!(matches!(
            CoseKey::from_value(&ec2(-7, 1, 31)),
            Err(CoseError::Key(_))
        ));
        assert!(matches!(
            CoseKey::from_value(&ec2(-7, 9, 32)),
            Err(CoseError::BadParam { .. })
        ));
        assert!(matches!(
            CoseKey::from_value(&ec2(-999, 1, 32)),
            Err(CoseError::UnsupportedAlg(-999))
        ));
        let Value::Map(mut m) = ec2(-7, 1, 32) else {
            unreachable!()
        };
        m.push((int(-4), Value::Bytes(vec![1; 32])));
        assert!(matches!(
            CoseKey::from_value(&Value::Map(m)),
            Err(CoseError::BadParam { param: "d", .. })
        ));
        let Value::Map(mut m) = ec2(-7, 1, 32) else {
            unreachable!()
        };
        m.push((int(3), int(-7)));
        assert!(matches!(
            CoseKey::from_value(&Value::Map(m)),
            Err(CoseError::Cbor(_))
        ));
        let Value::Map(mut m) = ec2(-7, 1, 32) else {
            unreachable!()
        };
        m.retain(|(k, _)| *k != int(3));
        assert!(matches!(
            CoseKey::from_value(&Value::Map(m)),
            Err(CoseError::MissingParam("alg (3)"))
        ));
        let Value::Map(mut m) = ec2(-7, 1, 32) else {
            unreachable!()
        };
        m[4].1 = Value::Bool(true);
        assert!(matches!(
            CoseKey::from_value(&Value::Map(m)),
            Err(CoseError::BadParam { .. })
        ));
    }

    #[test]
    fn refuses_small_rsa_and_unknown_kty() {
        let v = Value::Map(vec![
            (int(1), int(3)),
            (int(3), int(-257)),
            (int(-1), Value::Bytes(vec![0xff; 128])),
            (int(-2), Value::Bytes(vec![1, 0, 1])),
        ]);
        assert!(matches!(CoseKey::from_value(&v), Err(CoseError::Key(_))));
        let v = Value::Map(vec![(int(1), int(4)), (int(3), int(-7))]);
        assert_eq!(
            CoseKey::from_value(&v),
            Err(CoseError::UnsupportedKeyType(4))
        );
        assert!(CoseKey::from_value(&decode_exact(&[0x01], "t").unwrap()).is_err());
    }
}
