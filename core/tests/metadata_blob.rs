#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]
//! MDS3 BLOBs: generated PKI and BLOBs made here (ES256 with raw
//! signatures and RS256), each defect refused with its error, the
//! cross-signed root path, and the FIDO conformance BLOB from the shared
//! vectors at an instant within its validity.

use fidogate_core::UnixTime;
use fidogate_core::b64;
use fidogate_core::metadata::{BlobError, MAX_BLOB_LEN, verify_blob};
use fidogate_core::trust::TrustAnchor;
use fidogate_testkit::certs::{self, Issued};
use fidogate_testkit::keys::{SigningKey, alg};
use fidogate_testkit::rcgen::{self, BasicConstraints, DnType, IsCa};
use serde_json::{Value, json};

const AT: UnixTime = UnixTime::from_secs(1_767_225_600); // 2026-01-01

fn root(issued: &Issued, name: &str) -> TrustAnchor {
    TrustAnchor::from_der(issued.der.clone(), name).unwrap()
}

fn ca_params(cn: &str) -> rcgen::CertificateParams {
    let mut p = certs::params(&[
        (DnType::CommonName, cn),
        (DnType::OrganizationName, "fidogate test"),
    ]);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p
}

fn signer(key_alg: i64, seed: u64, issuer: &Issued) -> Issued {
    certs::issue(
        certs::params(&[(DnType::CommonName, "metadata BLOB signer")]),
        SigningKey::generate(key_alg, seed),
        issuer,
    )
}

fn payload() -> Value {
    json!({
        "legalHeader": "Retrieval and use of this BLOB indicates acceptance of the test terms.",
        "no": 12,
        "nextUpdate": "2026-02-01",
        "entries": [
            {"aaguid": "a14eb40d-3b89-4f3b-8d46-13cdf3de625c",
             "statusReports": [{"status": "FIDO_CERTIFIED_L1", "effectiveDate": "2020-01-01"}],
             "metadataStatement": {"description": "Test key", "attestationTypes": ["basic_full"]}},
            {"aaguid": "broken"}
        ]
    })
}

use fidogate_testkit::mds::jws;

struct Pki {
    root: Issued,
    inter: Issued,
    signer: Issued,
}

/// The testkit's metadata PKI, with a signer of `key_alg`.
fn pki(key_alg: i64, seed: u64) -> Pki {
    let p = fidogate_testkit::mds::MdsPki::new(seed);
    let signer = if key_alg == alg::ES256 {
        p.signer
    } else {
        signer(key_alg, seed + 2, &p.ca)
    };
    Pki {
        root: p.root,
        inter: p.ca,
        signer,
    }
}

#[test]
fn es256_and_rs256_blobs_verify_to_a_configured_root() {
    for (jws_alg, key_alg, seed) in [("ES256", alg::ES256, 600), ("RS256", alg::RS256, 610)] {
        let p = pki(key_alg, seed);
        let blob = jws(
            jws_alg,
            &p.signer.key,
            &[&p.signer, &p.inter],
            &json!({}),
            &payload(),
        );
        let v = verify_blob(blob.as_bytes(), &[root(&p.root, "test root")], AT).unwrap();
        assert_eq!(v.root, "CN=metadata test root, O=fidogate test");
        assert_eq!(v.path, vec![p.signer.der.clone(), p.inter.der.clone()]);
        assert_eq!(v.payload.no, 12);
        assert_eq!(v.payload.next_update.unwrap().to_iso(), "2026-02-01");
        assert_eq!(v.payload.entries.len(), 1);
        assert_eq!(
            v.payload.quarantined.len(),
            1,
            "the broken entry is set aside"
        );
        assert_eq!(v.payload.quarantined[0].index, 1);
        // The signer's (2049) and CA's validity end the path's.
        assert!(v.path_valid_until > AT);
        // A trailing newline, as a downloaded file has, is fine.
        assert!(verify_blob(format!("{blob}\n").as_bytes(), &[root(&p.root, "r")], AT).is_ok());
    }
}

