//! The same tests run against whichever backend is compiled in;
//! `scripts/test.sh` runs them once per backend.

use super::*;
use fidogate_testkit::keys::{SigningKey, alg};

fn pk(k: &SigningKey) -> PublicKey {
    match k {
        SigningKey::P256(_) => PublicKey::Ec {
            curve: Curve::P256,
            point: k.ec_point(),
        },
        SigningKey::P384(_) => PublicKey::Ec {
            curve: Curve::P384,
            point: k.ec_point(),
        },
        SigningKey::P521(_) => PublicKey::Ec {
            curve: Curve::P521,
            point: k.ec_point(),
        },
        SigningKey::Ed25519(_) => {
            let Value(bytes) = ed_bytes(k);
            PublicKey::Ed25519(bytes)
        }
        SigningKey::Rsa { .. } => {
            let (n, e) = k.rsa_components();
            PublicKey::rsa(&n, &e).unwrap()
        }
    }
}

struct Value([u8; 32]);

fn ed_bytes(k: &SigningKey) -> Value {
    let SigningKey::Ed25519(sk) = k else {
        unreachable!()
    };
    Value(sk.verifying_key().to_bytes())
}

fn roundtrip(alg_id: i64, scheme: SignatureScheme) {
    let key = SigningKey::generate(alg_id, 42);
    let public = pk(&key);
    let msg = b"authenticator data || client data hash";
    let sig = key.sign(msg);
    assert_eq!(
        verify(&public, scheme, msg, &sig),
        Ok(()),
        "{} {scheme:?}",
        BACKEND
    );
    assert_eq!(
        verify(&public, scheme, b"another message", &sig),
        Err(CryptoError::BadSignature)
    );
    let mut bad = sig.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert!(verify(&public, scheme, msg, &bad).is_err());
    assert!(verify(&public, scheme, msg, &[]).is_err());
}

#[test]
fn ecdsa_p256_p384_p521() {
    roundtrip(alg::ES256, SignatureScheme::EcdsaDer(Hash::Sha256));
    roundtrip(alg::ES384, SignatureScheme::EcdsaDer(Hash::Sha384));
    roundtrip(alg::ES512, SignatureScheme::EcdsaDer(Hash::Sha512));
}

#[test]
fn ecdsa_fixed_encoding() {
    let key = SigningKey::generate(alg::ES256, 3);
    let sig = key.sign_fixed(b"m");
    assert_eq!(sig.len(), 64);
    let scheme = SignatureScheme::EcdsaFixed(Hash::Sha256);
    assert_eq!(verify(&pk(&key), scheme, b"m", &sig), Ok(()));
    // A DER signature is not a fixed one, and the other way round.
    assert!(verify(&pk(&key), scheme, b"m", &key.sign(b"m")).is_err());
    assert!(
        verify(
            &pk(&key),
            SignatureScheme::EcdsaDer(Hash::Sha256),
            b"m",
            &sig
        )
        .is_err()
    );
}

#[test]
fn ed25519() {
    roundtrip(alg::EDDSA, SignatureScheme::Ed25519);
}

#[test]
fn rsa_pkcs1_pss_and_legacy_sha1() {
    roundtrip(alg::RS256, SignatureScheme::RsaPkcs1(Hash::Sha256));
    roundtrip(alg::PS256, SignatureScheme::RsaPss(Hash::Sha256));
    let key = SigningKey::generate(alg::RS1, 5);
    let sig = key.sign_sha1(b"certInfo");
    assert_eq!(
        verify(
            &pk(&key),
            SignatureScheme::RsaPkcs1(Hash::Sha1),
            b"certInfo",
            &sig
        ),
        Ok(())
    );
    // PKCS#1 v1.5 is not PSS.
    let sig = SigningKey::generate(alg::RS256, 5).sign(b"x");
    assert!(verify(&pk(&key), SignatureScheme::RsaPss(Hash::Sha256), b"x", &sig).is_err());
}

#[test]
fn key_and_scheme_must_fit() {
    let ec = pk(&SigningKey::generate(alg::ES256, 1));
    assert!(matches!(
        verify(&ec, SignatureScheme::Ed25519, b"m", b"s"),
        Err(CryptoError::KeyMismatch { .. })
    ));
    assert!(matches!(
        verify(&ec, SignatureScheme::RsaPkcs1(Hash::Sha256), b"m", b"s"),
        Err(CryptoError::KeyMismatch { .. })
    ));
    assert!(matches!(
        verify(&ec, SignatureScheme::EcdsaDer(Hash::Sha1), b"m", b"s"),
        Err(CryptoError::Unsupported { .. })
    ));
    let p521 = pk(&SigningKey::generate(alg::ES512, 1));
    assert!(matches!(
        verify(&p521, SignatureScheme::EcdsaDer(Hash::Sha256), b"m", b"s"),
        Err(CryptoError::Unsupported { .. })
    ));
}

