//! The task definition a deploy registers, rendered from `deploy/<env>.yaml` and the image: one essential
//! container running vivr, read-only, non-root (the image's user), with the health check the image declares,
//! the plain environment and the secrets as references. Serialised in ECS's own JSON shape, so `--dry-run`
//! shows what will be registered and a diff against the live revision reads like ECS's.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::config::{DeployConfig, LaunchType};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskDefinition {
    pub family: String,
    pub cpu: String,
    pub memory: String,
    pub network_mode: String,
    pub requires_compatibilities: Vec<String>,
    pub execution_role_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_role_arn: Option<String>,
    pub container_definitions: Vec<Container>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    pub name: String,
    pub image: String,
    pub essential: bool,
    /// The container's hard memory limit, MiB: the task's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<i32>,
    pub port_mappings: Vec<PortMapping>,
    pub environment: Vec<NameValue>,
    pub secrets: Vec<SecretRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_configuration: Option<LogConfiguration>,
    pub health_check: HealthCheck,
    pub stop_timeout: i32,
    pub readonly_root_filesystem: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortMapping {
    pub container_port: i32,
    pub protocol: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameValue {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretRef {
    pub name: String,
    pub value_from: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogConfiguration {
    pub log_driver: String,
    pub options: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheck {
    pub command: Vec<String>,
    pub interval: i32,
    pub timeout: i32,
    pub retries: i32,
    pub start_period: i32,
}

/// The container's name in every revision.
pub const CONTAINER: &str = "vivr";

impl DeployConfig {
    /// The task definition that runs `image` (`repo@sha256:…`) in this environment; `region` for the logs.
    pub fn task_definition(&self, image: &str, region: &str) -> TaskDefinition {
        let task = &self.task;
        let mut environment: BTreeMap<String, String> = task.environment.clone();
        environment.insert("VIVR_ENV".into(), self.environment.clone());
        environment.insert("VIVR_BIND".into(), format!("0.0.0.0:{}", task.port));
        TaskDefinition {
            family: task.family.clone(),
            cpu: task.cpu.to_string(),
            memory: task.memory.to_string(),
            network_mode: match task.network_mode {
                super::config::NetworkMode::Awsvpc => "awsvpc".into(),
                super::config::NetworkMode::Bridge => "bridge".into(),
            },
            requires_compatibilities: vec![match task.launch_type {
                LaunchType::Fargate => "FARGATE".into(),
                LaunchType::Ec2 => "EC2".into(),
            }],
            execution_role_arn: task.execution_role_arn.clone(),
            task_role_arn: task.task_role_arn.clone(),
            container_definitions: vec![Container {
                name: CONTAINER.into(),
                image: image.to_string(),
                essential: true,
                memory: i32::try_from(task.memory).ok(),
                port_mappings: vec![PortMapping {
                    container_port: i32::from(task.port),
                    protocol: "tcp".into(),
                }],
                environment: environment
                    .into_iter()
                    .map(|(name, value)| NameValue { name, value })
                    .collect(),
                secrets: task
                    .secrets
                    .iter()
                    .map(|(name, arn)| SecretRef {
                        name: name.clone(),
                        value_from: arn.clone(),
                    })
                    .collect(),
                log_configuration: task.log_group.as_ref().map(|group| LogConfiguration {
                    log_driver: "awslogs".into(),
                    options: BTreeMap::from([
                        ("awslogs-group".to_string(), group.clone()),
                        ("awslogs-region".to_string(), region.to_string()),
                        ("awslogs-stream-prefix".to_string(), CONTAINER.to_string()),
                    ]),
                }),
                // The image's own health check, through the binary (a scratch image has no shell).
                health_check: HealthCheck {
                    command: vec![
                        "CMD".into(),
                        "/vivr".into(),
                        "healthcheck".into(),
                        format!("http://127.0.0.1:{}/api/health", task.port),
                    ],
                    interval: 10,
                    timeout: 5,
                    retries: 3,
                    start_period: 10,
                },
                // vivr drains and finishes in-flight requests within its shutdown timeout (30 s) after SIGTERM.
                stop_timeout: 40,
                readonly_root_filesystem: true,
            }],
        }
    }
}
