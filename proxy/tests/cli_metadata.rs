#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]
//! `fidogate metadata inspect` and `fidogate verify … --metadata` as a
//! user runs them: the conformance BLOB, statement files and decoded
//! payloads written here, and the exit statuses.

use fidogate_core::b64;
use fidogate_core::webauthn::format_uuid;
use fidogate_testkit::keys::alg;
use fidogate_testkit::uaf::{UafAttestationKind, UafAuthenticator, UafCeremony};
use fidogate_testkit::webauthn::{Authenticator, SOFT_AAGUID, attestation_root};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const RP: &str = "example.com";
const ORIGIN: &str = "https://example.com";
const CHALLENGE: &[u8] = b"0123456789abcdef0123456789abcdef";

fn fidogate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fidogate"))
        .args(args)
        .output()
        .unwrap()
}

fn object(out: &Output) -> Value {
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text:?}"))
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("fidogate-cli-mds-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn mds() -> Option<(PathBuf, PathBuf)> {
    let dir = fidogate_testkit::vectors::dir()?.join("mds");
    let blob = dir.join("fido-conformance-mds3-blob.jwt");
    let root = dir.join("fido-conformance-mds3-root.pem");
    if blob.exists() && root.exists() {
        Some((blob, root))
    } else {
        println!("SKIPPED: no conformance MDS3 BLOB in {}", dir.display());
        None
    }
}

