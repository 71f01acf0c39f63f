//! The rules one value is checked against: its type, its format, and what each environment asks of it.

use std::collections::BTreeMap;

use vivr_shop::config::{Environment, IpNet};

use crate::config::schema::{Format, Type, Variable};

use super::*;

/// What the value of a variable is, in the terms of its type, when it is wrong: `None` when it is well-formed.
/// Never includes the value.
pub fn type_problem(v: &Variable, value: &str) -> Option<String> {
    // "between 1 and 200", "at least 32", "at most 300", or nothing.
    let limits = match (v.min, v.max) {
        (Some(min), Some(max)) => format!(" between {min} and {max}"),
        (Some(min), None) => format!(" at least {min}"),
        (None, Some(max)) => format!(" at most {max}"),
        (None, None) => String::new(),
    };
    let outside = |n: i64| v.min.is_some_and(|min| n < min) || v.max.is_some_and(|max| n > max);
    match v.kind {
        Type::Int => {
            let of = if v.min.is_some() != v.max.is_some() {
                " of"
            } else {
                ""
            };
            match value.trim().parse::<i64>() {
                Ok(n) if !outside(n) => None,
                _ => Some(format!("must be a whole number{of}{limits}")),
            }
        }
        Type::String => {
            let len = value.chars().count() as i64;
            outside(len).then(|| format!("must be{limits} characters long (it has {len})"))
        }
        Type::Bool => (!matches!(
            value.to_ascii_lowercase().as_str(),
            "true" | "false" | "1" | "0" | "yes" | "no" | "on" | "off"
        ))
        .then(|| "must be true or false".to_string()),
        Type::Url => match url::Url::parse(value) {
            Ok(url) if v.schemes.iter().any(|s| s == url.scheme()) => None,
            Ok(url) => Some(format!(
                "must be a {} URL, not {}:",
                v.schemes.join(", "),
                url.scheme()
            )),
            Err(_) => Some(format!(
                "must be a URL ({}://…)",
                v.schemes.first().map_or("https", String::as_str)
            )),
        },
        Type::Email => vivr_shop::domain::Email::parse("email", value)
            .is_err()
            .then(|| "must be an email address".to_string()),
        Type::SocketAddr => value
            .parse::<std::net::SocketAddr>()
            .is_err()
            .then(|| "must be an IP address and port such as 127.0.0.1:3000".to_string()),
        Type::Enum => (!v.values.iter().any(|allowed| allowed == value)).then(|| {
            let mut message = format!("must be one of {}", v.values.join(", "));
            if let Some(nearest) = crate::config::schema::nearest_value(value, &v.values) {
                message.push_str(&format!(" (did you mean {nearest}?)"));
            }
            message
        }),
        Type::List => value
            .split(',')
            .any(|item| item.trim().is_empty())
            .then(|| "must be a comma-separated list without empty items".to_string()),
        Type::Path => value
            .trim()
            .is_empty()
            .then(|| "must be a path".to_string()),
    }
}

pub(super) struct Rule {
    pub(super) severity: Severity,
    pub(super) rule: &'static str,
    pub(super) message: String,
}

pub(super) fn error(rule: &'static str, message: impl Into<String>) -> Rule {
    Rule {
        severity: Severity::Error,
        rule,
        message: message.into(),
    }
}

pub(super) fn warning(rule: &'static str, message: impl Into<String>) -> Rule {
    Rule {
        severity: Severity::Warning,
        rule,
        message: message.into(),
    }
}

/// Stripe's key modes, from the prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StripeMode {
    Test,
    Live,
}

impl StripeMode {
    pub fn of(value: &str, prefixes: &[&str]) -> Option<Self> {
        let (prefix, rest) = value.split_once('_')?;
        if !prefixes.contains(&prefix) {
            return None;
        }
        let (mode, body) = rest.split_once('_')?;
        if body.len() < 8 || !body.chars().all(|c| c.is_ascii_alphanumeric()) {
            return None;
        }
        match mode {
            "test" => Some(StripeMode::Test),
            "live" | "prod" => Some(StripeMode::Live),
            _ => None,
        }
    }

