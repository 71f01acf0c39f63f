//! `vivr deploy`, `vivr deploy status` and `vivr rollback`: parse, read `deploy/<env>.yaml`, run the preflight
//! and the state machine on ECS, print the progress (text lines on stderr, or a JSON event stream on stdout) and
//! the report.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use serde::Serialize;

use crate::config::schema::Schema;
use crate::deploy::cloudwatch::CloudWatch;
use crate::deploy::config::{self, DeployConfig};
use crate::deploy::ecs::{Ecs, SafetyNets};
use crate::deploy::machine::{self, Ending, Event, Failure, Plan, short_revision};
use crate::deploy::platform::Platform;
use crate::deploy::preflight::{self, PreflightCheck};
use crate::deploy::prometheus::Prometheus;
use crate::deploy::task::TaskDefinition;
use crate::deploy::triggers::{Datapoint, MetricSource, Trigger};
use crate::exit::Outcome;
use crate::output::{Ctx, Report, Style, table};

mod rehearse;
mod status;

use rehearse::rehearse;
use status::status;

/// Where the configuration lives and which AWS to talk to: shared by every deploy command.
#[derive(Debug, clap::Args)]
pub struct Target {
    /// The environment: reads deploy/<ENV>.yaml.
    #[arg(long = "env", value_name = "ENV")]
    pub environment: String,
    /// The project directory holding deploy/.
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub project: PathBuf,
    /// Another endpoint for every AWS service (a local emulator); else AWS_ENDPOINT_URL.
    #[arg(long)]
    pub endpoint_url: Option<String>,
    /// text (progress on stderr, a summary on stdout) or json (one JSON event per line on stdout, the report
    /// last).
    #[arg(long, value_enum, default_value_t = crate::cli::Format::Text)]
    pub format: crate::cli::Format,
}

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The image to deploy, by digest: repo@sha256:… (what `vivr build --push` prints).
    #[arg(value_name = "IMAGE@DIGEST", required_unless_present = "from_build")]
    pub image: Option<String>,
    /// Take the image from `vivr build --format json --push` output saved in FILE.
    #[arg(long, value_name = "FILE", conflicts_with = "image")]
    pub from_build: Option<PathBuf>,
    /// Check and show what would be registered and changed, then stop.
    #[arg(long)]
    pub dry_run: bool,
    /// Task definition revisions of the family to keep after a successful deploy (default: the file's keep);
    /// the new one, the previous last known good and the one that ran before are always kept.
    #[arg(long, value_name = "N")]
    pub keep: Option<u32>,
    /// Run `vivr migrate deploy` (with its backup gate) in a one-off task of the new revision before the
    /// update, instead of only checking that the database is at the image's migration head.
    #[arg(long)]
    pub run_migrations: bool,
    /// Seconds the rollout may take (default: the file's timeout_secs).
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
    /// Seconds the triggers keep watching after ECS says COMPLETED (default: the file's bake_secs).
    #[arg(long, value_name = "SECS")]
    pub bake: Option<u64>,
    #[command(flatten)]
    pub target: Option<Target>,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// The service's deployments, its last known good and the triggers' current values.
    Status(Target),
    /// Rehearse a deploy on the local Docker engine: the candidate next to the current image, health, a smoke
    /// load, the triggers from its /metrics, the old one drained. Exit 0 passed, 1 failed (the reason is
    /// printed), 2 usage, 3 no engine.
    Rehearse(RehearseArgs),
}

