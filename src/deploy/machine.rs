//! The deploy state machine, written once for every platform: preflight, register, update, a bounded wait that
//! decides itself whether the deploy won (our deployment PRIMARY, COMPLETED, running our revision — a rollback
//! done by ECS is a failure), a bake under the triggers, then the last known good recorded; on any failure, a
//! rollback to the last known good, waited for and verified the same way. Every step is told as an [`Event`].
//!
//! Time is tokio's: tests run the timelines on a paused clock.

use std::time::Duration;

use serde::Serialize;

use super::platform::{
    Deployment, KnownGood, OneOff, Platform, PlatformError, ServiceState, StoppedTask,
};
use super::task::TaskDefinition;
use super::triggers::{MetricSource, Reading, Trigger, Verdict};

mod watch;

use watch::Watch;

/// What to deploy and how to judge it.
#[derive(Debug, Clone)]
pub struct Plan {
    pub definition: TaskDefinition,
    /// The image reference the revision runs (`repo@sha256:…`), recorded with the last known good.
    pub image: String,
    /// Who deploys (recorded with the last known good).
    pub actor: String,
    /// How long the rollout may take before it is rolled back (and the same again for the rollback).
    pub timeout: Duration,
    /// How long the triggers keep watching after ECS says COMPLETED.
    pub bake: Duration,
    /// Time between two looks at the service.
    pub poll: Duration,
    /// A deployment with no running task this long after it started is a crash loop.
    pub grace: Duration,
    /// This many stopped tasks of the new revision is a crash loop.
    pub crash_stops: usize,
    pub triggers: Vec<Trigger>,
    /// Consecutive failures to read the service (or a trigger's source) tolerated before giving up on it.
    pub error_limit: u32,
    /// Revisions of the family kept after a successful deploy, besides the ones a rollback may need.
    pub keep: usize,
    /// The vivr command run once with the new revision before the service is updated: `migrate status` (the
    /// database must be at the image's migration head) or `migrate deploy` (`--run-migrations`); none to skip.
    pub migrations: Option<Vec<String>>,
}

/// Why a deploy failed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Failure {
    /// ECS replaced our deployment (circuit breaker or alarm rollback).
    RolledBackByEcs { primary: Option<String> },
    /// ECS marked our rollout FAILED.
    RolloutFailed { reason: String },
    /// Tasks of the new revision keep stopping, or none runs after the grace period.
    CrashLoop { detail: String },
    /// A trigger breached.
    Trigger { reading: Reading },
    /// The service could not be read any more.
    LostContact { error: String },
    /// The rollout did not complete in time.
    TimedOut { after_secs: u64 },
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::RolledBackByEcs { primary } => write!(
                f,
                "ECS rolled the deployment back (circuit breaker or alarm); PRIMARY now runs {}",
                primary.as_deref().unwrap_or("nothing")
            ),
            Failure::RolloutFailed { reason } => {
                write!(f, "ECS marked the rollout FAILED: {reason}")
            }
            Failure::CrashLoop { detail } => write!(f, "crash loop: {detail}"),
            Failure::Trigger { reading } => write!(
                f,
                "trigger {} breached: {} above {} for its whole window",
                reading.trigger,
                reading
                    .value
                    .map_or_else(|| "no data".to_string(), |v| format!("{v:.4}")),
                reading.threshold
            ),
            Failure::LostContact { error } => write!(f, "the service could not be read: {error}"),
            Failure::TimedOut { after_secs } => {
                write!(f, "the rollout did not complete within {after_secs} s")
            }
        }
    }
}

