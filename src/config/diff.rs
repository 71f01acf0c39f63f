//! `vivr env diff`: two configuration sources compared key by key. Values are compared through HMAC-SHA256 under
//! a key drawn at random for this run, so equal values are found without any value, or a reusable hash of one,
//! leaving the process.

use std::collections::BTreeSet;

use hmac::{Hmac, Mac};
use rand::RngCore;
use secrecy::ExposeSecret;
use serde::Serialize;
use sha2::Sha256;

use super::check::{StripeMode, type_problem};
use super::schema::{Format, Schema};
use super::sources::{Source, SourceKind};

#[derive(Debug, Clone, Serialize)]
pub struct Drift {
    pub variable: String,
    pub a: String,
    pub b: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SameValue {
    pub variable: String,
    pub secret: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct DiffReport {
    pub a: String,
    pub b: String,
    pub only_in_a: Vec<String>,
    pub only_in_b: Vec<String>,
    /// Keys whose values are of a different kind (a SQLite URL against a PostgreSQL one, a test key against a
    /// live one, a number against text).
    pub type_drift: Vec<Drift>,
    /// Keys with the same value on both sides.
    pub same_value: Vec<SameValue>,
    /// Keys present on both sides with different values of the same kind.
    pub different: Vec<String>,
}

impl DiffReport {
    /// Missing keys, drift and shared secrets are what a reviewer must look at.
    pub fn has_findings(&self) -> bool {
        !self.only_in_a.is_empty()
            || !self.only_in_b.is_empty()
            || !self.type_drift.is_empty()
            || self.same_value.iter().any(|s| s.secret)
    }
}

/// What kind of value this is, in words that can be shown: never the value.
fn shape(schema: &Schema, key: &str, value: &str) -> String {
    let Some(v) = schema.variable(key) else {
        return "text".into();
    };
    if value.is_empty() {
        return "empty".into();
    }
    if type_problem(v, value).is_some() {
        return format!("not a valid {}", v.kind.as_str());
    }
    let mode = |prefixes: &[&str]| match StripeMode::of(value, prefixes) {
        Some(StripeMode::Test) => "test-mode key".to_string(),
        Some(StripeMode::Live) => "live-mode key".to_string(),
        None => "not a Stripe key".to_string(),
    };
    match v.format {
        Some(Format::DatabaseUrl) => url::Url::parse(value)
            .map(|u| format!("{} URL", u.scheme()))
            .unwrap_or_else(|_| "not a URL".into()),
        Some(Format::StripeSecretKey) => mode(&["sk", "rk"]),
        Some(Format::StripePublishableKey) => mode(&["pk"]),
        Some(Format::AwsAccessKeyId) if value.starts_with("AKIA") => "static key (AKIA)".into(),
        Some(Format::AwsAccessKeyId) if value.starts_with("ASIA") => "temporary key (ASIA)".into(),
        _ => v.kind.as_str().to_string(),
    }
}

/// The keys of a source that are vivr's concern: all of a file or secret; of the process environment, the known
/// variables and vivr's namespaces.
fn keys(schema: &Schema, source: &Source) -> BTreeSet<String> {
    source
        .entries
        .keys()
        .filter(|k| {
            source.kind != SourceKind::ProcessEnv
                || schema.variable(k).is_some()
                || schema.in_namespace(k)
        })
        .cloned()
        .collect()
}

pub fn diff(schema: &Schema, a: &Source, b: &Source) -> DiffReport {
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    let digest = |value: &str| {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(value.as_bytes());
        mac.finalize().into_bytes()
    };
    let (ka, kb) = (keys(schema, a), keys(schema, b));
    let mut report = DiffReport {
        a: a.name.clone(),
        b: b.name.clone(),
        only_in_a: ka.difference(&kb).cloned().collect(),
        only_in_b: kb.difference(&ka).cloned().collect(),
        type_drift: Vec::new(),
        same_value: Vec::new(),
        different: Vec::new(),
    };
    for k in ka.intersection(&kb) {
        let (Some(ea), Some(eb)) = (a.entries.get(k.as_str()), b.entries.get(k.as_str())) else {
            continue;
        };
        let (va, vb) = (ea.value.expose_secret(), eb.value.expose_secret());
        let (sa, sb) = (shape(schema, k, va), shape(schema, k, vb));
        if sa != sb {
            report.type_drift.push(Drift {
                variable: k.clone(),
                a: sa,
                b: sb,
            });
        } else if digest(va) == digest(vb) {
            report.same_value.push(SameValue {
                variable: k.clone(),
                // Unknown keys may be secrets too: only known non-secret variables count as harmless.
                secret: schema.variable(k).is_none_or(|v| v.secret),
            });
        } else {
            report.different.push(k.clone());
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(name: &str, pairs: &[(&str, &str)]) -> Source {
        Source::from_pairs(
            name,
            SourceKind::File,
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
    }

    #[test]
    fn keys_drift_and_shared_secrets_without_values() {
        let schema = Schema::embedded();
        let staging = source(
            "staging",
            &[
                ("DATABASE_URL", "postgres://a@db/staging?sslmode=require"),
                ("STRIPE_SECRET_KEY", "sk_test_abcdefghijkl"),
                ("VIVR_SESSION_SECRET", "x7Gq2LpV9sKw4ZrT1mNc8YbF3hJd6QeA"),
                ("VIVR_BIND", "0.0.0.0:3000"),
                ("ONLY_STAGING", "1"),
            ],
        );
        let production = source(
            "production",
            &[
                ("DATABASE_URL", "sqlite://data/vivr.db"),
                ("STRIPE_SECRET_KEY", "sk_live_abcdefghijkl"),
                ("VIVR_SESSION_SECRET", "x7Gq2LpV9sKw4ZrT1mNc8YbF3hJd6QeA"),
                ("VIVR_BIND", "0.0.0.0:3000"),
                ("VIVR_PUBLIC_URL", "https://vivr.fr"),
            ],
        );
        let report = diff(schema, &staging, &production);
        assert_eq!(report.only_in_a, ["ONLY_STAGING"]);
        assert_eq!(report.only_in_b, ["VIVR_PUBLIC_URL"]);
        let drift: Vec<(&str, &str, &str)> = report
            .type_drift
            .iter()
            .map(|d| (d.variable.as_str(), d.a.as_str(), d.b.as_str()))
            .collect();
        assert_eq!(
            drift,
            [
                ("DATABASE_URL", "postgres URL", "sqlite URL"),
                ("STRIPE_SECRET_KEY", "test-mode key", "live-mode key")
            ]
        );
        let same: Vec<(&str, bool)> = report
            .same_value
            .iter()
            .map(|s| (s.variable.as_str(), s.secret))
            .collect();
        assert_eq!(same, [("VIVR_BIND", false), ("VIVR_SESSION_SECRET", true)]);
        let json = serde_json::to_string(&report).unwrap();
        assert!(!json.contains("x7Gq2") && !json.contains("abcdefghijkl"));
        assert!(report.has_findings());
    }
}
