//! `vivr migrate resolve`: record a migration as applied (baseline) or a failed one as rolled back.

use super::*;
use crate::exit::Outcome;
use crate::migrate::{self, DeployOptions};
use crate::output::{Ctx, Report};
use anyhow::bail;
use serde::Serialize;
use std::time::Duration;

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("how").required(true).args(["applied", "rolled_back"])))]
pub struct ResolveArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Record NAME as applied without running it.
    #[arg(long, value_name = "NAME")]
    pub applied: Option<String>,
    /// Mark the failed migration NAME as rolled back, so that deploy runs it again.
    #[arg(long, value_name = "NAME")]
    pub rolled_back: Option<String>,
    /// Seconds to wait for another migrator's advisory lock.
    #[arg(long, default_value_t = 60)]
    pub lock_timeout: u64,
}

pub async fn run(args: ResolveArgs, ctx: &Ctx) -> anyhow::Result<Outcome> {
    let mut target = open(&args.common, false).await?;
    let options = DeployOptions {
        lock_timeout: Duration::from_secs(args.lock_timeout),
        ..DeployOptions::default()
    };
    let (resolution, done) = match (&args.applied, &args.rolled_back) {
        (Some(name), None) => (migrate::Resolution::Applied(name), "recorded as applied"),
        (None, Some(name)) => (
            migrate::Resolution::RolledBack(name),
            "marked as rolled back; the next deploy runs it again",
        ),
        _ => bail!("give exactly one of --applied NAME or --rolled-back NAME"),
    };
    migrate::resolve(&mut target.db, &target.migrations, resolution, &options).await?;
    let report = Resolved {
        migration: resolution.name().to_owned(),
        result: done,
    };
    ctx.emit(&report, args.common.format)
}

#[derive(Debug, Serialize)]
pub struct Resolved {
    migration: String,
    result: &'static str,
}

impl Report for Resolved {
    fn text(&self) -> String {
        format!("Migration {} {}.\n", self.migration, self.result)
    }
}
