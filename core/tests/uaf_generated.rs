//! Registrations from the software UAF authenticator: Basic Full and Basic
//! Surrogate with P-256 and RSA-PSS keys, and negatives mutated from them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

use fidogate_core::trust::{TrustAnchor, TrustAnchors};
use fidogate_core::uaf::{
    AssertionError, FinalChallengeError, MessageError, RegistrationPolicy, ServerDataCheck,
    ServerDataError, ServerDataKey, TlvError, UafAttestation, UafError, UafExpectations,
    UafRegistration, verify_registration_response,
};
use fidogate_core::{ErrorClass, UnixTime, b64};
use fidogate_testkit::certs;
use fidogate_testkit::keys::{SigningKey, alg};
use fidogate_testkit::uaf::{UafAttestationKind, UafAuthenticator, UafCeremony, tlv};
use serde_json::Value;
use std::sync::OnceLock;

const APP_ID: &str = "https://example.com/uaf/facets";
const FACET: &str = "android:apk-key-hash:Df+2X53Z0UscvUu6obxC3rIfFyk";
const AAID: &str = "FFFF#0001";
const NOW: UnixTime = UnixTime::from_secs(1_748_736_000);

fn root() -> &'static certs::Issued {
    static R: OnceLock<certs::Issued> = OnceLock::new();
    R.get_or_init(|| certs::root_ca("fidogate UAF root", SigningKey::generate(alg::ES256, 1000)))
}

fn key() -> ServerDataKey {
    ServerDataKey::new(&[42; 32]).unwrap()
}

fn challenge() -> String {
    fidogate_core::uaf::challenge_from_random(&[9; 32]).unwrap()
}

fn full(alg_id: i64, seed: u64) -> UafAuthenticator {
    let att_key = SigningKey::generate(alg_id, seed + 1);
    let leaf = certs::issue(
        certs::params(&[(
            fidogate_testkit::rcgen::DnType::CommonName,
            "fidogate soft UAF",
        )]),
        att_key.clone(),
        root(),
    );
    UafAuthenticator::new(
        AAID,
        alg_id,
        seed,
        UafAttestationKind::BasicFull {
            key: att_key,
            certs: vec![leaf.der.clone()],
        },
    )
}

fn rsa_full() -> &'static UafAuthenticator {
    static A: OnceLock<UafAuthenticator> = OnceLock::new();
    A.get_or_init(|| full(alg::PS256, 1100))
}

fn ceremony() -> UafCeremony {
    let sd = key()
        .issue(
            &challenge(),
            "bao",
            NOW.plus(std::time::Duration::from_secs(300)),
        )
        .unwrap();
    UafCeremony::new(APP_ID, &challenge(), FACET, &sd)
}

fn expected() -> UafExpectations {
    UafExpectations {
        app_id: APP_ID.into(),
        challenge: challenge(),
        trusted_facets: vec![FACET.into()],
        policy: RegistrationPolicy::aaids(&[AAID]),
        require_trusted: false,
    }
}

fn anchors() -> TrustAnchors {
    let mut a = TrustAnchors::new();
    a.add_scoped(
        AAID,
        TrustAnchor::from_der(root().der.clone(), "root").unwrap(),
    );
    a
}

fn run_with(
    body: &Value,
    exp: &UafExpectations,
    at: UnixTime,
) -> Result<Vec<UafRegistration>, UafError> {
    let k = key();
    verify_registration_response(
        body,
        exp,
        ServerDataCheck::Verify {
            key: &k,
            username: Some("bao"),
        },
        &anchors(),
        at,
    )
}

fn run(body: &Value) -> Result<Vec<UafRegistration>, UafError> {
    run_with(body, &expected(), NOW)
}

fn assertion_err(r: Result<Vec<UafRegistration>, UafError>) -> AssertionError {
    match r {
        Err(UafError::Assertion { error, .. }) => error,
        other => panic!("expected an assertion error, got {other:?}"),
    }
}

