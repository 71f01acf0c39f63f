//! Configuration: the schema of every variable (`vivr.env.yaml`), its sources, the check against it, and for
//! `vivr serve` the typed [`ShopConfig`] built once the check passes — or one report listing every problem.

pub mod check;
pub mod diff;
pub mod report;
pub mod schema;
pub mod sources;

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use schema::Schema;
use secrecy::{ExposeSecret, SecretString};
use sources::Source;
use vivr_shop::config::{Environment, IpNet, ShopConfig};
use vivr_shop::mail::MailConfig;
use vivr_shop::payments::StripeConfig;
use vivr_shop::store::{Backend, PoolOptions};

/// What `vivr serve` was given, before validation. Secrets are already wrapped.
#[derive(Debug)]
pub struct ServeInput {
    pub environment: String,
    pub database_url: SecretString,
    pub bind: String,
    pub admin_bind: Option<String>,
    pub public_url: Option<String>,
    pub session_secret: Option<SecretString>,
    pub trusted_proxies: Vec<String>,
    pub db_pool_size: u32,
    pub request_timeout_secs: u64,
    pub max_body_bytes: usize,
    pub shutdown_drain_secs: u64,
    pub shutdown_timeout_secs: u64,
    pub catalog_cache_secs: u64,
    pub image_store: Option<String>,
    pub asset_base_url: Option<String>,
    pub max_image_bytes: usize,
}

/// Where images are kept when `VIVR_IMAGE_STORE` is unset (development only: the schema requires it elsewhere).
pub const DEFAULT_IMAGE_STORE: &str = "data/images";

pub struct ServeConfig {
    pub shop: ShopConfig,
    pub backend: Backend,
    pub bind: SocketAddr,
    pub admin_bind: Option<SocketAddr>,
    /// `VIVR_IMAGE_STORE`: a directory or `s3://bucket/prefix` (opened by `vivr serve`).
    pub image_store: String,
}

/// The configuration `vivr serve` was given failed the schema: the grouped report, ready to print.
#[derive(Debug)]
pub struct ConfigReport {
    pub report: check::CheckReport,
    text: String,
}

impl fmt::Display for ConfigReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for ConfigReport {}

/// The flags and variables `vivr serve` was given, as one source over the process environment (a flag given
/// on the command line wins over its variable, as clap resolved it).
fn serve_source(input: &ServeInput) -> Source {
    let mut source = Source::process_env();
    source.name = "flags and environment".into();
    let mut set = |key: &str, value: Option<String>| match value {
        Some(value) => {
            source.entries.insert(
                key.to_string(),
                sources::Entry {
                    value: SecretString::from(value),
                    line: None,
                },
            );
        }
        None => {
            source.entries.remove(key);
        }
    };
    set("VIVR_ENV", Some(input.environment.clone()));
    set(
        "DATABASE_URL",
        Some(input.database_url.expose_secret().to_string()),
    );
    set("VIVR_BIND", Some(input.bind.clone()));
    set("VIVR_ADMIN_BIND", input.admin_bind.clone());
    set("VIVR_PUBLIC_URL", input.public_url.clone());
    set(
        "VIVR_SESSION_SECRET",
        input
            .session_secret
            .as_ref()
            .map(|s| s.expose_secret().to_string()),
    );
    set(
        "VIVR_TRUSTED_PROXIES",
        (!input.trusted_proxies.is_empty()).then(|| input.trusted_proxies.join(",")),
    );
    set("VIVR_DB_POOL_SIZE", Some(input.db_pool_size.to_string()));
    set(
        "VIVR_REQUEST_TIMEOUT_SECS",
        Some(input.request_timeout_secs.to_string()),
    );
    set(
        "VIVR_MAX_BODY_BYTES",
        Some(input.max_body_bytes.to_string()),
    );
    set(
        "VIVR_SHUTDOWN_DRAIN_SECS",
        Some(input.shutdown_drain_secs.to_string()),
    );
    set(
        "VIVR_SHUTDOWN_TIMEOUT_SECS",
        Some(input.shutdown_timeout_secs.to_string()),
    );
    set(
        "VIVR_CATALOG_CACHE_SECS",
        Some(input.catalog_cache_secs.to_string()),
    );
    set("VIVR_IMAGE_STORE", input.image_store.clone());
    set("VIVR_ASSET_BASE_URL", input.asset_base_url.clone());
    set(
        "VIVR_MAX_IMAGE_BYTES",
        Some(input.max_image_bytes.to_string()),
    );
    source
}

