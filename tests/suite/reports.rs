//! Every command that prints a report says the same thing in `--format text` and `--format json`: each command
//! runs once per format on the same (or an identically prepared) state; both runs give the same exit code, the
//! JSON is one document, the text is not JSON, and the facts the JSON holds — names, ids, findings, counts at
//! the JSON paths each case lists — are all in the text. A report whose text forgot a field, or whose JSON
//! disagreed with its text, fails here.

use std::path::Path;

use serde_json::Value;
use vivr_shop::store::Backend;

use crate::common::process::{free_port, vivr_output};
use crate::common::{TestDb, add_migration, migrations_copy_of};
use crate::secrets_cli::Moto;

/// The values at `pattern` (`/a/*/b`; `*` walks an array's items or an object's values), as text.
fn values_at(value: &Value, pattern: &str, out: &mut Vec<String>) {
    fn walk(value: &Value, parts: &[&str], out: &mut Vec<String>) {
        let Some((first, rest)) = parts.split_first() else {
            match value {
                Value::String(s) => out.push(s.clone()),
                Value::Number(n) => out.push(n.to_string()),
                Value::Array(items) => items.iter().for_each(|v| walk(v, &[], out)),
                other => panic!("a fact must be a string, a number or a list of them, not {other}"),
            }
            return;
        };
        match (*first, value) {
            ("*", Value::Array(items)) => items.iter().for_each(|v| walk(v, rest, out)),
            ("*", Value::Object(map)) => map.values().for_each(|v| walk(v, rest, out)),
            (key, Value::Object(map)) => {
                if let Some(v) = map.get(key) {
                    walk(v, rest, out);
                }
            }
            (key, Value::Array(items)) => {
                if let Some(v) = key.parse::<usize>().ok().and_then(|i| items.get(i)) {
                    walk(v, rest, out);
                }
            }
            _ => {}
        }
    }
    let parts: Vec<&str> = pattern.trim_start_matches('/').split('/').collect();
    walk(value, &parts, out);
}

/// Runs `run("text")` and `run("json")` (each returns exit code, stdout, stderr) and compares them as the module
/// says; `facts` must each find at least one value, so a case cannot pass by looking at nothing.
fn same_report(
    label: &str,
    expected_code: i32,
    facts: &[&str],
    run: impl Fn(&str) -> (i32, String, String),
) {
    let (text_code, text, text_err) = run("text");
    let (json_code, json, json_err) = run("json");
    assert_eq!(
        text_code, expected_code,
        "{label} --format text: {text}{text_err}"
    );
    assert_eq!(
        json_code, expected_code,
        "{label} --format json: {json}{json_err}"
    );
    let document: Value = serde_json::from_str(&json).unwrap_or_else(|e| {
        panic!("{label} --format json is not one JSON document ({e}):\n{json}")
    });
    assert!(
        document.is_object(),
        "{label}: the JSON report is an object:\n{json}"
    );
    assert!(
        serde_json::from_str::<Value>(&text).is_err(),
        "{label}: --format text printed JSON:\n{text}"
    );
    assert!(
        text.ends_with('\n'),
        "{label}: the text ends with a newline:\n{text:?}"
    );
    for pattern in facts {
        let mut values = Vec::new();
        values_at(&document, pattern, &mut values);
        assert!(
            !values.is_empty(),
            "{label}: nothing at {pattern} in:\n{json}"
        );
        for value in values {
            assert!(
                text.contains(&value),
                "{label}: {pattern} = {value:?} is in the JSON report but not in the text:\n{text}"
            );
        }
    }
}

fn code((status, out, err): (std::process::ExitStatus, String, String)) -> (i32, String, String) {
    (status.code().unwrap_or(-1), out, err)
}

fn vivr(args: &[&str]) -> (i32, String, String) {
    code(vivr_output(args, None))
}

