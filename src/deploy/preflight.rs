//! What is checked before a deploy changes anything: the image is named by digest and exists in its ECR
//! repository, every secret the task references exists, and the task's environment passes `vivr env check` for
//! the environment. (The service itself — exists, not mid-deployment — is the state machine's preflight.)

use serde::Serialize;

use super::config::DeployConfig;
use crate::config::check::{Kind, check};
use crate::config::schema::Schema;
use crate::config::sources::{Source, SourceKind};
use crate::image::registry::{ecr_of, registry_of};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PreflightCheck {
    pub check: String,
    pub ok: bool,
    /// Passed, but worth a look (shown with the failures).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub warning: bool,
    pub detail: String,
}

/// `repo@sha256:<64 hex>`: (repository, digest).
pub fn by_digest(image: &str) -> Result<(&str, &str), String> {
    let (repo, digest) = image.split_once('@').ok_or_else(|| {
        format!(
            "{image:?} is not named by digest: give repo@sha256:… (what `vivr build --push` prints)"
        )
    })?;
    let hex = digest.strip_prefix("sha256:").unwrap_or_default();
    if repo.is_empty() || hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "{image:?} is not repo@sha256:<64 hex digits> (what `vivr build --push` prints)"
        ));
    }
    Ok((repo, digest))
}

/// The image `vivr build --format json --push` reported pushing (`image.pushed`).
pub fn image_from_build(report: &str) -> Result<String, String> {
    let value: serde_json::Value = serde_json::from_str(report)
        .map_err(|e| format!("not the JSON `vivr build --format json` writes: {e}"))?;
    value
        .pointer("/image/pushed")
        .and_then(|v| v.as_str())
        .map(String::from)
        .ok_or_else(|| "has no image.pushed: the build was not pushed (vivr build --push)".into())
}

/// The image exists in its ECR repository (other registries are not checked; the check says so).
pub async fn image_exists(image: &str) -> PreflightCheck {
    let name = "image in its registry".to_string();
    let Ok((repo, digest)) = by_digest(image) else {
        return PreflightCheck {
            warning: false,
            check: name,
            ok: false,
            detail: "not named by digest".into(),
        };
    };
    let Some((registry, ecr)) = registry_of(repo).and_then(|r| ecr_of(r).map(|e| (r, e))) else {
        return PreflightCheck {
            warning: false,
            check: name,
            ok: true,
            detail: format!("{repo} is not an ECR repository: not checked"),
        };
    };
    let repository = repo
        .strip_prefix(registry)
        .unwrap_or(repo)
        .trim_start_matches('/');
    let sdk = crate::aws::loader(None)
        .region(aws_config::Region::new(ecr.region.clone()))
        .load()
        .await;
    let answer = aws_sdk_ecr::Client::new(&sdk)
        .describe_images()
        .registry_id(&ecr.account)
        .repository_name(repository)
        .image_ids(
            aws_sdk_ecr::types::ImageIdentifier::builder()
                .image_digest(digest)
                .build(),
        )
        .send()
        .await;
    match answer {
        Ok(found) if !found.image_details().is_empty() => PreflightCheck {
            warning: false,
            check: name,
            ok: true,
            detail: format!("{repository}@{digest} is in ECR"),
        },
        Ok(_) => PreflightCheck {
            warning: false,
            check: name,
            ok: false,
            detail: format!("{repository} has no image {digest}"),
        },
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_image_not_found_exception()) =>
        {
            PreflightCheck {
                warning: false,
                check: name,
                ok: false,
                detail: format!(
                    "{repository} has no image {digest} (push it with `vivr build --push`)"
                ),
            }
        }
        Err(err) => PreflightCheck {
            warning: false,
            check: name,
            ok: false,
            detail: format!("{:#}", crate::aws::describe(err)),
        },
    }
}

