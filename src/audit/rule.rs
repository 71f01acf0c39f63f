//! The rule language of checks: a few declarative matchers (files, text, values in JSON/YAML/TOML, Dockerfile
//! rules, workflow predicates, vivr's own analyses) and combinators (`all`, `any`, `not`, `tiers`). A rule is
//! written as a map with exactly one key; it is compiled once (globs, regexes, paths) and evaluated against a
//! repository, giving a credit in [0, 1] with the evidence behind it, or saying why it was not evaluated.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::analysis::Analysis;
use super::repo::{Globs, Repo, line_of};
use super::workflow::WorkflowPredicate;

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

impl RuleSpec {
    fn keys(&self) -> Vec<&'static str> {
        let mut keys = Vec::new();
        let mut add = |set: bool, key: &'static str| {
            if set {
                keys.push(key)
            }
        };
        add(self.exists.is_some(), "exists");
        add(self.absent.is_some(), "absent");
        add(self.matches.is_some(), "matches");
        add(self.no_match.is_some(), "no_match");
        add(self.value.is_some(), "value");
        add(self.dockerfile.is_some(), "dockerfile");
        add(self.workflow.is_some(), "workflow");
        add(self.analysis.is_some(), "analysis");
        add(self.http.is_some(), "http");
        add(self.backup.is_some(), "backup");
        add(self.aws.is_some(), "aws");
        add(self.all.is_some(), "all");
        add(self.any.is_some(), "any");
        add(self.not.is_some(), "not");
        add(self.tiers.is_some(), "tiers");
        keys
    }

    /// Compiles the rule found at `path` (`rule`, `rule.all[1]`, …).
    pub fn compile(&self, path: &str) -> Result<Matcher, CompileError> {
        let keys = self.keys();
        let [key] = keys[..] else {
            let last = path.rsplit(['.', '[']).next().unwrap_or(path);
            return Err(error(
                last.trim_end_matches(']'),
                path,
                if keys.is_empty() {
                    "a rule needs one matcher (exists, absent, matches, no_match, value, dockerfile, workflow, \
                     analysis, http, backup, aws, all, any, not, tiers)"
                        .to_string()
                } else {
                    format!("a rule has exactly one matcher; found {}", keys.join(", "))
                },
            ));
        };
        let here = format!("{path}.{key}");
        let list = |rules: &[RuleSpec]| -> Result<Vec<Matcher>, CompileError> {
            if rules.is_empty() {
                return Err(error(key, &here, "at least one rule"));
            }
            rules
                .iter()
                .enumerate()
                .map(|(i, r)| r.compile(&format!("{here}[{i}]")))
                .collect()
        };
        Ok(match self {
            RuleSpec {
                exists: Some(g), ..
            } => Matcher::Exists(globs(g, key, &here)?),
            RuleSpec {
                absent: Some(g), ..
            } => Matcher::Absent(globs(g, key, &here)?),
            RuleSpec {
                matches: Some(t), ..
            } => Matcher::Matches(
                globs(&t.files, "files", &here)?,
                regex(&t.regex, "regex", &here)?,
            ),
            RuleSpec {
                no_match: Some(t), ..
            } => Matcher::NoMatch(
                globs(&t.files, "files", &here)?,
                regex(&t.regex, "regex", &here)?,
            ),
            RuleSpec { value: Some(v), .. } => Matcher::Value(Box::new(v.compile(&here)?)),
            RuleSpec {
                dockerfile: Some(d),
                ..
            } => {
                let mut rules = Vec::new();
                if d.rules.is_empty() {
                    return Err(error("rules", &here, "at least one Dockerfile rule id"));
                }
                for id in &d.rules {
                    let Some(rule) = crate::image::lint::rule_by_id(id) else {
                        return Err(error(
                            "rules",
                            &here,
                            format!(
                                "{id} is not a rule of vivr's Dockerfile linter (vivr build --help lists them)"
                            ),
                        ));
                    };
                    rules.push(rule.id);
                }
                let files = d
                    .files
                    .clone()
                    .unwrap_or_else(|| OneOrMany::One("Dockerfile".into()));
                Matcher::Dockerfile {
                    files: globs(&files, "files", &here)?,
                    rules,
                }
            }
            RuleSpec {
                workflow: Some(w), ..
            } => Matcher::Workflow(*w),
            RuleSpec {
                analysis: Some(a), ..
            } => Matcher::Analysis(*a),
            RuleSpec { http: Some(h), .. } => Matcher::Http(h.compile(&here)?),
            RuleSpec {
                backup: Some(b), ..
            } => Matcher::Backup(b.compile().map_err(|m| error("backup", &here, m))?),
            RuleSpec { aws: Some(a), .. } => {
                Matcher::Aws(a.compile().map_err(|m| error("aws", &here, m))?)
            }
            RuleSpec { all: Some(r), .. } => Matcher::All(list(r)?),
            RuleSpec { any: Some(r), .. } => Matcher::Any(list(r)?),
            RuleSpec { tiers: Some(r), .. } => {
                if r.len() < 2 {
                    return Err(error(key, &here, "tiers needs at least two rules"));
                }
                Matcher::Tiers(list(r)?)
            }
            RuleSpec { not: Some(r), .. } => Matcher::Not(Box::new(r.compile(&here)?)),
            _ => return Err(error(key, path, "unsupported matcher")),
        })
    }
}

