//! The scripted platform and metrics the timelines run against, and the timelines themselves.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use crate::deploy::machine::{Ending, Event, Plan, deploy};
use crate::deploy::platform::{
    Deployment, DeploymentStatus, KnownGood, OneOff, Platform, PlatformError, Rollout,
    ServiceState, StoppedTask,
};
use crate::deploy::task::TaskDefinition;
use crate::deploy::triggers::{Datapoint, MetricSource, NoData, Trigger};

pub(super) const FAMILY: &str = "arn:aws:ecs:eu-west-3:123456789012:task-definition/vivr";

pub(super) fn rev(n: u32) -> String {
    format!("{FAMILY}:{n}")
}

pub(super) fn dep(
    id: &str,
    status: DeploymentStatus,
    revision: u32,
    running: i32,
    rollout: Rollout,
) -> Deployment {
    Deployment {
        id: id.into(),
        status,
        revision: rev(revision),
        desired: 2,
        running,
        pending: 2 - running.min(2),
        failed: 0,
        rollout,
        reason: (rollout == Rollout::Failed)
            .then(|| "ECS deployment circuit breaker: tasks failed to start.".into()),
    }
}

pub(super) use DeploymentStatus::{Active, Primary};
pub(super) use Rollout::{Completed, Failed, InProgress};

pub(super) fn state(deployments: Vec<Deployment>) -> ServiceState {
    ServiceState {
        deployments,
        events: Vec::new(),
        known_good: None,
    }
}

/// The service settled on `revision`, with `revision` recorded as last known good or not.
pub(super) fn settled(revision: u32, recorded: bool) -> ServiceState {
    ServiceState {
        known_good: recorded.then(|| KnownGood {
            revision: rev(revision),
            image: "vivr@sha256:old".into(),
            at: "2026-11-30T10:00:00Z".into(),
            by: "ops".into(),
        }),
        ..state(vec![dep("ecs-svc/7", Primary, revision, 2, Completed)])
    }
}

pub(super) struct Fake {
    pub(super) now: Mutex<ServiceState>,
    /// One script per UpdateService: the states the following polls see (the last one stays).
    pub(super) scripts: Mutex<VecDeque<Vec<ServiceState>>>,
    pub(super) playing: Mutex<VecDeque<ServiceState>>,
    /// (poll number from which it shows, task).
    pub(super) stops: Vec<(usize, StoppedTask)>,
    pub(super) polls: Mutex<usize>,
    pub(super) update_fails_after: Option<usize>,
    /// The exit code the one-off task ends with.
    pub(super) one_off_exit: Option<i32>,
    pub(super) calls: Mutex<Vec<String>>,
    pub(super) next_revision: Mutex<u32>,
}

impl Fake {
    pub(super) fn new(before: ServiceState, scripts: Vec<Vec<ServiceState>>) -> Fake {
        Fake {
            now: Mutex::new(before),
            scripts: Mutex::new(scripts.into()),
            playing: Mutex::new(VecDeque::new()),
            stops: Vec::new(),
            polls: Mutex::new(0),
            update_fails_after: None,
            one_off_exit: Some(0),
            calls: Mutex::new(Vec::new()),
            next_revision: Mutex::new(8),
        }
    }

    pub(super) fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    pub(super) fn call(&self, call: String) {
        self.calls.lock().unwrap().push(call);
    }
}

impl Platform for Fake {
    async fn service(&self) -> Result<ServiceState, PlatformError> {
        *self.polls.lock().unwrap() += 1;
        let mut playing = self.playing.lock().unwrap();
        let mut now = self.now.lock().unwrap();
        if let Some(next) = playing.pop_front() {
            let known_good = now.known_good.clone();
            *now = ServiceState { known_good, ..next };
        }
        Ok(now.clone())
    }

    async fn register(&self, definition: &TaskDefinition) -> Result<String, PlatformError> {
        let mut next = self.next_revision.lock().unwrap();
        let revision = rev(*next);
        *next += 1;
        self.call(format!("register {}", definition.family));
        Ok(revision)
    }

    async fn update(&self, revision: &str) -> Result<String, PlatformError> {
        let updates = self
            .calls()
            .iter()
            .filter(|c| c.starts_with("update"))
            .count();
        self.call(format!(
            "update {}",
            crate::deploy::machine::short_revision(revision)
        ));
        if self.update_fails_after.is_some_and(|n| updates >= n) {
            return Err(PlatformError::Refused(
                "AccessDeniedException: not authorized to perform ecs:UpdateService".into(),
            ));
        }
        let script = self.scripts.lock().unwrap().pop_front().unwrap_or_default();
        let id = script
            .first()
            .and_then(|s| s.primary())
            .map(|p| p.id.clone())
            .unwrap_or_default();
        *self.playing.lock().unwrap() = script.into();
        Ok(id)
    }

    async fn stopped_tasks(&self, _revision: &str) -> Result<Vec<StoppedTask>, PlatformError> {
        let polls = *self.polls.lock().unwrap();
        Ok(self
            .stops
            .iter()
            .filter(|(from, _)| *from <= polls)
            .map(|(_, task)| task.clone())
            .collect())
    }

    async fn run_once(
        &self,
        revision: &str,
        command: &[String],
        _timeout: Duration,
    ) -> Result<OneOff, PlatformError> {
        self.call(format!(
            "run {} vivr {}",
            crate::deploy::machine::short_revision(revision),
            command.join(" ")
        ));
        Ok(OneOff {
            exit_code: self.one_off_exit,
            reason: "Essential container in task exited".into(),
        })
    }

