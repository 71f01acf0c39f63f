//! Fixed-window counters for throttling (sign-in attempts, sign-ups, reviews, …).

use async_trait::async_trait;
use chrono::NaiveDateTime;

use super::db::sql;
use super::model::*;
use super::rows::*;
use std::time::Duration;

use super::{SqlStore, StoreResult};

#[async_trait]
pub trait RateLimitStore: Send + Sync {
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
}

#[async_trait]
impl RateLimitStore for SqlStore {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn rate_limit_hit(
        &self,
        key: &str,
        window: std::time::Duration,
        now: NaiveDateTime,
    ) -> StoreResult<RateWindow> {
        let now = millis(now);
        let cutoff = now - chrono::TimeDelta::from_std(window).unwrap_or(chrono::TimeDelta::MAX);
        let row = sql(
            r#"INSERT INTO "RateLimit" ("key", "windowStart", "count") VALUES ($1, $2, 1)
               ON CONFLICT ("key") DO UPDATE SET
                   "count" = CASE WHEN "RateLimit"."windowStart" <= $3 THEN 1 ELSE "RateLimit"."count" + 1 END,
                   "windowStart" = CASE WHEN "RateLimit"."windowStart" <= $3 THEN $2
                                        ELSE "RateLimit"."windowStart" END
               RETURNING "count", "windowStart""#,
        )
        .bind(key)
        .bind(now)
        .bind(cutoff)
        .fetch_one::<RateRow>(&self.db)
        .await?;
        Ok(RateWindow {
            count: i64::from(row.count),
            window_start: row.window_start,
        })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn rate_limit_peek(
        &self,
        key: &str,
        window: std::time::Duration,
        now: NaiveDateTime,
    ) -> StoreResult<Option<RateWindow>> {
        let cutoff =
            millis(now) - chrono::TimeDelta::from_std(window).unwrap_or(chrono::TimeDelta::MAX);
        let row = sql(
            r#"SELECT "count", "windowStart" FROM "RateLimit" WHERE "key" = $1 AND "windowStart" > $2"#,
        )
        .bind(key)
        .bind(cutoff)
        .fetch_optional::<RateRow>(&self.db)
        .await?;
        Ok(row.map(|r| RateWindow {
            count: i64::from(r.count),
            window_start: r.window_start,
        }))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn rate_limit_reset(&self, key: &str) -> StoreResult<()> {
        sql(r#"DELETE FROM "RateLimit" WHERE "key" = $1"#)
            .bind(key)
            .execute(&self.db)
            .await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn rate_limit_refund(&self, key: &str, window_start: NaiveDateTime) -> StoreResult<()> {
        sql(r#"UPDATE "RateLimit" SET "count" = "count" - 1
               WHERE "key" = $1 AND "windowStart" = $2 AND "count" > 0"#)
        .bind(key)
        .bind(millis(window_start))
        .execute(&self.db)
        .await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn rate_limit_purge(&self, before: NaiveDateTime) -> StoreResult<u64> {
        let done = sql(r#"DELETE FROM "RateLimit" WHERE "windowStart" < $1"#)
            .bind(millis(before))
            .execute(&self.db)
            .await?;
        Ok(done)
    }
}
