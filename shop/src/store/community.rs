//! Reviews as customers write them, wishlists and the newsletter.

use async_trait::async_trait;
use chrono::NaiveDateTime;

use super::db::{Sql, assembled, sql};
use super::model::*;
use super::outbox::queue_email;
use super::query::PRODUCT_COLUMNS;
use super::rows::*;
use super::{SqlStore, StoreError, StoreResult};
use crate::domain::review::ReviewInput;

#[async_trait]
pub trait CommunityStore: Send + Sync {
    /// Writes the customer's review of a product, replacing the one they wrote before (one per customer and
    /// product). Returns the review as stored and whether it is new.
    async fn upsert_review(
        &self,
        user_id: &str,
        product_id: &str,
        input: &ReviewInput,
        verified: bool,
        now: NaiveDateTime,
    ) -> StoreResult<(Review, bool)>;
    async fn review_by_user(&self, user_id: &str, product_id: &str) -> StoreResult<Option<Review>>;
    /// Deletes the customer's review of a product; false when there was none.
    async fn delete_review(&self, user_id: &str, product_id: &str) -> StoreResult<bool>;
    /// The customer's wishlist, most recently added first; archived products are left out.
    async fn wishlist(&self, user_id: &str) -> StoreResult<Vec<Product>>;
    /// Adds a product; false when it was there already.
    async fn wishlist_add(
        &self,
        user_id: &str,
        product_id: &str,
        now: NaiveDateTime,
    ) -> StoreResult<bool>;
    /// Removes a product; false when it was not there.
    async fn wishlist_remove(&self, user_id: &str, product_id: &str) -> StoreResult<bool>;
    async fn in_wishlist(&self, user_id: &str, product_id: &str) -> StoreResult<bool>;
    /// Subscribes a (normalised) address. A new subscriber gets the welcome email queued in the same
    /// transaction; subscribing again changes nothing and returns false.
    async fn newsletter_subscribe(&self, email: &str, now: NaiveDateTime) -> StoreResult<bool>;
    /// Confirms a sign-up; the welcome email is queued in the same transaction when it was not confirmed yet.
    async fn newsletter_confirm(
        &self,
        email: &str,
        now: NaiveDateTime,
    ) -> StoreResult<NewsletterConfirmation>;
    /// Whether the address signed up and has not confirmed yet.
    async fn newsletter_pending(&self, email: &str) -> StoreResult<bool>;
    /// Forgets sign-ups left unconfirmed since before `before`; how many.
    async fn newsletter_purge_unconfirmed(&self, before: NaiveDateTime) -> StoreResult<u64>;
    /// Removes the address; false when it was not subscribed.
    async fn newsletter_unsubscribe(&self, email: &str) -> StoreResult<bool>;
    async fn newsletter_subscribed(&self, email: &str) -> StoreResult<bool>;
}

