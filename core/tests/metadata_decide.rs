#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]
//! Decisions from metadata on verified registrations: matching by AAGUID
//! and (for U2F) by key identifier, the status policy, the certification
//! level, the statement's checks, and the FIDO conformance BLOB's entries
//! applied to generated registrations.

use fidogate_core::UnixTime;
use fidogate_core::b64;
use fidogate_core::metadata::{
    EntrySource, Metadata, MetadataError, MetadataPolicy, Payload, key_identifier, verify_blob,
};
use fidogate_core::trust::{Cert, TrustAnchor, TrustAnchors};
use fidogate_core::webauthn::{
    Policy, RegistrationCredential, RelyingParty, VerifiedRegistration, format_uuid,
    verify_registration,
};
use fidogate_core::{ErrorClass, metadata};
use fidogate_testkit::certs::Issued;
use fidogate_testkit::keys::alg;
use fidogate_testkit::webauthn::{Authenticator, SOFT_AAGUID, attestation_root};
use serde_json::{Value, json};

const RP: &str = "example.com";
const ORIGIN: &str = "https://example.com";
const CHALLENGE: &[u8] = b"0123456789abcdef0123456789abcdef";
const AT: UnixTime = UnixTime::from_secs(1_767_225_600); // 2026-01-01

fn register(authn: &Authenticator) -> VerifiedRegistration {
    let json = authn.register(RP, ORIGIN, CHALLENGE);
    let c = RegistrationCredential::from_value(&json).unwrap();
    verify_registration(
        &c,
        CHALLENGE,
        &RelyingParty::new(RP, ORIGIN),
        &TrustAnchors::new(),
        &Policy::default(),
        AT,
    )
    .unwrap()
}

fn payload(entries: Value) -> Payload {
    let p = json!({"legalHeader": "test", "no": 1, "nextUpdate": "2026-06-01", "entries": entries});
    let p = Payload::parse(p.to_string().as_bytes()).unwrap();
    assert!(p.quarantined.is_empty(), "{:?}", p.quarantined);
    p
}

fn statement(root: &Issued) -> Value {
    json!({
        "description": "fidogate soft key",
        "protocolFamily": "fido2",
        "attestationTypes": ["basic_full"],
        "authenticationAlgorithms": ["secp256r1_ecdsa_sha256_raw"],
        "attestationRootCertificates": [b64::encode_std(&root.der)],
    })
}

fn soft_entry(reports: Value, statement: Value) -> Value {
    json!({"aaguid": format_uuid(&SOFT_AAGUID), "statusReports": reports, "metadataStatement": statement})
}

fn metadata(blob: Value, policy: MetadataPolicy) -> Metadata {
    Metadata {
        blob: Some(payload(blob)),
        statements: Payload::default(),
        policy,
    }
}

#[test]
fn a_certified_entry_describes_the_registration_and_its_roots_make_it_trusted() {
    let root = attestation_root(700);
    let reg = register(&Authenticator::packed_x5c(alg::ES256, 701, &root));
    assert!(!reg.trusted, "no anchors configured");
    let m = metadata(
        json!([soft_entry(
            json!([
                {"status": "FIDO_CERTIFIED_L1", "effectiveDate": "2021-03-01"},
                {"status": "UPDATE_AVAILABLE", "effectiveDate": "2022-05-01"},
                {"status": "FIDO_CERTIFIED_L2", "effectiveDate": "2030-01-01"}
            ]),
            statement(&root)
        )]),
        MetadataPolicy::default(),
    );
    let v = m.check_webauthn(&reg, AT).unwrap().unwrap();
    assert_eq!(v.description, "fidogate soft key");
    assert_eq!(v.status.as_deref(), Some("UPDATE_AVAILABLE"));
    assert_eq!(
        v.certification.as_deref(),
        Some("FIDO_CERTIFIED_L1"),
        "L2 is not in effect yet"
    );
    assert_eq!(v.effective_date.as_deref(), Some("2022-05-01"));
    assert_eq!(v.source, EntrySource::Blob);
    assert!(v.trusted);
    // Another authenticator: no entry, nothing said; unless one is required.
    let other = register(&Authenticator::none(alg::ES256, 702));
    let mut none = m.clone();
    none.blob = Some(payload(json!([])));
    assert_eq!(none.check_webauthn(&other, AT).unwrap(), None);
    none.policy.require_entry = true;
    let e = none.check_webauthn(&other, AT).unwrap_err();
    assert!(matches!(e, MetadataError::NoEntry(_)), "{e}");
    assert!(e.to_string().contains(&format_uuid(&SOFT_AAGUID)), "{e}");
}

