//! The shared UAF captures and the seed-000 registration record, read in
//! place; skipped with a message when absent.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

use fidogate_core::trust::{Cert, TrustAnchors};
use fidogate_core::uaf::{
    RegistrationPolicy, ServerDataCheck, UafExpectations, parse_reg_assertion,
    verify_assertion_json, verify_registration_response,
};
use fidogate_core::{UnixTime, b64};
use fidogate_testkit::vectors;

const NOW: UnixTime = UnixTime::from_secs(1_795_000_000);

fn check_fields(name: &str, reg: &fidogate_core::uaf::UafRegistration, e: &serde_json::Value) {
    assert_eq!(reg.aaid, e["aaid"].as_str().unwrap(), "{name}");
    assert_eq!(
        b64::encode(&reg.key_id),
        e["keyID"].as_str().unwrap(),
        "{name}"
    );
    assert_eq!(
        b64::encode(&reg.public_key),
        e["public_key"].as_str().unwrap(),
        "{name}"
    );
    assert_eq!(
        reg.public_key_encoding.name(),
        e["public_key_encoding"].as_str().unwrap(),
        "{name}"
    );
    assert_eq!(
        reg.sign_alg.name(),
        e["sign_alg"].as_str().unwrap(),
        "{name}"
    );
    assert_eq!(
        u64::from(reg.authenticator_version),
        e["authenticator_version"].as_u64().unwrap(),
        "{name}"
    );
    assert_eq!(
        u64::from(reg.sign_counter),
        e["sign_counter"].as_u64().unwrap(),
        "{name}"
    );
    assert_eq!(
        u64::from(reg.reg_counter),
        e["reg_counter"].as_u64().unwrap(),
        "{name}"
    );
    assert_eq!(
        reg.attestation.as_str(),
        e["attestation_type"].as_str().unwrap(),
        "{name}"
    );
    assert_eq!(e["attestation"], "VALID", "{name}");
}

#[test]
fn shared_uaf_captures() {
    let Some(dir) = vectors::dir() else { return };
    let all = vectors::uaf(&dir);
    assert!(!all.is_empty());
    for (name, v) in &all {
        let e = &v["expect"];
        if v["assertion_only"] == true {
            // A bare assertion: KRD and attestation checks, no request context.
            let reg = verify_assertion_json(
                &v["assertion"],
                None,
                &RegistrationPolicy::any(),
                &TrustAnchors::new(),
                NOW,
                false,
            )
            .unwrap_or_else(|err| panic!("{name}: {err}"));
            check_fields(name, &reg, e);
            let fch = b64::encode(
                parse_reg_assertion(
                    &b64::decode(v["assertion"]["assertion"].as_str().unwrap()).unwrap(),
                )
                .unwrap()
                .krd
                .final_challenge_hash,
            );
            assert_eq!(fch, e["final_challenge_hash"].as_str().unwrap(), "{name}");
        } else {
            let ctx = &v["request_context"];
            let expected = UafExpectations {
                app_id: ctx["appID"].as_str().unwrap().to_owned(),
                challenge: ctx["challenge"].as_str().unwrap().to_owned(),
                trusted_facets: vec![ctx["facetID"].as_str().unwrap().to_owned()],
                policy: RegistrationPolicy::aaids(&[e["aaid"].as_str().unwrap()]),
                require_trusted: false,
            };
            // The vector's serverData is another server's (opaque); the gateway checks its own.
            let regs = verify_registration_response(
                &v["registration_response"],
                &expected,
                ServerDataCheck::Skip,
                &TrustAnchors::new(),
                NOW,
            );
            assert_eq!(regs.is_ok(), e["ok"].as_bool().unwrap(), "{name}: {regs:?}");
            let regs = regs.unwrap();
            assert_eq!(regs.len(), 1);
            check_fields(name, &regs[0], e);
            // The same response fails for another challenge, AppID or facet.
            for (what, exp) in [
                (
                    "challenge",
                    UafExpectations {
                        challenge: "other".into(),
                        ..expected.clone()
                    },
                ),
                (
                    "appID",
                    UafExpectations {
                        app_id: "https://evil.example/facets".into(),
                        ..expected.clone()
                    },
                ),
                (
                    "facet",
                    UafExpectations {
                        trusted_facets: vec!["android:apk-key-hash:other".into()],
                        ..expected.clone()
                    },
                ),
                (
                    "policy",
                    UafExpectations {
                        policy: RegistrationPolicy::aaids(&["BATS#0001"]),
                        ..expected.clone()
                    },
                ),
            ] {
                assert!(
                    verify_registration_response(
                        &v["registration_response"],
                        &exp,
                        ServerDataCheck::Skip,
                        &TrustAnchors::new(),
                        NOW
                    )
                    .is_err(),
                    "{name}: wrong {what} accepted"
                );
            }
        }
    }
    eprintln!("{} shared UAF vectors checked", all.len());
}