#[async_trait]
impl CommunityStore for SqlStore {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn upsert_review(
        &self,
        user_id: &str,
        product_id: &str,
        input: &crate::domain::review::ReviewInput,
        verified: bool,
        now: NaiveDateTime,
    ) -> StoreResult<(Review, bool)> {
        let id = new_id();
        let now = millis(now);
        // The unique ("userId", "productId") index makes a second submission an update of the first;
        // the id returned tells which happened.
        let stored: String = sql(
            r#"INSERT INTO "Review" ("id", "userId", "productId", "rating", "title", "comment", "verified",
                                     "createdAt", "updatedAt")
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
               ON CONFLICT ("userId", "productId") DO UPDATE SET
                   "rating" = excluded."rating", "title" = excluded."title",
                   "comment" = excluded."comment", "verified" = excluded."verified",
                   "updatedAt" = excluded."updatedAt"
               RETURNING "id""#,
        )
        .bind(&id)
        .bind(user_id)
        .bind(product_id)
        .bind(input.rating)
        .bind(&input.title)
        .bind(&input.comment)
        .bind(verified)
        .bind(now)
        .scalar(&self.db)
        .await?;
        let review = self
            .review_by_user(user_id, product_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok((review, stored == id))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn review_by_user(&self, user_id: &str, product_id: &str) -> StoreResult<Option<Review>> {
        let row = sql(
            r#"SELECT rv."id", rv."rating", rv."title", rv."comment", rv."verified", rv."createdAt",
                      u."name" AS "authorName"
               FROM "Review" rv JOIN "User" u ON u."id" = rv."userId"
               WHERE rv."userId" = $1 AND rv."productId" = $2"#,
        )
        .bind(user_id)
        .bind(product_id)
        .fetch_optional::<ReviewRow>(&self.db)
        .await?;
        Ok(row.map(Into::into))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn delete_review(&self, user_id: &str, product_id: &str) -> StoreResult<bool> {
        let sql = sql(r#"DELETE FROM "Review" WHERE "userId" = $1 AND "productId" = $2"#);
        Ok(self.one_customer_row(sql, user_id, product_id).await? > 0)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn wishlist(&self, user_id: &str) -> StoreResult<Vec<Product>> {
        let sql = format!(
            r#"{PRODUCT_COLUMNS} JOIN "Wishlist" w ON w."productId" = p."id"
               WHERE w."userId" = $1 AND p."archivedAt" IS NULL
               ORDER BY w."createdAt" DESC, w."id" DESC"#
        );
        let rows = assembled(sql)
            .bind(user_id)
            .fetch_all::<ProductRow>(&self.db)
            .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn wishlist_add(
        &self,
        user_id: &str,
        product_id: &str,
        now: NaiveDateTime,
    ) -> StoreResult<bool> {
        let done = sql(
            r#"INSERT INTO "Wishlist" ("id", "userId", "productId", "createdAt") VALUES ($1, $2, $3, $4)
               ON CONFLICT ("userId", "productId") DO NOTHING"#,
        )
        .bind(new_id())
        .bind(user_id)
        .bind(product_id)
        .bind(millis(now))
        .execute(&self.db)
        .await?;
        Ok(done > 0)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn wishlist_remove(&self, user_id: &str, product_id: &str) -> StoreResult<bool> {
        let sql = sql(r#"DELETE FROM "Wishlist" WHERE "userId" = $1 AND "productId" = $2"#);
        Ok(self.one_customer_row(sql, user_id, product_id).await? > 0)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn in_wishlist(&self, user_id: &str, product_id: &str) -> StoreResult<bool> {
        let found: Option<i32> =
            sql(r#"SELECT 1 FROM "Wishlist" WHERE "userId" = $1 AND "productId" = $2"#)
                .bind(user_id)
                .bind(product_id)
                .scalar_optional(&self.db)
                .await?;
        Ok(found.is_some())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn newsletter_subscribe(&self, email: &str, now: NaiveDateTime) -> StoreResult<bool> {
        let now = millis(now);
        let mut tx = self.begin_write().await?;
        let done = sql(
            r#"INSERT INTO "Newsletter" ("id", "email", "createdAt") VALUES ($1, $2, $3)
               ON CONFLICT ("email") DO NOTHING"#,
        )
        .bind(new_id())
        .bind(email)
        .bind(now)
        .execute(&mut tx)
        .await?;
        let new = done > 0;
        if new {
            queue_email(&mut tx, EmailKind::NewsletterConfirm, email, None, now).await?;
        }
        tx.commit().await?;
        Ok(new)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn newsletter_confirm(
        &self,
        email: &str,
        now: NaiveDateTime,
    ) -> StoreResult<NewsletterConfirmation> {
        let now = millis(now);
        let mut tx = self.begin_write().await?;
        let done = sql(
            r#"UPDATE "Newsletter" SET "confirmedAt" = $1 WHERE "email" = $2 AND "confirmedAt" IS NULL"#,
        )
        .bind(now)
        .bind(email)
        .execute(&mut tx)
        .await?;
        if done == 0 {
            let exists: Option<i32> = sql(r#"SELECT 1 FROM "Newsletter" WHERE "email" = $1"#)
                .bind(email)
                .scalar_optional(&mut tx)
                .await?;
            return Ok(match exists {
                Some(_) => NewsletterConfirmation::AlreadyConfirmed,
                None => NewsletterConfirmation::Gone,
            });
        }
        queue_email(&mut tx, EmailKind::NewsletterWelcome, email, None, now).await?;
        tx.commit().await?;
        Ok(NewsletterConfirmation::Confirmed)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn newsletter_pending(&self, email: &str) -> StoreResult<bool> {
        let found: Option<i32> =
            sql(r#"SELECT 1 FROM "Newsletter" WHERE "email" = $1 AND "confirmedAt" IS NULL"#)
                .bind(email)
                .scalar_optional(&self.db)
                .await?;
        Ok(found.is_some())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn newsletter_purge_unconfirmed(&self, before: NaiveDateTime) -> StoreResult<u64> {
        Ok(
            sql(r#"DELETE FROM "Newsletter" WHERE "confirmedAt" IS NULL AND "createdAt" < $1"#)
                .bind(millis(before))
                .execute(&self.db)
                .await?,
        )
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn newsletter_unsubscribe(&self, email: &str) -> StoreResult<bool> {
        let done = sql(r#"DELETE FROM "Newsletter" WHERE "email" = $1"#)
            .bind(email)
            .execute(&self.db)
            .await?;
        Ok(done > 0)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn newsletter_subscribed(&self, email: &str) -> StoreResult<bool> {
        let found: Option<i32> =
            sql(r#"SELECT 1 FROM "Newsletter" WHERE "email" = $1 AND "confirmedAt" IS NOT NULL"#)
                .bind(email)
                .scalar_optional(&self.db)
                .await?;
        Ok(found.is_some())
    }
}

impl SqlStore {
    /// Runs a statement on the one row a customer holds for a product (their review, their wishlist entry),
    /// `$1` being the customer and `$2` the product; how many rows it touched.
    async fn one_customer_row(
        &self,
        sql: Sql,
        user_id: &str,
        product_id: &str,
    ) -> StoreResult<u64> {
        Ok(sql.bind(user_id).bind(product_id).execute(&self.db).await?)
    }
}