#[test]
fn basic_full_and_surrogate_with_p256_and_rsa_pss() {
    for (name, authn, attestation, trusted) in [
        (
            "p256 full",
            full(alg::ES256, 1200),
            UafAttestation::BasicFull,
            true,
        ),
        (
            "rsa-pss full",
            rsa_full().clone(),
            UafAttestation::BasicFull,
            true,
        ),
        (
            "p256 surrogate",
            UafAuthenticator::new(AAID, alg::ES256, 1300, UafAttestationKind::BasicSurrogate),
            UafAttestation::BasicSurrogate,
            false,
        ),
        (
            "rsa-pss surrogate",
            UafAuthenticator {
                attestation: UafAttestationKind::BasicSurrogate,
                ..rsa_full().clone()
            },
            UafAttestation::BasicSurrogate,
            false,
        ),
    ] {
        let regs = run(&authn.register(&ceremony())).unwrap_or_else(|e| panic!("{name}: {e}"));
        let r = &regs[0];
        assert_eq!(
            (r.aaid.as_str(), r.attestation, r.trusted),
            (AAID, attestation, trusted),
            "{name}"
        );
        assert_eq!(r.key_id, authn.key_id, "{name}");
        assert_eq!(r.public_key, authn.public_key().1, "{name}");
        assert_eq!((r.sign_counter, r.reg_counter), (0, 1));
        assert!(!r.attest_signature.is_empty(), "{name}");
        assert_eq!(
            r.attest_cert.is_some(),
            attestation == UafAttestation::BasicFull,
            "{name}"
        );
    }
    // Requiring trust refuses surrogate attestation.
    let exp = UafExpectations {
        require_trusted: true,
        ..expected()
    };
    let surrogate =
        UafAuthenticator::new(AAID, alg::ES256, 1300, UafAttestationKind::BasicSurrogate);
    assert!(matches!(
        assertion_err(run_with(&surrogate.register(&ceremony()), &exp, NOW)),
        AssertionError::Untrusted { .. }
    ));
}

#[test]
fn request_context_negatives() {
    let authn = full(alg::ES256, 1400);
    let fc = |e: UafError| match e {
        UafError::FinalChallenge(e) => e,
        other => panic!("expected an fcParams error, got {other:?}"),
    };
    // Wrong challenge.
    let mut c = ceremony();
    c.challenge = "other".into();
    let e = run(&authn.register(&c)).unwrap_err();
    assert_eq!(e.class(), ErrorClass::Replay);
    assert_eq!(fc(e), FinalChallengeError::Challenge);
    // Wrong appID, in the header and in fcParams.
    let mut c = ceremony();
    c.app_id = "https://evil.example/facets".into();
    assert!(matches!(
        run(&authn.register(&c)),
        Err(UafError::Message(MessageError::HeaderAppId(_)))
    ));
    let mut c = ceremony();
    c.fc_app_id = Some("https://evil.example/facets".into());
    assert!(matches!(
        fc(run(&authn.register(&c)).unwrap_err()),
        FinalChallengeError::AppId(_)
    ));
    // Facet not trusted.
    let mut c = ceremony();
    c.facet_id = "android:apk-key-hash:evil".into();
    assert!(matches!(
        fc(run(&authn.register(&c)).unwrap_err()),
        FinalChallengeError::FacetId(_)
    ));
    // Unsupported version and operation.
    let mut c = ceremony();
    c.upv = (1, 2);
    assert!(matches!(
        run(&authn.register(&c)),
        Err(UafError::Message(MessageError::Version {
            major: 1,
            minor: 2
        }))
    ));
    let mut c = ceremony();
    c.op = "Auth".into();
    assert!(matches!(
        run(&authn.register(&c)),
        Err(UafError::Message(MessageError::Operation(_)))
    ));
    // A broken fcParams.
    let mut body = authn.register(&ceremony());
    body[0]["fcParams"] = Value::String(b64::encode(b"[1,2]"));
    assert!(matches!(
        fc(run(&body).unwrap_err()),
        FinalChallengeError::Malformed(_)
    ));
}

