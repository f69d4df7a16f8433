//! Decisions from metadata: which entry describes an authenticator, the
//! status policy (reports in effect, the rejected statuses, the
//! certification level), and the statement's checks (attestation type,
//! algorithm, the chain to its attestation roots).

use super::payload::{Entry, Payload, StatusReport};
use crate::crypto::Hash;
use crate::error::ErrorClass;
use crate::time::UnixTime;
use crate::trust::{Cert, TrustAnchor, verify_chain};
use crate::webauthn::{AttestationType, VerifiedRegistration, format_uuid};

/// The statuses refused by default (FIDO MDS3 §3.1.4: a compromise, a
/// bypass, a revocation or a retirement).
pub const DEFAULT_REJECT_STATUSES: [&str; 6] = [
    "USER_VERIFICATION_BYPASS",
    "ATTESTATION_KEY_COMPROMISE",
    "USER_KEY_REMOTE_COMPROMISE",
    "USER_KEY_PHYSICAL_COMPROMISE",
    "REVOKED",
    "RETIRED",
];

/// Every `AuthenticatorStatus` (FIDO MDS3 §3.1.4), and `RETIRED`.
pub const AUTHENTICATOR_STATUSES: [&str; 16] = [
    "NOT_FIDO_CERTIFIED",
    "FIDO_CERTIFIED",
    "USER_VERIFICATION_BYPASS",
    "ATTESTATION_KEY_COMPROMISE",
    "USER_KEY_REMOTE_COMPROMISE",
    "USER_KEY_PHYSICAL_COMPROMISE",
    "UPDATE_AVAILABLE",
    "REVOKED",
    "SELF_ASSERTION_SUBMITTED",
    "FIDO_CERTIFIED_L1",
    "FIDO_CERTIFIED_L1plus",
    "FIDO_CERTIFIED_L2",
    "FIDO_CERTIFIED_L2plus",
    "FIDO_CERTIFIED_L3",
    "FIDO_CERTIFIED_L3plus",
    "RETIRED",
];

/// The certification levels, lowest first (`FIDO_CERTIFIED` is L1).
const LEVELS: [&str; 7] = [
    "FIDO_CERTIFIED",
    "FIDO_CERTIFIED_L1",
    "FIDO_CERTIFIED_L1plus",
    "FIDO_CERTIFIED_L2",
    "FIDO_CERTIFIED_L2plus",
    "FIDO_CERTIFIED_L3",
    "FIDO_CERTIFIED_L3plus",
];

/// Statuses that state a certification (or its absence): the latest of
/// them is the authenticator's certification.
const CERTIFICATION: [&str; 3] = ["NOT_FIDO_CERTIFIED", "SELF_ASSERTION_SUBMITTED", "REVOKED"];

fn level(status: &str) -> Option<usize> {
    // FIDO_CERTIFIED and FIDO_CERTIFIED_L1 are the same level.
    LEVELS
        .iter()
        .position(|l| *l == status)
        .map(|i| i.saturating_sub(1))
}

/// Is `status` a certification level name?
pub fn is_certification_level(status: &str) -> bool {
    level(status).is_some()
}

/// What metadata decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataPolicy {
    /// Refuse authenticators without an entry.
    pub require_entry: bool,
    /// The lowest certification level accepted (`FIDO_CERTIFIED_L1`, …),
    /// judged on the latest certification report in effect.
    pub require_certified: Option<String>,
    /// Statuses that refuse when a report in effect has one.
    pub reject_statuses: Vec<String>,
    /// Refuse a WebAuthn credential whose algorithm the statement does
    /// not list. Off by default: real statements lag their authenticators
    /// (Windows Hello's lists RS256 only, and ECC TPMs make ES256 keys),
    /// so the mismatch is reported in the header instead.
    pub refuse_unlisted_algorithm: bool,
}

impl Default for MetadataPolicy {
    fn default() -> Self {
        Self {
            require_entry: false,
            refuse_unlisted_algorithm: false,
            require_certified: None,
            reject_statuses: DEFAULT_REJECT_STATUSES
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        }
    }
}

/// Where an entry came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntrySource {
    /// A verified BLOB.
    Blob,
    /// Statements the operator vouches for (files, decoded payloads).
    Statements,
}

