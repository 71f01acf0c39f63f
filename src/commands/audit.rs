//! `vivr audit`: score a repository against the check catalogue, explain a check, validate check files.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Serialize;

use crate::audit::check::{Catalogue, Check, CheckFileError, InvalidChecks};
use crate::audit::repo::Repo;
use crate::audit::rule::{Eval, Scope};
use crate::audit::score::Level;
use crate::audit::{self, Baseline, FailOn, Policy, waiver};
use crate::exit::Outcome;
use crate::output::{Ctx, Report, Style, table};

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// The check catalogue: validate check files and their fixtures, or list the checks.
    #[command(subcommand)]
    Checks(ChecksCommand),
}

#[derive(Debug, clap::Subcommand)]
pub enum ChecksCommand {
    /// Validate check files (schema, rules, ids) and run every check on its pass and fail fixtures.
    /// Exit 0 valid, 2 a problem (each printed as file:line: field: rule).
    Validate(ValidateArgs),
    /// List the checks: id, category, severity, level, title.
    List(ListArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuditFormat {
    Text,
    Json,
    Sarif,
    Junit,
    Markdown,
}

impl From<AuditFormat> for Style {
    fn from(format: AuditFormat) -> Self {
        match format {
            AuditFormat::Text => Style::Text,
            AuditFormat::Json => Style::Json,
            AuditFormat::Sarif => Style::Sarif,
            AuditFormat::Junit => Style::Junit,
            AuditFormat::Markdown => Style::Markdown,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The repository to audit.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Read the checks from this folder instead of the catalogue built into vivr.
    #[arg(long, value_name = "DIR")]
    pub checks: Option<PathBuf>,
    /// text (tables by category, worst first), json (versioned), sarif (code scanning), junit, markdown (a PR
    /// comment).
    #[arg(long, value_enum, default_value_t = AuditFormat::Text)]
    pub format: AuditFormat,
    /// Fail (exit 1) below this score.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=100))]
    pub min_score: Option<u32>,
    /// Fail (exit 1) below this level.
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub min_level: Option<Level>,
    /// Fail (exit 1) when the evaluated checks carry less than this share (percent) of the applicable weight.
    #[arg(long, value_name = "PERCENT", value_parser = clap::value_parser!(u32).range(0..=100))]
    pub min_coverage: Option<u32>,
    /// Fail (exit 1) when a check of this severity or worse fails; `none` leaves it to the thresholds.
    #[arg(long, value_enum, default_value_t = FailOn::Critical)]
    pub fail_on: FailOn,
    /// Count checks that could not be evaluated as failed.
    #[arg(long)]
    pub strict: bool,
    /// A previous `--format json` report: fail only on checks failing now that did not then, or on a score drop
    /// beyond --max-drop.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// With --baseline: how many points the score may drop.
    #[arg(
        long,
        value_name = "POINTS",
        default_value_t = 0,
        requires = "baseline"
    )]
    pub max_drop: u32,
    /// Also grade a running site (headers, cookies, redirects, cache headers) as MDN's HTTP Observatory does;
    /// an http:// URL is read as an origin behind a TLS terminator.
    #[arg(long, value_name = "URL")]
    pub http: Option<String>,
    /// Also check the backup store (a folder or s3://bucket/prefix): the newest verified backup's age and when a
    /// restore was last proven.
    #[arg(long, value_name = "STORE")]
    pub backup_store: Option<String>,
    /// Also check the environment deploy/ENV.yaml describes, on AWS (AWS_ENDPOINT_URL honoured): the ECS
    /// service's circuit breaker and deployment alarms, its last known good, and its secrets' posture. Only
    /// Describe calls; no secret value is read.
    #[arg(long, value_name = "ENV")]
    pub aws: Option<String>,
    /// Explain one check: what it asks, why, how to fix it, and what it sees here.
    #[arg(long, value_name = "ID")]
    pub explain: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// The folder of check files.
    #[arg(default_value = "checks")]
    pub dir: PathBuf,
    /// text or json.
    #[arg(long, value_enum, default_value_t = crate::cli::Format::Text)]
    pub format: crate::cli::Format,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Read the checks from this folder instead of the catalogue built into vivr.
    #[arg(long, value_name = "DIR")]
    pub checks: Option<PathBuf>,
    /// text or json.
    #[arg(long, value_enum, default_value_t = crate::cli::Format::Text)]
    pub format: crate::cli::Format,
}

/// The audit could not run (the repository cannot be read): exit 3.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct AuditRuntimeError(pub String);

pub async fn run(ctx: &Ctx, args: Args) -> anyhow::Result<Outcome> {
    match args.command {
        Some(Command::Checks(ChecksCommand::Validate(v))) => validate(ctx, &v),
        Some(Command::Checks(ChecksCommand::List(l))) => list(ctx, &l),
        None => audit_repo(ctx, args.run).await,
    }
}

fn catalogue(dir: Option<&Path>) -> anyhow::Result<Catalogue> {
    match dir {
        None => Ok(Catalogue::embedded()?),
        Some(dir) => Ok(Catalogue::from_dir(dir)??),
    }
}

async fn audit_repo(ctx: &Ctx, args: RunArgs) -> anyhow::Result<Outcome> {
    let catalogue = catalogue(args.checks.as_deref())?;
    let repo = Repo::open(&args.path).map_err(|e| AuditRuntimeError(format!("{e:#}")))?;
    let waivers = read_waivers(&args.path, &catalogue)?;
    let policy = policy_of(&args)?;
    let probes = probes(&args).await?;
    let today = chrono::Utc::now().date_naive();
    let started = std::time::Instant::now();
    let report = audit::audit(
        &catalogue,
        &repo,
        &args.path.display().to_string(),
        &waivers,
        today,
        &policy,
        &probes,
    );
    tracing::debug!(
        files = repo.files().len(),
        checks = catalogue.checks.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "audited"
    );
    if let Some(id) = &args.explain {
        return explain(ctx, &catalogue, &report, id, args.format);
    }
    ctx.emit(&report, args.format)
}

/// The repository's waivers (`.vivr/waivers.yaml` or wherever `waiver::PATH` says); none when it has no file.
fn read_waivers(path: &Path, catalogue: &Catalogue) -> anyhow::Result<Vec<waiver::Waiver>> {
    let waivers_path = path.join(waiver::PATH);
    let waivers = match std::fs::read_to_string(&waivers_path) {
        Ok(text) => waiver::parse(&waivers_path.display().to_string(), &text, catalogue)
            .map_err(InvalidChecks)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => {
            return Err(
                AuditRuntimeError(format!("reading {}: {e}", waivers_path.display())).into(),
            );
        }
    };
    Ok(waivers)
}

/// What makes the audit fail, with the baseline it compares against.
fn policy_of(args: &RunArgs) -> anyhow::Result<Policy> {
    let baseline = args
        .baseline
        .as_deref()
        .map(|file| {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading the baseline {}", file.display()))?;
            Baseline::parse(&file.display().to_string(), &text)
        })
        .transpose()?;
    Ok(Policy {
        min_score: args.min_score,
        min_level: args.min_level,
        min_coverage: args.min_coverage.map(|p| f64::from(p) / 100.0),
        fail_on: args.fail_on,
        strict: args.strict,
        baseline,
        max_drop: args.max_drop,
    })
}

/// What the audit observes beyond the repository: the site, the backup store, AWS.
async fn probes(args: &RunArgs) -> anyhow::Result<crate::audit::rule::Probes> {
    let mut probes = crate::audit::rule::Probes::default();
    if let Some(url) = &args.http {
        tracing::info!(url = %url, "probing the site");
        let observed = crate::audit::http::fetch::observe(url)
            .await
            .map_err(|e| AuditRuntimeError(e.to_string()))?;
        probes.http = Some(crate::audit::http::grade(&observed));
    }
    if let Some(store) = &args.backup_store {
        tracing::info!(store = %store, "reading the backup store");
        probes.backups = Some(
            crate::audit::backups::gather(store)
                .await
                .map_err(|e| AuditRuntimeError(format!("--backup-store {store}: {e:#}")))?,
        );
    }
    if let Some(environment) = &args.aws {
        tracing::info!(environment = %environment, "asking AWS");
        probes.aws = Some(
            crate::audit::aws::gather(&args.path, environment)
                .await
                .map_err(|e| match e {
                    crate::audit::aws::GatherError::Config(why) => {
                        anyhow::anyhow!("--aws {environment}: {why}")
                    }
                    crate::audit::aws::GatherError::Aws(why) => {
                        AuditRuntimeError(format!("--aws {environment}: {why}")).into()
                    }
                })?,
        );
    }
    Ok(probes)
}

/// `--explain ID`: one check and its result here.
fn explain(
    ctx: &Ctx,
    catalogue: &Catalogue,
    report: &audit::AuditReport,
    id: &str,
    format: AuditFormat,
) -> anyhow::Result<Outcome> {
    let Some(check) = catalogue.get(id) else {
        let ids: Vec<&str> = catalogue
            .checks
            .iter()
            .map(|c| c.spec.id.as_str())
            .collect();
        let nearest = ids
            .iter()
            .map(|c| (strsim::jaro_winkler(c, id), *c))
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .filter(|(score, _)| *score > 0.8)
            .map(|(_, c)| format!(" (did you mean {c}?)"))
            .unwrap_or_default();
        anyhow::bail!(
            "--explain: no check has the id {id:?}{nearest}; `vivr audit checks list` lists them"
        );
    };
    let result = report
        .checks
        .iter()
        .find(|c| c.id == *id)
        .cloned()
        .context("the check has no result")?;
    let explained = Explained {
        check: check.spec.clone(),
        file: check.file.clone(),
        here: result,
    };
    let style: Style = format.into();
    anyhow::ensure!(
        matches!(style, Style::Text | Style::Json),
        "--explain prints text or json"
    );
    ctx.emit(&explained, style)?;
    Ok(Outcome::Success)
}

/// `--explain ID`: the check as defined, and its result here.
#[derive(Debug, Serialize)]
struct Explained {
    check: crate::audit::check::CheckSpec,
    file: String,
    here: audit::CheckResult,
}

impl Report for Explained {
    fn text(&self) -> String {
        let c = &self.check;
        let mut text = format!(
            "{} — {}\n{} · severity {} (weight {}) · level {}\n",
            c.id,
            c.title,
            c.category.title(),
            audit::severity_name(c.severity),
            c.severity.weight(),
            format!("{:?}", c.level).to_lowercase()
        );
        if !c.references.is_empty() {
            text += &format!("references: {}\n", c.references.join(", "));
        }
        if let Some(explain) = &c.explain {
            text += &format!("\n{}\n", explain.trim_end());
        }
        text += &format!(
            "\nFix: {}\nMore: {}\n",
            c.remediation.fix, c.remediation.link
        );
        if let Some(applies) = &c.applies_when {
            text += &format!("\nApplies when:\n{}", indent(&to_yaml(applies)));
        }
        text += &format!("\nRule:\n{}", indent(&to_yaml(&c.rule)));
        text += &format!(
            "\nFixtures: {} passing, {} failing, in {}\n",
            c.examples.pass.len(),
            c.examples.fail.len(),
            self.file
        );
        let here = &self.here;
        text += &format!("\nHere: {}", here.status.replace('_', " "));
        if let Some(reason) = &here.reason {
            text += &format!(" ({reason})");
        }
        text += "\n";
        for e in &here.evidence {
            text += &format!("  {}\n", e.text());
        }
        text
    }
}

/// A value printed back as YAML (a rule, for --explain).
fn to_yaml<T: Serialize>(value: &T) -> String {
    yaml_serde::to_string(value).unwrap_or_else(|e| format!("({e})\n"))
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

/// What `checks validate` found.
#[derive(Debug, Serialize)]
struct ValidateReport {
    dir: String,
    checks: usize,
    examples: usize,
    errors: Vec<CheckFileError>,
}

impl Report for ValidateReport {
    fn text(&self) -> String {
        if self.errors.is_empty() {
            return format!(
                "{}: {} check(s) valid; every check passes its {} fixture(s) as written.\n",
                self.dir, self.checks, self.examples
            );
        }
        let mut text = String::new();
        for e in &self.errors {
            text += &format!("{e}\n");
        }
        text += &format!("{}: {} problem(s).\n", self.dir, self.errors.len());
        text
    }

    fn outcome(&self) -> Outcome {
        if self.errors.is_empty() {
            Outcome::Success
        } else {
            Outcome::Error
        }
    }
}

fn validate(ctx: &Ctx, args: &ValidateArgs) -> anyhow::Result<Outcome> {
    let dir = args.dir.display().to_string();
    let mut report = ValidateReport {
        dir: dir.clone(),
        checks: 0,
        examples: 0,
        errors: Vec::new(),
    };
    match Catalogue::from_dir(&args.dir)? {
        Err(InvalidChecks(errors)) => report.errors = errors,
        Ok(catalogue) => {
            report.checks = catalogue.checks.len();
            let waivers = args.dir.join(waiver::FILE_NAME);
            if let Ok(text) = std::fs::read_to_string(&waivers)
                && let Err(errors) =
                    waiver::parse(&waivers.display().to_string(), &text, &catalogue)
            {
                report.errors.extend(errors);
            }
            for check in &catalogue.checks {
                let (count, errors) = run_examples(check)?;
                report.examples += count;
                report.errors.extend(errors);
            }
        }
    }
    ctx.emit(&report, args.format)
}

/// Runs a check on each of its fixtures (written to a temporary folder): a pass fixture must pass, a fail
/// fixture must fail (or earn partial credit).
pub fn run_examples(check: &Check) -> anyhow::Result<(usize, Vec<CheckFileError>)> {
    let spec = &check.spec;
    let text = std::fs::read_to_string(&check.file).unwrap_or_default();
    let line = crate::audit::check::field_line(&text, &spec.id, "examples");
    let mut errors = Vec::new();
    let mut count = 0;
    for (kind, list) in [("pass", &spec.examples.pass), ("fail", &spec.examples.fail)] {
        for (i, example) in list.iter().enumerate() {
            count += 1;
            let error = |message: String| CheckFileError {
                file: check.file.clone(),
                line,
                field: format!("{}.examples.{kind}[{i}]", spec.id),
                message,
            };
            let dir = tempfile::tempdir().context("creating a folder for a fixture")?;
            let mut bad_path = None;
            for (name, content) in &example.files {
                let relative = Path::new(name);
                if name.is_empty()
                    || relative.is_absolute()
                    || relative
                        .components()
                        .any(|c| !matches!(c, std::path::Component::Normal(_)))
                {
                    bad_path = Some(name.clone());
                    break;
                }
                let path = dir.path().join(relative);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)
                        .with_context(|| format!("creating {}", parent.display()))?;
                }
                std::fs::write(&path, content)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            if let Some(name) = bad_path {
                errors.push(error(format!(
                    "{name:?}: a fixture file is a relative path inside the fixture"
                )));
                continue;
            }
            let repo = Repo::open(dir.path())?;
            let probes = crate::audit::rule::Probes {
                http: example.http.as_ref().map(crate::audit::http::grade_fixture),
                backups: example
                    .backups
                    .as_deref()
                    .map(crate::audit::backups::from_fixture),
                aws: example.aws.clone(),
            };
            let eval = audit::evaluate(check, &Scope::new(&repo).with_probes(&probes));
            let outcome = match &eval {
                Eval::Credit { credit, .. } if *credit >= 1.0 => "pass",
                Eval::Credit { .. } => "fail",
                Eval::Skipped(_) => "skipped",
                Eval::Unknown(_) => "unknown",
            };
            if outcome != kind {
                let detail = match eval {
                    Eval::Credit { evidence, .. } => evidence
                        .iter()
                        .map(|e| e.text())
                        .collect::<Vec<_>>()
                        .join("; "),
                    Eval::Skipped(why) | Eval::Unknown(why) => why,
                };
                errors.push(error(format!(
                    "the fixture should {kind}, but the check gives {outcome}: {detail}"
                )));
            }
        }
    }
    Ok((count, errors))
}

#[derive(Debug, Serialize)]
struct ListReport {
    checks: Vec<ListedCheck>,
}

#[derive(Debug, Serialize)]
struct ListedCheck {
    id: String,
    category: crate::audit::check::Category,
    severity: crate::audit::score::Severity,
    level: Level,
    title: String,
    references: Vec<String>,
}

impl Report for ListReport {
    fn text(&self) -> String {
        let mut t = table(["id", "category", "severity", "level", "title"]);
        for c in &self.checks {
            t.add_row([
                c.id.clone(),
                c.category.as_str().to_string(),
                audit::severity_name(c.severity).to_string(),
                format!("{:?}", c.level).to_lowercase(),
                c.title.clone(),
            ]);
        }
        format!("{t}\n{} check(s).\n", self.checks.len())
    }
}

fn list(ctx: &Ctx, args: &ListArgs) -> anyhow::Result<Outcome> {
    let catalogue = catalogue(args.checks.as_deref())?;
    let report = ListReport {
        checks: catalogue
            .checks
            .iter()
            .map(|c| ListedCheck {
                id: c.spec.id.clone(),
                category: c.spec.category,
                severity: c.spec.severity,
                level: c.spec.level,
                title: c.spec.title.clone(),
                references: c.spec.references.clone(),
            })
            .collect(),
    };
    ctx.emit(&report, args.format)
}
