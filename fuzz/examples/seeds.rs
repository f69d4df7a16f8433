//! Writes the seed corpora into `fuzz/corpus/<target>/seed-*`: the
//! testkit's registrations in every format and dialect, their parts for the
//! targets that take one part, and the shared captures (`FIDOGATE_VECTORS`,
//! default ../shared/vectors) when they are there. `bash scripts/fuzz.sh`
//! runs it before fuzzing; the seeds are regenerated, never edited.

use ciborium::value::Value;
use fidogate_core::b64;
use fidogate_core::gateway::{BodyAction, Client, RequestAction};
use fidogate_fuzz::{ISSUED, env, gateway, ready};
use fidogate_testkit::certs;
use fidogate_testkit::formats::{
    AndroidKey, AndroidKeyOptions, Apple, SafetyNet, Tpm, TpmCertOptions,
};
use fidogate_testkit::keycred::{KeyCeremony, KeyClient, fido2_credential};
use fidogate_testkit::keys::{SigningKey, alg};
use fidogate_testkit::uaf::{UafAttestationKind, UafAuthenticator, UafCeremony};
use fidogate_testkit::webauthn::{
    Attestation, Attested, Authenticator, SOFT_AAGUID, attestation_root,
};
use http::{HeaderMap, Method};
use serde_json::{Value as Json, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The challenge the webauthn_json target verifies against.
const CHALLENGE: &[u8] = b"0123456789abcdef0123456789abcdef";
const ORIGIN: &str = "https://example.com";

struct Corpus {
    root: PathBuf,
    written: usize,
}

impl Corpus {
    fn put(&mut self, target: &str, name: &str, bytes: &[u8]) {
        let dir = self.root.join(target);
        std::fs::create_dir_all(&dir).expect("corpus folder");
        std::fs::write(dir.join(format!("seed-{name}")), bytes).expect("seed written");
        self.written += 1;
    }
}

fn field<'a>(stmt: &'a Value, key: &str) -> Option<&'a Value> {
    stmt.as_map()?
        .iter()
        .find(|(k, _)| k.as_text() == Some(key))
        .map(|(_, v)| v)
}

fn bytes(v: Option<&Value>) -> Vec<u8> {
    v.and_then(Value::as_bytes).cloned().unwrap_or_default()
}

fn authenticators() -> Vec<(&'static str, Authenticator)> {
    let root = attestation_root(900);
    let ca = |cn: &str, seed| {
        Arc::new(certs::intermediate_ca(
            cn,
            SigningKey::generate(alg::ES256, seed),
            &root,
        ))
    };
    vec![
        ("none-es256", Authenticator::none(alg::ES256, 1)),
        ("none-eddsa", Authenticator::none(alg::EDDSA, 2)),
        ("none-rs256", Authenticator::none(alg::RS256, 3)),
        (
            "packed-self-es384",
            Authenticator::packed_self(alg::ES384, 4),
        ),
        (
            "packed-x5c",
            Authenticator::packed_x5c(alg::ES256, 5, &root),
        ),
        ("fido-u2f", Authenticator::fido_u2f(6, &root)),
        (
            "tpm",
            Authenticator::new(
                alg::RS256,
                7,
                Attestation::Tpm(Tpm::new(8, &root, &TpmCertOptions::default(), SOFT_AAGUID)),
            ),
        ),
        (
            "android-key",
            Authenticator::new(
                alg::ES256,
                9,
                Attestation::AndroidKey(AndroidKey {
                    ca: ca("fuzz android CA", 10),
                    options: AndroidKeyOptions::default(),
                }),
            ),
        ),
        (
            "apple",
            Authenticator::new(
                alg::ES256,
                11,
                Attestation::Apple(Apple {
                    ca: ca("fuzz apple CA", 12),
                    nonce: None,
                    certified_key: None,
                }),
            ),
        ),
        (
            "safetynet",
            Authenticator::new(
                alg::ES256,
                13,
                Attestation::SafetyNet(SafetyNet::new(
                    14,
                    &ca("fuzz safetynet CA", 15),
                    "attest.android.com",
                    fidogate_fuzz::T0 * 1000,
                )),
            ),
        ),
    ]
}

/// The two-byte-length framing of the cert_chain target: chain, then anchor.
fn chain_input(chain: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for der in chain {
        let len = u16::try_from(der.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(der);
    }
    out
}

/// The parts of a statement the TPM and SafetyNet targets take.
fn statement_parts(c: &mut Corpus, name: &str, fmt: &str, stmt: &Value) {
    match fmt {
        "tpm" => {
            let mut input = bytes(field(stmt, "pubArea"));
            input.extend_from_slice(&[0xff, 0xff]);
            input.extend_from_slice(&bytes(field(stmt, "certInfo")));
            c.put("tpm_structures", name, &input);
        }
        "android-safetynet" => c.put("safetynet_jws", name, &bytes(field(stmt, "response"))),
        _ => {}
    }
}

/// The files of `dir` with their names less the extension.
fn files_in(dir: &Path) -> Vec<(String, PathBuf)> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| {
            let path = e.path();
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            (name, path)
        })
        .collect()
}

