//! [`Platform`] on AWS ECS, through aws-sdk-ecs: the service's deployments and events, task definitions
//! registered from [`TaskDefinition`], the service updated with its safety nets (circuit breaker with rollback,
//! deployment alarms, health-check grace), the stopped tasks of a revision, and the last known good kept as tags
//! on the service (`vivr:known-good:*`).

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{
    Compatibility, DeploymentAlarms, DeploymentCircuitBreaker, DeploymentConfiguration,
    DesiredStatus, NetworkMode, ServiceField, Tag,
};

use super::platform::{
    KnownGood, OneOff, Platform, PlatformError, ServiceEvent, ServiceState, StoppedTask,
};
use super::task::TaskDefinition;

mod convert;

use convert::*;

/// The tags the last known good is kept in.
const TAG_REVISION: &str = "vivr:known-good:revision";
const TAG_IMAGE: &str = "vivr:known-good:image";
const TAG_AT: &str = "vivr:known-good:at";
const TAG_BY: &str = "vivr:known-good:by";

/// What every update sets on the service besides the revision.
#[derive(Debug, Clone, Default)]
pub struct SafetyNets {
    pub circuit_breaker: bool,
    pub alarms: Vec<String>,
    pub health_check_grace_secs: Option<i32>,
    pub desired_count: Option<i32>,
}

/// What [`Ecs::safety_nets`] found on the service.
#[derive(Debug, Clone, Default)]
pub struct LiveNets {
    pub circuit_breaker: (bool, bool),
    pub alarms_enabled: (bool, bool),
    pub alarms: Vec<String>,
    pub known_good: Option<KnownGood>,
}

pub struct Ecs {
    client: Client,
    cluster: String,
    service: String,
    nets: SafetyNets,
    /// Stopped tasks older than this are someone else's story.
    since: aws_sdk_ecs::primitives::DateTime,
}

/// A container of a live task definition, in vivr's own terms (lists sorted by name, for comparison).
fn container_of(c: &aws_sdk_ecs::types::ContainerDefinition) -> super::task::Container {
    use super::task::{
        Container, HealthCheck as Check, LogConfiguration as Log, NameValue, PortMapping as Port,
        SecretRef,
    };
    let mut environment: Vec<NameValue> = c
        .environment()
        .iter()
        .map(|p| NameValue {
            name: p.name().unwrap_or_default().into(),
            value: p.value().unwrap_or_default().into(),
        })
        .collect();
    environment.sort_by(|a, b| a.name.cmp(&b.name));
    let mut secrets: Vec<SecretRef> = c
        .secrets()
        .iter()
        .map(|s| SecretRef {
            name: s.name().into(),
            value_from: s.value_from().into(),
        })
        .collect();
    secrets.sort_by(|a, b| a.name.cmp(&b.name));
    Container {
        name: c.name().unwrap_or_default().into(),
        image: c.image().unwrap_or_default().into(),
        essential: c.essential().unwrap_or(true),
        memory: c.memory(),
        port_mappings: c
            .port_mappings()
            .iter()
            .map(|p| Port {
                container_port: p.container_port().unwrap_or_default(),
                protocol: p.protocol().map_or("tcp", |p| p.as_str()).into(),
            })
            .collect(),
        environment,
        secrets,
        log_configuration: c.log_configuration().map(|l| Log {
            log_driver: l.log_driver().as_str().into(),
            options: l
                .options()
                .map(|o| o.clone().into_iter().collect())
                .unwrap_or_default(),
        }),
        health_check: c.health_check().map_or_else(Check::default, |h| Check {
            command: h.command().to_vec(),
            interval: h.interval().unwrap_or_default(),
            timeout: h.timeout().unwrap_or_default(),
            retries: h.retries().unwrap_or_default(),
            start_period: h.start_period().unwrap_or_default(),
        }),
        stop_timeout: c.stop_timeout().unwrap_or_default(),
        readonly_root_filesystem: c.readonly_root_filesystem().unwrap_or(false),
    }
}

