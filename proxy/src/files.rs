//! Reading the files a configuration names: regular files only (a FIFO or
//! a device would block the start or never end), bounded, every problem
//! named.

use std::io::Read as _;
use std::path::Path;

/// The largest configuration file read.
pub const MAX_CONFIG_FILE: u64 = 1024 * 1024;
/// The largest certificate, CA, CRL or root file read.
pub const MAX_PEM_FILE: u64 = 16 * 1024 * 1024;

/// The bytes of `path`, a regular file of at most `limit` bytes.
pub fn read_regular(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read: {e}"))?;
    if !meta.is_file() {
        return Err("is not a regular file".to_owned());
    }
    if meta.len() > limit {
        return Err(format!("is {} bytes; at most {limit} are read", meta.len()));
    }
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read: {e}"))?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > limit {
        return Err(format!("grew past {limit} bytes while it was read"));
    }
    Ok(bytes)
}