#[test]
fn rejected_statuses_refuse_in_effect_and_for_their_certificate_only() {
    let root = attestation_root(710);
    let authn = Authenticator::packed_x5c(alg::ES256, 711, &root);
    let reg = register(&authn);
    let check = |reports: Value| {
        metadata(
            json!([soft_entry(reports, statement(&root))]),
            MetadataPolicy::default(),
        )
        .check_webauthn(&reg, AT)
    };
    let e = check(json!([
        {"status": "FIDO_CERTIFIED_L1", "effectiveDate": "2020-01-01"},
        {"status": "ATTESTATION_KEY_COMPROMISE", "effectiveDate": "2025-07-01"}
    ]))
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "metadata: AAGUID {} has status ATTESTATION_KEY_COMPROMISE since 2025-07-01",
            format_uuid(&SOFT_AAGUID)
        )
    );
    assert_eq!(e.class(), ErrorClass::Policy);
    for status in metadata::DEFAULT_REJECT_STATUSES {
        assert!(check(json!([{"status": status}])).is_err(), "{status}");
    }
    // Not yet in effect.
    assert!(check(json!([{"status": "REVOKED", "effectiveDate": "2027-01-01"}])).is_ok());
    // A report about another attestation certificate does not concern this one.
    let other = attestation_root(719);
    let about = |der: &[u8]| {
        json!([{"status": "ATTESTATION_KEY_COMPROMISE", "effectiveDate": "2025-01-01",
                 "certificate": b64::encode_std(der)}])
    };
    assert!(check(about(&other.der)).is_ok());
    assert!(check(about(&reg.x5c[0])).is_err(), "the leaf itself");
    // A status the policy does not reject.
    let mut lenient = MetadataPolicy::default();
    lenient
        .reject_statuses
        .retain(|s| s != "USER_VERIFICATION_BYPASS");
    let m = metadata(
        json!([soft_entry(
            json!([{"status": "USER_VERIFICATION_BYPASS"}]),
            statement(&root)
        )]),
        lenient,
    );
    assert!(m.check_webauthn(&reg, AT).is_ok());
}

#[test]
fn the_certification_level_is_the_latest_in_effect() {
    let root = attestation_root(720);
    let reg = register(&Authenticator::packed_x5c(alg::ES256, 721, &root));
    let check = |reports: Value, want: &str| {
        let policy = MetadataPolicy {
            require_certified: Some(want.to_owned()),
            ..MetadataPolicy::default()
        };
        metadata(json!([soft_entry(reports, statement(&root))]), policy).check_webauthn(&reg, AT)
    };
    let l1 = json!([{"status": "FIDO_CERTIFIED", "effectiveDate": "2020-01-01"}]);
    assert!(
        check(l1.clone(), "FIDO_CERTIFIED_L1").is_ok(),
        "FIDO_CERTIFIED is L1"
    );
    let e = check(l1, "FIDO_CERTIFIED_L2").unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "metadata: AAGUID {} is certified FIDO_CERTIFIED, below the required FIDO_CERTIFIED_L2",
            format_uuid(&SOFT_AAGUID)
        )
    );
    let l2plus = json!([{"status": "FIDO_CERTIFIED_L2plus", "effectiveDate": "2021-01-01"}]);
    assert!(check(l2plus, "FIDO_CERTIFIED_L2").is_ok());
    // A later "not certified" ends an earlier certification.
    let lapsed = json!([
        {"status": "FIDO_CERTIFIED_L2", "effectiveDate": "2020-01-01"},
        {"status": "NOT_FIDO_CERTIFIED", "effectiveDate": "2024-01-01"}
    ]);
    let e = check(lapsed, "FIDO_CERTIFIED_L1").unwrap_err();
    assert!(e.to_string().contains("is certified not certified"), "{e}");
    assert!(check(json!([]), "FIDO_CERTIFIED_L1").is_err());
}

