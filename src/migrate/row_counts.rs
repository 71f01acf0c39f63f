//! Exact row counts of every table, before and after a migration (the guard that refuses lost rows).

use sqlx::{AssertSqlSafe, PgConnection, SqliteConnection};

/// Row count per table.
pub type RowCounts = std::collections::BTreeMap<String, i64>;

pub async fn pg_row_counts(conn: &mut PgConnection) -> Result<RowCounts, sqlx::Error> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> '_prisma_migrations'
         ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await?;
    let Some(sql) = count_sql(&tables) else {
        return Ok(RowCounts::new());
    };
    let rows: Vec<(String, i64)> = sqlx::query_as(sql).fetch_all(&mut *conn).await?;
    Ok(rows.into_iter().collect())
}

pub async fn sqlite_row_counts(conn: &mut SqliteConnection) -> Result<RowCounts, sqlx::Error> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_prisma_migrations'
         ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await?;
    let Some(sql) = count_sql(&tables) else {
        return Ok(RowCounts::new());
    };
    let rows: Vec<(String, i64)> = sqlx::query_as(sql).fetch_all(&mut *conn).await?;
    Ok(rows.into_iter().collect())
}

/// One query counting every table's rows; `None` when there are no tables.
fn count_sql(tables: &[String]) -> Option<AssertSqlSafe<String>> {
    if tables.is_empty() {
        return None;
    }
    let quoted = |t: &str| format!("\"{}\"", t.replace('"', "\"\""));
    let literal = |t: &str| format!("'{}'", t.replace('\'', "''"));
    let sql = tables
        .iter()
        .map(|t| {
            format!(
                "SELECT {} AS t, COUNT(*) AS n FROM {}",
                literal(t),
                quoted(t)
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    // Table names come from the catalog and are quoted above.
    Some(AssertSqlSafe(sql))
}
