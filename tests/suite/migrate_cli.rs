//! `vivr migrate` as operators and CI run it: the binary against PostgreSQL 15 and SQLite, checking exit codes,
//! output and what is (or is not) left in the database.

use std::path::Path;
use std::time::Duration;

use crate::common::process::{vivr_into_closed_pipe, vivr_output};
use crate::common::{
    TestDb, add_migration, migrations_copy, migrations_copy_of, postgres_migration_count,
};
use sqlx::Connection;

/// `vivr migrate ARGS --database-url URL`: (exit code, stdout, stderr).
fn migrate(url: &str, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["migrate"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--database-url", url]);
    let (status, stdout, stderr) = vivr_output(&all, None);
    (status.code().unwrap_or(-1), stdout, stderr)
}

async fn pg(url: &str) -> sqlx::PgConnection {
    sqlx::PgConnection::connect(url).await.unwrap()
}

async fn table_exists(url: &str, table: &str) -> bool {
    sqlx::query_scalar::<_, bool>(
        "SELECT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = 'public' AND table_name = $1)",
    )
    .bind(table)
    .fetch_one(&mut pg(url).await)
    .await
    .unwrap()
}

#[tokio::test]
async fn status_plan_and_deploy_on_postgresql() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let (code, out, _) = migrate(&db.url, &["status", "--format", "json"]);
    assert_eq!(code, 1, "pending → 1: {out}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["migrations"][0]["state"], "pending");
    assert_eq!(json["history_table"], false);
    assert!(!out.contains("postgres@"), "credentials redacted: {out}");

    let (code, out, err) = migrate(&db.url, &["plan", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let plan: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        plan["pending"].as_array().unwrap().len(),
        postgres_migration_count()
    );
    assert_eq!(plan["pending"][0]["name"], "20260130000000_init");
    assert_eq!(plan["pending"][0]["session"]["lock_timeout"], "5000ms");
    assert_eq!(
        plan["pending"][0]["session"]["application_name"],
        "vivr migrate 20260130000000_init"
    );
    assert_eq!(plan["creates_history_table"], true);
    let money = &plan["pending"][1];
    assert_eq!(money["name"], "20261124090000_money_in_integer_cents");
    assert!(
        money["locks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l[0] == "Product" && l[1] == "ACCESS EXCLUSIVE"),
        "{money:#}"
    );
    assert!(
        !table_exists(&db.url, "_prisma_migrations").await,
        "plan changes nothing, not even the history table"
    );

    let (code, out, err) = migrate(&db.url, &["deploy"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!(
            "Applied {} migration(s)",
            postgres_migration_count()
        )),
        "{out}"
    );
    let (code, out, _) = migrate(&db.url, &["status"]);
    assert_eq!(code, 0);
    assert!(out.contains("Database schema is up to date."), "{out}");
    let (code, out, _) = migrate(&db.url, &["deploy"]);
    assert_eq!(code, 0);
    assert!(out.contains("No pending migrations"), "{out}");

    // Rows as Prisma writes them.
    let rows: Vec<(String, i32, bool)> = sqlx::query_as(
        "SELECT migration_name, applied_steps_count, finished_at IS NOT NULL FROM _prisma_migrations ORDER BY migration_name",
    )
    .fetch_all(&mut pg(&db.url).await)
    .await
    .unwrap();
    assert_eq!(rows.len(), postgres_migration_count());
    assert!(
        rows.iter()
            .all(|(_, steps, finished)| *steps == 1 && *finished)
    );
}

#[tokio::test]
async fn a_failed_migration_leaves_nothing_blocks_and_is_resolved() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let dir = migrations_copy();
    let d = dir.path().to_str().unwrap();
    add_migration(
        dir.path(),
        "29990101000000_broken",
        "CREATE TABLE \"Half\" (id int);\nSELECT 1 / 0;\n",
    );
    let (code, _, err) = migrate(&db.url, &["deploy", "--dir", d]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("29990101000000_broken") && err.contains("22012"),
        "{err}"
    );
    // Each refusal points at the runbook section that says what to do (tests/suite/runbooks.rs checks they exist).
    assert!(
        err.contains(
            "error: the migration was rolled back: migration 29990101000000_broken failed"
        ) && err.contains("\nsee runbooks/migrations.md#a-migration-failed\n"),
        "{err}"
    );
    assert!(
        !table_exists(&db.url, "Half").await,
        "nothing of the failed file stays"
    );
    assert!(
        table_exists(&db.url, "Product").await,
        "the earlier migrations stay applied"
    );

    let (code, out, _) = migrate(&db.url, &["status", "--dir", d]);
    assert_eq!(code, 3, "failed → 3: {out}");
    assert!(out.contains("failed"), "{out}");
    assert!(
        out.contains("See runbooks/migrations.md#a-migration-failed"),
        "{out}"
    );
    let (code, _, err) = migrate(&db.url, &["deploy", "--dir", d]);
    assert_eq!(
        code, 3,
        "deploy gives status's code for the same state: {err}"
    );
    assert!(err.contains("P3009"), "{err}");
    assert!(
        err.contains("see runbooks/migrations.md#a-migration-failed"),
        "{err}"
    );

    let (code, _, err) = migrate(
        &db.url,
        &[
            "resolve",
            "--rolled-back",
            "20260130000000_init",
            "--dir",
            d,
        ],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("P3012"),
        "only a failed migration can be rolled back: {err}"
    );
    let (code, out, err) = migrate(
        &db.url,
        &[
            "resolve",
            "--rolled-back",
            "29990101000000_broken",
            "--dir",
            d,
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("rolled back"), "{out}");
    std::fs::write(
        dir.path().join("29990101000000_broken/migration.sql"),
        "CREATE TABLE \"Half\" (id int);\n",
    )
    .unwrap();
    let (code, out, err) = migrate(&db.url, &["deploy", "--dir", d]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("29990101000000_broken"), "{out}");
    assert_eq!(migrate(&db.url, &["status", "--dir", d]).0, 0);
}

#[tokio::test]
async fn edited_or_unknown_applied_migrations_are_drift() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let dir = migrations_copy();
    let d = dir.path().to_str().unwrap();
    add_migration(
        dir.path(),
        "29990101000000_extra",
        "CREATE TABLE \"Extra\" (id int);\n",
    );
    assert_eq!(migrate(&db.url, &["deploy", "--dir", d]).0, 0);

    let file = dir.path().join("29990101000000_extra/migration.sql");
    std::fs::write(&file, "CREATE TABLE \"Extra\" (id bigint);\n").unwrap();
    let (code, out, _) = migrate(&db.url, &["status", "--dir", d]);
    assert_eq!(code, 4, "edited → 4: {out}");
    assert!(out.contains("edited"), "{out}");
    let (code, _, err) = migrate(&db.url, &["deploy", "--dir", d]);
    assert_eq!(
        code, 4,
        "deploy gives status's code for the same state: {err}"
    );
    assert!(err.contains("edited"), "{err}");

    // An edit is let through explicitly, or recorded with a reason.
    let (code, _, err) = migrate(&db.url, &["deploy", "--dir", d, "--allow-edited"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = migrate(&db.url, &["checksums", "--dir", d]);
    assert_eq!(code, 4, "{out}");
    assert!(
        out.contains("edited since applied: 29990101000000_extra"),
        "{out}"
    );
    let (code, _, err) = migrate(
        &db.url,
        &["checksums", "--dir", d, "--update", "--reason", "short"],
    );
    assert_eq!(code, 2);
    assert!(err.contains("--reason"), "{err}");
    let (code, out, err) = migrate(
        &db.url,
        &[
            "checksums",
            "--dir",
            d,
            "--update",
            "--reason",
            "bigint is what production already has (ticket 42)",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("checksum updated by"), "{out}");
    assert_eq!(
        migrate(&db.url, &["status", "--dir", d]).0,
        0,
        "no drift any more"
    );
    let logs: String = sqlx::query_scalar(
        "SELECT logs FROM _prisma_migrations WHERE migration_name = '29990101000000_extra' AND finished_at IS NOT NULL",
    )
    .fetch_one(&mut pg(&db.url).await)
    .await
    .unwrap();
    assert!(
        logs.contains("ticket 42") && logs.contains("->"),
        "audited: {logs}"
    );

    // The built-in migrations do not know 29990101000000_extra.
    let (code, out, _) = migrate(&db.url, &["status"]);
    assert_eq!(code, 4, "missing → 4: {out}");
    assert!(
        out.contains("29990101000000_extra") && out.contains("missing"),
        "{out}"
    );
}

#[tokio::test]
async fn a_database_without_history_is_baselined_only_by_resolve() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    sqlx::raw_sql("CREATE TABLE legacy (id int)")
        .execute(&mut pg(&db.url).await)
        .await
        .unwrap();
    let (code, out, _) = migrate(&db.url, &["status"]);
    assert_eq!(code, 5, "not baselined → 5: {out}");
    let (code, _, err) = migrate(&db.url, &["deploy"]);
    assert_eq!(
        code, 5,
        "deploy gives status's code for the same state: {err}"
    );
    assert!(err.contains("P3005"), "{err}");
    let (code, _, err) = migrate(&db.url, &["resolve", "--applied", "nope"]);
    assert_eq!(code, 2);
    assert!(err.contains("P3017"), "{err}");
    let (code, _, err) = migrate(&db.url, &["resolve", "--applied", "20260130000000_init"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = migrate(&db.url, &["resolve", "--applied", "20260130000000_init"]);
    assert_eq!(code, 2);
    assert!(err.contains("P3008"), "{err}");
    let (code, out, _) = migrate(&db.url, &["status", "--format", "json"]);
    assert_eq!(code, 1, "the rest is pending: {out}");
}

#[tokio::test]
async fn lock_timeout_names_the_holder_and_concurrent_deploys_apply_once() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let mut holder = pg(&format!("{}?application_name=release-job-42", db.url)).await;
    sqlx::query("SELECT pg_advisory_lock(72707369)")
        .execute(&mut holder)
        .await
        .unwrap();
    let (code, _, err) = migrate(&db.url, &["deploy", "--lock-timeout", "1"]);
    assert_eq!(code, 6, "lock timeout → 6: {err}");
    assert!(err.contains("release-job-42"), "names the holder: {err}");
    assert!(
        err.contains("see runbooks/migrations.md#another-migrator-holds-the-lock"),
        "{err}"
    );
    assert!(!table_exists(&db.url, "Product").await);
    drop(holder);

    let url = db.url.clone();
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || migrate(&url, &["deploy", "--format", "json"]))
        })
        .collect();
    let mut applied = Vec::new();
    for run in runs {
        let (code, out, err) = run.join().unwrap();
        assert_eq!(code, 0, "{err}");
        let json: serde_json::Value = serde_json::from_str(&out).unwrap();
        applied.push(json["applied"].as_array().unwrap().len());
    }
    applied.sort();
    assert_eq!(
        applied,
        vec![0, postgres_migration_count()],
        "one applies everything, the other finds nothing pending"
    );
}

#[tokio::test]
async fn a_lock_timeout_inside_a_migration_is_retried() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    assert_eq!(migrate(&db.url, &["deploy"]).0, 0);
    let dir = migrations_copy();
    let d = dir.path().to_str().unwrap().to_string();
    add_migration(
        dir.path(),
        "29990101000000_add_column",
        "ALTER TABLE \"Product\" ADD COLUMN \"weightGrams\" INTEGER;\n",
    );
    let mut blocker = pg(&db.url).await;
    sqlx::raw_sql("BEGIN; LOCK TABLE \"Product\" IN ACCESS SHARE MODE")
        .execute(&mut blocker)
        .await
        .unwrap();
    let url = db.url.clone();
    let run = std::thread::spawn(move || {
        migrate(
            &url,
            &[
                "deploy",
                "--dir",
                &d,
                "--ddl-lock-timeout-ms",
                "300",
                "--lock-retries",
                "3",
            ],
        )
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    sqlx::raw_sql("COMMIT").execute(&mut blocker).await.unwrap();
    let (code, out, err) = run.join().unwrap();
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("29990101000000_add_column"), "{out}");
    assert!(err.contains("retrying"), "{err}");
    let attempts: Vec<(bool, bool)> = sqlx::query_as(
        "SELECT finished_at IS NOT NULL, rolled_back_at IS NOT NULL FROM _prisma_migrations
         WHERE migration_name = '29990101000000_add_column' ORDER BY started_at",
    )
    .fetch_all(&mut pg(&db.url).await)
    .await
    .unwrap();
    assert!(attempts.len() >= 2, "{attempts:?}");
    assert_eq!(attempts.last(), Some(&(true, false)));
    assert!(
        attempts[..attempts.len() - 1]
            .iter()
            .all(|a| *a == (false, true)),
        "{attempts:?}"
    );
}

#[test]
fn sqlite_status_plan_deploy_and_new() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.db");
    let url = format!("sqlite://{}", path.display());
    let (code, out, _) = migrate(&url, &["status"]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(migrate(&url, &["plan"]).0, 0);
    assert!(!path.exists(), "status and plan create nothing");
    let (code, out, err) = migrate(&url, &["deploy"]);
    assert_eq!(code, 0, "{err}");
    let sqlite_count = vivr::migrate::embedded(vivr_shop::store::Backend::Sqlite).len();
    assert!(
        out.contains(&format!("Applied {sqlite_count} migration(s)")),
        "{out}"
    );
    assert_eq!(migrate(&url, &["status"]).0, 0);

    let migrations = migrations_copy();
    let (status, out, err) = vivr_output(
        &[
            "migrate",
            "new",
            "Add wishlist index!",
            "--dir",
            migrations.path().to_str().unwrap(),
        ],
        None,
    );
    assert!(status.success(), "{err}");
    let created = Path::new(out.trim());
    assert!(created.exists(), "{out}");
    assert!(
        created
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .ends_with("_add_wishlist_index")
    );
    let (status, _, err) = vivr_output(
        &[
            "migrate",
            "new",
            "!!!",
            "--dir",
            migrations.path().to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(status.code(), Some(2));
    assert!(err.contains("NAME"), "{err}");

    // A PostgreSQL folder against a SQLite database.
    let (code, _, err) = migrate(
        &url,
        &["status", "--dir", migrations.path().to_str().unwrap()],
    );
    assert_eq!(code, 2);
    assert!(err.contains("P3019"), "{err}");
}

#[tokio::test]
async fn lint_blocks_destructive_changes_and_mixed_concurrent_indexes() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    assert_eq!(migrate(&db.url, &["deploy"]).0, 0);
    let dir = migrations_copy();
    let d = dir.path().to_str().unwrap();
    add_migration(
        dir.path(),
        "29990101000000_drop_stock",
        "ALTER TABLE \"Product\" DROP COLUMN \"stock\";\n",
    );
    let (code, out, _) = migrate(&db.url, &["plan", "--dir", d]);
    assert_eq!(code, 0);
    assert!(
        out.contains("would refuse") && out.contains("ban-drop-column"),
        "{out}"
    );
    let (code, _, err) = migrate(&db.url, &["deploy", "--dir", d]);
    assert_eq!(code, 2);
    assert!(
        err.contains("ban-drop-column") && err.contains("--allow-destructive"),
        "{err}"
    );
    let kept: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.columns WHERE table_name = 'Product' AND column_name = 'stock'",
    )
    .fetch_one(&mut pg(&db.url).await)
    .await
    .unwrap();
    assert_eq!(kept, 1, "nothing applied");
    let (code, _, err) = migrate(&db.url, &["deploy", "--dir", d, "--allow-destructive"]);
    assert_eq!(code, 0, "{err}");

    add_migration(
        dir.path(),
        "29990102000000_mixed",
        "ALTER TABLE \"Product\" ADD COLUMN \"sku\" TEXT;\nCREATE INDEX CONCURRENTLY IF NOT EXISTS \"Product_sku_idx\" ON \"Product\"(\"sku\");\n",
    );
    let (code, _, err) = migrate(&db.url, &["deploy", "--dir", d]);
    assert_eq!(code, 2);
    assert!(
        err.contains("non-transactional-statement-not-alone"),
        "{err}"
    );
    std::fs::write(
        dir.path().join("29990102000000_mixed/migration.sql"),
        "ALTER TABLE \"Product\" ADD COLUMN \"sku\" TEXT;\n",
    )
    .unwrap();
    add_migration(
        dir.path(),
        "29990103000000_sku_index",
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS \"Product_sku_idx\" ON \"Product\"(\"sku\");\n",
    );
    let (code, out, _) = migrate(&db.url, &["plan", "--dir", d, "--format", "json"]);
    assert_eq!(code, 0);
    let plan: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        plan["pending"][1]["transaction"]
            .as_str()
            .unwrap()
            .starts_with("none"),
        "{plan:#}"
    );
    let (code, _, err) = migrate(&db.url, &["deploy", "--dir", d]);
    assert_eq!(
        code, 0,
        "the concurrent index runs alone, outside a transaction: {err}"
    );
    let valid: bool = sqlx::query_scalar(
        "SELECT indisvalid FROM pg_index WHERE indexrelid = '\"Product_sku_idx\"'::regclass",
    )
    .fetch_one(&mut pg(&db.url).await)
    .await
    .unwrap();
    assert!(valid);
}

#[test]
fn lint_needs_no_database() {
    let (status, out, err) = vivr_output(&["migrate", "lint"], None);
    assert!(status.success(), "the built-in migrations pass: {out}{err}");
    assert!(out.contains("0 blocking finding(s)"), "{out}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("change.sql");
    std::fs::write(
        &file,
        "ALTER TABLE \"User\" RENAME COLUMN \"name\" TO \"fullName\";\n",
    )
    .unwrap();
    let (status, out, _) = vivr_output(
        &[
            "migrate",
            "lint",
            file.to_str().unwrap(),
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["files"][0]["findings"][0]["rule"], "renaming-column");
    assert_eq!(json["files"][0]["findings"][0]["severity"], "block");
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    // `vivr migrate lint | head -1`, `vivr completions bash | head -1`, `vivr env doc | head -1`.
    for args in [
        &["migrate", "lint"][..],
        &["completions", "bash"],
        &["completions", "fish"],
        &["env", "doc"],
    ] {
        let (status, err) = vivr_into_closed_pipe(args);
        assert_eq!(
            status.code(),
            Some(141),
            "{args:?}: SIGPIPE's status: {err}"
        );
        assert!(
            !err.contains("panicked") && err.is_empty(),
            "{args:?}: {err}"
        );
    }
}

/// The built-in migrations applied, and user `u1` (`email`) with session `s1`: a session table that a change to
/// users can cascade into.
async fn migrated_with_a_signed_in_user(url: &str, email: &str) {
    assert_eq!(migrate(url, &["deploy"]).0, 0);
    sqlx::query(r#"INSERT INTO "User" ("id", "email", "updatedAt") VALUES ('u1', $1, now())"#)
        .bind(email)
        .execute(&mut pg(url).await)
        .await
        .unwrap();
    sqlx::raw_sql(
        r#"INSERT INTO "Session" ("id", "sessionToken", "userId", "expires") VALUES ('s1', 't1', 'u1', now() + interval '1 day')"#,
    )
    .execute(&mut pg(url).await)
    .await
    .unwrap();
}

#[tokio::test]
async fn a_migration_that_loses_rows_in_tables_it_does_not_name_is_rolled_back() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    migrated_with_a_signed_in_user(&db.url, "ancien@old.test").await;
    sqlx::raw_sql(
        r#"INSERT INTO "User" ("id", "email", "updatedAt") VALUES ('u2', 'gardee@vivr.fr', now())"#,
    )
    .execute(&mut pg(&db.url).await)
    .await
    .unwrap();
    let dir = migrations_copy();
    let d = dir.path().to_str().unwrap();
    // Deleting users cascades to their sessions, a table the file never names.
    add_migration(
        dir.path(),
        "29990101000000_purge_old_accounts",
        "DELETE FROM \"User\" WHERE \"email\" LIKE '%@old.test';\n",
    );
    let (code, _, err) = migrate(&db.url, &["deploy", "--dir", d]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("Session: 1 row(s) removed"), "{err}");
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM \"User\"")
        .fetch_one(&mut pg(&db.url).await)
        .await
        .unwrap();
    assert_eq!(users, 2, "rolled back whole");
    assert_eq!(
        migrate(&db.url, &["status", "--dir", d]).0,
        3,
        "recorded as failed"
    );

    // Named tables may change: the report shows them.
    migrate(
        &db.url,
        &[
            "resolve",
            "--rolled-back",
            "29990101000000_purge_old_accounts",
            "--dir",
            d,
        ],
    );
    std::fs::write(
        dir.path().join("29990101000000_purge_old_accounts/migration.sql"),
        "DELETE FROM \"Session\" WHERE \"userId\" = 'u1';\nDELETE FROM \"User\" WHERE \"email\" LIKE '%@old.test';\n",
    )
    .unwrap();
    let (code, out, err) = migrate(&db.url, &["deploy", "--dir", d, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let tables = &json["row_changes"][0]["tables"];
    assert_eq!(
        json["row_changes"][0]["method"], "catalog",
        "no table was scanned"
    );
    assert_eq!(tables[0]["table"], "Session");
    assert_eq!(
        (
            tables[0]["inserted"].as_i64(),
            tables[0]["deleted"].as_i64()
        ),
        (Some(0), Some(1))
    );
    assert_eq!(tables[1]["table"], "User");
}

#[tokio::test]
async fn a_sqlite_migration_that_rebuilds_the_search_index_loses_no_rows() {
    let db = TestDb::sqlite();
    let store = db.seeded_store().await;
    // Each product written alone, so that the index is in many pieces a rebuild puts back as one.
    for i in 0..40 {
        let product = crate::search::uncategorised(
            &format!("Vase en grès n°{i}"),
            &format!("vase-gres-{i}"),
            "Grès émaillé.",
        );
        store
            .create_product(&product, vivr_shop::auth::now(), None)
            .await
            .unwrap();
    }
    // The full-text index's own tables are not data: the guard and backups count the tables that are.
    let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
    let counts = vivr::migrate::sqlite_row_counts(&mut conn).await.unwrap();
    assert!(counts.contains_key("Product"), "{counts:?}");
    assert!(
        !counts.keys().any(|t| t.starts_with("ProductSearch")),
        "{counts:?}"
    );
    drop(conn);

    let dir = migrations_copy_of(vivr_shop::store::Backend::Sqlite);
    add_migration(
        dir.path(),
        "29990101000000_reindex",
        "INSERT INTO \"ProductSearch\" (\"ProductSearch\") VALUES ('delete-all');\n\
         INSERT INTO \"ProductSearch\" (\"rowid\", \"searchText\")\n\
         SELECT \"rowid\", \"searchText\" FROM \"Product\" WHERE \"archivedAt\" IS NULL;\n",
    );
    let (code, out, err) = migrate(&db.url, &["deploy", "--dir", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
}

#[tokio::test]
async fn verify_baseline_lists_every_difference_with_the_migrations() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    // The original schema as `prisma db push` left it: the init migration's SQL, no history.
    let init = vivr::migrate::embedded(vivr_shop::store::Backend::Postgres)[0]
        .sql
        .to_string();
    sqlx::raw_sql(sqlx::AssertSqlSafe(init))
        .execute(&mut pg(&db.url).await)
        .await
        .unwrap();
    let (code, out, err) = migrate(&db.url, &["verify-baseline", "20260130000000_init"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("resolve --applied 20260130000000_init"),
        "{out}"
    );

    // Hand-made drift: an extra column, a missing index, a changed type.
    sqlx::raw_sql(
        r#"ALTER TABLE "Product" ADD COLUMN "legacySku" TEXT;
           DROP INDEX "Product_stock_idx";
           ALTER TABLE "Newsletter" ALTER COLUMN "email" TYPE VARCHAR(320);"#,
    )
    .execute(&mut pg(&db.url).await)
    .await
    .unwrap();
    let (code, out, _) = migrate(
        &db.url,
        &["verify-baseline", "20260130000000_init", "--format", "json"],
    );
    assert_eq!(code, 1, "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let objects: Vec<&str> = report["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["object"].as_str().unwrap())
        .collect();
    assert_eq!(
        objects,
        vec![
            "column Newsletter.email",
            "column Product.legacySku",
            "index Product.Product_stock_idx"
        ],
        "{out}"
    );
    let scratch_left: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_database WHERE datname LIKE 'vivr_baseline_%'")
            .fetch_one(&mut pg(&db.url).await)
            .await
            .unwrap();
    assert_eq!(scratch_left, 0, "the scratch database is dropped");
}

#[test]
fn a_transaction_mode_pooler_is_refused_unless_a_direct_url_is_given() {
    for url in [
        "postgres://app:pw@db.example.test:6543/vivr",
        "postgres://app:pw@ep-cool-name-123456-pooler.eu-central-1.aws.example.test/vivr",
        "postgres://app:pw@db.example.test:5432/vivr?pgbouncer=true",
    ] {
        let (code, _, err) = migrate(url, &["status"]);
        assert_eq!(code, 2, "{url}");
        assert!(
            err.contains("pooler") && err.contains("DIRECT_URL"),
            "{err}"
        );
        assert!(!err.contains(":pw@"), "credentials redacted: {err}");
    }
    let dir = tempfile::tempdir().unwrap();
    let direct = format!("sqlite://{}", dir.path().join("direct.db").display());
    let (status, out, err) = vivr_output(
        &[
            "migrate",
            "status",
            "--database-url",
            "postgres://app:pw@db.example.test:6543/vivr",
            "--direct-url",
            &direct,
        ],
        None,
    );
    assert_eq!(status.code(), Some(1), "the direct URL is used: {out}{err}");
}

#[tokio::test]
async fn killing_vivr_mid_migration_leaves_the_database_as_it_was() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    assert_eq!(migrate(&db.url, &["deploy"]).0, 0);
    let dir = migrations_copy();
    add_migration(
        dir.path(),
        "29990101000000_slow",
        "CREATE TABLE \"Halfway\" (id int);\nSELECT pg_sleep(3);\n",
    );
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_vivr"))
        .args([
            "migrate",
            "deploy",
            "--database-url",
            &db.url,
            "--dir",
            dir.path().to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the migration is running, then kill -9.
    let mut conn = pg(&db.url).await;
    let started = std::time::Instant::now();
    loop {
        let running: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'vivr migrate 29990101000000_slow' AND state = 'active'",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        if running > 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the migration never started"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // The server ends the orphaned transaction once it notices the client is gone.
    loop {
        let left: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'vivr migrate%'",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        if left == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the orphaned backend lingers"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        !table_exists(&db.url, "Halfway").await,
        "nothing of the interrupted migration stays"
    );
    let (code, out, _) = migrate(&db.url, &["status", "--dir", dir.path().to_str().unwrap()]);
    assert_eq!(
        code, 3,
        "recorded as started and never finished, i.e. failed, as Prisma reads it: {out}"
    );
}

/// A long Prisma-style history (ten tables, each created, extended, renamed, retyped, given a required column,
/// its enum rebuilt the way Prisma does, a column dropped, and a scratch table created then dropped): 80 files
/// with destructive statements all through.
fn long_history(dir: &Path, tables: usize) -> Vec<String> {
    let mut names = Vec::new();
    let mut add = |index: usize, name: &str, sql: String| {
        let folder = format!(
            "2025{:02}{:02}{:06}_{name}",
            1 + index / 28 % 12,
            1 + index % 28,
            index
        );
        add_migration(dir, &folder, &sql);
        names.push(folder);
    };
    let mut i = 0;
    for t in 0..tables {
        let table = format!("Thing{t}");
        let kind = format!("Kind{t}");
        let steps: Vec<(&str, String)> = vec![
            (
                "create",
                format!(
                    "CREATE TYPE \"{kind}\" AS ENUM ('a', 'b');\nCREATE TABLE \"{table}\" (\"id\" TEXT PRIMARY KEY, \"legacy\" TEXT, \"age\" INTEGER, \"kind\" \"{kind}\" NOT NULL DEFAULT 'a');\n"
                ),
            ),
            (
                "drop_legacy",
                format!("ALTER TABLE \"{table}\" DROP COLUMN \"legacy\";\n"),
            ),
            (
                "rename_age",
                format!("ALTER TABLE \"{table}\" RENAME COLUMN \"age\" TO \"years\";\n"),
            ),
            (
                "retype_years",
                format!("ALTER TABLE \"{table}\" ALTER COLUMN \"years\" SET DATA TYPE BIGINT;\n"),
            ),
            (
                "required_country",
                format!("ALTER TABLE \"{table}\" ADD COLUMN \"country\" TEXT NOT NULL;\n"),
            ),
            (
                "rebuild_enum",
                format!(
                    "CREATE TYPE \"{kind}_new\" AS ENUM ('a', 'c');\n\
                 ALTER TABLE \"{table}\" ALTER COLUMN \"kind\" DROP DEFAULT;\n\
                 ALTER TABLE \"{table}\" ALTER COLUMN \"kind\" TYPE \"{kind}_new\" USING (\"kind\"::text::\"{kind}_new\");\n\
                 DROP TYPE \"{kind}\";\n\
                 ALTER TYPE \"{kind}_new\" RENAME TO \"{kind}\";\n"
                ),
            ),
            (
                "scratch",
                format!("CREATE TABLE \"Scratch{t}\" (\"id\" INTEGER);\n"),
            ),
            ("drop_scratch", format!("DROP TABLE \"Scratch{t}\";\n")),
        ];
        for (step, sql) in steps {
            add(i, &format!("{}_{step}", table.to_lowercase()), sql);
            i += 1;
        }
    }
    names
}

#[tokio::test]
async fn a_long_destructive_history_applies_to_an_empty_database_but_not_over_data() {
    let Some(empty) = TestDb::postgres().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("migration_lock.toml"),
        "provider = \"postgresql\"\n",
    )
    .unwrap();
    let names = long_history(dir.path(), 10);
    assert_eq!(names.len(), 80);
    let d = dir.path().to_str().unwrap();

    // Without a database, the lint reports every destructive statement.
    let (code, out, _) = vivr_output_code(&["migrate", "lint", d]);
    assert_eq!(code, 1, "{out}");

    // An empty database: nothing to lose, nothing depends on the schema: it all applies, with warnings.
    let (code, out, err) = migrate(&empty.url, &["plan", "--dir", d]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("not blocking"), "{out}");
    let (code, _, err) = migrate(&empty.url, &["deploy", "--dir", d]);
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = migrate(&empty.url, &["status", "--dir", d]);
    assert_eq!(code, 0, "{out}");

    // A populated database that has the first half: the second half's statements on tables that hold data
    // block; those on tables the same deploy creates do not.
    let Some(populated) = TestDb::postgres().await else {
        return;
    };
    let half = tempfile::tempdir().unwrap();
    std::fs::write(
        half.path().join("migration_lock.toml"),
        "provider = \"postgresql\"\n",
    )
    .unwrap();
    long_history(half.path(), 5);
    let (code, _, err) = migrate(
        &populated.url,
        &["deploy", "--dir", half.path().to_str().unwrap()],
    );
    assert_eq!(code, 0, "{err}");
    sqlx::raw_sql("INSERT INTO \"Thing0\" (\"id\", \"years\", \"country\", \"kind\") VALUES ('x', 3, 'FR', 'a')")
        .execute(&mut pg(&populated.url).await)
        .await
        .unwrap();
    // Five more files touching Thing0, which holds a row now.
    let more = [
        (
            "20270101000000_thing0_drop_years",
            "ALTER TABLE \"Thing0\" DROP COLUMN \"years\";\n",
        ),
        (
            "20270101000001_thing0_required",
            "ALTER TABLE \"Thing0\" ADD COLUMN \"zone\" TEXT NOT NULL;\n",
        ),
    ];
    for (name, sql) in more {
        add_migration(dir.path(), name, sql);
    }
    let (code, _, err) = migrate(&populated.url, &["deploy", "--dir", d]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("Thing0"),
        "the existing table's findings block: {err}"
    );
    for t in 5..10 {
        assert!(
            !err.contains(&format!("\"Thing{t}\"")),
            "Thing{t} is created by this deploy: its findings must not block: {err}"
        );
    }
    let (_, out, _) = migrate(&populated.url, &["status", "--dir", d, "--format", "json"]);
    let status: serde_json::Value = serde_json::from_str(&out).unwrap();
    let applied = status["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["state"] == "applied")
        .count();
    assert_eq!(applied, 40, "nothing of the refused deploy was applied");
}

fn vivr_output_code(args: &[&str]) -> (i32, String, String) {
    let (status, out, err) = vivr_output(args, None);
    (status.code().unwrap_or(-1), out, err)
}

/// TRUNCATE empties tables without counting deletions: a file that mentions it is counted exactly, and a
/// cascade into a table it does not name is refused like any other loss.
#[tokio::test]
async fn a_truncate_cascading_into_another_table_is_refused() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    migrated_with_a_signed_in_user(&db.url, "a@vivr.fr").await;
    let dir = migrations_copy();
    let d = dir.path().to_str().unwrap();
    add_migration(
        dir.path(),
        "29990101000000_reset_users",
        "TRUNCATE \"User\" CASCADE;\n",
    );
    // The lint blocks it first; past the lint, the guard still refuses.
    let (code, _, err) = migrate(&db.url, &["deploy", "--dir", d, "--allow-destructive"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("Session: 1 → 0 rows"), "{err}");
    let sessions: i64 = sqlx::query_scalar("SELECT count(*) FROM \"Session\"")
        .fetch_one(&mut pg(&db.url).await)
        .await
        .unwrap();
    assert_eq!(sessions, 1, "rolled back whole");
}
