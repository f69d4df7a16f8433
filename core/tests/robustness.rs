//! Random mutations of real and generated registrations: whatever the
//! bytes, verification returns a result and never panics.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

use fidogate_core::trust::TrustAnchors;
use fidogate_core::webauthn::{Policy, RegistrationCredential, RelyingParty, verify_registration};
use fidogate_core::{UnixTime, b64};
use fidogate_testkit::keys::alg;
use fidogate_testkit::webauthn::{Authenticator, attestation_root};

/// xorshift64*: a fixed sequence, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, bytes: &[u8]) -> Vec<u8> {
    let mut v = bytes.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(v.len());
        match rng.below(5) {
            0 if !v.is_empty() => v[at] ^= 1 << rng.below(8),
            1 if !v.is_empty() => v[at] = rng.next() as u8,
            2 => v.insert(at, rng.next() as u8),
            3 if !v.is_empty() => {
                v.remove(at);
            }
            _ => {
                // Duplicate a run: lengths and nesting go out of step.
                let len = rng.below(16).min(v.len() - at.min(v.len()));
                let run: Vec<u8> = v[at..at + len].to_vec();
                v.splice(at..at, run);
            }
        }
    }
    v
}

fn samples() -> Vec<(RelyingParty, Vec<u8>, RegistrationCredential)> {
    let mut out = Vec::new();
    if let Some(dir) = fidogate_testkit::vectors::dir() {
        for v in fidogate_testkit::vectors::webauthn(&dir) {
            out.push((
                RelyingParty::new(v.rp_id(), v.origin()),
                b64::decode(v.challenge_b64url()).unwrap(),
                RegistrationCredential::from_value(v.credential()).unwrap(),
            ));
        }
    }
    let challenge = b"0123456789abcdef0123456789abcdef".to_vec();
    let root = attestation_root(1);
    for authn in [
        Authenticator::none(alg::ES256, 1),
        Authenticator::packed_self(alg::EDDSA, 2),
        Authenticator::packed_x5c(alg::ES256, 3, &root),
        Authenticator::fido_u2f(4, &root),
    ] {
        let json = authn.register("example.com", "https://example.com", &challenge);
        out.push((
            RelyingParty::new("example.com", "https://example.com"),
            challenge.clone(),
            RegistrationCredential::from_value(&json).unwrap(),
        ));
    }
    out
}

#[test]
fn mutated_registrations_never_panic() {
    let mut rng = Rng(0x5eed_f1d0_6a7e);
    let (anchors, policy, time) = (
        TrustAnchors::new(),
        Policy::default(),
        UnixTime::from_secs(1_700_000_000),
    );
    let mut rejected = 0usize;
    let mut total = 0usize;
    for (rp, challenge, good) in samples() {
        for i in 0..400 {
            let mut c = good.clone();
            if i % 4 == 0 {
                c.client_data_json = mutate(&mut rng, &c.client_data_json);
            } else {
                c.attestation_object = mutate(&mut rng, &c.attestation_object);
            }
            total += 1;
            if verify_registration(&c, &challenge, &rp, &anchors, &policy, time).is_err() {
                rejected += 1;
            }
        }
    }
    // Most mutations break a signature or a structure; some only touch
    // bytes no check covers (an unanchored certificate's body), which is fine.
    assert!(
        rejected * 10 > total * 8,
        "only {rejected} of {total} mutations rejected"
    );
}

#[test]
fn mutated_credential_json_never_panics() {
    let mut rng = Rng(0xdead_beef);
    let json = Authenticator::none(alg::ES256, 9)
        .register("example.com", "https://example.com", b"c")
        .to_string();
    for _ in 0..3000 {
        let bytes = mutate(&mut rng, json.as_bytes());
        let _ = RegistrationCredential::from_json(&bytes);
    }
}

#[test]
fn mutated_uaf_assertions_never_panic() {
    use fidogate_core::uaf::{RegistrationPolicy, verify_assertion};
    use fidogate_testkit::uaf::{UafAttestationKind, UafAuthenticator};
    let mut samples: Vec<Vec<u8>> = Vec::new();
    if let Some(dir) = fidogate_testkit::vectors::dir() {
        for (_, v) in fidogate_testkit::vectors::uaf(&dir) {
            let a = if v["assertion_only"] == true {
                &v["assertion"]
            } else {
                &v["registration_response"][0]["assertions"][0]
            };
            samples.push(b64::decode(a["assertion"].as_str().unwrap()).unwrap());
        }
    }
    let surrogate = UafAuthenticator::new(
        "FFFF#0001",
        alg::ES256,
        5,
        UafAttestationKind::BasicSurrogate,
    );
    samples.push(surrogate.assertion(&[0; 32], &[], false));
    let mut rng = Rng(0xfeed_0123);
    let (anchors, policy, time) = (
        TrustAnchors::new(),
        RegistrationPolicy::any(),
        UnixTime::from_secs(1_700_000_000),
    );
    let (mut total, mut rejected) = (0usize, 0usize);
    for bytes in &samples {
        assert!(verify_assertion(bytes, None, &policy, &anchors, time, false).is_ok());
        for _ in 0..600 {
            total += 1;
            if verify_assertion(
                &mutate(&mut rng, bytes),
                None,
                &policy,
                &anchors,
                time,
                false,
            )
            .is_err()
            {
                rejected += 1;
            }
        }
    }
    assert!(
        rejected * 10 > total * 8,
        "only {rejected} of {total} mutations rejected"
    );
}