impl HttpSpec {
    fn compile(&self, here: &str) -> Result<HttpMatcher, CompileError> {
        match (&self.test, &self.grade, &self.cache) {
            (Some(test), None, None) => super::http::TESTS
                .iter()
                .find(|t| **t == test)
                .map(|t| HttpMatcher::Test(t))
                .ok_or_else(|| {
                    error(
                        "test",
                        here,
                        format!(
                            "{test:?} is not an Observatory test ({})",
                            super::http::TESTS.join(", ")
                        ),
                    )
                }),
            (None, Some(grade), None) => GRADES
                .iter()
                .find(|g| **g == grade)
                .map(|g| HttpMatcher::Grade(g))
                .ok_or_else(|| error("grade", here, format!("{grade:?} is not a grade (A+ … F)"))),
            (None, None, Some(cache)) => ["page", "static asset", "API"]
                .into_iter()
                .find(|c| c == cache)
                .map(HttpMatcher::Cache)
                .ok_or_else(|| error("cache", here, "one of: page, static asset, API")),
            _ => Err(error("http", here, "exactly one of test, grade, cache")),
        }
    }
}

impl HttpMatcher {
    fn eval(&self, observatory: Option<&super::http::Observatory>) -> Eval {
        let Some(o) = observatory else {
            return Eval::Skipped("needs --http URL (a running site)".into());
        };
        match self {
            HttpMatcher::Test(name) => {
                let Some(t) = o.test(name) else {
                    let why = o
                        .not_evaluated
                        .iter()
                        .find(|n| n.starts_with(name))
                        .cloned()
                        .unwrap_or_else(|| format!("{name} was not evaluated"));
                    return Eval::Unknown(why);
                };
                let evidence = vec![Evidence::about(
                    &o.url,
                    format!(
                        "{} ({:+}){}",
                        t.result,
                        t.modifier,
                        t.data
                            .as_deref()
                            .map(|d| format!(": {}", clip(d)))
                            .unwrap_or_default()
                    ),
                )];
                if t.modifier >= 0 {
                    Eval::pass(evidence)
                } else {
                    Eval::fail(evidence)
                }
            }
            HttpMatcher::Grade(min) => {
                let rank = |g: &str| GRADES.iter().position(|x| *x == g).unwrap_or(GRADES.len());
                let mut evidence = vec![Evidence::about(
                    &o.url,
                    format!("Observatory-equivalent {} · {}", o.score, o.grade),
                )];
                if rank(&o.grade) <= rank(min) {
                    Eval::pass(evidence)
                } else {
                    evidence.extend(o.withholding().iter().map(|t| {
                        Evidence::about(
                            &o.url,
                            format!("{}: {} ({:+})", t.test, t.result, t.modifier),
                        )
                    }));
                    Eval::fail(evidence)
                }
            }
            HttpMatcher::Cache(what) => {
                let Some(seen) = o.caching.iter().find(|c| c.what == *what) else {
                    return Eval::Skipped(format!("the probe found no {what} to fetch"));
                };
                let evidence = vec![Evidence::about(
                    &seen.url,
                    format!(
                        "Cache-Control: {} — {}",
                        seen.cache_control.as_deref().unwrap_or("(none)"),
                        seen.why
                    ),
                )];
                if seen.ok {
                    Eval::pass(evidence)
                } else {
                    Eval::fail(evidence)
                }
            }
        }
    }
}

