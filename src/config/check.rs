//! Checking a merged configuration against the schema for one environment. Every finding names the variable, the
//! rule and where the value came from; none carries the value itself.

use std::collections::BTreeMap;

use secrecy::ExposeSecret;
use serde::Serialize;
use vivr_shop::config::{Environment, IpNet};

use super::schema::{Format, Schema, Type, Variable};
use super::sources::{Resolved, Source, SourceKind, in_precedence, merge};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Missing,
    Invalid,
    Unknown,
    Warning,
}

impl Kind {
    pub fn title(self) -> &'static str {
        match self {
            Kind::Missing => "missing",
            Kind::Invalid => "invalid",
            Kind::Unknown => "unknown keys",
            Kind::Warning => "warnings",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub kind: Kind,
    pub severity: Severity,
    pub variable: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Where the value came from (a file, `aws-sm://…`, the process environment), if from anywhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// A stable identifier of the rule, e.g. `int_range`, `stripe_test_key_in_production`.
    pub rule: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub environment: &'static str,
    /// The sources, lowest precedence first.
    pub sources: Vec<String>,
    pub findings: Vec<Finding>,
}

impl CheckReport {
    pub fn errors(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count()
    }

    pub fn warnings(&self) -> usize {
        self.findings.len() - self.errors()
    }

