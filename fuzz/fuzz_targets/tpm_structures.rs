//! TPM structures fed directly: TPMT_PUBLIC (pubArea) and TPMS_ATTEST
//! (certInfo), then both inside a `tpm` statement (the input split at its
//! first 0xff 0xff) checked against fixed authenticator data.
#![no_main]

use ciborium::value::Value;
use fidogate_core::webauthn::Format;
use fidogate_core::webauthn::attestation::fuzzing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = fuzzing::tpm_pub_area(data);
    let _ = fuzzing::tpm_cert_info(data);
    let (pub_area, cert_info) = match data.windows(2).position(|w| w == [0xff, 0xff]) {
        Some(at) => (&data[..at], &data[at + 2..]),
        None => (data, &b""[..]),
    };
    let stmt = Value::Map(vec![
        (Value::from("ver"), Value::from("2.0")),
        (Value::from("alg"), Value::from(-7)),
        (Value::from("x5c"), Value::Array(vec![])),
        (Value::from("sig"), Value::Bytes(vec![0; 64])),
        (Value::from("certInfo"), Value::Bytes(cert_info.to_vec())),
        (Value::from("pubArea"), Value::Bytes(pub_area.to_vec())),
    ]);
    let _ = fuzzing::statement(Format::Tpm, &stmt);
});
