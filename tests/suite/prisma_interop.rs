//! vivr and Prisma's own CLI (`prisma migrate`, from tests/prisma) on one PostgreSQL database: each reads the
//! `_prisma_migrations` rows the other wrote with the same meaning — applied, failed, rolled back, resolved — and
//! the rows vivr writes have the shape of Prisma's.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::process::vivr_output;
use crate::common::{TestDb, add_migration, migrations_copy, missing_component};
use sqlx::Connection;

/// The Prisma harness installed by `scripts/test` (`npm ci` in tests/prisma).
fn prisma_dir() -> Option<PathBuf> {
    match std::env::var("VIVR_TEST_PRISMA") {
        Ok(dir) if Path::new(&dir).join("node_modules/.bin/prisma").exists() => Some(dir.into()),
        _ => missing_component(
            "Prisma's CLI (VIVR_TEST_PRISMA)",
            "run scripts/test with Node.js and npm installed",
        ),
    }
}

struct Prisma {
    dir: PathBuf,
    /// Prisma's CLI looks for its native engines before it reads its configuration, and `migrate resolve` asks the
    /// native schema engine whether the database is reachable. The harness uses the JavaScript engine for all real
    /// work, so stand-ins take their place (nothing is downloaded): the schema engine's answers only that probe
    /// and fails anything else, so a command that needed the native engine fails here rather than pass unseen.
    stand_ins: tempfile::TempDir,
}

impl Prisma {
    fn new() -> Option<Self> {
        use std::os::unix::fs::PermissionsExt;
        let dir = prisma_dir()?;
        let stand_ins = tempfile::tempdir().unwrap();
        std::fs::write(stand_ins.path().join("libquery_engine.so.node"), "").unwrap();
        let engine = stand_ins.path().join("schema-engine");
        std::fs::write(
            &engine,
            "#!/bin/sh\ncase \"$*\" in *can-connect-to-database*) exit 0 ;; esac\n\
             echo \"native schema engine called: $*\" >&2\nexit 1\n",
        )
        .unwrap();
        std::fs::set_permissions(&engine, std::fs::Permissions::from_mode(0o755)).unwrap();
        Some(Prisma { dir, stand_ins })
    }

    /// `prisma migrate ARGS` on `url` with the migrations in `migrations`: (exit code, stdout + stderr).
    fn migrate(&self, url: &str, migrations: &Path, args: &[&str]) -> (i32, String) {
        let output = Command::new(self.dir.join("node_modules/.bin/prisma"))
            .arg("migrate")
            .args(args)
            .current_dir(&self.dir)
            .env("DATABASE_URL", url)
            .env("VIVR_PRISMA_MIGRATIONS", migrations)
            .env(
                "PRISMA_QUERY_ENGINE_LIBRARY",
                self.stand_ins.path().join("libquery_engine.so.node"),
            )
            .env(
                "PRISMA_SCHEMA_ENGINE_BINARY",
                self.stand_ins.path().join("schema-engine"),
            )
            .env("CHECKPOINT_DISABLE", "1")
            .env("PRISMA_HIDE_UPDATE_MESSAGE", "1")
            .output()
            .expect("run prisma");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.code().unwrap_or(-1), text)
    }
}

