//! `vivr migrate checksums`: applied migrations edited since, and recording their new checksums.

use super::*;
use crate::cli::Format;
use crate::exit::Outcome;
use crate::migrate::{self, DeployOptions};
use crate::outln;
use crate::output::Ctx;
use serde_json::json;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct ChecksumsArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Record the current files' checksums for the edited migrations.
    #[arg(long, requires = "reason")]
    pub update: bool,
    /// Why the edits are harmless (kept in `_prisma_migrations.logs`).
    #[arg(long)]
    pub reason: Option<String>,
    /// Seconds to wait for another migrator's advisory lock.
    #[arg(long, default_value_t = 60)]
    pub lock_timeout: u64,
}

pub async fn run(args: ChecksumsArgs, ctx: &Ctx) -> anyhow::Result<Outcome> {
    let mut target = open(&args.common, !args.update).await?;
    if args.update {
        let options = DeployOptions {
            lock_timeout: Duration::from_secs(args.lock_timeout),
            ..DeployOptions::default()
        };
        let reason = args.reason.as_deref().unwrap_or_default();
        let updated =
            migrate::update_checksums(&mut target.db, &target.migrations, reason, &options).await?;
        match args.common.format {
            Format::Json => outln!(
                ctx,
                "{:#}",
                json!({"updated": updated.iter().map(|(n, note)| json!({"migration": n, "audit": note})).collect::<Vec<_>>()})
            ),
            Format::Text if updated.is_empty() => {
                outln!(ctx, "No applied migration was edited.")
            }
            Format::Text => {
                for (_, note) in &updated {
                    outln!(ctx, "{note}");
                }
            }
        }
        return Ok(Outcome::Success);
    }
    let status = migrate::status(&mut target.db, &target.migrations).await?;
    match args.common.format {
        Format::Json => outln!(
            ctx,
            "{:#}",
            json!({"edited": status.edited, "missing": status.missing})
        ),
        Format::Text if status.edited.is_empty() && status.missing.is_empty() => {
            outln!(ctx, "Every applied migration matches its file.")
        }
        Format::Text => {
            for name in &status.edited {
                outln!(ctx, "edited since applied: {name}");
            }
            for name in &status.missing {
                outln!(ctx, "applied, but not in these migrations: {name}");
            }
        }
    }
    Ok(if status.edited.is_empty() && status.missing.is_empty() {
        Outcome::Success
    } else {
        Outcome::MigrationDrift
    })
}
