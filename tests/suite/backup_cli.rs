//! `vivr backup` against PostgreSQL 15 with the real pg_dump and pg_restore: round trip, damaged objects,
//! a dump that dies mid-stream, restore guards, retention, and no credentials in any output.

use crate::common;

use std::path::Path;

use crate::common::process::vivr_output;
use crate::common::{TestDb, add_migration, migrations_copy, migrations_copy_of, newest_migration};
use sqlx::Connection;

const SECRET: &str = "Sup3r-Secret-Pw";

/// The test database's URL with a password added (the test cluster trusts local connections and ignores it):
/// it must never appear in any output.
fn with_password(url: &str) -> String {
    url.replacen(
        "postgres://postgres@",
        &format!("postgres://postgres:{SECRET}@"),
        1,
    )
}

fn backup(args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["backup"];
    all.extend_from_slice(args);
    let (status, stdout, stderr) = vivr_output(&all, None);
    assert!(
        !stdout.contains(SECRET) && !stderr.contains(SECRET),
        "the password leaked: {stdout}{stderr}"
    );
    (status.code().unwrap_or(-1), stdout, stderr)
}

async fn counts(url: &str) -> vivr::migrate::RowCounts {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    vivr::migrate::pg_row_counts(&mut conn).await.unwrap()
}

/// A migrated database with the demo catalogue and a few customers.
async fn shop_database() -> Option<TestDb> {
    let db = TestDb::postgres().await?;
    let store = db.seeded_store().await;
    for i in 0..3 {
        common::customer(store.as_ref(), &format!("client{i}@exemple.fr")).await;
    }
    Some(db)
}

/// A directory with a pg_dump that writes part of the archive, then fails, and the real pg_restore.
fn failing_pg_dump() -> Option<tempfile::TempDir> {
    let Ok(real_bin) = std::env::var("VIVR_TEST_PG_BIN") else {
        return common::missing_component("VIVR_TEST_PG_BIN", "run scripts/test");
    };
    let bin = tempfile::tempdir().unwrap();
    let fake = bin.path().join("pg_dump");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\nif [ \"$1\" = --version ]; then exec {real_bin}/pg_dump --version; fi\n\
             {real_bin}/pg_dump \"$@\" | head -c 3000\necho 'pg_dump: error: connection lost' >&2\nexit 1\n"
        ),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        format!("{real_bin}/pg_restore"),
        bin.path().join("pg_restore"),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    Some(bin)
}

fn only_backup_id(store: &Path) -> String {
    let ids: Vec<String> = std::fs::read_dir(store)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    ids[0].clone()
}