#[test]
fn the_statement_checks_type_algorithm_and_roots() {
    let root = attestation_root(730);
    let reg = register(&Authenticator::packed_x5c(alg::ES256, 731, &root));
    let check_under = |policy: MetadataPolicy, edit: &dyn Fn(&mut Value)| {
        let mut s = statement(&root);
        edit(&mut s);
        metadata(
            json!([soft_entry(json!([{"status": "FIDO_CERTIFIED_L1"}]), s)]),
            policy,
        )
        .check_webauthn(&reg, AT)
    };
    let check = |edit: &dyn Fn(&mut Value)| check_under(MetadataPolicy::default(), edit);
    let strict = || MetadataPolicy {
        refuse_unlisted_algorithm: true,
        ..MetadataPolicy::default()
    };
    let v = check(&|_| {}).unwrap().unwrap();
    assert!(v.trusted);
    assert_eq!(v.unlisted_algorithm, None);
    let e = check(&|s| s["attestationTypes"] = json!(["attca"])).unwrap_err();
    assert!(
        e.to_string()
            .contains("does not list attestation type basic_full (it lists attca)"),
        "{e}"
    );
    // An algorithm the statement leaves out: reported by default, refused
    // under refuse_unlisted_algorithm.
    let rsa_only =
        |s: &mut Value| s["authenticationAlgorithms"] = json!(["rsassa_pkcsv15_sha256_raw"]);
    let v = check(&rsa_only).unwrap().unwrap();
    assert_eq!((v.unlisted_algorithm, v.trusted), (Some(-7), true));
    let e = check_under(strict(), &rsa_only).unwrap_err();
    assert!(e.to_string().contains("does not list algorithm -7"), "{e}");
    // authenticatorGetInfo's COSE list, where present, decides.
    let e = check_under(strict(), &|s| {
        s["authenticatorGetInfo"] = json!({"algorithms": [{"type": "public-key", "alg": -257}]})
    })
    .unwrap_err();
    assert!(e.to_string().contains("(it lists -257)"), "{e}");
    let v = check_under(strict(), &|s| {
        s["authenticatorGetInfo"] = json!({"algorithms": [{"alg": -7}]});
        s["authenticationAlgorithms"] = json!(["rsassa_pkcsv15_sha256_raw"]);
    });
    assert_eq!(v.unwrap().unwrap().unlisted_algorithm, None);
    // Roots that the chain does not reach: described, not trusted (and
    // require_trusted decides).
    let other = attestation_root(739);
    let v = check(&|s| s["attestationRootCertificates"] = json!([b64::encode_std(&other.der)]));
    assert!(!v.unwrap().unwrap().trusted);
    // The statement's "root" may be the intermediate or the leaf itself.
    for der in [&reg.x5c[1], &reg.x5c[0]] {
        let v = check(&|s| s["attestationRootCertificates"] = json!([b64::encode_std(der)]));
        assert!(v.unwrap().unwrap().trusted);
    }
    // No roots listed: described, not trusted.
    let v = check(&|s| s["attestationRootCertificates"] = json!([]))
        .unwrap()
        .unwrap();
    assert!(!v.trusted);
}