fn file_in(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn sqlite_url(dir: &Path, name: &str) -> String {
    format!("sqlite://{}", dir.join(name).display())
}

#[test]
fn migrate_reports_say_the_same_in_text_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let fresh =
        |format: &str| sqlite_url(dir.path(), &format!("fresh-{format}-{}.db", rand_suffix()));
    let migrations = migrations_copy_of(Backend::Sqlite);
    let migrations_dir = migrations.path().to_str().unwrap().to_string();
    let first = vivr::migrate::embedded(Backend::Sqlite)[0].name.to_string();

    same_report(
        "migrate status",
        1,
        &["/migrations/*/name", "/migrations/*/state"],
        |format| {
            vivr(&[
                "migrate",
                "status",
                "--database-url",
                &fresh(format),
                "--format",
                format,
            ])
        },
    );
    same_report(
        "migrate plan",
        0,
        &["/pending/*/name", "/pending/*/transaction"],
        |format| {
            vivr(&[
                "migrate",
                "plan",
                "--database-url",
                &fresh(format),
                "--format",
                format,
            ])
        },
    );
    same_report(
        "migrate deploy",
        0,
        &["/applied/*", "/row_changes/*/migration"],
        |format| {
            vivr(&[
                "migrate",
                "deploy",
                "--database-url",
                &fresh(format),
                "--format",
                format,
            ])
        },
    );
    same_report("migrate resolve", 0, &["/migration", "/result"], |format| {
        vivr(&[
            "migrate",
            "resolve",
            "--applied",
            &first,
            "--database-url",
            &fresh(format),
            "--format",
            format,
        ])
    });

    // Drift: an applied migration's file edited afterwards.
    let deployed = sqlite_url(dir.path(), "deployed.db");
    let (code, _, err) = vivr(&[
        "migrate",
        "deploy",
        "--database-url",
        &deployed,
        "--dir",
        &migrations_dir,
    ]);
    assert_eq!(code, 0, "{err}");
    let edited = migrations.path().join(&first).join("migration.sql");
    let sql = std::fs::read_to_string(&edited).unwrap();
    std::fs::write(&edited, format!("{sql}\n-- edited afterwards\n")).unwrap();
    same_report("migrate checksums", 4, &["/edited/*"], |format| {
        vivr(&[
            "migrate",
            "checksums",
            "--database-url",
            &deployed,
            "--dir",
            &migrations_dir,
            "--format",
            format,
        ])
    });
    same_report(
        "migrate status (drift)",
        4,
        &["/migrations/*/name", "/migrations/*/state"],
        |format| {
            vivr(&[
                "migrate",
                "status",
                "--database-url",
                &deployed,
                "--dir",
                &migrations_dir,
                "--format",
                format,
            ])
        },
    );

    // Lint: a destructive PostgreSQL migration.
    let lint_dir = tempfile::tempdir().unwrap();
    std::fs::write(
        lint_dir.path().join("migration_lock.toml"),
        "provider = \"postgresql\"\n",
    )
    .unwrap();
    add_migration(
        lint_dir.path(),
        "20260101000000_init",
        "CREATE TABLE t (id int, note text);\n",
    );
    add_migration(
        lint_dir.path(),
        "20260102000000_drop_note",
        "ALTER TABLE t DROP COLUMN note;\n",
    );
    let lint_path = lint_dir.path().to_str().unwrap();
    same_report(
        "migrate lint",
        1,
        &[
            "/files/*/findings/*/migration",
            "/files/*/findings/*/rule",
            "/files/*/findings/*/line",
        ],
        |format| vivr(&["migrate", "lint", lint_path, "--format", format]),
    );

    // new: the file created (a new folder per run, named after the time, so compared by the folder's suffix).
    let new_dir = migrations_copy_of(Backend::Sqlite);
    let new_path = new_dir.path().to_str().unwrap();
    let (code, text, err) = vivr(&["migrate", "new", "first index", "--dir", new_path]);
    assert_eq!(code, 0, "{err}");
    let (code, json, _) = vivr(&[
        "migrate",
        "new",
        "second index",
        "--dir",
        new_path,
        "--format",
        "json",
    ]);
    assert_eq!(code, 0);
    let file = serde_json::from_str::<Value>(&json).unwrap()["file"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        Path::new(&file).exists() && Path::new(text.trim()).exists(),
        "{text}{json}"
    );
    assert!(
        file.ends_with("_second_index/migration.sql")
            && text.trim().ends_with("_first_index/migration.sql")
    );
}

