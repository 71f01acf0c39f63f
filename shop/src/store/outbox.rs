//! The email outbox: rows written in the same transaction as what they announce, sent by the email worker.

use async_trait::async_trait;
use chrono::NaiveDateTime;

use super::db::sql;
use super::model::*;
use super::rows::*;
use std::time::Duration;

use super::{SqlStore, StoreResult};

#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Claims up to `limit` due emails for `lease` (another worker will not take them meanwhile); each claim
    /// counts as an attempt. Emails that failed `max_attempts` times are left alone.
    async fn claim_emails(
        &self,
        now: NaiveDateTime,
        lease: Duration,
        max_attempts: i32,
        limit: u32,
    ) -> StoreResult<Vec<QueuedEmail>>;
    async fn email_sent(&self, id: &str, now: NaiveDateTime) -> StoreResult<()>;
    async fn email_failed(&self, id: &str, error: &str, retry_at: NaiveDateTime)
    -> StoreResult<()>;
}

/// Queues an email that is about no order (order emails are queued with their order's address, see
/// `OrderStore::change_order_status`), in the caller's transaction or on its own.
pub(super) async fn queue_email<'c>(
    on: impl Into<super::db::On<'c>>,
    kind: EmailKind,
    recipient: &str,
    token_id: Option<&str>,
    now: NaiveDateTime,
) -> sqlx::Result<u64> {
    sql(
        r#"INSERT INTO "OutboundEmail" ("id", "kind", "tokenId", "recipient", "nextAttemptAt", "createdAt")
           VALUES ($1, $2, $3, $4, $5, $5)"#,
    )
    .bind(new_id())
    .bind(kind.as_str())
    .bind(token_id.map(str::to_string))
    .bind(recipient)
    .bind(millis(now))
    .execute(on)
    .await
}

#[async_trait]
impl OutboxStore for SqlStore {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn claim_emails(
        &self,
        now: NaiveDateTime,
        lease: std::time::Duration,
        max_attempts: i32,
        limit: u32,
    ) -> StoreResult<Vec<QueuedEmail>> {
        let now = millis(now);
        let until =
            now + chrono::TimeDelta::from_std(lease).unwrap_or(chrono::TimeDelta::minutes(5));
        let due = sql(
            r#"SELECT "id", "kind", "orderId", "tokenId", "recipient", "attempts" FROM "OutboundEmail"
               WHERE "sentAt" IS NULL AND "nextAttemptAt" <= $1 AND "attempts" < $2
               ORDER BY "nextAttemptAt" LIMIT $3"#,
        )
        .bind(now)
        .bind(max_attempts)
        .bind(i64::from(limit))
        .fetch_all::<EmailRow>(&self.db)
        .await?;
        let mut claimed = Vec::new();
        for row in due {
            let Some(kind) = EmailKind::from_db(&row.kind) else {
                continue;
            };
            // Conditional on the row still being due: another worker that claimed it first wins.
            let done = sql(
                r#"UPDATE "OutboundEmail" SET "nextAttemptAt" = $1, "attempts" = "attempts" + 1
                   WHERE "id" = $2 AND "sentAt" IS NULL AND "nextAttemptAt" <= $3"#,
            )
            .bind(until)
            .bind(&row.id)
            .bind(now)
            .execute(&self.db)
            .await?;
            if done == 1 {
                claimed.push(QueuedEmail {
                    id: row.id,
                    kind,
                    order_id: row.order_id,
                    token_id: row.token_id,
                    recipient: row.recipient,
                    attempts: row.attempts + 1,
                });
            }
        }
        Ok(claimed)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn email_sent(&self, id: &str, now: NaiveDateTime) -> StoreResult<()> {
        sql(r#"UPDATE "OutboundEmail" SET "sentAt" = $1, "lastError" = NULL WHERE "id" = $2"#)
            .bind(millis(now))
            .bind(id)
            .execute(&self.db)
            .await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn email_failed(
        &self,
        id: &str,
        error: &str,
        retry_at: NaiveDateTime,
    ) -> StoreResult<()> {
        sql(r#"UPDATE "OutboundEmail" SET "lastError" = $1, "nextAttemptAt" = $2 WHERE "id" = $3"#)
            .bind(error)
            .bind(millis(retry_at))
            .bind(id)
            .execute(&self.db)
            .await?;
        Ok(())
    }
}
