//! Both migration histories end in the same tables and columns, with the same kind of type in each. The one
//! difference is the full-text index: an FTS5 table and its shadow tables (`ProductSearch*`) on SQLite, an
//! expression index on PostgreSQL.

use std::collections::BTreeMap;

use crate::common::TestDb;

fn kind(declared: &str) -> &'static str {
    let t = declared.to_ascii_lowercase();
    if t.contains("bool") {
        "bool"
    } else if t.contains("timestamp") || t.contains("datetime") {
        "time"
    } else if t.contains("int") {
        "int"
    } else if t.contains("char") || t.contains("text") {
        "text"
    } else if t.contains("double") || t.contains("real") {
        "float"
    } else {
        "other"
    }
}

#[tokio::test]
async fn sqlite_and_postgres_histories_end_in_the_same_schema() {
    let Some(pg) = TestDb::postgres().await else {
        return;
    };
    pg.migrate().await;
    let sqlite = TestDb::sqlite();
    sqlite.migrate().await;

    let pool = sqlx::PgPool::connect(&pg.url).await.unwrap();
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name <> '_prisma_migrations'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let pg_schema: BTreeMap<(String, String), &str> = rows
        .iter()
        .map(|(t, c, ty)| ((t.clone(), c.clone()), kind(ty)))
        .collect();

    let lite = sqlx::SqlitePool::connect(&sqlite.url).await.unwrap();
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT m.name, p.name, p.type FROM sqlite_master m JOIN pragma_table_info(m.name) p
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_prisma_migrations'
           AND m.name NOT LIKE 'ProductSearch%'",
    )
    .fetch_all(&lite)
    .await
    .unwrap();
    let sqlite_schema: BTreeMap<(String, String), &str> = rows
        .iter()
        .map(|(t, c, ty)| ((t.clone(), c.clone()), kind(ty)))
        .collect();

    assert!(pg_schema.len() > 80, "{} columns", pg_schema.len());
    let only_pg: Vec<_> = pg_schema
        .keys()
        .filter(|k| !sqlite_schema.contains_key(*k))
        .collect();
    let only_sqlite: Vec<_> = sqlite_schema
        .keys()
        .filter(|k| !pg_schema.contains_key(*k))
        .collect();
    assert!(
        only_pg.is_empty() && only_sqlite.is_empty(),
        "only in PostgreSQL: {only_pg:?}\nonly in SQLite: {only_sqlite:?}"
    );
    let differing: Vec<_> = pg_schema
        .iter()
        .filter(|(k, v)| sqlite_schema.get(*k) != Some(*v))
        .collect();
    assert!(differing.is_empty(), "type kinds differ: {differing:?}");
}
