#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]
//! The load harness end to end, briefly: every variant starts, answers
//! every request of every workload without an error, and the tables, CSV
//! files and chart are written. No figure is asserted: timings belong to
//! `scripts/bench.sh`, not to tests.

use std::process::Command;

#[test]
fn every_variant_runs_and_every_table_is_written() {
    let out = std::env::temp_dir().join(format!("fidogate-load-smoke-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let output = Command::new(env!("CARGO_BIN_EXE_gateway-load"))
        .args([
            "--duration",
            "1",
            "--warmup",
            "0",
            "--rounds",
            "1",
            "--connections",
            "4",
            "--register-connections",
            "1",
            "--cache-entries",
            "2000",
            "--verify-batches",
            "1",
            "--verify-per-batch",
            "5",
        ])
        .arg("--out")
        .arg(&out)
        .arg("--fidogate")
        .arg(fidogate_testkit::fidogate_binary())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "gateway-load failed:\n{stderr}");

    // 4 servers × 2 pass-through workloads + 2 registration runs + 2
    // carrying runs (the bare variants at a registration's pace).
    let runs = std::fs::read_to_string(out.join("gateway-runs.csv")).unwrap();
    let rows: Vec<Vec<&str>> = runs
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), 12, "{runs}");
    for row in &rows {
        let (requests, errors): (u64, u64) = (row[4].parse().unwrap(), row[5].parse().unwrap());
        assert!(requests > 0, "a run answered nothing: {row:?}");
        assert_eq!(errors, 0, "a run had errors: {row:?}");
    }
    let registrations: Vec<_> = rows.iter().filter(|r| r[3] == "register").collect();
    assert_eq!(registrations.len(), 2);
    assert!(registrations.iter().all(|r| r[2] == "fidogate"));
    let carrying: Vec<_> = rows.iter().filter(|r| r[3] == "carry").collect();
    assert_eq!(carrying.len(), 2);
    assert!(carrying.iter().all(|r| r[2] == "bare"));

    let table = std::fs::read_to_string(out.join("gateway.md")).unwrap();
    for needle in [
        "| pingora | GET |",
        "| axum | POST |",
        "| pingora | ",
        "| axum | ",
        "| 2000 |",
    ] {
        assert!(
            table.contains(needle),
            "gateway.md lacks {needle:?}:\n{table}"
        );
    }
    let csv = std::fs::read_to_string(out.join("gateway.csv")).unwrap();
    assert!(
        csv.lines()
            .any(|l| l.starts_with("registration,axum,register,fidogate,"))
    );
    assert!(
        csv.lines()
            .any(|l| l.starts_with("registration,pingora,carry,bare,"))
    );
    assert!(
        csv.lines()
            .any(|l| l.starts_with("cache,moka,resident-mib,2000,"))
    );
    // The chart needs a system font; without one the harness says so.
    let png = out.join("gateway.png");
    if png.exists() {
        let bytes = std::fs::read(&png).unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "gateway.png is not a PNG");
    } else {
        assert!(
            stderr.contains("no chart"),
            "no chart and no reason:\n{stderr}"
        );
    }
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn the_store_comparison_runs_against_both_stores() {
    if Command::new("redis-server")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: redis-server is not installed (bash scripts/bootstrap.sh installs it)");
        return;
    }
    let out = std::env::temp_dir().join(format!("fidogate-stores-smoke-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let output = Command::new(env!("CARGO_BIN_EXE_gateway-load"))
        .args([
            "stores",
            "--duration",
            "1",
            "--warmup",
            "0",
            "--rounds",
            "1",
            "--connections",
            "4",
            "--register-connections",
            "1",
            "--flood",
            "500",
        ])
        .arg("--out")
        .arg(&out)
        .arg("--fidogate")
        .arg(fidogate_testkit::fidogate_binary())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "gateway-load stores failed:\n{stderr}"
    );
    let csv = std::fs::read_to_string(out.join("stores.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    // Registrations and a flood, each against both stores, without errors.
    for (table, store) in [
        ("registrations", "memory"),
        ("registrations", "redis"),
        ("flood", "memory"),
        ("flood", "redis"),
    ] {
        let row = rows
            .iter()
            .find(|r| r[0] == table && r[1] == store)
            .unwrap_or_else(|| panic!("no {table} row for {store}:\n{csv}"));
        assert!(row[2].parse::<f64>().unwrap() > 0.0, "{row:?}");
        assert_eq!(row[6], "0", "errors: {row:?}");
    }
    let md = std::fs::read_to_string(out.join("stores.md")).unwrap();
    // The registration pending through each flood was accepted, its
    // replay refused (the run fails otherwise).
    assert_eq!(md.matches("| 500 |").count(), 2, "{md}");
    assert_eq!(md.matches("| 200 | 403 |").count(), 2, "{md}");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn the_tls_comparison_runs_against_both_proxies() {
    let out = std::env::temp_dir().join(format!("fidogate-tls-smoke-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let output = Command::new(env!("CARGO_BIN_EXE_gateway-load"))
        .args([
            "tls",
            "--duration",
            "1",
            "--warmup",
            "0",
            "--rounds",
            "1",
            "--connections",
            "4",
        ])
        .arg("--out")
        .arg(&out)
        .arg("--fidogate")
        .arg(fidogate_testkit::fidogate_binary())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "gateway-load tls failed:\n{stderr}"
    );
    let csv = std::fs::read_to_string(out.join("tls.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    // Both proxies answered both workloads over TLS, without errors.
    for (workload, variant) in [
        ("get", "bare-pingora"),
        ("get", "fidogate"),
        ("post", "bare-pingora"),
        ("post", "fidogate"),
    ] {
        let row = rows
            .iter()
            .find(|r| r[0] == workload && r[1] == variant)
            .unwrap_or_else(|| panic!("no {workload} row for {variant}:\n{csv}"));
        assert!(row[2].parse::<f64>().unwrap() > 0.0, "{row:?}");
        assert_eq!(row[6], "0", "errors: {row:?}");
    }
    let _ = std::fs::remove_dir_all(&out);
}

/// `gateway-load alternatives`, one short round on one connection.
fn alternatives() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gateway-load"));
    cmd.args([
        "alternatives",
        "--duration",
        "1",
        "--warmup",
        "0",
        "--rounds",
        "1",
        "--register-connections",
        "1",
    ]);
    cmd
}

#[test]
fn the_alternatives_comparison_runs_every_system() {
    let out = std::env::temp_dir().join(format!("fidogate-alt-smoke-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let output = alternatives()
        .args(["--fresh-chains", "300"])
        .arg("--out")
        .arg(&out)
        .arg("--fidogate")
        .arg(fidogate_testkit::fidogate_binary())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "gateway-load alternatives failed (bash scripts/bootstrap.sh installs the Node.js app's packages):\n{stderr}"
    );
    let csv = std::fs::read_to_string(out.join("alternatives.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    // Every system completed registrations, each verified (the app
    // behind fidogate refuses one without the header; the others answer
    // 200 only once their library verified it), without an error.
    for system in [
        "fidogate-run",
        "fidogate-layer",
        "fidogate-run-fresh-chains",
        "fidogate-layer-fresh-chains",
        "webauthn-rs",
        "simplewebauthn",
    ] {
        let row = rows
            .iter()
            .find(|r| r[0] == system)
            .unwrap_or_else(|| panic!("no row for {system}:\n{csv}"));
        assert!(row[1].parse::<f64>().unwrap() > 0.0, "{row:?}");
        assert!(row[5].parse::<f64>().unwrap() > 0.0, "{row:?}");
        assert_eq!(row[7], "0", "errors: {row:?}");
    }
    let md = std::fs::read_to_string(out.join("alternatives.md")).unwrap();
    // Four fidogate systems against two apps.
    assert_eq!(md.matches("| ≥ ").count(), 8, "{md}");
    // The tables again from the recorded runs, without running: the same.
    let again = out.join("again");
    let output = alternatives()
        .arg("--from-runs")
        .arg(out.join("alternatives-runs.csv"))
        .arg("--out")
        .arg(&again)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(again.join("alternatives.md")).unwrap(),
        md
    );
    let _ = std::fs::remove_dir_all(&out);
}