#[derive(Debug, clap::Args)]
pub struct RehearseArgs {
    /// The candidate image (a local tag or repo@sha256:…).
    #[arg(value_name = "IMAGE")]
    pub image: String,
    /// The image running today, started first and drained once the candidate is healthy.
    #[arg(long, value_name = "IMAGE")]
    pub current: Option<String>,
    /// Seconds of smoke load and trigger evaluation after the candidate is healthy.
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    pub duration: u64,
    /// The most requests the smoke load sends.
    #[arg(long, default_value_t = 2000, value_name = "N")]
    pub requests: usize,
    /// Seconds the candidate may take to turn healthy.
    #[arg(long, default_value_t = 90, value_name = "SECS")]
    pub timeout: u64,
    /// text (progress on stderr, a summary on stdout) or json (JSON events, the report last).
    #[arg(long, value_enum, default_value_t = crate::cli::Format::Text)]
    pub format: crate::cli::Format,
}

#[derive(Debug, clap::Args)]
pub struct RollbackArgs {
    /// The revision to go back to (family:revision or a task definition ARN); default the last known good.
    #[arg(long, value_name = "REVISION")]
    pub to: Option<String>,
    #[command(flatten)]
    pub target: Target,
}

/// The deploy configuration and the AWS clients for one environment.
struct Setup {
    config: DeployConfig,
    file: String,
    sdk: aws_config::SdkConfig,
    region: String,
}

async fn setup(target: &Target) -> anyhow::Result<Setup> {
    let path = config::path_for(&target.project, &target.environment);
    let config = DeployConfig::load(&path, Schema::embedded())?;
    let (sdk, region) = config.sdk(target.endpoint_url.as_deref()).await?;
    tracing::debug!(
        "AWS endpoint: {}",
        sdk.endpoint_url().unwrap_or("the default for the region")
    );
    Ok(Setup {
        file: path.display().to_string(),
        config,
        sdk,
        region,
    })
}

impl Setup {
    fn ecs(&self) -> Ecs {
        Ecs::new(
            &self.sdk,
            &self.config.cluster,
            &self.config.service,
            SafetyNets {
                circuit_breaker: self.config.circuit_breaker,
                alarms: self.config.alarms.clone(),
                health_check_grace_secs: i32::try_from(self.config.health_check_grace_secs).ok(),
                desired_count: Some(self.config.desired_count),
            },
        )
    }

    fn metrics(&self) -> Metrics {
        let Some(metrics) = &self.config.metrics else {
            return Metrics::None;
        };
        match (&metrics.cloudwatch, &metrics.prometheus) {
            (Some(cw), _) => Metrics::CloudWatch(CloudWatch::new(
                &self.sdk,
                &cw.load_balancer,
                &cw.target_group,
            )),
            (None, Some(p)) => Metrics::Prometheus(Prometheus::new(&p.url, &p.selector)),
            (None, None) => Metrics::None,
        }
    }

    fn plan(
        &self,
        definition: TaskDefinition,
        image: &str,
        actor: String,
        args: Option<&Args>,
    ) -> Plan {
        let config = &self.config;
        Plan {
            definition,
            image: image.to_string(),
            actor,
            timeout: Duration::from_secs(
                args.and_then(|a| a.timeout).unwrap_or(config.timeout_secs),
            ),
            bake: Duration::from_secs(args.and_then(|a| a.bake).unwrap_or(config.bake_secs)),
            poll: Duration::from_secs(config.poll_secs),
            grace: Duration::from_secs(config.crash_loop.grace_secs),
            crash_stops: config.crash_loop.stopped_tasks,
            triggers: config.triggers(),
            error_limit: 4,
            keep: usize::try_from(args.and_then(|a| a.keep).unwrap_or(config.keep))
                .unwrap_or(usize::MAX),
            migrations: match args {
                Some(args) if args.run_migrations => Some(migrate_command("deploy")),
                Some(_) if config.check_migrations => Some(migrate_command("status")),
                _ => None,
            },
        }
    }

    /// Who deploys: the AWS identity, else the local user.
    async fn actor(&self) -> String {
        let who = aws_sdk_sts::Client::new(&self.sdk)
            .get_caller_identity()
            .send()
            .await;
        match who {
            Ok(who) => who.arn().unwrap_or_default().to_string(),
            Err(_) => std::env::var("USER").unwrap_or_else(|_| "unknown".into()),
        }
    }
}

