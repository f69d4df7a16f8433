//! RegistrationResponse processing (UAF Protocol §3.4.6.5, server-side
//! processing of registration responses), strict throughout: the final
//! challenge hash, AppID and FacetID are checked, and an assertion whose
//! signature or chain fails is an error, never a stored record.

use super::assertion::{UafRegistration, verify_assertion_json};
use super::error::{FinalChallengeError, MessageError, ServerDataError, UafError};
use super::request::RegistrationPolicy;
use super::server_data::ServerDataKey;
use crate::b64;
use crate::crypto::{constant_time_eq, sha256};
use crate::time::UnixTime;
use crate::trust::TrustAnchors;
use serde_json::{Map, Value};

/// Most RegistrationResponse entries, and assertions per entry, accepted.
pub const MAX_ENTRIES: usize = 8;

/// What the server expects of a registration response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UafExpectations {
    /// The AppID (`header.appID` and `fcParams.appID`).
    pub app_id: String,
    /// The challenge issued (`fcParams.challenge`), compared exactly.
    pub challenge: String,
    /// Trusted FacetIDs. Empty: only a web facet with the AppID's own
    /// https origin is trusted (FIDO AppID and Facet §3.1.2).
    pub trusted_facets: Vec<String>,
    /// Which AAIDs may register.
    pub policy: RegistrationPolicy,
    /// Reject attestations that do not chain to an anchor configured for
    /// their AAID (basic_surrogate never does).
    pub require_trusted: bool,
}

/// Whether `header.serverData` is checked here or by the caller.
#[derive(Debug, Clone, Copy)]
pub enum ServerDataCheck<'a> {
    /// The caller has checked it (or, offline, cannot).
    Skip,
    /// Verify its MAC and expiry, that it was issued for the expected
    /// challenge, and (when given) for this user.
    Verify {
        /// The MAC key.
        key: &'a ServerDataKey,
        /// The user the request was issued for.
        username: Option<&'a str>,
    },
}

/// Verifies a `/regResponse` body: the JSON array of RegistrationResponse.
/// Returns one registration per assertion; any failure rejects the whole.
pub fn verify_registration_response(
    body: &Value,
    expected: &UafExpectations,
    server_data: ServerDataCheck<'_>,
    anchors: &TrustAnchors,
    time: UnixTime,
) -> Result<Vec<UafRegistration>, UafError> {
    let entries = bounded_array(body, "the RegistrationResponse array")?;
    let mut out = Vec::new();
    for entry in entries {
        out.extend(verify_one(entry, expected, server_data, anchors, time)?);
    }
    Ok(out)
}

/// The challenge a registration response claims to answer (the
/// `challenge` in each entry's `fcParams`), read without verifying
/// anything, so a server can look up what it issued before it calls
/// [`verify_registration_response`]. Every entry must name the same one.
pub fn claimed_challenge(body: &Value) -> Result<String, UafError> {
    let entries = bounded_array(body, "the RegistrationResponse array")?;
    let mut claimed: Option<String> = None;
    for entry in entries {
        let obj = entry.as_object().ok_or_else(|| {
            MessageError::NotJson("a RegistrationResponse is an object".to_owned())
        })?;
        let fc_params = string(obj, "fcParams")?;
        let challenge = fc_params_object(fc_params)?
            .get("challenge")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                FinalChallengeError::Malformed("challenge is missing or not a string".to_owned())
            })?
            .to_owned();
        match &claimed {
            Some(c) if *c != challenge => return Err(FinalChallengeError::Challenge.into()),
            Some(_) => {}
            None => claimed = Some(challenge),
        }
    }
    claimed.ok_or_else(|| MessageError::MissingField("fcParams").into())
}

/// `fcParams` decoded: base64url of a JSON object.
fn fc_params_object(fc_params: &str) -> Result<Map<String, Value>, FinalChallengeError> {
    let bytes = b64::decode(fc_params)
        .map_err(|_| FinalChallengeError::Malformed("not base64url".to_owned()))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(obj)) => Ok(obj),
        Ok(_) => Err(FinalChallengeError::Malformed(
            "not a JSON object".to_owned(),
        )),
        Err(e) => Err(FinalChallengeError::Malformed(format!("not JSON: {e}"))),
    }
}

/// `value` as an array of 1 to [`MAX_ENTRIES`] items.
fn bounded_array<'a>(value: &'a Value, what: &'static str) -> Result<&'a Vec<Value>, MessageError> {
    let items = value.as_array().ok_or(MessageError::BadField {
        field: what,
        reason: "must be an array".to_owned(),
    })?;
    if items.is_empty() || items.len() > MAX_ENTRIES {
        return Err(MessageError::TooMany {
            what,
            len: items.len(),
            max: MAX_ENTRIES,
        });
    }
    Ok(items)
}

fn field<'a>(obj: &'a Map<String, Value>, key: &'static str) -> Result<&'a Value, MessageError> {
    obj.get(key).ok_or(MessageError::MissingField(key))
}

fn string<'a>(obj: &'a Map<String, Value>, key: &'static str) -> Result<&'a str, MessageError> {
    field(obj, key)?.as_str().ok_or(MessageError::BadField {
        field: key,
        reason: "must be a string".to_owned(),
    })
}

