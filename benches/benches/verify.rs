#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    reason = "bench fixtures: generated inputs, failures abort the run"
)]
//! Verification cost per attestation kind, beside its bound: the bare
//! signature verifications the registration needs (attestation signature
//! and certificate chain), through the same crypto seam, on inputs parsed
//! beforehand. Fixed generated registrations, fixed verification time.
//!
//! `cargo bench -p fidogate-bench --bench verify` (pure-Rust backend);
//! add `--features aws-lc` for aws-lc-rs. Each kind has a `verify` and a
//! `bound` entry under `<backend>/<kind>/`; the ratio verify / bound is
//! what the results page reports.

use ciborium::value::Value;
use criterion::{Criterion, black_box, criterion_group, criterion_main};
use fidogate_core::UnixTime;
use fidogate_core::crypto::{self, Curve, Hash, PublicKey, SignatureScheme, sha256};
use fidogate_core::keycred::verify_key_credential;
use fidogate_core::trust::{Cert, TrustAnchor, TrustAnchors, cert_signature_scheme};
use fidogate_core::uaf::{
    RegistrationPolicy, ServerDataCheck, UafExpectations, verify_registration_response,
};
use fidogate_core::webauthn::{
    CoseKey, Policy, RegistrationCredential, RelyingParty, verify_registration,
};
use fidogate_testkit::certs::{self, Issued};
use fidogate_testkit::formats::{AndroidKey, AndroidKeyOptions, Apple, Tpm, TpmCertOptions};
use fidogate_testkit::keycred::{KeyCeremony, KeyClient};
use fidogate_testkit::keys::{SigningKey, alg};
use fidogate_testkit::uaf::{UafAttestationKind, UafAuthenticator, UafCeremony};
use fidogate_testkit::webauthn::{Attestation, Authenticator, SOFT_AAGUID, attestation_root};
use std::sync::Arc;
use std::time::Duration;

const RP: &str = "example.com";
const ORIGIN: &str = "https://example.com";
const CHALLENGE: &[u8] = b"0123456789abcdef0123456789abcdef";
const NOW: UnixTime = UnixTime::from_secs(1_748_736_000);
const APP_ID: &str = "https://example.com/uaf/facets";
const FACET: &str = "https://example.com";
const AAID: &str = "FFFF#0001";

/// One signature check of a registration's bound.
struct Check {
    key: PublicKey,
    scheme: SignatureScheme,
    message: Vec<u8>,
    signature: Vec<u8>,
}

impl Check {
    fn run(&self) -> bool {
        crypto::verify(&self.key, self.scheme, &self.message, &self.signature).is_ok()
    }
}

/// The certificate signatures of `chain` (leaf first), the last one
/// checked with `root`'s key. As `trust::verify_chain` does, the walk ends
/// at a certificate that is the anchor itself: its self-signature is not
/// checked.
fn chain_checks(chain: &[Vec<u8>], root: &Issued) -> Vec<Check> {
    let end = chain
        .iter()
        .position(|c| *c == root.der)
        .unwrap_or(chain.len());
    let chain = &chain[..end];
    let root_cert = Cert::parse(&root.der, 0).unwrap();
    let mut keys: Vec<PublicKey> = chain
        .iter()
        .enumerate()
        .skip(1)
        .map(|(i, der)| Cert::parse(der, i).unwrap().public_key().unwrap())
        .collect();
    keys.push(root_cert.public_key().unwrap());
    chain
        .iter()
        .zip(keys)
        .enumerate()
        .map(|(i, (der, issuer))| {
            let cert = Cert::parse(der, i).unwrap();
            let x = cert.x509();
            Check {
                key: issuer,
                scheme: cert_signature_scheme(&x.signature_algorithm).unwrap(),
                message: x.tbs_certificate.as_ref().to_vec(),
                signature: x.signature_value.data.to_vec(),
            }
        })
        .collect()
}

fn text_key(map: &[(Value, Value)], key: &str) -> Option<Value> {
    map.iter()
        .find(|(k, _)| k.as_text() == Some(key))
        .map(|(_, v)| v.clone())
}

fn bytes(v: &Value) -> Vec<u8> {
    v.as_bytes().unwrap().clone()
}

fn leaf_key(der: &[u8]) -> PublicKey {
    Cert::parse(der, 0).unwrap().public_key().unwrap()
}

/// The scheme of the statement's `alg`.
fn stmt_scheme(stmt: &[(Value, Value)]) -> SignatureScheme {
    let alg = text_key(stmt, "alg").unwrap().as_integer().unwrap();
    fidogate_core::webauthn::CoseAlgorithm::from_id(alg.try_into().unwrap())
        .unwrap()
        .scheme()
}

