//! Migration files: the ones built into vivr, a directory of them (Prisma's layout), and a new one.

use std::borrow::Cow;
use std::path::Path;

use anyhow::{Context, bail};

use super::*;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_migrations.rs"));
}

/// The migrations this build carries for a database, in apply order.
pub fn embedded(backend: Backend) -> Vec<Migration> {
    let table = match backend {
        Backend::Postgres => embedded::POSTGRES,
        Backend::Sqlite => embedded::SQLITE,
    };
    table
        .iter()
        .map(|(name, sql)| Migration {
            name: Cow::Borrowed(name),
            sql: Cow::Borrowed(sql),
        })
        .collect()
}

/// Prisma rejects longer migration names.
const MAX_NAME_BYTES: usize = 200;

/// The migrations of a folder in Prisma's layout (`<dir>/<name>/migration.sql`, `<dir>/migration_lock.toml`),
/// in apply (lexicographic) order. The lock file's provider must match the database.
pub fn from_dir(dir: &Path, backend: Backend) -> anyhow::Result<Vec<Migration>> {
    let lock = dir.join("migration_lock.toml");
    let provider = match backend {
        Backend::Postgres => "postgresql",
        Backend::Sqlite => "sqlite",
    };
    match std::fs::read_to_string(&lock) {
        Ok(text) => {
            let declared = text
                .lines()
                .filter_map(|l| l.trim().strip_prefix("provider"))
                .filter_map(|rest| rest.trim().strip_prefix('='))
                .map(|v| v.trim().trim_matches('"').to_string())
                .next();
            match declared {
                Some(p) if p == provider => {}
                Some(p) => bail!(
                    "{}: provider is {p:?} but the database is {provider:?} (P3019); point --dir at the {provider} migrations",
                    lock.display()
                ),
                None => bail!("{}: no `provider = \"...\"` line", lock.display()),
            }
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            bail!(
                "{}: missing (every migrations folder has one)",
                lock.display()
            )
        }
        Err(err) => return Err(err).with_context(|| format!("reading {}", lock.display())),
    }
    let mut migrations = Vec::new();
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("reading the folder {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("reading the folder {}", dir.display()))?;
        if !entry.path().is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.len() > MAX_NAME_BYTES {
            bail!("migration folder {name:?} is longer than {MAX_NAME_BYTES} bytes");
        }
        let file = entry.path().join("migration.sql");
        let sql = std::fs::read_to_string(&file).with_context(|| {
            format!(
                "{}: every migration folder needs a migration.sql",
                file.display()
            )
        })?;
        migrations.push(Migration {
            name: Cow::Owned(name),
            sql: Cow::Owned(sql),
        });
    }
    migrations.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(migrations)
}

/// Creates `<dir>/<UTC timestamp>_<name>/migration.sql` (Prisma's layout) and returns the folder. The name is
/// lower-cased with anything but letters, digits and `_` turned into `_`.
pub fn create(
    dir: &Path,
    name: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<std::path::PathBuf> {
    if !dir.join("migration_lock.toml").exists() {
        bail!(
            "{} is not a migrations folder (no migration_lock.toml); use --dir migrations/postgres or migrations/sqlite",
            dir.display()
        );
    }
    let cleaned: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let cleaned = cleaned.trim_matches('_').to_string();
    if cleaned.is_empty() {
        bail!("NAME: give the migration a name made of letters or digits, e.g. add_wishlist_index");
    }
    let folder = format!("{}_{cleaned}", now.format("%Y%m%d%H%M%S"));
    if folder.len() > MAX_NAME_BYTES {
        bail!("NAME: {folder:?} is longer than {MAX_NAME_BYTES} bytes");
    }
    let path = dir.join(&folder);
    if let Some(newest) = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .max()
        && newest >= folder
    {
        bail!("{newest} would sort after the new migration {folder}; check the system clock");
    }
    std::fs::create_dir(&path).with_context(|| format!("creating {}", path.display()))?;
    std::fs::write(
        path.join("migration.sql"),
        format!("-- {cleaned}\n-- Applied in one transaction by `vivr migrate deploy`.\n\n"),
    )
    .with_context(|| format!("writing {}/migration.sql", path.display()))?;
    Ok(path)
}
