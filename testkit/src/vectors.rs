//! Access to the shared registration captures (`FIDOGATE_VECTORS`, default
//! `../shared/vectors` beside the workspace). They are read in place, never
//! copied into the project.

use serde_json::Value;
use std::path::PathBuf;

/// The vectors folder, or `None` (after printing why) when it is absent.
pub fn dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("FIDOGATE_VECTORS") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors"),
    };
    if dir.join("webauthn").is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: shared registration vectors not found at {} (set FIDOGATE_VECTORS); \
             only the project's own generated vectors were checked",
            dir.display()
        );
        None
    }
}

/// One WebAuthn capture.
#[derive(Debug, Clone)]
pub struct WebauthnVector {
    /// File name.
    pub name: String,
    /// The whole file.
    pub json: Value,
}

impl WebauthnVector {
    /// `rp_id`.
    pub fn rp_id(&self) -> &str {
        self.json["rp_id"].as_str().expect("rp_id")
    }
    /// `origin`.
    pub fn origin(&self) -> &str {
        self.json["origin"].as_str().expect("origin")
    }
    /// `challenge_b64url`.
    pub fn challenge_b64url(&self) -> &str {
        self.json["challenge_b64url"]
            .as_str()
            .expect("challenge_b64url")
    }
    /// `credential`.
    pub fn credential(&self) -> &Value {
        &self.json["credential"]
    }
    /// `expect`.
    pub fn expect(&self) -> &Value {
        &self.json["expect"]
    }
    /// `expect.ok`.
    pub fn ok(&self) -> bool {
        self.expect()["ok"].as_bool().expect("expect.ok")
    }
    /// `expect.trust_anchors`, as paths.
    pub fn trust_anchors(&self, dir: &std::path::Path) -> Vec<PathBuf> {
        self.expect()["trust_anchors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(|p| dir.join(p))
                    .collect()
            })
            .unwrap_or_default()
    }
    /// `expect.verification_time`.
    pub fn verification_time(&self) -> Option<&str> {
        self.expect()["verification_time"].as_str()
    }
}

/// Every WebAuthn capture in `dir/webauthn`, sorted by name.
pub fn webauthn(dir: &std::path::Path) -> Vec<WebauthnVector> {
    let mut out: Vec<_> = std::fs::read_dir(dir.join("webauthn"))
        .expect("read vectors")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json") && !p.ends_with("index.json"))
        .map(|p| WebauthnVector {
            name: p.file_name().unwrap().to_string_lossy().into_owned(),
            json: serde_json::from_slice(&std::fs::read(&p).expect("read vector"))
                .expect("vector JSON"),
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(!out.is_empty(), "no vectors in {}", dir.display());
    out
}

/// Every UAF capture in `dir/uaf`, as (file name, JSON), sorted by name.
pub fn uaf(dir: &std::path::Path) -> Vec<(String, Value)> {
    let mut out: Vec<_> = std::fs::read_dir(dir.join("uaf"))
        .expect("read UAF vectors")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                serde_json::from_slice(&std::fs::read(&p).expect("read vector"))
                    .expect("vector JSON"),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The JSON example of seed document `prefix` (e.g. `"000"`): the first
/// fenced JSON block, read in place from `../shared/seeds`.
pub fn seed_example(dir: &std::path::Path, prefix: &str) -> Option<Value> {
    let seeds = dir.parent()?.join("seeds");
    let path = std::fs::read_dir(&seeds)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
        })?;
    let text = std::fs::read_to_string(path).ok()?;
    let start = text.find("~~~ json")? + "~~~ json".len();
    let end = start + text[start..].find("~~~")?;
    serde_json::from_str(&text[start..end]).ok()
}