fn webauthn(c: &mut Corpus) {
    let root = attestation_root(900);
    for (name, authn) in authenticators() {
        let attested: Attested = authn
            .ceremony("example.com", ORIGIN, CHALLENGE)
            .attest(&authn);
        let object = attested.attestation_object();
        c.put(
            "webauthn_json",
            name,
            attested.credential_json().to_string().as_bytes(),
        );
        c.put("attestation_object", name, &object);
        c.put("auth_data", name, &attested.auth_data);
        c.put("cose_key", name, &authn.credential_key.cose_key());
        let x5c: Vec<Vec<u8>> = match field(&attested.att_stmt, "x5c") {
            Some(Value::Array(certs)) => {
                certs.iter().filter_map(|v| v.as_bytes().cloned()).collect()
            }
            _ => Vec::new(),
        };
        if !x5c.is_empty() {
            let mut chain = x5c.clone();
            chain.push(root.der.clone());
            c.put("cert_chain", name, &chain_input(&chain));
        }
        statement_parts(c, name, &attested.fmt, &attested.att_stmt);
        if name == "tpm" {
            c.put(
                "tpm_structures",
                "pub-area",
                &bytes(field(&attested.att_stmt, "pubArea")),
            );
            c.put(
                "tpm_structures",
                "cert-info",
                &bytes(field(&attested.att_stmt, "certInfo")),
            );
        }
    }
    let android = AndroidKey {
        ca: Arc::new(certs::intermediate_ca(
            "fuzz android CA",
            SigningKey::generate(alg::ES256, 10),
            &root,
        )),
        options: AndroidKeyOptions::default(),
    };
    c.put(
        "android_key_description",
        "tee",
        &android.key_description(&[7; 32]),
    );
    let software = AndroidKey {
        options: AndroidKeyOptions {
            in_tee: false,
            ..AndroidKeyOptions::default()
        },
        ..android
    };
    c.put(
        "android_key_description",
        "software",
        &software.key_description(&[7; 32]),
    );
    // SEQUENCE { [1] EXPLICIT OCTET STRING (32 bytes) }.
    let octets = [&[0x04, 0x20][..], &[7; 32]].concat();
    let tagged = [&[0xa1, 0x22][..], &octets].concat();
    c.put(
        "apple_nonce",
        "nonce",
        &[&[0x30, 0x24][..], &tagged].concat(),
    );
}

fn uaf(c: &mut Corpus) {
    let ceremony = UafCeremony::new(
        "https://example.com/uaf/facets",
        "Y2hhbGxlbmdl",
        ORIGIN,
        "c2VydmVyRGF0YQ",
    );
    for (name, kind, alg) in [
        (
            "surrogate-es256",
            UafAttestationKind::BasicSurrogate,
            alg::ES256,
        ),
        (
            "surrogate-ps256",
            UafAttestationKind::BasicSurrogate,
            alg::PS256,
        ),
    ] {
        let response = UafAuthenticator::new("ABCD#0001", alg, 20, kind).register(&ceremony);
        c.put("uaf_response", name, response.to_string().as_bytes());
        if let Some(assertion) = response[0]["assertions"][0]["assertion"].as_str()
            && let Ok(tlv) = b64::decode(assertion)
        {
            c.put("uaf_tlv", name, &tlv);
        }
    }
}

fn key_credentials(c: &mut Corpus) {
    let ceremony = KeyCeremony::new(CHALLENGE, ORIGIN);
    for (name, alg) in [
        ("es256", alg::ES256),
        ("rs256", alg::RS256),
        ("eddsa", alg::EDDSA),
    ] {
        let info = KeyClient::new(alg, 30).credential_info(&ceremony);
        let text = format!(
            "{}\n{}\n{}",
            info["credId"].as_str().unwrap_or_default(),
            info["clientData"].as_str().unwrap_or_default(),
            info["attestationData"].as_str().unwrap_or_default()
        );
        c.put("key_credential", name, text.as_bytes());
    }
}

