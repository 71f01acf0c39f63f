//! `vivr audit`: a production-readiness score from checks defined as data (`checks/*.yaml`), evaluated by a few
//! generic matchers against a repository, with waivers kept in the repository, a policy for CI (minimum score,
//! level, coverage, severities that fail, a baseline to ratchet against) and reports for people and machines.

pub mod analysis;
pub mod aws;
pub mod backups;
pub mod check;
pub mod http;
pub mod render;
pub mod repo;
pub mod rule;
pub mod score;
pub mod waiver;
pub mod workflow;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use check::{Catalogue, Category, Check, Remediation};
use rule::{Eval, Evidence, Scope};
use score::{Level, Outcome, Score, Severity, Status};
use waiver::Waiver;

/// The version of the JSON report's shape.
pub const REPORT_SCHEMA: &str = "vivr-audit/1";

/// One check's result, as reported.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckResult {
    pub id: String,
    pub title: String,
    pub category: Category,
    pub severity: Severity,
    pub level: Level,
    /// pass, partial, fail, skipped, unknown, waived, waiver_expired.
    pub status: String,
    /// The credit earned, for evaluated checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit: Option<f64>,
    /// Why it was skipped or unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default)]
    pub evidence: Vec<ReportedEvidence>,
    pub remediation: Remediation,
    #[serde(default)]
    pub references: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver: Option<Waiver>,
}

/// Evidence as it appears in a report (the same fields; kept separate so the report can be read back).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ReportedEvidence {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    pub message: String,
}

impl From<Evidence> for ReportedEvidence {
    fn from(e: Evidence) -> Self {
        ReportedEvidence {
            file: e.file,
            line: e.line,
            message: e.message,
        }
    }
}

impl ReportedEvidence {
    pub fn text(&self) -> String {
        match (&self.file, self.line) {
            (Some(f), Some(l)) => format!("{f}:{l}: {}", self.message),
            (Some(f), None) => format!("{f}: {}", self.message),
            _ => self.message.clone(),
        }
    }
}

impl CheckResult {
    /// The weight it loses from the score (0 for checks left out).
    pub fn lost(&self) -> f64 {
        self.credit
            .map_or(0.0, |c| (1.0 - c) * self.severity.weight())
    }

    /// Evaluated and short of full credit (failed, partial, or its waiver expired).
    pub fn failing(&self) -> bool {
        self.credit.is_some_and(|c| c < 1.0)
    }
}

/// What an audit found, and what the policy made of it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditReport {
    pub schema: String,
    pub repository: String,
    #[serde(flatten)]
    pub score: Score,
    /// Every check, in id order.
    pub checks: Vec<CheckResult>,
    /// The Observatory-equivalent grading of `--http URL`, when asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<http::Observatory>,
    /// The `.vivr-auditignore` files that left paths out of the audit: shown, never silent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_files: Vec<String>,
    pub policy: PolicyResult,
}

/// Which failed severities fail the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum FailOn {
    Critical,
    High,
    Medium,
    Low,
    /// No severity fails the run by itself (thresholds still do).
    None,
}

impl FailOn {
    fn threshold(self) -> Option<Severity> {
        match self {
            FailOn::Critical => Some(Severity::Critical),
            FailOn::High => Some(Severity::High),
            FailOn::Medium => Some(Severity::Medium),
            FailOn::Low => Some(Severity::Low),
            FailOn::None => None,
        }
    }
}

/// The CI contract.
#[derive(Debug, Clone)]
pub struct Policy {
    pub min_score: Option<u32>,
    pub min_level: Option<Level>,
    pub min_coverage: Option<f64>,
    pub fail_on: FailOn,
    pub strict: bool,
    pub baseline: Option<Baseline>,
    pub max_drop: u32,
}

/// A previous report to ratchet against.
#[derive(Debug, Clone)]
pub struct Baseline {
    pub file: String,
    pub score: u32,
    /// The checks failing then.
    pub failing: std::collections::BTreeSet<String>,
}

