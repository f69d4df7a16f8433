//! MDS3 data: the BLOB's JWS (header, x5c, signature, path), a payload
//! and a statement, and CRL files.
#![no_main]

use fidogate_core::UnixTime;
use fidogate_core::metadata::{Payload, parse_statement, read_crls, verify_blob};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = verify_blob(data, &[], UnixTime::from_secs(1_698_796_800));
    let _ = Payload::parse(data);
    let _ = parse_statement(data);
    let _ = read_crls(data);
});
