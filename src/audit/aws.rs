//! `vivr audit --aws ENV`: what AWS says about the environment `deploy/<ENV>.yaml` describes — whether its ECS
//! service really has the safety nets a deploy relies on (the deployment circuit breaker with rollback, the
//! deployment alarms wired and existing in CloudWatch), whether a last known good is recorded to roll back to, and
//! the posture of the Secrets Manager secrets its task reads (the rules of `vivr secrets audit`). Only Describe
//! calls: nothing is changed and no secret value is read.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::rule::{Eval, Evidence};
use crate::deploy::config::{self, DeployConfig};
use crate::secrets::posture::{self, Severity};

/// What AWS said, as the checks see it (and as a fixture writes it).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AwsFacts {
    /// The service, for the evidence: `cluster/service (region)`.
    pub service: String,
    pub circuit_breaker: CircuitBreaker,
    pub alarms: Alarms,
    pub known_good: Option<KnownGoodFact>,
    /// Each secret the task references, with the posture findings.
    pub secrets: Vec<SecretPosture>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CircuitBreaker {
    pub enable: bool,
    pub rollback: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Alarms {
    pub enable: bool,
    pub rollback: bool,
    /// The alarms the service's deployments watch.
    pub names: Vec<String>,
    /// Of those, the ones CloudWatch does not have.
    pub missing: Vec<String>,
    /// The alarms the deploy file names.
    pub configured: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownGoodFact {
    pub revision: String,
    #[serde(default)]
    pub at: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretPosture {
    pub name: String,
    #[serde(default)]
    pub findings: Vec<SecretFinding>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretFinding {
    pub check: String,
    pub severity: Severity,
    #[serde(default)]
    pub message: String,
}

/// The alarms the service names that CloudWatch does not have.
async fn missing_alarms(
    sdk: &aws_config::SdkConfig,
    alarms: &[String],
) -> Result<Vec<String>, GatherError> {
    if alarms.is_empty() {
        return Ok(Vec::new());
    }
    let found = aws_sdk_cloudwatch::Client::new(sdk)
        .describe_alarms()
        .set_alarm_names(Some(alarms.to_vec()))
        .send()
        .await
        .map_err(|e| {
            GatherError::Aws(format!("CloudWatch alarms: {:#}", crate::aws::describe(e)))
        })?;
    let found: Vec<&str> = found
        .metric_alarms()
        .iter()
        .filter_map(|a| a.alarm_name())
        .collect();
    Ok(alarms
        .iter()
        .filter(|a| !found.contains(&a.as_str()))
        .cloned()
        .collect())
}

/// The posture of each Secrets Manager secret the task reads (one that cannot be described is a finding).
async fn secret_postures(sdk: &aws_config::SdkConfig, deploy: &DeployConfig) -> Vec<SecretPosture> {
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    let policy = posture::Policy::default();
    let now = chrono::Utc::now();
    let mut ids: Vec<&str> = deploy
        .task
        .secrets
        .values()
        .filter_map(|value_from| crate::deploy::preflight::secret_id(value_from))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let mut secrets = Vec::new();
    for id in ids {
        let findings = match client.describe_secret().secret_id(id).send().await {
            Ok(described) => posture::assess(&described, now, &policy)
                .into_iter()
                .map(|f| SecretFinding {
                    check: f.check.to_string(),
                    severity: f.severity,
                    message: f.message,
                })
                .collect(),
            Err(err) => vec![SecretFinding {
                check: "unreadable".into(),
                severity: Severity::High,
                message: format!("cannot be described: {:#}", crate::aws::describe(err)),
            }],
        };
        secrets.push(SecretPosture {
            name: id.to_string(),
            findings,
        });
    }
    secrets
}

/// Reads the deploy file of `environment` under `project`, then asks ECS, CloudWatch and Secrets Manager
/// (`AWS_ENDPOINT_URL` honoured). An unusable deploy file is the caller's mistake; AWS not answering is a
/// runtime error: the two are told apart by [`GatherError`].
pub async fn gather(project: &Path, environment: &str) -> Result<AwsFacts, GatherError> {
    let path = config::path_for(project, environment);
    let deploy = DeployConfig::load(&path, crate::config::schema::Schema::embedded())
        .map_err(|e| GatherError::Config(e.to_string()))?;
    let (sdk, region) = deploy
        .sdk(None)
        .await
        .map_err(|e| GatherError::Config(format!("{}: {e}", path.display())))?;

    let ecs =
        crate::deploy::ecs::Ecs::new(&sdk, &deploy.cluster, &deploy.service, Default::default());
    let live = ecs.safety_nets().await.map_err(|e| {
        GatherError::Aws(format!(
            "ECS service {}/{}: {e}",
            deploy.cluster, deploy.service
        ))
    })?;

    let missing = missing_alarms(&sdk, &live.alarms).await?;
    let secrets = secret_postures(&sdk, &deploy).await;

    Ok(AwsFacts {
        service: format!("{}/{} ({region})", deploy.cluster, deploy.service),
        circuit_breaker: CircuitBreaker {
            enable: live.circuit_breaker.0,
            rollback: live.circuit_breaker.1,
        },
        alarms: Alarms {
            enable: live.alarms_enabled.0,
            rollback: live.alarms_enabled.1,
            names: live.alarms,
            missing,
            configured: deploy.alarms.clone(),
        },
        known_good: live.known_good.map(|k| KnownGoodFact {
            revision: k.revision,
            at: k.at,
        }),
        secrets,
    })
}

/// Why `--aws` found nothing to check.
#[derive(Debug, thiserror::Error)]
pub enum GatherError {
    /// The deploy file is missing or unusable.
    #[error("{0}")]
    Config(String),
    /// AWS did not answer, or refused.
    #[error("{0}")]
    Aws(String),
}

/// `{circuit_breaker: true}`, `{deployment_alarms: true}`, `{known_good: true}` or `{secrets_below: SEVERITY}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circuit_breaker: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_alarms: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_good: Option<bool>,
    /// Every finding of the referenced secrets is less severe than this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets_below: Option<Severity>,
}

#[derive(Debug, Clone, Copy)]
pub enum AwsMatcher {
    CircuitBreaker,
    DeploymentAlarms,
    KnownGood,
    SecretsBelow(Severity),
}

impl AwsSpec {
    pub fn compile(&self) -> Result<AwsMatcher, String> {
        match (
            self.circuit_breaker,
            self.deployment_alarms,
            self.known_good,
            self.secrets_below,
        ) {
            (Some(true), None, None, None) => Ok(AwsMatcher::CircuitBreaker),
            (None, Some(true), None, None) => Ok(AwsMatcher::DeploymentAlarms),
            (None, None, Some(true), None) => Ok(AwsMatcher::KnownGood),
            (None, None, None, Some(severity)) => Ok(AwsMatcher::SecretsBelow(severity)),
            _ => Err(
                "exactly one of circuit_breaker: true, deployment_alarms: true, known_good: true, \
                 secrets_below: low|medium|high"
                    .into(),
            ),
        }
    }
}

fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Low => "low",
        Severity::Medium => "medium",
        Severity::High => "high",
    }
}

/// Deployments watch alarms that exist, with rollback, and every alarm the deploy file names.
fn deployment_alarms(facts: &AwsFacts) -> Eval {
    let at = |message: String| Evidence::about(&facts.service, message);
    let alarms = &facts.alarms;
    let mut problems = Vec::new();
    if alarms.names.is_empty() || !alarms.enable {
        problems.push(at(
            "no deployment alarm is wired to the service: an alarm firing during a deploy rolls \
             nothing back"
                .into(),
        ));
    } else if !alarms.rollback {
        problems.push(at(format!(
            "the deployment alarms ({}) are watched without rollback",
            alarms.names.join(", ")
        )));
    }
    for name in &alarms.missing {
        problems.push(at(format!(
            "the deployment alarm {name} does not exist in CloudWatch: it can never fire"
        )));
    }
    for name in alarms
        .configured
        .iter()
        .filter(|c| !alarms.names.contains(c))
    {
        problems.push(at(format!(
            "the deploy file names the alarm {name}, but the service does not watch it (the next \
             `vivr deploy` wires it)"
        )));
    }
    if problems.is_empty() {
        Eval::pass(vec![at(format!(
            "deployments watch {} with rollback, and CloudWatch has each",
            alarms.names.join(", ")
        ))])
    } else {
        Eval::fail(problems)
    }
}

/// No secret the task reads has a posture finding at `limit` or above.
fn secrets_below(facts: &AwsFacts, limit: Severity) -> Eval {
    let at = |message: String| Evidence::about(&facts.service, message);
    if facts.secrets.is_empty() {
        return Eval::Skipped("the task references no Secrets Manager secret".into());
    }
    let mut failing = Vec::new();
    for secret in &facts.secrets {
        for f in secret.findings.iter().filter(|f| f.severity >= limit) {
            failing.push(Evidence::about(
                &secret.name,
                format!("{} ({}): {}", f.check, severity_name(f.severity), f.message),
            ));
        }
    }
    if failing.is_empty() {
        Eval::pass(vec![at(format!(
            "{} secret(s) with no finding at {} or above",
            facts.secrets.len(),
            severity_name(limit)
        ))])
    } else {
        Eval::fail(failing)
    }
}

impl AwsMatcher {
    pub fn eval(self, facts: Option<&AwsFacts>) -> Eval {
        let Some(facts) = facts else {
            return Eval::Skipped("needs --aws ENV".into());
        };
        let at = |message: String| Evidence::about(&facts.service, message);
        match self {
            AwsMatcher::CircuitBreaker => {
                let cb = &facts.circuit_breaker;
                match (cb.enable, cb.rollback) {
                    (true, true) => Eval::pass(vec![at(
                        "the deployment circuit breaker is on, with rollback".into(),
                    )]),
                    (true, false) => Eval::fail(vec![at(
                        "the deployment circuit breaker is on without rollback: a failing deployment stops but \
                         is not rolled back"
                            .into(),
                    )]),
                    _ => Eval::fail(vec![at(
                        "the deployment circuit breaker is off: ECS keeps replacing tasks that fail to start"
                            .into(),
                    )]),
                }
            }
            AwsMatcher::DeploymentAlarms => deployment_alarms(facts),
            AwsMatcher::KnownGood => match &facts.known_good {
                Some(good) => Eval::pass(vec![at(format!(
                    "the last known good is {}{}",
                    good.revision,
                    if good.at.is_empty() {
                        String::new()
                    } else {
                        format!(", recorded {}", good.at)
                    }
                ))]),
                None => Eval::fail(vec![at(
                    "no last known good is recorded on the service: `vivr rollback` has nothing to go back to \
                     until a `vivr deploy` succeeds"
                        .into(),
                )]),
            },
            AwsMatcher::SecretsBelow(limit) => secrets_below(facts, limit),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passes(matcher: AwsMatcher, facts: &AwsFacts) -> bool {
        matches!(matcher.eval(Some(facts)), Eval::Credit { credit, .. } if credit >= 1.0)
    }

    #[test]
    fn each_safety_net_needs_its_rollback_and_alarms_must_exist() {
        let mut facts = AwsFacts::default();
        assert!(!passes(AwsMatcher::CircuitBreaker, &facts));
        facts.circuit_breaker = CircuitBreaker {
            enable: true,
            rollback: false,
        };
        assert!(!passes(AwsMatcher::CircuitBreaker, &facts));
        facts.circuit_breaker.rollback = true;
        assert!(passes(AwsMatcher::CircuitBreaker, &facts));

        facts.alarms = Alarms {
            enable: true,
            rollback: true,
            names: vec!["a".into()],
            missing: vec![],
            configured: vec!["a".into()],
        };
        assert!(passes(AwsMatcher::DeploymentAlarms, &facts));
        facts.alarms.missing = vec!["a".into()];
        assert!(!passes(AwsMatcher::DeploymentAlarms, &facts));
        facts.alarms.missing.clear();
        facts.alarms.configured.push("b".into());
        assert!(!passes(AwsMatcher::DeploymentAlarms, &facts));
        assert!(matches!(AwsMatcher::KnownGood.eval(None), Eval::Skipped(_)));
    }

    #[test]
    fn secrets_fail_at_the_limit_and_skip_without_secrets() {
        let mut facts = AwsFacts::default();
        assert!(matches!(
            AwsMatcher::SecretsBelow(Severity::High).eval(Some(&facts)),
            Eval::Skipped(_)
        ));
        facts.secrets = vec![SecretPosture {
            name: "vivr/production".into(),
            findings: vec![SecretFinding {
                check: "rotation_overdue".into(),
                severity: Severity::Medium,
                message: "last rotated 120 days ago".into(),
            }],
        }];
        assert!(passes(AwsMatcher::SecretsBelow(Severity::High), &facts));
        assert!(!passes(AwsMatcher::SecretsBelow(Severity::Medium), &facts));
    }

    #[test]
    fn a_spec_names_exactly_one_thing() {
        let spec: AwsSpec =
            yaml_serde::from_str("{circuit_breaker: true, known_good: true}").unwrap();
        assert!(spec.compile().is_err());
        let spec: AwsSpec = yaml_serde::from_str("{known_good: false}").unwrap();
        assert!(spec.compile().is_err());
        let spec: AwsSpec = yaml_serde::from_str("{secrets_below: medium}").unwrap();
        assert!(matches!(
            spec.compile(),
            Ok(AwsMatcher::SecretsBelow(Severity::Medium))
        ));
    }
}