impl Ecs {
    pub fn new(sdk: &aws_config::SdkConfig, cluster: &str, service: &str, nets: SafetyNets) -> Ecs {
        Ecs {
            client: Client::new(sdk),
            cluster: cluster.to_string(),
            service: service.to_string(),
            nets,
            since: aws_sdk_ecs::primitives::DateTime::from(std::time::SystemTime::now()),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The service as DescribeServices gives it, with its tags (the last known good).
    async fn described(&self) -> Result<aws_sdk_ecs::types::Service, PlatformError> {
        let answer = self
            .client
            .describe_services()
            .cluster(&self.cluster)
            .services(&self.service)
            .include(ServiceField::Tags)
            .send()
            .await
            .map_err(error)?;
        answer
            .services()
            .first()
            .cloned()
            .ok_or_else(|| self.missing())
    }

    /// The service's safety nets as ECS has them: the deployment circuit breaker (enable, rollback), the
    /// deployment alarms (enable, rollback, names), and the last known good.
    pub async fn safety_nets(&self) -> Result<LiveNets, PlatformError> {
        let service = &self.described().await?;
        let configuration = service.deployment_configuration();
        let breaker = configuration.and_then(|c| c.deployment_circuit_breaker());
        let alarms = configuration.and_then(|c| c.alarms());
        Ok(LiveNets {
            circuit_breaker: breaker.map_or((false, false), |b| (b.enable(), b.rollback())),
            alarms_enabled: alarms.map_or((false, false), |a| (a.enable(), a.rollback())),
            alarms: alarms.map(|a| a.alarm_names().to_vec()).unwrap_or_default(),
            known_good: known_good(service.tags()),
        })
    }

    async fn service_arn(&self) -> Result<String, PlatformError> {
        self.described()
            .await?
            .service_arn()
            .map(String::from)
            .ok_or_else(|| self.missing())
    }

    /// Waits for a one-off task to stop (its container's exit code), stopping it past `timeout`.
    async fn wait_stopped(
        &self,
        task: &str,
        timeout: std::time::Duration,
    ) -> Result<OneOff, PlatformError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let described = self
                .client
                .describe_tasks()
                .cluster(&self.cluster)
                .tasks(task)
                .send()
                .await
                .map_err(error)?;
            if let Some(t) = described.tasks().first()
                && t.last_status() == Some("STOPPED")
            {
                return Ok(OneOff {
                    exit_code: t
                        .containers()
                        .iter()
                        .find(|c| c.name() == Some(super::task::CONTAINER))
                        .and_then(|c| c.exit_code()),
                    reason: t.stopped_reason().unwrap_or("stopped").to_string(),
                });
            }
            if tokio::time::Instant::now() >= deadline {
                let _ = self
                    .client
                    .stop_task()
                    .cluster(&self.cluster)
                    .task(task)
                    .reason("vivr deploy: the one-off task did not finish in time")
                    .send()
                    .await;
                return Ok(OneOff {
                    exit_code: None,
                    reason: format!(
                        "did not finish within {} s and was stopped",
                        timeout.as_secs()
                    ),
                });
            }
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        }
    }

    pub async fn live_definition(
        &self,
        revision: &str,
    ) -> Result<Option<TaskDefinition>, PlatformError> {
        let answer = self
            .client
            .describe_task_definition()
            .task_definition(revision)
            .send()
            .await
            .map_err(error)?;
        let Some(t) = answer.task_definition() else {
            return Ok(None);
        };
        let containers = t.container_definitions().iter().map(container_of).collect();
        Ok(Some(TaskDefinition {
            family: t.family().unwrap_or_default().into(),
            cpu: t.cpu().unwrap_or_default().into(),
            memory: t.memory().unwrap_or_default().into(),
            network_mode: t.network_mode().map_or("", |m| m.as_str()).into(),
            requires_compatibilities: t
                .requires_compatibilities()
                .iter()
                .map(|c| c.as_str().to_string())
                .collect(),
            execution_role_arn: t.execution_role_arn().unwrap_or_default().into(),
            task_role_arn: t.task_role_arn().map(String::from),
            container_definitions: containers,
        }))
    }

