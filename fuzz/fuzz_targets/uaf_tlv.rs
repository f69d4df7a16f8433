//! UAFV1TLV: the TLV reader and the registration assertion structure.
#![no_main]

use fidogate_core::uaf::assertion::parse_reg_assertion;
use fidogate_core::uaf::tlv::parse_all;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse_all(data, "fuzz");
    let _ = parse_reg_assertion(data);
});