impl ValueSpec {
    fn compile(&self, here: &str) -> Result<ValueMatcher, CompileError> {
        let files = globs(&self.file, "file", here)?;
        let path = parse_path(&self.path).map_err(|m| error("path", here, m))?;
        let comparisons = [
            self.exists.is_some(),
            self.equals.is_some(),
            self.one_of.is_some(),
            self.matches.is_some(),
            self.min.is_some(),
            self.max.is_some(),
            self.contains.is_some(),
        ];
        if !comparisons.contains(&true) {
            return Err(error(
                "value",
                here,
                "a value rule needs a comparison: exists, equals, one_of, matches, min, max or contains",
            ));
        }
        if self.format.is_none() {
            for pattern in self.file.to_vec() {
                if format_of(&pattern).is_none() {
                    return Err(error(
                        "file",
                        here,
                        format!(
                            "{pattern}: the format is not known from the extension; add format: json, yaml or toml"
                        ),
                    ));
                }
            }
        }
        Ok(ValueMatcher {
            files,
            path_text: self.path.clone(),
            path,
            format: self.format,
            exists: self.exists,
            equals: self.equals.clone(),
            one_of: self.one_of.clone(),
            matches: self
                .matches
                .as_deref()
                .map(|r| regex(r, "matches", here))
                .transpose()?,
            min: self.min,
            max: self.max,
            contains: self.contains.clone(),
        })
    }
}

fn format_of(file: &str) -> Option<DataFormat> {
    // A glob's extension may be a choice: `deploy/*.{yml,yaml}`.
    let extension = file
        .rsplit_once('.')
        .map_or("", |(_, e)| e)
        .to_ascii_lowercase();
    let choices = extension.trim_start_matches('{').trim_end_matches('}');
    let mut formats = choices.split(',').map(|e| match e {
        "json" => Some(DataFormat::Json),
        "yaml" | "yml" => Some(DataFormat::Yaml),
        "toml" => Some(DataFormat::Toml),
        _ => None,
    });
    let first = formats.next().flatten()?;
    formats.all(|f| f == Some(first)).then_some(first)
}

/// `a.b[0]["c.d"]` → [a, b, 0, c.d].
fn parse_path(text: &str) -> Result<Vec<Segment>, String> {
    let mut segments = Vec::new();
    let mut rest = text;
    let bad = || format!("{text:?} is not a path (a.b[0][\"c.d\"])");
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("[\"") {
            let end = after.find("\"]").ok_or_else(bad)?;
            segments.push(Segment::Key(after[..end].to_string()));
            rest = &after[end + 2..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']').ok_or_else(bad)?;
            let index = after[..end].parse().map_err(|_| bad())?;
            segments.push(Segment::Index(index));
            rest = &after[end + 1..];
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            if end == 0 {
                return Err(bad());
            }
            segments.push(Segment::Key(rest[..end].to_string()));
            rest = &rest[end..];
        }
        if let Some(after) = rest.strip_prefix('.') {
            if after.is_empty() {
                return Err(bad());
            }
            rest = after;
        }
    }
    if segments.is_empty() {
        return Err(bad());
    }
    Ok(segments)
}

