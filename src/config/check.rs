//! Checking a merged configuration against the schema for one environment. Every finding names the variable, the
//! rule and where the value came from; none carries the value itself.

use std::collections::BTreeMap;

use secrecy::ExposeSecret;
use serde::Serialize;
use vivr_shop::config::Environment;

use super::schema::{Schema, Variable};
use super::sources::{Resolved, Source, SourceKind, in_precedence, merge};

mod rules;

use rules::*;
pub use rules::{StripeMode, type_problem};

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

fn is_set(merged: &BTreeMap<String, Resolved>, name: &str) -> bool {
    merged
        .get(name)
        .is_some_and(|r| !r.value.expose_secret().is_empty())
}

/// Checks `sources` (in any order; they are merged in the documented precedence) for `environment`.
pub fn check(schema: &Schema, environment: Environment, sources: Vec<Source>) -> CheckReport {
    let sources = in_precedence(sources);
    let mut findings: Vec<Finding> = sources
        .iter()
        .flat_map(|source| source_findings(schema, source))
        .collect();
    let merged = merge(&sources);
    for v in &schema.variables {
        findings.extend(variable_findings(v, &merged, environment));
    }
    findings.extend(cross_findings(schema, &merged, environment));
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

/// What one source gets wrong by itself: lines that do not parse, keys set twice, variables vivr does not read.
fn source_findings(schema: &Schema, source: &Source) -> Vec<Finding> {
    let mut findings = Vec::new();
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
    findings
}

/// What is wrong with one variable's merged value: missing, mistyped, against its format rules, or without the
/// variables it requires.
fn variable_findings(
    v: &Variable,
    merged: &BTreeMap<String, Resolved>,
    environment: Environment,
) -> Vec<Finding> {
    let mut findings = Vec::new();
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
        return findings;
    }
    if let Some(problem) = type_problem(v, value) {
        findings.push(at(finding(
            Kind::Invalid,
            Severity::Error,
            v.kind.as_str(),
            problem,
        )));
        return findings;
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
            None => is_set(merged, required),
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
    findings
}

/// Rules across variables.
fn cross_findings(
    schema: &Schema,
    merged: &BTreeMap<String, Resolved>,
    environment: Environment,
) -> Vec<Finding> {
    let category_of = |name: &str| schema.variable(name).map(|v| v.category.clone());
    let mut findings = Vec::new();
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
    if environment == Environment::Production && !is_set(merged, "STRIPE_SECRET_KEY") {
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

    findings
}
