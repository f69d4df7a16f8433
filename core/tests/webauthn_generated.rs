//! The project's own registrations, from the software authenticator in
//! fidogate-testkit: positives for every algorithm and generated format,
//! and a negative mutated from them for each check of §7.1 and §8.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

use ciborium::value::Value;
use fidogate_core::crypto::CryptoError;
use fidogate_core::trust::{Cert, TrustAnchor, TrustAnchors, TrustError, verify_chain_cached};
use fidogate_core::webauthn::{
    AttestationType, AuthDataError, ClientDataError, CoseAlgorithm, CoseError, CredentialError,
    Policy, RegistrationCredential, RelyingParty, StatementError, UserVerification,
    VerifiedRegistration, WebauthnError, verify_registration,
};
use fidogate_core::{ErrorClass, UnixTime};
use fidogate_testkit::certs::{self, Issued};
use fidogate_testkit::keys::{SigningKey, alg};
use fidogate_testkit::webauthn::{
    Attested, Authenticator, Ceremony, attestation_root, cbor, flags,
};
use serde_json::json;

const RP: &str = "example.com";
const ORIGIN: &str = "https://example.com";
const CHALLENGE: &[u8] = b"0123456789abcdef0123456789abcdef";
/// 2025-06-01T00:00:00Z: inside the generated certificates' validity.
const NOW: UnixTime = UnixTime::from_secs(1_748_736_000);

fn rp() -> RelyingParty {
    RelyingParty::new(RP, ORIGIN)
}

fn verify_with(
    json: &serde_json::Value,
    rp: &RelyingParty,
    anchors: &TrustAnchors,
    policy: &Policy,
    time: UnixTime,
) -> Result<VerifiedRegistration, WebauthnError> {
    let credential = RegistrationCredential::from_value(json)?;
    verify_registration(&credential, CHALLENGE, rp, anchors, policy, time)
}

fn verify(json: &serde_json::Value) -> Result<VerifiedRegistration, WebauthnError> {
    verify_with(json, &rp(), &TrustAnchors::new(), &Policy::default(), NOW)
}

fn ceremony(authn: &Authenticator) -> Ceremony {
    authn.ceremony(RP, ORIGIN, CHALLENGE)
}

fn anchors_of(root: &Issued) -> TrustAnchors {
    let mut a = TrustAnchors::new();
    a.add_global(TrustAnchor::from_der(root.der.clone(), "test root").unwrap());
    a
}