/// Something a rule saw: in a file (and line) when it can say where.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Evidence {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    pub message: String,
}

impl Evidence {
    pub fn at(file: &str, line: Option<usize>, message: impl Into<String>) -> Evidence {
        Evidence {
            file: Some(file.to_string()),
            line,
            message: message.into(),
        }
    }

    /// What a probe saw of something outside the repository (a site, a backup store, an AWS service): named in
    /// the message, never as a file, since evidence files are the repository's (SARIF locations).
    pub fn about(subject: &str, message: impl std::fmt::Display) -> Evidence {
        Evidence::note(format!("{subject}: {message}"))
    }

    pub fn note(message: impl Into<String>) -> Evidence {
        Evidence {
            file: None,
            line: None,
            message: message.into(),
        }
    }

    /// `file:line: message`, as far as known.
    pub fn text(&self) -> String {
        match (&self.file, self.line) {
            (Some(f), Some(l)) => format!("{f}:{l}: {}", self.message),
            (Some(f), None) => format!("{f}: {}", self.message),
            _ => self.message.clone(),
        }
    }
}

/// What a rule came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Eval {
    /// Evaluated: the credit in [0, 1] and what was seen (why it passed, or what fails it).
    Credit {
        credit: f64,
        evidence: Vec<Evidence>,
    },
    /// Does not apply here (nothing to check).
    Skipped(String),
    /// Could not be evaluated (unreadable or unparsable input).
    Unknown(String),
}

impl Eval {
    pub fn pass(evidence: Vec<Evidence>) -> Eval {
        Eval::Credit {
            credit: 1.0,
            evidence,
        }
    }

    pub fn fail(evidence: Vec<Evidence>) -> Eval {
        Eval::Credit {
            credit: 0.0,
            evidence,
        }
    }

    /// Passes when `failures` is empty, else fails with them; `passed` says why it passed.
    pub fn unless(failures: Vec<Evidence>, passed: impl FnOnce() -> Evidence) -> Eval {
        if failures.is_empty() {
            Eval::pass(vec![passed()])
        } else {
            Eval::fail(failures)
        }
    }

    fn passed(&self) -> Option<bool> {
        match self {
            Eval::Credit { credit, .. } => Some(*credit >= 1.0),
            _ => None,
        }
    }
}

/// What rules are evaluated against: the repository, and the analyses already run (each runs once per audit).
pub struct Scope<'a> {
    pub repo: &'a Repo,
    /// What the probes asked for found (`--http`, `--backup-store`, `--aws`).
    pub probes: &'a Probes,
    analyses: RefCell<HashMap<Analysis, Rc<Eval>>>,
}

/// What the network probes found, when they were asked for.
#[derive(Debug, Default)]
pub struct Probes {
    pub http: Option<super::http::Observatory>,
    pub backups: Option<super::backups::BackupFacts>,
    pub aws: Option<super::aws::AwsFacts>,
}

static NO_PROBES: Probes = Probes {
    http: None,
    backups: None,
    aws: None,
};

