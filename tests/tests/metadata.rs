#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]
//! `fidogate run` with FIDO metadata: a BLOB made here (its own PKI, its
//! root configured) describes the registering authenticator in the
//! header; a new BLOB dropped in place with a higher `no` is picked up
//! without a restart and refuses a compromised authenticator; one with a
//! lower `no`, or one that does not verify, is not used and the current
//! one stays.

use fidogate_core::b64;
use fidogate_core::webauthn::format_uuid;
use fidogate_testkit::keys::alg;
use fidogate_testkit::mds::MdsPki;
use fidogate_testkit::webauthn::{Authenticator, SOFT_AAGUID, attestation_root};
use fidogate_tests::HEADER;
use fidogate_tests::app::{AppLog, spawn};
use fidogate_tests::client::send;
use fidogate_tests::config::{ORIGIN, RP_ID, run_file_with};
use fidogate_tests::process::GatewayProcess;
use fidogate_tests::scenario::Req;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn payload(no: u64, status: &str, attestation_root_der: &[u8]) -> Value {
    json!({
        "legalHeader": "test terms",
        "no": no,
        "nextUpdate": "2049-01-01",
        "entries": [{
            "aaguid": format_uuid(&SOFT_AAGUID),
            "statusReports": [{"status": status, "effectiveDate": "2020-01-01"}],
            "metadataStatement": {"description": "fidogate soft key", "attestationTypes": ["basic_full"],
                "attestationRootCertificates": [b64::encode_std(attestation_root_der)]}
        }]
    })
}

/// One registration (options, then result) with a packed authenticator
/// chaining to `root`: the result's status and body.
async fn register(
    gw: &GatewayProcess,
    root: &fidogate_testkit::certs::Issued,
    seed: u64,
) -> (u16, Value) {
    let o = send(
        gw.addr,
        &Req::json("/attestation/options", &json!({"username": "mia"})),
    )
    .await;
    assert_eq!(o.status, 200);
    let challenge = b64::decode(o.json()["challenge"].as_str().unwrap()).unwrap();
    let cred =
        Authenticator::packed_x5c(alg::ES256, seed, root).register(RP_ID, ORIGIN, &challenge);
    let a = send(gw.addr, &Req::json("/attestation/result", &cred)).await;
    let body = serde_json::from_slice(&a.body).unwrap_or(Value::Null);
    (a.status, body)
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&b64::decode(payload).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_blob_is_picked_up_without_a_restart_only_when_it_verifies_and_is_newer() {
    let dir = std::env::temp_dir().join(format!("fidogate-mds-run-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let pki = MdsPki::new(970);
    let attestation = attestation_root(971);
    let (blob, root, state) = (
        dir.join("blob.jwt"),
        dir.join("mds-root.pem"),
        dir.join("state.json"),
    );
    std::fs::write(&root, pki.root.pem()).unwrap();
    std::fs::write(
        &blob,
        pki.blob(&payload(1, "FIDO_CERTIFIED_L1", &attestation.der)),
    )
    .unwrap();
    let log = AppLog::default();
    let app = spawn(log.clone());
    let section = format!(
        "metadata:\n  blob_file: \"{}\"\n  roots: [\"{}\"]\n  state_file: \"{}\"\n  reload_secs: 1\n  legal_headers: [\"test terms\"]\n",
        blob.display(),
        root.display(),
        state.display()
    );
    let gw = GatewayProcess::start(
        &fidogate_testkit::fidogate_binary(),
        &run_file_with(app, None, &section),
        &[],
    );
    // Described and trusted by its statement's roots.
    let (status, body) = register(&gw, &attestation, 972).await;
    assert_eq!(status, 200, "{body}");
    let seen = log.seen();
    let token = seen.last().unwrap().headers[HEADER]
        .to_str()
        .unwrap()
        .to_owned();
    let c = &claims(&token)["credentials"][0];
    assert_eq!(c["trusted"], true, "{c}");
    assert_eq!(c["metadata"]["description"], "fidogate soft key");
    assert_eq!(c["metadata"]["certification"], "FIDO_CERTIFIED_L1");
    assert_eq!(c["metadata"]["source"], "blob");
    let recorded: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(recorded["no"], 1);

    // A newer BLOB reporting a compromise: in force within seconds.
    std::fs::write(
        &blob,
        pki.blob(&payload(2, "ATTESTATION_KEY_COMPROMISE", &attestation.der)),
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut seed = 973;
    let refused = loop {
        seed += 1;
        let (status, body) = register(&gw, &attestation, seed).await;
        if status == 403 {
            break body;
        }
        assert_eq!(status, 200, "{body}");
        assert!(
            Instant::now() < deadline,
            "the new BLOB was not picked up:\n{}",
            gw.log()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let message = refused["errorMessage"].as_str().unwrap();
    assert!(
        message.contains("has status ATTESTATION_KEY_COMPROMISE since 2020-01-01"),
        "{message}"
    );
    let recorded: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(recorded["no"], 2);

    // An older `no`, then a BLOB whose signature does not verify: not
    // used; the compromise stays in force.
    std::fs::write(
        &blob,
        pki.blob(&payload(1, "FIDO_CERTIFIED_L3", &attestation.der)),
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let mut forged = pki.blob(&payload(9, "FIDO_CERTIFIED_L3", &attestation.der));
    // Another last signature character: a signature that does not verify
    // (or does not even decode).
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    std::fs::write(&blob, forged).unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (status, body) = register(&gw, &attestation, 990).await;
    assert_eq!(status, 403, "{body}");
    let log_text = gw.log();
    assert!(log_text.contains("not higher"), "{log_text}");
    assert!(log_text.contains("the new BLOB is not used"), "{log_text}");
    let _ = std::fs::remove_dir_all(&dir);
}