fn request_text(method: &str, path: &str, headers: &[&str], body: &[u8]) -> Vec<u8> {
    let mut out = format!("{method} {path}\n").into_bytes();
    for h in headers {
        out.extend_from_slice(h.as_bytes());
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(body);
    out
}

/// The registration a route accepts for the challenge [`ISSUED`] gives it.
fn registrations() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let g = gateway();
    let mut out = Vec::new();
    for (i, (options, body, fill)) in ISSUED.iter().enumerate() {
        let RequestAction::ReadBody(ix) =
            g.on_request(&Method::POST, options, &HeaderMap::new(), Client::UNKNOWN)
        else {
            continue;
        };
        let BodyAction::Respond(reply) = ready(g.on_body(&ix, body.as_bytes(), &env(0, *fill)))
        else {
            continue;
        };
        let Ok(answer) = serde_json::from_slice::<Json>(&reply.body) else {
            continue;
        };
        let seed = 40 + i as u64;
        let (name, result, registration) = match *options {
            "/regRequest/u" => {
                let m = &answer["message"][0];
                let ceremony = UafCeremony::new(
                    "https://example.com/facets",
                    m["challenge"].as_str().unwrap_or_default(),
                    ORIGIN,
                    m["header"]["serverData"].as_str().unwrap_or_default(),
                );
                let reg = UafAuthenticator::new(
                    "ABCD#0001",
                    alg::ES256,
                    seed,
                    UafAttestationKind::BasicSurrogate,
                )
                .register(&ceremony);
                ("uaf", "/regResponse", reg)
            }
            _ => {
                let challenge = b64::decode(answer["challenge"].as_str().unwrap_or_default())
                    .unwrap_or_default();
                let cred = Authenticator::none(alg::ES256, seed).register(
                    "example.com",
                    ORIGIN,
                    &challenge,
                );
                match *options {
                    "/auth/registration/init" => {
                        let kc = KeyCeremony::new(&challenge, ORIGIN);
                        let reg = json!({
                            "firstFactorCredential": fido2_credential(&cred),
                            "recoveryCredential": KeyClient::new(alg::ES256, seed).credential("RecoveryKey", &kc),
                        });
                        ("dfns", "/auth/registration", reg)
                    }
                    "/_app/attestation/options" => ("nevis", "/_app/attestation/result", cred),
                    _ => ("webauthn", "/attestation/result", cred),
                }
            }
        };
        out.push((name, result, registration.to_string().into_bytes()));
    }
    out
}