impl EntrySource {
    /// `blob` or `statements`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Blob => "blob",
            Self::Statements => "statements",
        }
    }
}

/// What an entry was found by; written out only for a refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryId {
    /// An AAGUID (WebAuthn).
    Aaguid([u8; 16]),
    /// A UAF AAID, upper-case.
    Aaid(String),
    /// An attestation certificate key identifier.
    KeyIdentifier(Vec<u8>),
}

impl std::fmt::Display for EntryId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Aaguid(a) => write!(f, "AAGUID {}", format_uuid(a)),
            Self::Aaid(a) => write!(f, "AAID {a}"),
            Self::KeyIdentifier(k) => {
                f.write_str("key identifier ")?;
                k.iter().try_for_each(|b| write!(f, "{b:02x}"))
            }
        }
    }
}

/// What metadata says of one registration (the header's `metadata`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataVerdict {
    /// The statement's `description`.
    pub description: String,
    /// The latest status report in effect.
    pub status: Option<String>,
    /// The latest certification level in effect.
    pub certification: Option<String>,
    /// The latest status report's effective date (`YYYY-MM-DD`).
    pub effective_date: Option<String>,
    /// Where the entry came from.
    pub source: EntrySource,
    /// The attestation chain leads to the statement's attestation roots.
    pub trusted: bool,
    /// The credential's COSE algorithm, when the statement does not list
    /// it (and the policy does not refuse that).
    pub unlisted_algorithm: Option<i64>,
}

/// Why metadata refused a registration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    /// No entry, and the policy requires one.
    #[error("metadata: no entry for {0} and require_entry is set")]
    NoEntry(String),
    /// A report in effect has a rejected status.
    #[error("metadata: {id} has status {status} since {since}")]
    Status {
        /// What was matched (`AAGUID …`, `AAID …`, `key identifier …`).
        id: String,
        /// The status.
        status: String,
        /// Its effective date, or `always`.
        since: String,
    },
    /// The certification is below the required level.
    #[error("metadata: {id} is certified {have}, below the required {want}")]
    NotCertified {
        /// What was matched.
        id: String,
        /// Its latest certification (or `not certified`).
        have: String,
        /// The required level.
        want: String,
    },
    /// The statement does not allow what the registration shows.
    #[error("metadata: {id}'s statement does not list {what} {value} (it lists {listed})")]
    Statement {
        /// What was matched.
        id: String,
        /// `attestation type`, `algorithm`, …
        what: &'static str,
        /// The registration's value.
        value: String,
        /// The statement's list.
        listed: String,
    },
}

impl MetadataError {
    /// The error's class: `policy`.
    pub fn class(&self) -> ErrorClass {
        ErrorClass::Policy
    }
}

/// Metadata from a BLOB and from statements the operator vouches for
/// (which win over the BLOB's entry for the same authenticator), and
/// the policy applied to them.
#[derive(Debug, Clone, Default)]
pub struct Metadata {
    /// The verified BLOB's payload.
    pub blob: Option<Payload>,
    /// Statements vouched for.
    pub statements: Payload,
    /// The policy.
    pub policy: MetadataPolicy,
}

/// The key identifier of an attestation certificate: its SKI extension,
/// else SHA-1 of its subjectPublicKey (MDS3 §3.1
/// `attestationCertificateKeyIdentifiers`).
pub fn key_identifier(cert: &Cert<'_>) -> Vec<u8> {
    if let Ok(Some(id)) = cert.subject_key_identifier() {
        return id.to_vec();
    }
    Hash::Sha1.digest(&cert.x509().public_key().subject_public_key.data)
}

/// The `authenticationAlgorithms` names (FIDO Registry of Predefined
/// Values §3.6.1) of a COSE algorithm: the same signature scheme under
/// each of its names.
fn mds_names(cose: i64) -> &'static [&'static str] {
    match cose {
        -7 => &["secp256r1_ecdsa_sha256_raw", "secp256r1_ecdsa_sha256_der"],
        -35 => &["secp384r1_ecdsa_sha384_raw"],
        -36 => &["secp521r1_ecdsa_sha512_raw"],
        -8 => &["ed25519_eddsa_sha512_raw"],
        -257 => &[
            "rsassa_pkcsv15_sha256_raw",
            "rsa_emsa_pkcs1_sha256_raw",
            "rsa_emsa_pkcs1_sha256_der",
        ],
        -258 => &["rsassa_pkcsv15_sha384_raw"],
        -259 => &["rsassa_pkcsv15_sha512_raw"],
        -37 => &["rsassa_pss_sha256_raw", "rsassa_pss_sha256_der"],
        -38 => &["rsassa_pss_sha384_raw"],
        -39 => &["rsassa_pss_sha512_raw"],
        -65535 => &["rsassa_pkcsv15_sha1_raw"],
        _ => &[],
    }
}

