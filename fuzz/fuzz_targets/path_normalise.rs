//! Path normalisation, differentially: reading the normalised segments
//! back (each `%` and `/` in them escaped) gives the same segments, and a
//! path that matches a template matches it in every equivalent spelling
//! (escaped bytes, escaped again, doubled slashes, a trailing slash, `.`).
#![no_main]

use fidogate_core::gateway::route::{PathTemplate, RequestPath, normalize};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    let Some(segments) = normalize(path) else {
        return;
    };
    let escaped: Vec<String> = segments
        .iter()
        .map(|s| s.replace('%', "%25").replace('/', "%2F"))
        .collect();
    let joined = format!("/{}", escaped.join("/"));
    assert_eq!(
        normalize(&joined).as_ref(),
        Some(&segments),
        "read back: {path:?}"
    );
    let template = PathTemplate::parse("/attestation/result").unwrap();
    let Some(request) = RequestPath::new(path) else {
        return;
    };
    if template.matches(&request).is_some() {
        for spelling in [
            format!("/{}/", segments.join("/")),
            format!("//{}", segments.join("//")),
            format!("/./{}", segments.join("/")),
            joined.replacen('a', "%61", 1),
            joined.replacen('t', "%2574", 1),
            joined.replace('/', "/%2e/"),
        ] {
            let again = RequestPath::new(&spelling).expect("an equivalent spelling is a path");
            assert!(
                template.matches(&again).is_some(),
                "{path:?} matched, {spelling:?} did not"
            );
        }
    }
});