/// The deployment alarms exist; one already in ALARM is reported: ECS does not watch an alarm that is in ALARM
/// when the deployment starts (it would never roll back on it).
pub async fn alarms_ready(
    config: &DeployConfig,
    sdk: &aws_config::SdkConfig,
) -> Vec<PreflightCheck> {
    if config.alarms.is_empty() {
        return Vec::new();
    }
    let answer = aws_sdk_cloudwatch::Client::new(sdk)
        .describe_alarms()
        .set_alarm_names(Some(config.alarms.clone()))
        .send()
        .await;
    let found = match answer {
        Ok(found) => found,
        Err(err) => {
            return vec![PreflightCheck {
                warning: false,
                check: "deployment alarms".into(),
                ok: false,
                detail: format!("{:#}", crate::aws::describe(err)),
            }];
        }
    };
    config
        .alarms
        .iter()
        .map(|name| {
            let check = format!("alarm {name}");
            let alarm = found
                .metric_alarms()
                .iter()
                .find(|a| a.alarm_name() == Some(name.as_str()));
            match alarm.and_then(|a| a.state_value()) {
                None => PreflightCheck {
                    warning: false,
                    check,
                    ok: false,
                    detail: "does not exist in CloudWatch: ECS could not roll back on it".into(),
                },
                // Reported, not refused: a fix for what the alarm reports must be deployable.
                Some(aws_sdk_cloudwatch::types::StateValue::Alarm) => PreflightCheck {
                    warning: true,
                    check,
                    ok: true,
                    detail: format!(
                        "is in ALARM already ({}): ECS does not watch an alarm that is in ALARM when the \
                         deployment starts, so it cannot roll this deployment back; vivr's own triggers still do",
                        alarm.and_then(|a| a.state_reason()).unwrap_or("no reason")
                    ),
                },
                Some(state) => PreflightCheck {
                    warning: false,
                    check,
                    ok: true,
                    detail: state.as_str().to_string(),
                },
            }
        })
        .collect()
}

/// The Secrets Manager secret an ECS `valueFrom` names (without its `:json-key:stage:version` suffix).
pub fn secret_id(value_from: &str) -> Option<&str> {
    if !value_from.starts_with("arn:aws:secretsmanager:") {
        return None;
    }
    // arn:aws:secretsmanager:<region>:<account>:secret:<name> — seven fields.
    let end = value_from
        .match_indices(':')
        .nth(6)
        .map_or(value_from.len(), |(i, _)| i);
    value_from.get(..end)
}

/// Every Secrets Manager secret the task references exists (SSM parameters are not checked; the check says so).
pub async fn secrets_exist(
    config: &DeployConfig,
    sdk: &aws_config::SdkConfig,
) -> Vec<PreflightCheck> {
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    let mut checks = Vec::new();
    for (name, value_from) in &config.task.secrets {
        let check = format!("secret {name}");
        let Some(id) = secret_id(value_from) else {
            checks.push(PreflightCheck {
                warning: false,
                check,
                ok: true,
                detail: "an SSM parameter: not checked".into(),
            });
            continue;
        };
        checks.push(match client.describe_secret().secret_id(id).send().await {
            Ok(found) => PreflightCheck {
                warning: false,
                check,
                ok: true,
                detail: format!("{} exists", found.name().unwrap_or(id)),
            },
            Err(err) => PreflightCheck {
                warning: false,
                check,
                ok: false,
                detail: format!("{id}: {:#}", crate::aws::describe(err)),
            },
        });
    }
    checks
}