impl<'a> Scope<'a> {
    pub fn new(repo: &'a Repo) -> Scope<'a> {
        Scope {
            repo,
            probes: &NO_PROBES,
            analyses: RefCell::new(HashMap::new()),
        }
    }

    pub fn with_probes(mut self, probes: &'a Probes) -> Scope<'a> {
        self.probes = probes;
        self
    }

    fn analysis(&self, analysis: Analysis) -> Rc<Eval> {
        if let Some(done) = self.analyses.borrow().get(&analysis) {
            return done.clone();
        }
        let eval = Rc::new(analysis.run(self.repo));
        self.analyses.borrow_mut().insert(analysis, eval.clone());
        eval
    }
}

impl Matcher {
    pub fn eval(&self, scope: &Scope) -> Eval {
        let repo = scope.repo;
        match self {
            Matcher::Exists(globs) => match repo.matching(globs).next() {
                Some(file) => Eval::pass(vec![Evidence::at(file, None, "present")]),
                None => Eval::fail(vec![Evidence::note(format!(
                    "no file matches {}",
                    globs.describe()
                ))]),
            },
            Matcher::Absent(globs) => Eval::unless(
                repo.matching(globs)
                    .map(|f| Evidence::at(f, None, "present"))
                    .collect(),
                || Evidence::note(format!("no file matches {}", globs.describe())),
            ),
            Matcher::Matches(globs, re) => {
                let mut searched = 0;
                for file in repo.matching(globs) {
                    searched += 1;
                    if let Some(text) = repo.text(file)
                        && let Some(m) = re.find(&text)
                    {
                        return Eval::pass(vec![Evidence::at(
                            file,
                            Some(super::repo::line_at(&text, m.start())),
                            format!("found {:?}", clip(m.as_str())),
                        )]);
                    }
                }
                Eval::fail(vec![Evidence::note(if searched == 0 {
                    format!("no file matches {}", globs.describe())
                } else {
                    format!(
                        "not found in the {searched} file(s) matching {} (`--explain` shows the pattern)",
                        globs.describe()
                    )
                })])
            }
            Matcher::NoMatch(globs, re) => {
                let mut found = Vec::new();
                let mut searched = 0;
                for file in repo.matching(globs) {
                    searched += 1;
                    if let Some(text) = repo.text(file) {
                        for m in re.find_iter(&text) {
                            found.push(Evidence::at(
                                file,
                                Some(super::repo::line_at(&text, m.start())),
                                format!("found {:?}", clip(m.as_str())),
                            ));
                        }
                    }
                }
                Eval::unless(found, || {
                    Evidence::note(format!(
                        "not found in the {searched} file(s) matching {}",
                        globs.describe()
                    ))
                })
            }
            Matcher::Value(v) => v.eval(repo),
            Matcher::Dockerfile { files, rules } => {
                let mut found = Vec::new();
                let mut linted = Vec::new();
                for file in repo.matching(files) {
                    let Some(text) = repo.text(file) else {
                        return Eval::Unknown(format!("{file} cannot be read as text"));
                    };
                    let folder = std::path::Path::new(file)
                        .parent()
                        .map(|p| repo.root().join(p))
                        .unwrap_or_else(|| repo.root().to_path_buf());
                    let lint = crate::image::lint::lint(file, &text, Some(&folder));
                    linted.push(file.to_string());
                    for f in lint.findings.iter().filter(|f| rules.contains(&f.rule)) {
                        found.push(Evidence::at(
                            &f.file,
                            Some(f.line),
                            format!("{} {}", f.rule, f.message),
                        ));
                    }
                }
                if linted.is_empty() {
                    return Eval::fail(vec![Evidence::note(format!(
                        "no Dockerfile matches {}",
                        files.describe()
                    ))]);
                }
                Eval::unless(found, || {
                    Evidence::note(format!(
                        "{}: no {} finding",
                        linted.join(", "),
                        rules.join("/")
                    ))
                })
            }
            Matcher::Workflow(predicate) => predicate.eval(repo),
            Matcher::Analysis(analysis) => (*scope.analysis(*analysis)).clone(),
            Matcher::Http(http) => http.eval(scope.probes.http.as_ref()),
            Matcher::Backup(backup) => backup.eval(scope.probes.backups.as_ref()),
            Matcher::Aws(aws) => aws.eval(scope.probes.aws.as_ref()),
            Matcher::All(rules) => {
                let mut failed = Vec::new();
                let mut evidence = Vec::new();
                let mut credit: f64 = 1.0;
                let mut unknown = None;
                for rule in rules {
                    match rule.eval(scope) {
                        Eval::Credit {
                            credit: c,
                            evidence: e,
                        } => {
                            credit = credit.min(c);
                            if c < 1.0 {
                                failed.extend(e);
                            } else {
                                evidence.extend(e);
                            }
                        }
                        skipped @ Eval::Skipped(_) => return skipped,
                        Eval::Unknown(why) => unknown = unknown.or(Some(why)),
                    }
                }
                if credit < 1.0 {
                    Eval::Credit {
                        credit,
                        evidence: failed,
                    }
                } else if let Some(why) = unknown {
                    Eval::Unknown(why)
                } else {
                    Eval::pass(evidence)
                }
            }
            Matcher::Any(rules) => {
                let mut failed = Vec::new();
                let mut credit: f64 = 0.0;
                let mut unknown = None;
                let mut skipped = None;
                for rule in rules {
                    match rule.eval(scope) {
                        Eval::Credit {
                            credit: c,
                            evidence,
                        } => {
                            if c >= 1.0 {
                                return Eval::pass(evidence);
                            }
                            credit = credit.max(c);
                            failed.extend(evidence);
                        }
                        Eval::Skipped(why) => skipped = skipped.or(Some(why)),
                        Eval::Unknown(why) => unknown = unknown.or(Some(why)),
                    }
                }
                match (unknown, skipped) {
                    (Some(why), _) => Eval::Unknown(why),
                    (None, Some(why)) if failed.is_empty() => Eval::Skipped(why),
                    _ => Eval::Credit {
                        credit,
                        evidence: failed,
                    },
                }
            }
            Matcher::Not(rule) => match rule.eval(scope) {
                Eval::Credit { credit, evidence } if credit > 0.0 => Eval::fail(evidence),
                Eval::Credit { evidence, .. } => Eval::pass(evidence),
                other => other,
            },
            Matcher::Tiers(rules) => {
                let mut met = 0;
                for rule in rules {
                    let eval = rule.eval(scope);
                    match eval.passed() {
                        Some(true) => met += 1,
                        Some(false) => {
                            let Eval::Credit { evidence, .. } = eval else {
                                unreachable!()
                            };
                            let mut evidence = evidence;
                            evidence.insert(
                                0,
                                Evidence::note(format!(
                                    "tier {} of {} not met",
                                    met + 1,
                                    rules.len()
                                )),
                            );
                            return Eval::Credit {
                                credit: met as f64 / rules.len() as f64,
                                evidence,
                            };
                        }
                        None if met == 0 => return eval,
                        None => {
                            return Eval::Credit {
                                credit: met as f64 / rules.len() as f64,
                                evidence: vec![Evidence::note(format!(
                                    "tier {} of {} could not be evaluated",
                                    met + 1,
                                    rules.len()
                                ))],
                            };
                        }
                    }
                }
                Eval::pass(vec![Evidence::note(format!(
                    "all {} tiers met",
                    rules.len()
                ))])
            }
        }
    }
}

fn clip(text: &str) -> String {
    const MAX: usize = 80;
    if text.chars().count() <= MAX {
        return text.to_string();
    }
    let mut clipped: String = text.chars().take(MAX).collect();
    clipped.push('…');
    clipped
}

/// Parses a data file as JSON, YAML or TOML into one value model.
pub fn parse_data(text: &str, format: DataFormat) -> Result<Value, String> {
    match format {
        DataFormat::Json => serde_json::from_str(text).map_err(|e| e.to_string()),
        DataFormat::Yaml => yaml_serde::from_str(text).map_err(|e| e.to_string()),
        DataFormat::Toml => toml::from_str::<toml::Table>(text)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::to_value(t).map_err(|e| e.to_string())),
    }
}

impl ValueMatcher {
    fn eval(&self, repo: &Repo) -> Eval {
        let mut failures = Vec::new();
        let mut seen = Vec::new();
        for file in repo.matching(&self.files) {
            let Some(text) = repo.text(file) else {
                return Eval::Unknown(format!("{file} cannot be read as text"));
            };
            let Some(format) = self.format.or_else(|| format_of(file)) else {
                return Eval::Unknown(format!("{file}: unknown format"));
            };
            let data = match parse_data(&text, format) {
                Ok(data) => data,
                Err(e) => return Eval::Unknown(format!("{file} does not parse: {e}")),
            };
            let line = self.path.iter().rev().find_map(|s| match s {
                Segment::Key(k) => line_of(&text, k),
                Segment::Index(_) => None,
            });
            let found = lookup(&data, &self.path);
            match self.problem(found) {
                Some(problem) => {
                    failures.push(Evidence::at(
                        file,
                        if found.is_some() { line } else { None },
                        format!("{}: {problem}", self.path_text),
                    ));
                }
                None => seen.push(Evidence::at(
                    file,
                    line,
                    match found {
                        Some(v) => format!("{} = {}", self.path_text, clip(&v.to_string())),
                        None => format!("{} is not set", self.path_text),
                    },
                )),
            }
        }
        if failures.is_empty() && seen.is_empty() {
            return Eval::fail(vec![Evidence::note(format!(
                "no file matches {}",
                self.files.describe()
            ))]);
        }
        if failures.is_empty() {
            Eval::pass(seen)
        } else {
            Eval::fail(failures)
        }
    }

