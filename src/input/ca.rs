//! The site's CA file (`tls_ca` of an interface engine or a FHIR server): read by the profile's
//! check (`IntegrationConfig::check_files`) and by the senders (`service::outbound::tls`), the
//! same reading, so that a CA the check accepts is one a sender can start with.

use std::path::Path;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// The site's CA cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TlsError {
    #[error("tls_ca {path}: {why}")]
    Ca { path: String, why: String },
}

impl TlsError {
    /// What is wrong, without the path (for a message that names the key and the path itself:
    /// the profile's check, `IntegrationConfig::check_files`).
    pub fn why(&self) -> &str {
        match self {
            TlsError::Ca { why, .. } => why.as_str(),
        }
    }
}

/// The certificates of the PEM file at `path` (at least one): what the senders trust, and what
/// the profile's check reads (`IntegrationConfig::check_files`), so that a CA the check accepts
/// is one a sender can start with.
pub fn ca_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    use rustls::pki_types::pem::Error as PemError;
    let fail = |why: String| TlsError::Ca {
        path: path.display().to_string(),
        why,
    };
    let unusable = |e: PemError| match e {
        PemError::Io(e) if e.kind() == std::io::ErrorKind::NotFound => "does not exist".to_owned(),
        PemError::Io(e) => format!("cannot be read ({e})"),
        e => format!("is not valid PEM ({e})"),
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| fail(unusable(e)))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(unusable(e)))?;
    if certs.is_empty() {
        return Err(fail(
            "holds no certificate (PEM, BEGIN CERTIFICATE)".to_owned(),
        ));
    }
    Ok(certs)
}

/// A self-signed CA certificate (P-256, "Titra test CA", valid until 2126; its key was not
/// kept) for the tests that need a PEM file holding one (tests/common/test-ca.pem, which the
/// integration tests read too).
#[cfg(test)]
pub(crate) const TEST_CA_PEM: &str = include_str!("../../tests/common/test-ca.pem");
