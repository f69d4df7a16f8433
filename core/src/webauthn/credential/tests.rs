//! The one-pass reader against the checks on a parsed value: for every
//! body both must give the same credential or the same error.

use super::*;

const CDJ: &str = "eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIn0"; // {"type":"webauthn.create"}
const AO: &str = "o2NmbXRkbm9uZQ"; // a short CBOR map's start: any base64url will do

fn body(members: &str) -> String {
    format!("{{{members}}}")
}

fn good() -> String {
    body(&format!(
        r#""id":"AAEC","rawId":"AAEC","type":"public-key","response":{{"clientDataJSON":"{CDJ}","attestationObject":"{AO}","transports":["usb","nfc"]}},"clientExtensionResults":{{"credProps":{{"rk":true}}}}"#
    ))
}

/// The members of [`good`], without its braces.
fn good_members() -> String {
    let g = good();
    g.get(1..g.len() - 1).unwrap_or_default().to_owned()
}

fn with_response(response: &str) -> String {
    body(&format!(
        r#""id":"AAEC","type":"public-key","response":{response}"#
    ))
}

fn via_value(bytes: &[u8]) -> Result<RegistrationCredential, CredentialError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| CredentialError::NotJson(e.to_string()))?;
    RegistrationCredential::from_value(&value)
}

struct Case {
    name: &'static str,
    body: Vec<u8>,
    /// `None`: a credential is expected; a `NotJson` message is not
    /// compared (the two paths word it differently).
    error: Option<CredentialError>,
}

fn case(name: &'static str, body: impl Into<Vec<u8>>, error: Option<CredentialError>) -> Case {
    Case {
        name,
        body: body.into(),
        error,
    }
}

fn not_json() -> Option<CredentialError> {
    Some(CredentialError::NotJson(String::new()))
}

fn wrong(field: &'static str, expected: &'static str) -> Option<CredentialError> {
    Some(CredentialError::WrongType { field, expected })
}

