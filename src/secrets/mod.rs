//! AWS Secrets Manager: reading, writing, rotating and auditing the shop's secrets. A secret holds a JSON object
//! of environment variables (`{"STRIPE_SECRET_KEY": "…", …}`), which is what `vivr secrets run`, `vivr env check
//! --from aws-sm://NAME` and `vivr env diff` read. Values stay in `SecretString`; every read is recorded in the
//! local audit file (see [`audit`]), without the value.

pub mod audit;
pub mod posture;

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, bail};
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::types::Filter;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

pub struct Secrets {
    client: Client,
    config: aws_config::SdkConfig,
    pub audit: audit::AuditLog,
    /// The command recorded in audit lines (`vivr secrets get`, …).
    pub command: String,
}

/// The AWS identity in use, from STS.
#[derive(Debug, Clone, Serialize)]
pub struct Identity {
    pub account: String,
    pub arn: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub name: String,
    pub arn: String,
    pub description: Option<String>,
    pub rotation_enabled: bool,
    pub last_changed: Option<String>,
    pub last_rotated: Option<String>,
    pub last_accessed: Option<String>,
    pub scheduled_deletion: Option<String>,
}

/// A secret's value as read: the version it came from and its variables.
pub struct Value {
    pub arn: String,
    pub version_id: String,
    pub stages: Vec<String>,
    /// The JSON object's keys and values; a secret that is not a JSON object is refused.
    pub variables: BTreeMap<String, SecretString>,
}

fn date(d: Option<&aws_sdk_secretsmanager::primitives::DateTime>) -> Option<String> {
    d.and_then(|d| {
        chrono::DateTime::from_timestamp(d.secs(), d.subsec_nanos())
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    })
}

/// The secret's text as a JSON object of string values (numbers and booleans are taken as their text).
pub fn parse_variables(name: &str, text: &str) -> anyhow::Result<BTreeMap<String, SecretString>> {
    let json: serde_json::Value = serde_json::from_str(text).map_err(|_| {
        anyhow::anyhow!(
            "secret {name} is not a JSON object of variables ({{\"KEY\": \"value\", …}})"
        )
    })?;
    let serde_json::Value::Object(map) = json else {
        bail!("secret {name} is not a JSON object of variables ({{\"KEY\": \"value\", …}})");
    };
    map.into_iter()
        .map(|(key, value)| {
            let text = match value {
                serde_json::Value::String(s) => s,
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                _ => bail!("secret {name}: {key} must be a string, number or boolean"),
            };
            Ok((key, SecretString::from(text)))
        })
        .collect()
}

impl Secrets {
    /// Region and credentials from the standard chain; `endpoint_url` (or `AWS_ENDPOINT_URL`) for another endpoint.
    pub async fn connect(endpoint_url: Option<&str>, command: &str) -> anyhow::Result<Self> {
        let config = crate::aws::sdk_config(endpoint_url).await;
        if config.region().is_none() {
            bail!("no AWS region: set AWS_REGION (or a region in the AWS profile)");
        }
        Ok(Secrets {
            client: Client::new(&config),
            config,
            audit: audit::AuditLog::from_env()?,
            command: command.into(),
        })
    }

    pub async fn identity(&self) -> anyhow::Result<Identity> {
        let sts = aws_sdk_sts::Client::new(&self.config);
        let who = sts
            .get_caller_identity()
            .send()
            .await
            .map_err(crate::aws::describe)
            .context("asking STS who this is")?;
        Ok(Identity {
            account: who.account().unwrap_or_default().into(),
            arn: who.arn().unwrap_or_default().into(),
        })
    }