/// The bound of a WebAuthn registration, read from its attestation object.
/// Also says whether the statement carries a certificate chain, and how
/// many of the bound's checks are its links below the root (the last
/// ones; a root the statement carries, as TPM's does, is the anchor, not
/// a link).
fn webauthn_bound(credential: &serde_json::Value, root: &Issued) -> (Vec<Check>, bool, usize) {
    let c = RegistrationCredential::from_value(credential).unwrap();
    let att: Value = ciborium::from_reader(c.attestation_object.as_slice()).unwrap();
    let map = att.as_map().unwrap();
    let fmt = text_key(map, "fmt").unwrap().as_text().unwrap().to_owned();
    let stmt = text_key(map, "attStmt").unwrap();
    let stmt = stmt.as_map().unwrap();
    let auth_data = bytes(&text_key(map, "authData").unwrap());
    let cdh = sha256(&c.client_data_json);
    let signed = [auth_data.as_slice(), &cdh].concat();
    let x5c: Vec<Vec<u8>> = text_key(stmt, "x5c")
        .map(|v| v.as_array().unwrap().iter().map(bytes).collect())
        .unwrap_or_default();
    // The credential public key: after rpIdHash(32) flags(1) count(4)
    // aaguid(16) idLen(2) id.
    let id_len = usize::from(u16::from_be_bytes([auth_data[53], auth_data[54]]));
    let cose: Value = ciborium::from_reader(&auth_data[55 + id_len..]).unwrap();
    let cred_key = CoseKey::from_value(&cose).unwrap();
    let mut checks = Vec::new();
    match fmt.as_str() {
        "none" | "apple" => {}
        "packed" if x5c.is_empty() => checks.push(Check {
            key: cred_key.key.clone(),
            scheme: cred_key.alg.scheme(),
            message: signed,
            signature: bytes(&text_key(stmt, "sig").unwrap()),
        }),
        "packed" | "android-key" => checks.push(Check {
            key: leaf_key(&x5c[0]),
            scheme: stmt_scheme(stmt),
            message: signed,
            signature: bytes(&text_key(stmt, "sig").unwrap()),
        }),
        "tpm" => checks.push(Check {
            key: leaf_key(&x5c[0]),
            scheme: stmt_scheme(stmt),
            message: bytes(&text_key(stmt, "certInfo").unwrap()),
            signature: bytes(&text_key(stmt, "sig").unwrap()),
        }),
        "fido-u2f" => {
            let PublicKey::Ec { point, .. } = &cred_key.key else {
                panic!("U2F keys are P-256")
            };
            let message = [
                &[0u8][..],
                &auth_data[..32],
                &cdh,
                &auth_data[55..55 + id_len],
                point,
            ]
            .concat();
            checks.push(Check {
                key: leaf_key(&x5c[0]),
                scheme: SignatureScheme::EcdsaDer(Hash::Sha256),
                message,
                signature: bytes(&text_key(stmt, "sig").unwrap()),
            });
        }
        other => panic!("no bound for {other}"),
    }
    let links = chain_checks(&x5c, root);
    let link_count = links.len();
    checks.extend(links);
    (checks, !x5c.is_empty(), link_count)
}

/// A peer's verification: its error, named, when it refuses.
type PeerVerify = Box<dyn Fn() -> Result<(), String>>;

struct Case {
    name: &'static str,
    /// Verification of a chain never seen: every certificate signature
    /// checked (the anchors have no signature cache).
    verify: Box<dyn Fn() -> bool>,
    bound: Vec<Check>,
    /// For a chained registration: the same registration verified with
    /// the anchors' signature cache holding its chain (as for every
    /// registration of an authenticator model after the first), and how
    /// many of `bound`'s checks are left then (the statement's own
    /// signature, the first ones; the chain's follow).
    seen: Option<(Box<dyn Fn() -> bool>, usize)>,
    /// The same registration verified by webauthn-rs-core, where it
    /// supports the format.
    peer: Option<PeerVerify>,
}