fn engine(c: &mut Corpus) {
    let json = "content-type: application/json";
    for (name, result, body) in registrations() {
        let text = request_text("POST", result, &[json], &body);
        c.put("engine", name, &text);
        // The same registration twice: the second is a replay.
        c.put(
            "engine",
            &format!("{name}-replay"),
            &[&text[..], b"\n=====\n", &text[..]].concat(),
        );
        let spoofed = request_text(
            "POST",
            result,
            &[json, "x-fidogate-credential: forged"],
            &body,
        );
        c.put("engine", &format!("{name}-spoofed"), &spoofed);
        if name == "webauthn" {
            // The header's claims, for the token target.
            let g = gateway();
            for (path, options, fill) in ISSUED {
                if let RequestAction::ReadBody(ix) =
                    g.on_request(&Method::POST, path, &HeaderMap::new(), Client::UNKNOWN)
                {
                    let _ = ready(g.on_body(&ix, options.as_bytes(), &env(0, *fill)));
                }
            }
            if let RequestAction::ReadBody(ix) =
                g.on_request(&Method::POST, result, &HeaderMap::new(), Client::UNKNOWN)
                && let BodyAction::Forward(forward) = ready(g.on_body(&ix, &body, &env(1, 0x40)))
                && let Some(claims) = forward.claims
            {
                let claims = serde_json::to_vec(&claims).unwrap_or_default();
                c.put("token_verifier", "claims", &[&[0][..], &claims].concat());
                if let Some((_, token)) = forward.headers.first() {
                    c.put("token_verifier", "token", token.as_bytes());
                }
            }
        }
    }
    c.put(
        "engine",
        "up-options",
        &[
            &request_text("POST", "/up/options", &["content-type: application/json"], br#"{"username":"u"}"#)[..],
            b"\n----- app\n",
            br#"{"status":"ok","errorMessage":"","challenge":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8","rp":{"id":"example.com"},"user":{"id":"dQ","name":"u"}}"#,
        ]
        .concat(),
    );
    c.put(
        "engine",
        "options",
        &request_text(
            "POST",
            "/attestation/options",
            &[json],
            br#"{"username":"alice","attestation":"direct"}"#,
        ),
    );
    c.put(
        "engine",
        "pass-get",
        &request_text(
            "GET",
            "/account/settings?x=1",
            &["x-fidogate-credential: forged"],
            b"",
        ),
    );
    c.put(
        "engine",
        "jwks",
        &request_text("GET", "/.well-known/jwks.json", &[], b""),
    );
    c.put(
        "engine",
        "wrong-method",
        &request_text("GET", "/attestation/result", &[], b""),
    );
    c.put(
        "engine",
        "content-length",
        &request_text(
            "POST",
            "/attestation/result",
            &["content-length: 99999999"],
            b"{}",
        ),
    );
    for (name, path) in [
        ("plain", "/attestation/result"),
        ("encoded", "/attestation/%72esult"),
        ("double", "/attestation/%2572esult"),
        ("dots", "/x/../attestation/./result/"),
        ("params", "/attestation/result;v=1?q"),
    ] {
        c.put("path_normalise", name, path.as_bytes());
    }
}

fn metadata(c: &mut Corpus) {
    let pki = fidogate_testkit::mds::MdsPki::new(50);
    let payload = json!({
        "legalHeader": "fuzz",
        "no": 1,
        "nextUpdate": "2030-01-01",
        "entries": [{
            "aaguid": "66696430-6761-7465-2d73-6f66742d3031",
            "statusReports": [{"status": "FIDO_CERTIFIED_L1", "effectiveDate": "2020-01-01"}],
            "timeOfLastStatusChange": "2020-01-01",
            "metadataStatement": {"description": "fuzz", "aaguid": "66696430-6761-7465-2d73-6f66742d3031",
                "attestationTypes": ["basic_full"], "attestationRootCertificates": [],
                "authenticationAlgorithms": ["secp256r1_ecdsa_sha256_raw"], "upv": [{"major": 1, "minor": 1}]}
        }]
    });
    c.put("metadata_blob", "blob", pki.blob(&payload).as_bytes());
    c.put("metadata_blob", "payload", payload.to_string().as_bytes());
    c.put(
        "metadata_blob",
        "statement",
        payload["entries"][0]["metadataStatement"]
            .to_string()
            .as_bytes(),
    );
}

fn config(c: &mut Corpus, project: &Path) {
    for (name, path) in files_in(&project.join("config")) {
        if path.extension().is_some_and(|e| e == "yaml")
            && let Ok(text) = std::fs::read(&path)
        {
            c.put("config_yaml", &name, &text);
        }
    }
}

fn shared(c: &mut Corpus, project: &Path) {
    let dir = std::env::var_os("FIDOGATE_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| project.join("../shared/vectors"));
    if !dir.join("webauthn").is_dir() {
        eprintln!(
            "seeds: shared vectors not found at {} (set FIDOGATE_VECTORS); generated seeds only",
            dir.display()
        );
        return;
    }
    for (name, path) in files_in(&dir.join("webauthn")) {
        let Some(v) = std::fs::read(&path)
            .ok()
            .and_then(|t| serde_json::from_slice::<Json>(&t).ok())
        else {
            continue;
        };
        let credential = &v["credential"];
        c.put("webauthn_json", &name, credential.to_string().as_bytes());
        if let Some(object) = credential["response"]["attestationObject"]
            .as_str()
            .and_then(|s| b64::decode(s).ok())
        {
            c.put("attestation_object", &name, &object);
            if let Ok(Value::Map(m)) = ciborium::from_reader::<Value, _>(object.as_slice()) {
                let get = |k: &str| {
                    m.iter()
                        .find(|(key, _)| key.as_text() == Some(k))
                        .map(|(_, v)| v)
                };
                c.put("auth_data", &name, &bytes(get("authData")));
                if let Some(stmt) = get("attStmt") {
                    if let Some(Value::Array(x5c)) = field(stmt, "x5c") {
                        let chain: Vec<Vec<u8>> =
                            x5c.iter().filter_map(|v| v.as_bytes().cloned()).collect();
                        c.put("cert_chain", &name, &chain_input(&chain));
                    }
                    let fmt = get("fmt").and_then(Value::as_text).unwrap_or_default();
                    statement_parts(c, &name, fmt, stmt);
                }
            }
        }
    }
    for (name, path) in files_in(&dir.join("uaf")) {
        if let Ok(text) = std::fs::read(&path) {
            c.put("uaf_response", &name, &text);
        }
    }
    if let Ok(blob) = std::fs::read(dir.join("mds/fido-conformance-mds3-blob.jwt")) {
        c.put("metadata_blob", "conformance", &blob);
    }
}

fn main() {
    let fuzz = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let project = fuzz.join("..");
    let mut c = Corpus {
        root: fuzz.join("corpus"),
        written: 0,
    };
    webauthn(&mut c);
    uaf(&mut c);
    key_credentials(&mut c);
    engine(&mut c);
    metadata(&mut c);
    config(&mut c, &project);
    shared(&mut c, &project);
    println!("seeds: {} files under {}", c.written, c.root.display());
}
