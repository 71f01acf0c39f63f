//! The row guard: a migration must not remove rows from tables it does not name (a cascade, a trigger, a
//! `TRUNCATE … CASCADE`). A file that does is rolled back whole and recorded as failed.
//!
//! On PostgreSQL the guard costs a catalog read, not a table scan: inside the migration's own transaction,
//! `pg_stat_xact_user_tables` counts the rows this transaction inserted and deleted in each table, and the
//! catalog says which tables appeared, disappeared or were rewritten. A table that lost rows it does not name is
//! one with more deletions than insertions, or one that is gone. `TRUNCATE` empties a table without counting
//! deletions, so a file that mentions it is guarded the exact way: every table counted before and after, in the
//! same snapshot. SQLite databases are small and always counted exactly. A statement that cannot run in a
//! transaction (`CREATE INDEX CONCURRENTLY`, `VACUUM`) deletes no rows and is not guarded.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{PgConnection, SqliteConnection};

use super::{RowCounts, pg_row_counts, sqlite_row_counts};

/// What one migration did to the rows of each table it changed.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RowChanges {
    /// "catalog" (rows this transaction inserted and deleted) or "count" (exact counts before and after).
    pub method: &'static str,
    pub tables: Vec<TableRows>,
    /// Time spent running the file, and spent guarding it (milliseconds).
    pub script_ms: u64,
    pub guard_ms: u64,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct TableRows {
    pub table: String,
    pub inserted: i64,
    pub deleted: i64,
    /// Counts before and after, when the table was counted exactly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<i64>,
    pub created: bool,
    pub dropped: bool,
    /// Its storage was replaced (a rewrite such as a column type change, or a TRUNCATE).
    pub rewritten: bool,
    pub named_in_file: bool,
}

impl TableRows {
    /// Whether the table ended with fewer rows than it had (or is gone).
    fn lost_rows(&self) -> bool {
        self.dropped
            || match (self.before, self.after) {
                (Some(before), Some(after)) => after < before,
                _ => self.deleted > self.inserted,
            }
    }

    /// `Session: 1 → 0 rows`, `Session: 3 row(s) removed`, `Session: dropped`.
    pub fn describe(&self) -> String {
        match (self.dropped, self.before, self.after) {
            (true, _, _) => format!("{}: dropped", self.table),
            (false, Some(before), Some(after)) => {
                format!("{}: {before} → {after} rows", self.table)
            }
            _ => format!(
                "{}: {} row(s) removed",
                self.table,
                self.deleted - self.inserted
            ),
        }
    }
}

impl RowChanges {
    /// Tables the file never names that lost rows (or vanished).
    pub fn lost_untouched(&self) -> Vec<&TableRows> {
        self.tables
            .iter()
            .filter(|t| !t.named_in_file && t.lost_rows())
            .collect()
    }
}

/// Whether a table's name appears in the migration's text (quoted, or as a word).
fn named_in(sql_lower: &str, table: &str) -> bool {
    let t = table.to_lowercase();
    sql_lower.contains(&format!("\"{t}\""))
        || sql_lower
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .any(|word| word == t)
}

/// Whether the file may truncate a table (which no row counter sees).
pub fn mentions_truncate(sql: &str) -> bool {
    sql.split(|c: char| !c.is_alphanumeric())
        .any(|word| word.eq_ignore_ascii_case("truncate"))
}

/// What the guard reads before the file runs.
pub enum Before {
    /// Each table's storage file (PostgreSQL catalog).
    Catalog(BTreeMap<String, Option<i64>>),
    Counts(RowCounts),
}

/// Each table of the current schema and its storage file, read from the catalog.
async fn pg_tables(conn: &mut PgConnection) -> Result<BTreeMap<String, Option<i64>>, sqlx::Error> {
    let rows: Vec<(String, Option<i64>)> = sqlx::query_as(
        "SELECT c.relname::text, pg_relation_filenode(c.oid)::int8
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relname <> '_prisma_migrations'",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().collect())
}

/// Rows this transaction inserted and deleted, per table.
async fn pg_transaction_rows(
    conn: &mut PgConnection,
) -> Result<BTreeMap<String, (i64, i64)>, sqlx::Error> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT relname::text, n_tup_ins, n_tup_del FROM pg_stat_xact_user_tables
          WHERE schemaname = current_schema() AND (n_tup_ins > 0 OR n_tup_del > 0)",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(table, ins, del)| (table, (ins, del)))
        .collect())
}

