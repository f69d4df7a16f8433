//! Path templates and the path normalisation used to match them.
//!
//! # Security
//! The gateway forwards the path as the client sent it, and the app's
//! router may read it more loosely than a byte comparison would: with
//! percent-escapes, doubled or trailing slashes, dot segments, `;`
//! parameters or another letter case. So a path is matched after all of
//! those are normalised away: every spelling that could reach the app's
//! registration handler is intercepted.

/// One segment of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
}

/// A path template such as `/regRequest/{username}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathTemplate {
    source: String,
    segments: Vec<Segment>,
}

/// A path template that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{template:?}: {kind}")]
pub struct PathError {
    /// The template as configured.
    pub template: String,
    /// What is wrong with it.
    pub kind: PathErrorKind,
}

/// What is wrong with a path template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathErrorKind {
    /// It does not start with `/`.
    #[error("must start with '/'")]
    NoLeadingSlash,
    /// It is not a path (too many segments, a dot segment above the root,
    /// a bad percent-escape).
    #[error("is not a valid path")]
    Invalid,
    /// A `{name}` parameter's name is not letters, digits and `_`.
    #[error("bad parameter name {0:?}")]
    ParameterName(String),
    /// A brace inside a segment.
    #[error("a parameter must be a whole segment, as in /x/{{name}}")]
    PartialParameter,
}

/// Most segments a path may have to be matched at all.
const MAX_SEGMENTS: usize = 64;

impl PathTemplate {
    /// Parses a template: it starts with `/`; a segment is either literal
    /// text or one `{name}` parameter (letters, digits, `_`).
    pub fn parse(template: &str) -> Result<Self, PathError> {
        let err = |kind| PathError {
            template: template.to_owned(),
            kind,
        };
        if !template.starts_with('/') {
            return Err(err(PathErrorKind::NoLeadingSlash));
        }
        let segments = normalize(template)
            .ok_or_else(|| err(PathErrorKind::Invalid))?
            .into_iter()
            .map(|seg| {
                if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    if name.is_empty()
                        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    {
                        return Err(err(PathErrorKind::ParameterName(name.to_owned())));
                    }
                    Ok(Segment::Param(name.to_owned()))
                } else if seg.contains(['{', '}']) {
                    Err(err(PathErrorKind::PartialParameter))
                } else {
                    Ok(Segment::Literal(seg.to_ascii_lowercase()))
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            source: template.to_owned(),
            segments,
        })
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the template names parameter `name`.
    pub fn has_param(&self, name: &str) -> bool {
        self.segments
            .iter()
            .any(|s| matches!(s, Segment::Param(p) if p == name))
    }

    /// Whether two templates match the same paths (parameter names aside).
    pub fn same_shape(&self, other: &Self) -> bool {
        self.segments.len() == other.segments.len()
            && self
                .segments
                .iter()
                .zip(&other.segments)
                .all(|pair| match pair {
                    (Segment::Literal(a), Segment::Literal(b)) => a == b,
                    (Segment::Param(_), Segment::Param(_)) => true,
                    _ => false,
                })
    }

    /// Matches a request path; on a match, the parameters. Allocates only
    /// on a match with parameters.
    pub fn matches(&self, path: &RequestPath<'_>) -> Option<Vec<(String, String)>> {
        let segments = path.segments();
        if segments.clone().count() != self.segments.len() {
            return None;
        }
        let pairs = self.segments.iter().zip(segments);
        let fits = pairs.clone().all(|(template, seg)| match template {
            Segment::Literal(lit) => lit.eq_ignore_ascii_case(seg),
            Segment::Param(_) => !seg.is_empty(),
        });
        fits.then(|| {
            pairs
                .filter_map(|(template, seg)| match template {
                    Segment::Param(name) => Some((name.clone(), seg.to_owned())),
                    Segment::Literal(_) => None,
                })
                .collect()
        })
    }
}

/// A request path as read for matching: borrowed as sent when nothing in
/// it needs normalising (the common case, so pass-through requests cost no
/// allocation), otherwise [`normalize`]d.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestPath<'a>(Repr<'a>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Repr<'a> {
    /// The path after its leading `/`: segments non-empty, no `.` or `..`,
    /// no `%` escapes, no `;` parameters.
    Plain(&'a str),
    Normalized(Vec<String>),
}

impl<'a> RequestPath<'a> {
    /// Reads `path` (a query or fragment is ignored); `None` when it is too
    /// deep to match any template.
    pub fn new(path: &'a str) -> Option<Self> {
        let bare = path.split(['?', '#']).next().unwrap_or_default();
        if let Some(rest) = bare.strip_prefix('/')
            && !rest.contains(['%', ';'])
            && (rest.is_empty() || rest.split('/').all(|s| !matches!(s, "" | "." | "..")))
        {
            return Some(Self(Repr::Plain(rest)));
        }
        normalize(bare).map(|segments| Self(Repr::Normalized(segments)))
    }

