//! Reading the files a configuration names: regular files only (a FIFO or
//! a device would block the start or never end), bounded, every problem
//! named.

use std::io::Read as _;
use std::path::Path;

/// The largest configuration file read.
pub const MAX_CONFIG_FILE: u64 = 1024 * 1024;
/// The largest certificate, CA, CRL or root file read.
pub const MAX_PEM_FILE: u64 = 16 * 1024 * 1024;

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// It could not be opened or read.
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
    /// A folder, device, FIFO or socket.
    #[error("is not a regular file")]
    NotRegular,
    /// Past the bound.
    #[error("is {len} bytes; at most {limit} are read")]
    TooLarge {
        /// Its length (at least `limit + 1` when it grew while read).
        len: u64,
        /// The bound.
        limit: u64,
    },
}

/// The bytes of `path`, a regular file of at most `limit` bytes.
pub fn read_regular(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular);
    }
    if meta.len() > limit {
        return Err(ReadError::TooLarge {
            len: meta.len(),
            limit,
        });
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(limit + 1)
        .read_to_end(&mut bytes)?;
    let len = bytes.len() as u64;
    if len > limit {
        return Err(ReadError::TooLarge { len, limit });
    }
    Ok(bytes)
}
