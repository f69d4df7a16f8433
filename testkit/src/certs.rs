//! Certificates for attestation chains, made with rcgen.

use crate::keys::SigningKey;
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType, IsCa, KeyPair,
};
use time::OffsetDateTime;

/// A certificate with the key it certifies.
pub struct Issued {
    /// The certificate, DER.
    pub der: Vec<u8>,
    /// The certified key.
    pub key: SigningKey,
    cert: rcgen::Certificate,
    key_pair: KeyPair,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Issued({} bytes)", self.der.len())
    }
}

impl Issued {
    /// The certificate as PEM.
    pub fn pem(&self) -> String {
        self.cert.pem()
    }
}

/// 2020-01-01T00:00:00Z.
pub fn default_not_before() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_577_836_800).expect("valid time")
}

/// 2049-12-31T23:59:59Z.
pub fn default_not_after() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(2_524_607_999).expect("valid time")
}

/// Parameters with a distinguished name from `(type, value)` pairs and the
/// default validity.
pub fn params(dn: &[(DnType, &str)]) -> CertificateParams {
    let mut p = CertificateParams::default();
    let mut name = DistinguishedName::new();
    for (t, v) in dn {
        name.push(t.clone(), *v);
    }
    p.distinguished_name = name;
    p.not_before = default_not_before();
    p.not_after = default_not_after();
    p
}

/// A self-signed CA with common name `cn`.
pub fn root_ca(cn: &str, key: SigningKey) -> Issued {
    let mut p = params(&[
        (DnType::CommonName, cn),
        (DnType::OrganizationName, "fidogate test"),
    ]);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let key_pair = key.rcgen_key_pair();
    let cert = p.self_signed(&key_pair).expect("self-signed CA");
    Issued {
        der: cert.der().to_vec(),
        key,
        cert,
        key_pair,
    }
}

/// A certificate for `key` with `params`, issued by `issuer`.
pub fn issue(params: CertificateParams, key: SigningKey, issuer: &Issued) -> Issued {
    let key_pair = key.rcgen_key_pair();
    issue_with(params, key, key_pair, issuer)
}

/// As [`issue`], for a key whose PKCS#8 DER the caller keeps: encoding a
/// P-256 key recomputes its public point, which takes longer than the
/// issuing, so callers issuing many certificates for one key pass it.
pub fn issue_pkcs8(
    params: CertificateParams,
    key: SigningKey,
    pkcs8: &[u8],
    issuer: &Issued,
) -> Issued {
    let key_pair = KeyPair::try_from(pkcs8).expect("rcgen key pair");
    issue_with(params, key, key_pair, issuer)
}

fn issue_with(
    params: CertificateParams,
    key: SigningKey,
    key_pair: KeyPair,
    issuer: &Issued,
) -> Issued {
    let cert = params
        .signed_by(&key_pair, &issuer.cert, &issuer.key_pair)
        .expect("issued certificate");
    Issued {
        der: cert.der().to_vec(),
        key,
        cert,
        key_pair,
    }
}

/// An intermediate CA with common name `cn`, issued by `issuer`.
pub fn intermediate_ca(cn: &str, key: SigningKey, issuer: &Issued) -> Issued {
    issue(intermediate_params(cn), key, issuer)
}

/// The parameters of [`intermediate_ca`].
pub fn intermediate_params(cn: &str) -> CertificateParams {
    let mut p = params(&[
        (DnType::CommonName, cn),
        (DnType::OrganizationName, "fidogate test"),
    ]);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p
}

/// A TLS server certificate for `names` (DNS names, or IP addresses
/// written as such), issued by `issuer`, with a fresh P-256 key from
/// `seed`: the certificate, and its key as PKCS#8 PEM.
pub fn tls_server(names: &[&str], seed: u64, issuer: &Issued) -> (Issued, String) {
    let key = SigningKey::generate(crate::keys::alg::ES256, seed);
    let pem = pkcs8_pem(&key.pkcs8_der());
    (tls_server_for(names, key, issuer), pem)
}

/// A TLS server certificate for `names` certifying `key`, issued by
/// `issuer`.
pub fn tls_server_for(names: &[&str], key: SigningKey, issuer: &Issued) -> Issued {
    let mut p = params(&[(
        DnType::CommonName,
        names.first().copied().unwrap_or("server"),
    )]);
    p.subject_alt_names = names
        .iter()
        .map(|n| match n.parse::<std::net::IpAddr>() {
            Ok(ip) => rcgen::SanType::IpAddress(ip),
            Err(_) => rcgen::SanType::DnsName((*n).try_into().expect("a DNS name")),
        })
        .collect();
    p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    issue(p, key, issuer)
}

/// PKCS#8 DER as PEM.
pub fn pkcs8_pem(der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
        .collect();
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    )
}

/// The packed attestation certificate requirements (WebAuthn §8.2.1):
/// C, O, OU "Authenticator Attestation", CN; not a CA; with the AAGUID
/// extension when `aaguid` is given.
pub fn packed_leaf_params(aaguid: Option<[u8; 16]>) -> CertificateParams {
    let mut p = params(&[
        (DnType::CountryName, "SE"),
        (DnType::OrganizationName, "fidogate test authenticators"),
        (DnType::OrganizationalUnitName, "Authenticator Attestation"),
        (DnType::CommonName, "fidogate soft authenticator"),
    ]);
    p.is_ca = IsCa::ExplicitNoCa;
    if let Some(aaguid) = aaguid {
        p.custom_extensions.push(aaguid_extension(aaguid));
    }
    p
}

/// The id-fido-gen-ce-aaguid extension: an OCTET STRING of the AAGUID.
pub fn aaguid_extension(aaguid: [u8; 16]) -> CustomExtension {
    let mut content = vec![0x04, 16];
    content.extend_from_slice(&aaguid);
    CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 45724, 1, 1, 4], content)
}

/// A CRL from `issuer` listing the certificates with `serials` (their
/// DER serial bytes), valid from `this_update` to `next_update`.
pub fn crl(
    issuer: &Issued,
    serials: &[Vec<u8>],
    this_update: OffsetDateTime,
    next_update: OffsetDateTime,
) -> Vec<u8> {
    let params = rcgen::CertificateRevocationListParams {
        this_update,
        next_update,
        crl_number: rcgen::SerialNumber::from_slice(&[1]),
        issuing_distribution_point: None,
        revoked_certs: serials
            .iter()
            .map(|s| rcgen::RevokedCertParams {
                serial_number: rcgen::SerialNumber::from_slice(s),
                revocation_time: this_update,
                reason_code: Some(rcgen::RevocationReason::KeyCompromise),
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: rcgen::KeyIdMethod::Sha256,
    };
    params
        .signed_by(&issuer.cert, &issuer.key_pair)
        .expect("CRL")
        .der()
        .to_vec()
}