#[test]
fn every_defect_is_refused_with_its_error() {
    let p = pki(alg::ES256, 620);
    let roots = [root(&p.root, "test root")];
    let good = jws(
        "ES256",
        &p.signer.key,
        &[&p.signer, &p.inter],
        &json!({}),
        &payload(),
    );
    let verify = |b: &str| verify_blob(b.as_bytes(), &roots, AT);
    assert!(verify(&good).is_ok());

    // A payload changed after signing.
    let parts: Vec<&str> = good.split('.').collect();
    let mut other = payload();
    other["no"] = json!(13);
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64::encode(other.to_string().as_bytes()),
        parts[2]
    );
    assert!(matches!(verify(&tampered), Err(BlobError::Signature(_))));
    // A DER ECDSA signature where JWS has r || s.
    let der = jws(
        "ES256",
        &p.signer.key,
        &[&p.signer, &p.inter],
        &json!({"der": true}),
        &payload(),
    );
    assert!(matches!(verify(&der), Err(BlobError::SignatureEncoding(n)) if n != 64));
    // Certificates by URL.
    let x5u = jws(
        "ES256",
        &p.signer.key,
        &[&p.signer, &p.inter],
        &json!({"x5u": "https://mds.example/chain.pem"}),
        &payload(),
    );
    assert_eq!(verify(&x5u).unwrap_err(), BlobError::X5u);
    // Other algorithms, whatever the key.
    for a in ["none", "HS256", "PS256", "ES384", "EdDSA"] {
        let b = jws(
            a,
            &p.signer.key,
            &[&p.signer, &p.inter],
            &json!({}),
            &payload(),
        );
        assert_eq!(verify(&b).unwrap_err(), BlobError::Alg(a.into()), "{a}");
    }
    // RS256 named over an EC signer: the key cannot verify it.
    let b = jws(
        "RS256",
        &p.signer.key,
        &[&p.signer, &p.inter],
        &json!({}),
        &payload(),
    );
    assert!(matches!(verify(&b), Err(BlobError::Signature(_))));
    // No certificates, junk certificates, unknown critical extensions.
    let empty = jws("ES256", &p.signer.key, &[], &json!({}), &payload());
    assert!(matches!(verify(&empty), Err(BlobError::Header(_))));
    let junk = jws(
        "ES256",
        &p.signer.key,
        &[],
        &json!({"x5c": ["bm90IGEgY2VydA=="]}),
        &payload(),
    );
    assert!(matches!(
        verify(&junk),
        Err(BlobError::Certificate { index: 0, .. })
    ));
    let crit = jws(
        "ES256",
        &p.signer.key,
        &[&p.signer, &p.inter],
        &json!({"crit": ["exp"]}),
        &payload(),
    );
    assert!(matches!(verify(&crit), Err(BlobError::Header(_))));
    // Another root; a chain missing its CA.
    let stranger = certs::root_ca("someone else", SigningKey::generate(alg::ES256, 629));
    assert!(matches!(
        verify_blob(good.as_bytes(), &[root(&stranger, "other")], AT),
        Err(BlobError::NoPath { .. })
    ));
    let short = jws("ES256", &p.signer.key, &[&p.signer], &json!({}), &payload());
    assert!(matches!(verify(&short), Err(BlobError::NoPath { .. })));
    // A signer past its validity at the instant.
    let mut params = certs::params(&[(DnType::CommonName, "expired signer")]);
    params.not_after = time::OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
    let expired = certs::issue(params, SigningKey::generate(alg::ES256, 628), &p.inter);
    let b = jws(
        "ES256",
        &expired.key,
        &[&expired, &p.inter],
        &json!({}),
        &payload(),
    );
    match verify(&b) {
        Err(BlobError::NoPath { reason, .. }) => {
            assert!(reason.contains("x5c[0] is valid"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    // Not a JWS; too large; a payload that is not one.
    for bad in ["", "a.b", "a.b.c.d", "###.###.###"] {
        assert!(matches!(verify(bad), Err(BlobError::NotJws(_))), "{bad:?}");
    }
    let huge = vec![b'a'; MAX_BLOB_LEN + 1];
    assert!(matches!(
        verify_blob(&huge, &roots, AT),
        Err(BlobError::TooLarge { .. })
    ));
    let b = jws(
        "ES256",
        &p.signer.key,
        &[&p.signer, &p.inter],
        &json!({}),
        &json!({"no": "x"}),
    );
    assert!(matches!(verify(&b), Err(BlobError::Payload(_))));
}

#[test]
fn a_path_through_a_cross_signed_root_is_built_from_certificates_in_any_order() {
    // The old root (R3) cross-signs the new one (R46); the BLOB's CA is
    // issued by the new root.
    let r3 = certs::root_ca("test Root CA R3", SigningKey::generate(alg::ES256, 640));
    let r46 = certs::root_ca("test Root R46", SigningKey::generate(alg::ES256, 641));
    let cross = certs::issue(
        ca_params("test Root R46"),
        SigningKey::generate(alg::ES256, 641),
        &r3,
    );
    let inter = certs::intermediate_ca("test CA-2", SigningKey::generate(alg::ES256, 642), &r46);
    let signer = signer(alg::ES256, 643, &inter);
    let unrelated = certs::intermediate_ca("unrelated", SigningKey::generate(alg::ES256, 644), &r3);
    for order in [
        vec![&signer, &inter, &cross],
        vec![&signer, &cross, &unrelated, &inter],
        vec![&signer, &unrelated, &r46, &inter, &cross],
    ] {
        let blob = jws("ES256", &signer.key, &order, &json!({}), &payload());
        // Only the old root configured: through the cross-signed certificate.
        let v = verify_blob(blob.as_bytes(), &[root(&r3, "R3")], AT).unwrap();
        assert_eq!(v.root, "CN=test Root CA R3, O=fidogate test");
        assert_eq!(
            v.path,
            vec![signer.der.clone(), inter.der.clone(), cross.der.clone()]
        );
        // The new root configured as well: the path stops at it.
        let v = verify_blob(blob.as_bytes(), &[root(&r46, "R46"), root(&r3, "R3")], AT).unwrap();
        assert_eq!(v.root, "CN=test Root R46, O=fidogate test");
        assert_eq!(v.path, vec![signer.der.clone(), inter.der.clone()]);
    }
    // Without the cross-signed certificate the old root is not reached.
    let blob = jws(
        "ES256",
        &signer.key,
        &[&signer, &inter],
        &json!({}),
        &payload(),
    );
    assert!(matches!(
        verify_blob(blob.as_bytes(), &[root(&r3, "R3")], AT),
        Err(BlobError::NoPath { .. })
    ));
}

#[test]
fn the_fido_conformance_blob_verifies_at_an_instant_in_its_validity() {
    let Some((blob, pem)) = fidogate_testkit::mds::conformance() else {
        return;
    };
    let roots = TrustAnchor::from_pem(&pem, "FIDO conformance MDS root").unwrap();
    let before_next_update = UnixTime::from_secs(1_698_796_800); // 2023-11-01
    let v = verify_blob(&blob, &roots, before_next_update).unwrap();
    let p = &v.payload;
    assert_eq!(p.no, 42);
    assert_eq!(p.next_update.unwrap().to_iso(), "2023-11-08");
    assert!(
        p.legal_header.contains("test metadata"),
        "{}",
        p.legal_header
    );
    assert_eq!(p.entries.len() + p.quarantined.len(), 200);
    assert!(p.quarantined.is_empty(), "{:?}", p.quarantined);
    assert_eq!(p.entries.iter().filter(|e| e.aaguid.is_some()).count(), 100);
    assert_eq!(p.entries.iter().filter(|e| e.aaid.is_some()).count(), 100);
    let compromised = p
        .entries
        .iter()
        .filter(|e| {
            e.status_reports
                .iter()
                .any(|r| r.status == "ATTESTATION_KEY_COMPROMISE")
        })
        .count();
    assert!(compromised > 0);
    let first = p
        .by_aaguid(&[
            0xa1, 0x4e, 0xb4, 0x0d, 0x3b, 0x89, 0x4f, 0x3b, 0x8d, 0x46, 0x13, 0xcd, 0xf3, 0xde,
            0x62, 0x5c,
        ])
        .unwrap();
    assert_eq!(first.status_reports[0].status, "FIDO_CERTIFIED_L1");
    assert!(!first.statement.as_ref().unwrap().description.is_empty());
    // The signer is valid until 2030-01-31: after that, no path.
    let later = UnixTime::from_secs(1_900_000_000);
    assert!(matches!(
        verify_blob(&blob, &roots, later),
        Err(BlobError::NoPath { .. })
    ));
    // Another root: no path.
    let other = certs::root_ca("not the MDS root", SigningKey::generate(alg::ES256, 650));
    assert!(matches!(
        verify_blob(&blob, &[root(&other, "other")], before_next_update),
        Err(BlobError::NoPath { .. })
    ));
}

fn serial(der: &[u8]) -> Vec<u8> {
    fidogate_core::trust::Cert::parse(der, 0)
        .unwrap()
        .x509()
        .raw_serial()
        .to_vec()
}

fn day(secs: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(secs).unwrap()
}

#[test]
fn crls_revoke_the_signing_path_when_signed_and_current() {
    use fidogate_core::metadata::{Revocation, RevocationError, check_revocation};
    let p = pki(alg::ES256, 660);
    let blob = jws(
        "ES256",
        &p.signer.key,
        &[&p.signer, &p.inter],
        &json!({}),
        &payload(),
    );
    let v = verify_blob(blob.as_bytes(), &[root(&p.root, "r")], AT).unwrap();
    let (from, until) = (day(AT.as_secs() - 86_400), day(AT.as_secs() + 86_400 * 30));
    let check = |crls: &[Vec<u8>], mode| check_revocation(&v.path, &v.root_anchor, crls, mode, AT);
    let clean_ca = certs::crl(&p.inter, &[], from, until);
    let clean_root = certs::crl(&p.root, &[], from, until);
    // require: a current CRL from every issuer of the path.
    assert!(check(&[clean_ca.clone(), clean_root.clone()], Revocation::Require).is_ok());
    assert!(matches!(
        check(std::slice::from_ref(&clean_ca), Revocation::Require),
        Err(RevocationError::Missing { index: 1, .. })
    ));
    assert!(check(std::slice::from_ref(&clean_ca), Revocation::IfPresent).is_ok());
    assert!(check(&[], Revocation::IfPresent).is_ok());
    // The signer revoked by its CA; the CA revoked by the root.
    let revoked = certs::crl(&p.inter, &[serial(&p.signer.der)], from, until);
    assert!(matches!(
        check(std::slice::from_ref(&revoked), Revocation::IfPresent),
        Err(RevocationError::Revoked { index: 0, .. })
    ));
    let ca_revoked = certs::crl(&p.root, &[serial(&p.inter.der)], from, until);
    assert!(matches!(
        check(&[clean_ca.clone(), ca_revoked], Revocation::Require),
        Err(RevocationError::Revoked { index: 1, .. })
    ));
    // Off reads nothing, not even a revoking CRL.
    assert!(check(&[revoked, b"junk".to_vec()], Revocation::Off).is_ok());
    // A CRL past its nextUpdate, or not yet valid.
    let expired = certs::crl(
        &p.inter,
        &[],
        day(AT.as_secs() - 86_400 * 60),
        day(AT.as_secs() - 86_400),
    );
    assert!(matches!(
        check(&[expired], Revocation::IfPresent),
        Err(RevocationError::NotCurrent { .. })
    ));
    let future = certs::crl(&p.inter, &[], day(AT.as_secs() + 86_400), until);
    assert!(matches!(
        check(&[future], Revocation::IfPresent),
        Err(RevocationError::NotCurrent { .. })
    ));
    // A CRL naming the CA as issuer but signed by someone else.
    let impostor = certs::intermediate_ca(
        "metadata test CA-1",
        SigningKey::generate(alg::ES256, 669),
        &p.root,
    );
    let forged = certs::crl(&impostor, &[], from, until);
    assert!(matches!(
        check(&[forged], Revocation::IfPresent),
        Err(RevocationError::Signature { .. })
    ));
    assert!(matches!(
        check(&[b"junk".to_vec()], Revocation::IfPresent),
        Err(RevocationError::Malformed { .. })
    ));
}
