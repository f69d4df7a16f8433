//! Certificate chain validation: the input split into DER certificates
//! (two-byte big-endian lengths), the last one used as the anchor.
#![no_main]

use fidogate_core::UnixTime;
use fidogate_core::trust::{Cert, TrustAnchor, verify_chain};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut parts = Vec::new();
    let mut rest = data;
    while let [hi, lo, tail @ ..] = rest {
        let len = usize::from(*hi) << 8 | usize::from(*lo);
        let take = len.min(tail.len());
        parts.push(&tail[..take]);
        rest = &tail[take..];
        if parts.len() == 9 {
            break;
        }
    }
    let Some((anchor, chain)) = parts.split_last() else {
        return;
    };
    let Ok(anchor) = TrustAnchor::from_der(anchor.to_vec(), "fuzz") else {
        return;
    };
    let certs: Vec<Cert<'_>> = chain
        .iter()
        .enumerate()
        .filter_map(|(i, der)| Cert::parse(der, i).ok())
        .collect();
    let _ = verify_chain(
        &certs,
        &[&anchor],
        UnixTime::from_secs(1_767_225_600),
        "fuzz",
    );
});
