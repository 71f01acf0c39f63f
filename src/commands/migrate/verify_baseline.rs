//! `vivr migrate verify-baseline`: an existing database against what the migrations would create.

use super::*;
use crate::cli::Format;
use crate::exit::Outcome;
use crate::migrate;
use crate::outln;
use crate::output::Ctx;
use anyhow::bail;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde_json::json;
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
    match args.common.format {
        Format::Json => outln!(
            ctx,
            "{:#}",
            json!({"baseline": args.name, "matches": differences.is_empty(), "differences": differences})
        ),
        Format::Text if differences.is_empty() => outln!(
            ctx,
            "The database matches what the migrations up to {} create: `vivr migrate resolve --applied {}` \
             is safe.",
            args.name,
            args.name
        ),
        Format::Text => {
            let mut table = Table::new();
            table.load_preset(UTF8_FULL_CONDENSED);
            table.set_header(["object", "the migrations create", "the database has"]);
            for d in &differences {
                table.add_row([
                    d.object.clone(),
                    d.expected.clone().unwrap_or_else(|| "—".into()),
                    d.actual.clone().unwrap_or_else(|| "—".into()),
                ]);
            }
            outln!(ctx, "{table}");
            outln!(
                ctx,
                "{} difference(s): the database is not at {}; do not baseline it there as it is.",
                differences.len(),
                args.name
            );
        }
    }
    Ok(if differences.is_empty() {
        Outcome::Success
    } else {
        Outcome::CheckFailed
    })
}
