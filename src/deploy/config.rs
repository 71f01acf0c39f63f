//! The deploy configuration of one environment, `deploy/<env>.yaml`: the cluster and service, the task
//! definition's template (CPU, memory, port, roles, the environment from `vivr.env.yaml`, secrets as Secrets
//! Manager ARNs — never values), the desired count, the safety nets and the rollback triggers. Read and checked
//! before any AWS call; every problem names the field and its line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use vivr_shop::config::Environment;

use super::triggers::{NoData, Trigger};

mod defaults;
use crate::config::schema::Schema;
pub use defaults::DEFAULT_TRIGGERS;

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DeployConfig {
    /// `development`, `staging` or `production`: the environment the task runs as (its VIVR_ENV).
    pub environment: String,
    pub region: Option<String>,
    pub cluster: String,
    pub service: String,
    pub task: TaskTemplate,
    #[serde(default = "defaults::desired")]
    pub desired_count: i32,
    /// Seconds the load balancer's health checks are ignored after a task starts.
    #[serde(default = "defaults::grace")]
    pub health_check_grace_secs: u64,
    /// ECS's deployment circuit breaker, with rollback (on unless turned off).
    #[serde(default = "defaults::yes")]
    pub circuit_breaker: bool,
    /// CloudWatch alarms ECS watches during the deployment (and rolls back on).
    #[serde(default)]
    pub alarms: Vec<String>,
    /// How long the rollout may take before it is rolled back.
    #[serde(default = "defaults::timeout")]
    pub timeout_secs: u64,
    /// How long the triggers keep watching after ECS says COMPLETED.
    #[serde(default = "defaults::bake")]
    pub bake_secs: u64,
    #[serde(default = "defaults::poll")]
    pub poll_secs: u64,
    #[serde(default)]
    pub crash_loop: CrashLoop,
    /// Where trigger datapoints come from; without it, only crash loops and ECS's own checks judge a deploy.
    pub metrics: Option<Metrics>,
    /// The rollback triggers: error rate > 5 % and p99 > 5 s for 2 minutes, unhealthy targets > 50 % for 1
    /// minute. An entry named after one changes it.
    #[serde(default)]
    pub triggers: Vec<TriggerConfig>,
    /// Task definition revisions kept (besides the running one and the last known good).
    #[serde(default = "defaults::keep")]
    pub keep: u32,
    /// Before the update, a one-off task with the new revision runs `vivr migrate status`: a database not at
    /// the image's migration head stops the deploy (`--run-migrations` runs `vivr migrate deploy` instead).
    #[serde(default = "defaults::yes")]
    pub check_migrations: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TaskTemplate {
    pub family: String,
    /// CPU units (256 = ¼ vCPU) and MiB, at task level.
    pub cpu: u32,
    pub memory: u32,
    #[serde(default = "defaults::port")]
    pub port: u16,
    #[serde(default)]
    pub launch_type: LaunchType,
    /// `awsvpc` (the default; Fargate's only mode) or `bridge` (EC2).
    #[serde(default)]
    pub network_mode: NetworkMode,
    pub execution_role_arn: String,
    pub task_role_arn: Option<String>,
    /// CloudWatch Logs group for the container's output (awslogs).
    pub log_group: Option<String>,
    /// Plain variables of `vivr.env.yaml` (no secret among them).
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// Secret variables, each the ARN of a Secrets Manager secret (optionally `:json-key::`) or an SSM
    /// parameter: ECS injects the value, the configuration never holds it.
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum LaunchType {
    #[default]
    Fargate,
    Ec2,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum NetworkMode {
    #[default]
    Awsvpc,
    Bridge,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CrashLoop {
    /// This many stopped tasks of the new revision roll the deploy back.
    #[serde(default = "defaults::stops")]
    pub stopped_tasks: usize,
    /// No task of the new revision running this long after the deploy started rolls it back.
    #[serde(default = "defaults::crash_grace")]
    pub grace_secs: u64,
}

impl Default for CrashLoop {
    fn default() -> Self {
        CrashLoop {
            stopped_tasks: defaults::stops(),
            grace_secs: defaults::crash_grace(),
        }
    }
}

/// Where trigger datapoints come from: one of the two.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Metrics {
    /// The service's Application Load Balancer target group in CloudWatch (`AWS/ApplicationELB`).
    pub cloudwatch: Option<CloudwatchSource>,
    /// A Prometheus server scraping the tasks' `/metrics`.
    pub prometheus: Option<PrometheusSource>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PrometheusSource {
    /// The server, `http://host:9090`.
    pub url: String,
    /// Label matchers for the service's series, without braces: `job="vivr"`.
    #[serde(default)]
    pub selector: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CloudwatchSource {
    /// The load balancer's ARN suffix, `app/<name>/<id>`.
    pub load_balancer: String,
    /// The target group's ARN suffix, `targetgroup/<name>/<id>`.
    pub target_group: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TriggerConfig {
    pub name: String,
    pub threshold: Option<f64>,
    pub window_secs: Option<u64>,
    pub period_secs: Option<u64>,
    pub min_samples: Option<u64>,
    pub warmup_secs: Option<u64>,
    pub no_data: Option<NoData>,
}

/// One problem of a configuration file: the field, its line, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub field: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    pub message: String,
}

/// A configuration that cannot be used, with every problem found.
#[derive(Debug, thiserror::Error)]
#[error("{} is not a usable deploy configuration:\n{}", path.display(), list(problems))]
pub struct Invalid {
    pub path: PathBuf,
    pub problems: Vec<Problem>,
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| match p.line {
            Some(line) => format!("  line {line}: {}: {}", p.field, p.message),
            None => format!("  {}: {}", p.field, p.message),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `deploy/<env>.yaml` under `root`.
pub fn path_for(root: &Path, environment: &str) -> PathBuf {
    root.join("deploy").join(format!("{environment}.yaml"))
}

impl DeployConfig {
    /// The AWS SDK configuration for this environment: the file's region (else the standard chain's), and
    /// `endpoint_url` (else `AWS_ENDPOINT_URL`); with the region's name. An error when no region is known.
    pub async fn sdk(
        &self,
        endpoint_url: Option<&str>,
    ) -> anyhow::Result<(aws_config::SdkConfig, String)> {
        let mut loader = crate::aws::loader(endpoint_url);
        if let Some(region) = &self.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        let sdk = loader.load().await;
        let region = sdk.region().map(|r| r.to_string()).ok_or_else(|| {
            anyhow::anyhow!("no AWS region: set region in the deploy file, or AWS_REGION")
        })?;
        Ok((sdk, region))
    }

    /// Reads and checks `path` against `schema`.
    pub fn load(path: &Path, schema: &Schema) -> Result<DeployConfig, Invalid> {
        let invalid = |problems| Invalid {
            path: path.to_path_buf(),
            problems,
        };
        let text = std::fs::read_to_string(path).map_err(|e| {
            invalid(vec![Problem {
                field: "(file)".into(),
                line: None,
                message: format!("cannot be read: {e}"),
            }])
        })?;
        let config = DeployConfig::parse(&text).map_err(|p| invalid(vec![p]))?;
        let problems = config.problems(&text, schema);
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(invalid(problems))
        }
    }

    /// The YAML itself: syntax, types, unknown fields (serde's message carries the line).
    pub fn parse(text: &str) -> Result<DeployConfig, Problem> {
        yaml_serde::from_str(text).map_err(|e| {
            let line = e.location().map(|l| l.line());
            let message = e.to_string();
            // serde names the field in its message ("unknown field `cpus`, expected one of …").
            let field = message
                .split('`')
                .nth(1)
                .filter(|_| message.contains("field"))
                .unwrap_or("(document)")
                .to_string();
            let message = message
                .split(" at line ")
                .next()
                .unwrap_or(&message)
                .to_string();
            Problem {
                field,
                line,
                message,
            }
        })
    }

    /// What the types cannot say: ARNs, names, bounds, the environment against the schema.
    pub fn problems(&self, text: &str, schema: &Schema) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut problem = |path: &[&str], message: String| {
            problems.push(Problem {
                field: path.join("."),
                line: line_of(text, path),
                message,
            });
        };
        self.names_and_sizes(&mut problem);
        self.bounds(&mut problem);
        self.task_variables(schema, &mut problem);
        self.watch(&mut problem);
        problems
    }

    /// The environment, the ECS names, the task's size, roles and network mode.
    fn names_and_sizes(&self, problem: &mut dyn FnMut(&[&str], String)) {
        if Environment::parse(&self.environment).is_none() {
            problem(
                &["environment"],
                format!(
                    "{:?} is not one of development, staging, production",
                    self.environment
                ),
            );
        }
        for (field, value) in [("cluster", &self.cluster), ("service", &self.service)] {
            if !ecs_name(value) {
                problem(
                    &[field],
                    "must be 1 to 255 letters, digits, hyphens or underscores".into(),
                );
            }
        }
        if !ecs_name(&self.task.family) {
            problem(
                &["task", "family"],
                "must be 1 to 255 letters, digits, hyphens or underscores".into(),
            );
        }
        if self.task.launch_type == LaunchType::Fargate
            && !fargate_size(self.task.cpu, self.task.memory)
        {
            problem(
                &["task", "memory"],
                format!(
                    "{} MiB with {} CPU units is not a Fargate size (256: 512–2048; 512: 1024–4096; 1024: \
                     2048–8192; 2048: 4096–16384; 4096: 8192–30720, in steps of 1024)",
                    self.task.memory, self.task.cpu
                ),
            );
        }
        if !self.task.execution_role_arn.starts_with("arn:aws")
            || !self.task.execution_role_arn.contains(":role/")
        {
            problem(
                &["task", "execution_role_arn"],
                "must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)".into(),
            );
        }
        if let Some(role) = &self.task.task_role_arn
            && (!role.starts_with("arn:aws") || !role.contains(":role/"))
        {
            problem(
                &["task", "task_role_arn"],
                "must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)".into(),
            );
        }
        if self.task.launch_type == LaunchType::Fargate
            && self.task.network_mode != NetworkMode::Awsvpc
        {
            problem(
                &["task", "network_mode"],
                "Fargate runs tasks in awsvpc mode only (bridge needs launch_type: EC2)".into(),
            );
        }
    }

    /// Counts and durations.
    fn bounds(&self, problem: &mut dyn FnMut(&[&str], String)) {
        if self.desired_count < 1 {
            problem(&["desired_count"], "must be at least 1".into());
        }
        if self.poll_secs == 0 || self.poll_secs > self.timeout_secs {
            problem(
                &["poll_secs"],
                "must be at least 1 and at most timeout_secs".into(),
            );
        }
        if self.crash_loop.stopped_tasks == 0 {
            problem(
                &["crash_loop", "stopped_tasks"],
                "must be at least 1".into(),
            );
        }
    }

    /// The task's environment and secrets against the schema: known, secrets by reference only, given once.
    fn task_variables(&self, schema: &Schema, problem: &mut dyn FnMut(&[&str], String)) {
        for (name, value) in &self.task.environment {
            let path = ["task", "environment", name.as_str()];
            match schema.variable(name) {
                None => problem(
                    &path,
                    match schema.nearest(name) {
                        Some(near) => format!("is not a variable vivr reads (did you mean {near}?)"),
                        None => "is not a variable vivr reads (see vivr.env.yaml)".into(),
                    },
                ),
                Some(variable) if variable.secret => problem(
                    &path,
                    "is a secret: give it under task.secrets as the ARN of a Secrets Manager secret, never its \
                     value"
                        .into(),
                ),
                Some(_) if name == "VIVR_ENV" && value != &self.environment => problem(
                    &path,
                    format!("says {value:?} but the file is for {:?}", self.environment),
                ),
                Some(_) => {}
            }
        }
        for (name, arn) in &self.task.secrets {
            let path = ["task", "secrets", name.as_str()];
            if schema.variable(name).is_none() {
                problem(
                    &path,
                    "is not a variable vivr reads (see vivr.env.yaml)".into(),
                );
            }
            if !(arn.starts_with("arn:aws:secretsmanager:") || arn.starts_with("arn:aws:ssm:")) {
                problem(
                    &path,
                    "must be the ARN of a Secrets Manager secret or an SSM parameter (arn:aws:secretsmanager:…), \
                     not a value"
                        .into(),
                );
            }
            if self.task.environment.contains_key(name) {
                problem(&path, "is also under task.environment: give it once".into());
            }
        }
    }

    /// The triggers and the metrics source they read.
    fn watch(&self, problem: &mut dyn FnMut(&[&str], String)) {
        for trigger in &self.triggers {
            let path = ["triggers", trigger.name.as_str()];
            if defaults::trigger(&trigger.name).is_none() {
                problem(
                    &path,
                    format!("is not one of {}", DEFAULT_TRIGGERS.join(", ")),
                );
            }
            if trigger.period_secs == Some(0) || trigger.window_secs == Some(0) {
                problem(&path, "window_secs and period_secs must be above 0".into());
            }
        }
        if let Some(metrics) = &self.metrics {
            if metrics.cloudwatch.is_some() == metrics.prometheus.is_some() {
                problem(
                    &["metrics"],
                    "name exactly one source: cloudwatch or prometheus".into(),
                );
            }
            if let Some(cloudwatch) = &metrics.cloudwatch {
                if !cloudwatch.load_balancer.starts_with("app/") {
                    problem(
                        &["metrics", "cloudwatch", "load_balancer"],
                        "must be the load balancer's ARN suffix, app/<name>/<id>".into(),
                    );
                }
                if !cloudwatch.target_group.starts_with("targetgroup/") {
                    problem(
                        &["metrics", "cloudwatch", "target_group"],
                        "must be the target group's ARN suffix, targetgroup/<name>/<id>".into(),
                    );
                }
            }
            if let Some(prometheus) = &metrics.prometheus
                && !prometheus.url.starts_with("http://")
            {
                problem(
                    &["metrics", "prometheus", "url"],
                    "must be an http:// URL of the Prometheus server (https and SigV4 are not supported)"
                        .into(),
                );
            }
        }
        if !self.triggers.is_empty() && self.metrics.is_none() {
            problem(
                &["triggers"],
                "need a metrics source: add metrics.cloudwatch with the load balancer and target group".into(),
            );
        }
    }

    /// The triggers that judge a deploy: the defaults as the configuration's entries change them; none without a
    /// metrics source.
    pub fn triggers(&self) -> Vec<Trigger> {
        if self.metrics.is_none() {
            return Vec::new();
        }
        let mut triggers: Vec<Trigger> = DEFAULT_TRIGGERS
            .iter()
            .filter_map(|n| defaults::trigger(n))
            .collect();
        for entry in &self.triggers {
            // `problems` refuses any other name.
            let Some(index) = triggers.iter().position(|t| t.name == entry.name) else {
                continue;
            };
            let base = triggers.remove(index);
            triggers.push(Trigger {
                name: entry.name.clone(),
                threshold: entry.threshold.unwrap_or(base.threshold),
                window: entry.window_secs.map_or(base.window, Duration::from_secs),
                period: entry.period_secs.map_or(base.period, Duration::from_secs),
                min_samples: entry.min_samples.unwrap_or(base.min_samples),
                warmup: entry.warmup_secs.map_or(base.warmup, Duration::from_secs),
                no_data: entry.no_data.unwrap_or(base.no_data),
            });
        }
        triggers
    }
}

/// ECS names: 1–255 of letters, digits, `-`, `_`.
fn ecs_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Fargate's CPU/memory combinations (Linux).
fn fargate_size(cpu: u32, memory: u32) -> bool {
    match cpu {
        256 => [512, 1024, 2048].contains(&memory),
        512 => (1024..=4096).contains(&memory) && memory.is_multiple_of(1024),
        1024 => (2048..=8192).contains(&memory) && memory.is_multiple_of(1024),
        2048 => (4096..=16384).contains(&memory) && memory.is_multiple_of(1024),
        4096 => (8192..=30720).contains(&memory) && memory.is_multiple_of(1024),
        _ => false,
    }
}

/// The 1-based line of the key at `path` (each key searched below the previous one, deeper indented; a list
/// entry is found by its `name:`); the nearest ancestor's line when the key itself is not written (a default).
pub fn line_of(text: &str, path: &[&str]) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut from = 0;
    let mut indent: Option<usize> = None;
    let mut found = None;
    for key in path {
        let hit = lines
            .iter()
            .enumerate()
            .skip(from)
            .take_while(|(i, l)| {
                // Stop at the end of the parent's block.
                *i == from
                    || indent.is_none_or(|parent| {
                        let depth = l.len() - l.trim_start().len();
                        l.trim().is_empty() || l.trim_start().starts_with('#') || depth > parent
                    })
            })
            .find(|(_, l)| {
                let trimmed = l.trim_start().trim_start_matches("- ");
                trimmed
                    .strip_prefix(key)
                    .is_some_and(|rest| rest.trim_start().starts_with(':'))
                    || trimmed
                        .strip_prefix(&format!("\"{key}\""))
                        .is_some_and(|rest| rest.trim_start().starts_with(':'))
                    // A list entry named by its `name`.
                    || trimmed
                        .strip_prefix("name:")
                        .is_some_and(|rest| rest.trim().trim_matches('"') == *key)
            });
        match hit {
            Some((i, l)) => {
                found = Some(i + 1);
                from = i + 1;
                indent = Some(l.len() - l.trim_start().len());
            }
            None => break,
        }
    }
    found
}

#[cfg(test)]
mod tests;
