//! One way to run a query on either database. [`Db`] is the pool (SQLite or PostgreSQL), [`Tx`] a transaction
//! on it, and [`Sql`] a statement with its bound values; a statement runs on whichever of the two it is given.
//!
//! The store's SQL text is the same for both databases (quoted identifiers, `$n` placeholders, `RETURNING`,
//! `ON CONFLICT`); where they behave differently the caller says so with an explicit `match db.backend()`.
//! Values are kept as [`Arg`] until the statement runs, and are then encoded for the backend it runs on with the
//! same SQL types the shop's schema uses on each.

use std::str::FromStr;

use chrono::NaiveDateTime;
use sqlx::error::BoxDynError;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::query::{Query, QueryAs};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};
use sqlx::{
    Arguments, AssertSqlSafe, Database, Encode, FromRow, Postgres, Sqlite, Transaction, Type,
};

use super::{Backend, PoolOptions, PoolStats, StoreError, StoreResult};

/// The database the shop runs on.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Db {
    /// Opens the database a URL names; unknown schemes are refused (a typo must not silently create a new empty
    /// SQLite file).
    pub async fn connect(url: &str, options: &PoolOptions) -> StoreResult<Self> {
        match Backend::from_url(url) {
            Some(Backend::Sqlite) => Ok(Db::Sqlite(connect_sqlite(url, options).await?)),
            Some(Backend::Postgres) => Ok(Db::Postgres(connect_postgres(url, options).await?)),
            None => Err(StoreError::Invalid(
                "DATABASE_URL must start with sqlite:, postgres:// or postgresql://",
            )),
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    pub fn pool_stats(&self) -> PoolStats {
        let (size, idle) = match self {
            Db::Sqlite(pool) => (pool.size(), pool.num_idle()),
            Db::Postgres(pool) => (pool.size(), pool.num_idle()),
        };
        PoolStats {
            size,
            idle: u32::try_from(idle).unwrap_or(u32::MAX),
        }
    }

    /// A transaction that will write. SQLite takes its write lock at `BEGIN IMMEDIATE` (waiting up to the busy
    /// timeout): a deferred transaction that reads first and writes later fails at once with SQLITE_BUSY when
    /// another connection wrote in between (its read snapshot cannot be upgraded), and no busy timeout helps
    /// then. PostgreSQL locks row by row as statements run.
    pub async fn begin_write(&self) -> sqlx::Result<Tx> {
        match self {
            Db::Sqlite(pool) => Ok(Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?)),
            Db::Postgres(pool) => Ok(Tx::Postgres(pool.begin().await?)),
        }
    }
}

async fn connect_sqlite(url: &str, options: &PoolOptions) -> sqlx::Result<SqlitePool> {
    let connect = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(std::time::Duration::from_secs(5))
        // Temporary data in memory, never in files: a statement that writes many pages (a product's row, its
        // indexes, the search index, its category's count) keeps its statement journal there, and the image's
        // file system has no temporary directory (SQLite failed with SQLITE_IOERR_GETTEMPPATH looking for one).
        .pragma("temp_store", "memory")
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
        std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
    }
    SqlitePoolOptions::new()
        .max_connections(options.max_connections)
        .acquire_timeout(options.acquire_timeout)
        .test_before_acquire(false)
        .before_acquire(|conn, meta| Box::pin(ping_if_idle(conn, meta)))
        .connect_with(connect)
        .await
}

async fn connect_postgres(url: &str, options: &PoolOptions) -> sqlx::Result<PgPool> {
    let connect = PgConnectOptions::from_str(url)?.application_name("vivr serve");
    PgPoolOptions::new()
        .max_connections(options.max_connections)
        .min_connections(1)
        .acquire_timeout(options.acquire_timeout)
        .test_before_acquire(false)
        .before_acquire(|conn, meta| Box::pin(ping_if_idle(conn, meta)))
        .connect_with(connect)
        .await
}

/// A connection idle for longer than this is tested (one round trip) before it is handed out.
const PING_WHEN_IDLE_FOR: std::time::Duration = std::time::Duration::from_secs(1);

/// Tests a pooled connection before use only if it has sat idle: one the server may have dropped since (a
/// restart, a failover, an idle timeout). The pool already tests every connection as it comes back (sqlx pings on
/// release and closes a broken one), so testing again on the way out would cost every statement a second round
/// trip for nothing under load, when connections come back and go out within milliseconds.
async fn ping_if_idle<C: sqlx::Connection>(
    conn: &mut C,
    meta: sqlx::pool::PoolConnectionMetadata,
) -> sqlx::Result<bool> {
    if meta.idle_for >= PING_WHEN_IDLE_FOR {
        conn.ping().await?;
    }
    Ok(true)
}

/// A transaction from [`Db::begin_write`]. Dropped without [`Tx::commit`], it rolls back.
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl Tx {
    pub async fn commit(self) -> sqlx::Result<()> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await,
            Tx::Postgres(tx) => tx.commit().await,
        }
    }
}

