//! tpm, android-key, apple and android-safetynet registrations from the
//! software generators: each verifies (and chains to its root), and each
//! format-specific check fails on a registration made to trip it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

use ciborium::value::Value;
use fidogate_core::trust::{TrustAnchor, TrustAnchors};
use fidogate_core::webauthn::{
    AttestationType, CoseAlgorithm, CoseError, Policy, RegistrationCredential, RelyingParty,
    StatementError, VerifiedRegistration, WebauthnError, verify_registration,
};
use fidogate_core::{ErrorClass, UnixTime};
use fidogate_testkit::certs::{self, Issued};
use fidogate_testkit::formats::{
    AndroidKey, AndroidKeyOptions, Apple, SafetyNet, Tpm, TpmCertOptions,
};
use fidogate_testkit::keys::{SigningKey, alg};
use fidogate_testkit::webauthn::{Attestation, Attested, Authenticator, SOFT_AAGUID};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

const RP: &str = "example.com";
const ORIGIN: &str = "https://example.com";
const CHALLENGE: &[u8] = b"0123456789abcdef0123456789abcdef";
const NOW: UnixTime = UnixTime::from_secs(1_748_736_000);

fn root() -> &'static Issued {
    static ROOT: OnceLock<Issued> = OnceLock::new();
    ROOT.get_or_init(|| {
        certs::root_ca(
            "fidogate test format root",
            SigningKey::generate(alg::ES256, 900),
        )
    })
}

fn anchors() -> TrustAnchors {
    let mut a = TrustAnchors::new();
    a.add_global(TrustAnchor::from_der(root().der.clone(), "root").unwrap());
    a
}

fn run(json: &serde_json::Value, policy: &Policy) -> Result<VerifiedRegistration, WebauthnError> {
    let c = RegistrationCredential::from_value(json).unwrap();
    verify_registration(
        &c,
        CHALLENGE,
        &RelyingParty::new(RP, ORIGIN),
        &anchors(),
        policy,
        NOW,
    )
}

fn attest(authn: &Authenticator) -> Attested {
    authn.ceremony(RP, ORIGIN, CHALLENGE).attest(authn)
}

fn stmt_err(r: Result<VerifiedRegistration, WebauthnError>) -> StatementError {
    match r {
        Err(WebauthnError::Statement { error, .. }) => error,
        other => panic!("expected a statement error, got {other:?}"),
    }
}

fn set_bytes(a: &mut Attested, key: &str, f: impl FnOnce(&mut Vec<u8>)) {
    let Value::Bytes(b) = a.att_stmt_entry(key) else {
        panic!()
    };
    f(b);
}

// ---- tpm ----------------------------------------------------------------------

fn tpm_authn(cred_alg: i64, seed: u64, opts: &TpmCertOptions) -> Authenticator {
    let tpm = Tpm::new(seed + 1, root(), opts, SOFT_AAGUID);
    Authenticator::new(cred_alg, seed, Attestation::Tpm(tpm))
}

fn rsa_tpm() -> &'static Authenticator {
    static A: OnceLock<Authenticator> = OnceLock::new();
    A.get_or_init(|| tpm_authn(alg::RS256, 300, &TpmCertOptions::default()))
}

#[test]
fn tpm_rsa_and_ecc_verify_and_chain() {
    let p = Policy::default();
    let reg = run(&attest(rsa_tpm()).credential_json(), &p).unwrap();
    assert_eq!(
        (reg.fmt.id(), reg.attestation_type, reg.trusted, reg.alg),
        ("tpm", AttestationType::AttCa, true, -257)
    );
    let ecc = tpm_authn(alg::ES256, 310, &TpmCertOptions::default());
    assert!(run(&attest(&ecc).credential_json(), &p).unwrap().trusted);
}

#[test]
fn tpm_sha1_follows_policy() {
    let mut authn = tpm_authn(alg::ES256, 320, &TpmCertOptions::default());
    let Attestation::Tpm(t) = &mut authn.attestation else {
        panic!()
    };
    t.sha1 = true;
    let json = attest(&authn).credential_json();
    assert!(run(&json, &Policy::default()).is_ok());
    let strict = Policy {
        allow_sha1_tpm: false,
        ..Policy::default()
    };
    let err = stmt_err(run(&json, &strict));
    assert!(matches!(err, StatementError::Policy { what: "alg", .. }));
}