/// The task's environment passes the schema's checks for the environment; the variables given as secrets count
/// as set (their values are checked where they live, by `vivr env check --from aws-sm://…`).
pub fn environment_passes(config: &DeployConfig, schema: &Schema, file: &str) -> PreflightCheck {
    let check_name = "environment against vivr.env.yaml".to_string();
    let Some(environment) = vivr_shop::config::Environment::parse(&config.environment) else {
        return PreflightCheck {
            warning: false,
            check: check_name,
            ok: false,
            detail: format!("{:?} is not an environment", config.environment),
        };
    };
    let mut pairs: Vec<(String, String)> = config
        .task
        .environment
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    pairs.push(("VIVR_ENV".into(), environment.as_str().into()));
    let source = Source::from_pairs(file, SourceKind::File, pairs);
    let secrets = Source::from_pairs(
        "task secrets",
        SourceKind::SecretsManager,
        config
            .task
            .secrets
            .keys()
            // Set, with a value only Secrets Manager knows: findings about these values are dropped below.
            .map(|k| (k.clone(), "(in Secrets Manager)".to_string())),
    );
    let report = check(schema, environment, vec![source, secrets]);
    let problems: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.severity == crate::config::check::Severity::Error)
        .filter(|f| !config.task.secrets.contains_key(&f.variable) || f.kind == Kind::Unknown)
        .map(|f| format!("{}: {}", f.variable, f.message))
        .collect();
    PreflightCheck {
        warning: false,
        check: check_name,
        ok: problems.is_empty(),
        detail: if problems.is_empty() {
            format!("passes for {}", environment.as_str())
        } else {
            problems.join("; ")
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_named_by_digest() {
        let digest = format!("sha256:{}", "ab".repeat(32));
        let image = format!("123456789012.dkr.ecr.eu-west-3.amazonaws.com/vivr@{digest}");
        assert_eq!(
            by_digest(&image),
            Ok((
                "123456789012.dkr.ecr.eu-west-3.amazonaws.com/vivr",
                digest.as_str()
            ))
        );
        assert!(by_digest("vivr:latest").unwrap_err().contains("by digest"));
        assert!(by_digest("vivr@sha256:abc").is_err());
    }

    #[test]
    fn a_secret_reference_names_its_secret_without_the_key() {
        assert_eq!(
            secret_id(
                "arn:aws:secretsmanager:eu-west-3:123456789012:secret:vivr/prod-AbCdEf:DATABASE_URL::"
            ),
            Some("arn:aws:secretsmanager:eu-west-3:123456789012:secret:vivr/prod-AbCdEf")
        );
        assert_eq!(
            secret_id("arn:aws:secretsmanager:eu-west-3:123456789012:secret:vivr/prod-AbCdEf"),
            Some("arn:aws:secretsmanager:eu-west-3:123456789012:secret:vivr/prod-AbCdEf")
        );
        assert_eq!(
            secret_id("arn:aws:ssm:eu-west-3:123456789012:parameter/vivr"),
            None
        );
    }

    #[test]
    fn the_committed_deploy_files_are_valid_and_their_environments_pass_the_schema() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        for environment in ["staging", "production"] {
            let path = super::super::config::path_for(root, environment);
            let config =
                DeployConfig::load(&path, Schema::embedded()).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(config.environment, environment);
            let check = environment_passes(&config, Schema::embedded(), environment);
            assert!(check.ok, "{environment}: {}", check.detail);
            assert_eq!(config.triggers().len(), 3);
        }
    }

    #[test]
    fn an_environment_missing_what_production_requires_fails_the_preflight() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let path = super::super::config::path_for(root, "production");
        let mut config = DeployConfig::load(&path, Schema::embedded()).unwrap();
        config.task.secrets.remove("DATABASE_URL");
        config
            .task
            .environment
            .insert("VIVR_PUBLIC_URL".into(), "http://vivr.fr".into());
        let check = environment_passes(&config, Schema::embedded(), "production");
        assert!(!check.ok);
        assert!(
            check.detail.contains("DATABASE_URL") && check.detail.contains("VIVR_PUBLIC_URL"),
            "{}",
            check.detail
        );
    }

    #[test]
    fn the_build_report_gives_the_pushed_image() {
        assert_eq!(
            image_from_build(r#"{"image": {"pushed": "r@sha256:x"}}"#),
            Ok("r@sha256:x".into())
        );
        assert!(
            image_from_build(r#"{"image": {}}"#)
                .unwrap_err()
                .contains("--push")
        );
        assert!(image_from_build("nope").is_err());
    }
}
