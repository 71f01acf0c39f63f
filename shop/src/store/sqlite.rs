//! The embedded default: one SQLite file (WAL, foreign keys on), created when missing.

use std::str::FromStr;

use chrono::NaiveDateTime;
use sqlx::AssertSqlSafe;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::commerce::{ADDRESS_COLUMNS, ORDER_COLUMNS, ORDER_ITEMS, impl_commerce_store};
use super::community::impl_community_store;
use super::model::*;
use super::query::{Bind, PRODUCT_COLUMNS, ProductQuery};
use super::shared::*;
use super::{Backend, PoolOptions, StoreError, StoreResult};
use crate::domain::address::AddressInput;
use crate::domain::{Money, OrderStatus, fold_for_search};

#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    pub async fn connect(url: &str, options: &PoolOptions) -> StoreResult<Self> {
        let connect = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(5))
            // Give the planner statistics from the start and keep them current (SQLite's recommendation for
            // long-lived connections): without them it may scan a 10,000-product table through an index.
            .pragma("analysis_limit", "1000")
            .pragma("optimize", "0x10002")
            .optimize_on_close(true, Some(1000));
        if let Some(dir) = connect
            .get_filename()
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await?;
        Ok(Self { pool })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// A transaction that will write takes SQLite's write lock at BEGIN (waiting up to the busy timeout). A
    /// deferred transaction that reads first and writes later fails at once with SQLITE_BUSY when another
    /// connection wrote in between (its read snapshot cannot be upgraded), and no busy timeout helps then.
    async fn begin_write(&self) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        self.pool.begin_with("BEGIN IMMEDIATE").await
    }
}

impl_store!(SqliteStore, sqlx::Sqlite, Backend::Sqlite);
impl_commerce_store!(SqliteStore, sqlx::Sqlite);
impl_community_store!(SqliteStore, sqlx::Sqlite);
