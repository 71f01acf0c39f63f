//! `vivr audit --backup-store STORE`: what the backup store says about recoverability — the age of the newest
//! verified backup, and when a restore (verification level 3: restored into a scratch database and compared) last
//! succeeded. Read from the manifests `vivr backup` writes; nothing is downloaded.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::rule::{Eval, Evidence};

/// One backup as the checks see it.
#[derive(Debug, Clone, Serialize)]
pub struct BackupFact {
    pub id: String,
    pub finished_at: DateTime<Utc>,
    /// (level, ok, when), oldest first.
    pub verifications: Vec<(u8, bool, DateTime<Utc>)>,
}

/// The store's backups, newest first.
#[derive(Debug, Clone, Serialize)]
pub struct BackupFacts {
    pub store: String,
    pub backups: Vec<BackupFact>,
    pub now: DateTime<Utc>,
}

/// Reads the store's manifests.
pub async fn gather(store: &str) -> anyhow::Result<BackupFacts> {
    let opened = crate::backup::open_existing_store(store).await?;
    let manifests = crate::backup::list(opened.as_ref()).await?;
    let backups = manifests
        .into_iter()
        .map(|m| {
            let mut verifications: Vec<(u8, bool, DateTime<Utc>)> = m
                .verifications
                .iter()
                .map(|v| (v.level, v.ok, v.at))
                .collect();
            // Manifests written before the history was kept carry only the latest.
            if verifications.is_empty()
                && let Some(v) = &m.verification
            {
                verifications.push((v.level, v.ok, v.at));
            }
            BackupFact {
                id: m.id,
                finished_at: m.finished_at,
                verifications,
            }
        })
        .collect();
    Ok(BackupFacts {
        store: store.to_string(),
        backups,
        now: Utc::now(),
    })
}

/// A check's fixture: backups by age.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupFixture {
    pub id: String,
    /// How long ago it finished.
    pub age_hours: f64,
    #[serde(default)]
    pub verifications: Vec<VerificationFixture>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerificationFixture {
    pub level: u8,
    pub ok: bool,
    pub age_hours: f64,
}

fn ago(now: DateTime<Utc>, hours: f64) -> DateTime<Utc> {
    now - Duration::seconds((hours * 3600.0) as i64)
}

/// The facts a fixture describes, relative to now.
pub fn from_fixture(fixture: &[BackupFixture]) -> BackupFacts {
    let now = Utc::now();
    let mut backups: Vec<BackupFact> = fixture
        .iter()
        .map(|b| BackupFact {
            id: b.id.clone(),
            finished_at: ago(now, b.age_hours),
            verifications: b
                .verifications
                .iter()
                .map(|v| (v.level, v.ok, ago(now, v.age_hours)))
                .collect(),
        })
        .collect();
    backups.sort_by_key(|b| std::cmp::Reverse(b.finished_at));
    BackupFacts {
        store: "fixture".into(),
        backups,
        now,
    }
}

/// `{verified_within_hours}` or `{restore_verified_within_days}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_within_hours: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_verified_within_days: Option<u32>,
}

#[derive(Debug, Clone, Copy)]
pub enum BackupMatcher {
    VerifiedWithin(Duration),
    RestoreWithin(Duration),
}

impl BackupSpec {
    pub fn compile(&self) -> Result<BackupMatcher, String> {
        match (
            self.verified_within_hours,
            self.restore_verified_within_days,
        ) {
            (Some(h), None) if h > 0 => {
                Ok(BackupMatcher::VerifiedWithin(Duration::hours(i64::from(h))))
            }
            (None, Some(d)) if d > 0 => {
                Ok(BackupMatcher::RestoreWithin(Duration::days(i64::from(d))))
            }
            _ => Err(
                "exactly one of verified_within_hours, restore_verified_within_days, above 0"
                    .into(),
            ),
        }
    }
}

fn age(now: DateTime<Utc>, then: DateTime<Utc>) -> String {
    let hours = (now - then).num_minutes() as f64 / 60.0;
    if hours < 48.0 {
        format!("{hours:.1} h ago")
    } else {
        format!("{:.1} days ago", hours / 24.0)
    }
}

impl BackupMatcher {
    pub fn eval(self, facts: Option<&BackupFacts>) -> Eval {
        let Some(facts) = facts else {
            return Eval::Skipped("needs --backup-store STORE".into());
        };
        let at = |message: &str| Evidence::about(&facts.store, message);
        match self {
            BackupMatcher::VerifiedWithin(limit) => {
                let verified = facts
                    .backups
                    .iter()
                    .find(|b| b.verifications.last().is_some_and(|(_, ok, _)| *ok));
                let Some(b) = verified else {
                    return Eval::fail(vec![at(&format!(
                        "no verified backup among {} in the store: run `vivr backup create --verify 2` on a schedule",
                        facts.backups.len()
                    ))]);
                };
                let (level, _, _) =
                    b.verifications
                        .last()
                        .copied()
                        .unwrap_or((0, true, b.finished_at));
                let mut evidence = vec![at(&format!(
                    "the newest verified backup, {}, finished {} (verified at level {level})",
                    b.id,
                    age(facts.now, b.finished_at)
                ))];
                if let Some(newest) = facts.backups.first()
                    && newest.id != b.id
                {
                    evidence.push(at(&format!(
                        "a newer backup, {}, is not verified or failed verification",
                        newest.id
                    )));
                }
                if facts.now - b.finished_at <= limit {
                    Eval::pass(evidence)
                } else {
                    evidence.insert(0, at(&format!("older than {} h", limit.num_hours())));
                    Eval::fail(evidence)
                }
            }
            BackupMatcher::RestoreWithin(limit) => {
                let restored = facts
                    .backups
                    .iter()
                    .flat_map(|b| b.verifications.iter().map(move |v| (b, v)))
                    .filter(|(_, (level, ok, _))| *level >= 3 && *ok)
                    .max_by_key(|(_, (_, _, when))| *when);
                match restored {
                    Some((b, (_, _, when))) if facts.now - *when <= limit => {
                        Eval::pass(vec![at(&format!(
                            "backup {} was restored and compared {}",
                            b.id,
                            age(facts.now, *when)
                        ))])
                    }
                    Some((b, (_, _, when))) => Eval::fail(vec![at(&format!(
                        "the last restore proven was of backup {}, {}: more than {} days",
                        b.id,
                        age(facts.now, *when),
                        limit.num_days()
                    ))]),
                    None => Eval::fail(vec![at(&format!(
                        "no backup among {} was ever restored and compared (`vivr backup verify ID --level 3`)",
                        facts.backups.len()
                    ))]),
                }
            }
        }
    }
}