/// A short random suffix, for databases each run creates afresh.
fn rand_suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_reports_say_the_same_in_text_and_json() {
    let Some(empty) = TestDb::postgres().await else {
        return;
    };
    let second = vivr::migrate::embedded(Backend::Postgres)[1]
        .name
        .to_string();
    same_report(
        "migrate verify-baseline",
        1,
        &["/baseline", "/differences/*/object"],
        |format| {
            vivr(&[
                "migrate",
                "verify-baseline",
                &second,
                "--database-url",
                &empty.url,
                "--format",
                format,
            ])
        },
    );

    let Some(shop) = TestDb::postgres().await else {
        return;
    };
    shop.seeded_store().await;
    let Some(target) = TestDb::postgres().await else {
        return;
    };
    let store = tempfile::tempdir().unwrap();
    let store_path = store.path().to_str().unwrap();
    same_report(
        "backup create",
        0,
        &[
            "/manifest/database",
            "/verification/checks/*/0",
            "/verification/level",
        ],
        |format| {
            vivr(&[
                "backup",
                "create",
                "--database-url",
                &shop.url,
                "--store",
                store_path,
                "--format",
                format,
            ])
        },
    );
    same_report(
        "backup list",
        0,
        &["/backups/*/id", "/backups/*/database"],
        |format| vivr(&["backup", "list", "--store", store_path, "--format", format]),
    );
    let (_, listed, _) = vivr(&["backup", "list", "--store", store_path, "--format", "json"]);
    let id = serde_json::from_str::<Value>(&listed).unwrap()["backups"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    same_report(
        "backup verify",
        0,
        &["/id", "/level", "/checks/*/0", "/checks/*/2"],
        |format| {
            vivr(&[
                "backup", "verify", &id, "--level", "1", "--store", store_path, "--format", format,
            ])
        },
    );
    same_report(
        "backup restore",
        0,
        &["/id", "/tables", "/migration_head/name"],
        |format| {
            vivr(&[
                "backup",
                "restore",
                &id,
                "--to",
                &target.url,
                "--clean",
                "--store",
                store_path,
                "--format",
                format,
            ])
        },
    );
    same_report(
        "backup prune",
        0,
        &["/decisions/*/id", "/decisions/*/reasons"],
        |format| {
            vivr(&[
                "backup",
                "prune",
                "--dry-run",
                "--keep-daily",
                "1",
                "--store",
                store_path,
                "--format",
                format,
            ])
        },
    );
}

#[test]
fn env_healthcheck_and_admin_reports_say_the_same_in_text_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let broken = file_in(
        dir.path(),
        "broken.env",
        "VIVR_DB_POOL_SIZE=many\nVIVR_BIND=127.0.0.1:3000\nVIVR_UNKNOWN_THING=1\n",
    );
    let other = file_in(
        dir.path(),
        "other.env",
        "VIVR_DB_POOL_SIZE=16\nVIVR_BIND=127.0.0.1:3000\nVIVR_PUBLIC_URL=https://vivr.example\n",
    );
    let broken_path = broken.to_str().unwrap();
    same_report(
        "env check",
        1,
        &["/findings/*/variable", "/findings/*/rule"],
        |format| {
            vivr(&[
                "env",
                "check",
                "--env-file",
                broken_path,
                "--no-process-env",
                "--format",
                format,
            ])
        },
    );
    same_report(
        "env diff",
        1,
        &["/a", "/b", "/only_in_b/*", "/type_drift/*/variable"],
        |format| {
            vivr(&[
                "env",
                "diff",
                broken_path,
                other.to_str().unwrap(),
                "--format",
                format,
            ])
        },
    );
    let stale = dir.path().join(".env.example");
    std::fs::write(&stale, "# stale\n").unwrap();
    same_report("env example --check", 1, &["/file"], |format| {
        vivr(&[
            "env",
            "example",
            "--check",
            "--output",
            stale.to_str().unwrap(),
            "--format",
            format,
        ])
    });

    let closed = format!("http://127.0.0.1:{}/api/health", free_port());
    same_report("healthcheck", 1, &["/detail"], |format| {
        vivr(&["healthcheck", &closed, "--timeout", "2", "--format", format])
    });

    let shop = |format: &str| {
        let url = sqlite_url(dir.path(), &format!("admin-{format}-{}.db", rand_suffix()));
        let (code, _, err) = vivr(&["migrate", "deploy", "--database-url", &url]);
        assert_eq!(code, 0, "{err}");
        url
    };
    same_report("admin create", 0, &["/email", "/result"], |format| {
        code(vivr_output(
            &[
                "admin",
                "create",
                "--email",
                "patron@vivr.example",
                "--database-url",
                &shop(format),
                "--format",
                format,
            ],
            Some("Horloge-Cuivre-Lin-42\n"),
        ))
    });
    let url = shop("promote");
    let (status, _, err) = vivr_output(
        &[
            "admin",
            "create",
            "--email",
            "gerante@vivr.example",
            "--database-url",
            &url,
        ],
        Some("Horloge-Cuivre-Lin-42\n"),
    );
    assert!(status.success(), "{err}");
    same_report("admin promote", 0, &["/email", "/result"], |format| {
        vivr(&[
            "admin",
            "promote",
            "gerante@vivr.example",
            "--database-url",
            &url,
            "--format",
            format,
        ])
    });
}

