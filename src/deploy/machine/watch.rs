//! Watching a rollout: ECS's own verdict, crash loops, the triggers during the bake, and the timeout.

use std::collections::HashSet;

use tokio::time::Instant;

use crate::deploy::platform::{Deployment, DeploymentStatus, Platform, Rollout, ServiceState};
use crate::deploy::triggers::{MetricSource, Reading, Verdict};

use super::*;

/// The watching half of a deploy: polls, emits what changed, judges.
pub(super) struct Watch<'a, P, M> {
    pub(super) platform: &'a P,
    pub(super) metrics: &'a M,
    pub(super) plan: &'a Plan,
    pub(super) emit: &'a (dyn Fn(Event) + Sync),
    pub(super) started: Instant,
    pub(super) last: ServiceState,
    pub(super) seen_events: HashSet<String>,
    pub(super) seen_stops: HashSet<String>,
    pub(super) source_errors: Vec<u32>,
}

impl<'a, P: Platform, M: MetricSource> Watch<'a, P, M> {
    pub(super) fn new(
        platform: &'a P,
        metrics: &'a M,
        plan: &'a Plan,
        emit: &'a (dyn Fn(Event) + Sync),
        before: ServiceState,
    ) -> Self {
        Watch {
            platform,
            metrics,
            plan,
            emit,
            started: Instant::now(),
            seen_events: before.events.iter().map(|e| e.id.clone()).collect(),
            last: before,
            seen_stops: HashSet::new(),
            source_errors: vec![0; plan.triggers.len()],
        }
    }

    /// Reads the service, tolerating `error_limit` failures in a row; emits new deployments and events.
    pub(super) async fn look(&mut self) -> Result<ServiceState, Failure> {
        let mut errors = 0;
        loop {
            match self.platform.service().await {
                Ok(state) => {
                    if state.deployments != self.last.deployments {
                        (self.emit)(Event::Deployments {
                            deployments: state.deployments.clone(),
                        });
                    }
                    for event in state.events.iter().rev() {
                        if self.seen_events.insert(event.id.clone()) {
                            (self.emit)(Event::ServiceEvent {
                                message: event.message.clone(),
                            });
                        }
                    }
                    self.last = state.clone();
                    return Ok(state);
                }
                Err(err) => {
                    errors += 1;
                    if errors >= self.plan.error_limit {
                        return Err(Failure::LostContact {
                            error: err.to_string(),
                        });
                    }
                    tokio::time::sleep(self.plan.poll).await;
                }
            }
        }
    }

    /// Waits for our deployment to complete, failing as soon as something says it will not.
    pub(super) async fn rollout(
        &mut self,
        deployment: &str,
        revision: &str,
    ) -> Result<(), Failure> {
        let deadline = self.started + self.plan.timeout;
        loop {
            let state = self.look().await?;
            let ours = ours(&state, deployment)?;
            self.crash_loop(revision, ours.running).await?;
            self.judge().await?;
            if ours.rollout == Rollout::Completed
                && ours.revision == revision
                && state.deployments.len() == 1
                && ours.running >= ours.desired
            {
                (self.emit)(Event::Completed {
                    deployment: deployment.to_string(),
                });
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(Failure::TimedOut {
                    after_secs: self.plan.timeout.as_secs(),
                });
            }
            tokio::time::sleep(self.plan.poll).await;
        }
    }

    /// Keeps judging for the bake time after completion; returns the readings left inconclusive.
    pub(super) async fn bake(
        &mut self,
        deployment: &str,
        revision: &str,
    ) -> Result<Vec<Reading>, Failure> {
        let until = Instant::now() + self.plan.bake;
        let mut inconclusive = self.judge().await?;
        while Instant::now() < until {
            tokio::time::sleep(self.plan.poll.min(until - Instant::now())).await;
            let state = self.look().await?;
            ours(&state, deployment)?;
            self.crash_loop(revision, i32::MAX).await?;
            inconclusive = self.judge().await?;
        }
        Ok(inconclusive)
    }

    /// Fails on `crash_stops` stopped tasks of `revision`, or on no running task after the grace period.
    pub(super) async fn crash_loop(&mut self, revision: &str, running: i32) -> Result<(), Failure> {
        let stopped = match self.platform.stopped_tasks(revision).await {
            Ok(stopped) => stopped,
            Err(err) => {
                tracing::debug!("stopped tasks: {err}");
                return Ok(());
            }
        };
        for task in &stopped {
            if self.seen_stops.insert(task.id.clone()) {
                (self.emit)(Event::TaskStopped { task: task.clone() });
            }
        }
        if stopped.len() >= self.plan.crash_stops {
            let reasons: Vec<String> = stopped
                .iter()
                .take(3)
                .map(|t| match t.exit_code {
                    Some(code) => format!("{} (exit {code})", t.reason),
                    None => t.reason.clone(),
                })
                .collect();
            return Err(Failure::CrashLoop {
                detail: format!(
                    "{} task(s) of the new revision stopped: {}",
                    stopped.len(),
                    reasons.join("; ")
                ),
            });
        }
        if running == 0 && self.started.elapsed() >= self.plan.grace {
            return Err(Failure::CrashLoop {
                detail: format!(
                    "no task of the new revision is running {} s after the deploy started",
                    self.plan.grace.as_secs()
                ),
            });
        }
        Ok(())
    }

