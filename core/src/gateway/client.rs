//! `fidogate.js`, the browser client, as the gateway serves it: the
//! module's bytes, a strong ETag over them, and the conditional GET.

use crate::crypto::sha256;
use http::HeaderMap;
use http::header::IF_NONE_MATCH;

/// The module (client/fidogate.js in the source tree).
pub const FIDOGATE_JS: &str = include_str!("../../../client/fidogate.js");

/// The default path it is served at.
pub const DEFAULT_CLIENT_PATH: &str = "/.well-known/fidogate/fidogate.js";

/// The module with its entity tag.
#[derive(Debug)]
pub(in crate::gateway) struct Script {
    pub body: Vec<u8>,
    pub etag: String,
}

impl Script {
    pub(in crate::gateway) fn new() -> Self {
        let digest = sha256(FIDOGATE_JS.as_bytes());
        let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
        Self {
            body: FIDOGATE_JS.as_bytes().to_vec(),
            etag: format!("\"{hex}\""),
        }
    }

    /// Whether the request's `If-None-Match` names this version (weak
    /// comparison, as RFC 9110 §13.1.2 has it; `*` matches any).
    pub(in crate::gateway) fn not_modified(&self, headers: &HeaderMap) -> bool {
        headers
            .get_all(IF_NONE_MATCH)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == self.etag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn if_none_match_is_compared_weakly_in_a_list() {
        let s = Script::new();
        assert_eq!(s.etag.len(), 34);
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(IF_NONE_MATCH, HeaderValue::from_str(v).unwrap());
            s.not_modified(&h)
        };
        assert!(!s.not_modified(&HeaderMap::new()));
        assert!(with(&s.etag));
        assert!(with(&format!("W/{}", s.etag)));
        assert!(with(&format!("\"other\", {}", s.etag)));
        assert!(with("*"));
        assert!(!with("\"other\""));
        assert!(
            !with(s.etag.trim_matches('"')),
            "an unquoted tag is not the tag"
        );
    }
}
