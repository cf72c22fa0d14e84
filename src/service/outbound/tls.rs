//! TLS to the hospital's endpoints: the server's certificate must chain to the CA the site
//! names (`tls_ca`, a PEM file in /etc/titra) and name the host the pump connects to. No
//! built-in roots: the pump trusts the hospital's CA and nothing else. rustls with its ring
//! provider, TLS 1.2 and 1.3.

use std::path::Path;
use std::sync::Arc;

#[cfg(test)]
pub(crate) use crate::input::ca::TEST_CA_PEM;
pub use crate::input::ca::{TlsError, ca_certificates};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_is_read_or_said_wrong_in_words() {
        let scratch = crate::scratch::Scratch::new("tls-ca");
        let dir = scratch.path();
        let good = dir.join("ca.pem");
        std::fs::write(&good, TEST_CA_PEM).unwrap();
        assert_eq!(ca_certificates(&good).unwrap().len(), 1);
        client_config(&good).unwrap();

        let why = |path: &Path| ca_certificates(path).unwrap_err().why().to_owned();
        assert_eq!(why(&dir.join("gone.pem")), "does not exist");
        let key_only = dir.join("key.pem");
        std::fs::write(
            &key_only,
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        assert_eq!(
            why(&key_only),
            "holds no certificate (PEM, BEGIN CERTIFICATE)"
        );
        let broken = dir.join("broken.pem");
        std::fs::write(
            &broken,
            "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        assert!(
            why(&broken).starts_with("is not valid PEM"),
            "{}",
            why(&broken)
        );
        // The whole error still names the file, as the senders say it.
        let e = ca_certificates(&dir.join("gone.pem"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("tls_ca ") && e.ends_with("gone.pem: does not exist"),
            "{e}"
        );
    }
}