#[test]
fn server_data_negatives() {
    let authn = full(alg::ES256, 1500);
    let sd = |e: UafError| match e {
        UafError::ServerData(e) => e,
        other => panic!("expected a serverData error, got {other:?}"),
    };
    // Expired.
    let late = NOW.plus(std::time::Duration::from_secs(301));
    assert!(matches!(
        sd(run_with(&authn.register(&ceremony()), &expected(), late).unwrap_err()),
        ServerDataError::Expired { .. }
    ));
    // Tampered: one byte flipped.
    let mut c = ceremony();
    let mut raw = b64::decode(&c.server_data).unwrap();
    raw[3] ^= 1;
    c.server_data = b64::encode(&raw);
    let e = run(&authn.register(&c)).unwrap_err();
    assert_eq!(e.class(), ErrorClass::Signature);
    assert_eq!(sd(e), ServerDataError::Mac);
    // Issued by another key, for another challenge, for another user.
    let mut c = ceremony();
    c.server_data = ServerDataKey::new(&[1; 32])
        .unwrap()
        .issue(
            &challenge(),
            "bao",
            NOW.plus(std::time::Duration::from_secs(60)),
        )
        .unwrap();
    assert_eq!(
        sd(run(&authn.register(&c)).unwrap_err()),
        ServerDataError::Mac
    );
    let mut c = ceremony();
    c.server_data = key()
        .issue(
            "another",
            "bao",
            NOW.plus(std::time::Duration::from_secs(60)),
        )
        .unwrap();
    assert_eq!(
        sd(run(&authn.register(&c)).unwrap_err()),
        ServerDataError::Challenge
    );
    let mut c = ceremony();
    c.server_data = key()
        .issue(
            &challenge(),
            "mallory",
            NOW.plus(std::time::Duration::from_secs(60)),
        )
        .unwrap();
    assert!(matches!(
        sd(run(&authn.register(&c)).unwrap_err()),
        ServerDataError::Username(_)
    ));
}

#[test]
fn assertion_negatives() {
    let authn = full(alg::ES256, 1600);
    // FINAL_CHALLENGE_HASH mismatch.
    let mut c = ceremony();
    c.final_challenge_hash = Some(vec![0; 32]);
    assert_eq!(
        assertion_err(run(&authn.register(&c))),
        AssertionError::FinalChallengeHash
    );
    c.final_challenge_hash = Some(vec![0; 20]);
    assert!(matches!(
        assertion_err(run(&authn.register(&c))),
        AssertionError::Tlv(TlvError::Length { .. })
    ));
    // Bad signature, full and surrogate, P-256 and RSA-PSS.
    let mut c = ceremony();
    c.corrupt_signature = true;
    for a in [
        authn.clone(),
        rsa_full().clone(),
        UafAuthenticator::new(AAID, alg::ES256, 1610, UafAttestationKind::BasicSurrogate),
    ] {
        let e = assertion_err(run(&a.register(&c)));
        assert!(matches!(e, AssertionError::Signature { .. }), "{e:?}");
        assert_eq!(e.class(), ErrorClass::Signature);
    }
    // Disallowed AAID.
    let exp = UafExpectations {
        policy: RegistrationPolicy::aaids(&["BATS#0001"]),
        ..expected()
    };
    assert!(matches!(
        assertion_err(run_with(&authn.register(&ceremony()), &exp, NOW)),
        AssertionError::Aaid(_)
    ));
    // Unknown and critical-extension tags inside the KRD.
    let mut c = ceremony();
    c.extra_krd = tlv(0x2E77, b"x");
    assert!(matches!(
        assertion_err(run(&authn.register(&c))),
        AssertionError::Tlv(TlvError::UnexpectedTag { tag: 0x2E77, .. })
    ));
    c.extra_krd = tlv(0x3E11, b"x");
    assert!(matches!(
        assertion_err(run(&authn.register(&c))),
        AssertionError::Unsupported(_)
    ));
    // A repeated KRD field.
    c.extra_krd = tlv(0x2E0B, AAID.as_bytes());
    assert!(matches!(
        assertion_err(run(&authn.register(&c))),
        AssertionError::Tlv(TlvError::Duplicate { .. })
    ));
    // A non-critical extension is accepted.
    c.extra_krd = tlv(0x3E12, &tlv(0x2E13, b"ext"));
    assert!(run(&authn.register(&c)).is_ok());
    // An untrusted chain when anchors are configured for the AAID.
    let stranger = certs::root_ca("other root", SigningKey::generate(alg::ES256, 1620));
    let att_key = SigningKey::generate(alg::ES256, 1621);
    let leaf = certs::issue(
        certs::params(&[(fidogate_testkit::rcgen::DnType::CommonName, "x")]),
        att_key.clone(),
        &stranger,
    );
    let other = UafAuthenticator::new(
        AAID,
        alg::ES256,
        1622,
        UafAttestationKind::BasicFull {
            key: att_key,
            certs: vec![leaf.der.clone()],
        },
    );
    let e = assertion_err(run(&other.register(&ceremony())));
    assert!(matches!(e, AssertionError::Trust(_)), "{e:?}");
    assert_eq!(e.class(), ErrorClass::Untrusted);
}