/// `vivr migrate <what>` as the one-off task runs it, under the task's VIVR_ENV: the environment's own rules
/// (`deploy`'s backup gate included).
fn migrate_command(what: &str) -> Vec<String> {
    ["migrate", what].into_iter().map(String::from).collect()
}

/// The configured metrics source, if any (without one the plan has no triggers and nothing asks).
enum Metrics {
    CloudWatch(CloudWatch),
    Prometheus(Prometheus),
    None,
}

impl MetricSource for Metrics {
    async fn datapoints(&self, trigger: &Trigger) -> Result<Vec<Datapoint>, String> {
        match self {
            Metrics::CloudWatch(source) => source.datapoints(trigger).await,
            Metrics::Prometheus(source) => source.datapoints(trigger).await,
            Metrics::None => Err("no metrics source is configured".into()),
        }
    }
}

/// Text, or JSON events one per line with the report as the last line.
fn stream_style(format: crate::cli::Format) -> Style {
    match format {
        crate::cli::Format::Text => Style::Text,
        crate::cli::Format::Json => Style::JsonLine,
    }
}

/// Prints each event as it happens: a line on stderr (text), or a JSON line on stdout. In text, a trigger's
/// reading is shown when its verdict changes (every reading with -v).
fn printer(ctx: &Ctx, style: Style) -> impl Fn(Event) + Sync + '_ {
    let verdicts = std::sync::Mutex::new(std::collections::HashMap::<String, String>::new());
    move |event: Event| match style {
        Style::Json | Style::JsonLine => {
            if let Ok(line) = serde_json::to_string(&event) {
                let _ = ctx.printer.line(&line);
            }
        }
        _ => {
            if let Event::Trigger { reading } = &event {
                let verdict = match &reading.verdict {
                    crate::deploy::triggers::Verdict::WarmingUp => "warming up",
                    crate::deploy::triggers::Verdict::Healthy => "healthy",
                    crate::deploy::triggers::Verdict::Breached => "breached",
                    crate::deploy::triggers::Verdict::Inconclusive { .. } => "inconclusive",
                };
                let changed = verdicts.lock().map_or(true, |mut seen| {
                    seen.insert(reading.trigger.clone(), verdict.to_string())
                        .as_deref()
                        != Some(verdict)
                });
                if !changed {
                    tracing::debug!(target: "vivr::deploy", "{}", event.text());
                    return;
                }
            }
            tracing::info!(target: "vivr::deploy", "{}", event.text());
        }
    }
}

#[derive(Debug, Serialize)]
struct DeployReport {
    event: &'static str,
    environment: String,
    cluster: String,
    service: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<String>,
    preflight: Vec<PreflightCheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dry_run: Option<DryRun>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ending: Option<Ending>,
    #[serde(skip_serializing_if = "Option::is_none")]
    runbook: Option<&'static str>,
}

#[derive(Debug, Serialize)]
struct DryRun {
    task_definition: TaskDefinition,
    /// The live revision's task definition, when it could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    live: Option<String>,
    diff: String,
}

/// The runbook section for an ending.
fn runbook(ending: &Ending) -> Option<&'static str> {
    match ending {
        Ending::Deployed { .. } => None,
        Ending::RolledBack {
            failure: Failure::TimedOut { .. },
            ..
        } => Some("runbooks/rollback.md#the-deploy-timed-out"),
        Ending::RolledBack { .. } => Some("runbooks/rollback.md#the-deploy-was-rolled-back"),
        Ending::RollbackFailed { .. } => Some("runbooks/rollback.md#the-rollback-failed"),
        Ending::Refused { .. } => Some("runbooks/rollback.md#the-deploy-was-refused"),
    }
}

