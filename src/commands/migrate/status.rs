//! `vivr migrate status`: the history against the migrations, and its exit code.

use super::*;
use crate::exit::Outcome;
use crate::migrate::{self, Migration, MigrationState, Status, checksum};
use crate::output::{Ctx, Report, table};
use serde::Serialize;

/// The exit code `status` gives, most serious first: the same as `deploy` refusing that state.
fn status_outcome(status: &Status) -> Outcome {
    if let Some(refusal) = status.refusal(false) {
        Outcome::from(&refusal)
    } else if !status.is_up_to_date() {
        Outcome::CheckFailed
    } else {
        Outcome::Success
    }
}

#[derive(Debug, Serialize)]
pub struct StatusReport {
    database: String,
    backend: &'static str,
    up_to_date: bool,
    history_table: bool,
    migrations: Vec<MigrationLine>,
    failed: Vec<FailedLine>,
    exit_code: u8,
    #[serde(skip)]
    outcome: Outcome,
}

#[derive(Debug, Serialize)]
struct MigrationLine {
    name: String,
    state: MigrationState,
    checksum: String,
}

#[derive(Debug, Serialize)]
struct FailedLine {
    name: String,
    logs: Option<String>,
}

impl StatusReport {
    fn new(target: &Target, status: &Status) -> Self {
        let outcome = status_outcome(status);
        let mut migrations: Vec<MigrationLine> = target
            .migrations
            .iter()
            .map(|m: &Migration| {
                let state = if status.failed.iter().any(|r| r.migration_name == m.name)
                    && !status.applied.iter().any(|a| *a == m.name)
                {
                    MigrationState::Failed
                } else {
                    status.state_of(&m.name)
                };
                MigrationLine {
                    name: m.name.to_string(),
                    state,
                    checksum: checksum(&m.sql),
                }
            })
            .collect();
        migrations.extend(status.missing.iter().map(|name| MigrationLine {
            name: name.clone(),
            state: MigrationState::Missing,
            checksum: String::new(),
        }));
        StatusReport {
            database: target.url.clone(),
            backend: target.db.backend().as_str(),
            up_to_date: status.is_up_to_date(),
            history_table: !status.table_missing,
            migrations,
            failed: status
                .failed
                .iter()
                .map(|r| FailedLine {
                    name: r.migration_name.clone(),
                    logs: r.logs.clone(),
                })
                .collect(),
            exit_code: outcome.code(),
            outcome,
        }
    }

    fn named(&self, state: MigrationState) -> Vec<&str> {
        self.migrations
            .iter()
            .filter(|m| m.state == state)
            .map(|m| m.name.as_str())
            .collect()
    }
}

impl Report for StatusReport {
    fn text(&self) -> String {
        let mut table = table(["migration", "state", "checksum"]);
        for m in &self.migrations {
            table.add_row([
                m.name.as_str(),
                m.state.as_str(),
                m.checksum.get(..12).unwrap_or(""),
            ]);
        }
        let summary = match self.outcome {
            Outcome::CheckFailed => format!(
                "{} migration(s) pending: run `vivr migrate deploy`.",
                self.named(MigrationState::Pending).len()
            ),
            Outcome::MigrationFailed => format!(
                "A migration failed: {}. Fix the cause, then `vivr migrate resolve --rolled-back NAME` (to retry) or \
                 `--applied NAME` (if you applied it by hand).",
                self.failed
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Outcome::MigrationDrift => format!(
                "Drift: edited since applied: [{}]; applied but unknown to this build: [{}].",
                self.named(MigrationState::Edited).join(", "),
                self.named(MigrationState::Missing).join(", ")
            ),
            Outcome::NotBaselined => {
                "The database is not empty but has no migration history (P3005): baseline it \
                                      with `vivr migrate resolve --applied NAME`."
                    .to_string()
            }
            _ => "Database schema is up to date.".to_string(),
        };
        match crate::runbook::for_outcome(self.outcome) {
            Some(link) => format!("{table}\n{summary}\nSee {link}\n"),
            None => format!("{table}\n{summary}\n"),
        }
    }

    fn outcome(&self) -> Outcome {
        self.outcome
    }
}

pub async fn run(args: CommonArgs, ctx: &Ctx) -> anyhow::Result<Outcome> {
    let mut target = open(&args, true).await?;
    let status = migrate::status(&mut target.db, &target.migrations).await?;
    ctx.emit(&StatusReport::new(&target, &status), args.format)
}