    fn segments(&self) -> Segments<'_> {
        match &self.0 {
            Repr::Plain("") => Segments::Plain(None),
            Repr::Plain(rest) => Segments::Plain(Some(rest.split('/'))),
            Repr::Normalized(v) => Segments::Normalized(v.iter()),
        }
    }
}

#[derive(Clone)]
enum Segments<'a> {
    Plain(Option<std::str::Split<'a, char>>),
    Normalized(std::slice::Iter<'a, String>),
}

impl<'a> Iterator for Segments<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        match self {
            Self::Plain(split) => split.as_mut()?.next(),
            Self::Normalized(it) => it.next().map(String::as_str),
        }
    }
}

/// Most rounds of `;`-stripping and percent-decoding a segment gets: an
/// app that decodes more often than this is not one a router would be.
const MAX_DECODE_ROUNDS: usize = 8;

/// Splits a request path (no query) into segments the way a lenient router
/// would read it: `;` parameters dropped, percent-escapes decoded, empty and
/// `.` segments dropped, `..` resolved. `None` when too deep to match.
///
/// A segment is stripped and decoded again until it no longer changes
/// (at most [`MAX_DECODE_ROUNDS`] times), so that a spelling an app would
/// reach only by decoding twice (`%2572` for `r`, `%3b` before a
/// parameter, `%3f` before a query, `%23` before a fragment) is
/// intercepted too.
pub fn normalize(path: &str) -> Option<Vec<String>> {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let mut out: Vec<String> = Vec::new();
    for raw in path.split('/') {
        let mut seg = raw.to_owned();
        for _ in 0..MAX_DECODE_ROUNDS {
            // What decoding made of `;`, `?` or `#` ends the segment for an
            // app that reads the decoded path again.
            let next = percent_decode(seg.split([';', '?', '#']).next().unwrap_or_default());
            if next == seg {
                break;
            }
            seg = next;
        }
        match seg.as_str() {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            _ => out.push(seg),
        }
        if out.len() > MAX_SEGMENTS {
            return None;
        }
    }
    Some(out)
}

