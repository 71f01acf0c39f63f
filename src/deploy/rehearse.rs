//! `vivr deploy rehearse`: the deploy state machine and its triggers, unchanged, on a local Docker engine. The
//! current image (if named) runs first; the candidate starts next to it, read-only with a throwaway database on
//! a tmpfs, as `vivr build --smoke` runs an image; once the candidate's own health check passes, the current one
//! is stopped with SIGTERM and must drain (exit 0), and a bounded smoke load (pages, cart, API) runs against the
//! candidate while the triggers read its `/metrics`. A candidate that exits, never turns healthy or breaches a
//! trigger fails the rehearsal with that reason; "rolling back" stops it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use bollard::models::HealthStatusEnum;
use futures_util::StreamExt;
use serde::Serialize;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::platform::{
    Deployment, DeploymentStatus, KnownGood, OneOff, Platform, PlatformError, Rollout,
    ServiceState, StoppedTask,
};
use super::task::TaskDefinition;
use super::triggers::{Datapoint, MetricSource, NoData, Trigger};
use crate::image::engine::Engine;
use crate::image::smoke;

/// A running container and where its port 3000 answers.
#[derive(Debug, Clone)]
struct Running {
    id: String,
    base: String,
}

#[derive(Default)]
struct State {
    current: Option<Running>,
    candidate: Option<Running>,
    /// How the current container stopped on SIGTERM: (exit 0, what happened).
    drained: Option<(bool, String)>,
    /// The candidate's last log lines, kept when it failed.
    logs: Option<String>,
    /// The candidate was started: any later update is the rollback (the current image may be the same one).
    started: bool,
    load: Option<tokio::task::JoinHandle<()>>,
}

/// What the smoke load did.
#[derive(Debug, Default, Serialize)]
pub struct LoadStats {
    pub requests: usize,
    pub failures: usize,
}

pub struct Rehearsal {
    engine: Engine,
    candidate_image: String,
    current_image: Option<String>,
    /// Requests the smoke load may send, and over how long.
    budget: usize,
    spread: Duration,
    state: Mutex<State>,
    stop_load: Arc<AtomicBool>,
    sent: Arc<AtomicUsize>,
    failed: Arc<AtomicUsize>,
    scrapes: Mutex<Vec<Scrape>>,
}

/// The triggers of a rehearsal: the deploy's error rate and p99 latency, on one-second datapoints over three
/// seconds, each resting on at least five requests.
pub fn triggers() -> Vec<Trigger> {
    ["error_rate", "p99_latency"]
        .into_iter()
        .map(|name| Trigger {
            name: name.into(),
            threshold: if name == "error_rate" { 0.05 } else { 5.0 },
            window: Duration::from_secs(3),
            period: Duration::from_secs(1),
            min_samples: 5,
            warmup: Duration::ZERO,
            no_data: NoData::Inconclusive,
        })
        .collect()
}

impl Rehearsal {
    /// Starts `current` (if any) and waits until it is healthy: a rehearsal starts from a settled service.
    pub async fn begin(
        engine: Engine,
        candidate: &str,
        current: Option<&str>,
        (budget, spread): (usize, Duration),
        healthy_within: Duration,
    ) -> anyhow::Result<Rehearsal> {
        let rehearsal = Rehearsal {
            engine,
            candidate_image: candidate.to_string(),
            current_image: current.map(String::from),
            budget,
            spread,
            state: Mutex::new(State::default()),
            stop_load: Arc::new(AtomicBool::new(false)),
            sent: Arc::new(AtomicUsize::new(0)),
            failed: Arc::new(AtomicUsize::new(0)),
            scrapes: Mutex::new(Vec::new()),
        };
        if let Some(image) = current {
            let running = rehearsal.run(image).await?;
            rehearsal.state.lock().await.current = Some(running.clone());
            let started = Instant::now();
            loop {
                match rehearsal.health(&running.id).await? {
                    (true, Some(HealthStatusEnum::HEALTHY)) => break,
                    (true, _) if started.elapsed() < healthy_within => {
                        tokio::time::sleep(Duration::from_millis(250)).await;
                    }
                    _ => anyhow::bail!(
                        "the current image {image} does not turn healthy on its own: rehearse against another \
                         one (--current)"
                    ),
                }
            }
        }
        Ok(rehearsal)
    }