    /// Reads every trigger; fails on a breach; returns the inconclusive readings.
    pub(super) async fn judge(&mut self) -> Result<Vec<Reading>, Failure> {
        let elapsed = self.started.elapsed();
        let mut inconclusive = Vec::new();
        for (trigger, errors) in self.plan.triggers.iter().zip(self.source_errors.iter_mut()) {
            let reading = match self.metrics.datapoints(trigger).await {
                Ok(points) => {
                    *errors = 0;
                    trigger.evaluate(&points, elapsed)
                }
                Err(err) => {
                    *errors += 1;
                    if *errors < self.plan.error_limit {
                        continue;
                    }
                    trigger.unreadable(&err)
                }
            };
            (self.emit)(Event::Trigger {
                reading: reading.clone(),
            });
            match reading.verdict {
                Verdict::Breached => return Err(Failure::Trigger { reading }),
                Verdict::Inconclusive { .. } => inconclusive.push(reading),
                Verdict::Healthy | Verdict::WarmingUp => {}
            }
        }
        Ok(inconclusive)
    }

    /// After `failure`: back to `target`, waited for and verified. ECS may already be rolling back to it: a
    /// PRIMARY deployment on `target` that is not `ours` (the failed deployment).
    pub(super) async fn roll_back(
        &mut self,
        failure: Failure,
        target: Option<String>,
        ours: Option<&str>,
    ) -> Ending {
        let Some(target) = target else {
            return Ending::RollbackFailed {
                failure,
                rollback: "nothing to roll back to: no last known good is recorded and the service was not \
                           settled before this deploy"
                    .into(),
            };
        };
        (self.emit)(Event::RollingBack { to: target.clone() });
        let ecs_on_it = self.last.primary().is_some_and(|p| {
            p.revision == target && p.rollout != Rollout::Failed && Some(p.id.as_str()) != ours
        });
        let deployment = if ecs_on_it {
            self.last.primary().map(|p| p.id.clone())
        } else {
            match self.platform.update(&target).await {
                Ok(id) => Some(id),
                Err(err) => {
                    return Ending::RollbackFailed {
                        failure,
                        rollback: format!("the service could not be pointed at {target}: {err}"),
                    };
                }
            }
        };
        let deadline = Instant::now() + self.plan.timeout;
        loop {
            let state = match self.look().await {
                Ok(state) => state,
                Err(lost) => {
                    return Ending::RollbackFailed {
                        failure,
                        rollback: format!("not confirmed: {lost}"),
                    };
                }
            };
            let primary = state.primary();
            if let Some(p) = primary
                && p.revision == target
                && state.settled()
            {
                (self.emit)(Event::RolledBack { to: target.clone() });
                return Ending::RolledBack {
                    failure,
                    to: target,
                };
            }
            if let Some(p) = primary
                && p.rollout == Rollout::Failed
                && deployment.as_deref() == Some(p.id.as_str())
            {
                return Ending::RollbackFailed {
                    failure,
                    rollback: format!(
                        "the rollback deployment failed too: {}",
                        p.reason.as_deref().unwrap_or("no reason given")
                    ),
                };
            }
            if Instant::now() >= deadline {
                return Ending::RollbackFailed {
                    failure,
                    rollback: format!(
                        "not confirmed within {} s ({})",
                        self.plan.timeout.as_secs(),
                        describe(&state.deployments)
                    ),
                };
            }
            tokio::time::sleep(self.plan.poll).await;
        }
    }
}

/// Our deployment, still PRIMARY and not failed.
pub(super) fn ours<'s>(
    state: &'s ServiceState,
    deployment: &str,
) -> Result<&'s Deployment, Failure> {
    match state.deployment(deployment) {
        Some(d) if d.status == DeploymentStatus::Primary && d.rollout == Rollout::Failed => {
            Err(Failure::RolloutFailed {
                reason: d.reason.clone().unwrap_or_else(|| "no reason given".into()),
            })
        }
        Some(d) if d.status == DeploymentStatus::Primary => Ok(d),
        _ => Err(Failure::RolledBackByEcs {
            primary: state.primary().map(|p| p.revision.clone()),
        }),
    }
}