    /// What is wrong with the value found, if anything.
    fn problem(&self, found: Option<&Value>) -> Option<String> {
        match (self.exists, found) {
            (Some(false), Some(v)) => return Some(format!("is set ({})", clip(&v.to_string()))),
            (Some(false), None) => return None,
            (_, None) => return Some("is not set".into()),
            _ => {}
        }
        let value = found?;
        if let Some(want) = &self.equals
            && !loosely_equal(value, want)
        {
            return Some(format!("is {}, not {want}", clip(&value.to_string())));
        }
        if let Some(allowed) = &self.one_of
            && !allowed.iter().any(|a| loosely_equal(value, a))
        {
            return Some(format!(
                "is {}, not one of {}",
                clip(&value.to_string()),
                Value::Array(allowed.clone())
            ));
        }
        if let Some(re) = &self.matches {
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if !re.is_match(&text) {
                return Some(format!(
                    "{:?} does not match /{}/",
                    clip(&text),
                    re.as_str()
                ));
            }
        }
        if self.min.is_some() || self.max.is_some() {
            let Some(number) = as_number(value) else {
                return Some(format!("is {}, not a number", clip(&value.to_string())));
            };
            if let Some(min) = self.min
                && number < min
            {
                return Some(format!("is {number}, below the minimum {min}"));
            }
            if let Some(max) = self.max
                && number > max
            {
                return Some(format!("is {number}, above the maximum {max}"));
            }
        }
        if let Some(want) = &self.contains {
            let holds = match value {
                Value::Array(items) => items.iter().any(|i| loosely_equal(i, want)),
                Value::String(s) => want.as_str().is_some_and(|w| s.contains(w)),
                Value::Object(map) => want.as_str().is_some_and(|w| map.contains_key(w)),
                _ => false,
            };
            if !holds {
                return Some(format!(
                    "{} does not contain {want}",
                    clip(&value.to_string())
                ));
            }
        }
        None
    }
}

fn as_number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Equal, with numbers compared as numbers and a string equal to the same number or boolean written as text
/// (YAML and TOML authors write `"1"` and `1` alike).
fn loosely_equal(a: &Value, b: &Value) -> bool {
    if a == b {
        return true;
    }
    match (a, b) {
        (Value::Number(_), _) | (_, Value::Number(_)) => {
            as_number(a).zip(as_number(b)).is_some_and(|(x, y)| x == y)
        }
        (Value::String(s), Value::Bool(v)) | (Value::Bool(v), Value::String(s)) => {
            s == &v.to_string()
        }
        _ => false,
    }
}

fn lookup<'v>(data: &'v Value, path: &[Segment]) -> Option<&'v Value> {
    path.iter().try_fold(data, |value, segment| match segment {
        Segment::Key(k) => value.get(k.as_str()),
        Segment::Index(i) => value.get(*i),
    })
}

#[cfg(test)]
mod tests;
