//! `vivr backup restore`: a backup into a database, checked against its manifest.

use anyhow::bail;
use serde::Serialize;

use super::*;

/// What `restore` did.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreReport {
    pub id: String,
    pub database: String,
    pub migration_head: Option<MigrationHead>,
    pub tables: usize,
}

/// Restores backup `id` into the database at `target_url`, in one transaction. Checks the object's SHA-256
/// before touching the target; refuses a target that has tables unless `clean`.
pub async fn restore(
    store: &dyn BackupStore,
    id: &str,
    target_url: &str,
    clean: bool,
    tools: &PgTools,
    progress: Option<&Progress>,
) -> anyhow::Result<RestoreReport> {
    let manifest = store.read_manifest(id).await?;
    if manifest.object == sqlite::OBJECT {
        if !target_url.starts_with("sqlite:") {
            bail!("backup {id} is of a SQLite database; restore it to a sqlite:// URL");
        }
        let head = sqlite::restore(store, &manifest, target_url, clean).await?;
        return Ok(RestoreReport {
            id: id.to_string(),
            database: crate::migrate::sqlite_file(target_url)
                .display()
                .to_string(),
            migration_head: head,
            tables: manifest.tables.len(),
        });
    }
    let sha = store.sha256(id, &manifest.object).await?;
    if sha != manifest.sha256 {
        bail!(
            "backup {id} is damaged: its SHA-256 is {sha}, the manifest says {}; nothing was restored",
            manifest.sha256
        );
    }
    let env = PgEnv::from_url(target_url)?;
    let (mut conn, server_major, _) = connect(target_url).await?;
    tools.check_against(server_major).await?;
    let existing: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()",
    )
    .fetch_one(&mut conn)
    .await?;
    if existing > 0 && !clean {
        bail!(
            "the target database {} already has {existing} table(s); pass --clean to replace them",
            env.database
        );
    }
    let mut command = tools.command("pg_restore");
    env.apply(&mut command);
    command.args([
        "--dbname",
        &env.database,
        "--exit-on-error",
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
    ]);
    if clean {
        command.args(["--clean", "--if-exists"]);
    }
    let restored = pipe_to_restore(store, id, command, progress).await?;
    if !restored.status.success() {
        bail!(
            "pg_restore failed; the restore ran in one transaction, so the target is as it was: {}",
            pgtools::stderr_tail(&restored.stderr)
        );
    }
    let head = migration_head(&mut conn).await?;
    Ok(RestoreReport {
        id: id.to_string(),
        database: env.database,
        migration_head: head,
        tables: manifest.tables.len(),
    })
}