/// Reads what the guard needs before `sql` runs, inside its transaction.
pub async fn pg_before(conn: &mut PgConnection, sql: &str) -> Result<Before, sqlx::Error> {
    Ok(if mentions_truncate(sql) {
        Before::Counts(pg_row_counts(conn).await?)
    } else {
        Before::Catalog(pg_tables(conn).await?)
    })
}

/// Compares with what `pg_before` read, after `sql` ran, still inside its transaction.
pub async fn pg_after(
    conn: &mut PgConnection,
    before: Before,
    sql: &str,
) -> Result<RowChanges, sqlx::Error> {
    match before {
        Before::Counts(counts) => Ok(between_counts(&counts, &pg_row_counts(conn).await?, sql)),
        Before::Catalog(files) => {
            let after = pg_tables(conn).await?;
            let rows = pg_transaction_rows(conn).await?;
            let lower = sql.to_lowercase();
            let names: BTreeSet<&String> = files.keys().chain(after.keys()).collect();
            let tables = names
                .into_iter()
                .filter_map(|name| {
                    let (inserted, deleted) = rows.get(name).copied().unwrap_or((0, 0));
                    let (was, is) = (files.get(name), after.get(name));
                    let row = TableRows {
                        table: name.clone(),
                        inserted,
                        deleted,
                        created: was.is_none(),
                        dropped: is.is_none(),
                        rewritten: matches!((was, is), (Some(a), Some(b)) if a != b),
                        named_in_file: named_in(&lower, name),
                        ..TableRows::default()
                    };
                    let changed =
                        row.created || row.dropped || row.rewritten || inserted > 0 || deleted > 0;
                    changed.then_some(row)
                })
                .collect();
            Ok(RowChanges {
                method: "catalog",
                tables,
                ..RowChanges::default()
            })
        }
    }
}

/// Exact counts of every SQLite table, after, compared.
pub async fn sqlite_after(
    conn: &mut SqliteConnection,
    before: &RowCounts,
    sql: &str,
) -> Result<RowChanges, sqlx::Error> {
    Ok(between_counts(before, &sqlite_row_counts(conn).await?, sql))
}

fn between_counts(before: &RowCounts, after: &RowCounts, sql: &str) -> RowChanges {
    let lower = sql.to_lowercase();
    let names: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let tables = names
        .into_iter()
        .filter(|t| before.get(*t) != after.get(*t))
        .map(|t| {
            let (was, is) = (before.get(t).copied(), after.get(t).copied());
            let difference = is.unwrap_or(0) - was.unwrap_or(0);
            TableRows {
                table: t.clone(),
                inserted: difference.max(0),
                deleted: (-difference).max(0),
                before: was,
                after: is,
                created: was.is_none(),
                dropped: is.is_none(),
                rewritten: false,
                named_in_file: named_in(&lower, t),
            }
        })
        .collect();
    RowChanges {
        method: "count",
        tables,
        ..RowChanges::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_is_noticed_in_any_case() {
        assert!(mentions_truncate("TRUNCATE \"Session\" CASCADE;"));
        assert!(mentions_truncate("select 1;\ntruncate t"));
        assert!(!mentions_truncate(
            "ALTER TABLE \"Truncated\" ADD COLUMN x int"
        ));
    }

    #[test]
    fn lost_rows_are_net_deletions_or_a_drop() {
        let row = |inserted, deleted, dropped| TableRows {
            table: "Session".into(),
            inserted,
            deleted,
            dropped,
            ..TableRows::default()
        };
        assert!(row(0, 1, false).lost_rows());
        assert!(!row(2, 2, false).lost_rows(), "replaced, not lost");
        assert!(row(0, 0, true).lost_rows());
        assert_eq!(row(0, 3, false).describe(), "Session: 3 row(s) removed");
        let counted = TableRows {
            before: Some(1),
            after: Some(0),
            ..row(0, 1, false)
        };
        assert_eq!(counted.describe(), "Session: 1 → 0 rows");
    }
}
