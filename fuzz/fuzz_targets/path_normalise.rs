//! Path normalisation, differentially: reading the normalised segments
//! back (each `%`, `/`, `?` and `#` in them escaped) gives the same segments, and a
//! path that matches a template matches it in every equivalent spelling
//! (escaped bytes, escaped again, doubled slashes, a trailing slash, `.`).
#![no_main]

use fidogate_core::gateway::route::{PathTemplate, RequestPath, normalize};
use libfuzzer_sys::fuzz_target;

/// Whether `s` holds a `%XX` escape.
fn has_escape(s: &str) -> bool {
    s.as_bytes()
        .windows(3)
        .any(|w| w[0] == b'%' && w[1].is_ascii_hexdigit() && w[2].is_ascii_hexdigit())
}

fuzz_target!(|data: &[u8]| {
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    let Some(segments) = normalize(path) else {
        return;
    };
    // Every character normalisation treats as syntax is escaped: `%`, `/`,
    // and `?` and `#`, which end the path.
    let escaped: Vec<String> = segments
        .iter()
        .map(|s| {
            s.replace('%', "%25")
                .replace('/', "%2F")
                .replace('?', "%3F")
                .replace('#', "%23")
        })
        .collect();
    let joined = format!("/{}", escaped.join("/"));
    // A segment still holding an escape, `;`, `?` or `#` was cut off by the
    // round limit: read back, it would decode further. Otherwise the
    // segments come back as they are.
    let settled = segments
        .iter()
        .all(|s| !s.contains([';', '?', '#']) && !has_escape(s));
    if settled {
        assert_eq!(
            normalize(&joined).as_ref(),
            Some(&segments),
            "read back: {path:?}"
        );
    }
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
