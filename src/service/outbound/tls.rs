//! TLS to the hospital's endpoints: the server's certificate must chain to the CA the site
//! names (`tls_ca`, a PEM file in /etc/titra) and name the host the pump connects to. No
//! built-in roots: the pump trusts the hospital's CA and nothing else. rustls with its ring
//! provider, TLS 1.2 and 1.3.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// The site's CA cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TlsError {
    #[error("tls_ca {path}: {why}")]
    Ca { path: String, why: String },
}

/// The certificates of the PEM file at `path` (at least one).
pub fn ca_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let fail = |why: String| TlsError::Ca {
        path: path.display().to_string(),
        why,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| fail(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(e.to_string()))?;
    if certs.is_empty() {
        return Err(fail(
            "holds no certificate (PEM, BEGIN CERTIFICATE)".to_owned(),
        ));
    }
    Ok(certs)
}

/// rustls's ring provider. rustls marks it deprecated for want of post-quantum key exchange
/// (which its aws-lc-rs provider has); aws-lc-rs needs CMake and a C toolchain for each target
/// and takes minutes to build on this project's machines, for a link inside the hospital's
/// network whose recorded traffic a quantum computer would have to break later. Kept, and
/// revisited when ring gains it or the site asks for it.
#[allow(deprecated)]
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The client configuration that trusts only the CA at `path`.
pub fn client_config(path: &Path) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let fail = |why: String| TlsError::Ca {
        path: path.display().to_string(),
        why,
    };
    let mut roots = rustls::RootCertStore::empty();
    for cert in ca_certificates(path)? {
        roots.add(cert).map_err(|e| fail(e.to_string()))?;
    }
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| fail(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
