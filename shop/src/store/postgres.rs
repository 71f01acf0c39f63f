//! PostgreSQL, for staging and production.

use std::str::FromStr;

use chrono::NaiveDateTime;
use sqlx::AssertSqlSafe;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use super::commerce::{ADDRESS_COLUMNS, ORDER_COLUMNS, ORDER_ITEMS, impl_commerce_store};
use super::community::impl_community_store;
use super::model::*;
use super::query::{Bind, PRODUCT_COLUMNS, ProductQuery};
use super::shared::*;
use super::{Backend, PoolOptions, StoreError, StoreResult};
use crate::domain::address::AddressInput;
use crate::domain::{Money, OrderStatus, fold_for_search};

#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    pub async fn connect(url: &str, options: &PoolOptions) -> StoreResult<Self> {
        let connect = PgConnectOptions::from_str(url)?.application_name("vivr serve");
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .min_connections(1)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await?;
        Ok(Self { pool })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// A transaction that will write.
    async fn begin_write(&self) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        self.pool.begin().await
    }
}

impl_store!(PgStore, sqlx::Postgres, Backend::Postgres);
impl_commerce_store!(PgStore, sqlx::Postgres);
impl_community_store!(PgStore, sqlx::Postgres);