    /// Secrets whose name starts with `prefix` (all with an empty prefix).
    pub async fn list(&self, prefix: &str) -> anyhow::Result<Vec<Summary>> {
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let mut request = self.client.list_secrets().set_next_token(token.clone());
            if !prefix.is_empty() {
                request = request.filters(
                    Filter::builder()
                        .key(aws_sdk_secretsmanager::types::FilterNameStringType::Name)
                        .values(prefix)
                        .build(),
                );
            }
            let page = request
                .send()
                .await
                .map_err(crate::aws::describe)
                .context("listing secrets")?;
            for s in page.secret_list() {
                let name = s.name().unwrap_or_default();
                if !name.starts_with(prefix) {
                    continue;
                }
                out.push(Summary {
                    name: name.into(),
                    arn: s.arn().unwrap_or_default().into(),
                    description: s.description().map(str::to_string),
                    rotation_enabled: s.rotation_enabled().unwrap_or(false),
                    last_changed: date(s.last_changed_date()),
                    last_rotated: date(s.last_rotated_date()),
                    last_accessed: date(s.last_accessed_date()),
                    scheduled_deletion: date(s.deleted_date()),
                });
            }
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Reads a secret's variables at a version stage (AWSCURRENT, or AWSPREVIOUS to roll back), and records the
    /// read in the audit file.
    pub async fn read(&self, name: &str, stage: &str) -> anyhow::Result<Value> {
        let result = self
            .client
            .get_secret_value()
            .secret_id(name)
            .version_stage(stage)
            .send()
            .await
            .map_err(crate::aws::describe)
            .with_context(|| format!("reading secret {name} ({stage})"));
        let output = match result {
            Ok(output) => output,
            Err(err) => {
                self.audit
                    .record(&self.command, name, None, stage, false, &[])?;
                return Err(err);
            }
        };
        let arn = output.arn().unwrap_or(name).to_string();
        let version_id = output.version_id().unwrap_or_default().to_string();
        let text = SecretString::from(output.secret_string().unwrap_or_default().to_string());
        let variables = parse_variables(name, text.expose_secret());
        let keys: Vec<String> = variables
            .as_ref()
            .map(|v| v.keys().cloned().collect())
            .unwrap_or_default();
        self.audit
            .record(&self.command, &arn, Some(&version_id), stage, true, &keys)?;
        Ok(Value {
            arn,
            version_id,
            stages: output.version_stages().to_vec(),
            variables: variables?,
        })
    }

    /// Writes a new AWSCURRENT version holding `variables` (creating the secret if needed); returns the version id.
    pub async fn write(
        &self,
        name: &str,
        variables: &BTreeMap<String, SecretString>,
    ) -> anyhow::Result<String> {
        let object: serde_json::Map<String, serde_json::Value> = variables
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    serde_json::Value::String(v.expose_secret().into()),
                )
            })
            .collect();
        let text = SecretString::from(serde_json::Value::Object(object).to_string());
        let exists = self.client.describe_secret().secret_id(name).send().await;
        let version = match exists {
            Ok(_) => self
                .client
                .put_secret_value()
                .secret_id(name)
                .secret_string(text.expose_secret())
                .send()
                .await
                .map_err(crate::aws::describe)
                .with_context(|| format!("writing secret {name}"))?
                .version_id()
                .map(str::to_string),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                self.client
                    .create_secret()
                    .name(name)
                    .secret_string(text.expose_secret())
                    .send()
                    .await
                    .map_err(crate::aws::describe)
                    .with_context(|| format!("creating secret {name}"))?
                    .version_id()
                    .map(str::to_string)
            }
            Err(err) => {
                return Err(crate::aws::describe(err).context(format!("describing secret {name}")));
            }
        };
        Ok(version.unwrap_or_default())
    }

    pub async fn describe(
        &self,
        name: &str,
    ) -> anyhow::Result<aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput>
    {
        self.client
            .describe_secret()
            .secret_id(name)
            .send()
            .await
            .map_err(crate::aws::describe)
            .with_context(|| format!("describing secret {name}"))
    }

    /// Starts a rotation and follows the version stages until AWSPENDING is gone or sits on the AWSCURRENT version
    /// (the rotation finished), or `timeout` passes (a stuck rotation, reported with the pending version).
    pub async fn rotate(
        &self,
        name: &str,
        lambda_arn: Option<&str>,
        timeout: Duration,
    ) -> anyhow::Result<RotationOutcome> {
        let before = self.describe(name).await?;
        let previous_current =
            posture::version_with_stage(before.version_ids_to_stages(), "AWSCURRENT");
        let mut request = self.client.rotate_secret().secret_id(name);
        if let Some(arn) = lambda_arn {
            request = request.rotation_lambda_arn(arn);
        }
        let started = request
            .send()
            .await
            .map_err(crate::aws::describe)
            .with_context(|| format!("starting the rotation of {name}"))?;
        let new_version = started.version_id().unwrap_or_default().to_string();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let now = self.describe(name).await?;
            let stages = now.version_ids_to_stages();
            let pending = posture::version_with_stage(stages, "AWSPENDING");
            let current = posture::version_with_stage(stages, "AWSCURRENT");
            if pending.is_none() || pending == current {
                return Ok(RotationOutcome::Finished {
                    previous_version: previous_current,
                    current_version: current,
                });
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(RotationOutcome::Stuck {
                    pending_version: pending.unwrap_or(new_version),
                    current_version: current,
                });
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RotationOutcome {
    Finished {
        previous_version: Option<String>,
        current_version: Option<String>,
    },
    Stuck {
        pending_version: String,
        current_version: Option<String>,
    },
}

/// How a secret value is shown without `--reveal`: its length only (no prefix, no hash of it).
pub fn redacted(value: &SecretString) -> String {
    format!(
        "<redacted, {} chars>",
        value.expose_secret().chars().count()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_a_json_object_of_variables() {
        let vars = parse_variables("s", r#"{"A": "x", "N": 3, "B": true}"#).unwrap();
        assert_eq!(vars["N"].expose_secret(), "3");
        let err = parse_variables("s", "sk_live_plain")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("not a JSON object") && !err.contains("sk_live"),
            "{err}"
        );
        assert!(parse_variables("s", r#"{"A": [1]}"#).is_err());
        assert_eq!(
            redacted(&SecretString::from("abcdef")),
            "<redacted, 6 chars>"
        );
    }
}