/// The registry's lower-case name of a UAF registry constant
/// (`UAF_ALG_SIGN_SECP256R1_ECDSA_SHA256_RAW` → `secp256r1_ecdsa_sha256_raw`).
fn mds_name(uaf: &str, prefix: &str) -> String {
    uaf.strip_prefix(prefix).unwrap_or(uaf).to_ascii_lowercase()
}

/// The MDS3 `attestationTypes` name of an attestation type.
fn mds_attestation_type(t: AttestationType) -> &'static str {
    match t {
        AttestationType::None => "none",
        AttestationType::SelfAttestation => "basic_surrogate",
        AttestationType::Basic => "basic_full",
        AttestationType::AttCa => "attca",
        AttestationType::AnonCa => "anonca",
    }
}

impl Metadata {
    /// The entry for an AAGUID, or for a zero AAGUID (U2F) the entry of
    /// any certificate's key identifier in `x5c`; statements first.
    pub fn find_webauthn(
        &self,
        aaguid: &[u8; 16],
        x5c: &[Vec<u8>],
    ) -> Option<(&Entry, EntrySource, EntryId)> {
        let sources = [
            (Some(&self.statements), EntrySource::Statements),
            (self.blob.as_ref(), EntrySource::Blob),
        ];
        if aaguid.iter().any(|b| *b != 0) {
            return sources.iter().find_map(|(p, s)| {
                p.and_then(|p| p.by_aaguid(aaguid))
                    .map(|e| (e, *s, EntryId::Aaguid(*aaguid)))
            });
        }
        let ids: Vec<Vec<u8>> = x5c
            .iter()
            .enumerate()
            .filter_map(|(i, der)| Cert::parse(der, i).ok().map(|c| key_identifier(&c)))
            .collect();
        sources.iter().find_map(|(p, s)| {
            let p = (*p)?;
            ids.iter().find_map(|id| {
                p.by_key_identifier(id)
                    .map(|e| (e, *s, EntryId::KeyIdentifier(id.clone())))
            })
        })
    }

    /// The entry for a UAF AAID; statements first.
    pub fn find_uaf(&self, aaid: &str) -> Option<(&Entry, EntrySource, EntryId)> {
        [
            (Some(&self.statements), EntrySource::Statements),
            (self.blob.as_ref(), EntrySource::Blob),
        ]
        .iter()
        .find_map(|(p, s)| {
            p.and_then(|p| p.by_aaid(aaid))
                .map(|e| (e, *s, EntryId::Aaid(aaid.to_ascii_uppercase())))
        })
    }

    /// Applies the metadata to a verified WebAuthn registration at `at`:
    /// `None` when no entry describes it (and none is required).
    pub fn check_webauthn(
        &self,
        reg: &VerifiedRegistration,
        at: UnixTime,
    ) -> Result<Option<MetadataVerdict>, MetadataError> {
        self.check_webauthn_under(&self.policy, reg, at)
    }

