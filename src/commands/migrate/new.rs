//! `vivr migrate new`: a new, empty migration folder.

use crate::exit::Outcome;
use crate::migrate;
use crate::outln;
use crate::output::Ctx;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct NewArgs {
    /// What the migration does, e.g. add_wishlist_index.
    pub name: String,
    /// The migrations folder to create it in.
    #[arg(long, default_value = "migrations/postgres")]
    pub dir: PathBuf,
}

pub async fn run(args: NewArgs, ctx: &Ctx) -> anyhow::Result<Outcome> {
    let path = migrate::create(&args.dir, &args.name, chrono::Utc::now())?;
    outln!(ctx, "{}", path.join("migration.sql").display());
    Ok(Outcome::Success)
}
