//! Is the database answering, how busy is its pool, and which migrations does it have.

use async_trait::async_trait;

use super::db::sql;
use super::model::*;
use super::rows::*;
use super::{Backend, PoolStats};
use super::{SqlStore, StoreResult};

#[async_trait]
pub trait HealthStore: Send + Sync {
    fn backend(&self) -> Backend;
    /// Connections open and idle, for metrics.
    fn pool_stats(&self) -> PoolStats;
    /// One round trip: is the database answering?
    async fn ping(&self) -> StoreResult<()>;
    /// Rows of `_prisma_migrations` that are applied (finished, not rolled back). `Ok(None)` when the table is
    /// missing.
    async fn applied_migrations(&self) -> StoreResult<Option<Vec<AppliedMigration>>>;
}

#[async_trait]
impl HealthStore for SqlStore {
    fn backend(&self) -> Backend {
        self.db.backend()
    }

    fn pool_stats(&self) -> PoolStats {
        self.db.pool_stats()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn ping(&self) -> StoreResult<()> {
        sql("SELECT 1").execute(&self.db).await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn applied_migrations(&self) -> StoreResult<Option<Vec<AppliedMigration>>> {
        let rows = sql(
            r#"SELECT "migration_name", "checksum" FROM "_prisma_migrations"
               WHERE "finished_at" IS NOT NULL AND "rolled_back_at" IS NULL
               ORDER BY "migration_name""#,
        )
        .fetch_all::<MigrationRow>(&self.db)
        .await;
        match rows {
            Ok(rows) => Ok(Some(rows.into_iter().map(Into::into).collect())),
            Err(err) if is_missing_table(&err) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }
}