#[tokio::test]
async fn backup_verify_and_restore_round_trip() {
    let Some(db) = shop_database().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().to_str().unwrap();
    let url = with_password(&db.url);
    let (code, out, err) = backup(&[
        "create",
        "--database-url",
        &url,
        "--store",
        store,
        "--verify",
        "3",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let created: serde_json::Value = serde_json::from_str(&out).unwrap();
    let manifest = &created["manifest"];
    assert_eq!(manifest["tables"]["Product"], 20);
    assert_eq!(manifest["tables"]["User"], 3);
    assert_eq!(
        manifest["migration_head"]["name"],
        newest_migration().as_str()
    );
    assert!(manifest["toc_entries"].as_u64().unwrap() > 20);
    assert!(
        manifest["database_bytes"].as_u64().unwrap() > 1 << 20,
        "{manifest}"
    );
    assert!(
        err.contains("on disk; expect about") && err.contains("not point-in-time recovery"),
        "the size, an estimate and what a dump is not, before it starts: {err}"
    );
    assert!(
        manifest["pg_dump_version"]
            .as_str()
            .unwrap()
            .starts_with("15.")
    );
    assert!(
        manifest["pg_restore_version"]
            .as_str()
            .unwrap()
            .starts_with("15.")
    );
    assert!(manifest["compressed_bytes"].as_u64() < manifest["raw_bytes"].as_u64());
    assert_eq!(created["verification"]["ok"], true, "{out}");
    let id = manifest["id"].as_str().unwrap().to_string();

    let (code, out, _) = backup(&["list", "--store", store, "--format", "json"]);
    assert_eq!(code, 0);
    let listed: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(listed["backups"][0]["verification"]["level"], 3);

    let Some(target) = TestDb::postgres().await else {
        return;
    };
    let target_url = with_password(&target.url);
    let (code, out, err) = backup(&["restore", &id, "--to", &target_url, "--store", store]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&newest_migration()), "{out}");
    assert_eq!(
        counts(&db.url).await,
        counts(&target.url).await,
        "every table's rows"
    );

    // A second restore into the now non-empty target needs --clean.
    let (code, _, err) = backup(&["restore", &id, "--to", &target_url, "--store", store]);
    assert_eq!(code, 2);
    assert!(err.contains("--clean"), "{err}");
    let (code, _, err) = backup(&[
        "restore",
        &id,
        "--to",
        &target_url,
        "--store",
        store,
        "--clean",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(counts(&db.url).await, counts(&target.url).await);
}

#[tokio::test]
async fn truncated_or_corrupted_backups_fail_a_full_read_and_are_not_restored() {
    let Some(db) = shop_database().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().to_str().unwrap();
    let (code, _, err) = backup(&[
        "create",
        "--database-url",
        &db.url,
        "--store",
        store,
        "--verify",
        "0",
    ]);
    assert_eq!(code, 0, "{err}");
    let id = only_backup_id(dir.path());
    let object = dir.path().join(&id).join("dump.pgc.zst");
    let intact = std::fs::read(&object).unwrap();
    assert_eq!(
        backup(&["verify", &id, "--level", "2", "--store", store]).0,
        0
    );

    let mut corrupted = intact.clone();
    let middle = corrupted.len() / 2;
    for b in &mut corrupted[middle..middle + 4] {
        *b ^= 0xff;
    }
    std::fs::write(&object, &corrupted).unwrap();
    let (code, out, _) = backup(&["verify", &id, "--level", "2", "--store", store]);
    assert_eq!(code, 1, "corrupted → check failed: {out}");
    assert!(out.contains("FAILED"), "{out}");
    assert!(
        out.contains("See runbooks/backups.md#a-scheduled-backup-failed"),
        "{out}"
    );

    std::fs::write(&object, &intact[..intact.len() * 6 / 10]).unwrap();
    let (code, out, _) = backup(&["verify", &id, "--level", "1", "--store", store]);
    assert_eq!(code, 1, "truncated → L1 fails: {out}");
    let (code, _, _) = backup(&["verify", &id, "--level", "2", "--store", store]);
    assert_eq!(code, 1, "truncated → L2 fails");

    let Some(target) = TestDb::postgres().await else {
        return;
    };
    let (code, _, err) = backup(&["restore", &id, "--to", &target.url, "--store", store]);
    assert_eq!(code, 2);
    assert!(
        err.contains("damaged") && err.contains("nothing was restored"),
        "{err}"
    );
    assert!(
        err.contains("error: the restore failed: ")
            && err.contains("see runbooks/backups.md#restoring-a-backup"),
        "{err}"
    );
    assert!(
        counts(&target.url).await.is_empty(),
        "the target was not touched"
    );
}

#[tokio::test]
async fn a_dump_that_dies_midway_leaves_no_backup() {
    let Some(db) = shop_database().await else {
        return;
    };
    let Some(bin) = failing_pg_dump() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().to_str().unwrap();
    let (code, _, err) = backup(&[
        "create",
        "--database-url",
        &db.url,
        "--store",
        store,
        "--pg-bin",
        bin.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("see runbooks/backups.md#a-scheduled-backup-failed"),
        "{err}"
    );
    assert!(
        err.contains("pg_dump failed") && err.contains("connection lost"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no object, no manifest"
    );
    let (_, out, _) = backup(&["list", "--store", store, "--format", "json"]);
    assert_eq!(out.trim(), "{\n  \"backups\": []\n}");
}

#[tokio::test]
async fn prune_keeps_the_newest_verified_and_pinned_backups() {
    let Some(db) = shop_database().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().to_str().unwrap();
    for args in [
        vec!["--verify", "1"],
        vec!["--verify", "0", "--pin-days", "30"],
        vec!["--verify", "0"],
        vec!["--verify", "0"],
    ] {
        let mut all = vec![
            "create",
            "--database-url",
            db.url.as_str(),
            "--store",
            store,
        ];
        all.extend(args);
        assert_eq!(backup(&all).0, 0);
    }
    // Age them: 400, 300, 200 and 0 days old.
    let mut ids: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    ids.sort();
    for (id, days) in ids.iter().zip([400, 300, 200, 0]) {
        let path = dir.path().join(id).join("manifest.json");
        let mut manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let at = chrono::Utc::now() - chrono::TimeDelta::days(days);
        manifest["started_at"] = serde_json::json!(at);
        std::fs::write(&path, serde_json::to_vec(&manifest).unwrap()).unwrap();
    }
    let policy = [
        "--keep-daily",
        "1",
        "--keep-weekly",
        "0",
        "--keep-monthly",
        "0",
    ];
    let mut args = vec!["prune", "--store", store, "--dry-run"];
    args.extend(policy);
    let (code, out, _) = backup(&args);
    assert_eq!(code, 0);
    assert!(out.contains("would delete"), "{out}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        4,
        "dry run deletes nothing"
    );

    let mut args = vec!["prune", "--store", store];
    args.extend(policy);
    let (code, out, _) = backup(&args);
    assert_eq!(code, 0);
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left.len(), 3, "{out}");
    assert!(
        left.contains(&ids[0]),
        "the newest verified one stays: {out}"
    );
    assert!(left.contains(&ids[1]), "the pinned one stays: {out}");
    assert!(left.contains(&ids[3]), "today's stays: {out}");
}

/// `vivr migrate deploy` outside development: a verified backup first, under the migration lock.
fn migrate(args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["migrate"];
    all.extend_from_slice(args);
    let (status, stdout, stderr) = vivr_output(&all, None);
    (status.code().unwrap_or(-1), stdout, stderr)
}

#[tokio::test]
async fn production_deploy_takes_a_verified_pinned_backup_first() {
    let Some(db) = shop_database().await else {
        return;
    };
    let migrations = migrations_copy();
    let m = migrations.path().to_str().unwrap();
    add_migration(
        migrations.path(),
        "29990101000000_wishlist_note",
        "ALTER TABLE \"Wishlist\" ADD COLUMN \"note\" TEXT;\n",
    );

    let (code, _, err) = migrate(&[
        "deploy",
        "--database-url",
        &db.url,
        "--dir",
        m,
        "--env",
        "production",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--backup-store"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().to_str().unwrap();
    let (code, out, _) = migrate(&[
        "plan",
        "--database-url",
        &db.url,
        "--dir",
        m,
        "--env",
        "production",
        "--backup-store",
        store,
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("Backup first: takes a backup"), "{out}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "plan takes no backup"
    );

    let (code, out, err) = migrate(&[
        "deploy",
        "--database-url",
        &db.url,
        "--dir",
        m,
        "--env",
        "production",
        "--backup-store",
        store,
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["applied"][0], "29990101000000_wishlist_note");
    assert_eq!(report["backup"]["reused"], false);
    let id = report["backup"]["backup_id"].as_str().unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join(id).join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["verification"]["level"], 2);
    assert_eq!(manifest["verification"]["ok"], true);
    assert_eq!(
        manifest["before_migrations"][0],
        "29990101000000_wishlist_note"
    );
    assert!(manifest["pinned_until"].is_string());
    assert_eq!(
        manifest["migration_head"]["name"],
        newest_migration().as_str(),
        "the backup holds the schema before the migration"
    );

    // Nothing pending: no new backup.
    let (code, _, _) = migrate(&[
        "deploy",
        "--database-url",
        &db.url,
        "--dir",
        m,
        "--env",
        "production",
        "--backup-store",
        store,
    ]);
    assert_eq!(code, 0);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

    // A recent verified backup at the current head is reused.
    let (code, out, err) = backup(&[
        "create",
        "--database-url",
        &db.url,
        "--store",
        store,
        "--verify",
        "2",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let fresh: serde_json::Value = serde_json::from_str(&out).unwrap();
    add_migration(
        migrations.path(),
        "29990102000000_wishlist_rank",
        "ALTER TABLE \"Wishlist\" ADD COLUMN \"rank\" BIGINT;\n",
    );
    let (code, out, err) = migrate(&[
        "deploy",
        "--database-url",
        &db.url,
        "--dir",
        m,
        "--env",
        "production",
        "--backup-store",
        store,
        "--backup-max-age",
        "60",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["backup"]["reused"], true);
    assert_eq!(report["backup"]["backup_id"], fresh["manifest"]["id"]);

    // serve --migrate is for development only.
    let Some(empty) = TestDb::postgres().await else {
        return;
    };
    let (status, _, err) = vivr_output(
        &[
            "serve",
            "--database-url",
            &empty.url,
            // Staging: outside development like production, where a test cluster without TLS passes the
            // configuration check (its missing sslmode is only a warning there).
            "--env",
            "staging",
            "--migrate",
            "--bind",
            "127.0.0.1:0",
            "--session-secret",
            "0123456789abcdef0123456789abcdef",
            "--public-url",
            "https://vivr.test",
            // Checked for its form only: the shop refuses to migrate before it opens the store.
            "--image-store",
            "s3://vivr-images/staging",
        ],
        None,
    );
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(
        err.contains("vivr migrate deploy") && err.contains("for development"),
        "{err}"
    );
}

use common::MOTO_SECRET as AWS_SECRET;

fn backup_env(args: &[&str], env: &[(&'static str, String)]) -> (i32, String, String) {
    let mut all = vec!["backup"];
    all.extend_from_slice(args);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, stdout, stderr) = common::process::vivr_output_env(&all, None, &env);
    for secret in [SECRET, AWS_SECRET] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "a secret leaked: {stdout}{stderr}"
        );
    }
    (status.code().unwrap_or(-1), stdout, stderr)
}

async fn keys(client: &aws_sdk_s3::Client, bucket: &str) -> Vec<String> {
    client
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .unwrap()
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_store_round_trip_and_an_aborted_upload() {
    let Some(db) = shop_database().await else {
        return;
    };
    let Some((client, bucket, env)) = common::s3_bucket("vivr-backups").await else {
        return;
    };
    let store = format!("s3://{bucket}/vivr/prod");
    let url = with_password(&db.url);
    let (code, out, err) = backup_env(
        &[
            "create",
            "--database-url",
            &url,
            "--store",
            &store,
            "--verify",
            "2",
            "--format",
            "json",
        ],
        &env,
    );
    assert_eq!(code, 0, "{err}");
    let created: serde_json::Value = serde_json::from_str(&out).unwrap();
    let id = created["manifest"]["id"].as_str().unwrap().to_string();
    assert_eq!(created["verification"]["ok"], true, "{out}");
    let stored = keys(&client, &bucket).await;
    assert_eq!(
        stored,
        vec![
            format!("vivr/prod/{id}/dump.pgc.zst"),
            format!("vivr/prod/{id}/manifest.json")
        ]
    );
    for key in &stored {
        let head = client
            .head_object()
            .bucket(&bucket)
            .key(key)
            .send()
            .await
            .unwrap();
        assert_eq!(
            head.server_side_encryption(),
            Some(&aws_sdk_s3::types::ServerSideEncryption::Aes256),
            "{key} is encrypted at rest (SSE-S3 by default)"
        );
    }

    let (code, out, _) = backup_env(&["list", "--store", &store, "--format", "json"], &env);
    assert_eq!(code, 0);
    assert!(out.contains(&id), "{out}");

    let Some(target) = TestDb::postgres().await else {
        return;
    };
    let (code, _, err) = backup_env(
        &["restore", &id, "--to", &target.url, "--store", &store],
        &env,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(counts(&db.url).await, counts(&target.url).await);

    // A pg_dump that dies midway: the multipart upload is aborted and nothing is left.
    let Some(bin) = failing_pg_dump() else {
        return;
    };
    let other = format!("s3://{bucket}/vivr/failing");
    let (code, _, err) = backup_env(
        &[
            "create",
            "--database-url",
            &url,
            "--store",
            &other,
            "--pg-bin",
            bin.path().to_str().unwrap(),
        ],
        &env,
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        !keys(&client, &bucket)
            .await
            .iter()
            .any(|k| k.starts_with("vivr/failing")),
        "no object, no manifest"
    );
    let uploads = client
        .list_multipart_uploads()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    assert!(
        uploads.uploads().is_empty(),
        "the multipart upload was aborted: {uploads:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_backups_are_consistent_copies_that_verify_and_restore() {
    let db = TestDb::sqlite();
    let store = db.seeded_store().await;
    drop(store);
    let dir = tempfile::tempdir().unwrap();
    let backups = dir.path().join("backups");
    let backups = backups.to_str().unwrap();
    let (code, out, err) = backup(&[
        "create",
        "--database-url",
        &db.url,
        "--store",
        backups,
        "--verify",
        "3",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let created: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(created["manifest"]["object"], "db.sqlite.zst");
    assert_eq!(created["manifest"]["tables"]["Product"], 20);
    assert_eq!(created["verification"]["ok"], true, "{out}");
    let id = created["manifest"]["id"].as_str().unwrap().to_string();

    let target = format!("sqlite://{}", dir.path().join("restored.db").display());
    let (code, out, err) = backup(&["restore", &id, "--to", &target, "--store", backups]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&newest_migration()), "{out}");
    let (code, _, err) = backup(&["restore", &id, "--to", &target, "--store", backups]);
    assert_eq!(code, 2);
    assert!(err.contains("--clean"), "{err}");
    let restored = sqlx::SqlitePool::connect(&target).await.unwrap();
    let products: i64 = sqlx::query_scalar("SELECT count(*) FROM \"Product\"")
        .fetch_one(&restored)
        .await
        .unwrap();
    assert_eq!(products, 20);

    // A damaged copy fails L2 and is not restored.
    let object = Path::new(backups).join(&id).join("db.sqlite.zst");
    let mut bytes = std::fs::read(&object).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&object, bytes).unwrap();
    let (code, _, _) = backup(&["verify", &id, "--level", "2", "--store", backups]);
    assert_eq!(code, 1);
    let other = format!("sqlite://{}", dir.path().join("other.db").display());
    let (code, _, err) = backup(&["restore", &id, "--to", &other, "--store", backups]);
    assert_eq!(code, 2, "{err}");
    assert!(!dir.path().join("other.db").exists(), "nothing restored");

    // A copy that decompresses into something that is not a database fails L2 the same way.
    let garbage = zstd::encode_all(&b"not a database at all"[..], 3).unwrap();
    std::fs::write(&object, garbage).unwrap();
    let (code, out, err) = backup(&["verify", &id, "--level", "2", "--store", backups]);
    assert_eq!(code, 1, "{out}{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_production_deploy_on_sqlite_takes_a_verified_copy_first() {
    let db = TestDb::sqlite();
    drop(db.seeded_store().await);
    let migrations = migrations_copy_of(vivr_shop::store::Backend::Sqlite);
    add_migration(
        migrations.path(),
        "29990101000000_gift_cards",
        "CREATE TABLE \"GiftCard\" (\"id\" TEXT PRIMARY KEY);\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let backups = dir.path().join("backups");
    let backups = backups.to_str().unwrap();
    let d = migrations.path().to_str().unwrap();
    let deploy = [
        "deploy",
        "--dir",
        d,
        "--database-url",
        &db.url,
        "--env",
        "production",
    ];

    let (code, _, err) = migrate(&deploy);
    assert_eq!(code, 2, "no backup store, no deploy: {err}");
    assert!(err.contains("--backup-store"), "{err}");

    let mut with_store = deploy.to_vec();
    with_store.extend_from_slice(&["--backup-store", backups, "--format", "json"]);
    let (code, out, err) = migrate(&with_store);
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["applied"][0], "29990101000000_gift_cards", "{out}");
    assert_eq!(report["backup"]["reused"], false, "{out}");
    let id = report["backup"]["backup_id"].as_str().unwrap().to_string();

    let (code, out, err) = backup(&["list", "--store", backups, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    let manifest = &list["backups"][0];
    assert_eq!(manifest["id"], id.as_str());
    assert_eq!(manifest["verification"]["ok"], true, "{out}");
    assert_eq!(manifest["verification"]["level"], 2, "{out}");
    assert!(manifest["pinned_until"].is_string(), "{out}");
    assert_eq!(
        manifest["before_migrations"][0],
        "29990101000000_gift_cards"
    );
    assert_eq!(
        manifest["migration_head"]["name"],
        newest_migration().as_str()
    );

    // The copy is the database as it was before the migration.
    let target = format!("sqlite://{}", dir.path().join("before.db").display());
    let (code, _, err) = backup(&["restore", &id, "--to", &target, "--store", backups]);
    assert_eq!(code, 0, "{err}");
    let restored = sqlx::SqlitePool::connect(&target).await.unwrap();
    let (gift_cards, products): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM sqlite_master WHERE name = 'GiftCard'), (SELECT count(*) FROM \"Product\")",
    )
    .fetch_one(&restored)
    .await
    .unwrap();
    assert_eq!((gift_cards, products), (0, 20));
}

#[test]
fn reading_a_store_that_does_not_exist_is_an_error_not_an_empty_list() {
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("bakcups");
    let typo = typo.to_str().unwrap();
    for args in [
        vec!["backup", "list", "--store", typo],
        vec!["backup", "prune", "--store", typo, "--dry-run"],
        vec!["backup", "verify", "20261130-000000-abcd", "--store", typo],
    ] {
        let (status, stdout, stderr) = vivr_output(&args, None);
        assert_eq!(status.code(), Some(2), "{args:?}: {stdout}{stderr}");
        assert!(stderr.contains("no backup store at"), "{args:?}: {stderr}");
    }
    assert!(
        !std::path::Path::new(typo).exists(),
        "nothing created by reading"
    );
}