#[test]
fn inspect_reports_a_verified_blob_and_refuses_what_does_not_verify() {
    let Some((blob, root)) = mds() else { return };
    let (blob, root) = (blob.to_str().unwrap(), root.to_str().unwrap());
    let out = fidogate(&[
        "metadata",
        "inspect",
        blob,
        "--root",
        root,
        "--time",
        "2023-11-01T00:00:00Z",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = object(&out);
    for (k, want) in [
        ("ok", json!(true)),
        ("signed", json!(true)),
        ("no", json!(42)),
        ("next_update", json!("2023-11-08")),
        ("entries", json!(200)),
        ("stale", json!(false)),
    ] {
        assert_eq!(v[k], want, "{k}: {v}");
    }
    // Past nextUpdate: still verified, and stale.
    let out = fidogate(&[
        "metadata",
        "inspect",
        blob,
        "--root",
        root,
        "--time",
        "2024-03-01T00:00:00Z",
    ]);
    assert_eq!(object(&out)["stale"], true);
    // Without its root (only the shipped R3), or after the signer expired.
    for args in [
        vec![
            "metadata",
            "inspect",
            blob,
            "--time",
            "2023-11-01T00:00:00Z",
        ],
        vec![
            "metadata",
            "inspect",
            blob,
            "--root",
            root,
            "--time",
            "2031-01-01T00:00:00Z",
        ],
    ] {
        let out = fidogate(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let v = object(&out);
        assert_eq!(
            (v["ok"].clone(), v["error"]["class"].clone()),
            (json!(false), json!("untrusted")),
            "{v}"
        );
    }
}

#[test]
fn inspect_statuses_for_files_that_are_not_blobs() {
    let d = temp("inspect");
    let junk = d.join("junk.jwt");
    std::fs::write(&junk, "not a JWS").unwrap();
    let out = fidogate(&["metadata", "inspect", junk.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(object(&out)["error"]["class"], "malformed");
    let statement = d.join("s.json");
    std::fs::write(
        &statement,
        json!({"aaguid": format_uuid(&SOFT_AAGUID), "description": "x"}).to_string(),
    )
    .unwrap();
    let out = fidogate(&["metadata", "inspect", d.join("s.json").to_str().unwrap()]);
    let v = object(&out);
    assert_eq!(
        (v["signed"].clone(), v["entries"].clone()),
        (json!(false), json!(1)),
        "{v}"
    );
    // A statement or a decoded payload cut short, or a payload without
    // its members: malformed, named.
    let payload =
        serde_json::json!({"no": 3, "nextUpdate": "2030-01-01", "entries": []}).to_string();
    for (name, text) in [
        (
            "cut-statement.json",
            r#"{"aaguid": "a14eb40d-3b89"#.to_owned(),
        ),
        ("cut-payload.json", payload[..payload.len() / 2].to_owned()),
        (
            "no-entries.json",
            r#"{"no": 3, "nextUpdate": "2030-01-01", "entries": 7}"#.to_owned(),
        ),
    ] {
        let f = d.join(name);
        std::fs::write(&f, text).unwrap();
        let out = fidogate(&["metadata", "inspect", f.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{name}");
        let v = object(&out);
        assert_eq!(v["error"]["class"], "malformed", "{name}: {v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(name),
            "{name}: {v}"
        );
    }
    // Past the 64 MiB bound (a sparse file: refused by its length, unread).
    let huge = d.join("huge.jwt");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(64 * 1024 * 1024 + 1)
        .unwrap();
    let out = fidogate(&["metadata", "inspect", huge.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let v = object(&out);
    assert_eq!(v["error"]["class"], "malformed", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("is larger than 67108864 bytes"),
        "{v}"
    );
    for args in [
        vec!["metadata", "inspect", "/nonexistent/blob.jwt"],
        vec!["metadata", "inspect", "/dev/zero"],
        vec![
            "metadata",
            "inspect",
            junk.to_str().unwrap(),
            "--time",
            "yesterday",
        ],
        vec![
            "metadata",
            "inspect",
            junk.to_str().unwrap(),
            "--root",
            "/nonexistent.pem",
        ],
    ] {
        let out = fidogate(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty() && !out.stderr.is_empty(), "{args:?}");
    }
}

/// A packed registration chaining to `root`, and the verify arguments.
fn webauthn_case(seed: u64, aaguid: [u8; 16]) -> (fidogate_testkit::certs::Issued, PathBuf) {
    let root = attestation_root(seed);
    let json = Authenticator::packed_x5c_for(alg::ES256, seed + 1, &root, aaguid)
        .register(RP, ORIGIN, CHALLENGE);
    let f = temp(&format!("reg-{seed}")).join("reg.json");
    std::fs::write(&f, json.to_string()).unwrap();
    (root, f)
}

fn verify_webauthn(reg: &Path, extra: &[&str]) -> Output {
    let challenge = b64::encode(CHALLENGE);
    let mut args = vec![
        "verify",
        "webauthn",
        "--rp-id",
        RP,
        "--origin",
        ORIGIN,
        "--challenge",
        &challenge,
    ];
    args.extend_from_slice(extra);
    args.push(reg.to_str().unwrap());
    fidogate(&args)
}

#[test]
fn verify_webauthn_with_statements_and_a_decoded_payload() {
    let (root, reg) = webauthn_case(800, SOFT_AAGUID);
    let d = temp("statements");
    let statement = |root_der: &[u8]| {
        json!({"aaguid": format_uuid(&SOFT_AAGUID), "description": "fidogate soft key",
               "attestationTypes": ["basic_full"], "authenticationAlgorithms": ["secp256r1_ecdsa_sha256_raw"],
               "attestationRootCertificates": [b64::encode_std(root_der)]})
    };
    let file = d.join("soft.json");
    std::fs::write(&file, statement(&root.der).to_string()).unwrap();
    let f = file.to_str().unwrap();
    // Without metadata: untrusted, nothing said.
    let v = object(&verify_webauthn(&reg, &[]));
    assert_eq!(
        (v["trusted"].clone(), v.get("metadata").is_none()),
        (json!(false), true),
        "{v}"
    );
    // With the statement: described, and trusted by its roots, even when required.
    for extra in [
        vec!["--metadata", f],
        vec!["--metadata", d.to_str().unwrap(), "--require-trusted"],
    ] {
        let out = verify_webauthn(&reg, &extra);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{extra:?} {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let v = object(&out);
        assert_eq!(v["trusted"], true);
        assert_eq!(v["metadata"]["description"], "fidogate soft key");
        assert_eq!(v["metadata"]["status"], Value::Null);
        assert_eq!(v["metadata"]["certification"], Value::Null);
    }
    // A statement with other roots: described, not trusted; refused when trust is required.
    let other = attestation_root(809);
    std::fs::write(&file, statement(&other.der).to_string()).unwrap();
    let v = object(&verify_webauthn(&reg, &["--metadata", f]));
    assert_eq!(
        (v["trusted"].clone(), v["metadata"]["description"].clone()),
        (json!(false), json!("fidogate soft key"))
    );
    let out = verify_webauthn(&reg, &["--metadata", f, "--require-trusted"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(object(&out)["error"]["class"], "untrusted");
    // A decoded payload whose entry is compromised: refused, naming the status.
    let payload = d.join("payload.json");
    std::fs::write(
        &payload,
        json!({"legalHeader": "test", "no": 3, "nextUpdate": "2030-01-01", "entries": [
            {"aaguid": format_uuid(&SOFT_AAGUID), "metadataStatement": statement(&root.der),
             "statusReports": [{"status": "FIDO_CERTIFIED_L1", "effectiveDate": "2020-01-01"},
                               {"status": "USER_KEY_REMOTE_COMPROMISE", "effectiveDate": "2024-02-01"}]}]})
        .to_string(),
    )
    .unwrap();
    let out = verify_webauthn(&reg, &["--metadata", payload.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let v = object(&out);
    assert_eq!(v["error"]["class"], "policy");
    assert_eq!(
        v["error"]["message"],
        format!(
            "metadata: AAGUID {} has status USER_KEY_REMOTE_COMPROMISE since 2024-02-01",
            format_uuid(&SOFT_AAGUID)
        )
    );
    // Bad metadata arguments are usage errors.
    for extra in [
        vec!["--metadata", "/nonexistent.json"],
        vec!["--metadata-root", f],
    ] {
        assert_eq!(
            verify_webauthn(&reg, &extra).status.code(),
            Some(2),
            "{extra:?}"
        );
    }
}

#[test]
fn verify_webauthn_against_the_conformance_blob() {
    let Some((blob, root)) = mds() else { return };
    let payload = fidogate_core::metadata::verify_blob(
        &std::fs::read(&blob).unwrap(),
        &fidogate_core::trust::TrustAnchor::from_pem(&std::fs::read(&root).unwrap(), "r").unwrap(),
        fidogate_core::UnixTime::from_secs(1_698_796_800),
    )
    .unwrap()
    .payload;
    let aaguid_with = |status: &str| {
        payload
            .entries
            .iter()
            .find(|e| e.aaguid.is_some() && e.status_reports.iter().any(|r| r.status == status))
            .unwrap()
            .aaguid
            .unwrap()
    };
    let args = [
        "--metadata",
        blob.to_str().unwrap(),
        "--metadata-root",
        root.to_str().unwrap(),
        "--time",
        "2023-11-01T00:00:00Z",
    ];
    let (_, reg) = webauthn_case(810, aaguid_with("ATTESTATION_KEY_COMPROMISE"));
    let out = verify_webauthn(&reg, &args);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        object(&out)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ATTESTATION_KEY_COMPROMISE")
    );
    let (_, reg) = webauthn_case(812, aaguid_with("FIDO_CERTIFIED_L1"));
    let out = verify_webauthn(&reg, &args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v = object(&out);
    assert!(
        v["metadata"]["certification"]
            .as_str()
            .unwrap()
            .starts_with("FIDO_CERTIFIED"),
        "{v}"
    );
    assert!(!v["metadata"]["description"].as_str().unwrap().is_empty());
}

#[test]
fn verify_uaf_checks_the_aaid_statement() {
    const APP_ID: &str = "https://example.com/uaf/facets";
    let challenge = b64::encode(b"uaf challenge bytes, 32 of them!");
    let ceremony = UafCeremony::new(APP_ID, &challenge, "https://example.com", "server-data");
    let body = UafAuthenticator::new(
        "ABCD#0001",
        alg::ES256,
        820,
        UafAttestationKind::BasicSurrogate,
    )
    .register(&ceremony);
    let d = temp("uaf");
    let reg = d.join("reg.json");
    std::fs::write(&reg, body.to_string()).unwrap();
    let statement = d.join("statement.json");
    let run = |s: &Value| {
        std::fs::write(&statement, s.to_string()).unwrap();
        fidogate(&[
            "verify",
            "uaf",
            "--app-id",
            APP_ID,
            "--challenge",
            &challenge,
            "--metadata",
            statement.to_str().unwrap(),
            reg.to_str().unwrap(),
        ])
    };
    let good = json!({"aaid": "ABCD#0001", "description": "fidogate soft UAF", "protocolFamily": "uaf",
                      "upv": [{"major": 1, "minor": 0}, {"major": 1, "minor": 1}],
                      "authenticationAlgorithms": ["secp256r1_ecdsa_sha256_raw"],
                      "publicKeyAlgAndEncodings": ["ecc_x962_raw"], "attestationTypes": ["basic_surrogate"]});
    let out = run(&good);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(
        object(&out)["registrations"][0]["metadata"]["description"],
        "fidogate soft UAF"
    );
    for (member, value, says) in [
        (
            "upv",
            json!([{"major": 1, "minor": 1}]),
            "protocol version 1.0",
        ),
        (
            "authenticationAlgorithms",
            json!(["rsassa_pss_sha256_raw"]),
            "algorithm secp256r1_ecdsa_sha256_raw",
        ),
        (
            "publicKeyAlgAndEncodings",
            json!(["rsa_2048_raw"]),
            "public key encoding ecc_x962_raw",
        ),
    ] {
        let mut s = good.clone();
        s[member] = value;
        let out = run(&s);
        assert_eq!(out.status.code(), Some(1), "{member}");
        let v = object(&out);
        assert!(
            v["error"]["message"].as_str().unwrap().contains(says),
            "{member}: {v}"
        );
    }
}
