//! The shared real registration captures, through the library: every
//! vector gives its `expect.ok`, positives their fmt, alg, AAGUID and
//! credential data; every truncation and trailing byte is refused, and so is
//! every tampered byte of signed authenticator data.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

use fidogate_core::trust::{TrustAnchor, TrustAnchors};
use fidogate_core::webauthn::{
    Format, Policy, RegistrationCredential, RelyingParty, VerifiedRegistration, WebauthnError,
    verify_registration,
};
use fidogate_core::{UnixTime, b64};
use fidogate_testkit::vectors::{self, WebauthnVector};
use std::path::Path;

struct Setup {
    rp: RelyingParty,
    challenge: Vec<u8>,
    anchors: TrustAnchors,
    policy: Policy,
    time: UnixTime,
}

fn setup(v: &WebauthnVector, dir: &Path) -> Setup {
    let mut anchors = TrustAnchors::new();
    for path in v.trust_anchors(dir) {
        for a in TrustAnchor::from_pem(&std::fs::read(&path).unwrap(), &path.display().to_string())
            .unwrap()
        {
            anchors.add_global(a);
        }
    }
    let time = match v.verification_time() {
        Some(t) => UnixTime::from_secs(
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                .unwrap()
                .unix_timestamp(),
        ),
        // The vectors without a fixed time are checked as of the day this
        // suite was written; none of them has anchors, so no validity
        // period is judged.
        None => UnixTime::from_secs(1_795_000_000),
    };
    Setup {
        rp: RelyingParty::new(v.rp_id(), v.origin()),
        challenge: b64::decode(v.challenge_b64url()).unwrap(),
        anchors,
        // The CLI's offline policy: SafetyNet timestamps of old captures are
        // not judged against the verification time (see the README).
        policy: Policy {
            safetynet_timestamp_skew: None,
            ..Policy::default()
        },
        time,
    }
}

fn run(
    s: &Setup,
    credential: &RegistrationCredential,
) -> Result<VerifiedRegistration, WebauthnError> {
    verify_registration(
        credential,
        &s.challenge,
        &s.rp,
        &s.anchors,
        &s.policy,
        s.time,
    )
}

#[test]
fn every_vector_gives_its_expected_result() {
    let Some(dir) = vectors::dir() else { return };
    let all = vectors::webauthn(&dir);
    for v in &all {
        let s = setup(v, &dir);
        let credential = RegistrationCredential::from_value(v.credential()).unwrap();
        let result = run(&s, &credential);
        let e = v.expect();
        assert_eq!(result.is_ok(), v.ok(), "{}: {result:?}", v.name);
        match result {
            Ok(reg) => {
                assert_eq!(reg.fmt.id(), e["fmt"].as_str().unwrap(), "{}", v.name);
                assert_eq!(reg.alg, e["alg"].as_i64().unwrap(), "{}", v.name);
                if let Some(aaguid) = e["aaguid"].as_str() {
                    assert_eq!(reg.aaguid_string(), aaguid, "{}", v.name);
                }
                if let Some(id) = e["credential_id"].as_str() {
                    assert_eq!(b64::encode(&reg.credential_id), id, "{}", v.name);
                }
                if let Some(pk) = e["credential_public_key"].as_str() {
                    assert_eq!(b64::encode(&reg.public_key), pk, "{}", v.name);
                }
                if let Some(n) = e["sign_count"].as_u64() {
                    assert_eq!(u64::from(reg.sign_count), n, "{}", v.name);
                }
                if let Some(t) = e["attestation_type"].as_str() {
                    assert_eq!(reg.attestation_type.as_str(), t, "{}", v.name);
                }
                // A vector verified against anchors is trusted.
                assert_eq!(
                    reg.trusted,
                    !v.trust_anchors(&dir).is_empty() && reg.fmt != Format::None,
                    "{}",
                    v.name
                );
            }
            Err(err) => eprintln!("{}: rejected as expected: [{}] {err}", v.name, err.class()),
        }
    }
    eprintln!("{} shared WebAuthn vectors checked", all.len());
}

#[test]
fn every_truncation_and_trailing_byte_is_refused() {
    let Some(dir) = vectors::dir() else { return };
    for v in vectors::webauthn(&dir).iter().filter(|v| v.ok()) {
        let s = setup(v, &dir);
        let good = RegistrationCredential::from_value(v.credential()).unwrap();
        for field in ["attestationObject", "clientDataJSON"] {
            let bytes = if field == "attestationObject" {
                &good.attestation_object
            } else {
                &good.client_data_json
            };
            let mut with_trailing = bytes.clone();
            with_trailing.push(0);
            let cases = (0..bytes.len())
                .map(|n| bytes[..n].to_vec())
                .chain(std::iter::once(with_trailing));
            for (n, bad) in cases.enumerate() {
                let mut c = good.clone();
                if field == "attestationObject" {
                    c.attestation_object = bad;
                } else {
                    c.client_data_json = bad;
                }
                assert!(
                    run(&s, &c).is_err(),
                    "{}: {field} cut to {n} bytes (or with a trailing byte) accepted",
                    v.name
                );
            }
        }
    }
}

#[test]
fn every_tampered_authenticator_data_byte_is_refused() {
    use ciborium::value::Value;
    let Some(dir) = vectors::dir() else { return };
    for v in vectors::webauthn(&dir).iter().filter(|v| v.ok()) {
        let s = setup(v, &dir);
        let good = RegistrationCredential::from_value(v.credential()).unwrap();
        let object: Value = ciborium::de::from_reader(good.attestation_object.as_slice()).unwrap();
        let Value::Map(entries) = &object else {
            panic!()
        };
        let fmt = entries
            .iter()
            .find(|(k, _)| k.as_text() == Some("fmt"))
            .unwrap()
            .1
            .as_text()
            .unwrap();
        if fmt == "none" {
            // Nothing signs the authenticator data of a `none` registration.
            continue;
        }
        let auth_data = entries
            .iter()
            .find(|(k, _)| k.as_text() == Some("authData"))
            .unwrap()
            .1
            .as_bytes()
            .unwrap();
        for i in 0..auth_data.len() {
            // The U2F signature covers rpIdHash, the credential ID and key,
            // not the signature counter (authData bytes 33 to 36).
            if fmt == "fido-u2f" && (33..37).contains(&i) {
                continue;
            }
            let mut tampered = auth_data.clone();
            tampered[i] ^= 0x01;
            let entries: Vec<_> = entries
                .iter()
                .map(|(k, val)| {
                    (
                        k.clone(),
                        if k.as_text() == Some("authData") {
                            Value::Bytes(tampered.clone())
                        } else {
                            val.clone()
                        },
                    )
                })
                .collect();
            let mut c = good.clone();
            c.attestation_object.clear();
            ciborium::ser::into_writer(&Value::Map(entries), &mut c.attestation_object).unwrap();
            assert!(
                run(&s, &c).is_err(),
                "{}: authData byte {i} flipped and accepted",
                v.name
            );
        }
    }
}