    /// [`Self::check_webauthn`] under `policy` (a route's own).
    pub fn check_webauthn_under(
        &self,
        policy: &MetadataPolicy,
        reg: &VerifiedRegistration,
        at: UnixTime,
    ) -> Result<Option<MetadataVerdict>, MetadataError> {
        let Some((entry, source, id)) = self.find_webauthn(&reg.aaguid, &reg.x5c) else {
            if policy.require_entry {
                let what = if reg.aaguid.iter().any(|b| *b != 0) {
                    format!("AAGUID {}", reg.aaguid_string())
                } else {
                    "the attestation certificates' key identifiers".to_owned()
                };
                return Err(MetadataError::NoEntry(what));
            }
            return Ok(None);
        };
        let mut verdict = self.status_under(policy, entry, source, &id, &reg.x5c, at)?;
        if let Some(statement) = &entry.statement {
            if reg.attestation_type != AttestationType::None {
                let name = mds_attestation_type(reg.attestation_type);
                if !statement.attestation_types.is_empty()
                    && !statement.attestation_types.iter().any(|t| t == name)
                {
                    return Err(MetadataError::Statement {
                        id: id.to_string(),
                        what: "attestation type",
                        value: name.to_owned(),
                        listed: statement.attestation_types.join(", "),
                    });
                }
            }
            let alg_ok = if !statement.cose_algorithms.is_empty() {
                statement.cose_algorithms.contains(&reg.alg)
            } else if !statement.authentication_algorithms.is_empty() {
                let names = mds_names(reg.alg);
                statement
                    .authentication_algorithms
                    .iter()
                    .any(|a| names.contains(&a.as_str()))
            } else {
                true
            };
            if !alg_ok && !policy.refuse_unlisted_algorithm {
                verdict.unlisted_algorithm = Some(reg.alg);
            } else if !alg_ok {
                let listed = if statement.cose_algorithms.is_empty() {
                    statement.authentication_algorithms.join(", ")
                } else {
                    let ids: Vec<String> = statement
                        .cose_algorithms
                        .iter()
                        .map(i64::to_string)
                        .collect();
                    ids.join(", ")
                };
                return Err(MetadataError::Statement {
                    id: id.to_string(),
                    what: "algorithm",
                    value: reg.alg.to_string(),
                    listed,
                });
            }
            verdict.trusted = chains_to_statement(&reg.x5c, &statement.attestation_roots, at);
        }
        Ok(Some(verdict))
    }

    /// Applies the metadata to a verified UAF registration at `at`: the
    /// AAID's entry, its status, and the statement's `upv`, algorithms
    /// and key encodings against the assertion; its attestation roots
    /// make a basic attestation trusted.
    pub fn check_uaf(
        &self,
        reg: &crate::uaf::UafRegistration,
        at: UnixTime,
    ) -> Result<Option<MetadataVerdict>, MetadataError> {
        self.check_uaf_under(&self.policy, reg, at)
    }

    /// [`Self::check_uaf`] under `policy` (a route's own).
    pub fn check_uaf_under(
        &self,
        policy: &MetadataPolicy,
        reg: &crate::uaf::UafRegistration,
        at: UnixTime,
    ) -> Result<Option<MetadataVerdict>, MetadataError> {
        let Some((entry, source, id)) = self.find_uaf(&reg.aaid) else {
            if policy.require_entry {
                return Err(MetadataError::NoEntry(format!("AAID {}", reg.aaid)));
            }
            return Ok(None);
        };
        let x5c: Vec<Vec<u8>> = reg.attest_cert.iter().cloned().collect();
        let mut verdict = self.status_under(policy, entry, source, &id, &x5c, at)?;
        if let Some(statement) = &entry.statement {
            if let Some(listed) = statement
                .raw
                .get("upv")
                .and_then(serde_json::Value::as_array)
            {
                let has = listed.iter().any(|v| {
                    v.get("major").and_then(serde_json::Value::as_u64) == Some(reg.upv.0)
                        && v.get("minor").and_then(serde_json::Value::as_u64) == Some(reg.upv.1)
                });
                if !has {
                    return Err(MetadataError::Statement {
                        id: id.to_string(),
                        what: "protocol version",
                        value: format!("{}.{}", reg.upv.0, reg.upv.1),
                        listed: serde_json::Value::Array(listed.clone()).to_string(),
                    });
                }
            }
            let alg = mds_name(reg.sign_alg.name(), "UAF_ALG_SIGN_");
            if !statement.authentication_algorithms.is_empty()
                && !statement.authentication_algorithms.contains(&alg)
            {
                return Err(MetadataError::Statement {
                    id: id.to_string(),
                    what: "algorithm",
                    value: alg,
                    listed: statement.authentication_algorithms.join(", "),
                });
            }
            let encoding = mds_name(reg.public_key_encoding.name(), "UAF_ALG_KEY_");
            if !statement.public_key_encodings.is_empty()
                && !statement.public_key_encodings.contains(&encoding)
            {
                return Err(MetadataError::Statement {
                    id: id.to_string(),
                    what: "public key encoding",
                    value: encoding,
                    listed: statement.public_key_encodings.join(", "),
                });
            }
            verdict.trusted = chains_to_statement(&x5c, &statement.attestation_roots, at);
        }
        Ok(Some(verdict))
    }

