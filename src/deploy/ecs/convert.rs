//! Between ECS's types and the platform's: deployments, known-good tags, container definitions and errors.

use aws_sdk_ecs::types::{
    ContainerDefinition, DeploymentRolloutState, HealthCheck, KeyValuePair, LogConfiguration,
    LogDriver, PortMapping, Secret, Tag, TransportProtocol,
};

use crate::deploy::platform::{Deployment, DeploymentStatus, KnownGood, PlatformError, Rollout};

use super::*;

/// An SDK error as a platform error: no answer is "unreachable" (exit 3), an answer is a refusal.
pub(super) fn error<E, R>(err: aws_sdk_ecs::error::SdkError<E, R>) -> PlatformError
where
    E: aws_sdk_ecs::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let unreachable = matches!(
        err,
        aws_sdk_ecs::error::SdkError::DispatchFailure(_)
            | aws_sdk_ecs::error::SdkError::TimeoutError(_)
    );
    let message = format!("{:#}", crate::aws::describe(err));
    if unreachable {
        PlatformError::Unreachable(message)
    } else {
        PlatformError::Refused(message)
    }
}

pub(super) fn deployment(d: &aws_sdk_ecs::types::Deployment) -> Deployment {
    Deployment {
        id: d.id().unwrap_or_default().to_string(),
        status: match d.status() {
            Some("PRIMARY") => DeploymentStatus::Primary,
            Some("ACTIVE") => DeploymentStatus::Active,
            _ => DeploymentStatus::Inactive,
        },
        revision: d.task_definition().unwrap_or_default().to_string(),
        desired: d.desired_count(),
        running: d.running_count(),
        pending: d.pending_count(),
        failed: d.failed_tasks(),
        rollout: match d.rollout_state() {
            Some(DeploymentRolloutState::Failed) => Rollout::Failed,
            Some(DeploymentRolloutState::Completed) => Rollout::Completed,
            _ => Rollout::InProgress,
        },
        reason: d.rollout_state_reason().map(String::from),
    }
}

pub(super) fn known_good(tags: &[Tag]) -> Option<KnownGood> {
    let tag = |key: &str| {
        tags.iter()
            .find(|t| t.key() == Some(key))
            .and_then(|t| t.value())
            .map(String::from)
    };
    Some(KnownGood {
        revision: tag(TAG_REVISION)?,
        image: tag(TAG_IMAGE).unwrap_or_default(),
        at: tag(TAG_AT).unwrap_or_default(),
        by: tag(TAG_BY).unwrap_or_default(),
    })
}

/// The SDK's container definition for ours.
pub(super) fn container(
    c: &crate::deploy::task::Container,
) -> Result<ContainerDefinition, PlatformError> {
    let invalid = |e: aws_sdk_ecs::error::BuildError| PlatformError::Refused(e.to_string());
    let mut builder = ContainerDefinition::builder()
        .name(&c.name)
        .image(&c.image)
        .essential(c.essential)
        .set_memory(c.memory)
        .stop_timeout(c.stop_timeout)
        .readonly_root_filesystem(c.readonly_root_filesystem)
        .health_check(
            HealthCheck::builder()
                .set_command(Some(c.health_check.command.clone()))
                .interval(c.health_check.interval)
                .timeout(c.health_check.timeout)
                .retries(c.health_check.retries)
                .start_period(c.health_check.start_period)
                .build()
                .map_err(invalid)?,
        );
    for port in &c.port_mappings {
        builder = builder.port_mappings(
            PortMapping::builder()
                .container_port(port.container_port)
                .protocol(TransportProtocol::from(port.protocol.as_str()))
                .build(),
        );
    }
    for pair in &c.environment {
        builder = builder.environment(
            KeyValuePair::builder()
                .name(&pair.name)
                .value(&pair.value)
                .build(),
        );
    }
    for secret in &c.secrets {
        builder = builder.secrets(
            Secret::builder()
                .name(&secret.name)
                .value_from(&secret.value_from)
                .build()
                .map_err(invalid)?,
        );
    }
    if let Some(log) = &c.log_configuration {
        builder = builder.log_configuration(
            LogConfiguration::builder()
                .log_driver(LogDriver::from(log.log_driver.as_str()))
                .set_options(Some(log.options.clone().into_iter().collect()))
                .build()
                .map_err(invalid)?,
        );
    }
    Ok(builder.build())
}
