//! The search index's upkeep: a product's analysed text written in the transaction that changes it, the
//! vocabulary typos are corrected against, and indexing again what an older analysis indexed.

use super::db::{Tx, assembled, sql};
use super::{SqlStore, StoreResult};
use crate::domain::{SEARCH_ANALYZER_VERSION, SearchDocument};

impl SqlStore {
    /// Indexes again, a batch per transaction, the products indexed by an older analysis (see
    /// `CatalogStore::refresh_search_index`).
    pub(super) async fn reindex_stale(&self, batch: u32) -> StoreResult<u64> {
        if self.db.backend() == super::Backend::Sqlite {
            // FTS5's own `rebuild` would index every product; the index holds live ones only (migration
            // `search_live_products`).
            let mut tx = self.begin_write().await?;
            sql(r#"INSERT INTO "ProductSearch" ("ProductSearch") VALUES ('delete-all')"#)
                .execute(&mut tx)
                .await?;
            sql(r#"INSERT INTO "ProductSearch" ("rowid", "searchText")
                   SELECT "rowid", "searchText" FROM "Product" WHERE "archivedAt" IS NULL"#)
            .execute(&mut tx)
            .await?;
            tx.commit().await?;
        }
        let mut indexed = 0;
        loop {
            let mut tx = self.begin_write().await?;
            let stale = sql(
                r#"SELECT "id", "name", "description" FROM "Product" WHERE "searchVersion" <> $1
                   ORDER BY "id" LIMIT $2"#,
            )
            .bind(SEARCH_ANALYZER_VERSION)
            .bind(i64::from(batch))
            .fetch_all::<(String, String, String)>(&mut tx)
            .await?;
            if stale.is_empty() {
                return Ok(indexed);
            }
            for (id, name, description) in &stale {
                index_product(&mut tx, id, &SearchDocument::of(name, description)).await?;
            }
            tx.commit().await?;
            indexed += stale.len() as u64;
        }
    }

    /// The vocabulary's words that start with `prefix` (see `CatalogStore::search_vocabulary`).
    pub(super) async fn vocabulary(&self, prefix: &str, limit: u32) -> StoreResult<Vec<String>> {
        // A range on the primary key rather than LIKE, which PostgreSQL cannot answer from an index under a
        // linguistic collation. The upper bound is the prefix with its last character incremented.
        let mut upper: Vec<char> = prefix.chars().collect();
        let Some(last) = upper.pop() else {
            return Ok(Vec::new());
        };
        let Some(next) = char::from_u32(u32::from(last) + 1) else {
            return Ok(Vec::new());
        };
        upper.push(next);
        let upper: String = upper.into_iter().collect();
        Ok(sql(
            r#"SELECT "term" FROM "SearchTerm" WHERE "term" >= $1 AND "term" < $2 ORDER BY "term" LIMIT $3"#,
        )
        .bind(prefix)
        .bind(upper)
        .bind(i64::from(limit))
        .fetch_all::<(String,)>(&self.db)
        .await?
        .into_iter()
        .map(|(term,)| term)
        .filter(|term| term.starts_with(prefix))
        .collect())
    }
}

/// Writes a product's search index text, in the transaction that changed its name or description.
pub(super) async fn index_product(
    tx: &mut Tx,
    id: &str,
    search: &SearchDocument,
) -> StoreResult<()> {
    sql(r#"UPDATE "Product" SET "searchText" = $1, "searchName" = $2, "searchVersion" = $3 WHERE "id" = $4"#)
        .bind(&search.terms)
        .bind(&search.name_terms)
        .bind(SEARCH_ANALYZER_VERSION)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    remember_words(tx, &search.words).await
}

/// Adds words to the vocabulary that typos are corrected against. Words are only ever added: one that no product
/// uses any more at worst suggests a correction that finds nothing. They are inserted in sorted order, so that
/// two transactions adding the same new words wait for each other instead of deadlocking.
pub(super) async fn remember_words(tx: &mut Tx, words: &[String]) -> StoreResult<()> {
    let mut words = words.to_vec();
    words.sort_unstable();
    words.dedup();
    for chunk in words.chunks(100) {
        let values: Vec<String> = (1..=chunk.len()).map(|n| format!("(${n})")).collect();
        assembled(format!(
            r#"INSERT INTO "SearchTerm" ("term") VALUES {} ON CONFLICT ("term") DO NOTHING"#,
            values.join(", ")
        ))
        .bind_all(chunk.iter().map(|w| super::db::Arg::from(w.clone())))
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}