    pub fn is_ok(&self) -> bool {
        self.errors() == 0
    }
}

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
            if let Some(nearest) = super::schema::nearest_value(value, &v.values) {
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

struct Rule {
    severity: Severity,
    rule: &'static str,
    message: String,
}

fn error(rule: &'static str, message: impl Into<String>) -> Rule {
    Rule {
        severity: Severity::Error,
        rule,
        message: message.into(),
    }
}

fn warning(rule: &'static str, message: impl Into<String>) -> Rule {
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

    fn as_str(self) -> &'static str {
        match self {
            StripeMode::Test => "test",
            StripeMode::Live => "live",
        }
    }
}

/// Bits of Shannon entropy per character of `value`, from its own character frequencies.
fn entropy_per_char(value: &str) -> f64 {
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

const WEAK_SECRET_WORDS: [&str; 7] = [
    "secret",
    "changeme",
    "change-me",
    "password",
    "example",
    "your-",
    "replace",
];
const MIN_SECRET_ENTROPY: f64 = 3.0;

fn stripe_mode_rules(
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
fn format_rules(v: &Variable, value: &str, environment: Environment) -> Vec<Rule> {
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
fn is_mailbox(value: &str) -> bool {
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

fn is_set(merged: &BTreeMap<String, Resolved>, name: &str) -> bool {
    merged
        .get(name)
        .is_some_and(|r| !r.value.expose_secret().is_empty())
}

/// Checks `sources` (in any order; they are merged in the documented precedence) for `environment`.
pub fn check(schema: &Schema, environment: Environment, sources: Vec<Source>) -> CheckReport {
    let sources = in_precedence(sources);
    let mut findings = Vec::new();
    let category_of = |name: &str| schema.variable(name).map(|v| v.category.clone());

    for source in &sources {
        for (line, message) in &source.problems {
            let duplicate = message.contains("is set again");
            findings.push(Finding {
                kind: if duplicate {
                    Kind::Warning
                } else {
                    Kind::Invalid
                },
                severity: if duplicate {
                    Severity::Warning
                } else {
                    Severity::Error
                },
                variable: String::new(),
                category: None,
                source: Some(source.name.clone()),
                line: Some(*line),
                rule: if duplicate {
                    "duplicate_key".into()
                } else {
                    "env_file_syntax".into()
                },
                message: message.clone(),
                suggestion: None,
            });
        }
        for (key, entry) in &source.entries {
            if schema.variable(key).is_some() {
                continue;
            }
            if source.kind == SourceKind::ProcessEnv
                && !schema.in_namespace(key)
                && !schema.replaced.contains_key(key)
                && !schema.unused.contains_key(key)
            {
                continue;
            }
            let (message, suggestion, rule) = if let Some(new) = schema.replaced.get(key) {
                (
                    format!("the original app's variable; vivr reads {new} instead"),
                    Some(new.clone()),
                    "replaced_variable",
                )
            } else if let Some(why) = schema.unused.get(key) {
                (
                    format!("the original app's variable, not used: {why}"),
                    None,
                    "unused_variable",
                )
            } else {
                let nearest = schema.nearest(key).map(str::to_string);
                (
                    match &nearest {
                        Some(name) => format!("not a vivr variable; did you mean {name}?"),
                        None => "not a vivr variable".into(),
                    },
                    nearest,
                    "unknown_variable",
                )
            };
            findings.push(Finding {
                kind: Kind::Unknown,
                severity: Severity::Warning,
                variable: key.clone(),
                category: None,
                source: Some(source.name.clone()),
                line: entry.line,
                rule: rule.into(),
                message,
                suggestion,
            });
        }
    }

    let merged = merge(&sources);
    for v in &schema.variables {
        let resolved = merged.get(&v.name);
        let value = resolved
            .map(|r| r.value.expose_secret())
            .unwrap_or_default();
        let at = |f: Finding| Finding {
            source: resolved.map(|r| r.source.clone()),
            line: resolved.and_then(|r| r.line),
            ..f
        };
        let finding = |kind, severity, rule: &str, message: String| Finding {
            kind,
            severity,
            variable: v.name.clone(),
            category: Some(v.category.clone()),
            source: None,
            line: None,
            rule: rule.to_string(),
            message,
            suggestion: None,
        };
        if value.is_empty() {
            if v.required_in(environment) {
                findings.push(at(finding(
                    Kind::Missing,
                    Severity::Error,
                    "required",
                    format!("required in {}: {}", environment.as_str(), v.description),
                )));
            }
            continue;
        }
        if let Some(problem) = type_problem(v, value) {
            findings.push(at(finding(
                Kind::Invalid,
                Severity::Error,
                v.kind.as_str(),
                problem,
            )));
            continue;
        }
        for rule in format_rules(v, value, environment) {
            findings.push(at(finding(
                if rule.severity == Severity::Error {
                    Kind::Invalid
                } else {
                    Kind::Warning
                },
                rule.severity,
                rule.rule,
                rule.message,
            )));
        }
        for (required, wanted) in v.requirements() {
            let present = merged.get(required).map(|r| r.value.expose_secret());
            let ok = match wanted {
                Some(wanted) => present == Some(wanted),
                None => is_set(&merged, required),
            };
            if !ok {
                findings.push(at(finding(
                    Kind::Missing,
                    Severity::Error,
                    "requires",
                    match wanted {
                        Some(wanted) => format!("is set, so {required} must be {wanted}"),
                        None => format!("is set, so {required} must be set too"),
                    },
                )));
            }
        }
    }

    // Rules across variables.
    let mode = |name: &str, prefixes: &[&str]| {
        merged
            .get(name)
            .and_then(|r| StripeMode::of(r.value.expose_secret(), prefixes))
    };
    if let (Some(secret), Some(public)) = (
        mode("STRIPE_SECRET_KEY", &["sk", "rk"]),
        mode("STRIPE_PUBLISHABLE_KEY", &["pk"]),
    ) && secret != public
    {
        findings.push(Finding {
            kind: Kind::Invalid,
            severity: Severity::Error,
            variable: "STRIPE_PUBLISHABLE_KEY".into(),
            category: category_of("STRIPE_PUBLISHABLE_KEY"),
            source: merged.get("STRIPE_PUBLISHABLE_KEY").map(|r| r.source.clone()),
            line: merged.get("STRIPE_PUBLISHABLE_KEY").and_then(|r| r.line),
            rule: "stripe_mode_mismatch".into(),
            message: format!(
                "a {}-mode publishable key with a {}-mode secret key: both must be test or both live",
                public.as_str(),
                secret.as_str()
            ),
            suggestion: None,
        });
    }
    if let (Some(public), Some(admin)) = (merged.get("VIVR_BIND"), merged.get("VIVR_ADMIN_BIND"))
        && public.value.expose_secret() == admin.value.expose_secret()
    {
        findings.push(Finding {
            kind: Kind::Invalid,
            severity: Severity::Error,
            variable: "VIVR_ADMIN_BIND".into(),
            category: category_of("VIVR_ADMIN_BIND"),
            source: Some(admin.source.clone()),
            line: admin.line,
            rule: "admin_bind_differs".into(),
            message: "must differ from VIVR_BIND".into(),
            suggestion: None,
        });
    }
    if environment == Environment::Production && !is_set(&merged, "STRIPE_SECRET_KEY") {
        findings.push(Finding {
            kind: Kind::Warning,
            severity: Severity::Warning,
            variable: "STRIPE_SECRET_KEY".into(),
            category: category_of("STRIPE_SECRET_KEY"),
            source: None,
            line: None,
            rule: "payments_not_configured".into(),
            message: "not set in production: checkout will say that payment is not configured"
                .into(),
            suggestion: None,
        });
    }

    findings.sort_by(|a, b| {
        (a.kind, a.severity, &a.variable, &a.source).cmp(&(
            b.kind,
            b.severity,
            &b.variable,
            &b.source,
        ))
    });
    CheckReport {
        environment: environment.as_str(),
        sources: sources.iter().map(|s| s.name.clone()).collect(),
        findings,
    }
}
