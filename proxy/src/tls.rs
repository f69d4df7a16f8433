//! TLS listeners: the certificate chain and its key are read and checked
//! when the configuration is loaded (so `check-config` and `run` fail at
//! start, naming the file, and nothing fails only at handshake time), then
//! served to Pingora's rustls acceptor through a resolver, never as paths
//! for it to read again.
//!
//! A TLS listener offers HTTP/2 and HTTP/1.1 by ALPN. Keys may be PKCS#8,
//! SEC1 (EC) or PKCS#1 (RSA) PEM; the key must match the first
//! certificate of the chain.

use pingora::listeners::tls::TlsSettings;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A certificate chain and key, loaded and checked.
#[derive(Debug, Clone)]
pub struct ServerCert {
    /// The PEM chain's file.
    pub cert_path: PathBuf,
    /// The key's file.
    pub key_path: PathBuf,
    key: Arc<CertifiedKey>,
}

/// A TLS file that cannot be used: which file, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {problem}", path.display())]
pub struct TlsFileError {
    /// Whether the certificate file (else the key file) is at fault.
    pub cert: bool,
    /// The file.
    pub path: PathBuf,
    /// What is wrong.
    pub problem: String,
}

/// The crypto provider of every TLS connection fidogate makes or accepts:
/// aws-lc-rs, as its signature verification. Installed as the process
/// default at start, before anything (Pingora included) picks another.
pub fn provider() -> Arc<CryptoProvider> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
}

/// Largest certificate chain or key file read.
const MAX_FILE: u64 = 1024 * 1024;

fn read(path: &Path, cert: bool) -> Result<Vec<u8>, TlsFileError> {
    let fail = |problem: String| TlsFileError {
        cert,
        path: path.to_path_buf(),
        problem,
    };
    crate::files::read_regular(path, MAX_FILE).map_err(|e| fail(e.to_string()))
}

impl ServerCert {
    /// Reads `cert_path` (a PEM chain, the server's certificate first) and
    /// `key_path` (its PEM key), and checks that they belong together.
    pub fn load(cert_path: &Path, key_path: &Path) -> Result<Self, TlsFileError> {
        let cert_err = |problem: String| TlsFileError {
            cert: true,
            path: cert_path.to_path_buf(),
            problem,
        };
        let key_err = |problem: String| TlsFileError {
            cert: false,
            path: key_path.to_path_buf(),
            problem,
        };
        let pem = read(cert_path, true)?;
        let chain = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| cert_err(format!("not a PEM certificate chain: {e}")))?;
        if chain.is_empty() {
            return Err(cert_err("holds no CERTIFICATE block".to_owned()));
        }
        for (i, c) in chain.iter().enumerate() {
            x509_parser::parse_x509_certificate(c.as_ref())
                .map_err(|e| cert_err(format!("certificate {i} does not parse: {e}")))?;
        }
        let pem = read(key_path, false)?;
        let key = PrivateKeyDer::from_pem_slice(&pem)
            .map_err(|e| key_err(format!("no PKCS#8, SEC1 or PKCS#1 private key in PEM: {e}")))?;
        let provider = provider();
        let signing = provider
            .key_provider
            .load_private_key(key)
            .map_err(|e| key_err(format!("unusable key: {e}")))?;
        let certified = CertifiedKey::new(chain, signing);
        certified.keys_match().map_err(|e| {
            key_err(format!(
                "does not match the certificate in {}: {e}",
                cert_path.display()
            ))
        })?;
        Ok(Self {
            cert_path: cert_path.to_path_buf(),
            key_path: key_path.to_path_buf(),
            key: Arc::new(certified),
        })
    }

    /// Pingora's settings for a listener serving this certificate, with
    /// HTTP/2 and HTTP/1.1 offered by ALPN.
    pub fn settings(&self) -> pingora::Result<TlsSettings> {
        // No paths: the resolver serves the key already loaded.
        let mut settings = TlsSettings::intermediate("", "")?;
        settings.set_cert_resolver(Arc::new(Resolver(self.key.clone())));
        settings.enable_h2();
        Ok(settings)
    }
}

/// Serves the one certificate whatever the client asks for.
#[derive(Debug)]
struct Resolver(Arc<CertifiedKey>);

impl ResolvesServerCert for Resolver {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

/// Generates a self-signed P-256 certificate for `localhost` and
/// `127.0.0.1` into `cert_path` and `key_path` (neither may exist; the
/// key is readable by its owner only), and loads it.
pub fn generate_self_signed(cert_path: &Path, key_path: &Path) -> Result<ServerCert, String> {
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let made = rcgen::generate_simple_self_signed(names).map_err(|e| e.to_string())?;
    crate::config::write_private(key_path, made.key_pair.serialize_pem().as_bytes())
        .map_err(|e| format!("{}: {e}", key_path.display()))?;
    std::fs::write(cert_path, made.cert.pem())
        .map_err(|e| format!("{}: cannot write: {e}", cert_path.display()))?;
    ServerCert::load(cert_path, key_path).map_err(|e| e.to_string())
}

/// The certificates of a PEM file, as DER.
pub fn pem_certificates(pem: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    CertificateDer::pem_slice_iter(pem)
        .map(|c| c.map(|c| c.to_vec()).map_err(|e| e.to_string()))
        .collect()
}

/// TLS to the app for the gateway's own requests (app-issued
/// challenges): the same name and roots Pingora's connections use.
#[derive(Clone)]
pub struct UpstreamClient {
    connector: tokio_rustls::TlsConnector,
    name: rustls::pki_types::ServerName<'static>,
}

impl std::fmt::Debug for UpstreamClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamClient")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl UpstreamClient {
    /// A client checking the app's certificate for `sni` against `roots`
    /// (DER), or the system's roots when `None`.
    pub fn new(sni: &str, roots: Option<&[Vec<u8>]>) -> Result<Self, String> {
        let name = rustls::pki_types::ServerName::try_from(sni.to_owned())
            .map_err(|e| format!("upstream_tls.sni: {e}"))?;
        let mut store = rustls::RootCertStore::empty();
        match roots {
            Some(roots) => {
                for der in roots {
                    store
                        .add(CertificateDer::from(der.clone()))
                        .map_err(|e| format!("upstream_tls.ca_file: {e}"))?;
                }
            }
            None => {
                let found = rustls_native_certs::load_native_certs();
                for cert in found.certs {
                    // A system root rustls cannot use is skipped, as
                    // Pingora's own connector does.
                    let _ = store.add(cert);
                }
                if store.is_empty() {
                    return Err(
                        "upstream_tls: no system CA certificates found; set ca_file".to_owned()
                    );
                }
            }
        }
        let config = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(store)
            .with_no_client_auth();
        Ok(Self {
            connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
            name,
        })
    }

    /// A TLS connection over `tcp`, the app's certificate checked.
    pub async fn connect(
        &self,
        tcp: tokio::net::TcpStream,
    ) -> std::io::Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
        self.connector.connect(self.name.clone(), tcp).await
    }
}