    /// The status policy for `entry` (reports naming a certificate apply
    /// only when it is one of `x5c`), and what the header says of it.
    pub fn status(
        &self,
        entry: &Entry,
        source: EntrySource,
        id: &EntryId,
        x5c: &[Vec<u8>],
        at: UnixTime,
    ) -> Result<MetadataVerdict, MetadataError> {
        self.status_under(&self.policy, entry, source, id, x5c, at)
    }

    fn status_under(
        &self,
        policy: &MetadataPolicy,
        entry: &Entry,
        source: EntrySource,
        id: &EntryId,
        x5c: &[Vec<u8>],
        at: UnixTime,
    ) -> Result<MetadataVerdict, MetadataError> {
        let in_effect: Vec<&StatusReport> = entry
            .status_reports
            .iter()
            .filter(|r| r.effective_date.is_none_or(|d| d.start() <= at))
            .filter(|r| {
                r.certificate
                    .as_ref()
                    .is_none_or(|c| x5c.iter().any(|x| x == c))
            })
            .collect();
        if let Some(r) = in_effect
            .iter()
            .find(|r| policy.reject_statuses.contains(&r.status))
        {
            return Err(MetadataError::Status {
                id: id.to_string(),
                status: r.status.clone(),
                since: r
                    .effective_date
                    .map_or_else(|| "always".to_owned(), |d| d.to_iso()),
            });
        }
        // The latest report: the last in effect by date (undated ones
        // count as earliest; among equal dates, the later listed).
        let latest = |pred: &dyn Fn(&StatusReport) -> bool| {
            in_effect
                .iter()
                .enumerate()
                .filter(|(_, r)| pred(r))
                .max_by_key(|(i, r)| (r.effective_date, *i))
                .map(|(_, r)| *r)
        };
        let last = latest(&|_| true);
        let certification = latest(&|r| {
            is_certification_level(&r.status) || CERTIFICATION.contains(&r.status.as_str())
        })
        .filter(|r| is_certification_level(&r.status))
        .map(|r| r.status.clone());
        if let Some(want) = &policy.require_certified {
            let enough = match (certification.as_deref().and_then(level), level(want)) {
                (Some(have), Some(need)) => have >= need,
                _ => false,
            };
            if !enough {
                return Err(MetadataError::NotCertified {
                    id: id.to_string(),
                    have: certification
                        .clone()
                        .unwrap_or_else(|| "not certified".to_owned()),
                    want: want.clone(),
                });
            }
        }
        Ok(MetadataVerdict {
            description: entry
                .statement
                .as_ref()
                .map(|s| s.description.clone())
                .unwrap_or_default(),
            status: last.map(|r| r.status.clone()),
            certification,
            effective_date: last.and_then(|r| r.effective_date).map(|d| d.to_iso()),
            source,
            trusted: false,
            unlisted_algorithm: None,
        })
    }
}

/// Whether `x5c` leads to one of the statement's attestation roots (a
/// root, an intermediate, or the leaf itself) at `at`. A chain that does
/// not is not refused here: the registration is then not trusted by
/// metadata, and `require_trusted` decides.
pub fn chains_to_statement(x5c: &[Vec<u8>], roots: &[Vec<u8>], at: UnixTime) -> bool {
    if x5c.is_empty() || roots.is_empty() {
        return false;
    }
    let Ok(anchors) = roots
        .iter()
        .map(|der| TrustAnchor::from_der(der.clone(), "metadata statement"))
        .collect::<Result<Vec<_>, _>>()
    else {
        return false;
    };
    let Ok(chain) = x5c
        .iter()
        .enumerate()
        .map(|(i, der)| Cert::parse(der, i))
        .collect::<Result<Vec<_>, _>>()
    else {
        return false;
    };
    let refs: Vec<&TrustAnchor> = anchors.iter().collect();
    verify_chain(&chain, &refs, at, "metadata statement").is_ok()
}
