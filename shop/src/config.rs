//! The typed configuration the shop runs with. The shop never reads the environment: `vivr serve` builds this
//! from flags and variables, validates it, and hands it over.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::store::PoolOptions;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Staging,
    Production,
}

impl Environment {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "development" | "dev" => Some(Environment::Development),
            "staging" => Some(Environment::Staging),
            "production" | "prod" => Some(Environment::Production),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Development => "development",
            Environment::Staging => "staging",
            Environment::Production => "production",
        }
    }

    /// Outside development the shop is behind TLS: cookies are `Secure` and HSTS is sent.
    pub fn is_development(self) -> bool {
        self == Environment::Development
    }
}

/// An IP network written as `10.0.0.0/8`, `::1/128` or a bare address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    pub fn parse(value: &str) -> Option<Self> {
        let (addr, prefix) = match value.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (value.parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(IpNet { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        fn masked(bits: u128, prefix: u8, width: u8) -> u128 {
            if prefix == 0 {
                0
            } else {
                bits >> (width - prefix)
            }
        }
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u128::from(u32::from(net)), self.prefix, 32)
                    == masked(u128::from(u32::from(ip)), self.prefix, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(u128::from(net), self.prefix, 128)
                    == masked(u128::from(ip), self.prefix, 128)
            }
            _ => false,
        }
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// The seller's identity that French law asks a shop to publish (mentions légales, CGV, privacy policy, the
/// withdrawal form). Production requires every field but the VAT number and the phone (the configuration
/// schema); elsewhere a missing one shows as a marked placeholder naming its variable.
#[derive(Debug, Clone, Default)]
pub struct LegalInfo {
    pub company_name: Option<String>,
    /// Legal form, capital, trade register: "SAS au capital de 10 000 €, RCS Paris".
    pub company_form: Option<String>,
    pub siren: Option<String>,
    pub vat_number: Option<String>,
    /// The registered office.
    pub address: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// The publication director.
    pub publisher: Option<String>,
    /// The hosting provider's name, address and telephone number.
    pub host: Option<String>,
    /// The consumer mediator's name and address, and website.
    pub mediator: Option<String>,
    pub mediator_url: Option<String>,
}

#[derive(Clone)]
pub struct ShopConfig {
    pub environment: Environment,
    pub database_url: SecretString,
    pub pool: PoolOptions,
    /// The canonical public URL (`https://vivr.fr`), used for absolute links; `None` in development.
    pub public_url: Option<String>,
    /// Where to report a vulnerability (`mailto:` or `https:`), for `/.well-known/security.txt`; unset, that file
    /// is not served.
    pub security_contact: Option<String>,
    /// The seller's identity, for the legal pages.
    pub legal: LegalInfo,
    /// Keys the CSRF tokens and signed links. At least 32 bytes; outside development it must be configured.
    pub session_secret: SecretString,
    /// The secret before the last rotation: what it signed (forms open in a browser, unsubscribe links already
    /// emailed) is still accepted; nothing new is signed with it.
    pub session_secret_previous: Option<SecretString>,
    pub session_idle: Duration,
    pub session_absolute: Duration,
    pub trusted_proxies: Vec<IpNet>,
    pub request_timeout: Duration,
    pub max_body_bytes: usize,
    /// After SIGTERM: how long to keep accepting new connections while readiness answers 503, so a load
    /// balancer stops routing here before the listener closes.
    pub shutdown_drain: Duration,
    /// After the listener closes: how long requests in flight may take to finish before the process exits.
    pub shutdown_timeout: Duration,
    /// How long public catalogue reads are kept in memory (zero: not at all). See `services::cache`.
    pub catalog_cache_ttl: Duration,
    /// `/metrics` on the public listener. False when metrics have their own admin listener.
    pub metrics_on_public_listener: bool,
    /// Tells whether the schema is the one this build expects; `/api/health` reports any difference. Without
    /// one, readiness only checks that the database answers.
    pub schema_probe: Option<std::sync::Arc<dyn crate::schema::SchemaProbe>>,
    /// Limits of the rate-limited routes (see `auth::rate_limit`).
    pub rate_limits: crate::auth::RateLimits,
    /// Password hashes computed at once (one per CPU by default) and requests allowed to wait for one; more are
    /// answered 503 (see `auth::Passwords`).
    pub password_workers: usize,
    pub password_queue: usize,
    /// Stripe keys; `None` (the demo default): checkout says payment is not configured.
    pub stripe: Option<crate::payments::StripeConfig>,
    /// SMTP for order emails; `None`: emails are logged instead.
    pub mail: Option<crate::mail::MailConfig>,
    /// Certificates Stripe and SMTP connections trust besides Mozilla's roots (see `tls`).
    pub extra_roots: Vec<rustls::pki_types::CertificateDer<'static>>,
    /// Where image files are kept: uploads and their variants (see `images::Blobs`).
    pub image_blobs: std::sync::Arc<dyn crate::images::Blobs>,
    /// Where pages link images from, a CDN in front of the shop (`https://cdn.vivr.fr`, no trailing slash):
    /// it must pass `/images/…` through to the shop. `None`: from the shop itself.
    pub asset_base_url: Option<String>,
    /// The largest image file an administrator may upload, in bytes.
    pub max_image_bytes: usize,
    /// How long an unpaid order keeps its stock before the expiry job cancels it.
    pub order_expiry: Duration,
    /// How often background jobs (order expiry, cleanups) run; emails are sent as soon as they are queued.
    pub job_interval: Duration,
}

impl ShopConfig {
    /// Sensible defaults for tests and development: the given database, a random session secret.
    pub fn development(database_url: &str) -> Self {
        use rand::RngCore;
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        ShopConfig {
            environment: Environment::Development,
            database_url: SecretString::from(database_url.to_string()),
            pool: PoolOptions::default(),
            public_url: None,
            security_contact: None,
            legal: LegalInfo::default(),
            session_secret: SecretString::from(hex::encode(secret)),
            session_secret_previous: None,
            session_idle: Duration::from_secs(7 * 24 * 3600),
            session_absolute: Duration::from_secs(30 * 24 * 3600),
            trusted_proxies: Vec::new(),
            request_timeout: Duration::from_secs(30),
            max_body_bytes: 64 * 1024,
            shutdown_drain: Duration::ZERO,
            shutdown_timeout: Duration::from_secs(30),
            catalog_cache_ttl: Duration::from_secs(5),
            metrics_on_public_listener: true,
            schema_probe: None,
            rate_limits: crate::auth::RateLimits::default(),
            password_workers: std::thread::available_parallelism().map_or(1, usize::from),
            password_queue: 16 * std::thread::available_parallelism().map_or(1, usize::from),
            stripe: None,
            mail: None,
            extra_roots: Vec::new(),
            image_blobs: std::sync::Arc::new(crate::images::MemoryBlobs::default()),
            asset_base_url: None,
            max_image_bytes: 20 * 1024 * 1024,
            order_expiry: Duration::from_secs(30 * 60),
            job_interval: Duration::from_secs(30),
        }
    }

    pub fn secure_cookies(&self) -> bool {
        !self.environment.is_development()
    }
}

/// Database URLs carry passwords: show scheme, host and database only.
pub fn redact_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let rest = match rest.rsplit_once('@') {
                Some((_, host)) => format!("***@{host}"),
                None => rest.to_string(),
            };
            let rest = rest.split('?').next().unwrap_or_default();
            format!("{scheme}://{rest}")
        }
        None => url.split('?').next().unwrap_or_default().to_string(),
    }
}

