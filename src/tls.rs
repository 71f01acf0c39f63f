//! The certificates vivr trusts besides Mozilla's roots compiled into it: the system store's, or the files
//! `SSL_CERT_FILE` / `SSL_CERT_DIR` name (a private CA in front of a VPC endpoint or a mail relay, a
//! TLS-inspecting proxy). The image is `FROM scratch`: there these are only what the operator mounts and names.
//! Used by the AWS clients (`aws`) and passed to the shop for Stripe and SMTP (`ShopConfig::extra_roots`).

use rustls::pki_types::CertificateDer;

/// The local certificates rustls can use as roots. A store that cannot be read is logged and left out: the
/// compiled-in roots remain.
pub fn local_roots() -> Vec<CertificateDer<'static>> {
    let loaded = rustls_native_certs::load_native_certs();
    for err in &loaded.errors {
        tracing::debug!("local certificates: {err}");
    }
    loaded
        .certs
        .into_iter()
        .filter(|der| rustls::RootCertStore::empty().add(der.clone()).is_ok())
        .collect()
}
