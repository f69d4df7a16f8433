#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]
//! Key credentials (the wallet API's Key kinds) made by the software client.

use fidogate_core::ErrorClass;
use fidogate_core::keycred::{KeyCredentialError, verify_key_credential};
use fidogate_testkit::keycred::{KeyCeremony, KeyClient};
use fidogate_testkit::keys::alg;
use serde_json::Value;

const ORIGIN: &str = "https://wallet.example";
const CHALLENGE: &[u8] = b"a challenge of thirty-two bytes!";

fn run(
    client: &KeyClient,
    c: &KeyCeremony,
) -> Result<fidogate_core::keycred::VerifiedKeyCredential, KeyCredentialError> {
    let info = client.credential_info(c);
    let s = |k: &str| info[k].as_str().unwrap().to_owned();
    verify_key_credential(
        &s("credId"),
        &s("clientData"),
        &s("attestationData"),
        CHALLENGE,
        &[ORIGIN.to_owned()],
    )
}

#[test]
fn every_key_type_registers() {
    for (a, name) in [
        (alg::ES256, "ES256"),
        (alg::ES384, "ES384"),
        (alg::RS256, "RS256"),
        (alg::EDDSA, "EdDSA"),
    ] {
        let client = KeyClient::new(a, 3);
        let v = run(&client, &KeyCeremony::new(CHALLENGE, ORIGIN))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(v.alg, name);
        assert_eq!(v.credential_id, client.credential_id);
        assert!(v.public_key_pem.starts_with("-----BEGIN PUBLIC KEY-----"));
    }
}

#[test]
fn algorithm_field_is_checked_against_the_key() {
    let client = KeyClient::new(alg::ES256, 4);
    let mut c = KeyCeremony::new(CHALLENGE, ORIGIN);
    c.algorithm = Some("SHA256".into());
    assert!(run(&client, &c).is_ok());
    c.algorithm = Some("SHA512".into());
    assert!(matches!(
        run(&client, &c),
        Err(KeyCredentialError::Algorithm(_))
    ));
    c.algorithm = Some("MD5".into());
    let e = run(&client, &c).unwrap_err();
    assert_eq!(e.class(), ErrorClass::Policy);
}

#[test]
fn each_check_fails_on_its_defect() {
    let client = KeyClient::new(alg::ES256, 5);
    let base = KeyCeremony::new(CHALLENGE, ORIGIN);

    let mut c = base.clone();
    c.ty = "webauthn.create".into();
    assert!(matches!(run(&client, &c), Err(KeyCredentialError::Type(_))));

    let mut c = base.clone();
    c.challenge = fidogate_testkit::b64u(b"another challenge entirely......");
    let e = run(&client, &c).unwrap_err();
    assert_eq!(
        (e.clone(), e.class()),
        (KeyCredentialError::Challenge, ErrorClass::Replay)
    );

    let mut c = base.clone();
    c.origin = "https://evil.example".into();
    assert!(matches!(
        run(&client, &c),
        Err(KeyCredentialError::Origin(_))
    ));

    let mut c = base.clone();
    c.corrupt_signature = true;
    let e = run(&client, &c).unwrap_err();
    assert_eq!(e.class(), ErrorClass::Signature);

    // The signature covers a different public key than the one posted.
    let mut c = base.clone();
    c.sign_other_key = Some(fidogate_testkit::keycred::spki_pem(
        &KeyClient::new(alg::ES256, 6).key,
    ));
    assert!(matches!(
        run(&client, &c),
        Err(KeyCredentialError::Signature(_))
    ));
}

#[test]
fn broken_documents_are_refused_with_their_field() {
    let client = KeyClient::new(alg::ES256, 7);
    let info = client.credential_info(&KeyCeremony::new(CHALLENGE, ORIGIN));
    let s = |k: &str| info[k].as_str().unwrap().to_owned();
    let origins = [ORIGIN.to_owned()];
    let check =
        |id: &str, cd: &str, ad: &str| verify_key_credential(id, cd, ad, CHALLENGE, &origins);
    assert!(matches!(
        check("", &s("clientData"), &s("attestationData")),
        Err(KeyCredentialError::Encoding {
            field: "credId",
            ..
        })
    ));
    assert!(matches!(
        check(&s("credId"), "!!", &s("attestationData")),
        Err(KeyCredentialError::Encoding {
            field: "clientData",
            ..
        })
    ));
    // Every truncation of each document is refused, never a panic.
    for field in ["clientData", "attestationData"] {
        let raw = fidogate_core::b64::decode(&s(field)).unwrap();
        for cut in 0..raw.len() {
            let cut_b64 = fidogate_testkit::b64u(&raw[..cut]);
            let (cd, ad) = if field == "clientData" {
                (cut_b64, s("attestationData"))
            } else {
                (s("clientData"), cut_b64)
            };
            assert!(
                check(&s("credId"), &cd, &ad).is_err(),
                "{field} cut at {cut}"
            );
        }
    }
    // A private key, a certificate, or two blocks instead of one public key.
    let att: Value =
        serde_json::from_slice(&fidogate_core::b64::decode(&s("attestationData")).unwrap())
            .unwrap();
    for pem in [
        att["publicKey"]
            .as_str()
            .unwrap()
            .replace("PUBLIC KEY", "PRIVATE KEY"),
        format!("{0}{0}", att["publicKey"].as_str().unwrap()),
        "not pem".to_owned(),
    ] {
        let mut a = att.clone();
        a["publicKey"] = Value::String(pem);
        let ad = fidogate_testkit::b64u(a.to_string().as_bytes());
        assert!(matches!(
            check(&s("credId"), &s("clientData"), &ad),
            Err(KeyCredentialError::PublicKey(_))
        ));
    }
}
