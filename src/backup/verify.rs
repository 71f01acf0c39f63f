//! `vivr backup verify`: a backup read in full and checked against its manifest, up to a restore into a scratch
//! database.

use anyhow::{Context, bail};
use chrono::Utc;
use serde::Serialize;
use sqlx::Connection;

use super::*;

/// The outcome of `verify`.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub id: String,
    pub level: u8,
    pub ok: bool,
    pub checks: Vec<(String, bool, String)>,
}

#[derive(Clone)]
pub struct VerifyOptions {
    pub tools: PgTools,
    /// L3: the server to restore into (a scratch database is created there and dropped afterwards).
    pub scratch_url: Option<String>,
    pub progress: Option<Progress>,
}

/// Verifies a backup at `level` (1, 2 or 3) and records the result in its manifest.
pub async fn verify(
    store: &dyn BackupStore,
    id: &str,
    level: u8,
    options: &VerifyOptions,
) -> anyhow::Result<VerifyReport> {
    if !(1..=3).contains(&level) {
        bail!("--level must be 1, 2 or 3");
    }
    let mut manifest = store.read_manifest(id).await?;
    let mut checks = Vec::new();
    let size = store.size(id, &manifest.object).await?;
    checks.push((
        "size".to_string(),
        size == manifest.compressed_bytes,
        format!(
            "{size} bytes stored, {} in the manifest",
            manifest.compressed_bytes
        ),
    ));
    match level {
        1 => {
            let sha = store.sha256(id, &manifest.object).await?;
            checks.push(("sha256".into(), sha == manifest.sha256, sha));
        }
        _ if manifest.object == sqlite::OBJECT => {
            checks.extend(sqlite::verify(store, &manifest, level).await?);
        }
        2 => {
            let mut command = options.tools.command("pg_restore");
            command.args(["--file=/dev/null"]);
            let read = pipe_to_restore(store, id, command, options.progress.as_ref()).await?;
            checks.push(("sha256".into(), read.sha256 == manifest.sha256, read.sha256));
            checks.push((
                "full read (pg_restore -f /dev/null)".into(),
                read.status.success(),
                pgtools::stderr_tail(&read.stderr),
            ));
        }
        _ => {
            let url = options.scratch_url.as_deref().context(
                "level 3 needs a server to restore into (--scratch-url or DATABASE_URL)",
            )?;
            checks.extend(
                verify_by_restore(
                    store,
                    &manifest,
                    url,
                    &options.tools,
                    options.progress.as_ref(),
                )
                .await?,
            );
        }
    }
    let ok = checks.iter().all(|(_, ok, _)| *ok);
    let verification = Verification {
        level,
        ok,
        at: Utc::now(),
        detail: checks
            .iter()
            .filter(|c| !c.1)
            .map(|c| format!("{}: {}", c.0, c.2))
            .collect::<Vec<_>>()
            .join("; "),
    };
    manifest.verifications.push(verification.clone());
    manifest.verification = Some(verification);
    store.write_manifest(&manifest).await?;
    Ok(VerifyReport {
        id: id.to_string(),
        level,
        ok,
        checks,
    })
}

/// L3: restore into a fresh scratch database and compare every table's row count and the migration head.
pub(super) async fn verify_by_restore(
    store: &dyn BackupStore,
    manifest: &Manifest,
    server_url: &str,
    tools: &PgTools,
    progress: Option<&Progress>,
) -> anyhow::Result<Vec<(String, bool, String)>> {
    let scratch = format!(
        "vivr_verify_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let (mut admin, _, _) = connect(server_url).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE DATABASE \"{scratch}\""
    )))
    .execute(&mut admin)
    .await
    .context("creating the scratch database (the role needs CREATEDB)")?;
    let result = async {
        let env = PgEnv::from_url(server_url)?.with_database(&scratch);
        let mut command = tools.command("pg_restore");
        env.apply(&mut command);
        command.args([
            "--dbname",
            &scratch,
            "--exit-on-error",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
        ]);
        let restored = pipe_to_restore(store, &manifest.id, command, progress).await?;
        let restored_ok = restored.status.success();
        let mut checks = vec![
            (
                "sha256".to_string(),
                restored.sha256 == manifest.sha256,
                restored.sha256,
            ),
            (
                "restore into a scratch database".to_string(),
                restored_ok,
                pgtools::stderr_tail(&restored.stderr),
            ),
        ];
        if restored_ok {
            let scratch_url = crate::migrate::url_with_database(server_url, &scratch)?;
            let mut conn = crate::migrate::pg_connect(&scratch_url, "vivr backup verify").await?;
            let counts = pg_row_counts(&mut conn).await?;
            let head = migration_head(&mut conn).await?;
            checks.extend(compare_with_manifest(manifest, &counts, head));
            conn.close().await.ok();
        }
        Ok::<_, anyhow::Error>(checks)
    }
    .await;
    let dropped = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{scratch}\" WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await;
    if let Err(err) = dropped {
        tracing::warn!(error = %err, database = %scratch, "could not drop the scratch database");
    }
    result
}

/// L3's comparison of what a restore holds with what the manifest recorded at backup time.
pub(super) fn compare_with_manifest(
    manifest: &Manifest,
    counts: &RowCounts,
    head: Option<MigrationHead>,
) -> Vec<(String, bool, String)> {
    let differing: Vec<String> = manifest
        .tables
        .iter()
        .filter(|(t, n)| counts.get(*t) != Some(n))
        .map(|(t, n)| format!("{t}: {n} in the backup, {:?} restored", counts.get(t)))
        .collect();
    vec![
        (
            format!("row counts of {} tables", manifest.tables.len()),
            differing.is_empty() && counts.len() == manifest.tables.len(),
            differing.join(", "),
        ),
        (
            "migration head".to_string(),
            head == manifest.migration_head,
            head.map(|h| h.name).unwrap_or_else(|| "none".into()),
        ),
    ]
}