#[test]
fn u2f_keys_are_matched_by_key_identifier_and_statements_win_over_the_blob() {
    let root = attestation_root(740);
    let reg = register(&Authenticator::fido_u2f(741, &root));
    assert_eq!(reg.aaguid, [0; 16]);
    let leaf = Cert::parse(&reg.x5c[0], 0).unwrap();
    let id: String = key_identifier(&leaf)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let entry = |description: &str, status: &str| {
        json!({"attestationCertificateKeyIdentifiers": [id], "statusReports": [{"status": status}],
               "metadataStatement": {"description": description, "attestationTypes": ["basic_full"],
                                     "attestationRootCertificates": [b64::encode_std(&root.der)]}})
    };
    let mut m = metadata(
        json!([entry("from the BLOB", "REVOKED")]),
        MetadataPolicy::default(),
    );
    let e = m.check_webauthn(&reg, AT).unwrap_err();
    assert!(
        e.to_string()
            .contains(&format!("key identifier {id} has status REVOKED")),
        "{e}"
    );
    m.statements = payload(json!([entry("vouched for", "FIDO_CERTIFIED_L1")]));
    let v = m.check_webauthn(&reg, AT).unwrap().unwrap();
    assert_eq!(
        (v.description.as_str(), v.source),
        ("vouched for", EntrySource::Statements)
    );
    assert!(v.trusted);
}

#[test]
fn the_conformance_blob_refuses_a_compromised_aaguid_and_describes_a_certified_one() {
    let Some((blob, pem)) = fidogate_testkit::mds::conformance() else {
        return;
    };
    let roots = TrustAnchor::from_pem(&pem, "conformance root").unwrap();
    let at = UnixTime::from_secs(1_698_796_800); // 2023-11-01
    let payload = verify_blob(&blob, &roots, at).unwrap().payload;
    let find = |pred: &dyn Fn(&[String]) -> bool| {
        payload
            .entries
            .iter()
            .find(|e| {
                let statuses: Vec<String> =
                    e.status_reports.iter().map(|r| r.status.clone()).collect();
                e.aaguid.is_some() && pred(&statuses)
            })
            .unwrap()
            .aaguid
            .unwrap()
    };
    let compromised = find(&|s| s.iter().any(|x| x == "ATTESTATION_KEY_COMPROMISE"));
    let certified = find(&|s| {
        s.iter().any(|x| metadata::is_certification_level(x))
            && !s
                .iter()
                .any(|x| metadata::DEFAULT_REJECT_STATUSES.contains(&x.as_str()))
    });
    let m = Metadata {
        blob: Some(payload.clone()),
        statements: Payload::default(),
        policy: MetadataPolicy::default(),
    };
    let root = attestation_root(750);
    let reg_at = |aaguid| {
        let json = Authenticator::packed_x5c_for(alg::ES256, 751, &root, aaguid)
            .register(RP, ORIGIN, CHALLENGE);
        let c = RegistrationCredential::from_value(&json).unwrap();
        verify_registration(
            &c,
            CHALLENGE,
            &RelyingParty::new(RP, ORIGIN),
            &TrustAnchors::new(),
            &Policy::default(),
            at,
        )
        .unwrap()
    };
    let e = m.check_webauthn(&reg_at(compromised), at).unwrap_err();
    assert!(
        e.to_string()
            .contains("has status ATTESTATION_KEY_COMPROMISE"),
        "{e}"
    );
    // The certified entry's statement lists its own roots, which the
    // generated chain does not reach: accepted and described, not trusted...
    let v = m.check_webauthn(&reg_at(certified), at).unwrap().unwrap();
    assert!(!v.trusted);
    assert!(
        !v.description.is_empty() && v.certification.is_some(),
        "{v:?}"
    );
    assert_eq!(v.source, EntrySource::Blob);
    // ...and with the entry's roots replaced by the generated one (as an
    // operator's own statement would), it is described and trusted.
    let mut entry = payload.by_aaguid(&certified).unwrap().clone();
    if let Some(s) = entry.statement.as_mut() {
        s.attestation_roots = vec![root.der.clone()];
        s.attestation_types = vec!["basic_full".into()];
        s.authentication_algorithms.clear();
        s.cose_algorithms.clear();
    }
    let mut vouched = Payload::default();
    vouched.push(entry);
    let m = Metadata {
        statements: vouched,
        ..m
    };
    let v = m.check_webauthn(&reg_at(certified), at).unwrap().unwrap();
    assert!(v.trusted);
    assert!(!v.description.is_empty());
    assert!(v.certification.is_some(), "{v:?}");
}