/// Decodes `%XX` escapes (leaving malformed ones as they are); invalid
/// UTF-8 becomes U+FFFD.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%'
            && let (Some(h), Some(l)) = (bytes.get(i + 1), bytes.get(i + 2))
            && let (Some(h), Some(l)) = (char::from(*h).to_digit(16), char::from(*l).to_digit(16))
            && let Ok(v) = u8::try_from(h * 16 + l)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(template: &str, path: &str) -> Option<Vec<(String, String)>> {
        PathTemplate::parse(template)
            .unwrap()
            .matches(&RequestPath::new(path).unwrap())
    }

    #[test]
    fn literal_and_params() {
        assert_eq!(
            m("/attestation/result", "/attestation/result"),
            Some(vec![])
        );
        assert_eq!(
            m("/regRequest/{username}", "/regRequest/alice"),
            Some(vec![("username".into(), "alice".into())])
        );
        assert_eq!(m("/regRequest/{username}", "/regRequest"), None);
        assert_eq!(m("/regRequest/{username}", "/regRequest/a/b"), None);
        assert_eq!(m("/attestation/result", "/attestation/options"), None);
        assert_eq!(
            m("/regRequest/{username}", "/regRequest/al%69ce%40x"),
            Some(vec![("username".into(), "alice@x".into())])
        );
    }

    #[test]
    fn normalising_again_changes_nothing() {
        // Found by the path_normalise fuzz target: one round of decoding
        // made new escapes ("%%33..." gave "%3..."), which a second read
        // decoded again.
        for path in [
            "/%%%ee%e%%%3333%ee%e%%%de%ee%%ee%e/eeu/",
            "/%2525252561",
            "/a%2fb/%25zz",
        ] {
            let once = normalize(path).unwrap();
            let again: Vec<String> = once
                .iter()
                .map(|s| s.replace('%', "%25").replace('/', "%2F"))
                .collect();
            let again = normalize(&format!("/{}", again.join("/"))).unwrap();
            assert_eq!(once, again, "{path}");
        }
        assert_eq!(normalize("/%2525252561").unwrap(), vec!["a".to_owned()]);
    }

    #[test]
    fn every_lenient_spelling_matches() {
        for spelling in [
            "/attestation/result/",
            "//attestation//result",
            "/attestation/./result",
            "/x/../attestation/result",
            "/attestation/%72esult",
            "/Attestation/RESULT",
            "/attestation/result;jsessionid=1",
            "/attestation/result?x=1",
            // Spellings an app reaches by decoding twice.
            "/attestation/%2572esult",
            "/attestation/result%3bjsessionid=1",
            "/attestation/result%253bx",
            "/attestation/result%3fx=1",
            "/attestation/result%23top",
            "/attestation/result%253Fx",
            "/%252e%252e/attestation/%2e/result",
        ] {
            assert_eq!(
                m("/attestation/result", spelling),
                Some(vec![]),
                "{spelling}"
            );
        }
    }

    #[test]
    fn plain_paths_are_borrowed_and_match_as_normalised_ones() {
        let t = PathTemplate::parse("/regRequest/{username}").unwrap();
        let root = PathTemplate::parse("/").unwrap();
        for p in [
            "/regRequest/bob",
            "/regrequest/bob?x=1",
            "/",
            "/regRequest",
            "/a/b/c",
        ] {
            let plain = RequestPath::new(p).unwrap();
            assert!(matches!(plain.0, Repr::Plain(_)), "{p}");
            let normalized = RequestPath(Repr::Normalized(normalize(p).unwrap()));
            assert_eq!(t.matches(&plain), t.matches(&normalized), "{p}");
            assert_eq!(root.matches(&plain), root.matches(&normalized), "{p}");
        }
        for p in ["/a//b", "/a/./b", "/a/%62", "/a;x", "/a/", "relative"] {
            assert!(
                matches!(RequestPath::new(p).unwrap().0, Repr::Normalized(_)),
                "{p}"
            );
        }
        assert_eq!(root.matches(&RequestPath::new("/").unwrap()), Some(vec![]));
    }

    #[test]
    fn same_shape_ignores_case_and_parameter_names() {
        let t = |s| PathTemplate::parse(s).unwrap();
        assert!(t("/a/{x}").same_shape(&t("/A/{y}/")));
        assert!(!t("/a/{x}").same_shape(&t("/a/b")));
        assert!(!t("/a").same_shape(&t("/a/b")));
    }

    #[test]
    fn bad_templates() {
        let deep = "/a".repeat(65);
        for (t, kind) in [
            ("attestation", PathErrorKind::NoLeadingSlash),
            ("/a/{}", PathErrorKind::ParameterName(String::new())),
            ("/a/{b c}", PathErrorKind::ParameterName("b c".into())),
            ("/a/x{name}", PathErrorKind::PartialParameter),
            ("/a/{name}x", PathErrorKind::PartialParameter),
            (deep.as_str(), PathErrorKind::Invalid),
        ] {
            assert_eq!(
                PathTemplate::parse(t),
                Err(PathError {
                    template: t.to_owned(),
                    kind
                }),
                "{t}"
            );
        }
        assert!(PathTemplate::parse("/a/{name}").unwrap().has_param("name"));
    }

    #[test]
    fn depth_is_bounded_and_decoding_never_panics() {
        assert!(normalize(&"/a".repeat(65)).is_none());
        for p in ["/%", "/%4", "/%zz", "/%ff%fe", "/%e2%82"] {
            assert!(normalize(p).is_some());
        }
    }
}
