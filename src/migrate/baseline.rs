//! `verify-baseline`: before recording a migration as applied on a database that was never migrated by vivr (or
//! Prisma), compare what the database has with what the migrations up to that one would create: tables, columns
//! with their types, nullability and defaults, indexes and constraints. The expected side is built for real, by
//! applying the migrations to a scratch database on the same server, which is dropped afterwards.

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use serde::Serialize;
use sqlx::{AssertSqlSafe, Connection, PgConnection};

use super::Migration;

/// One schema object, by a stable key, with its definition.
type Catalog = BTreeMap<String, String>;

#[derive(Debug, Clone, Serialize)]
pub struct Difference {
    pub object: String,
    /// What the migrations create (`None`: they do not create it).
    pub expected: Option<String>,
    /// What the database has (`None`: it does not have it).
    pub actual: Option<String>,
}

async fn catalog(conn: &mut PgConnection) -> anyhow::Result<Catalog> {
    let mut out = Catalog::new();
    let columns: Vec<(String, String, String, bool, Option<String>)> = sqlx::query_as(
        "SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                pg_get_expr(d.adbin, d.adrelid)
         FROM pg_attribute a
         JOIN pg_class c ON c.oid = a.attrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
         WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
           AND c.relname <> '_prisma_migrations'",
    )
    .fetch_all(&mut *conn)
    .await
    .context("reading columns")?;
    for (table, column, kind, not_null, default) in columns {
        out.insert(format!("table {table}"), "exists".into());
        out.insert(
            format!("column {table}.{column}"),
            format!(
                "{kind}{}{}",
                if not_null { " NOT NULL" } else { "" },
                default.map(|d| format!(" DEFAULT {d}")).unwrap_or_default()
            ),
        );
    }
    let indexes: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT tablename::text, indexname::text, indexdef FROM pg_indexes
         WHERE schemaname = current_schema() AND tablename <> '_prisma_migrations'",
    )
    .fetch_all(&mut *conn)
    .await
    .context("reading indexes")?;
    for (table, index, definition) in indexes {
        out.insert(format!("index {table}.{index}"), definition);
    }
    let constraints: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT c.relname::text, k.conname::text, pg_get_constraintdef(k.oid)
         FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = current_schema() AND c.relname <> '_prisma_migrations'",
    )
    .fetch_all(&mut *conn)
    .await
    .context("reading constraints")?;
    for (table, name, definition) in constraints {
        out.insert(format!("constraint {table}.{name}"), definition);
    }
    Ok(out)
}

fn diff(expected: &Catalog, actual: &Catalog) -> Vec<Difference> {
    let mut keys: Vec<&String> = expected.keys().chain(actual.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| expected.get(*k) != actual.get(*k))
        .map(|k| Difference {
            object: k.clone(),
            expected: expected.get(k).cloned(),
            actual: actual.get(k).cloned(),
        })
        .collect()
}

/// Compares the database at `url` with what `migrations` up to and including `name` create.
pub async fn verify_baseline(
    url: &str,
    migrations: &[Migration],
    name: &str,
) -> anyhow::Result<Vec<Difference>> {
    let Some(last) = migrations.iter().position(|m| m.name == name) else {
        bail!("migration {name} does not exist (P3017)");
    };
    let mut live = super::pg_connect(url, "vivr migrate verify-baseline").await?;
    let actual = catalog(&mut live).await?;
    let scratch = format!(
        "vivr_baseline_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE \"{scratch}\"")))
        .execute(&mut live)
        .await
        .context(
            "creating a scratch database to build the expected schema (the role needs CREATEDB)",
        )?;
    let expected = async {
        let mut conn = super::pg_connect(
            &super::url_with_database(url, &scratch)?,
            "vivr migrate verify-baseline",
        )
        .await?;
        for migration in migrations.iter().take(last + 1) {
            sqlx::raw_sql(AssertSqlSafe(migration.sql.to_string()))
                .execute(&mut conn)
                .await
                .with_context(|| format!("applying {} to the scratch database", migration.name))?;
        }
        let expected = catalog(&mut conn).await;
        conn.close().await.ok();
        expected
    }
    .await;
    if let Err(err) = sqlx::raw_sql(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{scratch}\" WITH (FORCE)"
    )))
    .execute(&mut live)
    .await
    {
        tracing::warn!(error = %err, database = %scratch, "could not drop the scratch database");
    }
    Ok(diff(&expected?, &actual))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_name_the_object_and_both_sides() {
        let expected: Catalog = [
            ("column User.email".to_string(), "text NOT NULL".to_string()),
            (
                "index User.User_email_key".to_string(),
                "CREATE UNIQUE INDEX …".to_string(),
            ),
        ]
        .into();
        let actual: Catalog = [
            (
                "column User.email".to_string(),
                "character varying(255)".to_string(),
            ),
            ("column User.legacy".to_string(), "integer".to_string()),
        ]
        .into();
        let found = diff(&expected, &actual);
        assert_eq!(found.len(), 3);
        assert_eq!(found[0].object, "column User.email");
        assert_eq!(found[1].object, "column User.legacy");
        assert_eq!(found[1].expected, None);
        assert_eq!(found[2].actual, None);
    }
}