/// One connection of its own, outside any pool: the migrator's, which holds session state (PostgreSQL's
/// advisory lock, session settings) across statements.
pub enum Conn {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

impl Conn {
    pub fn backend(&self) -> Backend {
        match self {
            Conn::Sqlite(_) => Backend::Sqlite,
            Conn::Postgres(_) => Backend::Postgres,
        }
    }
}

/// Where a statement runs: on the pool (one connection for that statement), inside a transaction, or on a
/// connection of its own.
pub enum On<'c> {
    Db(&'c Db),
    Tx(&'c mut Tx),
    Conn(&'c mut Conn),
}

impl On<'_> {
    /// The same place, for one more statement (a transaction or connection stays borrowed, not moved).
    pub fn reborrow(&mut self) -> On<'_> {
        match self {
            On::Db(db) => On::Db(db),
            On::Tx(tx) => On::Tx(tx),
            On::Conn(conn) => On::Conn(conn),
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            On::Db(db) => db.backend(),
            On::Tx(Tx::Sqlite(_)) => Backend::Sqlite,
            On::Tx(Tx::Postgres(_)) => Backend::Postgres,
            On::Conn(conn) => conn.backend(),
        }
    }
}

impl<'c> From<&'c Db> for On<'c> {
    fn from(db: &'c Db) -> Self {
        On::Db(db)
    }
}

impl<'c> From<&'c mut Tx> for On<'c> {
    fn from(tx: &'c mut Tx) -> Self {
        On::Tx(tx)
    }
}

impl<'c> From<&'c mut Conn> for On<'c> {
    fn from(conn: &'c mut Conn) -> Self {
        On::Conn(conn)
    }
}

/// A value bound to a statement. Each variant is one SQL type on both databases.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Text(Option<String>),
    Int(Option<i64>),
    Int32(Option<i32>),
    Bool(Option<bool>),
    Timestamp(Option<NaiveDateTime>),
}

macro_rules! arg_from {
    ($($t:ty => $variant:ident($convert:expr)),* $(,)?) => {
        $(impl From<$t> for Arg {
            fn from(value: $t) -> Self {
                Arg::$variant($convert(value))
            }
        })*
    };
}

arg_from! {
    &str => Text(|v: &str| Some(v.to_owned())),
    &String => Text(|v: &String| Some(v.clone())),
    String => Text(Some),
    Option<&str> => Text(|v: Option<&str>| v.map(str::to_owned)),
    Option<String> => Text(|v| v),
    &Option<String> => Text(Clone::clone),
    i64 => Int(Some),
    Option<i64> => Int(|v| v),
    i32 => Int32(Some),
    Option<i32> => Int32(|v| v),
    bool => Bool(Some),
    Option<bool> => Bool(|v| v),
    NaiveDateTime => Timestamp(Some),
    Option<NaiveDateTime> => Timestamp(|v| v),
    crate::domain::Quantity => Int32(|q: crate::domain::Quantity| Some(q.get())),
}

/// Rows a statement can decode on both databases.
pub trait Rows: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}

impl<T> Rows for T where
    T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}

/// A statement and its bound values. The text comes from the store's fixed fragments only; every value
/// travels as a bind parameter.
#[must_use = "a statement does nothing until it is run"]
pub struct Sql {
    text: Text,
    args: Vec<Arg>,
}

/// A statement with fixed text.
pub fn sql(text: &'static str) -> Sql {
    Sql {
        text: std::borrow::Cow::Borrowed(text),
        args: Vec::new(),
    }
}

/// A statement assembled at run time from the store's fixed fragments (never from input).
pub fn assembled(text: String) -> Sql {
    Sql {
        text: std::borrow::Cow::Owned(text),
        args: Vec::new(),
    }
}

/// How a backend receives a [`Sql`]'s values.
trait Backed: Database<Arguments: sqlx::IntoArguments<Self>> {
    fn arguments(args: Vec<Arg>) -> Result<Self::Arguments, BoxDynError>;
}

fn encode<DB>(args: Vec<Arg>) -> Result<DB::Arguments, BoxDynError>
where
    DB: Database,
    for<'q> Option<String>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i32>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<bool>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<NaiveDateTime>: Encode<'q, DB> + Type<DB>,
{
    let mut out = DB::Arguments::default();
    for arg in args {
        match arg {
            Arg::Text(v) => out.add(v)?,
            Arg::Int(v) => out.add(v)?,
            Arg::Int32(v) => out.add(v)?,
            Arg::Bool(v) => out.add(v)?,
            Arg::Timestamp(v) => out.add(v)?,
        }
    }
    Ok(out)
}

impl Backed for Sqlite {
    fn arguments(args: Vec<Arg>) -> Result<Self::Arguments, BoxDynError> {
        encode::<Self>(args)
    }
}

impl Backed for Postgres {
    fn arguments(args: Vec<Arg>) -> Result<Self::Arguments, BoxDynError> {
        encode::<Self>(args)
    }
}

impl Sql {
    pub fn bind(mut self, value: impl Into<Arg>) -> Self {
        self.args.push(value.into());
        self
    }

    /// Binds every value of `args`, in order.
    pub fn bind_all(mut self, args: impl IntoIterator<Item = Arg>) -> Self {
        self.args.extend(args);
        self
    }