#[test]
fn shared_uaf_assertions_refuse_truncation_and_tampering() {
    let Some(dir) = vectors::dir() else { return };
    for (name, v) in vectors::uaf(&dir) {
        let a = if v["assertion_only"] == true {
            v["assertion"].clone()
        } else {
            v["registration_response"][0]["assertions"][0].clone()
        };
        let bytes = b64::decode(a["assertion"].as_str().unwrap()).unwrap();
        let run = |b: &[u8]| {
            let json =
                serde_json::json!({"assertionScheme": "UAFV1TLV", "assertion": b64::encode(b)});
            verify_assertion_json(
                &json,
                None,
                &RegistrationPolicy::any(),
                &TrustAnchors::new(),
                NOW,
                false,
            )
        };
        assert!(run(&bytes).is_ok(), "{name}");
        for n in 0..bytes.len() {
            assert!(
                run(&bytes[..n]).is_err(),
                "{name}: cut to {n} bytes accepted"
            );
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(run(&long).is_err(), "{name}: trailing byte accepted");
        // Every byte of the signed KRD is covered by the attestation signature.
        let krd_len = usize::from(u16::from_le_bytes([bytes[6], bytes[7]])) + 4;
        for i in 4..4 + krd_len {
            let mut t = bytes.clone();
            t[i] ^= 0x01;
            assert!(
                run(&t).is_err(),
                "{name}: KRD byte {i} flipped and accepted"
            );
        }
    }
}

#[test]
fn seed_000_record_verifies() {
    let Some(dir) = vectors::dir() else { return };
    let Some(seed) = vectors::seed_example(&dir, "000") else {
        eprintln!("SKIPPED: seed document 000 not found beside the vectors");
        return;
    };
    let rec = &seed["message"][0];
    let krd_bytes = b64::decode(rec["attestDataToSign"].as_str().unwrap()).unwrap();
    let sig = b64::decode(rec["attestSignature"].as_str().unwrap()).unwrap();
    let cert_der = b64::decode(rec["attestCert"].as_str().unwrap()).unwrap();
    // attestDataToSign is a KRD: wrap it as an assertion with the record's
    // raw signature and certificate, and verify it like any other.
    let mut inner = krd_bytes.clone();
    let mut full = Vec::new();
    full.extend_from_slice(&0x2e06u16.to_le_bytes());
    full.extend_from_slice(&(sig.len() as u16).to_le_bytes());
    full.extend_from_slice(&sig);
    full.extend_from_slice(&0x2e05u16.to_le_bytes());
    full.extend_from_slice(&(cert_der.len() as u16).to_le_bytes());
    full.extend_from_slice(&cert_der);
    inner.extend_from_slice(&0x3e07u16.to_le_bytes());
    inner.extend_from_slice(&(full.len() as u16).to_le_bytes());
    inner.extend_from_slice(&full);
    let mut assertion = 0x3e01u16.to_le_bytes().to_vec();
    assertion.extend_from_slice(&(inner.len() as u16).to_le_bytes());
    assertion.extend_from_slice(&inner);
    let json =
        serde_json::json!({"assertionScheme": "UAFV1TLV", "assertion": b64::encode(&assertion)});
    let reg = verify_assertion_json(
        &json,
        None,
        &RegistrationPolicy::any(),
        &TrustAnchors::new(),
        NOW,
        false,
    )
    .unwrap();
    assert_eq!(reg.aaid, rec["authenticator"]["AAID"].as_str().unwrap());
    assert_eq!(
        b64::encode(&reg.key_id),
        rec["authenticator"]["KeyID"].as_str().unwrap()
    );
    assert_eq!(
        b64::encode(&reg.public_key),
        rec["PublicKey"].as_str().unwrap()
    );
    assert_eq!(reg.attest_data_to_sign, krd_bytes);
    // What the seed's server stored is what was verified.
    assert_eq!(
        b64::encode(&reg.attest_data_to_sign),
        rec["attestDataToSign"].as_str().unwrap()
    );
    assert_eq!(
        b64::encode(&reg.attest_signature),
        rec["attestSignature"].as_str().unwrap()
    );
    assert_eq!(
        reg.attest_cert.as_deref().map(b64::encode),
        rec["attestCert"].as_str().map(str::to_owned)
    );
    assert_eq!(
        format!(
            "{}.{}",
            reg.authenticator_version >> 8,
            reg.authenticator_version & 0xff
        ),
        rec["AuthenticatorVersion"].as_str().unwrap()
    );
    assert_eq!(rec["attestVerifiedStatus"], "VALID");
    // One flipped signature bit fails.
    let mut bad = sig.clone();
    bad[10] ^= 1;
    let cert = Cert::parse(&cert_der, 0).unwrap();
    assert!(
        reg.sign_alg
            .verify(&cert.public_key().unwrap(), &krd_bytes, &bad)
            .is_err()
    );
    assert!(
        reg.sign_alg
            .verify(&cert.public_key().unwrap(), &krd_bytes, &sig)
            .is_ok()
    );
}
