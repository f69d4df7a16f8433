//! FIDO metadata costs: verifying and loading a 10 MB BLOB once (its
//! resident memory printed), and what the lookup adds to a registration
//! (finding the entry and applying the status policy), beside the chain
//! check against a statement's roots when the statement has them.
//!
//! `cargo bench -p fidogate-bench --bench metadata`

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "bench code")]

use criterion::{Criterion, criterion_group};
use fidogate_core::UnixTime;
use fidogate_core::b64;
use fidogate_core::metadata::{Metadata, MetadataPolicy, verify_blob};
use fidogate_core::trust::{TrustAnchor, TrustAnchors};
use fidogate_core::webauthn::{
    Policy, RegistrationCredential, RelyingParty, VerifiedRegistration, format_uuid,
    verify_registration,
};
use fidogate_testkit::keys::alg;
use fidogate_testkit::mds::MdsPki;
use fidogate_testkit::webauthn::{Authenticator, attestation_root};
use serde_json::{Value, json};
use std::hint::black_box;
use std::time::Duration;

const AT: UnixTime = UnixTime::from_secs(1_767_225_600); // 2026-01-01
/// The payload's JSON size: base64url makes the BLOB 4/3 of it, 10 MB.
const TARGET_BYTES: usize = 10_000_000 * 3 / 4;

fn aaguid(i: u32) -> [u8; 16] {
    let mut a = [0x5a; 16];
    a[..4].copy_from_slice(&i.to_be_bytes());
    a
}

/// A payload of at least 10 MB: entries shaped as the FIDO MDS's are (a
/// statement with an icon, a root certificate, user verification details,
/// a few status reports); `roots` gives the first entry's statement roots.
fn payload(root_der: &[u8]) -> (Value, usize) {
    let icon = format!("data:image/png;base64,{}", "iVBORw0KGgo".repeat(1100));
    let root = b64::encode_std(root_der);
    let mut entries = Vec::new();
    let mut size = 0;
    let mut i = 0u32;
    while size < TARGET_BYTES {
        let e = json!({
            "aaguid": format_uuid(&aaguid(i)),
            "statusReports": [
                {"status": "FIDO_CERTIFIED_L1", "effectiveDate": "2020-01-01", "certificationDescriptor": "Key", "certificateNumber": format!("FIDO2{i:08}")},
                {"status": "FIDO_CERTIFIED", "effectiveDate": "2020-01-01"}
            ],
            "timeOfLastStatusChange": "2020-01-01",
            "metadataStatement": {
                "legalHeader": "Submission of this statement and retrieval and use of this statement indicates acceptance of the appropriate agreement located at https://fidoalliance.org/metadata/metadata-legal-terms/.",
                "aaguid": format_uuid(&aaguid(i)),
                "description": format!("Benchmark key {i}"),
                "authenticatorVersion": 5,
                "protocolFamily": "fido2",
                "schema": 3,
                "upv": [{"major": 1, "minor": 0}, {"major": 1, "minor": 1}],
                "authenticationAlgorithms": ["secp256r1_ecdsa_sha256_raw", "ed25519_eddsa_sha512_raw"],
                "publicKeyAlgAndEncodings": ["cose"],
                "attestationTypes": ["basic_full"],
                "userVerificationDetails": [[{"userVerificationMethod": "presence_internal"}], [{"userVerificationMethod": "passcode_external", "caDesc": {"base": 64, "minLength": 4}}]],
                "keyProtection": ["hardware", "secure_element"],
                "matcherProtection": ["on_chip"],
                "attachmentHint": ["external", "wired", "nfc"],
                "tcDisplay": [],
                "attestationRootCertificates": if i == 0 { vec![root.clone()] } else { vec![root.clone(), root.clone()] },
                "icon": icon,
                "authenticatorGetInfo": {"versions": ["U2F_V2", "FIDO_2_0", "FIDO_2_1"], "aaguid": hex::encode(aaguid(i)),
                    "algorithms": [{"type": "public-key", "alg": -7}, {"type": "public-key", "alg": -8}]}
            }
        });
        size += e.to_string().len();
        entries.push(e);
        i += 1;
    }
    let n = entries.len();
    (
        json!({"legalHeader": "benchmark", "no": 1, "nextUpdate": "2030-01-01", "entries": entries}),
        n,
    )
}

