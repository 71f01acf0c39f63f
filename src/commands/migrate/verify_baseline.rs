//! `vivr migrate verify-baseline`: an existing database against what the migrations would create.

use super::*;
use crate::exit::Outcome;
use crate::migrate;
use crate::migrate::baseline::Difference;
use crate::output::{Ctx, Report, table};
use anyhow::bail;
use serde::Serialize;
use vivr_shop::store::Backend;

#[derive(Debug, clap::Args)]
pub struct VerifyBaselineArgs {
    /// The migration the database is believed to be at.
    pub name: String,
    #[command(flatten)]
    pub common: CommonArgs,
}

pub async fn run(args: VerifyBaselineArgs, ctx: &Ctx) -> anyhow::Result<Outcome> {
    let url = args.common.url()?;
    let backend = Backend::from_url(url);
    if backend != Some(Backend::Postgres) {
        bail!("verify-baseline compares PostgreSQL catalogs; give a postgres:// DATABASE_URL");
    }
    let migrations = match &args.common.dir {
        Some(dir) => migrate::from_dir(dir, Backend::Postgres)?,
        None => migrate::embedded(Backend::Postgres),
    };
    let differences = migrate::baseline::verify_baseline(url, &migrations, &args.name).await?;
    let report = BaselineReport {
        matches: differences.is_empty(),
        baseline: args.name,
        differences,
    };
    ctx.emit(&report, args.common.format)
}

#[derive(Debug, Serialize)]
pub struct BaselineReport {
    baseline: String,
    matches: bool,
    differences: Vec<Difference>,
}

impl Report for BaselineReport {
    fn text(&self) -> String {
        let name = &self.baseline;
        if self.differences.is_empty() {
            return format!(
                "The database matches what the migrations up to {name} create: `vivr migrate resolve --applied \
                 {name}` is safe.\n"
            );
        }
        let mut table = table(["object", "the migrations create", "the database has"]);
        for d in &self.differences {
            table.add_row([
                d.object.clone(),
                d.expected.clone().unwrap_or_else(|| "—".into()),
                d.actual.clone().unwrap_or_else(|| "—".into()),
            ]);
        }
        format!(
            "{table}\n{} difference(s): the database is not at {name}; do not baseline it there as it is.\n",
            self.differences.len()
        )
    }

    fn outcome(&self) -> Outcome {
        Outcome::check(!self.matches)
    }
}