fn verify_one(
    entry: &Value,
    expected: &UafExpectations,
    server_data: ServerDataCheck<'_>,
    anchors: &TrustAnchors,
    time: UnixTime,
) -> Result<Vec<UafRegistration>, UafError> {
    let obj = entry
        .as_object()
        .ok_or_else(|| MessageError::NotJson("a RegistrationResponse is an object".to_owned()))?;
    let header = field(obj, "header")?
        .as_object()
        .ok_or(MessageError::BadField {
            field: "header",
            reason: "must be an object".to_owned(),
        })?;
    // The protocol version is supported (1.0 or 1.1).
    let upv = field(header, "upv")?;
    let (major, minor) = (upv["major"].as_u64(), upv["minor"].as_u64());
    let version = match (major, minor) {
        (Some(1), Some(minor @ (0 | 1))) => (1, minor),
        (Some(major), Some(minor)) => return Err(MessageError::Version { major, minor }.into()),
        _ => {
            return Err(MessageError::BadField {
                field: "header.upv",
                reason: "needs integer major and minor".to_owned(),
            }
            .into());
        }
    };
    let op = string(header, "op")?;
    if op != "Reg" {
        return Err(MessageError::Operation(op.to_owned()).into());
    }
    let header_app_id = string(header, "appID")?;
    if header_app_id != expected.app_id {
        return Err(MessageError::HeaderAppId(header_app_id.to_owned()).into());
    }
    // serverData: issued by this server, unexpired, for this challenge and user.
    let sd = string(header, "serverData")?;
    if let ServerDataCheck::Verify { key, username } = server_data {
        let claims = key.verify(sd, time)?;
        if claims.challenge != expected.challenge {
            return Err(ServerDataError::Challenge.into());
        }
        if let Some(u) = username
            && claims.username != u
        {
            return Err(ServerDataError::Username(claims.username).into());
        }
    }
    // fcParams: appID, challenge, facetID, channelBinding.
    let fc_params = string(obj, "fcParams")?;
    check_final_challenge(fc_params, expected)?;
    let fc_hash = sha256(fc_params.as_bytes());
    let assertions = bounded_array(field(obj, "assertions")?, "assertions")?;
    assertions
        .iter()
        .enumerate()
        .map(|(index, a)| {
            verify_assertion_json(
                a,
                Some(&fc_hash),
                &expected.policy,
                anchors,
                time,
                expected.require_trusted,
            )
            .map(|mut r| {
                r.upv = version;
                r
            })
            .map_err(|error| UafError::Assertion { index, error })
        })
        .collect()
}

fn check_final_challenge(
    fc_params: &str,
    expected: &UafExpectations,
) -> Result<(), FinalChallengeError> {
    let obj = fc_params_object(fc_params)?;
    let text = |k: &'static str| {
        obj.get(k).and_then(Value::as_str).ok_or_else(|| {
            FinalChallengeError::Malformed(format!("{k} is missing or not a string"))
        })
    };
    let app_id = text("appID")?;
    if app_id != expected.app_id {
        return Err(FinalChallengeError::AppId(app_id.to_owned()));
    }
    if !constant_time_eq(text("challenge")?.as_bytes(), expected.challenge.as_bytes()) {
        return Err(FinalChallengeError::Challenge);
    }
    let facet = text("facetID")?;
    if !facet_trusted(facet, &expected.app_id, &expected.trusted_facets) {
        return Err(FinalChallengeError::FacetId(facet.to_owned()));
    }
    match obj.get("channelBinding") {
        Some(Value::Object(cb)) => {
            for (k, v) in cb {
                if !v.is_string() {
                    return Err(FinalChallengeError::ChannelBinding(format!(
                        "{k} must be a string"
                    )));
                }
            }
            Ok(())
        }
        Some(_) => Err(FinalChallengeError::ChannelBinding(
            "must be an object".to_owned(),
        )),
        None => Err(FinalChallengeError::ChannelBinding("is missing".to_owned())),
    }
}

/// Whether `facet` may register for `app_id`.
pub fn facet_trusted(facet: &str, app_id: &str, trusted: &[String]) -> bool {
    if !trusted.is_empty() {
        return trusted.iter().any(|t| t == facet);
    }
    match https_origin(app_id) {
        Some(origin) => facet == origin,
        None => false,
    }
}

fn https_origin(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("https://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..end)?;
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    url.get(..8 + end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facets_default_to_the_app_id_origin() {
        let app = "https://example.com:8443/uaf/facets";
        assert!(facet_trusted("https://example.com:8443", app, &[]));
        assert!(!facet_trusted("https://example.com", app, &[]));
        assert!(!facet_trusted("android:apk-key-hash:abc", app, &[]));
        assert!(facet_trusted(
            "android:apk-key-hash:abc",
            app,
            &["android:apk-key-hash:abc".to_owned()]
        ));
        assert!(!facet_trusted(
            "https://example.com:8443",
            "http://example.com:8443/x",
            &[]
        ));
    }
}
