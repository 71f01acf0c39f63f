//! The rule language of checks: a few declarative matchers (files, text, values in JSON/YAML/TOML, Dockerfile
//! rules, workflow predicates, vivr's own analyses) and combinators (`all`, `any`, `not`, `tiers`). A rule is
//! written as a map with exactly one key; it is compiled once (globs, regexes, paths) and evaluated against a
//! repository, giving a credit in [0, 1] with the evidence behind it, or saying why it was not evaluated.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::analysis::Analysis;
use super::repo::Globs;
use super::workflow::WorkflowPredicate;

mod compile;
mod eval;
mod value;

use compile::*;
use eval::*;
pub use eval::{Eval, Evidence, Probes, Scope};
pub use value::parse_data;

/// One glob or several.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn to_vec(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

/// `{files, regex}`: a regular expression (multi-line: `^` and `$` match at line ends) in the files matching a glob.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextSpec {
    pub files: OneOrMany,
    pub regex: String,
}

/// `{file, path, <comparisons>}`: a value in JSON, YAML or TOML files (by extension, or `format`), compared. Every
/// matching file must hold; none matching fails.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueSpec {
    pub file: OneOrMany,
    /// Dotted keys, `[n]` for an index, `["a.b"]` for a key with dots or brackets: `scripts.build`,
    /// `metrics.http_req_duration.values["p(95)"]`.
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<DataFormat>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exists: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matches: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataFormat {
    Json,
    Yaml,
    Toml,
}

/// `{rules, files}`: no finding of these Dockerfile rules (vivr build's linter) in the Dockerfiles.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DockerfileSpec {
    pub rules: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<OneOrMany>,
}

/// `{test}`, `{grade}` or `{cache}`: what `--http URL` saw. A test passes when its Observatory modifier is not
/// negative; a grade when the Observatory-equivalent grade reaches it; a cache probe (page, static asset, API)
/// when its Cache-Control suits it. Without --http the rule is skipped.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grade: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<String>,
}

/// A rule as written: exactly one of these keys.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Some file matches the glob(s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exists: Option<OneOrMany>,
    /// No file matches the glob(s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absent: Option<OneOrMany>,
    /// The regex is found in at least one of the files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matches: Option<TextSpec>,
    /// The regex is found in none of the files (each match is a finding).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_match: Option<TextSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<ValueSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<DockerfileSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<WorkflowPredicate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<Analysis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpSpec>,
    /// What `--backup-store` holds: `{verified_within_hours}` or `{restore_verified_within_days}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<super::backups::BackupSpec>,
    /// What `--aws ENV` found on the environment's service and secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<super::aws::AwsSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all: Option<Vec<RuleSpec>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub any: Option<Vec<RuleSpec>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not: Option<Box<RuleSpec>>,
    /// Partial credit: each rule is a tier; the credit is the share of tiers met in order (a tier counts only
    /// when every tier before it is met).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tiers: Option<Vec<RuleSpec>>,
}

/// Why a rule does not compile: the key it is under, its path from the check, and the rule it breaks.
#[derive(Debug, Clone)]
pub struct CompileError {
    pub key: String,
    pub path: String,
    pub message: String,
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub enum Matcher {
    Exists(Globs),
    Absent(Globs),
    Matches(Globs, regex::Regex),
    NoMatch(Globs, regex::Regex),
    Value(Box<ValueMatcher>),
    Dockerfile {
        files: Globs,
        rules: Vec<&'static str>,
    },
    Workflow(WorkflowPredicate),
    Analysis(Analysis),
    Http(HttpMatcher),
    Backup(super::backups::BackupMatcher),
    Aws(super::aws::AwsMatcher),
    All(Vec<Matcher>),
    Any(Vec<Matcher>),
    Not(Box<Matcher>),
    Tiers(Vec<Matcher>),
}

#[derive(Debug, Clone)]
pub enum HttpMatcher {
    Test(&'static str),
    Grade(&'static str),
    Cache(&'static str),
}

/// The grades, best first.
const GRADES: [&str; 13] = [
    "A+", "A", "A-", "B+", "B", "B-", "C+", "C", "C-", "D+", "D", "D-", "F",
];

#[derive(Debug, Clone)]
pub struct ValueMatcher {
    files: Globs,
    path_text: String,
    path: Vec<Segment>,
    format: Option<DataFormat>,
    exists: Option<bool>,
    equals: Option<Value>,
    one_of: Option<Vec<Value>>,
    matches: Option<regex::Regex>,
    min: Option<f64>,
    max: Option<f64>,
    contains: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Key(String),
    Index(usize),
}

fn error(key: &str, path: &str, message: impl Into<String>) -> CompileError {
    CompileError {
        key: key.to_string(),
        path: path.to_string(),
        message: message.into(),
    }
}

fn globs(value: &OneOrMany, key: &str, path: &str) -> Result<Globs, CompileError> {
    let patterns = value.to_vec();
    if patterns.is_empty() || patterns.iter().any(|p| p.trim().is_empty()) {
        return Err(error(key, path, "at least one glob, none empty"));
    }
    Globs::new(&patterns).map_err(|e| error(key, path, format!("not a glob: {e}")))
}

fn regex(text: &str, key: &str, path: &str) -> Result<regex::Regex, CompileError> {
    regex::RegexBuilder::new(text)
        .multi_line(true)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| error(key, path, format!("not a regular expression: {e}")))
}

#[cfg(test)]
mod tests;
