//! `vivr migrate new`: a new, empty migration folder.

use crate::cli::Format;
use crate::exit::Outcome;
use crate::migrate;
use crate::output::{Ctx, Report};
use serde::Serialize;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct NewArgs {
    /// What the migration does, e.g. add_wishlist_index.
    pub name: String,
    /// The migrations folder to create it in.
    #[arg(long, default_value = "migrations/postgres")]
    pub dir: PathBuf,
    /// text (the new file's path) or json.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Serialize)]
pub struct Created {
    /// The new, empty migration.sql, to be written.
    file: PathBuf,
}

impl Report for Created {
    fn text(&self) -> String {
        format!("{}\n", self.file.display())
    }
}

pub async fn run(args: NewArgs, ctx: &Ctx) -> anyhow::Result<Outcome> {
    let path = migrate::create(&args.dir, &args.name, chrono::Utc::now())?;
    let report = Created {
        file: path.join("migration.sql"),
    };
    ctx.emit(&report, args.format)
}
