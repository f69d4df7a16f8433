//! Revocation of the BLOB's signing path from CRLs the operator supplies
//! (nothing is fetched): each CRL must be signed by the issuer it names
//! and current at the instant; a certificate whose serial one lists is
//! revoked.

use crate::time::UnixTime;
use crate::trust::{Cert, TrustAnchor};
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;

/// How CRLs decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Revocation {
    /// Every certificate of the path needs a current CRL from its issuer.
    Require,
    /// A certificate whose issuer has a CRL is checked against it.
    #[default]
    IfPresent,
    /// CRLs are not read.
    Off,
}

impl Revocation {
    /// `require`, `if_present` or `off`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "require" => Some(Self::Require),
            "if_present" => Some(Self::IfPresent),
            "off" => Some(Self::Off),
            _ => None,
        }
    }
}

/// Why the path failed its revocation check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RevocationError {
    /// A CRL that does not parse.
    #[error("CRL {index} is not a DER X.509 CRL: {reason}")]
    Malformed {
        /// Its position among the CRLs.
        index: usize,
        /// The parser's reason.
        reason: String,
    },
    /// A CRL whose signature does not verify with its issuer's key.
    #[error("CRL {index} (issuer {issuer}) is not signed by its issuer: {reason}")]
    Signature {
        /// Its position.
        index: usize,
        /// Its issuer.
        issuer: String,
        /// Why.
        reason: String,
    },
    /// A CRL past its `nextUpdate` (or without one, or not yet valid).
    #[error("CRL {index} (issuer {issuer}) is not current at {at}: {reason}")]
    NotCurrent {
        /// Its position.
        index: usize,
        /// Its issuer.
        issuer: String,
        /// The instant.
        at: UnixTime,
        /// thisUpdate / nextUpdate.
        reason: String,
    },
    /// `require`, and no CRL from a certificate's issuer.
    #[error(
        "no CRL from {issuer}, which issued path certificate {index}, and revocation is require"
    )]
    Missing {
        /// The certificate's position in the path.
        index: usize,
        /// Its issuer.
        issuer: String,
    },
    /// A certificate of the path is revoked.
    #[error("path certificate {index} ({subject}) is revoked by its issuer's CRL")]
    Revoked {
        /// Its position in the path.
        index: usize,
        /// Its subject.
        subject: String,
    },
}

/// Checks each certificate of `path` (the signer first, then its CAs,
/// the root excluded; the root is `root`) against `crls` (DER) at `at`.
pub fn check_revocation(
    path: &[Vec<u8>],
    root: &TrustAnchor,
    crls: &[Vec<u8>],
    mode: Revocation,
    at: UnixTime,
) -> Result<(), RevocationError> {
    if mode == Revocation::Off {
        return Ok(());
    }
    let parsed = crls
        .iter()
        .enumerate()
        .map(|(index, der)| {
            CertificateRevocationList::from_der(der)
                .map(|(_, crl)| crl)
                .map_err(|e| RevocationError::Malformed {
                    index,
                    reason: e.to_string(),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let certs: Vec<Cert<'_>> = path
        .iter()
        .enumerate()
        .filter_map(|(i, der)| Cert::parse(der, i).ok())
        .collect();
    for (index, cert) in certs.iter().enumerate() {
        let issuer_name = cert.x509().issuer();
        // The issuer's key: the next certificate of the path, or the root.
        let issuer_key = match certs.get(index + 1) {
            Some(next) => next.public_key().ok(),
            None => Some(root.public_key().clone()),
        };
        let mut found = false;
        for (crl_index, crl) in parsed.iter().enumerate() {
            if crl.issuer().as_raw() != issuer_name.as_raw() {
                continue;
            }
            found = true;
            let issuer = issuer_name.to_string();
            let key = issuer_key
                .as_ref()
                .ok_or_else(|| RevocationError::Signature {
                    index: crl_index,
                    issuer: issuer.clone(),
                    reason: "the issuer's key cannot be read".into(),
                })?;
            let scheme =
                crate::trust::cert_signature_scheme(&crl.signature_algorithm).map_err(|e| {
                    RevocationError::Signature {
                        index: crl_index,
                        issuer: issuer.clone(),
                        reason: e.to_string(),
                    }
                })?;
            crate::crypto::verify(
                key,
                scheme,
                crl.tbs_cert_list.as_ref(),
                &crl.signature_value.data,
            )
            .map_err(|e| RevocationError::Signature {
                index: crl_index,
                issuer: issuer.clone(),
                reason: e.to_string(),
            })?;
            let this_update = UnixTime::from_secs(crl.last_update().timestamp());
            let not_current = |reason: String| RevocationError::NotCurrent {
                index: crl_index,
                issuer: issuer.clone(),
                at,
                reason,
            };
            if at < this_update {
                return Err(not_current(format!("thisUpdate is {this_update}")));
            }
            match crl.next_update() {
                None => return Err(not_current("it has no nextUpdate".into())),
                Some(next) if at > UnixTime::from_secs(next.timestamp()) => {
                    return Err(not_current(format!(
                        "nextUpdate was {}",
                        UnixTime::from_secs(next.timestamp())
                    )));
                }
                Some(_) => {}
            }
            let serial = cert.x509().raw_serial();
            if crl
                .iter_revoked_certificates()
                .any(|r| r.raw_serial() == serial)
            {
                return Err(RevocationError::Revoked {
                    index,
                    subject: cert.x509().subject().to_string(),
                });
            }
        }
        if !found && mode == Revocation::Require {
            return Err(RevocationError::Missing {
                index,
                issuer: issuer_name.to_string(),
            });
        }
    }
    Ok(())
}

/// The CRLs in a file: PEM (`X509 CRL` blocks) or one DER CRL.
pub fn read_crls(bytes: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let text_start = bytes.iter().position(|b| !b.is_ascii_whitespace());
    let is_pem = text_start
        .and_then(|i| bytes.get(i..))
        .is_some_and(|rest| rest.starts_with(b"-----BEGIN"));
    if !is_pem {
        CertificateRevocationList::from_der(bytes).map_err(|e| format!("not a CRL: {e}"))?;
        return Ok(vec![bytes.to_vec()]);
    }
    let mut out = Vec::new();
    for pem in x509_parser::pem::Pem::iter_from_buffer(bytes) {
        let pem = pem.map_err(|e| format!("not PEM: {e}"))?;
        if pem.label != "X509 CRL" {
            continue;
        }
        CertificateRevocationList::from_der(&pem.contents)
            .map_err(|e| format!("not a CRL: {e}"))?;
        out.push(pem.contents);
    }
    if out.is_empty() {
        return Err("holds no X509 CRL block".into());
    }
    Ok(out)
}