#[test]
fn secrets_reports_say_the_same_in_text_and_json() {
    let Some(moto) = Moto::new() else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = file_in(
        dir.path(),
        "staging.env",
        "VIVR_BIND=0.0.0.0:3000\nVIVR_PUBLIC_URL=https://staging.vivr.example\n",
    );
    let name = moto.name("reports");
    same_report("secrets put", 0, &["/secret", "/variables/*"], |format| {
        moto.vivr(
            &[
                "secrets",
                "put",
                &name,
                "--from-env-file",
                file.to_str().unwrap(),
                "--format",
                format,
            ],
            None,
            false,
        )
    });
    same_report("secrets list", 0, &["/secrets/*/name"], |format| {
        moto.vivr(
            &["secrets", "list", "--prefix", &name, "--format", format],
            None,
            false,
        )
    });
    same_report("secrets get", 0, &["/variables/*"], |format| {
        moto.vivr(&["secrets", "get", &name, "--format", format], None, false)
    });
    same_report("secrets rotate", 0, &["/secret"], |format| {
        moto.vivr(
            &["secrets", "rotate", &name, "--format", format],
            None,
            false,
        )
    });
    same_report(
        "secrets audit",
        1,
        &["/findings/*/secret", "/findings/*/check", "/failing"],
        |format| {
            moto.vivr(
                &[
                    "secrets",
                    "audit",
                    "--prefix",
                    &name,
                    "--fail-on",
                    "low",
                    "--format",
                    format,
                ],
                None,
                false,
            )
        },
    );
}

#[test]
fn audit_reports_say_the_same_in_text_and_json() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fixture = root.join("tests/audit_fixtures/nextjs-prisma");
    let fixture = fixture.to_str().unwrap();
    // The original app's shape: a failed critical check, exit 1.
    same_report(
        "audit",
        1,
        &[
            "/score",
            "/checks/*/id",
            "/checks/*/status",
            "/policy/violations/*",
        ],
        |format| vivr(&["audit", fixture, "--format", format]),
    );
    // vivr itself, with the ignore file it honours.
    let here = root.to_str().unwrap();
    same_report(
        "audit (vivr)",
        0,
        &["/score", "/ignore_files/*"],
        |format| vivr(&["audit", here, "--format", format]),
    );
    same_report(
        "audit checks list",
        0,
        &["/checks/*/id", "/checks/*/severity"],
        |format| vivr(&["audit", "checks", "list", "--format", format]),
    );
}