    pub(super) fn as_str(self) -> &'static str {
        match self {
            StripeMode::Test => "test",
            StripeMode::Live => "live",
        }
    }
}

/// Bits of Shannon entropy per character of `value`, from its own character frequencies.
pub(super) fn entropy_per_char(value: &str) -> f64 {
    let mut counts: BTreeMap<char, usize> = BTreeMap::new();
    for c in value.chars() {
        *counts.entry(c).or_default() += 1;
    }
    let total = value.chars().count() as f64;
    counts
        .values()
        .map(|&n| {
            let p = n as f64 / total;
            -p * p.log2()
        })
        .sum()
}

pub(super) const WEAK_SECRET_WORDS: [&str; 7] = [
    "secret",
    "changeme",
    "change-me",
    "password",
    "example",
    "your-",
    "replace",
];
pub(super) const MIN_SECRET_ENTROPY: f64 = 3.0;

pub(super) fn stripe_mode_rules(
    environment: Environment,
    mode: StripeMode,
    what: &str,
    rules: &mut Vec<Rule>,
) {
    match (environment, mode) {
        (Environment::Production, StripeMode::Test) => rules.push(error(
            "stripe_test_key_in_production",
            format!("a test-mode {what} in production: payments would not be real"),
        )),
        (Environment::Development | Environment::Staging, StripeMode::Live) => rules.push(error(
            "stripe_live_key_outside_production",
            format!(
                "a live-mode {what} in {}: only production may move real money",
                environment.as_str()
            ),
        )),
        _ => {}
    }
}

