//! The forms of a configuration report and of the schema: text for people, SARIF for code-scanning tools,
//! `.env.example` and a markdown table.

use std::fmt::Write as _;

use serde_json::json;

use super::check::{CheckReport, Kind, Severity};
use super::schema::Schema;

fn location(source: Option<&str>, line: Option<usize>) -> String {
    match (source, line) {
        (Some(source), Some(line)) => format!(" ({source}:{line})"),
        (Some(source), None) => format!(" ({source})"),
        _ => String::new(),
    }
}

/// One grouped report: missing, invalid, unknown keys, warnings; then the totals.
pub fn text(report: &CheckReport, schema: &Schema, title: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{title} — environment {}; sources, lowest precedence first: {}",
        report.environment,
        if report.sources.is_empty() {
            "none".to_string()
        } else {
            report.sources.join(", ")
        }
    );
    for kind in [Kind::Missing, Kind::Invalid, Kind::Unknown, Kind::Warning] {
        let group: Vec<_> = report.findings.iter().filter(|f| f.kind == kind).collect();
        if group.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{}:", kind.title());
        for f in group {
            let mark = match f.severity {
                Severity::Error => "✗",
                Severity::Warning => "!",
            };
            // The variable, and the flag that sets it (what a user of `vivr serve` may have typed).
            let name = if f.variable.is_empty() {
                "(file)".to_string()
            } else {
                match schema.variable(&f.variable).and_then(|v| v.flag.as_deref()) {
                    Some(flag) => format!("{} ({flag})", f.variable),
                    None => f.variable.clone(),
                }
            };
            let category = f
                .category
                .as_deref()
                .map(|c| format!(" [{}]", schema.category_title(c)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {mark} {name}{category}{}: {} ({})",
                location(f.source.as_deref(), f.line),
                f.message,
                f.rule
            );
        }
    }
    let _ = writeln!(
        out,
        "{} error(s), {} warning(s){}",
        report.errors(),
        report.warnings(),
        if report.is_ok() {
            " — configuration is valid"
        } else {
            ""
        }
    );
    out
}

/// SARIF 2.1.0: one result per finding; findings in files point at their line.
pub fn sarif(report: &CheckReport) -> serde_json::Value {
    let mut rules: Vec<(String, String)> = report
        .findings
        .iter()
        .map(|f| (f.rule.clone(), f.rule.clone()))
        .collect();
    rules.sort_unstable();
    rules.dedup();
    let results: Vec<crate::sarif::Result> = report
        .findings
        .iter()
        .map(|f| crate::sarif::Result {
            rule: f.rule.clone(),
            level: match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            },
            message: if f.variable.is_empty() {
                f.message.clone()
            } else {
                format!("{}: {}", f.variable, f.message)
            },
            location: f.source.clone().zip(f.line),
            properties: json!({ "kind": f.kind, "variable": f.variable, "environment": report.environment }),
        })
        .collect();
    crate::sarif::log("vivr env check", &rules, &results)
}

/// Words of `text` in lines of at most `width` characters, each starting with `prefix`.
fn wrap(text: &str, width: usize, prefix: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && prefix.len() + line.len() + 1 + word.len() > width {
            let _ = writeln!(out, "{prefix}{line}");
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        let _ = writeln!(out, "{prefix}{line}");
    }
    out
}

/// What a variable is, in one line: type, where required, secret, default.
fn summary(v: &super::schema::Variable) -> String {
    let mut parts = vec![match v.kind {
        super::schema::Type::Enum => format!("one of {}", v.values.join(", ")),
        kind => kind.as_str().to_string(),
    }];
    if !v.required_in.is_empty() {
        parts.push(format!("required in {}", v.required_in.join(", ")));
    }
    if v.secret {
        parts.push("secret".into());
    }
    if let Some(default) = &v.default {
        parts.push(format!("default {default}"));
    }
    if let Some(flag) = &v.flag {
        parts.push(format!("flag {flag}"));
    }
    parts.join("; ")
}

/// `.env.example`: every variable, grouped by category, commented out with its default or a placeholder.
pub fn env_example(schema: &Schema) -> String {
    let mut out = String::from(
        "# Generated by `vivr env example` from vivr.env.yaml; edit the schema, not this file.\n\
         # Every variable vivr reads, commented out: development needs none of them. Copy what you set into\n\
         # .env.<environment> (never commit real secrets) and check it with\n\
         # `vivr env check --env production --env-file .env.production`.\n\
         # Precedence, lowest first: defaults, --env-file files in order, --from aws-sm://NAME secrets in order,\n\
         # the process environment.\n",
    );
    for (category, title) in &schema.categories {
        let _ = write!(out, "\n# ── {title} ──\n");
        for v in schema.variables.iter().filter(|v| &v.category == category) {
            out.push('\n');
            out.push_str(&wrap(&v.description, 112, "# "));
            let _ = writeln!(out, "# ({})", summary(v));
            let value = v.default.as_deref().or(v.example.as_deref()).unwrap_or("");
            let _ = writeln!(out, "# {}={value}", v.name);
        }
    }
    out
}

/// A markdown table of every variable.
pub fn markdown(schema: &Schema) -> String {
    let mut out = String::from(
        "| variable | category | type | required in | default | secret | description |\n|---|---|---|---|---|---|---|\n",
    );
    for v in &schema.variables {
        let kind = match v.kind {
            super::schema::Type::Enum => v.values.join(" \\| "),
            kind => kind.as_str().to_string(),
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {kind} | {} | {} | {} | {} |",
            v.name,
            schema.category_title(&v.category),
            if v.required_in.is_empty() {
                "—".to_string()
            } else {
                v.required_in.join(", ")
            },
            v.default
                .as_deref()
                .map(|d| format!("`{d}`"))
                .unwrap_or_else(|| "—".into()),
            if v.secret { "yes" } else { "no" },
            v.description.replace('|', "\\|"),
        );
    }
    out
}