#[test]
fn tpm_structure_checks() {
    let p = Policy::default();
    let good = attest(rsa_tpm());
    let case = |f: &dyn Fn(&mut Attested)| {
        let mut a = good.clone();
        f(&mut a);
        stmt_err(run(&a.credential_json(), &p))
    };
    // ver.
    assert!(matches!(
        case(&|a| *a.att_stmt_entry("ver") = Value::Text("2.1".into())),
        StatementError::Malformed { what: "ver", .. }
    ));
    // pubArea: another key, and a truncated structure.
    assert!(matches!(
        case(&|a| set_bytes(a, "pubArea", |b| {
            let l = b.len();
            b[l - 1] ^= 1
        })),
        StatementError::Mismatch {
            what: "pubArea",
            ..
        }
    ));
    assert!(matches!(
        case(&|a| set_bytes(a, "pubArea", |b| b.truncate(b.len() - 1))),
        StatementError::Malformed {
            what: "pubArea",
            ..
        }
    ));
    assert!(matches!(
        case(&|a| set_bytes(a, "pubArea", |b| b.push(0))),
        StatementError::Malformed {
            what: "pubArea",
            ..
        }
    ));
    // certInfo: magic, type, extraData, attested name, truncation, signature.
    assert!(matches!(
        case(&|a| set_bytes(a, "certInfo", |b| b[0] ^= 1)),
        StatementError::Malformed {
            what: "certInfo.magic",
            ..
        }
    ));
    assert!(matches!(
        case(&|a| set_bytes(a, "certInfo", |b| b[5] ^= 1)),
        StatementError::Malformed {
            what: "certInfo.type",
            ..
        }
    ));
    // extraData starts after magic (4), type (2), qualifiedSigner (2 + 34) and its own length (2).
    assert!(matches!(
        case(&|a| set_bytes(a, "certInfo", |b| b[44] ^= 1)),
        StatementError::Mismatch {
            what: "certInfo.extraData",
            ..
        }
    ));
    assert!(matches!(
        case(&|a| set_bytes(a, "certInfo", |b| {
            let l = b.len();
            b[l - 40] ^= 1
        })),
        StatementError::Mismatch {
            what: "certInfo.attested.name",
            ..
        }
    ));
    assert!(matches!(
        case(&|a| set_bytes(a, "certInfo", |b| b.truncate(b.len() - 1))),
        StatementError::Malformed {
            what: "certInfo",
            ..
        }
    ));
    // qualifiedName is not checked but is covered by the signature.
    assert!(matches!(
        case(&|a| set_bytes(a, "certInfo", |b| {
            let l = b.len();
            b[l - 1] ^= 1
        })),
        StatementError::Signature { .. }
    ));
    assert!(matches!(
        case(&|a| set_bytes(a, "sig", |b| b[0] ^= 1)),
        StatementError::Signature { .. }
    ));
    assert!(matches!(
        case(&|a| *a.att_stmt_entry("alg") = Value::Integer((-7).into())),
        StatementError::Signature { .. }
    ));
}

#[test]
fn tpm_aik_certificate_requirements() {
    let p = Policy::default();
    let cases = [
        (
            "subject",
            TpmCertOptions {
                subject_cn: Some("aik".into()),
                ..TpmCertOptions::default()
            },
        ),
        (
            "san",
            TpmCertOptions {
                san: false,
                ..TpmCertOptions::default()
            },
        ),
        (
            "eku",
            TpmCertOptions {
                eku: false,
                ..TpmCertOptions::default()
            },
        ),
        (
            "manufacturer",
            TpmCertOptions {
                manufacturer: "id:12345678".into(),
                ..TpmCertOptions::default()
            },
        ),
    ];
    for (i, (name, opts)) in cases.iter().enumerate() {
        let authn = tpm_authn(alg::ES256, 330 + 10 * i as u64, opts);
        let err = stmt_err(run(&attest(&authn).credential_json(), &p));
        assert!(
            matches!(err, StatementError::Certificate(_)),
            "{name}: {err:?}"
        );
    }
    // The AIK certificate's AAGUID extension must match authData.
    let mut authn = tpm_authn(alg::ES256, 380, &TpmCertOptions::default());
    authn.aaguid = [3; 16];
    assert!(matches!(
        stmt_err(run(&attest(&authn).credential_json(), &p)),
        StatementError::Mismatch {
            what: "id-fido-gen-ce-aaguid",
            ..
        }
    ));
}