    async fn run(&self, image: &str) -> anyhow::Result<Running> {
        let id = smoke::create(&self.engine, image).await?;
        match smoke::start(&self.engine, &id).await {
            Ok(base) => Ok(Running { id, base }),
            // Started, and already gone (its port never published): the rollout sees it exited, and why.
            Err(_) if matches!(self.health(&id).await, Ok((false, _))) => Ok(Running {
                id,
                base: String::new(),
            }),
            Err(err) => {
                smoke::remove(&self.engine, &id).await;
                Err(err)
            }
        }
    }

    /// (running, health) of a container.
    async fn health(&self, id: &str) -> anyhow::Result<(bool, Option<HealthStatusEnum>)> {
        let state = self
            .engine
            .docker()
            .inspect_container(id, None)
            .await?
            .state
            .unwrap_or_default();
        Ok((
            state.running.unwrap_or(false),
            state.health.and_then(|h| h.status),
        ))
    }

    /// Removes every container the rehearsal started; returns what it learnt.
    pub async fn finish(&self) -> Outcome {
        self.stop_load.store(true, Ordering::SeqCst);
        let mut state = self.state.lock().await;
        if let Some(load) = state.load.take() {
            let _ = load.await;
        }
        for running in [state.candidate.take(), state.current.take()]
            .into_iter()
            .flatten()
        {
            smoke::remove(&self.engine, &running.id).await;
        }
        Outcome {
            drained: state.drained.take(),
            load: LoadStats {
                requests: self.sent.load(Ordering::SeqCst),
                failures: self.failed.load(Ordering::SeqCst),
            },
            logs: state.logs.take(),
        }
    }

