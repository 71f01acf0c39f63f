//! Persistence. Services depend on narrow traits, one per aggregate ([`CatalogStore`], [`AccountStore`],
//! [`RateLimitStore`], [`CartStore`], [`AddressStore`], [`OrderStore`], [`OutboxStore`], [`CommunityStore`],
//! [`HealthStore`]); [`Store`] is all of them. [`SqlStore`] implements each with ordinary methods over one pool
//! ([`db::Db`]): the SQL text is the same on SQLite (the embedded default) and PostgreSQL (staging,
//! production), and where the two behave differently the code says so with a `match` on the backend.

mod accounts;
mod addresses;
mod audit;
mod carts;
mod catalog;
mod community;
pub mod db;
mod erasure;
mod health;
mod images;
mod lifecycle;
mod model;
mod orders;
mod outbox;
mod query;
mod rate_limits;
mod rows;
mod search_index;

use std::time::Duration;

pub use accounts::AccountStore;
pub use addresses::AddressStore;
pub use audit::{AuditStore, diff};
pub use carts::CartStore;
pub use catalog::CatalogStore;
pub use community::CommunityStore;
pub use db::Db;
pub use erasure::erased_email;
pub use health::HealthStore;
pub use images::ImageStore;
pub use lifecycle::LifecycleStore;
pub use model::*;
pub use orders::OrderStore;
pub use outbox::OutboxStore;
pub use query::{ProductQuery, ProductSort};
pub use rate_limits::RateLimitStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A unique constraint refused the write; the payload names what was duplicated.
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// The write would break a reference (for example a category that does not exist).
    #[error("{0}")]
    Invalid(&'static str),
    /// A line of an order could not be reserved (a product out of stock, gone, or at another price); nothing
    /// was written.
    #[error("{0}")]
    Stock(crate::domain::StockProblem),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Which database a URL names. Unknown schemes are refused rather than guessed: a typo must not silently create
/// a new empty SQLite file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgresql",
        }
    }
}

/// Pool sizing and timeouts for [`connect`].
#[derive(Debug, Clone)]
pub struct PoolOptions {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// Opens the store a URL names.
pub async fn connect(url: &str, options: &PoolOptions) -> StoreResult<Box<dyn Store>> {
    Ok(Box::new(SqlStore::connect(url, options).await?))
}

/// The store on either database.
#[derive(Clone)]
pub struct SqlStore {
    db: Db,
}

/// The store over a pool someone else opened (`vivr serve` shares it with the schema probe).
impl From<Db> for SqlStore {
    fn from(db: Db) -> Self {
        Self { db }
    }
}

impl SqlStore {
    pub async fn connect(url: &str, options: &PoolOptions) -> StoreResult<Self> {
        Ok(Self {
            db: Db::connect(url, options).await?,
        })
    }

    async fn begin_write(&self) -> sqlx::Result<db::Tx> {
        self.db.begin_write().await
    }
}

/// Everything the shop stores.
pub trait Store:
    HealthStore
    + CatalogStore
    + AccountStore
    + RateLimitStore
    + CartStore
    + AddressStore
    + OrderStore
    + OutboxStore
    + CommunityStore
    + LifecycleStore
    + AuditStore
    + ImageStore
    + Send
    + Sync
    + 'static
{
}

impl Store for SqlStore {}
