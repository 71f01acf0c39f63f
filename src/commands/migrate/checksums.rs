//! `vivr migrate checksums`: applied migrations edited since, and recording their new checksums.

use super::*;
use crate::exit::Outcome;
use crate::migrate::{self, DeployOptions};
use crate::output::{Ctx, Report};
use serde::Serialize;
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

/// `checksums --update`: the migrations whose checksum was recorded anew, with the audit note kept.
#[derive(Debug, Serialize)]
pub struct UpdatedReport {
    updated: Vec<Updated>,
}

#[derive(Debug, Serialize)]
struct Updated {
    migration: String,
    audit: String,
}

impl Report for UpdatedReport {
    fn text(&self) -> String {
        if self.updated.is_empty() {
            return "No applied migration was edited.\n".to_string();
        }
        self.updated
            .iter()
            .map(|u| format!("{}\n", u.audit))
            .collect()
    }
}

/// `checksums`: the applied migrations that no longer match a file (edited) or have none (missing).
#[derive(Debug, Serialize)]
pub struct DriftReport {
    edited: Vec<String>,
    missing: Vec<String>,
}

impl Report for DriftReport {
    fn text(&self) -> String {
        if self.edited.is_empty() && self.missing.is_empty() {
            return "Every applied migration matches its file.\n".to_string();
        }
        let edited = self
            .edited
            .iter()
            .map(|name| format!("edited since applied: {name}\n"));
        let missing = self
            .missing
            .iter()
            .map(|name| format!("applied, but not in these migrations: {name}\n"));
        edited.chain(missing).collect()
    }

    fn outcome(&self) -> Outcome {
        if self.edited.is_empty() && self.missing.is_empty() {
            Outcome::Success
        } else {
            Outcome::MigrationDrift
        }
    }
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
        let report = UpdatedReport {
            updated: updated
                .into_iter()
                .map(|(migration, audit)| Updated { migration, audit })
                .collect(),
        };
        return ctx.emit(&report, args.common.format);
    }
    let status = migrate::status(&mut target.db, &target.migrations).await?;
    let report = DriftReport {
        edited: status.edited,
        missing: status.missing,
    };
    ctx.emit(&report, args.common.format)
}
