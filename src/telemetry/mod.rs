//! What `vivr serve` reports beyond its logs, each off unless its variable is set: unexpected errors to a
//! Sentry-compatible endpoint (`SENTRY_DSN`, `errors.rs`), request and database spans to an OpenTelemetry
//! collector (`OTEL_EXPORTER_OTLP_ENDPOINT`, `traces.rs`). Read from the process environment when logging starts,
//! like `VIVR_LOG_FORMAT`; `vivr env check` validates the same variables against `vivr.env.yaml`.

pub mod errors;
pub mod traces;

use crate::config::schema::Schema;

/// The exporters the environment asks for.
#[derive(Debug, Default)]
pub struct Telemetry {
    pub errors: Option<errors::ErrorTracking>,
    pub traces: Option<traces::Tracing>,
}

/// Keeps the exporters running; dropping it sends what is still queued (a few seconds at most).
pub struct Guard {
    _errors: Option<sentry::ClientInitGuard>,
    traces: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(provider) = self.traces.take()
            && let Err(err) = provider.shutdown()
        {
            eprintln!("warning: the last traces were not exported: {err}");
        }
    }
}

/// The release reported with errors: `VIVR_RELEASE` (the image sets it to its git commit), else vivr's version.
pub fn release(env: &dyn Fn(&str) -> Option<String>) -> String {
    env("VIVR_RELEASE").unwrap_or_else(|| format!("vivr@{}", env!("CARGO_PKG_VERSION")))
}

impl Telemetry {
    /// From the process environment. An invalid value turns its exporter off with a warning on stderr: `vivr
    /// serve` then refuses to start on the same value (the schema's check), naming the variable.
    /// `database_url`: the one `vivr serve` was given (its flag or DATABASE_URL), named in statement spans and
    /// scrubbed from error reports.
    pub fn from_env(database_url: &str) -> Telemetry {
        Telemetry::from(&|key: &str| match key {
            "DATABASE_URL" => Some(database_url.to_string()),
            _ => std::env::var(key).ok().filter(|v| !v.trim().is_empty()),
        })
    }

    pub fn from(env: &dyn Fn(&str) -> Option<String>) -> Telemetry {
        let release = release(env);
        let environment = env("VIVR_ENV").unwrap_or_else(|| "development".into());
        let errors =
            env("SENTRY_DSN").and_then(|dsn| match dsn.trim().parse::<sentry::types::Dsn>() {
                Ok(dsn) => Some(errors::ErrorTracking {
                    dsn,
                    release: release.clone(),
                    environment: environment.clone(),
                    secrets: secret_values(env),
                }),
                Err(err) => {
                    eprintln!(
                        "warning: SENTRY_DSN is not a valid DSN ({err}); errors are not reported"
                    );
                    None
                }
            });
        let traces = [
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        ]
        .into_iter()
        .any(|key| env(key).is_some())
        .then(|| traces::Tracing {
            release,
            environment,
            // OpenTelemetry's names for the two backends.
            db_system: env("DATABASE_URL")
                .and_then(|url| vivr_shop::store::Backend::from_url(&url))
                .map(|backend| match backend {
                    vivr_shop::store::Backend::Postgres => "postgresql",
                    vivr_shop::store::Backend::Sqlite => "sqlite",
                }),
        });
        Telemetry { errors, traces }
    }

    /// Starts the exporters; an exporter that cannot start is left off, with a warning on stderr.
    pub fn start(&self) -> Guard {
        let traces = self
            .traces
            .as_ref()
            .and_then(|config| match traces::start(config) {
                Ok(provider) => Some(provider),
                Err(err) => {
                    eprintln!("warning: traces are not exported: {err:#}");
                    None
                }
            });
        Guard {
            _errors: self.errors.as_ref().map(errors::start),
            traces,
        }
    }

    /// The layers that feed the exporters `guard` runs (none when all are off).
    pub fn layers<S>(&self, guard: &Guard) -> impl tracing_subscriber::Layer<S> + use<S>
    where
        S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    {
        use tracing_subscriber::Layer;
        let errors = self.errors.as_ref().map(|_| {
            errors::ErrorReports.with_filter(tracing_subscriber::filter::filter_fn(|meta| {
                (meta.is_span() && meta.name() == "request")
                    || *meta.level() == tracing::Level::ERROR
            }))
        });
        let traces = guard
            .traces
            .as_ref()
            .zip(self.traces.as_ref())
            .map(|(provider, config)| traces::layer(provider, config));
        Layer::and_then(errors, traces)
    }
}

/// The values of every variable the schema marks secret, and the password of each URL among them: what a
/// report must never carry.
fn secret_values(env: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
    let mut values = Vec::new();
    for variable in Schema::embedded().variables.iter().filter(|v| v.secret) {
        let Some(value) = env(&variable.name) else {
            continue;
        };
        if let Ok(url) = url::Url::parse(&value)
            && let Some(password) = url.password()
        {
            values.push(password.to_string());
            if let Ok(decoded) = percent_encoding::percent_decode_str(password).decode_utf8() {
                values.push(decoded.into_owned());
            }
        }
        values.push(value);
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_unless_set_and_secrets_come_from_the_schema() {
        assert!(Telemetry::from(&|_| None).errors.is_none());
        let env = |key: &str| match key {
            "SENTRY_DSN" => Some("https://public@errors.example.com/42".to_string()),
            "VIVR_ENV" => Some("production".to_string()),
            "VIVR_RELEASE" => Some("4f2a9c81e0d3".to_string()),
            "DATABASE_URL" => Some("postgres://vivr:p%40ss-word-1@db/vivr".to_string()),
            "VIVR_SESSION_SECRET" => Some("k9Qv2Lr8Zp4Xw7Nc3Tb6Hy1Fs5Jd0GmE4u".to_string()), // audit:allow-secret
            "VIVR_PUBLIC_URL" => Some("https://vivr.fr".to_string()),
            _ => None,
        };
        let tracking = Telemetry::from(&env).errors.unwrap();
        assert_eq!(tracking.release, "4f2a9c81e0d3");
        assert_eq!(tracking.environment, "production");
        for secret in [
            "p%40ss-word-1",
            "p@ss-word-1",
            "k9Qv2Lr8Zp4Xw7Nc3Tb6Hy1Fs5Jd0GmE4u",
        ] {
            assert!(tracking.secrets.iter().any(|s| s == secret), "{secret}");
        }
        assert!(!tracking.secrets.iter().any(|s| s.contains("vivr.fr")));
        assert!(!format!("{tracking:?}").contains("k9Qv2"));
        let invalid = |key: &str| (key == "SENTRY_DSN").then(|| "not a dsn".to_string());
        assert!(Telemetry::from(&invalid).errors.is_none());
    }
}