// ---- android-key ------------------------------------------------------------------

fn android(opts: AndroidKeyOptions, seed: u64) -> Authenticator {
    Authenticator::new(
        alg::ES256,
        seed,
        Attestation::AndroidKey(AndroidKey {
            ca: Arc::new(certs::intermediate_ca(
                "fidogate android CA",
                SigningKey::generate(alg::ES256, seed + 1),
                root(),
            )),
            options: opts,
        }),
    )
}

#[test]
fn android_key_checks() {
    let p = Policy::default();
    let reg = run(
        &attest(&android(AndroidKeyOptions::default(), 400)).credential_json(),
        &p,
    )
    .unwrap();
    assert_eq!(
        (reg.fmt.id(), reg.attestation_type, reg.trusted),
        ("android-key", AttestationType::Basic, true)
    );
    let err = |opts: AndroidKeyOptions, seed, policy: &Policy| {
        stmt_err(run(&attest(&android(opts, seed)).credential_json(), policy))
    };
    let d = AndroidKeyOptions::default;
    assert!(matches!(
        err(
            AndroidKeyOptions {
                challenge: Some(vec![0; 32]),
                ..d()
            },
            410,
            &p
        ),
        StatementError::Mismatch {
            what: "attestationChallenge",
            ..
        }
    ));
    assert!(matches!(
        err(
            AndroidKeyOptions {
                all_applications: true,
                ..d()
            },
            420,
            &p
        ),
        StatementError::Policy {
            what: "allApplications",
            ..
        }
    ));
    assert!(matches!(
        err(AndroidKeyOptions { origin: 1, ..d() }, 430, &p),
        StatementError::Policy { what: "origin", .. }
    ));
    assert!(matches!(
        err(AndroidKeyOptions { purpose: 3, ..d() }, 440, &p),
        StatementError::Policy {
            what: "purpose",
            ..
        }
    ));
    // TEE versus software: refused by default, accepted when policy allows.
    let software = AndroidKeyOptions {
        in_tee: false,
        security_level: 0,
        ..d()
    };
    assert!(matches!(
        err(software.clone(), 450, &p),
        StatementError::Policy {
            what: "attestationSecurityLevel",
            ..
        }
    ));
    let lenient = Policy {
        android_key_require_tee: false,
        ..Policy::default()
    };
    assert!(run(&attest(&android(software, 450)).credential_json(), &lenient).is_ok());
    let tee_level_sw_lists = AndroidKeyOptions {
        in_tee: false,
        ..d()
    };
    assert!(matches!(
        err(tee_level_sw_lists, 460, &p),
        StatementError::Policy { what: "origin", .. }
    ));
    // The signature and the certified key.
    let mut a = attest(&android(d(), 470));
    set_bytes(&mut a, "sig", |b| b[8] ^= 1);
    assert!(matches!(
        stmt_err(run(&a.credential_json(), &p)),
        StatementError::Signature { .. }
    ));
    let mut other_key = android(d(), 480);
    other_key.credential_key = SigningKey::generate(alg::ES256, 481);
    let mut c = other_key.ceremony(RP, ORIGIN, CHALLENGE);
    c.cose_key = SigningKey::generate(alg::ES256, 482).cose_key();
    assert!(matches!(
        stmt_err(run(&c.attest(&other_key).credential_json(), &p)),
        StatementError::Signature { .. } | StatementError::Mismatch { .. }
    ));
}

// ---- apple ----------------------------------------------------------------------

fn apple(nonce: Option<[u8; 32]>, certified_key: Option<SigningKey>, seed: u64) -> Authenticator {
    let ca = Arc::new(certs::intermediate_ca(
        "fidogate apple CA",
        SigningKey::generate(alg::ES256, seed + 1),
        root(),
    ));
    Authenticator::new(
        alg::ES256,
        seed,
        Attestation::Apple(Apple {
            ca,
            nonce,
            certified_key,
        }),
    )
}