impl Baseline {
    /// Reads a report written by `vivr audit --format json`.
    pub fn parse(file: &str, text: &str) -> anyhow::Result<Baseline> {
        let report: AuditReport = serde_json::from_str(text)
            .map_err(|e| anyhow::anyhow!("{file}: not a `vivr audit --format json` report: {e}"))?;
        anyhow::ensure!(
            report.schema == REPORT_SCHEMA,
            "{file}: a report of schema {:?}; this vivr reads {REPORT_SCHEMA:?}",
            report.schema
        );
        Ok(Baseline {
            file: file.to_string(),
            score: report.score.score,
            failing: report
                .checks
                .iter()
                .filter(|c| c.failing())
                .map(|c| c.id.clone())
                .collect(),
        })
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PolicyResult {
    pub passed: bool,
    /// Why it failed, one sentence each.
    pub violations: Vec<String>,
    /// Failing checks that were already failing in the baseline (not held against this run).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub known_failures: Vec<String>,
    /// Waivers for checks that pass anyway (they can go).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unused_waivers: Vec<String>,
}

/// Evaluates one check against a scope.
pub fn evaluate(check: &Check, scope: &Scope) -> Eval {
    if let Some(applies) = &check.applies_when {
        match applies.eval(scope) {
            Eval::Credit { credit, .. } if credit >= 1.0 => {}
            Eval::Credit { evidence, .. } => {
                let why = evidence
                    .first()
                    .map(|e| e.text())
                    .unwrap_or_else(|| "its applies_when is not met".into());
                return Eval::Skipped(format!("does not apply: {why}"));
            }
            other => return other,
        }
    }
    check.rule.eval(scope)
}

/// A check's status from its evaluation and its waiver (an unneeded waiver is reported), with its credit,
/// the reason it has none, and its evidence.
fn judged(
    eval: Eval,
    waiver: Option<&Waiver>,
    today: NaiveDate,
    id: &str,
    unused_waivers: &mut Vec<String>,
) -> (Status, Option<f64>, Option<String>, Vec<rule::Evidence>) {
    match eval {
        Eval::Credit { credit, evidence } => {
            let failing = credit < 1.0;
            let status = match (waiver, failing) {
                (Some(w), true) if w.expired(today) => Status::WaiverExpired,
                (Some(_), true) => Status::Waived,
                (Some(w), false) => {
                    unused_waivers.push(format!(
                        "{}: waived until {} ({}), but it passes: remove the waiver",
                        id, w.expires, w.owner
                    ));
                    Status::Pass
                }
                (None, false) => Status::Pass,
                (None, true) if credit > 0.0 => Status::Partial { credit },
                (None, true) => Status::Fail,
            };
            (status, Some(credit), None, evidence)
        }
        Eval::Skipped(why) => (Status::Skipped, None, Some(why), Vec::new()),
        Eval::Unknown(why) => (Status::Unknown, None, Some(why), Vec::new()),
    }
}

/// Runs the catalogue against a repository.
pub fn audit(
    catalogue: &Catalogue,
    repo: &repo::Repo,
    repository: &str,
    waivers: &[Waiver],
    today: NaiveDate,
    policy: &Policy,
    probes: &rule::Probes,
) -> AuditReport {
    let scope = Scope::new(repo).with_probes(probes);
    let mut results = Vec::new();
    let mut outcomes = Vec::new();
    let mut unused_waivers = Vec::new();
    for check in &catalogue.checks {
        let spec = &check.spec;
        let mut eval = evaluate(check, &scope);
        let mut waiver = waivers.iter().find(|w| w.check == spec.id).cloned();
        if let Some(w) = waiver.take_if(|w| !w.paths.is_empty() && !w.expired(today)) {
            eval = waive_paths(eval, &w, &mut unused_waivers);
        }
        let (status, credit, reason, evidence) =
            judged(eval, waiver.as_ref(), today, &spec.id, &mut unused_waivers);
        outcomes.push(Outcome {
            id: spec.id.clone(),
            severity: spec.severity,
            level: spec.level,
            status,
        });
        let credit = match status {
            Status::WaiverExpired => Some(0.0),
            Status::Waived => None,
            Status::Unknown if policy.strict => Some(0.0),
            _ => credit,
        };
        let mut evidence: Vec<ReportedEvidence> = evidence.into_iter().map(Into::into).collect();
        evidence.sort();
        evidence.dedup();
        results.push(CheckResult {
            id: spec.id.clone(),
            title: spec.title.clone(),
            category: spec.category,
            severity: spec.severity,
            level: spec.level,
            status: status_name(status).to_string(),
            credit,
            reason,
            evidence,
            remediation: spec.remediation.clone(),
            references: spec.references.clone(),
            waiver: waiver.filter(|_| matches!(status, Status::Waived | Status::WaiverExpired)),
        });
    }
    let score = score::score(&outcomes, policy.strict);
    let mut result = judge(&score, &results, policy);
    result.unused_waivers = unused_waivers;
    AuditReport {
        schema: REPORT_SCHEMA.to_string(),
        repository: repository.to_string(),
        score,
        checks: results,
        http: probes.http.clone(),
        ignore_files: repo
            .files()
            .iter()
            .filter(|f| f.rsplit('/').next() == Some(repo::IGNORE_FILE))
            .cloned()
            .collect(),
        policy: result,
    }
}

/// Applies a waiver limited to some files: the findings in them no longer count; a check left with no finding
/// passes, and says what was waived.
fn waive_paths(eval: Eval, waiver: &Waiver, unused: &mut Vec<String>) -> Eval {
    let Ok(globs) = repo::Globs::new(&waiver.paths) else {
        return eval;
    };
    let Eval::Credit { credit, evidence } = eval else {
        return eval;
    };
    if credit >= 1.0 {
        unused.push(format!(
            "{}: the waiver of findings in {} is not needed (the check passes): remove it",
            waiver.check,
            globs.describe()
        ));
        return Eval::Credit { credit, evidence };
    }
    let (waived, kept): (Vec<Evidence>, Vec<Evidence>) = evidence
        .into_iter()
        .partition(|e| e.file.as_deref().is_some_and(|f| globs.is_match(f)));
    if waived.is_empty() {
        unused.push(format!(
            "{}: the waiver of findings in {} matches none of them",
            waiver.check,
            globs.describe()
        ));
    }
    let note = Evidence::note(format!(
        "{} finding(s) in {} waived until {} by {}: {}",
        waived.len(),
        globs.describe(),
        waiver.expires,
        waiver.owner,
        waiver.reason
    ));
    if kept.is_empty() {
        Eval::pass(vec![note])
    } else {
        let mut evidence = kept;
        if !waived.is_empty() {
            evidence.push(note);
        }
        Eval::Credit { credit, evidence }
    }
}

pub fn status_name(status: Status) -> &'static str {
    match status {
        Status::Pass => "pass",
        Status::Partial { .. } => "partial",
        Status::Fail => "fail",
        Status::Skipped => "skipped",
        Status::Unknown => "unknown",
        Status::Waived => "waived",
        Status::WaiverExpired => "waiver_expired",
    }
}

fn level_name(level: Option<Level>) -> &'static str {
    match level {
        Some(Level::Gold) => "Gold",
        Some(Level::Silver) => "Silver",
        Some(Level::Bronze) => "Bronze",
        None => "no level",
    }
}

