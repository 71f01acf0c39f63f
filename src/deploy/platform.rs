//! What the deploy state machine needs from the platform it deploys to, and nothing more: read the service's
//! deployments, register a revision, point the service at a revision, list the tasks of a revision that
//! stopped, and keep the last known good on the service. ECS implements it over aws-sdk-ecs; the tests drive
//! the state machine through scripted timelines with a fake (moto cannot simulate a rollout).

use std::future::Future;

use serde::Serialize;

use super::task::TaskDefinition;

/// A deployment of the service, as ECS describes it (`services[].deployments[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deployment {
    pub id: String,
    /// PRIMARY (the one the service converges to), ACTIVE (an older one still draining), INACTIVE.
    pub status: DeploymentStatus,
    /// The revision it runs (a task definition ARN).
    pub revision: String,
    pub desired: i32,
    pub running: i32,
    pub pending: i32,
    pub failed: i32,
    pub rollout: Rollout,
    /// Why the rollout is in its state ("ECS deployment circuit breaker: tasks failed to start").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeploymentStatus {
    Primary,
    Active,
    Inactive,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Rollout {
    InProgress,
    Completed,
    Failed,
}

impl DeploymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentStatus::Primary => "PRIMARY",
            DeploymentStatus::Active => "ACTIVE",
            DeploymentStatus::Inactive => "INACTIVE",
        }
    }
}

impl Rollout {
    pub fn as_str(self) -> &'static str {
        match self {
            Rollout::InProgress => "IN_PROGRESS",
            Rollout::Completed => "COMPLETED",
            Rollout::Failed => "FAILED",
        }
    }
}

/// One line of the service's event log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceEvent {
    pub id: String,
    pub message: String,
}

/// The service as one poll sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceState {
    pub deployments: Vec<Deployment>,
    /// Newest first, as ECS lists them.
    pub events: Vec<ServiceEvent>,
    pub known_good: Option<KnownGood>,
}

impl ServiceState {
    pub fn primary(&self) -> Option<&Deployment> {
        self.deployments
            .iter()
            .find(|d| d.status == DeploymentStatus::Primary)
    }

    pub fn deployment(&self, id: &str) -> Option<&Deployment> {
        self.deployments.iter().find(|d| d.id == id)
    }

    /// Settled: one deployment, completed, running what it wants (or nothing running at all).
    pub fn settled(&self) -> bool {
        match self.deployments.as_slice() {
            [] => true,
            [only] => only.rollout == Rollout::Completed && only.running >= only.desired,
            _ => false,
        }
    }
}

/// The last revision a deploy verified and baked, recorded on the service so a rollback never has to guess.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct KnownGood {
    pub revision: String,
    /// The image reference it runs (`repo@sha256:…`).
    pub image: String,
    /// RFC 3339.
    pub at: String,
    /// Who deployed it (the AWS identity or the local user).
    pub by: String,
}

/// A task of a revision that stopped, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoppedTask {
    pub id: String,
    pub reason: String,
    /// The essential container's exit code, when it had one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
}

/// How a one-off task ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OneOff {
    /// The essential container's exit code (none when it never ran).
    pub exit_code: Option<i32>,
    pub reason: String,
}

/// What went wrong talking to the platform: unreachable (exit 3) or refused (the message says why).
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    #[error("{0}")]
    Unreachable(String),
    #[error("{0}")]
    Refused(String),
}

/// The platform a service runs on.
pub trait Platform: Sync {
    /// The service's deployments, recent events and recorded last known good.
    fn service(&self) -> impl Future<Output = Result<ServiceState, PlatformError>> + Send;
    /// Registers a revision; returns its identifier (a task definition ARN).
    fn register(
        &self,
        definition: &TaskDefinition,
    ) -> impl Future<Output = Result<String, PlatformError>> + Send;
    /// Points the service at `revision` (a new deployment); returns the new deployment's id.
    fn update(&self, revision: &str) -> impl Future<Output = Result<String, PlatformError>> + Send;
    /// Tasks of `revision` that stopped since the deploy started.
    fn stopped_tasks(
        &self,
        revision: &str,
    ) -> impl Future<Output = Result<Vec<StoppedTask>, PlatformError>> + Send;
    /// Records `good` on the service; false when this platform keeps none (a rehearsal).
    fn record_known_good(
        &self,
        good: &KnownGood,
    ) -> impl Future<Output = Result<bool, PlatformError>> + Send;
    /// Runs `command` once in a task of `revision` (the service's network), waits up to `timeout` for it to
    /// stop, and says how it ended.
    fn run_once(
        &self,
        revision: &str,
        command: &[String],
        timeout: std::time::Duration,
    ) -> impl Future<Output = Result<OneOff, PlatformError>> + Send;
    /// Retires old revisions of `family`: keeps the `keep` newest and every one in `protect` (the running one,
    /// the last known good, the one before); returns those retired.
    fn prune(
        &self,
        family: &str,
        keep: usize,
        protect: &[String],
    ) -> impl Future<Output = Result<Vec<String>, PlatformError>> + Send;
}
