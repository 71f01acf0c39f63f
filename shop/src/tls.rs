//! The certificates the shop's outbound TLS connections (Stripe, SMTP) trust: Mozilla's roots compiled into the
//! binary — the production image is `FROM scratch` and has no system store — plus the ones the caller adds in
//! `ShopConfig::extra_roots` (a private CA in front of a mail relay, a TLS-inspecting proxy). The CLI passes the
//! system store's and `SSL_CERT_FILE` / `SSL_CERT_DIR`'s; the shop itself reads no environment.

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;

/// Mozilla's roots and `extra`; an extra certificate rustls cannot use as a root is left out with a warning.
pub fn root_store(extra: &[CertificateDer<'static>]) -> RootCertStore {
    let mut store = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let (_, ignored) = store.add_parsable_certificates(extra.iter().cloned());
    if ignored > 0 {
        tracing::warn!(
            "{ignored} extra certificate(s) cannot be used as roots and are not trusted"
        );
    }
    store
}

/// The rustls client configuration for HTTPS calls: ring, the safe default protocol versions, [`root_store`].
pub fn client_config(
    extra: &[CertificateDer<'static>],
) -> Result<rustls::ClientConfig, rustls::Error> {
    Ok(
        rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(root_store(extra))
        .with_no_client_auth(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mozillas_roots_are_always_there_and_garbage_is_left_out() {
        let base = root_store(&[]).len();
        assert!(base > 100, "{base} roots");
        let garbage = CertificateDer::from(b"not a certificate".to_vec());
        assert_eq!(root_store(&[garbage]).len(), base);
    }
}