#[test]
fn apple_checks() {
    let p = Policy::default();
    let reg = run(&attest(&apple(None, None, 500)).credential_json(), &p).unwrap();
    assert_eq!(
        (reg.fmt.id(), reg.attestation_type, reg.trusted),
        ("apple", AttestationType::AnonCa, true)
    );
    assert!(matches!(
        stmt_err(run(
            &attest(&apple(Some([0; 32]), None, 510)).credential_json(),
            &p
        )),
        StatementError::Mismatch { what: "nonce", .. }
    ));
    let other = SigningKey::generate(alg::ES256, 521);
    assert!(matches!(
        stmt_err(run(
            &attest(&apple(None, Some(other), 520)).credential_json(),
            &p
        )),
        StatementError::Mismatch {
            what: "credCert",
            ..
        }
    ));
    // An `alg` member, as Safari on macOS sends: accepted when it names
    // the credential key's algorithm, refused otherwise; any other extra
    // member stays refused.
    let authn = apple(None, None, 540);
    let with = |member: &str, value: ciborium::value::Value| {
        let mut a = attest(&authn);
        let ciborium::value::Value::Map(entries) = &mut a.att_stmt else {
            panic!("attStmt is not a map")
        };
        entries.push((ciborium::value::Value::Text(member.to_owned()), value));
        run(&a.credential_json(), &p)
    };
    let reg = with("alg", (-7).into()).unwrap();
    assert_eq!(reg.fmt.id(), "apple");
    assert!(matches!(
        stmt_err(with("alg", (-257).into())),
        StatementError::Mismatch { what: "alg", .. }
    ));
    assert!(matches!(
        stmt_err(with("alg", (-9999).into())),
        StatementError::Malformed { what: "alg", .. }
    ));
    assert!(matches!(
        stmt_err(with("sig", ciborium::value::Value::Bytes(vec![1, 2, 3]))),
        StatementError::Malformed {
            what: "attStmt",
            ..
        }
    ));
    // authData changed after attestation: the nonce no longer matches.
    let authn = apple(None, None, 530);
    let mut a = attest(&authn);
    a.auth_data[34] ^= 1;
    assert!(matches!(
        stmt_err(run(&a.credential_json(), &p)),
        StatementError::Mismatch { what: "nonce", .. }
    ));
}

// ---- android-safetynet ---------------------------------------------------------------

fn safetynet(hostname: &str, ts_ms: i64, seed: u64) -> Authenticator {
    let ca = certs::intermediate_ca(
        "fidogate safetynet CA",
        SigningKey::generate(alg::ES256, seed + 1),
        root(),
    );
    Authenticator::new(
        alg::ES256,
        seed,
        Attestation::SafetyNet(SafetyNet::new(seed + 2, &ca, hostname, ts_ms)),
    )
}

#[test]
fn safetynet_checks() {
    let p = Policy::default();
    let now_ms = NOW.as_secs() * 1000;
    let reg = run(
        &attest(&safetynet("attest.android.com", now_ms - 5_000, 600)).credential_json(),
        &p,
    )
    .unwrap();
    assert_eq!((reg.fmt.id(), reg.trusted), ("android-safetynet", true));
    // Stale and future timestamps, beyond the 60 s skew.
    for ts in [now_ms - 120_000, now_ms + 120_000] {
        let err = stmt_err(run(
            &attest(&safetynet("attest.android.com", ts, 610)).credential_json(),
            &p,
        ));
        assert!(matches!(err, StatementError::Stale { .. }), "{err:?}");
        assert_eq!(err.class(), ErrorClass::Replay);
    }
    let wide = Policy {
        safetynet_timestamp_skew: Some(Duration::from_secs(300)),
        ..Policy::default()
    };
    assert!(
        run(
            &attest(&safetynet("attest.android.com", now_ms - 120_000, 610)).credential_json(),
            &wide
        )
        .is_ok()
    );
    // Issued to another host.
    assert!(matches!(
        stmt_err(run(
            &attest(&safetynet("evil.example.com", now_ms, 620)).credential_json(),
            &p
        )),
        StatementError::Certificate(_)
    ));
    // ctsProfileMatch false, a wrong nonce.
    let mut authn = safetynet("attest.android.com", now_ms, 630);
    let Attestation::SafetyNet(s) = &mut authn.attestation else {
        panic!()
    };
    s.cts_profile_match = false;
    assert!(matches!(
        stmt_err(run(&attest(&authn).credential_json(), &p)),
        StatementError::Policy {
            what: "ctsProfileMatch",
            ..
        }
    ));
    let Attestation::SafetyNet(s) = &mut authn.attestation else {
        panic!()
    };
    s.cts_profile_match = true;
    s.nonce = Some("AAAA".into());
    assert!(matches!(
        stmt_err(run(&attest(&authn).credential_json(), &p)),
        StatementError::Mismatch { what: "nonce", .. }
    ));
    // A tampered JWS, and pieces missing.
    let authn = safetynet("attest.android.com", now_ms, 640);
    let mut a = attest(&authn);
    set_bytes(&mut a, "response", |b| {
        let l = b.len();
        b[l - 3] = if b[l - 3] == b'A' { b'B' } else { b'A' }
    });
    assert!(matches!(
        stmt_err(run(&a.credential_json(), &p)),
        StatementError::Signature { .. }
    ));
    let mut a = attest(&authn);
    set_bytes(&mut a, "response", |b| {
        let dot = b.iter().rposition(|c| *c == b'.').unwrap();
        b.truncate(dot)
    });
    assert!(matches!(
        stmt_err(run(&a.credential_json(), &p)),
        StatementError::Malformed { .. }
    ));
    let mut a = attest(&authn);
    *a.att_stmt_entry("ver") = Value::Text(String::new());
    assert!(matches!(
        stmt_err(run(&a.credential_json(), &p)),
        StatementError::Malformed { what: "ver", .. }
    ));
}