/// Metrics name every route, status and pool size: outside development they are served only on the private
/// admin listener, never next to the shop.
fn metrics_on_public_listener(environment: Environment, admin_listener: bool) -> bool {
    !admin_listener && environment.is_development()
}

/// What the shop takes from the variables themselves: the previous session secret, Stripe, SMTP, the order
/// expiry. The schema's `requires` rules make the pairs come together.
fn from_source(shop: &mut ShopConfig, source: &Source) {
    let value = |key: &str| {
        source
            .entries
            .get(key)
            .map(|e| e.value.expose_secret().to_string())
            .filter(|v| !v.is_empty())
    };
    let secret = |key: &str| value(key).map(SecretString::from);
    shop.session_secret_previous = secret("VIVR_SESSION_SECRET_PREVIOUS");
    shop.security_contact = value("VIVR_SECURITY_CONTACT");
    shop.legal = vivr_shop::config::LegalInfo {
        company_name: value("VIVR_LEGAL_COMPANY_NAME"),
        company_form: value("VIVR_LEGAL_COMPANY_FORM"),
        siren: value("VIVR_LEGAL_SIREN"),
        vat_number: value("VIVR_LEGAL_VAT_NUMBER"),
        address: value("VIVR_LEGAL_ADDRESS"),
        email: value("VIVR_LEGAL_EMAIL"),
        phone: value("VIVR_LEGAL_PHONE"),
        publisher: value("VIVR_LEGAL_PUBLISHER"),
        host: value("VIVR_LEGAL_HOST"),
        mediator: value("VIVR_LEGAL_MEDIATOR"),
        mediator_url: value("VIVR_LEGAL_MEDIATOR_URL"),
    };
    shop.stripe = match (secret("STRIPE_SECRET_KEY"), value("STRIPE_PUBLISHABLE_KEY")) {
        (Some(secret_key), Some(publishable_key)) => Some(StripeConfig {
            secret_key,
            publishable_key,
            webhook_secrets: ["STRIPE_WEBHOOK_SECRET", "STRIPE_WEBHOOK_SECRET_PREVIOUS"]
                .into_iter()
                .filter_map(secret)
                .collect(),
            api_base: value("STRIPE_API_BASE").unwrap_or_else(|| "https://api.stripe.com".into()),
        }),
        _ => None,
    };
    shop.mail = match (secret("VIVR_SMTP_URL"), value("VIVR_MAIL_FROM")) {
        (Some(smtp_url), Some(from)) => Some(MailConfig { smtp_url, from }),
        _ => None,
    };
    if shop.stripe.is_some() || shop.mail.is_some() {
        shop.extra_roots = crate::tls::local_roots();
    }
    if let Some(minutes) = value("VIVR_ORDER_EXPIRY_MINS").and_then(|v| v.parse::<u64>().ok()) {
        shop.order_expiry = Duration::from_secs(minutes * 60);
    }
}