/// Re-encodes an attested registration after `f` edits its statement.
fn with_statement(
    attested: &Attested,
    f: impl FnOnce(&mut Vec<(Value, Value)>),
) -> serde_json::Value {
    let mut a = attested.clone();
    let Value::Map(entries) = &mut a.att_stmt else {
        panic!()
    };
    f(entries);
    a.credential_json()
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

// ---- positives -------------------------------------------------------------

#[test]
fn none_and_packed_self_for_every_algorithm() {
    for (i, a) in [
        alg::ES256,
        alg::ES384,
        alg::ES512,
        alg::EDDSA,
        alg::RS256,
        alg::PS256,
    ]
    .into_iter()
    .enumerate()
    {
        let seed = 100 + i as u64;
        let reg = verify(&Authenticator::none(a, seed).register(RP, ORIGIN, CHALLENGE)).unwrap();
        assert_eq!(
            (reg.alg, reg.attestation_type, reg.trusted),
            (a, AttestationType::None, false)
        );
        let authn = Authenticator::packed_self(a, seed);
        let reg = verify(&authn.register(RP, ORIGIN, CHALLENGE)).unwrap();
        assert_eq!(
            reg.attestation_type,
            AttestationType::SelfAttestation,
            "alg {a}"
        );
        assert_eq!(reg.public_key, authn.credential_key.cose_key());
        assert_eq!(reg.credential_id, authn.credential_id);
        assert!(reg.flags.up() && reg.flags.uv());
        assert_eq!(reg.transports, vec!["usb".to_owned()]);
    }
}

#[test]
fn packed_x5c_is_trusted_only_with_its_root() {
    let root = attestation_root(1);
    let authn = Authenticator::packed_x5c(alg::ES256, 2, &root);
    let json = authn.register(RP, ORIGIN, CHALLENGE);
    let reg = verify(&json).unwrap();
    assert_eq!(
        (reg.attestation_type, reg.trusted),
        (AttestationType::Basic, false)
    );
    assert_eq!(reg.x5c.len(), 2);
    let reg = verify_with(&json, &rp(), &anchors_of(&root), &Policy::default(), NOW).unwrap();
    assert!(reg.trusted);
    assert!(
        reg.trust_anchor
            .unwrap()
            .contains("fidogate test attestation root")
    );
    // Anchors scoped to another format do not apply to packed.
    let mut scoped = TrustAnchors::new();
    scoped.add_scoped(
        "tpm",
        TrustAnchor::from_der(root.der.clone(), "root").unwrap(),
    );
    assert!(
        !verify_with(&json, &rp(), &scoped, &Policy::default(), NOW)
            .unwrap()
            .trusted
    );
}

#[test]
fn fido_u2f_verifies() {
    let root = attestation_root(3);
    let json = Authenticator::fido_u2f(4, &root).register(RP, ORIGIN, CHALLENGE);
    let reg = verify_with(&json, &rp(), &anchors_of(&root), &Policy::default(), NOW).unwrap();
    assert_eq!(
        (reg.fmt.id(), reg.aaguid, reg.trusted),
        ("fido-u2f", [0; 16], true)
    );
}

#[test]
fn extensions_are_reported() {
    let authn = Authenticator::packed_self(alg::ES256, 5);
    let mut c = ceremony(&authn);
    c.flags |= flags::ED;
    c.extensions = Some(Value::Map(vec![(
        text("credProtect"),
        Value::Integer(2.into()),
    )]));
    let mut json = c.attest(&authn).credential_json();
    json["clientExtensionResults"] = json!({"credProps": {"rk": true}});
    let reg = verify(&json).unwrap();
    assert_eq!(
        reg.authenticator_extensions,
        Some(json!({"credProtect": 2}))
    );
    assert_eq!(
        reg.client_extension_results["credProps"],
        json!({"rk": true})
    );
}

#[test]
fn backup_flags_and_cross_origin_when_allowed() {
    let authn = Authenticator::none(alg::ES256, 6);
    let mut c = ceremony(&authn);
    c.flags |= flags::BE | flags::BS;
    c.client_data["crossOrigin"] = json!(true);
    c.client_data["topOrigin"] = json!("https://top.example");
    let json = c.attest(&authn).credential_json();
    let mut rp = rp();
    rp.top_origins = vec!["https://top.example".into()];
    let reg = verify_with(&json, &rp, &TrustAnchors::new(), &Policy::default(), NOW).unwrap();
    assert!(reg.flags.be() && reg.flags.bs());
}

// ---- the credential JSON -------------------------------------------------------

#[test]
fn credential_json_checks() {
    let good = Authenticator::none(alg::ES256, 7).register(RP, ORIGIN, CHALLENGE);
    let cases: Vec<(&str, serde_json::Value, CredentialError)> = vec![
        (
            "no id",
            {
                let mut j = good.clone();
                j.as_object_mut().unwrap().remove("id");
                j
            },
            CredentialError::MissingField("id"),
        ),
        (
            "type",
            {
                let mut j = good.clone();
                j["type"] = json!("password");
                j
            },
            CredentialError::CredentialType("password".into()),
        ),
        (
            "rawId",
            {
                let mut j = good.clone();
                j["rawId"] = json!("AAAA");
                j
            },
            CredentialError::IdMismatch,
        ),
        (
            "base64",
            {
                let mut j = good.clone();
                j["response"]["attestationObject"] = json!("!!");
                j
            },
            CredentialError::Base64("response.attestationObject"),
        ),
        (
            "transports",
            {
                let mut j = good.clone();
                j["response"]["transports"] = json!("usb");
                j
            },
            CredentialError::WrongType {
                field: "response.transports",
                expected: "an array of strings",
            },
        ),
        (
            "response",
            {
                let mut j = good.clone();
                j["response"] = json!([]);
                j
            },
            CredentialError::WrongType {
                field: "response",
                expected: "an object",
            },
        ),
    ];
    for (name, json, expected) in cases {
        let err = RegistrationCredential::from_value(&json).unwrap_err();
        assert_eq!(err, expected, "{name}");
        assert_eq!(WebauthnError::from(err).class(), ErrorClass::Malformed);
    }
    assert!(matches!(
        RegistrationCredential::from_json(b"{\"id\":"),
        Err(CredentialError::NotJson(_))
    ));
    let mut huge = good.clone();
    huge["response"]["clientDataJSON"] = json!("A".repeat(200_000));
    assert!(matches!(
        RegistrationCredential::from_value(&huge),
        Err(CredentialError::TooLarge { .. })
    ));
    // rawId may be absent (the nevis dialect posts only id); null transports are no transports.
    let mut j = good.clone();
    j.as_object_mut().unwrap().remove("rawId");
    j["response"]["transports"] = serde_json::Value::Null;
    assert!(verify(&j).is_ok());
}

// ---- clientDataJSON, steps 5 to 11 ---------------------------------------------------

fn client_data_case(edit: impl FnOnce(&mut Ceremony)) -> WebauthnError {
    let authn = Authenticator::packed_self(alg::ES256, 8);
    let mut c = ceremony(&authn);
    edit(&mut c);
    verify(&c.attest(&authn).credential_json()).unwrap_err()
}

#[test]
fn the_challenge_in_the_standard_alphabet_is_refused() {
    // Bytes whose base64url spelling has `-` and `_`, so the standard
    // alphabet spells them differently (`+`, `/`).
    let challenge: Vec<u8> = [0xfb, 0xff, 0xbf].repeat(11);
    let issued = fidogate_core::b64::encode(&challenge);
    assert!(issued.contains('-') && issued.contains('_'), "{issued}");
    let authn = Authenticator::packed_self(alg::ES256, 8);
    let check = |spelling: String| {
        let mut c = authn.ceremony(RP, ORIGIN, &challenge);
        c.client_data["challenge"] = json!(spelling);
        let credential = RegistrationCredential::from_value(&c.attest(&authn).credential_json())?;
        verify_registration(
            &credential,
            &challenge,
            &rp(),
            &TrustAnchors::new(),
            &Policy::default(),
            NOW,
        )
    };
    assert!(check(issued.clone()).is_ok());
    let standard = issued.replace('-', "+").replace('_', "/");
    assert!(matches!(
        check(standard),
        Err(WebauthnError::ClientData(
            ClientDataError::ChallengeEncoding
        ))
    ));
}

#[test]
fn client_data_checks() {
    use ClientDataError as E;
    let cd = |e: WebauthnError| match e {
        WebauthnError::ClientData(e) => e,
        other => panic!("expected a clientDataJSON error, got {other:?}"),
    };
    assert_eq!(
        cd(client_data_case(
            |c| c.client_data_override = Some(vec![0xff, 0xfe])
        )),
        E::NotUtf8
    );
    assert!(matches!(
        cd(client_data_case(
            |c| c.client_data_override = Some(b"[1]".to_vec())
        )),
        E::NotJson(_)
    ));
    assert_eq!(
        cd(client_data_case(|c| {
            c.client_data.as_object_mut().unwrap().remove("type");
        })),
        E::MissingField("type")
    );
    assert_eq!(
        cd(client_data_case(
            |c| c.client_data["type"] = json!("webauthn.get")
        )),
        E::Type("webauthn.get".into())
    );
    let replay = client_data_case(|c| {
        c.client_data["challenge"] = json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    });
    assert_eq!(replay.class(), ErrorClass::Replay);
    assert_eq!(cd(replay), E::ChallengeMismatch);
    assert_eq!(
        cd(client_data_case(
            |c| c.client_data["challenge"] = json!("not base64!")
        )),
        E::ChallengeEncoding
    );
    // The right bytes in another spelling: the string is compared, so
    // padding is refused.
    assert_eq!(
        cd(client_data_case(|c| {
            let issued = c.client_data["challenge"].as_str().unwrap().to_owned();
            let pad = "=".repeat((4 - issued.len() % 4) % 4);
            assert!(!pad.is_empty(), "a 32-byte challenge has a padded spelling");
            c.client_data["challenge"] = json!(format!("{issued}{pad}"));
        })),
        E::ChallengeEncoding
    );
    let origin = client_data_case(|c| c.client_data["origin"] = json!("https://evil.example"));
    assert_eq!(origin.class(), ErrorClass::Policy);
    assert_eq!(cd(origin), E::Origin("https://evil.example".into()));
    // The origin is compared exactly: no scheme, port or case folding.
    assert!(matches!(
        cd(client_data_case(
            |c| c.client_data["origin"] = json!("https://example.com:443")
        )),
        E::Origin(_)
    ));
    assert!(matches!(
        cd(client_data_case(
            |c| c.client_data["origin"] = json!("http://example.com")
        )),
        E::Origin(_)
    ));
    assert_eq!(
        cd(client_data_case(
            |c| c.client_data["crossOrigin"] = json!(true)
        )),
        E::CrossOrigin
    );
    assert!(matches!(
        cd(client_data_case(
            |c| c.client_data["crossOrigin"] = json!("yes")
        )),
        E::WrongType { .. }
    ));
    assert_eq!(
        cd(client_data_case(
            |c| c.client_data["topOrigin"] = json!("https://top.example")
        )),
        E::TopOriginWithoutCrossOrigin
    );
    for tb in [
        json!({"status": "not-supported"}),
        json!({"status": "present"}),
        json!({}),
        json!("bogus"),
        json!(3),
    ] {
        assert!(
            matches!(
                cd(client_data_case(
                    |c| c.client_data["tokenBinding"] = tb.clone()
                )),
                E::TokenBinding(_)
            ),
            "{tb}"
        );
    }
    // Allowed token binding forms.
    for tb in [
        json!({"status": "supported"}),
        json!({"status": "present", "id": "AQID"}),
        json!("unused"),
    ] {
        let authn = Authenticator::none(alg::ES256, 9);
        let mut c = ceremony(&authn);
        c.client_data["tokenBinding"] = tb.clone();
        assert!(verify(&c.attest(&authn).credential_json()).is_ok(), "{tb}");
    }
}

#[test]
fn top_origin_must_be_allowed() {
    let authn = Authenticator::none(alg::ES256, 10);
    let mut c = ceremony(&authn);
    c.client_data["crossOrigin"] = json!(true);
    c.client_data["topOrigin"] = json!("https://evil.example");
    let mut rp = rp();
    rp.top_origins = vec!["https://top.example".into()];
    let err = verify_with(
        &c.attest(&authn).credential_json(),
        &rp,
        &TrustAnchors::new(),
        &Policy::default(),
        NOW,
    )
    .unwrap_err();
    assert_eq!(
        err,
        WebauthnError::ClientData(ClientDataError::TopOrigin("https://evil.example".into()))
    );
}

// ---- attestation object and authenticator data, steps 13 to 25 ---------------------------

#[test]
fn attestation_object_checks() {
    let authn = Authenticator::none(alg::ES256, 11);
    let attested = ceremony(&authn).attest(&authn);
    let object =
        |entries: Vec<(Value, Value)>| attested.credential_json_with(&cbor(&Value::Map(entries)));
    let fmt = (text("fmt"), text("none"));
    let stmt = (text("attStmt"), Value::Map(vec![]));
    let ad = (text("authData"), Value::Bytes(attested.auth_data.clone()));
    for (name, json) in [
        ("missing fmt", object(vec![stmt.clone(), ad.clone()])),
        (
            "extra member",
            object(vec![
                fmt.clone(),
                stmt.clone(),
                ad.clone(),
                (text("x"), Value::Null),
            ]),
        ),
        (
            "duplicate fmt",
            object(vec![fmt.clone(), fmt.clone(), stmt.clone(), ad.clone()]),
        ),
        (
            "fmt not text",
            object(vec![
                (text("fmt"), Value::Integer(1.into())),
                stmt.clone(),
                ad.clone(),
            ]),
        ),
        (
            "authData not bytes",
            object(vec![
                fmt.clone(),
                stmt.clone(),
                (text("authData"), text("x")),
            ]),
        ),
        (
            "not a map",
            attested.credential_json_with(&cbor(&Value::Array(vec![]))),
        ),
        ("not CBOR", attested.credential_json_with(&[0xff, 0x00])),
    ] {
        let err = verify(&json).unwrap_err();
        assert!(
            matches!(err, WebauthnError::AttestationObject(_)),
            "{name}: {err:?}"
        );
        assert_eq!(err.class(), ErrorClass::Malformed);
    }
    let mut a = attested.clone();
    a.fmt = "Packed".into();
    assert_eq!(
        verify(&a.credential_json()).unwrap_err(),
        WebauthnError::UnsupportedFormat("Packed".into())
    );
}

fn auth_data_case(policy: &Policy, edit: impl FnOnce(&mut Ceremony)) -> WebauthnError {
    let authn = Authenticator::packed_self(alg::ES256, 12);
    let mut c = ceremony(&authn);
    edit(&mut c);
    verify_with(
        &c.attest(&authn).credential_json(),
        &rp(),
        &TrustAnchors::new(),
        policy,
        NOW,
    )
    .unwrap_err()
}

#[test]
fn authenticator_data_checks() {
    let p = Policy::default();
    let ad = |e: WebauthnError| match e {
        WebauthnError::AuthData(e) => e,
        other => panic!("expected an authData error, got {other:?}"),
    };
    assert_eq!(
        ad(auth_data_case(&p, |c| c.rp_id_hash = [0; 32])),
        AuthDataError::RpIdHash(RP.into())
    );
    assert_eq!(
        ad(auth_data_case(&p, |c| c.flags &= !flags::UP)),
        AuthDataError::UserNotPresent
    );
    let strict = Policy {
        user_verification: UserVerification::Required,
        ..Policy::default()
    };
    assert_eq!(
        ad(auth_data_case(&strict, |c| c.flags &= !flags::UV)),
        AuthDataError::UserNotVerified
    );
    assert_eq!(
        ad(auth_data_case(&p, |c| c.flags |= flags::BS)),
        AuthDataError::BackupState
    );
    assert_eq!(
        ad(auth_data_case(&p, |c| c.flags &= !flags::AT)),
        AuthDataError::NoAttestedCredential
    );
    assert!(matches!(
        ad(auth_data_case(&p, |c| c.flags |= flags::ED)),
        AuthDataError::Extensions(_)
    ));
    assert!(matches!(
        ad(auth_data_case(&p, |c| c.extensions = Some(Value::Map(vec![])))),
        AuthDataError::Parse(_)
    ));
    assert!(matches!(
        ad(auth_data_case(&p, |c| {
            c.flags |= flags::ED;
            c.extensions = Some(Value::Array(vec![]));
        })),
        AuthDataError::Cbor(_)
    ));
    assert!(matches!(
        ad(auth_data_case(&p, |c| c.trailing = vec![0])),
        AuthDataError::Parse(_)
    ));
    assert_eq!(
        ad(auth_data_case(&p, |c| c.raw_id = Some(vec![1; 32]))),
        AuthDataError::CredentialIdMismatch
    );
    assert_eq!(
        ad(auth_data_case(&p, |c| {
            c.credential_id = vec![7; 1024];
            c.raw_id = Some(vec![7; 1024]);
        })),
        AuthDataError::CredentialIdTooLong(1024)
    );
    // UV preferred (the default) accepts a registration without UV.
    let authn = Authenticator::packed_self(alg::ES256, 12);
    let mut c = ceremony(&authn);
    c.flags &= !flags::UV;
    assert!(verify(&c.attest(&authn).credential_json()).is_ok());
}

#[test]
fn credential_key_checks() {
    // Step 20: the algorithm must be allowed.
    let json = Authenticator::none(alg::RS256, 13).register(RP, ORIGIN, CHALLENGE);
    let mut rp = rp();
    rp.algorithms = vec![CoseAlgorithm::Es256];
    let err = verify_with(&json, &rp, &TrustAnchors::new(), &Policy::default(), NOW).unwrap_err();
    assert_eq!(
        err,
        WebauthnError::PublicKey(CoseError::AlgNotAllowed(-257))
    );
    assert_eq!(err.class(), ErrorClass::Policy);
    // A COSE key whose alg does not fit its curve.
    let authn = Authenticator::none(alg::ES256, 13);
    let mut c = ceremony(&authn);
    let Value::Map(mut key) = authn.credential_key.cose_key_value() else {
        panic!()
    };
    key[1].1 = Value::Integer((-35).into());
    c.cose_key = cbor(&Value::Map(key));
    assert!(matches!(
        verify(&c.attest(&authn).credential_json()),
        Err(WebauthnError::PublicKey(CoseError::AlgKeyMismatch { .. }))
    ));
    // RS1 is never a credential algorithm.
    let mut c = ceremony(&Authenticator::none(alg::RS256, 13));
    let rsa = SigningKey::generate(alg::RS256, 13);
    let Value::Map(mut key) = rsa.cose_key_value() else {
        panic!()
    };
    key[1].1 = Value::Integer(alg::RS1.into());
    c.cose_key = cbor(&Value::Map(key));
    let authn = Authenticator::none(alg::RS256, 13);
    assert!(matches!(
        verify(&c.attest(&authn).credential_json()),
        Err(WebauthnError::PublicKey(CoseError::AlgNotAllowed(-65535)))
    ));
    // An EC point off its curve is refused at registration, even where
    // the format never uses the credential key (none, x5c statements).
    for (a, seed) in [(alg::ES256, 15), (alg::ES384, 16)] {
        let authn = Authenticator::none(a, seed);
        let mut c = ceremony(&authn);
        let Value::Map(mut key) = authn.credential_key.cose_key_value() else {
            panic!()
        };
        let y = key
            .iter_mut()
            .find(|(k, _)| *k == Value::Integer((-3).into()))
            .and_then(|(_, v)| match v {
                Value::Bytes(b) => Some(b),
                _ => None,
            })
            .unwrap();
        *y.last_mut().unwrap() ^= 1;
        c.cose_key = cbor(&Value::Map(key));
        let err = verify(&c.attest(&authn).credential_json()).unwrap_err();
        assert!(
            matches!(
                err,
                WebauthnError::PublicKey(CoseError::Key(CryptoError::InvalidKey(_)))
            ),
            "alg {a}: {err:?}"
        );
        assert_eq!(err.class(), ErrorClass::Malformed);
    }
}

// ---- attestation statements, step 22 ----------------------------------------------------

fn stmt_err(json: &serde_json::Value) -> StatementError {
    match verify(json) {
        Err(WebauthnError::Statement { error, .. }) => error,
        other => panic!("expected a statement error, got {other:?}"),
    }
}

#[test]
fn none_statement_must_be_empty() {
    let authn = Authenticator::none(alg::ES256, 14);
    let attested = ceremony(&authn).attest(&authn);
    let json = with_statement(&attested, |m| {
        m.push((text("alg"), Value::Integer((-7).into())))
    });
    assert!(matches!(stmt_err(&json), StatementError::Malformed { .. }));
}

#[test]
fn packed_self_checks() {
    let authn = Authenticator::packed_self(alg::ES256, 15);
    let attested = ceremony(&authn).attest(&authn);
    // alg differs from the credential key's.
    let json = with_statement(&attested, |m| m[0].1 = Value::Integer((-257).into()));
    assert!(matches!(
        stmt_err(&json),
        StatementError::Mismatch { what: "alg", .. }
    ));
    // A bad signature.
    let json = with_statement(&attested, |m| {
        let Value::Bytes(sig) = &mut m[1].1 else {
            panic!()
        };
        let last = sig.len() - 1;
        sig[last] ^= 1;
    });
    let err = stmt_err(&json);
    assert!(matches!(err, StatementError::Signature { what: "sig", .. }));
    assert_eq!(err.class(), ErrorClass::Signature);
    // A signature over other client data: the hash is bound.
    let mut c = ceremony(&authn);
    let signed = c.attest(&authn);
    c.client_data["origin"] = json!(ORIGIN); // same value, new serialisation below
    let mut forged = signed.clone();
    forged.client_data_json = serde_json::to_vec(&json!({"type":"webauthn.create","challenge":fidogate_testkit::b64u(CHALLENGE),"origin":ORIGIN})).unwrap();
    assert!(matches!(
        stmt_err(&forged.credential_json()),
        StatementError::Signature { .. }
    ));
    // Members the format does not define.
    let json = with_statement(&attested, |m| {
        m.push((text("ecdaaKeyId"), Value::Bytes(vec![1])))
    });
    assert!(matches!(
        stmt_err(&json),
        StatementError::Malformed {
            what: "attStmt.ecdaaKeyId",
            ..
        }
    ));
    let json = with_statement(&attested, |m| m.push((text("extra"), Value::Null)));
    assert!(matches!(
        stmt_err(&json),
        StatementError::Malformed {
            what: "attStmt",
            ..
        }
    ));
    let json = with_statement(&attested, |m| {
        m.remove(1);
    });
    assert!(matches!(
        stmt_err(&json),
        StatementError::Malformed { what: "sig", .. }
    ));
    let json = with_statement(&attested, |m| m[0].1 = Value::Integer((-1).into()));
    assert!(matches!(
        stmt_err(&json),
        StatementError::Malformed { what: "alg", .. }
    ));
}

/// A packed authenticator whose attestation certificate is made from `params`.
fn packed_with_leaf(
    params: fidogate_testkit::rcgen::CertificateParams,
    seed: u64,
) -> (Issued, Authenticator) {
    let root = attestation_root(seed);
    let leaf = certs::issue(params, SigningKey::generate(alg::ES256, seed + 1), &root);
    let authn = Authenticator::new(
        alg::ES256,
        seed,
        fidogate_testkit::webauthn::Attestation::Packed {
            key: leaf.key.clone(),
            x5c: vec![leaf.der.clone()],
        },
    );
    (root, authn)
}

#[test]
fn packed_certificate_requirements() {
    use fidogate_testkit::rcgen::DnType;
    let base = || certs::packed_leaf_params(Some(fidogate_testkit::webauthn::SOFT_AAGUID));
    let mut wrong_ou = base();
    wrong_ou
        .distinguished_name
        .push(DnType::OrganizationalUnitName, "Sales");
    let mut no_country = base();
    no_country.distinguished_name.remove(DnType::CountryName);
    let mut ca = base();
    ca.is_ca =
        fidogate_testkit::rcgen::IsCa::Ca(fidogate_testkit::rcgen::BasicConstraints::Unconstrained);
    let mut no_cn = base();
    no_cn.distinguished_name.remove(DnType::CommonName);
    for (name, params) in [
        ("OU", wrong_ou),
        ("C", no_country),
        ("CA", ca),
        ("CN", no_cn),
    ] {
        let (_, authn) = packed_with_leaf(params, 20);
        let err = stmt_err(&authn.register(RP, ORIGIN, CHALLENGE));
        assert!(
            matches!(err, StatementError::Certificate(_)),
            "{name}: {err:?}"
        );
        assert_eq!(err.class(), ErrorClass::Untrusted);
    }
    // The AAGUID extension must match authData.
    let (_, authn) = packed_with_leaf(certs::packed_leaf_params(Some([9; 16])), 21);
    assert!(matches!(
        stmt_err(&authn.register(RP, ORIGIN, CHALLENGE)),
        StatementError::Mismatch {
            what: "id-fido-gen-ce-aaguid",
            ..
        }
    ));
    // Without the extension the AAGUID is not checked against the certificate.
    let (_, authn) = packed_with_leaf(certs::packed_leaf_params(None), 22);
    assert!(verify(&authn.register(RP, ORIGIN, CHALLENGE)).is_ok());
    // A garbage certificate.
    let authn = Authenticator::packed_x5c(alg::ES256, 23, &attestation_root(23));
    let attested = ceremony(&authn).attest(&authn);
    let json = with_statement(&attested, |m| {
        m[2].1 = Value::Array(vec![Value::Bytes(vec![0x30, 0x03, 1, 2, 3])])
    });
    assert!(matches!(
        stmt_err(&json),
        StatementError::Malformed { what: "x5c", .. }
    ));
    let json = with_statement(&attested, |m| m[2].1 = Value::Array(vec![]));
    assert!(matches!(
        stmt_err(&json),
        StatementError::Malformed { what: "x5c", .. }
    ));
}

#[test]
fn fido_u2f_checks() {
    let root = attestation_root(30);
    let authn = Authenticator::fido_u2f(31, &root);
    let attested = ceremony(&authn).attest(&authn);
    // Exactly one certificate.
    let json = with_statement(&attested, |m| {
        let Value::Array(c) = &mut m[1].1 else {
            panic!()
        };
        c.push(Value::Bytes(root.der.clone()));
    });
    assert!(matches!(
        stmt_err(&json),
        StatementError::Malformed { what: "x5c", .. }
    ));
    // A bad signature.
    let json = with_statement(&attested, |m| {
        let Value::Bytes(sig) = &mut m[0].1 else {
            panic!()
        };
        sig[10] ^= 1;
    });
    assert!(matches!(stmt_err(&json), StatementError::Signature { .. }));
    // A non-zero AAGUID.
    let mut c = ceremony(&authn);
    c.aaguid = [1; 16];
    assert!(matches!(
        stmt_err(&c.attest(&authn).credential_json()),
        StatementError::Malformed { what: "aaguid", .. }
    ));
    // A non-P-256 credential key.
    let mut ed = Authenticator::fido_u2f(31, &root);
    ed.credential_key = SigningKey::generate(alg::EDDSA, 32);
    assert!(matches!(
        stmt_err(&ed.register(RP, ORIGIN, CHALLENGE)),
        StatementError::Malformed {
            what: "credentialPublicKey",
            ..
        }
    ));
    // A non-P-256 attestation key.
    let leaf = certs::issue(
        certs::params(&[(fidogate_testkit::rcgen::DnType::CommonName, "u2f")]),
        SigningKey::generate(alg::ES384, 33),
        &root,
    );
    let p384 = Authenticator::new(
        alg::ES256,
        31,
        fidogate_testkit::webauthn::Attestation::FidoU2f {
            key: leaf.key.clone(),
            cert: leaf.der.clone(),
        },
    );
    assert!(matches!(
        stmt_err(&p384.register(RP, ORIGIN, CHALLENGE)),
        StatementError::Certificate(_)
    ));
}

#[test]
fn compound_statements() {
    let root = attestation_root(40);
    let authn = Authenticator::packed_x5c(alg::ES256, 41, &root);
    let c = ceremony(&authn);
    let packed = c.attest(&authn);
    let self_authn = Authenticator::packed_self(alg::ES256, 41);
    let self_stmt = c.attest(&self_authn);
    let entry = |a: &Attested| {
        Value::Map(vec![
            (text("fmt"), text(&a.fmt)),
            (text("attStmt"), a.att_stmt.clone()),
        ])
    };
    let mut compound = packed.clone();
    compound.fmt = "compound".into();
    compound.att_stmt = Value::Array(vec![entry(&self_stmt), entry(&packed)]);
    let reg = verify_with(
        &compound.credential_json(),
        &rp(),
        &anchors_of(&root),
        &Policy::default(),
        NOW,
    )
    .unwrap();
    assert_eq!(reg.fmt.id(), "compound");
    assert!(reg.trusted, "the packed x5c sub-statement reaches the root");
    // The chain reported is the first sub-statement that has one.
    let Value::Map(stmt) = &packed.att_stmt else {
        panic!()
    };
    let x5c: Vec<Vec<u8>> = stmt
        .iter()
        .find(|(k, _)| *k == text("x5c"))
        .and_then(|(_, v)| v.as_array())
        .unwrap()
        .iter()
        .map(|c| c.as_bytes().unwrap().clone())
        .collect();
    assert!(!x5c.is_empty());
    assert_eq!(reg.x5c, x5c);
    // One bad sub-statement fails the whole.
    let mut bad = packed.clone();
    let Value::Map(m) = &mut bad.att_stmt else {
        panic!()
    };
    let Value::Bytes(sig) = &mut m[1].1 else {
        panic!()
    };
    sig[8] ^= 1;
    compound.att_stmt = Value::Array(vec![entry(&self_stmt), entry(&bad)]);
    assert!(matches!(
        stmt_err(&compound.credential_json()),
        StatementError::Signature { .. }
    ));
    // Fewer than two, nesting, unknown formats.
    compound.att_stmt = Value::Array(vec![entry(&packed)]);
    assert!(matches!(
        stmt_err(&compound.credential_json()),
        StatementError::Malformed { .. }
    ));
    let mut nested = compound.clone();
    nested.att_stmt = Value::Array(vec![
        entry(&packed),
        Value::Map(vec![
            (text("fmt"), text("compound")),
            (text("attStmt"), Value::Array(vec![])),
        ]),
    ]);
    assert!(matches!(
        stmt_err(&nested.credential_json()),
        StatementError::Malformed { .. }
    ));
}

// ---- trust, steps 23 and 24 -------------------------------------------------------------

fn trust_err(r: Result<VerifiedRegistration, WebauthnError>) -> TrustError {
    match r {
        Err(WebauthnError::Trust { error, .. }) => error,
        other => panic!("expected a trust error, got {other:?}"),
    }
}

#[test]
fn chains_are_judged_at_the_verification_time_against_the_anchors() {
    let root = attestation_root(50);
    let json = Authenticator::packed_x5c(alg::ES256, 51, &root).register(RP, ORIGIN, CHALLENGE);
    let anchors = anchors_of(&root);
    let p = Policy::default();
    // Another root: the chain leads to no configured anchor.
    let other = anchors_of(&certs::root_ca(
        "another root",
        SigningKey::generate(alg::ES256, 52),
    ));
    let err = trust_err(verify_with(&json, &rp(), &other, &p, NOW));
    assert_eq!(
        err,
        TrustError::NoAnchor {
            scope: "packed".into()
        }
    );
    assert_eq!(err.class(), ErrorClass::Untrusted);
    // A root with the right name but another key.
    let impostor = anchors_of(&attestation_root(52));
    assert!(matches!(
        trust_err(verify_with(&json, &rp(), &impostor, &p, NOW)),
        TrustError::BadSignature { index: 1, .. }
    ));
    // Before and after the certificates' validity (2020-01-01 .. 2049-12-31).
    assert!(matches!(
        trust_err(verify_with(
            &json,
            &rp(),
            &anchors,
            &p,
            UnixTime::from_secs(1_500_000_000)
        )),
        TrustError::CertNotYetValid { .. }
    ));
    assert!(matches!(
        trust_err(verify_with(
            &json,
            &rp(),
            &anchors,
            &p,
            UnixTime::from_secs(2_600_000_000)
        )),
        TrustError::CertExpired { .. }
    ));
    // Policy requiring trust refuses none, self and unanchored attestations.
    let strict = Policy {
        accept_untrusted: false,
        ..Policy::default()
    };
    assert!(matches!(
        verify_with(&json, &rp(), &TrustAnchors::new(), &strict, NOW),
        Err(WebauthnError::Untrusted { .. })
    ));
    let self_json = Authenticator::packed_self(alg::ES256, 53).register(RP, ORIGIN, CHALLENGE);
    assert!(matches!(
        verify_with(&self_json, &rp(), &anchors, &strict, NOW),
        Err(WebauthnError::Untrusted { .. })
    ));
    assert!(
        verify_with(&json, &rp(), &anchors, &strict, NOW)
            .unwrap()
            .trusted
    );
}

#[test]
fn tampered_intermediates_are_refused() {
    let root = attestation_root(60);
    let authn = Authenticator::packed_x5c(alg::ES256, 61, &root);
    let attested = ceremony(&authn).attest(&authn);
    let anchors = anchors_of(&root);
    let run =
        |json: &serde_json::Value| verify_with(json, &rp(), &anchors, &Policy::default(), NOW);
    // An intermediate that is not a CA.
    let not_ca = certs::issue(
        certs::params(&[
            (
                fidogate_testkit::rcgen::DnType::CommonName,
                "fidogate test attestation CA",
            ),
            (
                fidogate_testkit::rcgen::DnType::OrganizationName,
                "fidogate test",
            ),
        ]),
        SigningKey::generate(alg::ES256, 62),
        &root,
    );
    let json = with_statement(&attested, |m| {
        let Value::Array(c) = &mut m[2].1 else {
            panic!()
        };
        c[1] = Value::Bytes(not_ca.der.clone());
    });
    let err = trust_err(run(&json));
    assert!(
        matches!(
            err,
            TrustError::NotCa { index: 1 } | TrustError::BadSignature { index: 0, .. }
        ),
        "{err:?}"
    );
    // An intermediate with another name.
    let stranger =
        certs::intermediate_ca("someone else", SigningKey::generate(alg::ES256, 63), &root);
    let json = with_statement(&attested, |m| {
        let Value::Array(c) = &mut m[2].1 else {
            panic!()
        };
        c[1] = Value::Bytes(stranger.der.clone());
    });
    assert_eq!(
        trust_err(run(&json)),
        TrustError::IssuerMismatch { index: 0 }
    );
    // A same-named intermediate with another key: the leaf's signature fails.
    let impostor = certs::intermediate_ca(
        "fidogate test attestation CA",
        SigningKey::generate(alg::ES256, 64),
        &root,
    );
    let json = with_statement(&attested, |m| {
        let Value::Array(c) = &mut m[2].1 else {
            panic!()
        };
        c[1] = Value::Bytes(impostor.der.clone());
    });
    assert!(matches!(
        trust_err(run(&json)),
        TrustError::BadSignature { index: 0, .. }
    ));
    // Without the intermediate the chain stops short of the root.
    let json = with_statement(&attested, |m| {
        let Value::Array(c) = &mut m[2].1 else {
            panic!()
        };
        c.truncate(1);
    });
    assert!(matches!(trust_err(run(&json)), TrustError::NoAnchor { .. }));
}

#[test]
fn a_warm_signature_cache_decides_as_a_cold_one() {
    let root = attestation_root(70);
    let authn = Authenticator::packed_x5c(alg::ES256, 71, &root);
    let attested = ceremony(&authn).attest(&authn);
    let json = attested.credential_json();
    let anchors = anchors_of(&root);
    let cache = anchors.signature_cache().unwrap();
    let p = Policy::default();
    let run = |json: &serde_json::Value, at: UnixTime| verify_with(json, &rp(), &anchors, &p, at);
    // A chain that reaches no anchor of the set records nothing.
    let stranger_root = attestation_root(72);
    let stranger = Authenticator::packed_x5c(alg::ES256, 73, &stranger_root);
    assert!(matches!(
        trust_err(run(&stranger.register(RP, ORIGIN, CHALLENGE), NOW)),
        TrustError::BadSignature { index: 1, .. }
    ));
    assert!(cache.is_empty());
    // The genuine chain: the leaf's and the intermediate's signatures are
    // recorded once, and the clones of the set share them.
    assert!(run(&json, NOW).unwrap().trusted);
    assert_eq!(cache.len(), 2);
    assert!(run(&json, NOW).unwrap().trusted);
    assert_eq!(cache.len(), 2);
    assert_eq!(anchors.clone().signature_cache().unwrap().len(), 2);
    // Warm, every refusal is the cold one: the validity periods are
    // judged at each verification's instant...
    assert!(matches!(
        trust_err(run(&json, UnixTime::from_secs(1_500_000_000))),
        TrustError::CertNotYetValid { .. }
    ));
    assert!(matches!(
        trust_err(run(&json, UnixTime::from_secs(2_600_000_000))),
        TrustError::CertExpired { .. }
    ));
    // ...a same-named intermediate with another key does not borrow the
    // genuine one's record...
    let impostor = certs::intermediate_ca(
        "fidogate test attestation CA",
        SigningKey::generate(alg::ES256, 74),
        &root,
    );
    let swap = |cert: &Issued| {
        with_statement(&attested, |m| {
            let Value::Array(c) = &mut m[2].1 else {
                panic!()
            };
            c[1] = Value::Bytes(cert.der.clone());
        })
    };
    assert!(matches!(
        trust_err(run(&swap(&impostor), NOW)),
        TrustError::BadSignature { index: 0, .. }
    ));
    // ...nor does an intermediate of another name or one cut off.
    let other_name =
        certs::intermediate_ca("someone else", SigningKey::generate(alg::ES256, 75), &root);
    assert_eq!(
        trust_err(run(&swap(&other_name), NOW)),
        TrustError::IssuerMismatch { index: 0 }
    );
    let cut = with_statement(&attested, |m| {
        let Value::Array(c) = &mut m[2].1 else {
            panic!()
        };
        c.truncate(1);
    });
    assert!(matches!(
        trust_err(run(&cut, NOW)),
        TrustError::NoAnchor { .. }
    ));
    // The record names the issuer's bytes: the same chain walked with the
    // same cache to a root of the same name with another key is checked,
    // and refused.
    let Value::Map(stmt) = &attested.att_stmt else {
        panic!()
    };
    let Value::Array(x5c) = &stmt[2].1 else {
        panic!()
    };
    let ders: Vec<Vec<u8>> = x5c.iter().map(|c| c.as_bytes().unwrap().clone()).collect();
    let chain: Vec<Cert<'_>> = ders
        .iter()
        .enumerate()
        .map(|(i, d)| Cert::parse(d, i).unwrap())
        .collect();
    let genuine = TrustAnchor::from_der(root.der.clone(), "root").unwrap();
    let impostor_root = TrustAnchor::from_der(attestation_root(76).der, "impostor").unwrap();
    assert!(verify_chain_cached(&chain, &[&genuine], NOW, "packed", Some(cache)).is_ok());
    assert!(matches!(
        verify_chain_cached(&chain, &[&impostor_root], NOW, "packed", Some(cache)),
        Err(TrustError::BadSignature { index: 1, .. })
    ));
    assert_eq!(cache.len(), 2);
    // Without the cache the set records nothing and decides the same.
    let cold = anchors_of(&root).without_signature_cache();
    assert!(cold.signature_cache().is_none());
    assert!(verify_with(&json, &rp(), &cold, &p, NOW).unwrap().trusted);
}