    /// Every row.
    pub async fn fetch_all<'c, T: Rows>(self, on: impl Into<On<'c>>) -> sqlx::Result<Vec<T>> {
        let Sql { text, args } = self;
        match on.into().link().await? {
            Link::Sqlite(mut c) => query_as::<Sqlite, T>(text, args)?.fetch_all(&mut *c).await,
            Link::Postgres(mut c) => {
                query_as::<Postgres, T>(text, args)?
                    .fetch_all(&mut *c)
                    .await
            }
        }
    }

    /// The first row, if there is one.
    pub async fn fetch_optional<'c, T: Rows>(
        self,
        on: impl Into<On<'c>>,
    ) -> sqlx::Result<Option<T>> {
        let Sql { text, args } = self;
        match on.into().link().await? {
            Link::Sqlite(mut c) => {
                query_as::<Sqlite, T>(text, args)?
                    .fetch_optional(&mut *c)
                    .await
            }
            Link::Postgres(mut c) => {
                query_as::<Postgres, T>(text, args)?
                    .fetch_optional(&mut *c)
                    .await
            }
        }
    }

    /// The first row; `sqlx::Error::RowNotFound` when there is none.
    pub async fn fetch_one<'c, T: Rows>(self, on: impl Into<On<'c>>) -> sqlx::Result<T> {
        self.fetch_optional(on)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }

    /// The first column of the first row.
    pub async fn scalar<'c, T>(self, on: impl Into<On<'c>>) -> sqlx::Result<T>
    where
        (T,): Rows,
    {
        Ok(self.fetch_one::<(T,)>(on).await?.0)
    }

    /// The first column of the first row, if there is one.
    pub async fn scalar_optional<'c, T>(self, on: impl Into<On<'c>>) -> sqlx::Result<Option<T>>
    where
        (T,): Rows,
    {
        Ok(self.fetch_optional::<(T,)>(on).await?.map(|(v,)| v))
    }

    /// Runs the statement; returns how many rows it changed.
    pub async fn execute<'c>(self, on: impl Into<On<'c>>) -> sqlx::Result<u64> {
        let Sql { text, args } = self;
        let done = match on.into().link().await? {
            Link::Sqlite(mut c) => query::<Sqlite>(text, args)?
                .execute(&mut *c)
                .await?
                .rows_affected(),
            Link::Postgres(mut c) => query::<Postgres>(text, args)?
                .execute(&mut *c)
                .await?
                .rows_affected(),
        };
        Ok(done)
    }
}

/// The connection a statement runs on: taken from the pool for this statement (as sqlx does when given the pool),
/// or the transaction's or the caller's own.
enum Link<'c> {
    Sqlite(Held<'c, Sqlite>),
    Postgres(Held<'c, Postgres>),
}

enum Held<'c, DB: Database> {
    Pooled(PoolConnection<DB>),
    Borrowed(&'c mut DB::Connection),
}

impl<DB: Database> std::ops::Deref for Held<'_, DB> {
    type Target = DB::Connection;

    fn deref(&self) -> &DB::Connection {
        match self {
            Held::Pooled(c) => c,
            Held::Borrowed(c) => c,
        }
    }
}

impl<DB: Database> std::ops::DerefMut for Held<'_, DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        match self {
            Held::Pooled(c) => c,
            Held::Borrowed(c) => c,
        }
    }
}

impl<'c> On<'c> {
    async fn link(self) -> sqlx::Result<Link<'c>> {
        Ok(match self {
            On::Db(Db::Sqlite(pool)) => Link::Sqlite(Held::Pooled(pool.acquire().await?)),
            On::Db(Db::Postgres(pool)) => Link::Postgres(Held::Pooled(pool.acquire().await?)),
            On::Tx(Tx::Sqlite(tx)) => Link::Sqlite(Held::Borrowed(&mut **tx)),
            On::Tx(Tx::Postgres(tx)) => Link::Postgres(Held::Borrowed(&mut **tx)),
            On::Conn(Conn::Sqlite(conn)) => Link::Sqlite(Held::Borrowed(conn)),
            On::Conn(Conn::Postgres(conn)) => Link::Postgres(Held::Borrowed(conn)),
        })
    }
}

type Text = std::borrow::Cow<'static, str>;

/// The statement as sqlx's typed query for one backend.
fn query_as<DB, T>(
    text: Text,
    args: Vec<Arg>,
) -> sqlx::Result<QueryAs<'static, DB, T, DB::Arguments>>
where
    DB: Backed,
    T: for<'r> FromRow<'r, DB::Row>,
{
    let args = DB::arguments(args).map_err(sqlx::Error::Encode)?;
    Ok(sqlx::query_as_with(AssertSqlSafe(text), args))
}

/// The statement as sqlx's untyped query for one backend.
fn query<DB: Backed>(
    text: Text,
    args: Vec<Arg>,
) -> sqlx::Result<Query<'static, DB, DB::Arguments>> {
    let args = DB::arguments(args).map_err(sqlx::Error::Encode)?;
    Ok(sqlx::query_with(AssertSqlSafe(text), args))
}
