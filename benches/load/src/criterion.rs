//! The criterion figures as tables: `<backend>/<kind>/{verify, bound-N-
//! signatures, peer-webauthn-rs-core}` and `<backend>/engine/...`, read
//! from criterion's `new/estimates.json` (median).

use crate::Res;
use crate::report::put;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// full id → median nanoseconds.
fn medians(dir: &Path) -> Res<BTreeMap<String, f64>> {
    let mut out = BTreeMap::new();
    let groups = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for group in groups.flatten() {
        let Ok(functions) = std::fs::read_dir(group.path()) else {
            continue;
        };
        for f in functions.flatten() {
            let new = f.path().join("new");
            let read = |name: &str| -> Option<serde_json::Value> {
                serde_json::from_slice(&std::fs::read(new.join(name)).ok()?).ok()
            };
            let (Some(bench), Some(est)) = (read("benchmark.json"), read("estimates.json")) else {
                continue;
            };
            let id = bench.get("full_id").and_then(serde_json::Value::as_str);
            let median = est
                .get("median")
                .and_then(|m| m.get("point_estimate"))
                .and_then(serde_json::Value::as_f64);
            if let (Some(id), Some(m)) = (id, median) {
                out.insert(id.to_owned(), m);
            }
        }
    }
    Ok(out)
}

const KINDS: &[&str] = &[
    "none",
    "packed-self-es256",
    "packed-x5c-es256",
    "fido-u2f",
    "tpm-rs256",
    "android-key",
    "apple",
    "uaf-basic-full",
    "key-credential-es256",
];
const BACKENDS: &[&str] = &["aws-lc", "rust-crypto"];

fn us(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |ns| format!("{:.1}", ns / 1000.0))
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
        _ => "–".to_owned(),
    }
}

/// The entry `<group>/<prefix>N-signatures` of `m`: its median and N.
fn bound_entry(
    m: &BTreeMap<String, f64>,
    group: &str,
    prefix: &str,
) -> (Option<f64>, Option<String>) {
    let Some((key, median)) = m
        .iter()
        .find(|(k, _)| k.starts_with(&format!("{group}/{prefix}")))
    else {
        return (None, None);
    };
    let sigs = key
        .rsplit('/')
        .next()
        .and_then(|f| f.strip_prefix(prefix))
        .and_then(|f| f.strip_suffix("-signatures"))
        .map(str::to_owned);
    (Some(*median), sigs)
}

