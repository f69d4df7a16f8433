//! FIDO Metadata Service (MDS3) data, offline: the signed BLOB (a compact
//! JWS whose certificate path is built to configured roots), its payload
//! (lenient where real data is messy, strict where it matters), and the
//! entries looked up by AAGUID, AAID or attestation key identifier.
//!
//! The core reads no file and no clock: the BLOB's bytes, the roots and
//! the verification instant are arguments.

mod blob;
mod crl;
mod date;
mod decide;
mod payload;
mod roots;

pub use blob::{BlobError, MAX_BLOB_LEN, MAX_PATH_LEN, SignedBlob, VerifiedBlob, verify_blob};
pub use crl::{Revocation, RevocationError, check_revocation, read_crls};
pub use date::{Date, DateError};
pub use decide::{
    AUTHENTICATOR_STATUSES, DEFAULT_REJECT_STATUSES, EntryId, EntrySource, Metadata, MetadataError,
    MetadataPolicy, MetadataVerdict, chains_to_statement, is_certification_level, key_identifier,
};
pub use payload::{
    Entry, Payload, PayloadError, Quarantined, Statement, StatusReport, parse_statement,
};
pub use roots::{GLOBALSIGN_R3_SHA256, default_metadata_roots};