/// What happened, in order: the progress stream on stderr, or the JSON event stream.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Preflight {
        primary: Option<String>,
        known_good: Option<KnownGood>,
    },
    Registered {
        revision: String,
    },
    OneOffStarted {
        command: Vec<String>,
    },
    OneOffEnded {
        command: Vec<String>,
        ending: OneOff,
    },
    Updated {
        deployment: String,
        revision: String,
    },
    Deployments {
        deployments: Vec<Deployment>,
    },
    ServiceEvent {
        message: String,
    },
    TaskStopped {
        task: StoppedTask,
    },
    Trigger {
        reading: Reading,
    },
    Completed {
        deployment: String,
    },
    Failed {
        failure: Failure,
    },
    RollingBack {
        to: String,
    },
    RolledBack {
        to: String,
    },
    Recorded {
        known_good: KnownGood,
    },
    Pruned {
        revisions: Vec<String>,
    },
    Warning {
        message: String,
    },
}

fn preflight_text(primary: Option<&str>, known_good: Option<&KnownGood>) -> String {
    format!(
        "the service runs {}; last known good: {}",
        primary.map_or("nothing", short_revision),
        known_good.map_or_else(
            || "none recorded".to_string(),
            |g| format!(
                "{} ({}, {} by {})",
                short_revision(&g.revision),
                g.image,
                g.at,
                g.by
            )
        )
    )
}

fn reading_text(reading: &Reading) -> String {
    let verdict = match &reading.verdict {
        Verdict::WarmingUp => "warming up".to_string(),
        Verdict::Healthy => "healthy".to_string(),
        Verdict::Breached => "BREACHED".to_string(),
        Verdict::Inconclusive { why } => format!("inconclusive: {why}"),
    };
    format!(
        "trigger {}: {} (threshold {}): {verdict}",
        reading.trigger,
        reading
            .value
            .map_or_else(|| "no value".to_string(), |v| format!("{v:.4}")),
        reading.threshold
    )
}

impl Event {
    /// One line for people.
    pub fn text(&self) -> String {
        match self {
            Event::Preflight {
                primary,
                known_good,
            } => preflight_text(primary.as_deref(), known_good.as_ref()),
            Event::Registered { revision } => format!("registered {}", short_revision(revision)),
            Event::OneOffStarted { command } => {
                format!(
                    "one-off task with the new revision: vivr {}",
                    command.join(" ")
                )
            }
            Event::OneOffEnded { command, ending } => format!(
                "vivr {} ended: {} ({})",
                command.join(" "),
                ending
                    .exit_code
                    .map_or_else(|| "no exit code".to_string(), |c| format!("exit {c}")),
                ending.reason
            ),
            Event::Updated {
                deployment,
                revision,
            } => format!(
                "service updated: deployment {deployment} of {}",
                short_revision(revision)
            ),
            Event::Deployments { deployments } => describe(deployments),
            Event::ServiceEvent { message } => format!("ECS: {message}"),
            Event::TaskStopped { task } => match task.exit_code {
                Some(code) => format!("task {} stopped: {} (exit {code})", task.id, task.reason),
                None => format!("task {} stopped: {}", task.id, task.reason),
            },
            Event::Trigger { reading } => reading_text(reading),
            Event::Completed { deployment } => {
                format!("deployment {deployment} COMPLETED; baking under the triggers")
            }
            Event::Failed { failure } => format!("FAILED: {failure}"),
            Event::RollingBack { to } => format!("rolling back to {}", short_revision(to)),
            Event::RolledBack { to } => {
                format!("rolled back: the service runs {} again", short_revision(to))
            }
            Event::Recorded { known_good } => format!(
                "recorded {} as the last known good",
                short_revision(&known_good.revision)
            ),
            Event::Pruned { revisions } => format!(
                "retired {} old revision(s): {}",
                revisions.len(),
                revisions
                    .iter()
                    .map(|r| short_revision(r))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Event::Warning { message } => format!("warning: {message}"),
        }
    }
}

/// How a deploy or rollback ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Ending {
    /// Verified and baked; `inconclusive` lists the triggers that could not judge it.
    Deployed {
        revision: String,
        inconclusive: Vec<Reading>,
    },
    /// Failed, and the service runs the last known good again (exit 1; 5 when the failure was the timeout).
    RolledBack { failure: Failure, to: String },
    /// Failed, and the rollback failed or could not be confirmed (exit 4).
    RollbackFailed { failure: Failure, rollback: String },
    /// Nothing was changed: preflight refused (exit 2).
    Refused { reason: String },
}