pub(crate) fn tables(dir: &Path, out: &Path) -> Res<()> {
    let m = medians(dir)?;
    if m.is_empty() {
        return Err(format!(
            "{}: no criterion results; run `cargo bench -p fidogate-bench` first",
            dir.display()
        ));
    }
    let find = |prefix: &str| -> Option<f64> {
        m.iter()
            .find(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| *v)
    };
    let mut md = String::new();
    let mut csv = String::from(
        "backend,kind,verify_us,bound_us,bound_signatures,verify_over_bound,peer_us,fidogate_over_peer,chain_seen_us,chain_seen_bound_us,chain_seen_bound_signatures,chain_seen_over_bound\n",
    );
    for backend in BACKENDS {
        let _ = writeln!(
            md,
            "\n#### {backend}\n\n| kind | verify µs | bound µs (signatures) | verify / bound{} | webauthn-rs-core µs | fidogate / peer | chain seen: verify µs | its bound µs (signatures) | chain seen / its bound |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|",
            if *backend == "aws-lc" {
                " (goal ≤ 1.10)"
            } else {
                ""
            }
        );
        for kind in KINDS {
            let verify = m.get(&format!("{backend}/{kind}/verify")).copied();
            let (bound, sigs) = bound_entry(&m, &format!("{backend}/{kind}"), "bound-");
            let sigs = sigs.unwrap_or_else(|| "0".to_owned());
            let peer = m
                .get(&format!("{backend}/{kind}/peer-webauthn-rs-core"))
                .copied();
            if verify.is_none() {
                continue;
            }
            // The same registration once the anchors' signature cache
            // holds its chain: what is left is the statement's signature.
            let seen = m
                .get(&format!("{backend}/{kind}/verify-chain-seen"))
                .copied();
            let (seen_bound, seen_sigs) =
                bound_entry(&m, &format!("{backend}/{kind}"), "seen-bound-");
            let seen_sigs =
                seen_sigs.unwrap_or_else(|| if seen.is_some() { "0" } else { "–" }.to_owned());
            let _ = writeln!(
                md,
                "| {kind} | {} | {} ({sigs}) | {} | {} | {} | {} | {} ({seen_sigs}) | {} |",
                us(verify),
                us(bound),
                ratio(verify, bound),
                us(peer),
                ratio(verify, peer),
                us(seen),
                us(seen_bound),
                ratio(seen, seen_bound)
            );
            let _ = writeln!(
                csv,
                "{backend},{kind},{},{},{sigs},{},{},{},{},{},{seen_sigs},{}",
                us(verify),
                us(bound),
                ratio(verify, bound),
                us(peer),
                ratio(verify, peer),
                us(seen),
                us(seen_bound),
                ratio(seen, seen_bound)
            );
        }
    }
    let mut engine = String::from(
        "| backend | kind | verification alone µs | options µs | result µs | (options + result) / verification |\n|---|---|---:|---:|---:|---:|\n",
    );
    let mut extra = String::new();
    for backend in BACKENDS {
        for kind in ["none", "packed-x5c-es256"] {
            let g = |f: &str| m.get(&format!("{backend}/engine/{kind}/{f}")).copied();
            let (v, o, r) = (g("verify-alone"), g("options"), g("result"));
            if v.is_none() {
                continue;
            }
            let flow = o.zip(r).map(|(o, r)| o + r);
            let _ = writeln!(
                engine,
                "| {backend} | {kind} | {} | {} | {} | {} |",
                us(v),
                us(o),
                us(r),
                ratio(flow, v)
            );
        }
        let sign = find(&format!("{backend}/engine/sign-header"));
        let take = find(&format!("{backend}/engine/challenge-issue-take"));
        if sign.is_some() {
            let _ = writeln!(
                extra,
                "- {backend}: one header signed (ES256 JWS) {} µs; one challenge issued and taken in a store of 100,000 {} µs",
                us(sign),
                us(take)
            );
        }
    }
    let md = format!("### Verification\n{md}\n### The engine (no I/O)\n\n{engine}\n{extra}");
    print!("{md}");
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    put(out, "verify.md", &md)?;
    put(out, "verify.csv", &csv)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(dir: &Path, name: &str, bench: &str, estimates: &str) {
        let d = dir.join(name).join("verify").join("new");
        std::fs::create_dir_all(&d).unwrap_or_default();
        std::fs::write(d.join("benchmark.json"), bench).unwrap_or_default();
        std::fs::write(d.join("estimates.json"), estimates).unwrap_or_default();
    }

    #[test]
    fn unreadable_results_are_skipped_and_good_ones_read() {
        let dir = std::env::temp_dir().join(format!("fidogate-crit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let estimates = r#"{"median":{"point_estimate":1234.5}}"#;
        entry(
            &dir,
            "good",
            r#"{"full_id":"aws-lc/none/verify"}"#,
            estimates,
        );
        // Cut, tampered and missing pieces: none of them is read.
        entry(&dir, "cut", r#"{"full_id":"aws-lc/cut/ver"#, estimates);
        entry(
            &dir,
            "no-median",
            r#"{"full_id":"aws-lc/x/verify"}"#,
            r#"{"mean":{"point_estimate":1}}"#,
        );
        entry(
            &dir,
            "text-median",
            r#"{"full_id":"aws-lc/y/verify"}"#,
            r#"{"median":{"point_estimate":"1"}}"#,
        );
        entry(
            &dir,
            "cut-estimates",
            r#"{"full_id":"aws-lc/z/verify"}"#,
            &estimates[..20],
        );
        let m = medians(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        let m = m.ok();
        assert_eq!(
            m.as_ref().map(|m| m.keys().cloned().collect::<Vec<_>>()),
            Some(vec!["aws-lc/none/verify".to_owned()])
        );
        assert_eq!(
            m.and_then(|m| m.get("aws-lc/none/verify").copied()),
            Some(1234.5)
        );
        assert!(medians(Path::new("/nonexistent/criterion")).is_err());
    }
}
