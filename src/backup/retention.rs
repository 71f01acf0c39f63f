//! Grandfather-father-son retention: the newest backup of each of the last N days, weeks and months is kept.
//! Never deleted whatever the policy: the newest backup that passed verification, and pinned backups (those
//! taken before a migration) until their pin expires.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Datelike, Utc};
use serde::Serialize;

use super::Manifest;

#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub daily: usize,
    pub weekly: usize,
    pub monthly: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct PruneDecision {
    pub id: String,
    pub keep: bool,
    pub reasons: Vec<String>,
}

/// What to keep and delete among `backups` (any order) at time `now`.
pub fn prune_plan(
    backups: &[Manifest],
    policy: Retention,
    now: DateTime<Utc>,
) -> Vec<PruneDecision> {
    let mut sorted: Vec<&Manifest> = backups.iter().collect();
    sorted.sort_by_key(|m| std::cmp::Reverse(m.started_at));
    let mut reasons: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut bucket = |label: &str, limit: usize, key: &dyn Fn(&DateTime<Utc>) -> String| {
        let mut seen = HashSet::new();
        for m in &sorted {
            let k = key(&m.started_at);
            if seen.len() >= limit && !seen.contains(&k) {
                break;
            }
            if seen.insert(k.clone()) {
                reasons
                    .entry(&m.id)
                    .or_default()
                    .push(format!("{label} {k}"));
            }
        }
    };
    bucket("daily", policy.daily, &|t| t.format("%Y-%m-%d").to_string());
    bucket("weekly", policy.weekly, &|t| {
        let w = t.iso_week();
        format!("{}-W{:02}", w.year(), w.week())
    });
    bucket("monthly", policy.monthly, &|t| {
        t.format("%Y-%m").to_string()
    });
    if let Some(verified) = sorted
        .iter()
        .find(|m| m.verification.as_ref().is_some_and(|v| v.ok))
    {
        reasons
            .entry(&verified.id)
            .or_default()
            .push("newest verified backup".into());
    }
    for m in &sorted {
        if let Some(until) = m.pinned_until
            && until > now
        {
            reasons
                .entry(&m.id)
                .or_default()
                .push(format!("pinned until {}", until.format("%Y-%m-%d %H:%M")));
        }
    }
    sorted
        .iter()
        .map(|m| {
            let why = reasons.remove(m.id.as_str()).unwrap_or_default();
            PruneDecision {
                id: m.id.clone(),
                keep: !why.is_empty(),
                reasons: why,
            }
        })
        .collect()
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::backup::Verification;
    use chrono::TimeZone;

    /// A complete manifest of a backup taken at `at` (for tests of what reads manifests).
    pub(in crate::backup) fn backup(id: &str, at: DateTime<Utc>) -> Manifest {
        Manifest {
            id: id.into(),
            database: "vivr".into(),
            server_version: "15.18".into(),
            database_bytes: 0,
            pg_dump_version: "15.18".into(),
            pg_restore_version: "15.18".into(),
            format: "custom".into(),
            compression: "zstd".into(),
            object: "dump.pgc.zst".into(),
            raw_bytes: 1,
            compressed_bytes: 1,
            sha256: String::new(),
            started_at: at,
            finished_at: at,
            toc_entries: 1,
            tables: Default::default(),
            migration_head: None,
            vivr_version: "0".into(),
            pinned_until: None,
            before_migrations: Vec::new(),
            verification: None,
            verifications: Vec::new(),
        }
    }

    #[test]
    fn keeps_days_weeks_months_the_newest_verified_and_pins() {
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap();
        // One backup a day, at 02:00 and 14:00, for 90 days.
        let mut all = Vec::new();
        for day in 0..90 {
            for hour in [2, 14] {
                let at = now - chrono::TimeDelta::days(day) - chrono::TimeDelta::hours(12 - hour);
                all.push(backup(&format!("b{day:02}-{hour:02}"), at));
            }
        }
        let old_verified = all.iter().position(|m| m.id == "b60-02").unwrap();
        all[old_verified].verification = Some(Verification {
            level: 2,
            ok: true,
            at: now,
            detail: String::new(),
        });
        let pinned = all.iter().position(|m| m.id == "b70-14").unwrap();
        all[pinned].pinned_until = Some(now + chrono::TimeDelta::days(1));
        let expired = all.iter().position(|m| m.id == "b71-14").unwrap();
        all[expired].pinned_until = Some(now - chrono::TimeDelta::days(1));

        let plan = prune_plan(
            &all,
            Retention {
                daily: 7,
                weekly: 4,
                monthly: 3,
            },
            now,
        );
        let kept: Vec<&str> = plan
            .iter()
            .filter(|d| d.keep)
            .map(|d| d.id.as_str())
            .collect();
        assert!(kept.contains(&"b00-14"), "newest of today");
        assert!(!kept.contains(&"b00-02"), "one per day");
        assert!(kept.contains(&"b06-14"), "the 7th day");
        assert!(kept.contains(&"b60-02"), "newest verified");
        assert!(kept.contains(&"b70-14"), "pinned");
        assert!(!kept.contains(&"b71-14"), "pin expired");
        let daily = plan
            .iter()
            .filter(|d| d.reasons.iter().any(|r| r.starts_with("daily")))
            .count();
        let monthly = plan
            .iter()
            .filter(|d| d.reasons.iter().any(|r| r.starts_with("monthly")))
            .count();
        assert_eq!((daily, monthly), (7, 3));
        assert!(kept.len() < 20, "{kept:?}");
        assert_eq!(plan.len(), 180);
    }
}
