//! Header hygiene and framing: the client copies of the verified-credential
//! header, and Content-Length.

use http::header::CONTENT_LENGTH;
use http::{HeaderMap, HeaderName, HeaderValue};

/// A header name's byte as proxies and CGI-style servers may fold it:
/// case-insensitive, `_` read as `-`.
fn fold(b: u8) -> u8 {
    if b == b'_' {
        b'-'
    } else {
        b.to_ascii_lowercase()
    }
}

/// `name` folded (the configured header's comparison key).
pub(in crate::gateway) fn header_key(name: &str) -> String {
    name.bytes().map(|b| char::from(fold(b))).collect()
}

/// Whether `name` folds to `key`, without allocating (it runs on every
/// header of every request).
fn folds_to(name: &str, key: &str) -> bool {
    name.len() == key.len() && name.bytes().zip(key.bytes()).all(|(n, k)| fold(n) == k)
}

/// The names in `headers` that fold to `key`; an empty result does not
/// allocate.
pub(in crate::gateway) fn spoofed(headers: &HeaderMap, key: &str) -> Vec<HeaderName> {
    // `keys()` yields each name once.
    headers
        .keys()
        .filter(|k| folds_to(k.as_str(), key))
        .cloned()
        .collect()
}

/// Content-Length is not one number, or several disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::gateway) struct BadContentLength;

/// The Content-Length, if there is one.
pub(in crate::gateway) fn content_length(
    headers: &HeaderMap,
) -> Option<Result<u64, BadContentLength>> {
    let mut values = headers.get_all(CONTENT_LENGTH).iter();
    let first = values.next()?;
    let parse = |v: &HeaderValue| {
        v.to_str()
            .ok()
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or(BadContentLength)
    };
    let len = parse(first);
    for other in values {
        if parse(other) != len {
            return Some(Err(BadContentLength));
        }
    }
    Some(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn spoofed_copies_in_any_spelling() {
        let key = header_key("Fidogate-Credential");
        let h = map(&[
            ("fidogate-credential", "a"),
            ("fidogate_credential", "b"),
            ("FIDOGATE_CREDENTIAL", "c"),
            ("fidogate-credentials", "d"),
            ("x-fidogate-credential", "e"),
        ]);
        let mut found: Vec<_> = spoofed(&h, &key).iter().map(|n| n.to_string()).collect();
        found.sort();
        assert_eq!(found, ["fidogate-credential", "fidogate_credential"]);
        assert!(spoofed(&map(&[("accept", "x")]), &key).is_empty());
    }

    #[test]
    fn content_length_cases() {
        struct Case {
            name: &'static str,
            values: &'static [&'static str],
            want: Option<Result<u64, BadContentLength>>,
        }
        let cases = [
            Case {
                name: "absent",
                values: &[],
                want: None,
            },
            Case {
                name: "one",
                values: &["42"],
                want: Some(Ok(42)),
            },
            Case {
                name: "agreeing",
                values: &["7", "7"],
                want: Some(Ok(7)),
            },
            Case {
                name: "disagreeing",
                values: &["7", "8"],
                want: Some(Err(BadContentLength)),
            },
            Case {
                name: "signed",
                values: &["+7"],
                want: Some(Err(BadContentLength)),
            },
            Case {
                name: "list",
                values: &["7, 7"],
                want: Some(Err(BadContentLength)),
            },
            Case {
                name: "empty",
                values: &[""],
                want: Some(Err(BadContentLength)),
            },
            Case {
                name: "overflow",
                values: &["99999999999999999999999"],
                want: Some(Err(BadContentLength)),
            },
        ];
        for c in cases {
            let pairs: Vec<_> = c.values.iter().map(|v| ("content-length", *v)).collect();
            assert_eq!(content_length(&map(&pairs)), c.want, "{}", c.name);
        }
    }
}