impl fmt::Debug for ShopConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShopConfig")
            .field("environment", &self.environment)
            .field(
                "database_url",
                &redact_url(self.database_url.expose_secret()),
            )
            .field("pool", &self.pool)
            .field("public_url", &self.public_url)
            .field("security_contact", &self.security_contact)
            .field("legal", &self.legal)
            .field("session_secret", &"[redacted]")
            .field(
                "session_secret_previous",
                &self.session_secret_previous.as_ref().map(|_| "[redacted]"),
            )
            .field("trusted_proxies", &self.trusted_proxies)
            .field("request_timeout", &self.request_timeout)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("shutdown_drain", &self.shutdown_drain)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("catalog_cache_ttl", &self.catalog_cache_ttl)
            .field(
                "metrics_on_public_listener",
                &self.metrics_on_public_listener,
            )
            .field("schema_probe", &self.schema_probe.is_some())
            .field("stripe", &self.stripe)
            .field("mail", &self.mail)
            .field("extra_roots", &self.extra_roots.len())
            .field("image_blobs", &self.image_blobs.describe())
            .field("asset_base_url", &self.asset_base_url)
            .field("max_image_bytes", &self.max_image_bytes)
            .field("order_expiry", &self.order_expiry)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_secrets() {
        let mut config = ShopConfig::development(
            "postgres://vivr:hunter2-password@db.internal:5432/vivr?sslmode=require",
        );
        config.session_secret =
            SecretString::from("super-secret-session-key-0123456789".to_string());
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("super-secret"), "{shown}");
        assert!(shown.contains("db.internal:5432/vivr"), "{shown}");
    }

    #[test]
    fn ip_networks() {
        let net = IpNet::parse("10.0.0.0/8").unwrap();
        assert!(net.contains("10.1.2.3".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        assert!(
            IpNet::parse("::1")
                .unwrap()
                .contains("::1".parse().unwrap())
        );
        assert!(IpNet::parse("10.0.0.0/33").is_none());
        assert!(
            IpNet::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
    }
}