/// The rules of a variable's format, for this environment.
pub(super) fn format_rules(v: &Variable, value: &str, environment: Environment) -> Vec<Rule> {
    let mut rules = Vec::new();
    let Some(format) = v.format else {
        return rules;
    };
    let outside_dev = !environment.is_development();
    match format {
        Format::DatabaseUrl => {
            let Ok(url) = url::Url::parse(value) else {
                return rules;
            };
            if url.scheme() == "sqlite" {
                if outside_dev {
                    rules.push(error(
                        "sqlite_outside_development",
                        "the embedded SQLite database is for development; staging and production need PostgreSQL",
                    ));
                }
                return rules;
            }
            let sslmode = url
                .query_pairs()
                .find(|(k, _)| k == "sslmode")
                .map(|(_, v)| v.into_owned());
            let strong = matches!(
                sslmode.as_deref(),
                Some("require" | "verify-ca" | "verify-full")
            );
            if !strong && outside_dev {
                let said = match &sslmode {
                    Some(mode) => format!("sslmode is {mode}"),
                    None => {
                        "sslmode is not set (libpq's default, prefer, falls back to plain text)"
                            .into()
                    }
                };
                let message = format!(
                    "{said}; {} needs sslmode=require, verify-ca or verify-full",
                    environment.as_str()
                );
                rules.push(if environment == Environment::Production {
                    error("database_sslmode", message)
                } else {
                    warning("database_sslmode", message)
                });
            }
        }
        Format::ImageStore => match value.strip_prefix("s3://") {
            Some(rest) => {
                let bucket = rest.split('/').next().unwrap_or_default();
                let valid = (3..=63).contains(&bucket.len())
                    && bucket
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
                if !valid {
                    rules.push(error(
                        "image_store",
                        "names no S3 bucket: write s3://bucket/prefix (3 to 63 lowercase letters, digits, dots, hyphens)",
                    ));
                }
            }
            None if value.contains("://") => rules.push(error(
                "image_store",
                "is neither a directory nor s3://bucket/prefix",
            )),
            None if outside_dev => rules.push(error(
                "image_store_outside_development",
                format!(
                    "is a directory: in {} images must be on S3 (s3://bucket/prefix), shared by every replica and \
                     kept across deploys",
                    environment.as_str()
                ),
            )),
            None => {}
        },
        Format::HttpsOutsideDevelopment => {
            if outside_dev && value.starts_with("http://") {
                rules.push(error(
                    "https_outside_development",
                    format!("must be an https:// URL in {}", environment.as_str()),
                ));
            }
        }
        Format::SessionSecret => {
            let lower = value.to_ascii_lowercase();
            let weak_word = WEAK_SECRET_WORDS.iter().find(|w| lower.contains(*w));
            let entropy = entropy_per_char(value);
            let problem = if let Some(word) = weak_word {
                Some(format!(
                    "contains {word:?}: a placeholder or guessable value"
                ))
            } else if entropy < MIN_SECRET_ENTROPY {
                Some(format!(
                    "has {entropy:.1} bits of entropy per character (at least {MIN_SECRET_ENTROPY:.1}): use random \
                     characters (`openssl rand -base64 48`)"
                ))
            } else {
                None
            };
            if let Some(problem) = problem {
                rules.push(if outside_dev {
                    error("weak_secret", problem)
                } else {
                    warning("weak_secret", problem)
                });
            }
        }
        Format::StripeSecretKey => match StripeMode::of(value, &["sk", "rk"]) {
            None => rules.push(error(
                "stripe_key_format",
                "must be a Stripe secret key (sk_) or restricted key (rk_), in test or live mode",
            )),
            Some(mode) => stripe_mode_rules(environment, mode, "secret key", &mut rules),
        },
        Format::StripePublishableKey => match StripeMode::of(value, &["pk"]) {
            None => rules.push(error(
                "stripe_key_format",
                "must be a Stripe publishable key (pk_), in test or live mode",
            )),
            Some(mode) => stripe_mode_rules(environment, mode, "publishable key", &mut rules),
        },
        Format::StripeWebhookSecret => {
            let ok = value
                .strip_prefix("whsec_")
                .is_some_and(|b| b.len() >= 8 && b.chars().all(|c| c.is_ascii_alphanumeric()));
            if !ok {
                rules.push(error(
                    "stripe_webhook_secret_format",
                    "must be the signing secret Stripe shows for the webhook endpoint",
                ));
            }
        }
        Format::AwsAccessKeyId => {
            if value.starts_with("AKIA") {
                let message = format!(
                    "a static, long-lived access key (AKIA…) in {}: give the service a role (ECS task role, OIDC) instead",
                    environment.as_str()
                );
                match environment {
                    Environment::Production => rules.push(error("static_aws_key", message)),
                    Environment::Staging => rules.push(warning("static_aws_key", message)),
                    Environment::Development => {}
                }
            }
        }
        Format::CidrList => {
            let bad = value
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .filter(|p| IpNet::parse(p).is_none())
                .count();
            if bad > 0 {
                rules.push(error(
                    "cidr",
                    format!("{bad} item(s) are not an IP address or CIDR network (10.0.0.0/8)"),
                ));
            }
        }
        Format::Mailbox => {
            if !is_mailbox(value) {
                rules.push(error(
                    "mailbox",
                    "must be an email address, or a name and one: VIVR <boutique@vivr.fr>",
                ));
            }
        }
        Format::Siren => {
            if let Some(problem) = vivr_shop::domain::company::siren_rule(value) {
                rules.push(error("siren", problem));
            }
        }
        Format::FrenchVat => {
            if let Some(problem) = vivr_shop::domain::company::french_vat_rule(value) {
                rules.push(error("french_vat", problem));
            }
        }
        Format::LogFilter => {
            if tracing_subscriber::EnvFilter::try_new(value).is_err() {
                rules.push(error(
                    "log_filter",
                    "is not a log filter (info, warn,vivr_shop=debug, …)",
                ));
            }
        }
    }
    rules
}

/// `addr` or `Display Name <addr>` (the name without angle brackets, quotes or control characters).
pub(super) fn is_mailbox(value: &str) -> bool {
    let address = match value
        .trim()
        .strip_suffix('>')
        .and_then(|v| v.rsplit_once('<'))
    {
        Some((name, address)) => {
            let name = name.trim();
            if name.is_empty() || name.chars().any(|c| c.is_control() || "<>\"".contains(c)) {
                return false;
            }
            address
        }
        None => value,
    };
    vivr_shop::domain::Email::parse("email", address).is_ok()
}
