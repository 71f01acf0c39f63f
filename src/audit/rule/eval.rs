//! Evaluating matchers against a repository (and a site's probes), with the evidence that decides each.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use serde::Serialize;

use crate::audit::analysis::Analysis;
use crate::audit::repo::Repo;

use super::*;

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

    pub(super) fn passed(&self) -> Option<bool> {
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
    pub http: Option<crate::audit::http::Observatory>,
    pub backups: Option<crate::audit::backups::BackupFacts>,
    pub aws: Option<crate::audit::aws::AwsFacts>,
}

pub(super) static NO_PROBES: Probes = Probes {
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

    pub(super) fn analysis(&self, analysis: Analysis) -> Rc<Eval> {
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
            Matcher::Matches(globs, re) => matches(repo, globs, re),
            Matcher::NoMatch(globs, re) => no_match(repo, globs, re),
            Matcher::Value(v) => v.eval(repo),
            Matcher::Dockerfile { files, rules } => dockerfile(repo, files, rules),
            Matcher::Workflow(predicate) => predicate.eval(repo),
            Matcher::Analysis(analysis) => (*scope.analysis(*analysis)).clone(),
            Matcher::Http(http) => http.eval(scope.probes.http.as_ref()),
            Matcher::Backup(backup) => backup.eval(scope.probes.backups.as_ref()),
            Matcher::Aws(aws) => aws.eval(scope.probes.aws.as_ref()),
            Matcher::All(rules) => all(rules, scope),
            Matcher::Any(rules) => any(rules, scope),
            Matcher::Not(rule) => match rule.eval(scope) {
                Eval::Credit { credit, evidence } if credit > 0.0 => Eval::fail(evidence),
                Eval::Credit { evidence, .. } => Eval::pass(evidence),
                other => other,
            },
            Matcher::Tiers(rules) => tiers(rules, scope),
        }
    }
}

/// Passes on the first match of `re` in the files `globs` selects.
fn matches(repo: &Repo, globs: &Globs, re: &regex::Regex) -> Eval {
    let mut searched = 0;
    for file in repo.matching(globs) {
        searched += 1;
        if let Some(text) = repo.text(file)
            && let Some(m) = re.find(&text)
        {
            return Eval::pass(vec![Evidence::at(
                file,
                Some(crate::audit::repo::line_at(&text, m.start())),
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

/// Fails with every match of `re` in the files `globs` selects.
fn no_match(repo: &Repo, globs: &Globs, re: &regex::Regex) -> Eval {
    let mut found = Vec::new();
    let mut searched = 0;
    for file in repo.matching(globs) {
        searched += 1;
        if let Some(text) = repo.text(file) {
            for m in re.find_iter(&text) {
                found.push(Evidence::at(
                    file,
                    Some(crate::audit::repo::line_at(&text, m.start())),
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

/// Fails with the Dockerfile lint's findings of these rules.
fn dockerfile(repo: &Repo, files: &Globs, rules: &[&'static str]) -> Eval {
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

/// The lowest credit of all the rules; the failed ones' evidence when one fails.
fn all(rules: &[Matcher], scope: &Scope) -> Eval {
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

/// Passes when one rule passes; otherwise the best credit.
fn any(rules: &[Matcher], scope: &Scope) -> Eval {
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

/// Rules in order of ambition: the credit is the share of tiers met before the first one that is not.
fn tiers(rules: &[Matcher], scope: &Scope) -> Eval {
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
                    Evidence::note(format!("tier {} of {} not met", met + 1, rules.len())),
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

pub(super) fn clip(text: &str) -> String {
    const MAX: usize = 80;
    if text.chars().count() <= MAX {
        return text.to_string();
    }
    let mut clipped: String = text.chars().take(MAX).collect();
    clipped.push('…');
    clipped
}