    fn missing(&self) -> PlatformError {
        PlatformError::Refused(format!(
            "the service {} is not in the cluster {} (check deploy/<env>.yaml's cluster and service, the region \
             and the account)",
            self.service, self.cluster
        ))
    }
}

impl Platform for Ecs {
    async fn service(&self) -> Result<ServiceState, PlatformError> {
        let service = &self.described().await?;
        if service.status() != Some("ACTIVE") {
            return Err(PlatformError::Refused(format!(
                "the service {} is {}",
                self.service,
                service.status().unwrap_or("not active")
            )));
        }
        Ok(ServiceState {
            deployments: service.deployments().iter().map(deployment).collect(),
            events: service
                .events()
                .iter()
                .take(20)
                .map(|e| ServiceEvent {
                    id: e.id().unwrap_or_default().to_string(),
                    message: e.message().unwrap_or_default().to_string(),
                })
                .collect(),
            known_good: known_good(service.tags()),
        })
    }

    async fn register(&self, definition: &TaskDefinition) -> Result<String, PlatformError> {
        let mut request = self
            .client
            .register_task_definition()
            .family(&definition.family)
            .cpu(&definition.cpu)
            .memory(&definition.memory)
            .network_mode(NetworkMode::from(definition.network_mode.as_str()))
            .execution_role_arn(&definition.execution_role_arn)
            .set_task_role_arn(definition.task_role_arn.clone());
        for compatibility in &definition.requires_compatibilities {
            request = request.requires_compatibilities(Compatibility::from(compatibility.as_str()));
        }
        for c in &definition.container_definitions {
            request = request.container_definitions(container(c)?);
        }
        let answer = request.send().await.map_err(error)?;
        answer
            .task_definition()
            .and_then(|t| t.task_definition_arn())
            .map(String::from)
            .ok_or_else(|| {
                PlatformError::Refused("ECS registered a revision without an ARN".into())
            })
    }

    async fn update(&self, revision: &str) -> Result<String, PlatformError> {
        let mut configuration = DeploymentConfiguration::builder().deployment_circuit_breaker(
            DeploymentCircuitBreaker::builder()
                .enable(self.nets.circuit_breaker)
                .rollback(self.nets.circuit_breaker)
                .build(),
        );
        if !self.nets.alarms.is_empty() {
            configuration = configuration.alarms(
                DeploymentAlarms::builder()
                    .set_alarm_names(Some(self.nets.alarms.clone()))
                    .enable(true)
                    .rollback(true)
                    .build()
                    .map_err(|e| PlatformError::Refused(e.to_string()))?,
            );
        }
        let answer = self
            .client
            .update_service()
            .cluster(&self.cluster)
            .service(&self.service)
            .task_definition(revision)
            .deployment_configuration(configuration.build())
            .set_desired_count(self.nets.desired_count)
            .set_health_check_grace_period_seconds(self.nets.health_check_grace_secs)
            .send()
            .await
            .map_err(error)?;
        let service = answer.service().ok_or_else(|| self.missing())?;
        let primary = service
            .deployments()
            .iter()
            .find(|d| d.status() == Some("PRIMARY"))
            .and_then(|d| d.id())
            .ok_or_else(|| {
                PlatformError::Refused(
                    "ECS answered the update without a PRIMARY deployment".into(),
                )
            })?;
        Ok(primary.to_string())
    }

