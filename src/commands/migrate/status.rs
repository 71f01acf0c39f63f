//! `vivr migrate status`: the history against the migrations, and its exit code.

use super::*;
use crate::cli::Format;
use crate::exit::Outcome;
use crate::migrate::{self, Migration, MigrationState, Status, checksum};
use crate::outln;
use crate::output::Ctx;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde_json::json;

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

fn status_rows(status: &Status, migrations: &[Migration]) -> Vec<(String, MigrationState, String)> {
    let mut rows: Vec<(String, MigrationState, String)> = migrations
        .iter()
        .map(|m| {
            let state = if status.failed.iter().any(|r| r.migration_name == m.name)
                && !status.applied.iter().any(|a| *a == m.name)
            {
                MigrationState::Failed
            } else {
                status.state_of(&m.name)
            };
            (m.name.to_string(), state, checksum(&m.sql))
        })
        .collect();
    for name in &status.missing {
        rows.push((name.clone(), MigrationState::Missing, String::new()));
    }
    rows
}

fn print_status(ctx: &Ctx, target: &Target, status: &Status, format: Format) -> anyhow::Result<()> {
    let rows = status_rows(status, &target.migrations);
    match format {
        Format::Json => {
            let body = json!({
                "database": target.url,
                "backend": target.db.backend().as_str(),
                "up_to_date": status.is_up_to_date(),
                "history_table": !status.table_missing,
                "migrations": rows.iter().map(|(name, state, sum)| json!({
                    "name": name, "state": state_word(*state), "checksum": sum,
                })).collect::<Vec<_>>(),
                "failed": status.failed.iter().map(|r| json!({
                    "name": r.migration_name, "logs": r.logs,
                })).collect::<Vec<_>>(),
                "exit_code": status_outcome(status) as u8,
            });
            outln!(ctx, "{body:#}");
        }
        Format::Text => {
            let mut table = Table::new();
            table.load_preset(UTF8_FULL_CONDENSED);
            table.set_header(["migration", "state", "checksum"]);
            for (name, state, sum) in &rows {
                table.add_row([
                    name.as_str(),
                    state_word(*state),
                    sum.get(..12).unwrap_or(""),
                ]);
            }
            outln!(ctx, "{table}");
            let summary = match status_outcome(status) {
                Outcome::Success => "Database schema is up to date.".to_string(),
                Outcome::CheckFailed => format!(
                    "{} migration(s) pending: run `vivr migrate deploy`.",
                    status.pending.len()
                ),
                Outcome::MigrationFailed => format!(
                    "A migration failed: {}. Fix the cause, then `vivr migrate resolve --rolled-back NAME` (to retry) or \
                     `--applied NAME` (if you applied it by hand).",
                    status
                        .failed
                        .iter()
                        .map(|r| r.migration_name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Outcome::MigrationDrift => format!(
                    "Drift: edited since applied: [{}]; applied but unknown to this build: [{}].",
                    status.edited.join(", "),
                    status.missing.join(", ")
                ),
                Outcome::NotBaselined => {
                    "The database is not empty but has no migration history (P3005): baseline it \
                     with `vivr migrate resolve --applied NAME`."
                        .to_string()
                }
                _ => String::new(),
            };
            outln!(ctx, "{summary}");
        }
    }
    Ok(())
}

pub async fn run(args: CommonArgs, ctx: &Ctx) -> anyhow::Result<Outcome> {
    let mut target = open(&args, true).await?;
    let status = migrate::status(&mut target.db, &target.migrations).await?;
    print_status(ctx, &target, &status, args.format)?;
    Ok(status_outcome(&status))
}