/// Deploys `plan` on `platform`, judging it with `metrics`; `emit` hears every step. An error is returned only
/// when the platform cannot be reached or refuses before anything changed (exit 3 or 2).
pub async fn deploy<P: Platform, M: MetricSource>(
    platform: &P,
    metrics: &M,
    plan: &Plan,
    emit: &(dyn Fn(Event) + Sync),
) -> Result<Ending, PlatformError> {
    let before = preflight(platform, emit).await?;
    if !before.settled() {
        return Ok(Ending::Refused {
            reason: format!(
                "another deployment is in progress ({}); wait for it to finish, or roll it back with `vivr \
                 rollback`",
                describe(&before.deployments)
            ),
        });
    }
    // The last known good, else what the service ran, settled, before this deploy.
    let fallback = before
        .known_good
        .as_ref()
        .map(|g| g.revision.clone())
        .or_else(|| before.primary().map(|d| d.revision.clone()));
    // What a later rollback may want: never retired.
    let mut protect: Vec<String> = before
        .known_good
        .iter()
        .map(|g| g.revision.clone())
        .chain(before.primary().map(|d| d.revision.clone()))
        .collect();

    let revision = platform.register(&plan.definition).await?;
    emit(Event::Registered {
        revision: revision.clone(),
    });
    if let Some(reason) = run_migrations(platform, plan, &revision, emit).await? {
        return Ok(Ending::Refused { reason });
    }
    let deployment = platform.update(&revision).await?;
    emit(Event::Updated {
        deployment: deployment.clone(),
        revision: revision.clone(),
    });

    let mut watch = Watch::new(platform, metrics, plan, emit, before);
    let judged = match watch.rollout(&deployment, &revision).await {
        Ok(()) => watch.bake(&deployment, &revision).await,
        Err(failure) => Err(failure),
    };
    match judged {
        Ok(inconclusive) => {
            protect.push(revision.clone());
            settle(platform, plan, &revision, &protect, emit).await;
            Ok(Ending::Deployed {
                revision,
                inconclusive,
            })
        }
        Err(failure) => {
            emit(Event::Failed {
                failure: failure.clone(),
            });
            Ok(watch.roll_back(failure, fallback, Some(&deployment)).await)
        }
    }
}

/// Runs the plan's migration command as a one-off task of the new revision; `Some(reason)` when it failed.
async fn run_migrations<P: Platform>(
    platform: &P,
    plan: &Plan,
    revision: &str,
    emit: &(dyn Fn(Event) + Sync),
) -> Result<Option<String>, PlatformError> {
    let Some(command) = &plan.migrations else {
        return Ok(None);
    };
    emit(Event::OneOffStarted {
        command: command.clone(),
    });
    let ending = platform.run_once(revision, command, plan.timeout).await?;
    emit(Event::OneOffEnded {
        command: command.clone(),
        ending: ending.clone(),
    });
    Ok((ending.exit_code != Some(0)).then(|| migrations_refusal(command, &ending)))
}

/// After a healthy deploy: records the revision as the last known good and retires old revisions (keeping
/// `protect`). Neither failing undoes the deploy: each becomes a warning.
async fn settle<P: Platform>(
    platform: &P,
    plan: &Plan,
    revision: &str,
    protect: &[String],
    emit: &(dyn Fn(Event) + Sync),
) {
    let good = KnownGood {
        revision: revision.to_string(),
        image: plan.image.clone(),
        at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        by: plan.actor.clone(),
    };
    match platform.record_known_good(&good).await {
        Ok(true) => emit(Event::Recorded { known_good: good }),
        Ok(false) => {}
        Err(err) => emit(Event::Warning {
            message: format!(
                "deployed, but the last known good could not be recorded ({err}): a rollback would \
                 target the previous one"
            ),
        }),
    }
    match platform
        .prune(&plan.definition.family, plan.keep, protect)
        .await
    {
        Ok(revisions) if revisions.is_empty() => {}
        Ok(revisions) => emit(Event::Pruned { revisions }),
        Err(err) => emit(Event::Warning {
            message: format!("old revisions could not be retired: {err}"),
        }),
    }
}

