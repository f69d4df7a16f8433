//! The UAF RegistrationRequest (UAF Protocol §3.4.1), answered by
//! `/regRequest` as `{"code":200,"message":[RegistrationRequest]}`.

use crate::b64;
use serde_json::{Value, json};

/// Shortest accepted challenge, in bytes of randomness.
pub const MIN_CHALLENGE_LEN: usize = 32;

/// A MatchCriteria: fidogate matches on `aaid`; the other members are
/// passed to the client as configured.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MatchCriteria {
    /// AAIDs this criteria matches; `None` matches any.
    pub aaid: Option<Vec<String>>,
}

impl MatchCriteria {
    fn matches(&self, aaid: &str) -> bool {
        self.aaid
            .as_ref()
            .is_none_or(|list| list.iter().any(|a| a.eq_ignore_ascii_case(aaid)))
    }

    fn to_json(&self) -> Value {
        json!({
            "aaid": self.aaid,
            "vendorID": null, "keyIDs": null, "userVerification": 0, "keyProtection": 0,
            "matcherProtection": 0, "attachmentHint": 0, "tcDisplay": 0,
            "authenticationAlgorithms": null, "assertionSchemes": null, "attestationTypes": null,
            "authenticatorVersion": 0, "exts": null,
        })
    }
}

/// The registration policy: which authenticators are accepted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegistrationPolicy {
    /// Alternatives; each is a set of criteria (UAF allows several
    /// authenticators per alternative).
    pub accepted: Vec<Vec<MatchCriteria>>,
    /// Criteria that are refused.
    pub disallowed: Option<Vec<MatchCriteria>>,
}

impl RegistrationPolicy {
    /// A policy accepting exactly `aaids`, one alternative each (as seed 001).
    pub fn aaids<S: AsRef<str>>(aaids: &[S]) -> Self {
        Self {
            accepted: aaids
                .iter()
                .map(|a| {
                    vec![MatchCriteria {
                        aaid: Some(vec![a.as_ref().to_owned()]),
                    }]
                })
                .collect(),
            disallowed: None,
        }
    }

    /// A policy accepting every authenticator.
    pub fn any() -> Self {
        Self {
            accepted: vec![vec![MatchCriteria::default()]],
            disallowed: None,
        }
    }

    /// Whether an authenticator with `aaid` satisfies the policy.
    pub fn accepts(&self, aaid: &str) -> bool {
        let allowed = self.accepted.iter().flatten().any(|c| c.matches(aaid));
        let refused = self
            .disallowed
            .iter()
            .flatten()
            .any(|c| c.aaid.is_some() && c.matches(aaid));
        allowed && !refused
    }

    fn to_json(&self) -> Value {
        json!({
            "accepted": self.accepted.iter().map(|alt| alt.iter().map(MatchCriteria::to_json).collect::<Vec<_>>()).collect::<Vec<_>>(),
            "disallowed": self.disallowed.as_ref().map(|d| d.iter().map(MatchCriteria::to_json).collect::<Vec<_>>()),
        })
    }
}

/// One RegistrationRequest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationRequest {
    /// `header.upv` (major, minor).
    pub upv: (u8, u8),
    /// `header.appID`.
    pub app_id: String,
    /// `header.serverData`.
    pub server_data: String,
    /// `challenge`: base64url of at least 32 random bytes.
    pub challenge: String,
    /// `username`.
    pub username: String,
    /// `policy`.
    pub policy: RegistrationPolicy,
}

/// The challenge string for `random` bytes (at least 32; the caller
/// supplies them, as core has no RNG).
pub fn challenge_from_random(random: &[u8]) -> Result<String, TooFewRandomBytes> {
    if random.len() < MIN_CHALLENGE_LEN {
        return Err(TooFewRandomBytes {
            need: MIN_CHALLENGE_LEN,
            got: random.len(),
        });
    }
    Ok(b64::encode(random))
}

/// [`challenge_from_random`] was given too few bytes: the caller's fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a challenge needs at least {need} random bytes, got {got}")]
pub struct TooFewRandomBytes {
    /// Bytes needed.
    pub need: usize,
    /// Bytes given.
    pub got: usize,
}

impl RegistrationRequest {
    /// The request as the UAF protocol serialises it.
    pub fn to_json(&self) -> Value {
        json!({
            "header": {
                "upv": {"major": self.upv.0, "minor": self.upv.1},
                "op": "Reg",
                "appID": self.app_id,
                "serverData": self.server_data,
                "exts": null,
            },
            "challenge": self.challenge,
            "username": self.username,
            "policy": self.policy.to_json(),
        })
    }

    /// The `/regRequest` answer: `{"code":200,"message":[request]}`.
    pub fn envelope(&self) -> Value {
        json!({"code": 200, "message": [self.to_json()]})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_matches_aaids() {
        let p = RegistrationPolicy::aaids(&["BATS#0001", "ABCD#ABCD"]);
        assert!(p.accepts("ABCD#ABCD") && p.accepts("abcd#abcd") && !p.accepts("EBA0#0001"));
        let mut any = RegistrationPolicy::any();
        assert!(any.accepts("EBA0#0001"));
        any.disallowed = Some(vec![MatchCriteria {
            aaid: Some(vec!["EBA0#0001".into()]),
        }]);
        assert!(!any.accepts("EBA0#0001") && any.accepts("ABCD#ABCD"));
    }

    #[test]
    fn serialises_as_the_seed() {
        let r = RegistrationRequest {
            upv: (1, 0),
            app_id: "https://api.example.com/fido/facets".into(),
            server_data: "sd".into(),
            challenge: challenge_from_random(&[1; 32]).unwrap(),
            username: "bao".into(),
            policy: RegistrationPolicy::aaids(&["BATS#0001"]),
        };
        let v = r.envelope();
        assert_eq!(v["code"], 200);
        assert_eq!(v["message"][0]["header"]["op"], "Reg");
        assert_eq!(
            v["message"][0]["policy"]["accepted"][0][0]["aaid"][0],
            "BATS#0001"
        );
        assert!(challenge_from_random(&[1; 31]).is_err());
    }
}