#[test]
fn generated_statements_survive_truncation_loops() {
    // Every prefix of every generated format's attestation object is refused.
    let now_ms = NOW.as_secs() * 1000;
    for authn in [
        rsa_tpm(),
        &android(AndroidKeyOptions::default(), 700),
        &apple(None, None, 710),
        &safetynet("attest.android.com", now_ms, 720),
    ] {
        let a = attest(authn);
        let object = a.attestation_object();
        assert!(run(&a.credential_json(), &Policy::default()).is_ok());
        for n in (0..object.len()).step_by(7) {
            assert!(
                run(&a.credential_json_with(&object[..n]), &Policy::default()).is_err(),
                "{} cut at {n}",
                a.fmt
            );
        }
    }
}

/// Windows Hello TPMs that make RS1 credential keys: refused unless the
/// relying party lists -65535 among its algorithms, then accepted (with
/// the statement in RS256 or in RS1, as the policy allows).
#[test]
fn tpm_rs1_credential_keys_need_the_relying_party_to_list_them() {
    let default_rp = RelyingParty::new(RP, ORIGIN);
    assert!(
        !default_rp.algorithms.contains(&CoseAlgorithm::Rs1),
        "RS1 is off by default"
    );
    let mut listing = RelyingParty::new(RP, ORIGIN);
    listing.algorithms.push(CoseAlgorithm::Rs1);
    let verify = |json: &serde_json::Value, rp: &RelyingParty| {
        let c = RegistrationCredential::from_value(json).unwrap();
        verify_registration(&c, CHALLENGE, rp, &anchors(), &Policy::default(), NOW)
    };
    for sha1_statement in [false, true] {
        let mut authn = tpm_authn(alg::RS1, 330, &TpmCertOptions::default());
        let Attestation::Tpm(t) = &mut authn.attestation else {
            panic!()
        };
        t.sha1 = sha1_statement;
        let json = attest(&authn).credential_json();
        assert!(
            matches!(
                verify(&json, &default_rp),
                Err(WebauthnError::PublicKey(CoseError::AlgNotAllowed(-65535)))
            ),
            "refused by default: {:?}",
            verify(&json, &default_rp)
        );
        let reg = verify(&json, &listing).unwrap();
        assert_eq!(
            (reg.fmt.id(), reg.alg, reg.trusted),
            ("tpm", -65535, true),
            "statement in RS1: {sha1_statement}"
        );
    }
    // Listing RS1 changes nothing for the other algorithms' checks: an
    // ES256 key under RS1 in its COSE alg is still a mismatch.
    let authn = Authenticator::none(alg::ES256, 331);
    let mut c = authn.ceremony(RP, ORIGIN, CHALLENGE);
    let Value::Map(mut key) = authn.credential_key.cose_key_value() else {
        panic!()
    };
    key[1].1 = Value::Integer(alg::RS1.into());
    c.cose_key = fidogate_testkit::webauthn::cbor(&Value::Map(key));
    assert!(matches!(
        verify(&c.attest(&authn).credential_json(), &listing),
        Err(WebauthnError::PublicKey(CoseError::AlgKeyMismatch { .. }))
    ));
}