#[test]
fn invalid_keys_are_named() {
    // Not on the curve: the generator with y + 1.
    let mut point = pk(&SigningKey::generate(alg::ES256, 1));
    if let PublicKey::Ec { point: p, .. } = &mut point {
        let last = p.len() - 1;
        p[last] ^= 1;
    }
    let sig = SigningKey::generate(alg::ES256, 1).sign(b"m");
    assert!(matches!(
        verify(&point, SignatureScheme::EcdsaDer(Hash::Sha256), b"m", &sig),
        Err(CryptoError::InvalidKey(_))
    ));
    // Compressed points are refused.
    let compressed = PublicKey::Ec {
        curve: Curve::P256,
        point: vec![0x02; 33],
    };
    assert!(matches!(
        verify(
            &compressed,
            SignatureScheme::EcdsaDer(Hash::Sha256),
            b"m",
            &sig
        ),
        Err(CryptoError::InvalidKey(_))
    ));
    assert!(
        PublicKey::rsa(&[0xff; 128], &[1, 0, 1]).is_err(),
        "1024-bit RSA accepted"
    );
    assert!(
        PublicKey::rsa(&[0xff; 256], &[2]).is_err(),
        "even exponent accepted"
    );
    assert!(PublicKey::ec(Curve::P256, &[0; 31], &[0; 32]).is_err());
}

#[test]
fn p256_signer_signs_what_verify_accepts_and_refuses_other_keys() {
    let k = SigningKey::generate(alg::ES256, 40);
    let signer = P256Signer::from_pkcs8_der(&k.pkcs8_der()).unwrap();
    assert_eq!(signer.public_point(), k.ec_point());
    let sig = signer.sign(b"header.claims").unwrap();
    assert_eq!(sig.len(), 64);
    let scheme = SignatureScheme::EcdsaFixed(Hash::Sha256);
    assert_eq!(verify(&pk(&k), scheme, b"header.claims", &sig), Ok(()));
    assert_eq!(
        verify(&pk(&k), scheme, b"header.claimz", &sig),
        Err(CryptoError::BadSignature)
    );
    for other in [alg::ES384, alg::EDDSA, alg::RS256] {
        let der = SigningKey::generate(other, 41).pkcs8_der();
        assert!(
            matches!(
                P256Signer::from_pkcs8_der(&der),
                Err(CryptoError::Signing(_))
            ),
            "alg {other}"
        );
    }
    let der = k.pkcs8_der();
    for cut in [0, 1, der.len() / 2, der.len() - 1] {
        assert!(
            P256Signer::from_pkcs8_der(&der[..cut]).is_err(),
            "cut {cut}"
        );
    }
}

#[test]
fn p256_signer_reads_the_keys_the_gateway_generates() {
    // The gateway and the layer generate their key with rcgen; either
    // backend must read it.
    let der = fidogate_testkit::rcgen::KeyPair::generate_for(
        &fidogate_testkit::rcgen::PKCS_ECDSA_P256_SHA256,
    )
    .unwrap()
    .serialize_der();
    let signer = P256Signer::from_pkcs8_der(&der).unwrap();
    let point = signer.public_point();
    let key = PublicKey::ec(Curve::P256, &point[1..33], &point[33..]).unwrap();
    let sig = signer.sign(b"m").unwrap();
    assert_eq!(
        verify(&key, SignatureScheme::EcdsaFixed(Hash::Sha256), b"m", &sig),
        Ok(())
    );
}

#[test]
fn hmac_sha256_matches_rfc4231() {
    // Test case 1 (short key), 6 (key longer than the block) and 2.
    let cases: [(&[u8], &[u8], &str); 3] = [
        (
            &[0x0b; 20],
            b"Hi There",
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        ),
        (
            &[0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First",
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        ),
        (
            b"Jefe",
            b"what do ya want for nothing?",
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        ),
    ];
    for (key, data, want) in cases {
        assert_eq!(hex::encode(hmac_sha256(key, data)), want);
    }
}

#[test]
fn constant_time_eq_compares_whole_strings() {
    assert!(constant_time_eq(b"abc", b"abc"));
    assert!(!constant_time_eq(b"abc", b"abd"));
    assert!(!constant_time_eq(b"abc", b"ab"));
    assert!(constant_time_eq(b"", b""));
}