/// webauthn-rs-core set up as an RP that trusts `root` for any device
/// (as fidogate's global anchor does) when the statement has a chain
/// (`chained`), and with no CA list for none and self attestation (it
/// refuses those when given one), expecting [`CHALLENGE`]. Its state
/// is made through its own API, then given the bench's fixed challenge
/// through its serialised form, so both verifiers see the same bytes.
fn peer_verifier(root: &Issued, chained: bool, body: &str) -> PeerVerify {
    use webauthn_rs_core::WebauthnCore;
    use webauthn_rs_core::proto::{
        AttestationCaList, AttestationConveyancePreference, RegisterPublicKeyCredential,
        RegistrationState,
    };
    let core = WebauthnCore::new_unsafe_experts_only(
        "fidogate bench",
        RP,
        vec![ORIGIN.parse().unwrap()],
        Duration::from_secs(60),
        None,
        None,
    );
    let builder = core
        .new_challenge_register_builder(b"bench-user-id", "bench", "Bench")
        .unwrap()
        .attestation(AttestationConveyancePreference::Direct);
    let (_, state) = core.generate_challenge_register(builder).unwrap();
    let mut state = serde_json::to_value(&state).unwrap();
    state["challenge"] = fidogate_testkit::b64u(CHALLENGE).into();
    let state: RegistrationState = serde_json::from_value(state).unwrap();
    let cas = chained.then(|| AttestationCaList::try_from(root.pem().as_bytes()).unwrap());
    let body = body.to_owned();
    Box::new(move || {
        let reg: RegisterPublicKeyCredential = serde_json::from_str(&body).unwrap();
        core.register_credential(&reg, &state, cas.as_ref())
            .map(drop)
            .map_err(|e| format!("{e:?}"))
    })
}

fn webauthn_case(name: &'static str, authn: Authenticator, root: &Issued) -> Case {
    let json = authn.register(RP, ORIGIN, CHALLENGE);
    let (bound, chained, chain_len) = webauthn_bound(&json, root);
    let mut anchors = TrustAnchors::new();
    anchors.add_global(TrustAnchor::from_der(root.der.clone(), "root").unwrap());
    // Parsing the JSON is part of the work the gateway does per request.
    let body = json.to_string();
    let peer = peer_verifier(root, chained, &body);
    let verifier = |anchors: TrustAnchors| -> Box<dyn Fn() -> bool> {
        let (rp, policy, body) = (
            RelyingParty::new(RP, ORIGIN),
            Policy::default(),
            body.clone(),
        );
        Box::new(move || {
            let c = RegistrationCredential::from_json(body.as_bytes()).unwrap();
            verify_registration(&c, CHALLENGE, &rp, &anchors, &policy, NOW).is_ok()
        })
    };
    Case {
        name,
        verify: verifier(anchors.clone().without_signature_cache()),
        seen: chained.then(|| (verifier(anchors), bound.len() - chain_len)),
        bound,
        peer: Some(peer),
    }
}