impl Report for DeployReport {
    fn text(&self) -> String {
        let mut text = String::new();
        let failed: Vec<&PreflightCheck> = self.preflight.iter().filter(|c| !c.ok).collect();
        let shown: Vec<&PreflightCheck> = self
            .preflight
            .iter()
            .filter(|c| !c.ok || c.warning)
            .collect();
        if !shown.is_empty() {
            let mut t = table(["preflight check", "result", "detail"]);
            for c in &shown {
                let result = if c.ok { "warning" } else { "FAILED" };
                t.add_row([c.check.clone(), result.to_string(), c.detail.clone()]);
            }
            text += &format!("{t}\n");
        }
        if let Some(dry) = &self.dry_run {
            text += &format!(
                "Would register for {} / {}:\n{}\n",
                self.cluster,
                self.service,
                serde_json::to_string_pretty(&dry.task_definition).unwrap_or_default()
            );
            text += &match &dry.live {
                Some(live) => format!("Changes from the running revision {live}:\n{}", dry.diff),
                None => "No running revision to compare with.\n".into(),
            };
        }
        match &self.ending {
            Some(Ending::Deployed {
                revision,
                inconclusive,
            }) => {
                text += &format!(
                    "Deployed {} to {} / {} ({}): verified, baked, recorded as the last known good.\n",
                    short_revision(revision),
                    self.cluster,
                    self.service,
                    self.environment
                );
                for reading in inconclusive {
                    text += &format!(
                        "Note: the trigger {} could not judge the deploy (too little data).\n",
                        reading.trigger
                    );
                }
            }
            Some(Ending::RolledBack { failure, to }) => {
                text += &format!(
                    "Deploy failed: {failure}.\nRolled back: {} / {} runs {} again.\n",
                    self.cluster,
                    self.service,
                    short_revision(to)
                );
            }
            Some(Ending::RollbackFailed { failure, rollback }) => {
                text += &format!(
                    "Deploy failed: {failure}.\nThe ROLLBACK FAILED: {rollback}.\nThe service may run a bad \
                     revision: act now.\n"
                );
            }
            Some(Ending::Refused { reason }) => {
                text += &format!("Refused, nothing changed: {reason}.\n");
            }
            None if failed.is_empty() => {}
            None => text += "Refused, nothing changed: the preflight failed.\n",
        }
        if let Some(runbook) = self.runbook {
            text += &format!("See {runbook}\n");
        }
        text
    }

    fn outcome(&self) -> Outcome {
        if self.preflight.iter().any(|c| !c.ok) {
            return Outcome::Error;
        }
        match &self.ending {
            None | Some(Ending::Deployed { .. }) => Outcome::Success,
            Some(Ending::RolledBack {
                failure: Failure::TimedOut { .. },
                ..
            }) => Outcome::DeployTimedOut,
            Some(Ending::RolledBack { .. }) => Outcome::CheckFailed,
            Some(Ending::RollbackFailed { .. }) => Outcome::RollbackFailed,
            Some(Ending::Refused { .. }) => Outcome::Error,
        }
    }
}