/// Resident memory, in bytes (Linux), or 0.
fn resident() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .map_or(0, |pages| pages * 4096)
}

fn registration(root: &fidogate_testkit::certs::Issued, aaguid: [u8; 16]) -> VerifiedRegistration {
    const CHALLENGE: &[u8] = b"0123456789abcdef0123456789abcdef";
    let json = Authenticator::packed_x5c_for(alg::ES256, 31, root, aaguid).register(
        "example.com",
        "https://example.com",
        CHALLENGE,
    );
    let c = RegistrationCredential::from_value(&json).unwrap();
    verify_registration(
        &c,
        CHALLENGE,
        &RelyingParty::new("example.com", "https://example.com"),
        &TrustAnchors::new(),
        &Policy::default(),
        AT,
    )
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let pki = MdsPki::new(30);
    let attestation = attestation_root(32);
    let (payload, entries) = payload(&attestation.der);
    let blob = pki.blob(&payload);
    drop(payload);
    let roots = vec![TrustAnchor::from_der(pki.root.der.clone(), "bench root").unwrap()];
    // Memory in a fresh process, where nothing freed before can be reused.
    let file = std::env::temp_dir().join(format!("fidogate-bench-blob-{}.jwt", std::process::id()));
    std::fs::write(&file, &blob).unwrap();
    std::fs::write(file.with_extension("pem"), pki.root.pem()).unwrap();
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .env(CHILD, &file)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&file);
    let _ = std::fs::remove_file(file.with_extension("pem"));
    eprintln!(
        "metadata: a {:.1} MB BLOB, {entries} entries: {}",
        blob.len() as f64 / 1e6,
        String::from_utf8_lossy(&child.stdout).trim()
    );
    let verified = verify_blob(blob.as_bytes(), &roots, AT).unwrap();
    let mut g = c.benchmark_group("metadata");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("verify and load a 10 MB BLOB", |b| {
        b.iter(|| verify_blob(black_box(blob.as_bytes()), &roots, AT).unwrap())
    });
    g.finish();

    let metadata = Metadata {
        blob: Some(verified.payload),
        policy: MetadataPolicy::default(),
        ..Metadata::default()
    };
    // Every entry lists the attestation root: the whole check verifies the
    // chain to it.
    let lookup_only = registration(&attestation, aaguid(entries as u32 / 2));
    let with_roots = registration(&attestation, aaguid(0));
    let unknown = registration(&attestation, [0x11; 16]);
    assert!(
        metadata
            .check_webauthn(&with_roots, AT)
            .unwrap()
            .unwrap()
            .trusted
    );
    let mut g = c.benchmark_group("metadata per registration");
    g.bench_function("entry found, status policy", |b| {
        b.iter(|| {
            let (entry, source, id) = metadata
                .find_webauthn(black_box(&lookup_only.aaguid), &lookup_only.x5c)
                .unwrap();
            metadata
                .status(entry, source, &id, &lookup_only.x5c, AT)
                .unwrap()
        })
    });
    g.bench_function("no entry", |b| {
        b.iter(|| metadata.check_webauthn(black_box(&unknown), AT).unwrap())
    });
    g.bench_function("whole check, chain to the statement's roots", |b| {
        b.iter(|| metadata.check_webauthn(black_box(&with_roots), AT).unwrap())
    });
    g.finish();
}

/// Set in the child that measures the memory of one loaded BLOB.
const CHILD: &str = "FIDOGATE_BENCH_MDS_CHILD";

/// The child: reads the BLOB file, then loads it, and prints the resident
/// memory the loaded metadata holds (the file's bytes dropped).
fn child(path: &str) {
    let bytes = std::fs::read(path).unwrap();
    let pem = std::fs::read(std::path::Path::new(path).with_extension("pem")).unwrap();
    let roots = TrustAnchor::from_pem(&pem, "bench root").unwrap();
    let before = resident();
    let verified = verify_blob(&bytes, &roots, AT).unwrap();
    drop(bytes);
    let after = resident();
    println!(
        "resident {:+.1} MiB with the payload loaded ({} entries; the BLOB's bytes dropped)",
        (after as f64 - before as f64) / (1024.0 * 1024.0),
        black_box(&verified).payload.entries.len()
    );
}

criterion_group!(benches, bench);

fn main() {
    if let Ok(path) = std::env::var(CHILD) {
        child(&path);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