fn cases() -> Vec<Case> {
    let root = attestation_root(900);
    let ca = |seed| {
        Arc::new(certs::intermediate_ca(
            "fidogate bench CA",
            SigningKey::generate(alg::ES256, seed),
            &root,
        ))
    };
    let tpm = Tpm::new(301, &root, &TpmCertOptions::default(), SOFT_AAGUID);
    let mut out = vec![
        webauthn_case("none", Authenticator::none(alg::ES256, 1), &root),
        webauthn_case(
            "packed-self-es256",
            Authenticator::packed_self(alg::ES256, 2),
            &root,
        ),
        webauthn_case(
            "packed-x5c-es256",
            Authenticator::packed_x5c(alg::ES256, 3, &root),
            &root,
        ),
        webauthn_case("fido-u2f", Authenticator::fido_u2f(4, &root), &root),
        webauthn_case(
            "tpm-rs256",
            Authenticator::new(alg::RS256, 300, Attestation::Tpm(tpm)),
            &root,
        ),
        webauthn_case(
            "android-key",
            Authenticator::new(
                alg::ES256,
                5,
                Attestation::AndroidKey(AndroidKey {
                    ca: ca(6),
                    options: AndroidKeyOptions::default(),
                }),
            ),
            &root,
        ),
        webauthn_case(
            "apple",
            Authenticator::new(
                alg::ES256,
                7,
                Attestation::Apple(Apple {
                    ca: ca(8),
                    nonce: None,
                    certified_key: None,
                }),
            ),
            &root,
        ),
    ];

    // UAF Basic Full: the KRD signature with the attestation key, and its chain.
    let att_key = SigningKey::generate(alg::ES256, 11);
    let leaf = certs::issue(
        certs::params(&[(
            fidogate_testkit::rcgen::DnType::CommonName,
            "fidogate bench UAF",
        )]),
        att_key.clone(),
        &root,
    );
    let uaf = UafAuthenticator::new(
        AAID,
        alg::ES256,
        10,
        UafAttestationKind::BasicFull {
            key: att_key.clone(),
            certs: vec![leaf.der.clone()],
        },
    );
    let challenge = fidogate_testkit::b64u(CHALLENGE);
    let ceremony = UafCeremony::new(APP_ID, &challenge, FACET, "server-data");
    let body = uaf.register(&ceremony).to_string();
    let fc_hash = sha256(ceremony.fc_params().as_bytes());
    let krd = uaf.krd(&fc_hash, &[]);
    let mut bound = vec![Check {
        key: leaf_key(&leaf.der),
        scheme: SignatureScheme::EcdsaFixed(Hash::Sha256),
        signature: att_key.sign_fixed(&krd),
        message: krd,
    }];
    bound.extend(chain_checks(std::slice::from_ref(&leaf.der), &root));
    let mut anchors = TrustAnchors::new();
    anchors.add_scoped(
        AAID,
        TrustAnchor::from_der(root.der.clone(), "root").unwrap(),
    );
    let expected = UafExpectations {
        app_id: APP_ID.to_owned(),
        challenge,
        trusted_facets: vec![],
        policy: RegistrationPolicy::any(),
        require_trusted: true,
    };
    let verifier = |anchors: TrustAnchors| -> Box<dyn Fn() -> bool> {
        let (expected, body) = (expected.clone(), body.clone());
        Box::new(move || {
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            verify_registration_response(&v, &expected, ServerDataCheck::Skip, &anchors, NOW)
                .is_ok()
        })
    };
    out.push(Case {
        name: "uaf-basic-full",
        verify: verifier(anchors.clone().without_signature_cache()),
        // The KRD's signature is left; the leaf's by the root is cached.
        seen: Some((verifier(anchors), 1)),
        bound,
        peer: None,
    });

    // A key credential (P-256): one signature.
    let client = KeyClient::new(alg::ES256, 12);
    let info = client.credential_info(&KeyCeremony::new(CHALLENGE, ORIGIN));
    let field = |k: &str| info[k].as_str().unwrap().to_owned();
    let (id, cd, ad) = (
        field("credId"),
        field("clientData"),
        field("attestationData"),
    );
    let cd_bytes = fidogate_core::b64::decode(&cd).unwrap();
    let att: serde_json::Value =
        serde_json::from_slice(&fidogate_core::b64::decode(&ad).unwrap()).unwrap();
    let pem = att["publicKey"].as_str().unwrap();
    let signature = hex::decode(att["signature"].as_str().unwrap()).unwrap();
    let point = client.key.ec_point();
    let key = PublicKey::ec(Curve::P256, &point[1..33], &point[33..]).unwrap();
    let origins = vec![ORIGIN.to_owned()];
    out.push(Case {
        name: "key-credential-es256",
        verify: Box::new(move || verify_key_credential(&id, &cd, &ad, CHALLENGE, &origins).is_ok()),
        seen: None,
        bound: vec![Check {
            key,
            scheme: SignatureScheme::EcdsaDer(Hash::Sha256),
            message: fidogate_core::keycred::signed_payload(&cd_bytes, pem).into_bytes(),
            signature,
        }],
        peer: None,
    });
    out
}

fn bench(c: &mut Criterion) {
    let backend = crypto::BACKEND;
    for case in cases() {
        // Every input must verify, and every bound check must pass, or the
        // numbers would measure an early failure.
        assert!(
            (case.verify)(),
            "{}: the registration does not verify",
            case.name
        );
        assert!(
            case.bound.iter().all(Check::run),
            "{}: a bound check fails",
            case.name
        );
        // The peer must accept what fidogate accepts, or its figure would
        // be the cost of a refusal. A format it refuses is left out, named.
        let peer = case.peer.as_ref().filter(|p| match p() {
            Ok(()) => true,
            Err(e) => {
                eprintln!(
                    "{}: webauthn-rs-core refuses this registration ({e}); no peer figure",
                    case.name
                );
                false
            }
        });
        let mut group = c.benchmark_group(format!("{backend}/{}", case.name));
        group.bench_function("verify", |b| b.iter(|| black_box((case.verify)())));
        if !case.bound.is_empty() {
            group.bench_function(format!("bound-{}-signatures", case.bound.len()), |b| {
                b.iter(|| black_box(case.bound.iter().all(Check::run)))
            });
        }
        if let Some((seen, left)) = &case.seen {
            // Warms the cache with the chain, and must still verify.
            assert!(seen(), "{}: the registration does not verify", case.name);
            group.bench_function("verify-chain-seen", |b| b.iter(|| black_box(seen())));
            if *left > 0 {
                let checks = case.bound.get(..*left).unwrap();
                group.bench_function(format!("seen-bound-{left}-signatures"), |b| {
                    b.iter(|| black_box(checks.iter().all(Check::run)))
                });
            }
        }
        if let Some(peer) = peer {
            group.bench_function("peer-webauthn-rs-core", |b| {
                b.iter(|| black_box(peer().is_ok()))
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
