//! Is the database answering, and how busy is its pool.

use async_trait::async_trait;

use super::db::sql;
use super::{Backend, PoolStats};
use super::{SqlStore, StoreResult};

#[async_trait]
pub trait HealthStore: Send + Sync {
    fn backend(&self) -> Backend;
    /// Connections open and idle, for metrics.
    fn pool_stats(&self) -> PoolStats;
    /// One round trip: is the database answering?
    async fn ping(&self) -> StoreResult<()>;
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
}