/// Checks what `vivr serve` was given against the schema (every rule, every variable the process sees), then
/// builds the shop's typed configuration.
pub fn validate(input: ServeInput) -> Result<ServeConfig, ConfigReport> {
    let schema = Schema::embedded();
    let environment = Environment::parse(&input.environment);
    let source = serve_source(&input);
    let report = check::check(
        schema,
        environment.unwrap_or(Environment::Production),
        vec![source.clone()],
    );
    let refuse = |report: check::CheckReport| {
        let text = report::text(&report, schema, "invalid configuration for `vivr serve`");
        ConfigReport { report, text }
    };
    let (Some(environment), true) = (environment, report.is_ok()) else {
        return Err(refuse(report));
    };
    for finding in &report.findings {
        tracing::warn!(variable = %finding.variable, rule = %finding.rule, "configuration: {}", finding.message);
    }

    let url = input.database_url.expose_secret();
    // The schema check passed: every value below parses.
    let parsed = (
        Backend::from_url(url),
        input.bind.parse::<SocketAddr>().ok(),
        input
            .trusted_proxies
            .iter()
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
            .map(IpNet::parse)
            .collect::<Option<Vec<_>>>(),
    );
    let (Some(backend), Some(bind), Some(trusted)) = parsed else {
        return Err(refuse(report));
    };
    let admin_bind = input
        .admin_bind
        .as_deref()
        .filter(|v| !v.is_empty())
        .and_then(|v| v.parse::<SocketAddr>().ok());

    let mut shop = ShopConfig::development(url);
    if let Some(secret) = &input.session_secret {
        shop.session_secret = secret.clone();
    }
    shop.environment = environment;
    shop.pool = PoolOptions {
        max_connections: input.db_pool_size,
        ..PoolOptions::default()
    };
    shop.public_url = input.public_url;
    shop.trusted_proxies = trusted;
    shop.request_timeout = Duration::from_secs(input.request_timeout_secs);
    shop.max_body_bytes = input.max_body_bytes;
    shop.shutdown_drain = Duration::from_secs(input.shutdown_drain_secs);
    shop.shutdown_timeout = Duration::from_secs(input.shutdown_timeout_secs);
    shop.catalog_cache_ttl = Duration::from_secs(input.catalog_cache_secs);
    shop.asset_base_url = input
        .asset_base_url
        .map(|base| base.trim_end_matches('/').to_string())
        .filter(|base| !base.is_empty());
    shop.max_image_bytes = input.max_image_bytes;
    shop.metrics_on_public_listener = metrics_on_public_listener(environment, admin_bind.is_some());
    from_source(&mut shop, &source);
    Ok(ServeConfig {
        shop,
        backend,
        bind,
        admin_bind,
        image_store: input
            .image_store
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| DEFAULT_IMAGE_STORE.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ServeInput {
        ServeInput {
            environment: "development".into(),
            database_url: SecretString::from("sqlite://data/vivr.db".to_string()),
            bind: "127.0.0.1:3000".into(),
            admin_bind: None,
            public_url: None,
            session_secret: None,
            trusted_proxies: vec![],
            db_pool_size: 16,
            request_timeout_secs: 30,
            max_body_bytes: 65536,
            shutdown_drain_secs: 0,
            shutdown_timeout_secs: 30,
            catalog_cache_secs: 5,
            image_store: None,
            asset_base_url: None,
            max_image_bytes: 20 * 1024 * 1024,
        }
    }

    #[test]
    fn metrics_stay_off_the_public_listener_outside_development() {
        assert!(metrics_on_public_listener(Environment::Development, false));
        assert!(!metrics_on_public_listener(Environment::Development, true));
        assert!(!metrics_on_public_listener(Environment::Staging, false));
        assert!(!metrics_on_public_listener(Environment::Production, false));
    }

    #[test]
    fn development_defaults_are_valid() {
        assert!(validate(input()).is_ok());
    }

    #[test]
    fn production_reports_every_problem_without_showing_secrets() {
        let mut bad = input();
        bad.environment = "production".into();
        bad.session_secret = Some(SecretString::from("short-secret-value".to_string()));
        bad.bind = "nowhere".into();
        bad.trusted_proxies = vec!["10.0.0.0/99".into()];
        let report = validate(bad).err().unwrap();
        let text = report.to_string();
        // 6 problems of these settings, the 10 legal settings production requires and the image store (unset
        // here).
        assert_eq!(report.report.errors(), 17, "{text}");
        for needle in [
            "VIVR_LEGAL_SIREN",
            "VIVR_SECURITY_CONTACT",
            "DATABASE_URL",
            "VIVR_SMTP_URL",
            "VIVR_SESSION_SECRET",
            "VIVR_BIND",
            "VIVR_TRUSTED_PROXIES",
            "VIVR_IMAGE_STORE",
            "[Database]",
            "[Authentication]",
        ] {
            assert!(text.contains(needle), "{needle} missing from {text}");
        }
        assert!(!text.contains("short-secret-value"));
    }
}