    async fn prune(
        &self,
        family: &str,
        keep: usize,
        protect: &[String],
    ) -> Result<Vec<String>, PlatformError> {
        let protect: Vec<&str> = protect
            .iter()
            .map(|p| crate::deploy::machine::short_revision(p))
            .collect();
        self.call(format!(
            "prune {family} keep {keep} protect {}",
            protect.join(" ")
        ));
        Ok(Vec::new())
    }

    async fn record_known_good(&self, good: &KnownGood) -> Result<bool, PlatformError> {
        self.call(format!(
            "record {} {}",
            crate::deploy::machine::short_revision(&good.revision),
            good.image
        ));
        self.now.lock().unwrap().known_good = Some(good.clone());
        Ok(true)
    }
}

/// Datapoints per trigger name, one list per read (the last one stays).
#[derive(Default)]
pub(super) struct Metrics(Mutex<Vec<(String, VecDeque<Vec<Datapoint>>)>>);

impl Metrics {
    pub(super) fn with(name: &str, reads: Vec<Vec<(f64, u64)>>) -> Metrics {
        let reads = reads
            .into_iter()
            .map(|r| {
                r.into_iter()
                    .map(|(value, samples)| Datapoint { value, samples })
                    .collect()
            })
            .collect();
        Metrics(Mutex::new(vec![(name.to_string(), reads)]))
    }
}

impl MetricSource for Metrics {
    async fn datapoints(&self, trigger: &Trigger) -> Result<Vec<Datapoint>, String> {
        let mut all = self.0.lock().unwrap();
        let Some((_, reads)) = all.iter_mut().find(|(name, _)| *name == trigger.name) else {
            // Healthy traffic.
            return Ok(vec![
                Datapoint {
                    value: 0.0,
                    samples: 500
                };
                trigger.needed()
            ]);
        };
        let read = if reads.len() > 1 {
            reads.pop_front().unwrap_or_default()
        } else {
            reads.front().cloned().unwrap_or_default()
        };
        Ok(read)
    }
}

pub(super) fn trigger(name: &str, threshold: f64) -> Trigger {
    Trigger {
        name: name.into(),
        threshold,
        window: Duration::from_secs(120),
        period: Duration::from_secs(60),
        min_samples: 20,
        warmup: Duration::ZERO,
        no_data: NoData::Inconclusive,
    }
}

pub(super) fn plan() -> Plan {
    Plan {
        definition: TaskDefinition {
            family: "vivr".into(),
            cpu: "512".into(),
            memory: "1024".into(),
            network_mode: "awsvpc".into(),
            requires_compatibilities: vec!["FARGATE".into()],
            execution_role_arn: "arn:aws:iam::123456789012:role/vivr-execution".into(),
            task_role_arn: None,
            container_definitions: Vec::new(),
        },
        image: "vivr@sha256:new".into(),
        actor: "ci".into(),
        timeout: Duration::from_secs(600),
        bake: Duration::from_secs(60),
        poll: Duration::from_secs(10),
        grace: Duration::from_secs(300),
        crash_stops: 3,
        triggers: vec![
            trigger("error_rate", 0.05),
            trigger("p99_latency", 5.0),
            trigger("unhealthy_targets", 0.5),
        ],
        error_limit: 4,
        keep: 5,
        migrations: None,
    }
}

/// Runs a deploy; returns the ending and the events.
pub(super) async fn run(fake: &Fake, metrics: &Metrics, plan: &Plan) -> (Ending, Vec<Event>) {
    let events = Mutex::new(Vec::new());
    let ending = deploy(fake, metrics, plan, &|e| events.lock().unwrap().push(e))
        .await
        .unwrap();
    (ending, events.into_inner().unwrap())
}

/// Rollout of revision 8 over the settled 7: in progress, half, complete.
pub(super) fn good_rollout() -> Vec<ServiceState> {
    vec![
        state(vec![
            dep("ecs-svc/8", Primary, 8, 0, InProgress),
            dep("ecs-svc/7", Active, 7, 2, Completed),
        ]),
        state(vec![
            dep("ecs-svc/8", Primary, 8, 1, InProgress),
            dep("ecs-svc/7", Active, 7, 1, Completed),
        ]),
        state(vec![dep("ecs-svc/8", Primary, 8, 2, Completed)]),
    ]
}

/// Back on 7 after a rollback deployment `id`.
pub(super) fn back_on_7(id: &str) -> Vec<ServiceState> {
    vec![
        state(vec![
            dep(id, Primary, 7, 1, InProgress),
            dep("ecs-svc/8", Active, 8, 0, Completed),
        ]),
        state(vec![dep(id, Primary, 7, 2, Completed)]),
    ]
}

/// Revision 8 never gets a task running, next to the settled 7.
pub(super) fn crashing() -> Vec<ServiceState> {
    vec![state(vec![
        dep("ecs-svc/8", Primary, 8, 0, InProgress),
        dep("ecs-svc/7", Active, 7, 2, Completed),
    ])]
}

pub(super) fn stopped(id: &str) -> StoppedTask {
    StoppedTask {
        id: id.into(),
        reason: "Essential container in task exited".into(),
        exit_code: Some(101),
    }
}