    async fn stopped_tasks(&self, revision: &str) -> Result<Vec<StoppedTask>, PlatformError> {
        let listed = self
            .client
            .list_tasks()
            .cluster(&self.cluster)
            .service_name(&self.service)
            .desired_status(DesiredStatus::Stopped)
            .send()
            .await
            .map_err(error)?;
        let arns = listed.task_arns();
        if arns.is_empty() {
            return Ok(Vec::new());
        }
        let described = self
            .client
            .describe_tasks()
            .cluster(&self.cluster)
            .set_tasks(Some(arns.iter().take(100).cloned().collect()))
            .send()
            .await
            .map_err(error)?;
        Ok(described
            .tasks()
            .iter()
            .filter(|t| t.task_definition_arn() == Some(revision))
            .filter(|t| {
                t.created_at()
                    .is_none_or(|at| at.secs() >= self.since.secs())
            })
            .map(|t| StoppedTask {
                id: t
                    .task_arn()
                    .and_then(|a| a.rsplit('/').next())
                    .unwrap_or_default()
                    .to_string(),
                reason: t
                    .stopped_reason()
                    .unwrap_or("stopped without a reason")
                    .to_string(),
                exit_code: t
                    .containers()
                    .iter()
                    .find(|c| c.name() == Some(super::task::CONTAINER))
                    .and_then(|c| c.exit_code()),
            })
            .collect())
    }

    async fn run_once(
        &self,
        revision: &str,
        command: &[String],
        timeout: std::time::Duration,
    ) -> Result<OneOff, PlatformError> {
        // The service's own launch type and network: the task reaches what the service reaches.
        let service = self.described().await?;
        let started = self
            .client
            .run_task()
            .cluster(&self.cluster)
            .task_definition(revision)
            .set_launch_type(service.launch_type().cloned())
            .set_network_configuration(service.network_configuration().cloned())
            .started_by("vivr-deploy")
            .overrides(
                aws_sdk_ecs::types::TaskOverride::builder()
                    .container_overrides(
                        aws_sdk_ecs::types::ContainerOverride::builder()
                            .name(super::task::CONTAINER)
                            .set_command(Some(command.to_vec()))
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .map_err(error)?;
        let Some(task) = started
            .tasks()
            .first()
            .and_then(|t| t.task_arn())
            .map(String::from)
        else {
            let why = started
                .failures()
                .iter()
                .map(|f| f.reason().unwrap_or("no reason").to_string())
                .collect::<Vec<_>>()
                .join("; ");
            return Ok(OneOff {
                exit_code: None,
                reason: format!("ECS did not start the task: {why}"),
            });
        };
        self.wait_stopped(&task, timeout).await
    }

    async fn prune(
        &self,
        family: &str,
        keep: usize,
        protect: &[String],
    ) -> Result<Vec<String>, PlatformError> {
        let mut arns = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .list_task_definitions()
                .family_prefix(family)
                .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
                .set_next_token(token)
                .send()
                .await
                .map_err(error)?;
            arns.extend(page.task_definition_arns().iter().cloned());
            token = page.next_token().map(String::from);
            if token.is_none() {
                break;
            }
        }
        // `family:N`, newest first (by N: the listing's own order is not to be relied on).
        let number = |arn: &str| -> u64 {
            arn.rsplit(':')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        };
        arns.retain(|arn| {
            arn.rsplit('/')
                .next()
                .is_some_and(|r| r.starts_with(&format!("{family}:")))
        });
        arns.sort_by_key(|arn| std::cmp::Reverse(number(arn)));
        let retired: Vec<String> = arns
            .into_iter()
            .filter(|arn| !protect.contains(arn))
            .skip(keep)
            .collect();
        for arn in &retired {
            self.client
                .deregister_task_definition()
                .task_definition(arn)
                .send()
                .await
                .map_err(error)?;
        }
        Ok(retired)
    }

    async fn record_known_good(&self, good: &KnownGood) -> Result<bool, PlatformError> {
        let arn = self.service_arn().await?;
        let tag = |key: &str, value: &str| Tag::builder().key(key).value(value).build();
        self.client
            .tag_resource()
            .resource_arn(arn)
            .tags(tag(TAG_REVISION, &good.revision))
            .tags(tag(TAG_IMAGE, &good.image))
            .tags(tag(TAG_AT, &good.at))
            .tags(tag(TAG_BY, &good.by))
            .send()
            .await
            .map_err(error)?;
        Ok(true)
    }
}
