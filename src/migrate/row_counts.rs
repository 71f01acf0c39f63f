//! Exact row counts of every table, before and after a migration (the guard that refuses lost rows).

use sqlx::{AssertSqlSafe, PgConnection, SqliteConnection};

/// Row count per table.
pub type RowCounts = std::collections::BTreeMap<String, i64>;

pub async fn pg_row_counts(conn: &mut PgConnection) -> Result<RowCounts, sqlx::Error> {
    row_counts(Raw::Postgres(conn)).await
}

pub async fn sqlite_row_counts(conn: &mut SqliteConnection) -> Result<RowCounts, sqlx::Error> {
    row_counts(Raw::Sqlite(conn)).await
}

/// The connection the counts are read on: the caller's own, so that they see its transaction.
enum Raw<'c> {
    Postgres(&'c mut PgConnection),
    Sqlite(&'c mut SqliteConnection),
}

const PG_TABLES: &str = "SELECT table_name::text FROM information_schema.tables
    WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> '_prisma_migrations'
    ORDER BY 1";

/// Tables that hold rows of their own: not a virtual table (the full-text index reads its rows from `Product`)
/// nor the shadow tables its module keeps its index in, whose row counts follow how the index is laid out
/// (a merge of its segments, a rebuild) rather than any data.
const SQLITE_TABLES: &str = "SELECT name FROM pragma_table_list
    WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_prisma_migrations'
    ORDER BY 1";

/// Lists the tables from the catalogue, then counts them all in one statement.
async fn row_counts(mut conn: Raw<'_>) -> Result<RowCounts, sqlx::Error> {
    let tables: Vec<String> = match &mut conn {
        Raw::Postgres(c) => sqlx::query_scalar(PG_TABLES).fetch_all(&mut **c).await?,
        Raw::Sqlite(c) => {
            sqlx::query_scalar(SQLITE_TABLES)
                .fetch_all(&mut **c)
                .await?
        }
    };
    let Some(sql) = count_sql(&tables) else {
        return Ok(RowCounts::new());
    };
    let rows: Vec<(String, i64)> = match conn {
        Raw::Postgres(c) => sqlx::query_as(sql).fetch_all(c).await?,
        Raw::Sqlite(c) => sqlx::query_as(sql).fetch_all(c).await?,
    };
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