    /// The smoke load: the pages, the cart and the API, the budget spread evenly over the rehearsal (at most
    /// eight requests in flight), until it is spent or the rehearsal ends.
    fn start_load(&self, base: String) -> tokio::task::JoinHandle<()> {
        let stop = self.stop_load.clone();
        let sent = self.sent.clone();
        let failed = self.failed.clone();
        let budget = self.budget;
        let every = self
            .spread
            .checked_div(u32::try_from(budget.max(1)).unwrap_or(u32::MAX))
            .unwrap_or_default()
            .max(Duration::from_micros(100));
        tokio::spawn(async move {
            let mut paths: Vec<String> = [
                "/",
                "/produits",
                "/panier",
                "/api/v1/products",
                "/api/health",
            ]
            .into_iter()
            .map(String::from)
            .collect();
            if let Ok((path, _)) = smoke::product_page(&base).await {
                paths.push(path);
            }
            let urls: Vec<String> = paths.iter().map(|p| format!("{base}{p}")).collect();
            futures_util::stream::iter(urls.iter().cycle().take(budget))
                .zip(ticks(every))
                .take_while(|_| std::future::ready(!stop.load(Ordering::SeqCst)))
                .for_each_concurrent(8, |(url, ())| {
                    let sent = sent.clone();
                    let failed = failed.clone();
                    async move {
                        sent.fetch_add(1, Ordering::SeqCst);
                        if !matches!(smoke::get(url).await, Ok((status, _)) if status < 500) {
                            failed.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                })
                .await;
        })
    }
}

/// A tick every `every`, as a stream (the first at once).
fn ticks(every: Duration) -> impl futures_util::Stream<Item = ()> {
    futures_util::stream::unfold(tokio::time::interval(every), |mut interval| async move {
        interval.tick().await;
        Some(((), interval))
    })
}

/// What a rehearsal learnt besides the state machine's ending.
#[derive(Debug, Default, Serialize)]
pub struct Outcome {
    /// How the current container stopped on SIGTERM: (exit 0, what happened).
    pub drained: Option<(bool, String)>,
    pub load: LoadStats,
    /// The candidate's last log lines, when it failed.
    pub logs: Option<String>,
}

fn deployment(
    id: &str,
    status: DeploymentStatus,
    image: &str,
    running: bool,
    rollout: Rollout,
) -> Deployment {
    Deployment {
        id: short(id).to_string(),
        status,
        revision: image.to_string(),
        desired: 1,
        running: i32::from(running),
        pending: i32::from(!running),
        failed: 0,
        rollout,
        reason: None,
    }
}

/// A container id as `docker ps` shows it.
fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

fn engine_error(err: impl std::fmt::Display) -> PlatformError {
    PlatformError::Unreachable(format!("the Docker engine: {err}"))
}

impl Platform for Rehearsal {
    async fn service(&self) -> Result<ServiceState, PlatformError> {
        let mut state = self.state.lock().await;
        let mut deployments = Vec::new();
        if let Some(candidate) = state.candidate.clone() {
            let (running, health) = self.health(&candidate.id).await.map_err(engine_error)?;
            let mut ours = deployment(
                &candidate.id,
                DeploymentStatus::Primary,
                &self.candidate_image,
                running,
                Rollout::InProgress,
            );
            if !running {
                let code = self
                    .engine
                    .docker()
                    .inspect_container(&candidate.id, None)
                    .await
                    .ok()
                    .and_then(|c| c.state)
                    .and_then(|s| s.exit_code)
                    .unwrap_or(-1);
                ours.rollout = Rollout::Failed;
                ours.reason = Some(format!(
                    "the container exited with code {code} before it was healthy"
                ));
            } else if health == Some(HealthStatusEnum::UNHEALTHY) {
                ours.rollout = Rollout::Failed;
                ours.reason = Some("its own health check reports it unhealthy".into());
            } else if health == Some(HealthStatusEnum::HEALTHY) {
                ours.rollout = Rollout::Completed;
                // Healthy: the old one goes (and must drain), the load starts.
                if let Some(current) = state.current.take() {
                    let drained =
                        smoke::terminate(&self.engine, &current.id, Duration::from_secs(40))
                            .await
                            .map_err(engine_error)?;
                    smoke::remove(&self.engine, &current.id).await;
                    state.drained = Some(drained);
                }
                if state.load.is_none() {
                    state.load = Some(self.start_load(candidate.base.clone()));
                }
            }
            if ours.rollout == Rollout::Failed && state.logs.is_none() {
                state.logs = Some(smoke::last_logs(&self.engine, &candidate.id).await);
            }
            deployments.push(ours);
        }
        if let (Some(current), Some(image)) = (&state.current, &self.current_image) {
            let status = if state.candidate.is_some() {
                DeploymentStatus::Active
            } else {
                DeploymentStatus::Primary
            };
            deployments.push(deployment(
                &current.id,
                status,
                image,
                true,
                Rollout::Completed,
            ));
        }
        Ok(ServiceState {
            deployments,
            events: Vec::new(),
            known_good: None,
        })
    }

    /// Nothing to register: the revision is the candidate image.
    async fn register(&self, _definition: &TaskDefinition) -> Result<String, PlatformError> {
        Ok(self.candidate_image.clone())
    }

    async fn update(&self, revision: &str) -> Result<String, PlatformError> {
        if !self.state.lock().await.started {
            let running = self
                .run(revision)
                .await
                .map_err(|e| PlatformError::Refused(format!("{e:#}")))?;
            let id = short(&running.id).to_string();
            let mut state = self.state.lock().await;
            state.candidate = Some(running);
            state.started = true;
            return Ok(id);
        }
        // Back to the current image: the candidate goes; the current one never stopped unless the candidate was
        // healthy, in which case it is gone and the rollback cannot be confirmed.
        self.stop_load.store(true, Ordering::SeqCst);
        let mut state = self.state.lock().await;
        if let Some(candidate) = state.candidate.take() {
            if state.logs.is_none() {
                state.logs = Some(smoke::last_logs(&self.engine, &candidate.id).await);
            }
            smoke::remove(&self.engine, &candidate.id).await;
        }
        state
            .current
            .as_ref()
            .map(|c| short(&c.id).to_string())
            .ok_or_else(|| PlatformError::Refused("the current container is gone".into()))
    }

    async fn stopped_tasks(&self, _revision: &str) -> Result<Vec<StoppedTask>, PlatformError> {
        // An exited candidate shows as a FAILED rollout, with its exit code.
        Ok(Vec::new())
    }

    async fn record_known_good(&self, _good: &KnownGood) -> Result<bool, PlatformError> {
        Ok(false)
    }

    async fn run_once(
        &self,
        revision: &str,
        command: &[String],
        timeout: Duration,
    ) -> Result<OneOff, PlatformError> {
        let id = smoke::create_with(&self.engine, revision, Some(command))
            .await
            .map_err(engine_error)?;
        let ran = async {
            self.engine
                .docker()
                .start_container(&id, None)
                .await
                .map_err(engine_error)?;
            let deadline = Instant::now() + timeout;
            loop {
                let state = self
                    .engine
                    .docker()
                    .inspect_container(&id, None)
                    .await
                    .map_err(engine_error)?
                    .state
                    .unwrap_or_default();
                if !state.running.unwrap_or(false) {
                    return Ok(OneOff {
                        exit_code: state.exit_code.and_then(|c| i32::try_from(c).ok()),
                        reason: "exited".into(),
                    });
                }
                if Instant::now() >= deadline {
                    return Ok(OneOff {
                        exit_code: None,
                        reason: format!("did not finish within {} s", timeout.as_secs()),
                    });
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
        .await;
        smoke::remove(&self.engine, &id).await;
        ran
    }

    async fn prune(
        &self,
        _family: &str,
        _keep: usize,
        _protect: &[String],
    ) -> Result<Vec<String>, PlatformError> {
        Ok(Vec::new())
    }
}

/// One read of the candidate's request counters.
#[derive(Debug, Clone, Default)]
struct Scrape {
    at: Option<Instant>,
    requests: f64,
    errors: f64,
    /// (upper bound, cumulative count) of the latency histogram, summed over routes.
    buckets: Vec<(f64, f64)>,
}

/// The counters vivr exposes on `/metrics`: `vivr_http_requests_total{…,status="…"}` and the buckets of
/// `vivr_http_request_duration_seconds`, summed over routes and methods. Other lines are ignored.
fn parse(text: &str) -> Scrape {
    let mut scrape = Scrape::default();
    let mut buckets: Vec<(f64, f64)> = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(value) = value.trim().parse::<f64>() else {
            continue;
        };
        let (name, labels) = series.split_once('{').unwrap_or((series, ""));
        let label = |key: &str| {
            labels
                .split(',')
                .filter_map(|pair| pair.split_once('='))
                .find(|(k, _)| k.trim() == key)
                .map(|(_, v)| v.trim().trim_end_matches('}').trim_matches('"').to_string())
        };
        match name {
            "vivr_http_requests_total" => {
                scrape.requests += value;
                if label("status").is_some_and(|s| s.starts_with('5')) {
                    scrape.errors += value;
                }
            }
            "vivr_http_request_duration_seconds_bucket" => {
                let bound = match label("le").as_deref() {
                    Some("+Inf") => f64::INFINITY,
                    Some(le) => le.parse().unwrap_or(f64::INFINITY),
                    None => continue,
                };
                match buckets.iter_mut().find(|(b, _)| *b == bound) {
                    Some((_, count)) => *count += value,
                    None => buckets.push((bound, value)),
                }
            }
            _ => {}
        }
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    scrape.buckets = buckets;
    scrape
}

/// The datapoint between two reads: the share of 5xx (or the p99 bound) over the requests in between.
fn between(before: &Scrape, after: &Scrape, trigger: &str) -> Datapoint {
    let requests = (after.requests - before.requests).max(0.0);
    let value = match trigger {
        "error_rate" if requests > 0.0 => (after.errors - before.errors).max(0.0) / requests,
        "p99_latency" => {
            let count = |s: &Scrape, bound: f64| {
                s.buckets
                    .iter()
                    .find(|(b, _)| *b == bound)
                    .map_or(0.0, |(_, c)| *c)
            };
            let total = after
                .buckets
                .last()
                .map_or(0.0, |(b, c)| c - count(before, *b));
            after
                .buckets
                .iter()
                .find(|(bound, c)| total > 0.0 && c - count(before, *bound) >= 0.99 * total)
                .map_or(f64::NAN, |(bound, _)| *bound)
        }
        _ => f64::NAN,
    };
    Datapoint {
        value,
        samples: requests as u64,
    }
}

impl MetricSource for Rehearsal {
    async fn datapoints(&self, trigger: &Trigger) -> Result<Vec<Datapoint>, String> {
        let base = self
            .state
            .lock()
            .await
            .candidate
            .as_ref()
            .map(|c| c.base.clone());
        let Some(base) = base else {
            return Ok(Vec::new());
        };
        let mut scrapes = self.scrapes.lock().await;
        // One read per period, shared by the triggers.
        if scrapes
            .last()
            .and_then(|s| s.at)
            .is_none_or(|at| at.elapsed() >= trigger.period / 2)
        {
            let (status, text) = smoke::get(&format!("{base}/metrics"))
                .await
                .map_err(|e| format!("{e:#}"))?;
            if status != 200 {
                return Err(format!("GET /metrics → {status}"));
            }
            scrapes.push(Scrape {
                at: Some(Instant::now()),
                ..parse(&text)
            });
        }
        let points: Vec<Datapoint> = scrapes
            .windows(2)
            .filter_map(|pair| match pair {
                [before, after] => Some(between(before, after, &trigger.name)),
                _ => None,
            })
            .collect();
        let keep = trigger.needed();
        let skip = points.len().saturating_sub(keep);
        Ok(points.into_iter().skip(skip).collect())
    }
}

#[cfg(test)]
mod tests;