fn cases() -> Vec<Case> {
    let many: Vec<String> = (0..17).map(|_| "1".to_owned()).collect();
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    // A member the checks skip, holding a byte that is not UTF-8.
    let mut bad_utf8 = b"{\"x\":\"\xff\",".to_vec();
    bad_utf8.extend_from_slice(good_members().as_bytes());
    bad_utf8.push(b'}');
    vec![
        case("good", good(), None),
        case(
            "rawId-absent",
            with_response(&format!(
                r#"{{"clientDataJSON":"{CDJ}","attestationObject":"{AO}"}}"#
            )),
            None,
        ),
        case(
            "rawId-null-transports-null-extensions-null",
            body(&format!(
                r#""id":"AAEC","rawId":null,"type":"public-key","response":{{"clientDataJSON":"{CDJ}","attestationObject":"{AO}","transports":null}},"clientExtensionResults":null"#
            )),
            None,
        ),
        case(
            "escaped-names-and-values",
            body(&format!(
                r#""\u0069d":"AA\u0045C","rawId":"AAEC","typ\u0065":"public-key","response":{{"clientDataJSON":"{CDJ}","attestationObject":"{AO}","transports":["\u0075sb"]}}"#
            )),
            None,
        ),
        case(
            "duplicate-id-last-wins",
            body(&format!(
                r#""id":"AAAA","id":"AAEC","rawId":"AAEC","type":"public-key","response":{{"clientDataJSON":"{CDJ}","attestationObject":"{AO}"}}"#
            )),
            None,
        ),
        case(
            "duplicate-response-last-is-wrong",
            body(&format!(
                r#""id":"AAEC","type":"public-key","response":{{"clientDataJSON":"{CDJ}","attestationObject":"{AO}"}},"response":7"#
            )),
            wrong("response", "an object"),
        ),
        case(
            "duplicate-type-last-is-wrong",
            body(&format!(
                r#""id":"AAEC","type":"public-key","type":"password","response":{{"clientDataJSON":"{CDJ}","attestationObject":"{AO}"}}"#
            )),
            Some(CredentialError::CredentialType("password".into())),
        ),
        case(
            "unknown-members-of-every-type",
            body(&format!(
                r#""a":1,"b":-2,"c":1.5e3,"d":true,"e":null,"f":[1,{{"g":"h"}}],"i":{{"j":[]}},"authenticatorAttachment":"platform",{}"#,
                good_members()
            )),
            None,
        ),
        case("top-level-array", "[]", not_json()),
        case("top-level-null", "null", not_json()),
        case("top-level-string", r#""id""#, not_json()),
        case(
            "truncated",
            good().get(..40).unwrap_or_default(),
            not_json(),
        ),
        case("trailing-data", format!("{} x", good()), not_json()),
        case("two-objects", format!("{}{}", good(), good()), not_json()),
        case(
            "unknown-number-out-of-range",
            body(&format!(r#""x":1e400,{}"#, good_members())),
            not_json(),
        ),
        case(
            "unknown-lone-surrogate",
            body(&format!(r#""x":"\ud800",{}"#, good_members())),
            not_json(),
        ),
        case("unknown-not-utf8", bad_utf8, not_json()),
        case(
            "unknown-nested-past-the-limit",
            body(&format!(r#""x":{deep},{}"#, good_members())),
            not_json(),
        ),
        case(
            "missing-id",
            body(r#""type":"public-key""#),
            Some(CredentialError::MissingField("id")),
        ),
        case("id-null", body(r#""id":null"#), wrong("id", "a string")),
        case(
            "id-object",
            body(r#""id":{"a":1}"#),
            wrong("id", "a string"),
        ),
        case(
            "id-array",
            body(r#""id":["AAEC"]"#),
            wrong("id", "a string"),
        ),
        case(
            "id-not-base64url",
            body(r#""id":"AA+C""#),
            Some(CredentialError::Base64("id")),
        ),
        case(
            "rawId-number",
            body(r#""id":"AAEC","rawId":5"#),
            wrong("rawId", "a string"),
        ),
        case(
            "ids-differ",
            body(r#""id":"AAEC","rawId":"AAED""#),
            Some(CredentialError::IdMismatch),
        ),
        case(
            "type-missing",
            body(r#""id":"AAEC""#),
            Some(CredentialError::MissingField("type")),
        ),
        case(
            "type-bool",
            body(r#""id":"AAEC","type":true"#),
            wrong("type", "a string"),
        ),
        case(
            "response-missing",
            body(r#""id":"AAEC","type":"public-key""#),
            Some(CredentialError::MissingField("response")),
        ),
        case(
            "response-null",
            with_response("null"),
            wrong("response", "an object"),
        ),
        case(
            "response-array",
            with_response("[{}]"),
            wrong("response", "an object"),
        ),
        case(
            "response-string",
            with_response(r#""{}""#),
            wrong("response", "an object"),
        ),
        case(
            "clientDataJSON-missing",
            with_response(&format!(r#"{{"attestationObject":"{AO}"}}"#)),
            Some(CredentialError::MissingField("response.clientDataJSON")),
        ),
        case(
            "clientDataJSON-at-the-top-does-not-count",
            body(&format!(
                r#""id":"AAEC","type":"public-key","clientDataJSON":"{CDJ}","response":{{"attestationObject":"{AO}"}}"#
            )),
            Some(CredentialError::MissingField("response.clientDataJSON")),
        ),
        case(
            "attestationObject-number",
            with_response(&format!(
                r#"{{"clientDataJSON":"{CDJ}","attestationObject":0}}"#
            )),
            wrong("response.attestationObject", "a string"),
        ),
        case(
            "clientDataJSON-too-large",
            with_response(&format!(
                r#"{{"clientDataJSON":"{}","attestationObject":"{AO}"}}"#,
                "A".repeat(MAX_CLIENT_DATA_LEN / 3 * 4 + 8)
            )),
            Some(CredentialError::TooLarge {
                field: "response.clientDataJSON",
                len: (MAX_CLIENT_DATA_LEN / 3 * 4 + 8) / 4 * 3,
                max: MAX_CLIENT_DATA_LEN,
            }),
        ),
        case(
            "transports-object",
            with_response(&format!(
                r#"{{"clientDataJSON":"{CDJ}","attestationObject":"{AO}","transports":{{}}}}"#
            )),
            wrong("response.transports", "an array of strings"),
        ),
        case(
            "transports-string",
            with_response(&format!(
                r#"{{"clientDataJSON":"{CDJ}","attestationObject":"{AO}","transports":"usb"}}"#
            )),
            wrong("response.transports", "an array of strings"),
        ),
        case(
            "transports-number-entry",
            with_response(&format!(
                r#"{{"clientDataJSON":"{CDJ}","attestationObject":"{AO}","transports":["usb",1]}}"#
            )),
            wrong("response.transports", "an array of strings"),
        ),
        case(
            "transports-null-entry",
            with_response(&format!(
                r#"{{"clientDataJSON":"{CDJ}","attestationObject":"{AO}","transports":[null]}}"#
            )),
            wrong("response.transports", "an array of strings"),
        ),
        case(
            "transports-too-many-of-the-wrong-type",
            with_response(&format!(
                r#"{{"clientDataJSON":"{CDJ}","attestationObject":"{AO}","transports":[{}]}}"#,
                many.join(",")
            )),
            Some(CredentialError::TooLarge {
                field: "response.transports",
                len: 17,
                max: MAX_TRANSPORTS,
            }),
        ),
        case(
            "transports-at-the-limit",
            with_response(&format!(
                r#"{{"clientDataJSON":"{CDJ}","attestationObject":"{AO}","transports":[{}]}}"#,
                vec![r#""usb""#; MAX_TRANSPORTS].join(",")
            )),
            None,
        ),
        case(
            "extensions-array",
            body(&format!(
                r#"{},"clientExtensionResults":[]"#,
                good_members()
            )),
            wrong("clientExtensionResults", "an object"),
        ),
    ]
}

#[test]
fn one_pass_reader_agrees_with_the_value_checks() {
    for c in cases() {
        let fast = RegistrationCredential::from_json(&c.body);
        let slow = via_value(&c.body);
        match (&fast, &slow, &c.error) {
            (Ok(a), Ok(b), None) => assert_eq!(a, b, "{}", c.name),
            (
                Err(CredentialError::NotJson(_)),
                Err(CredentialError::NotJson(_)),
                Some(CredentialError::NotJson(_)),
            ) => {}
            (Err(a), Err(b), Some(want)) => {
                assert_eq!(a, want, "{}: one pass", c.name);
                assert_eq!(b, want, "{}: value", c.name);
            }
            _ => panic!(
                "{}: one pass {fast:?}, value {slow:?}, want {:?}",
                c.name, c.error
            ),
        }
    }
}

#[test]
fn reads_every_member_the_checks_keep() {
    let c = RegistrationCredential::from_json(good().as_bytes()).unwrap();
    assert_eq!(c.raw_id, [0, 1, 2]);
    assert_eq!(c.client_data_json, br#"{"type":"webauthn.create"}"#);
    assert_eq!(c.transports, ["usb", "nfc"]);
    assert_eq!(
        Value::Object(c.client_extension_results),
        serde_json::json!({ "credProps": { "rk": true } })
    );
}

#[test]
fn every_truncation_is_refused() {
    let whole = good();
    for end in 0..whole.len() {
        let cut = whole.get(..end).unwrap_or_default();
        assert!(
            matches!(
                RegistrationCredential::from_json(cut.as_bytes()),
                Err(CredentialError::NotJson(_))
            ),
            "cut at {end}"
        );
    }
}
