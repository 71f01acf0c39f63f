//! Persistence. The shop talks to the [`Store`] trait; [`SqliteStore`] (the embedded default) and [`PgStore`]
//! (staging, production) implement it. The SQL text is shared ([`sql`]): both databases accept the same quoted
//! identifiers, `$n` placeholders, `RETURNING` and `ON CONFLICT`, so the backends differ only in how they connect.

pub mod commerce;
pub mod community;
mod model;
mod postgres;
mod query;
mod shared;
mod sqlite;

use std::time::Duration;

use async_trait::async_trait;
use chrono::NaiveDateTime;

pub use commerce::CommerceStore;
pub use community::CommunityStore;
pub use model::*;
pub use postgres::PgStore;
pub use query::{ProductQuery, ProductSort};
pub use sqlite::SqliteStore;

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
    /// A business rule refused the write (a product out of stock, a price that changed); nothing was written.
    #[error("{message}")]
    Refused { code: &'static str, message: String },
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
    match Backend::from_url(url) {
        Some(Backend::Sqlite) => Ok(Box::new(SqliteStore::connect(url, options).await?)),
        Some(Backend::Postgres) => Ok(Box::new(PgStore::connect(url, options).await?)),
        None => Err(StoreError::Invalid(
            "DATABASE_URL must start with sqlite:, postgres:// or postgresql://",
        )),
    }
}

#[async_trait]
pub trait Store: CommerceStore + CommunityStore + Send + Sync + 'static {
    fn backend(&self) -> Backend;
    /// Connections open and idle, for metrics.
    fn pool_stats(&self) -> PoolStats;
    /// One round trip: is the database answering?
    async fn ping(&self) -> StoreResult<()>;
    /// Rows of `_prisma_migrations` that are applied (finished, not rolled back). `Ok(None)` when the table is
    /// missing.
    async fn applied_migrations(&self) -> StoreResult<Option<Vec<AppliedMigration>>>;

    // Catalogue
    async fn list_categories(&self) -> StoreResult<Vec<Category>>;
    async fn category_by_slug(&self, slug: &str) -> StoreResult<Option<Category>>;
    async fn create_category(&self, new: &NewCategory, now: NaiveDateTime)
    -> StoreResult<Category>;
    async fn update_category(
        &self,
        slug: &str,
        patch: &CategoryPatch,
        now: NaiveDateTime,
    ) -> StoreResult<Category>;
    /// Deletes a category; its products stay, without a category (the schema's ON DELETE SET NULL).
    async fn delete_category(&self, slug: &str) -> StoreResult<()>;
    async fn list_products(&self, query: &ProductQuery) -> StoreResult<ProductPage>;
    async fn product_by_slug(&self, slug: &str) -> StoreResult<Option<Product>>;
    async fn product_reviews(
        &self,
        product_id: &str,
        limit: u32,
        offset: u32,
    ) -> StoreResult<Vec<Review>>;
    /// Up to `limit` other products of the same category (none when the product has no category).
    async fn related_products(&self, product: &Product, limit: u32) -> StoreResult<Vec<Product>>;
    async fn create_product(&self, new: &NewProduct, now: NaiveDateTime) -> StoreResult<Product>;
    async fn update_product(
        &self,
        slug: &str,
        patch: &ProductPatch,
        now: NaiveDateTime,
    ) -> StoreResult<Product>;
    /// Removes a product from the catalogue. Products that were ordered are archived rather than deleted, so that
    /// order history keeps its references.
    async fn archive_product(&self, slug: &str, now: NaiveDateTime) -> StoreResult<()>;
    async fn catalog_is_empty(&self) -> StoreResult<bool>;
    /// Inserts categories and products in one transaction; existing slugs are left untouched.
    async fn seed_catalog(
        &self,
        categories: &[NewCategory],
        products: &[SeedProduct],
        now: NaiveDateTime,
    ) -> StoreResult<SeedReport>;

    // Accounts
    async fn create_user(&self, new: &NewUser, now: NaiveDateTime) -> StoreResult<User>;
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>>;
    async fn set_password_hash(
        &self,
        user_id: &str,
        hash: &str,
        now: NaiveDateTime,
    ) -> StoreResult<()>;
    async fn set_role(
        &self,
        email: &str,
        role: crate::domain::Role,
        now: NaiveDateTime,
    ) -> StoreResult<User>;
    async fn create_session(&self, new: &NewSession) -> StoreResult<()>;
    /// The live session with this token hash, and its user.
    async fn session_by_token_hash(
        &self,
        token_hash: &str,
        now: NaiveDateTime,
    ) -> StoreResult<Option<SessionRecord>>;
    async fn renew_session(
        &self,
        token_hash: &str,
        expires: NaiveDateTime,
        now: NaiveDateTime,
    ) -> StoreResult<()>;
    async fn delete_session(&self, token_hash: &str) -> StoreResult<()>;
    async fn delete_expired_sessions(&self, now: NaiveDateTime) -> StoreResult<u64>;

    // Throttling
    /// Counts one event against `key` in a fixed window; returns the count in the current window and when that
    /// window started.
    async fn rate_limit_hit(
        &self,
        key: &str,
        window: Duration,
        now: NaiveDateTime,
    ) -> StoreResult<RateWindow>;
    async fn rate_limit_peek(
        &self,
        key: &str,
        window: Duration,
        now: NaiveDateTime,
    ) -> StoreResult<Option<RateWindow>>;
    async fn rate_limit_reset(&self, key: &str) -> StoreResult<()>;
    /// Gives back one event counted in the window that started at `window_start` (nothing when that window has
    /// ended since, or the count is already zero).
    async fn rate_limit_refund(&self, key: &str, window_start: NaiveDateTime) -> StoreResult<()>;
    /// Deletes counters whose window started before `before` (they no longer limit anything).
    async fn rate_limit_purge(&self, before: NaiveDateTime) -> StoreResult<u64>;

    // Carts
    /// The lines of the owner's cart with their live products (archived products left out), oldest first.
    async fn cart_lines(&self, owner: &CartOwner) -> StoreResult<Vec<CartLine>>;
    /// How many items (the sum of quantities) the owner's cart holds, for page headers.
    async fn cart_item_count(&self, owner: &CartOwner) -> StoreResult<i64>;
    /// Sets a line's quantity (0 removes the line), creating the cart when needed.
    async fn set_cart_line(
        &self,
        owner: &CartOwner,
        product_id: &str,
        quantity: i32,
        now: NaiveDateTime,
    ) -> StoreResult<()>;
    async fn clear_cart(&self, owner: &CartOwner) -> StoreResult<()>;
    /// Moves a visitor's lines into the user's cart (quantities added, then capped at the stock when there is
    /// some) and deletes the visitor's cart. One transaction.
    async fn merge_cart(
        &self,
        visitor_hash: &str,
        user_id: &str,
        now: NaiveDateTime,
    ) -> StoreResult<()>;
    /// Deletes visitors' carts untouched since `before`.
    async fn purge_visitor_carts(&self, before: NaiveDateTime) -> StoreResult<u64>;
}