fn vivr_migrate(url: &str, dir: &Path, args: &[&str]) -> (i32, String) {
    let mut all = vec!["migrate"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--dir", dir.to_str().unwrap(), "--database-url", url]);
    let (status, stdout, stderr) = vivr_output(&all, None);
    (status.code().unwrap_or(-1), format!("{stdout}{stderr}"))
}

fn state(status_json: &str, name: &str) -> String {
    let json: serde_json::Value = serde_json::from_str(status_json).unwrap();
    json["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .map(|m| m["state"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("{name} in {status_json}"))
}

/// One history row, as the columns' shapes: (name, id is a UUID, checksum is 64 lower-case hex digits, finished,
/// logs, rolled back, started ≤ finished, applied_steps_count).
type Shape = (String, bool, bool, bool, Option<String>, bool, bool, i32);

async fn shapes(url: &str) -> Vec<Shape> {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query_as(
        "SELECT migration_name,
                id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$',
                checksum ~ '^[0-9a-f]{64}$',
                finished_at IS NOT NULL,
                logs,
                rolled_back_at IS NOT NULL,
                started_at <= coalesce(finished_at, rolled_back_at, started_at),
                applied_steps_count
           FROM _prisma_migrations ORDER BY started_at, migration_name",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap()
}

#[tokio::test]
async fn prisma_and_vivr_read_each_others_history() {
    let Some(prisma) = Prisma::new() else { return };
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let all = migrations_copy();
    let names: Vec<String> = {
        let mut names: Vec<String> = std::fs::read_dir(all.path())
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    };
    // Prisma applies the first two migrations.
    let first = tempfile::tempdir().unwrap();
    std::fs::copy(
        all.path().join("migration_lock.toml"),
        first.path().join("migration_lock.toml"),
    )
    .unwrap();
    for name in &names[..2] {
        add_migration(
            first.path(),
            name,
            &std::fs::read_to_string(all.path().join(name).join("migration.sql")).unwrap(),
        );
    }
    let (code, out) = prisma.migrate(&db.url, first.path(), &["deploy"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("All migrations have been successfully applied"),
        "{out}"
    );

    // vivr reads Prisma's rows: those two applied (checksums match), the rest pending.
    let (code, out) = vivr_migrate(&db.url, all.path(), &["status", "--format", "json"]);
    assert_eq!(code, 1, "pending → 1: {out}");
    assert_eq!(state(&out, &names[0]), "applied");
    assert_eq!(state(&out, &names[1]), "applied");
    assert_eq!(state(&out, &names[2]), "pending");

    // vivr applies the rest; Prisma reads vivr's rows and finds nothing to do.
    let (code, out) = vivr_migrate(&db.url, all.path(), &["deploy"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = prisma.migrate(&db.url, all.path(), &["status"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Database schema is up to date!"), "{out}");
    let (code, out) = prisma.migrate(&db.url, all.path(), &["deploy"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("No pending migrations to apply"), "{out}");

    // The rows vivr wrote have exactly the shape of the rows Prisma wrote.
    let rows = shapes(&db.url).await;
    assert_eq!(rows.len(), names.len());
    let prisma_shape = |r: &Shape| (r.1, r.2, r.3, r.4.clone(), r.5, r.6, r.7);
    for row in &rows {
        assert_eq!(
            prisma_shape(row),
            prisma_shape(&rows[0]),
            "{} against Prisma's {}",
            row.0,
            rows[0].0
        );
    }
    assert_eq!(
        prisma_shape(&rows[0]),
        (true, true, true, None, false, true, 1)
    );

    // A migration that fails under vivr is a failed migration to Prisma (P3009)…
    add_migration(
        all.path(),
        "29990101000000_broken",
        "CREATE TABLE \"Half\" (id int);\nSELECT 1 / 0;\n",
    );
    let (code, out) = vivr_migrate(&db.url, all.path(), &["deploy"]);
    assert_eq!(code, 2, "{out}");
    let (code, out) = prisma.migrate(&db.url, all.path(), &["deploy"]);
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("P3009") && out.contains("29990101000000_broken"),
        "{out}"
    );
    let failed = shapes(&db.url).await.pop().unwrap();
    assert!(!failed.3 && !failed.5 && failed.7 == 0, "{failed:?}");
    assert!(
        failed
            .4
            .as_deref()
            .is_some_and(|logs| logs.contains("22012")),
        "the error is in logs, as Prisma writes it: {failed:?}"
    );

    // …which Prisma resolves as rolled back, and vivr then sees as pending again and applies once fixed.
    let (code, out) = prisma.migrate(
        &db.url,
        all.path(),
        &["resolve", "--rolled-back", "29990101000000_broken"],
    );
    assert_eq!(code, 0, "{out}");
    let (code, out) = vivr_migrate(&db.url, all.path(), &["status", "--format", "json"]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(state(&out, "29990101000000_broken"), "pending");
    std::fs::write(
        all.path().join("29990101000000_broken/migration.sql"),
        "CREATE TABLE \"Half\" (id int);\n",
    )
    .unwrap();
    let (code, out) = vivr_migrate(&db.url, all.path(), &["deploy"]);
    assert_eq!(code, 0, "{out}");

    // A migration Prisma marks as applied without running it is applied to vivr too.
    add_migration(
        all.path(),
        "29990102000000_applied_by_hand",
        "CREATE TABLE \"ByHand\" (id int);\n",
    );
    let (code, out) = prisma.migrate(
        &db.url,
        all.path(),
        &["resolve", "--applied", "29990102000000_applied_by_hand"],
    );
    assert_eq!(code, 0, "{out}");
    let (code, out) = vivr_migrate(&db.url, all.path(), &["status", "--format", "json"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(state(&out, "29990102000000_applied_by_hand"), "applied");

    // And the other way round: vivr's `resolve --applied` row is applied to Prisma.
    add_migration(
        all.path(),
        "29990103000000_resolved_by_vivr",
        "CREATE TABLE \"ByVivr\" (id int);\n",
    );
    let (code, out) = vivr_migrate(
        &db.url,
        all.path(),
        &["resolve", "--applied", "29990103000000_resolved_by_vivr"],
    );
    assert_eq!(code, 0, "{out}");
    let (code, out) = prisma.migrate(&db.url, all.path(), &["status"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Database schema is up to date!"), "{out}");
    let rows = shapes(&db.url).await;
    let by_prisma = rows
        .iter()
        .find(|r| r.0 == "29990102000000_applied_by_hand")
        .unwrap();
    let by_vivr = rows
        .iter()
        .find(|r| r.0 == "29990103000000_resolved_by_vivr")
        .unwrap();
    assert_eq!(prisma_shape(by_vivr), prisma_shape(by_prisma));
}
