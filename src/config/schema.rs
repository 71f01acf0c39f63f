//! The configuration schema (`vivr.env.yaml`, embedded at build time): every variable vivr reads, its type,
//! rules, defaults, which environments require it and whether it is secret.

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use vivr_shop::config::Environment;

/// The schema shipped with this build.
pub const EMBEDDED: &str = include_str!("../../vivr.env.yaml");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Type {
    String,
    Int,
    Bool,
    Url,
    Email,
    SocketAddr,
    Enum,
    List,
    Path,
}

impl Type {
    pub fn as_str(self) -> &'static str {
        match self {
            Type::String => "string",
            Type::Int => "int",
            Type::Bool => "bool",
            Type::Url => "url",
            Type::Email => "email",
            Type::SocketAddr => "socket_addr",
            Type::Enum => "enum",
            Type::List => "list",
            Type::Path => "path",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    DatabaseUrl,
    SessionSecret,
    StripeSecretKey,
    StripePublishableKey,
    StripeWebhookSecret,
    AwsAccessKeyId,
    CidrList,
    LogFilter,
    HttpsOutsideDevelopment,
    /// Where the shop keeps images: a directory (development only) or `s3://bucket/prefix`.
    ImageStore,
    /// An email address, or a display name and one: `VIVR <boutique@vivr.fr>`.
    Mailbox,
    /// A French company number: 9 digits with a Luhn check digit.
    Siren,
    /// A French intra-community VAT number: FR, a 2-digit key, the SIREN.
    FrenchVat,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Variable {
    #[serde(skip_deserializing)]
    pub name: String,
    pub category: String,
    #[serde(rename = "type")]
    pub kind: Type,
    #[serde(default)]
    pub format: Option<Format>,
    #[serde(default)]
    pub required_in: Vec<String>,
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub secret: bool,
    #[serde(default)]
    pub min: Option<i64>,
    #[serde(default)]
    pub max: Option<i64>,
    #[serde(default)]
    pub values: Vec<String>,
    #[serde(default)]
    pub schemes: Vec<String>,
    #[serde(default)]
    pub requires: Vec<String>,
    #[serde(default)]
    pub flag: Option<String>,
    #[serde(default)]
    pub example: Option<String>,
    pub description: String,
}

impl Variable {
    pub fn required_in(&self, environment: Environment) -> bool {
        self.required_in.iter().any(|e| e == environment.as_str())
    }

    /// The `requires` entries as (variable, the value it must have if any).
    pub fn requirements(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.requires.iter().map(|r| match r.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (r.as_str(), None),
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchema {
    namespaces: Vec<String>,
    // IndexMap keeps the YAML's order: the order of the report, `.env.example` and the doc.
    categories: IndexMap<String, String>,
    variables: IndexMap<String, Variable>,
    #[serde(default)]
    replaced: BTreeMap<String, String>,
    #[serde(default)]
    unused: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct Schema {
    /// Prefixes of the process environment that belong to vivr: unknown keys there are reported.
    pub namespaces: Vec<String>,
    /// (id, title), in order.
    pub categories: Vec<(String, String)>,
    /// In the schema's order.
    pub variables: Vec<Variable>,
    /// The original app's variables and what replaces them.
    pub replaced: BTreeMap<String, String>,
    /// The original app's variables vivr has no use for, and why.
    pub unused: BTreeMap<String, String>,
}

const ENVIRONMENTS: [&str; 3] = ["development", "staging", "production"];

impl Schema {
    pub fn embedded() -> &'static Schema {
        static SCHEMA: std::sync::OnceLock<Schema> = std::sync::OnceLock::new();
        // build.rs and the schema's own test parse the file this binary embeds: it cannot be invalid here.
        SCHEMA.get_or_init(|| {
            Schema::parse(EMBEDDED)
                .unwrap_or_else(|e| unreachable!("the embedded vivr.env.yaml is valid: {e:#}"))
        })
    }

    pub fn parse(text: &str) -> anyhow::Result<Schema> {
        let raw: RawSchema =
            yaml_serde::from_str(text).context("reading the configuration schema")?;
        let schema = Schema {
            namespaces: raw.namespaces,
            categories: raw.categories.into_iter().collect(),
            variables: raw
                .variables
                .into_iter()
                .map(|(name, mut v)| {
                    v.name = name;
                    v
                })
                .collect(),
            replaced: raw.replaced,
            unused: raw.unused,
        };
        schema.validate()?;
        Ok(schema)
    }

    /// The schema's own consistency: every reference resolves, every rule fits its type.
    fn validate(&self) -> anyhow::Result<()> {
        for v in &self.variables {
            let name = &v.name;
            if !self.categories.iter().any(|(id, _)| *id == v.category) {
                bail!("{name}: unknown category {:?}", v.category);
            }
            if let Some(env) = v
                .required_in
                .iter()
                .find(|e| !ENVIRONMENTS.contains(&e.as_str()))
            {
                bail!("{name}: required_in names {env:?}, not development, staging or production");
            }
            if (v.kind == Type::Enum) == v.values.is_empty() {
                bail!("{name}: `values` goes with type enum, and only there");
            }
            if (v.kind == Type::Url) == v.schemes.is_empty() {
                bail!("{name}: `schemes` goes with type url, and only there");
            }
            if (v.min.is_some() || v.max.is_some()) && !matches!(v.kind, Type::Int | Type::String) {
                bail!("{name}: min/max apply to int and string only");
            }
            for (required, _) in v.requirements() {
                if self.variable(required).is_none() {
                    bail!("{name}: requires unknown variable {required}");
                }
            }
            if let Some(default) = &v.default
                && let Some(problem) = super::check::type_problem(v, default)
            {
                bail!("{name}: its default {default:?} is invalid: {problem}");
            }
        }
        for (old, new) in &self.replaced {
            if self.variable(new).is_none() {
                bail!("replaced: {old} points to unknown variable {new}");
            }
        }
        Ok(())
    }

    pub fn variable(&self, name: &str) -> Option<&Variable> {
        self.variables.iter().find(|v| v.name == name)
    }

    pub fn category_title<'a>(&'a self, id: &'a str) -> &'a str {
        self.categories
            .iter()
            .find(|(c, _)| c == id)
            .map(|(_, t)| t.as_str())
            .unwrap_or(id)
    }

    /// Whether a key of the process environment is vivr's business.
    pub fn in_namespace(&self, key: &str) -> bool {
        self.namespaces.iter().any(|p| key.starts_with(p.as_str()))
    }

    /// The known variable nearest to a misspelt one, if it is near enough to be a typo.
    pub fn nearest(&self, key: &str) -> Option<&str> {
        let upper = key.to_ascii_uppercase();
        self.variables
            .iter()
            .map(|v| (strsim::levenshtein(&upper, &v.name), v.name.as_str()))
            .filter(|(d, name)| *d <= (name.len() / 4).clamp(1, 4))
            .min_by_key(|(d, _)| *d)
            .map(|(_, name)| name)
    }
}

/// The allowed value a mistyped one most likely meant: the closest by edit distance, or the only one it starts
/// (`prod` → `production`).
pub fn nearest_value<'a>(typed: &str, allowed: &'a [String]) -> Option<&'a str> {
    let typed = typed.trim().to_ascii_lowercase();
    if typed.is_empty() {
        return None;
    }
    let prefixed: Vec<&String> = allowed.iter().filter(|a| a.starts_with(&typed)).collect();
    if let [only] = prefixed.as_slice() {
        return Some(only.as_str());
    }
    allowed
        .iter()
        .map(|a| (strsim::levenshtein(&typed, a), a.as_str()))
        .filter(|(d, a)| *d <= (a.len() / 3).clamp(1, 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, a)| a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_schema_is_consistent() {
        let schema = Schema::embedded();
        assert!(schema.variable("DATABASE_URL").unwrap().secret);
        assert_eq!(
            schema.variables[0].name, "VIVR_ENV",
            "the YAML's order is kept"
        );
        assert!(schema.in_namespace("VIVR_SESSION_SECRT"));
        assert!(!schema.in_namespace("PATH"));
    }

    #[test]
    fn mistyped_values_get_the_value_they_meant() {
        let environments: Vec<String> = ["development", "staging", "production"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            nearest_value("prodution", &environments),
            Some("production")
        );
        assert_eq!(nearest_value("prd", &environments), None);
        assert_eq!(nearest_value("stagin", &environments), Some("staging"));
        assert_eq!(nearest_value("dev", &environments), Some("development"));
        assert_eq!(nearest_value("qa", &environments), None);
    }

    #[test]
    fn typos_get_the_nearest_name() {
        let schema = Schema::embedded();
        assert_eq!(schema.nearest("STRIPE_SECRET"), Some("STRIPE_SECRET_KEY"));
        assert_eq!(
            schema.nearest("VIVR_SESSION_SECRT"),
            Some("VIVR_SESSION_SECRET")
        );
        assert_eq!(schema.nearest("database_url"), Some("DATABASE_URL"));
        assert_eq!(schema.nearest("HOME"), None);
    }

    #[test]
    fn a_broken_schema_is_refused_with_the_variable_named() {
        let err = Schema::parse(
            "namespaces: []\ncategories: {a: A}\nvariables:\n  X:\n    category: b\n    type: string\n    description: x\n",
        )
        .unwrap_err();
        assert!(
            format!("{err:#}").contains("X: unknown category"),
            "{err:#}"
        );
        let err = Schema::parse(
            "namespaces: []\ncategories: {a: A}\nvariables:\n  X:\n    category: a\n    type: int\n    default: ten\n    description: x\n",
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("X: its default"), "{err:#}");
    }
}