#[test]
fn truncated_and_oversized_tlvs() {
    let authn = full(alg::ES256, 1700);
    let body = authn.register(&ceremony());
    let bytes = b64::decode(body[0]["assertions"][0]["assertion"].as_str().unwrap()).unwrap();
    let with = |b: &[u8]| {
        let mut v = body.clone();
        v[0]["assertions"][0]["assertion"] = Value::String(b64::encode(b));
        run(&v)
    };
    assert!(with(&bytes).is_ok());
    for n in 0..bytes.len() {
        assert!(with(&bytes[..n]).is_err(), "cut to {n} accepted");
    }
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(with(&trailing).is_err());
    // An outer length larger than the data, and a KRD length that overruns.
    let mut over = bytes.clone();
    over[2] = 0xff;
    over[3] = 0xff;
    assert!(matches!(
        assertion_err(with(&over)),
        AssertionError::Tlv(TlvError::Cursor(_))
    ));
    let mut over = bytes.clone();
    over[6] = over[6].wrapping_add(1);
    assert!(with(&over).is_err());
    // Wrong scheme, not base64url.
    let mut v = body.clone();
    v[0]["assertions"][0]["assertionScheme"] = Value::String("UAFV2TLV".into());
    assert!(matches!(assertion_err(run(&v)), AssertionError::Scheme(_)));
    let mut v = body.clone();
    v[0]["assertions"][0]["assertion"] = Value::String("!!".into());
    assert_eq!(assertion_err(run(&v)), AssertionError::Encoding);
}

#[test]
fn message_shape_negatives() {
    let body = full(alg::ES256, 1800).register(&ceremony());
    for (name, v) in [
        ("not an array", serde_json::json!({})),
        ("empty", serde_json::json!([])),
        ("no header", {
            let mut v = body.clone();
            v[0].as_object_mut().unwrap().remove("header");
            v
        }),
        ("no assertions", {
            let mut v = body.clone();
            v[0]["assertions"] = serde_json::json!([]);
            v
        }),
        ("too many", Value::Array(vec![body[0].clone(); 9])),
    ] {
        let e = run(&v).unwrap_err();
        assert!(matches!(e, UafError::Message(_)), "{name}: {e:?}");
        assert_eq!(e.class(), ErrorClass::Malformed, "{name}");
    }
}
