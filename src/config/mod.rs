//! Configuration for `vivr serve`: raw values from flags and environment become one validated
//! [`ShopConfig`], or one report that lists every problem, grouped, at once. (The full variable schema and
//! `vivr env` build on this seam.)

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use vivr_shop::config::{Environment, IpNet, LoginThrottle, ShopConfig};
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
}

pub struct ServeConfig {
    pub shop: ShopConfig,
    pub backend: Backend,
    pub bind: SocketAddr,
    pub admin_bind: Option<SocketAddr>,
}

/// Every problem found, grouped by category.
#[derive(Debug, Default)]
pub struct ConfigReport {
    pub environment: String,
    problems: Vec<(&'static str, String, String)>,
}

impl ConfigReport {
    fn add(&mut self, category: &'static str, variable: &str, message: impl Into<String>) {
        self.problems
            .push((category, variable.to_string(), message.into()));
    }

    pub fn is_empty(&self) -> bool {
        self.problems.is_empty()
    }

    pub fn len(&self) -> usize {
        self.problems.len()
    }
}

impl fmt::Display for ConfigReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "invalid configuration for `vivr serve` (environment {}): {} problem(s)",
            self.environment,
            self.problems.len()
        )?;
        let mut categories: Vec<&str> = self.problems.iter().map(|p| p.0).collect();
        categories.dedup();
        categories.sort_unstable();
        categories.dedup();
        for category in categories {
            writeln!(f, "  {category}:")?;
            for (_, variable, message) in self.problems.iter().filter(|p| p.0 == category) {
                writeln!(f, "    - {variable}: {message}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ConfigReport {}

const MIN_SECRET_LEN: usize = 32;

pub fn validate(input: ServeInput) -> Result<ServeConfig, ConfigReport> {
    let mut report = ConfigReport {
        environment: input.environment.clone(),
        ..ConfigReport::default()
    };
    let environment = Environment::parse(&input.environment).unwrap_or_else(|| {
        report.add(
            "general",
            "VIVR_ENV",
            "must be development, staging or production",
        );
        Environment::Production
    });
    report.environment = environment.as_str().to_string();

    let url = input.database_url.expose_secret();
    let backend = Backend::from_url(url);
    match backend {
        None => report.add("database", "DATABASE_URL", "must start with sqlite:, postgres:// or postgresql://"),
        Some(Backend::Sqlite) if !environment.is_development() => report.add(
            "database",
            "DATABASE_URL",
            "the embedded SQLite database is for development; staging and production need PostgreSQL",
        ),
        _ => {}
    }
    if !(1..=200).contains(&input.db_pool_size) {
        report.add("database", "VIVR_DB_POOL_SIZE", "must be between 1 and 200");
    }

    let bind = input
        .bind
        .parse::<SocketAddr>()
        .map_err(|_| {
            report.add(
                "server",
                "VIVR_BIND",
                "must be an address:port such as 127.0.0.1:3000",
            )
        })
        .ok();
    let admin_bind = match &input.admin_bind {
        Some(v) if !v.is_empty() => v
            .parse::<SocketAddr>()
            .map_err(|_| {
                report.add(
                    "server",
                    "VIVR_ADMIN_BIND",
                    "must be an address:port such as 127.0.0.1:9090",
                )
            })
            .ok(),
        _ => None,
    };
    if let (Some(a), Some(b)) = (bind, admin_bind)
        && a == b
    {
        report.add("server", "VIVR_ADMIN_BIND", "must differ from VIVR_BIND");
    }
    if !(1..=300).contains(&input.request_timeout_secs) {
        report.add(
            "server",
            "VIVR_REQUEST_TIMEOUT_SECS",
            "must be between 1 and 300",
        );
    }
    if !(1024..=10 * 1024 * 1024).contains(&input.max_body_bytes) {
        report.add(
            "server",
            "VIVR_MAX_BODY_BYTES",
            "must be between 1024 and 10485760",
        );
    }
    if input.shutdown_drain_secs > 300 {
        report.add(
            "server",
            "VIVR_SHUTDOWN_DRAIN_SECS",
            "must be between 0 and 300",
        );
    }
    if !(1..=3600).contains(&input.shutdown_timeout_secs) {
        report.add(
            "server",
            "VIVR_SHUTDOWN_TIMEOUT_SECS",
            "must be between 1 and 3600",
        );
    }
    if input.catalog_cache_secs > 300 {
        report.add(
            "server",
            "VIVR_CATALOG_CACHE_SECS",
            "must be between 0 and 300",
        );
    }
    let mut trusted = Vec::new();
    for proxy in input
        .trusted_proxies
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
    {
        match IpNet::parse(proxy) {
            Some(net) => trusted.push(net),
            None => report.add(
                "server",
                "VIVR_TRUSTED_PROXIES",
                format!("{proxy:?} is not an IP address or CIDR network"),
            ),
        }
    }
    match &input.public_url {
        Some(u) if !environment.is_development() && !u.starts_with("https://") => report.add(
            "server",
            "VIVR_PUBLIC_URL",
            "must be an https:// URL outside development",
        ),
        Some(u) if !(u.starts_with("https://") || u.starts_with("http://")) => report.add(
            "server",
            "VIVR_PUBLIC_URL",
            "must be an http:// or https:// URL",
        ),
        _ => {}
    }

    let mut shop = ShopConfig::development(url);
    match &input.session_secret {
        Some(secret) if secret.expose_secret().len() < MIN_SECRET_LEN => report.add(
            "auth",
            "VIVR_SESSION_SECRET",
            format!("must be at least {MIN_SECRET_LEN} characters"),
        ),
        Some(secret) => shop.session_secret = secret.clone(),
        None if !environment.is_development() => report.add(
            "auth",
            "VIVR_SESSION_SECRET",
            format!(
                "is required outside development (at least {MIN_SECRET_LEN} random characters)"
            ),
        ),
        // Development: a random secret per process (tokens do not survive a restart; nothing else depends on it).
        None => {}
    }

    if !report.is_empty() {
        return Err(report);
    }
    let (Some(backend), Some(bind)) = (backend, bind) else {
        return Err(report);
    };
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
    shop.metrics_on_public_listener = admin_bind.is_none();
    shop.expected_migrations = crate::migrate::expected(backend);
    shop.login_throttle = LoginThrottle::default();
    Ok(ServeConfig {
        shop,
        backend,
        bind,
        admin_bind,
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
        }
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
        assert_eq!(report.len(), 4, "{text}");
        for needle in [
            "DATABASE_URL",
            "VIVR_SESSION_SECRET",
            "VIVR_BIND",
            "VIVR_TRUSTED_PROXIES",
            "database:",
            "auth:",
        ] {
            assert!(text.contains(needle), "{needle} missing from {text}");
        }
        assert!(!text.contains("short-secret-value"));
    }
}