pub fn level_title(level: Option<Level>) -> &'static str {
    level_name(level)
}

/// The policy's minimums (score, level, coverage) the score falls below.
fn below_minimums(score: &Score, policy: &Policy) -> Vec<String> {
    let mut violations = Vec::new();
    if let Some(min) = policy.min_score
        && score.score < min
    {
        violations.push(format!(
            "the score {} is below --min-score {min}",
            score.score
        ));
    }
    if let Some(min) = policy.min_level
        && score.level.is_none_or(|l| l < min)
    {
        violations.push(format!(
            "the level is {}, below --min-level {}",
            level_name(score.level),
            level_name(Some(min)).to_lowercase()
        ));
    }
    if let Some(min) = policy.min_coverage
        && score.coverage + 1e-9 < min
    {
        violations.push(format!(
            "the coverage {:.0}% is below --min-coverage {:.0}%",
            score.coverage * 100.0,
            min * 100.0
        ));
    }
    violations
}

/// Applies the policy to a score and its results.
fn judge(score: &Score, results: &[CheckResult], policy: &Policy) -> PolicyResult {
    let mut violations = below_minimums(score, policy);
    let mut known = Vec::new();
    for r in results.iter().filter(|r| r.status == "waiver_expired") {
        if let Some(w) = &r.waiver {
            violations.push(format!(
                "the waiver of {} expired on {} (owner {}): fix the check or renew the waiver in {}",
                r.id,
                w.expires,
                w.owner,
                waiver::PATH
            ));
        }
    }
    let threshold = policy.fail_on.threshold();
    for r in results
        .iter()
        .filter(|r| r.failing() && r.status != "waiver_expired")
    {
        if let Some(baseline) = &policy.baseline
            && baseline.failing.contains(&r.id)
        {
            known.push(r.id.clone());
            continue;
        }
        let new = if policy.baseline.is_some() {
            "new since the baseline: "
        } else {
            ""
        };
        if policy.baseline.is_some() || threshold.is_some_and(|t| r.severity >= t) {
            violations.push(format!(
                "{new}{} ({}) {}",
                r.id,
                severity_name(r.severity),
                if r.status == "unknown" {
                    "could not be evaluated (--strict)".to_string()
                } else {
                    format!("failed: {}", r.title)
                }
            ));
        }
    }
    if let Some(baseline) = &policy.baseline
        && score.score + policy.max_drop < baseline.score
    {
        violations.push(format!(
            "the score dropped from {} to {} since {}, more than --max-drop {}",
            baseline.score, score.score, baseline.file, policy.max_drop
        ));
    }
    PolicyResult {
        passed: violations.is_empty(),
        violations,
        known_failures: known,
        unused_waivers: Vec::new(),
    }
}

pub fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "critical",
        Severity::High => "high",
        Severity::Medium => "medium",
        Severity::Low => "low",
    }
}
