//! `vivr secrets audit`: the posture of each secret, from DescribeSecret alone (no value is read).

use std::collections::HashMap;

use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput;
use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
}

#[derive(Debug, Clone)]
pub struct Policy {
    /// A rotated secret must have rotated within this many days.
    pub max_age_days: i64,
    /// A secret not read for this many days is reported unused (AWS keeps the access date to the day).
    pub unused_days: i64,
    /// A customer-managed KMS key is required (the AWS-managed key becomes a medium finding).
    pub require_cmk: bool,
    /// The tag that names the secret's owner.
    pub owner_tag: String,
}

/// `vivr secrets audit`'s defaults: rotated within 90 days, read within 90 days, the AWS-managed key allowed, the
/// owner in the tag `owner`.
impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_age_days: 90,
            unused_days: 90,
            require_cmk: false,
            owner_tag: "owner".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub secret: String,
    pub check: &'static str,
    pub severity: Severity,
    pub message: String,
}

fn time(d: Option<&aws_sdk_secretsmanager::primitives::DateTime>) -> Option<DateTime<Utc>> {
    d.and_then(|d| DateTime::from_timestamp(d.secs(), d.subsec_nanos()))
}

/// The version holding a staging label (AWSCURRENT, AWSPENDING, …), if any.
pub fn version_with_stage(
    stages: Option<&HashMap<String, Vec<String>>>,
    stage: &str,
) -> Option<String> {
    stages?
        .iter()
        .find(|(_, s)| s.iter().any(|s| s == stage))
        .map(|(v, _)| v.clone())
}

/// One finding's check, severity and message.
type Found = (&'static str, Severity, String);

pub fn assess(secret: &DescribeSecretOutput, now: DateTime<Utc>, policy: &Policy) -> Vec<Finding> {
    let name = secret.name().unwrap_or_default().to_string();
    let mut found = rotation(secret, now, policy);
    found.extend(usage(secret, now, policy));
    found.extend(keeping(secret, policy));
    found
        .into_iter()
        .map(|(check, severity, message)| Finding {
            secret: name.clone(),
            check,
            severity,
            message,
        })
        .collect()
}

/// Rotation enabled, not overdue, not stuck half-way.
fn rotation(secret: &DescribeSecretOutput, now: DateTime<Utc>, policy: &Policy) -> Vec<Found> {
    let mut findings = Vec::new();
    let mut add = |check, severity, message: String| findings.push((check, severity, message));
    let days = |t: DateTime<Utc>| (now - t).num_days();
    let created = time(secret.created_date());
    if !secret.rotation_enabled().unwrap_or(false) {
        add(
            "rotation_disabled",
            Severity::High,
            "rotation is not enabled".into(),
        );
    } else if let Some(age) = time(secret.last_rotated_date()).or(created).map(days)
        && age > policy.max_age_days
    {
        add(
            "rotation_overdue",
            Severity::Medium,
            format!(
                "last rotated {age} days ago (policy: every {} days)",
                policy.max_age_days
            ),
        );
    }
    let stages = secret.version_ids_to_stages();
    if let Some(pending) = version_with_stage(stages, "AWSPENDING") {
        let current = stages
            .and_then(|s| s.get(&pending))
            .is_some_and(|s| s.iter().any(|s| s == "AWSCURRENT"));
        if !current {
            add(
                "stuck_rotation",
                Severity::High,
                format!(
                    "AWSPENDING is on version {pending}, not on AWSCURRENT: a rotation did not finish, and the next one will fail"
                ),
            );
        }
    }
    findings
}

/// Read lately (a secret nobody reads may be one nobody needs).
fn usage(secret: &DescribeSecretOutput, now: DateTime<Utc>, policy: &Policy) -> Vec<Found> {
    let mut findings = Vec::new();
    let mut add = |check, severity, message: String| findings.push((check, severity, message));
    let days = |t: DateTime<Utc>| (now - t).num_days();
    let created = time(secret.created_date());
    match time(secret.last_accessed_date()) {
        Some(accessed) if days(accessed) > policy.unused_days => add(
            "unused",
            Severity::Low,
            format!("not read for {} days", days(accessed)),
        ),
        None if created.is_some_and(|c| days(c) > policy.unused_days) => add(
            "unused",
            Severity::Low,
            format!(
                "never read in the {} days since it was created",
                created.map(days).unwrap_or(0)
            ),
        ),
        _ => {}
    }
    findings
}

/// Not being deleted, under a customer-managed key, with an owner.
fn keeping(secret: &DescribeSecretOutput, policy: &Policy) -> Vec<Found> {
    let mut findings = Vec::new();
    let mut add = |check, severity, message: String| findings.push((check, severity, message));
    if let Some(deleted) = time(secret.deleted_date()) {
        add(
            "scheduled_deletion",
            Severity::Medium,
            format!("scheduled for deletion on {}", deleted.format("%Y-%m-%d")),
        );
    }
    let default_key = secret
        .kms_key_id()
        .is_none_or(|k| k == "alias/aws/secretsmanager");
    if default_key {
        add(
            "default_kms_key",
            if policy.require_cmk {
                Severity::Medium
            } else {
                Severity::Low
            },
            "encrypted with the AWS-managed key aws/secretsmanager, not a customer-managed KMS key"
                .into(),
        );
    }
    if !secret.tags().iter().any(|t| {
        t.key() == Some(policy.owner_tag.as_str()) && t.value().is_some_and(|v| !v.is_empty())
    }) {
        add(
            "missing_owner_tag",
            Severity::Low,
            format!("no {:?} tag names who owns it", policy.owner_tag),
        );
    }
    findings
}