/// Rolls the service back to `to`, or to its last known good: refused when there is none, or when a deployment
/// is in progress and `to` was not named.
pub async fn rollback<P: Platform, M: MetricSource>(
    platform: &P,
    metrics: &M,
    plan: &Plan,
    to: Option<String>,
    emit: &(dyn Fn(Event) + Sync),
) -> Result<Ending, PlatformError> {
    let before = preflight(platform, emit).await?;
    let Some(target) = to.or_else(|| before.known_good.as_ref().map(|g| g.revision.clone())) else {
        return Ok(Ending::Refused {
            reason: "no last known good is recorded on this service (no `vivr deploy` has succeeded on it): \
                     name the revision with --to"
                .into(),
        });
    };
    if before.settled() && before.primary().is_some_and(|p| p.revision == target) {
        return Ok(Ending::Refused {
            reason: format!("the service already runs {target}, settled"),
        });
    }
    let mut watch = Watch::new(platform, metrics, plan, emit, before);
    let manual = Failure::RolloutFailed {
        reason: "rollback asked for".into(),
    };
    Ok(match watch.roll_back(manual, Some(target), None).await {
        // A rollback asked for that lands is the command's success.
        Ending::RolledBack { to, .. } => Ending::Deployed {
            revision: to,
            inconclusive: Vec::new(),
        },
        other => other,
    })
}

/// Why a one-off migration task stops the deploy, by `vivr migrate`'s exit codes.
fn migrations_refusal(command: &[String], ending: &OneOff) -> String {
    let deploying = command.get(1).is_some_and(|c| c == "deploy");
    let why = match ending.exit_code {
        Some(1) if !deploying => "the database has migrations pending that this image expects: deploy with \
                                  --run-migrations (it runs `vivr migrate deploy`, backup first), or run them \
                                  yourself"
            .to_string(),
        Some(3) => "a migration is recorded as failed: resolve it (`vivr migrate resolve`) first".to_string(),
        Some(4) => "the database has drifted from the image's migrations (an edited or unknown migration)".to_string(),
        Some(5) => "the database has no migration history: baseline it (`vivr migrate resolve --applied`)".to_string(),
        Some(6) => "another migrator held the migration lock".to_string(),
        Some(code) => format!("`vivr {}` exited {code}", command.join(" ")),
        None => format!("`vivr {}` did not run: {}", command.join(" "), ending.reason),
    };
    format!(
        "{why} (its task: {}); the service was not changed",
        ending.reason
    )
}

/// The service before anything changes, told.
async fn preflight<P: Platform>(
    platform: &P,
    emit: &(dyn Fn(Event) + Sync),
) -> Result<ServiceState, PlatformError> {
    let before = platform.service().await?;
    emit(Event::Preflight {
        primary: before.primary().map(|d| d.revision.clone()),
        known_good: before.known_good.clone(),
    });
    Ok(before)
}

/// "PRIMARY web:4 IN_PROGRESS 1/2 running, ACTIVE web:3 COMPLETED 2/2 running".
fn describe(deployments: &[Deployment]) -> String {
    deployments
        .iter()
        .map(|d| {
            format!(
                "{} {} {} {}/{} running",
                d.status.as_str(),
                short_revision(&d.revision),
                d.rollout.as_str(),
                d.running,
                d.desired
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `arn:aws:ecs:…:task-definition/vivr:12` → `vivr:12`.
pub fn short_revision(revision: &str) -> &str {
    revision.rsplit('/').next().unwrap_or(revision)
}