pub async fn run(args: Args, ctx: &Ctx) -> anyhow::Result<Outcome> {
    match &args.command {
        Some(Command::Status(target)) => return status(target, ctx).await,
        Some(Command::Rehearse(rehearse_args)) => return rehearse(rehearse_args, ctx).await,
        None => {}
    }
    let target = args
        .target
        .as_ref()
        .context("--env is required: the environment to deploy to (reads deploy/<ENV>.yaml)")?;
    let style = stream_style(target.format);
    let image = match (&args.image, &args.from_build) {
        (Some(image), _) => image.clone(),
        (None, Some(file)) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))?;
            preflight::image_from_build(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?
        }
        (None, None) => anyhow::bail!("give the image (repo@sha256:…) or --from-build FILE"),
    };
    preflight::by_digest(&image).map_err(anyhow::Error::msg)?;
    let setup = setup(target).await?;
    let ecs = setup.ecs();
    // The service first: AWS unreachable (exit 3) or the service missing (exit 2) before anything else is asked.
    ecs.service().await.with_context(|| {
        format!(
            "reading the service {} in {} (nothing was changed; see runbooks/rollback.md#the-deploy-was-refused)",
            setup.config.service, setup.config.cluster
        )
    })?;
    let mut report = DeployReport {
        event: "result",
        environment: setup.config.environment.clone(),
        cluster: setup.config.cluster.clone(),
        service: setup.config.service.clone(),
        image: Some(image.clone()),
        preflight: Vec::new(),
        dry_run: None,
        ending: None,
        runbook: None,
    };
    report.preflight.push(preflight::environment_passes(
        &setup.config,
        Schema::embedded(),
        &setup.file,
    ));
    report.preflight.push(preflight::image_exists(&image).await);
    report
        .preflight
        .extend(preflight::secrets_exist(&setup.config, &setup.sdk).await);
    report
        .preflight
        .extend(preflight::alarms_ready(&setup.config, &setup.sdk).await);
    for check in &report.preflight {
        tracing::info!(
            target: "vivr::deploy",
            "preflight: {}: {}{}",
            check.check,
            if check.ok { "" } else { "FAILED: " },
            check.detail
        );
    }
    if report.preflight.iter().any(|c| !c.ok) {
        report.runbook = Some("runbooks/rollback.md#the-deploy-was-refused");
        return ctx.emit(&report, style);
    }
    let definition = setup.config.task_definition(&image, &setup.region);
    if args.dry_run {
        report.dry_run = Some(dry_run(&ecs, definition).await?);
        return ctx.emit(&report, style);
    }
    let plan = setup.plan(definition, &image, setup.actor().await, Some(&args));
    let emit = printer(ctx, style);
    let ending = machine::deploy(&ecs, &setup.metrics(), &plan, &emit).await?;
    report.runbook = runbook(&ending);
    report.ending = Some(ending);
    ctx.emit(&report, style)
}

/// What a deploy would register, against what runs.
async fn dry_run(ecs: &Ecs, definition: TaskDefinition) -> anyhow::Result<DryRun> {
    let state = ecs.service().await?;
    let live = state.primary().map(|p| p.revision.clone());
    let rendered = serde_json::to_string_pretty(&definition)?;
    let current = match &live {
        Some(revision) => ecs.live_definition(revision).await?,
        None => None,
    };
    let diff = match &current {
        Some(current) => {
            let before = serde_json::to_string_pretty(current)?;
            similar::TextDiff::from_lines(&before, &rendered)
                .unified_diff()
                .context_radius(2)
                .header("running", "new")
                .to_string()
        }
        None => String::new(),
    };
    Ok(DryRun {
        task_definition: definition,
        live: live.map(|l| short_revision(&l).to_string()),
        diff,
    })
}

pub async fn rollback(args: RollbackArgs, ctx: &Ctx) -> anyhow::Result<Outcome> {
    let style = stream_style(args.target.format);
    let setup = setup(&args.target).await?;
    let ecs = setup.ecs();
    let actor = setup.actor().await;
    let plan = setup.plan(
        setup.config.task_definition("", &setup.region),
        "",
        actor,
        None,
    );
    let emit = printer(ctx, style);
    let ending = machine::rollback(&ecs, &setup.metrics(), &plan, args.to, &emit).await?;
    let report = DeployReport {
        event: "result",
        environment: setup.config.environment.clone(),
        cluster: setup.config.cluster.clone(),
        service: setup.config.service.clone(),
        image: None,
        preflight: Vec::new(),
        dry_run: None,
        runbook: match &ending {
            Ending::Deployed { .. } => None,
            _ => Some("runbooks/rollback.md#the-rollback-failed"),
        },
        ending: Some(ending),
    };
    ctx.emit(&report, style)
}

#[cfg(test)]
mod tests;
