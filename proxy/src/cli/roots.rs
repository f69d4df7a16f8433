//! Loading trust anchors from PEM files and folders.

use fidogate_core::trust::TrustAnchor;
use std::path::Path;

/// Reads every certificate from `path`: a PEM (or DER) file, or a folder
/// whose `.pem`, `.crt`, `.cer` and `.der` files are read (not recursively).
pub(crate) fn load(path: &Path) -> Result<Vec<TrustAnchor>, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("--roots {}: {e}", path.display()))?;
    if !meta.is_dir() {
        return load_file(path);
    }
    let mut entries: Vec<_> = std::fs::read_dir(path)
        .map_err(|e| format!("--roots {}: {e}", path.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                    matches!(
                        e.to_ascii_lowercase().as_str(),
                        "pem" | "crt" | "cer" | "der"
                    )
                })
        })
        .collect();
    entries.sort();
    if entries.is_empty() {
        return Err(format!(
            "--roots {}: the folder holds no .pem, .crt, .cer or .der file",
            path.display()
        ));
    }
    let mut out = Vec::new();
    for p in entries {
        out.extend(load_file(&p)?);
    }
    Ok(out)
}

fn load_file(path: &Path) -> Result<Vec<TrustAnchor>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("--roots {}: {e}", path.display()))?;
    let name = path.display().to_string();
    if bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        TrustAnchor::from_pem(&bytes, &name).map_err(|e| e.to_string())
    } else {
        TrustAnchor::from_der(bytes, &name)
            .map(|a| vec![a])
            .map_err(|e| e.to_string())
    }
}
