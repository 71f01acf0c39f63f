//! Reviews, wishlists and the newsletter: the [`CommunityStore`] part of the store, implemented for both backends
//! by [`impl_community_store`] with the same SQL text.
//!
//! A product's rating figures ("ratingCount", "ratingSum") are kept by database triggers in the same
//! transaction as each review write, so nothing here touches them.

use async_trait::async_trait;
use chrono::NaiveDateTime;

use super::StoreResult;
use super::model::{Product, Review};
use crate::domain::review::ReviewInput;

#[async_trait]
pub trait CommunityStore: Send + Sync {
    // Reviews
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

    // Wishlist
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

    // Newsletter
    /// Subscribes a (normalised) address. A new subscriber gets the welcome email queued in the same
    /// transaction; subscribing again changes nothing and returns false.
    async fn newsletter_subscribe(&self, email: &str, now: NaiveDateTime) -> StoreResult<bool>;
    /// Removes the address; false when it was not subscribed.
    async fn newsletter_unsubscribe(&self, email: &str) -> StoreResult<bool>;
    async fn newsletter_subscribed(&self, email: &str) -> StoreResult<bool>;
}

/// Implements [`CommunityStore`] for a backend struct with a `pool` field and a `begin_write` method.
macro_rules! impl_community_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::community::CommunityStore for $store {
            async fn upsert_review(
                &self,
                user_id: &str,
                product_id: &str,
                input: &$crate::domain::review::ReviewInput,
                verified: bool,
                now: NaiveDateTime,
            ) -> StoreResult<(Review, bool)> {
                let id = new_id();
                let now = millis(now);
                // The unique ("userId", "productId") index makes a second submission an update of the first;
                // the id returned tells which happened.
                let stored: String = sqlx::query_scalar(
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
                .fetch_one(&self.pool)
                .await?;
                let review = self
                    .review_by_user(user_id, product_id)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                Ok((review, stored == id))
            }

            async fn review_by_user(&self, user_id: &str, product_id: &str) -> StoreResult<Option<Review>> {
                let row = sqlx::query_as::<$db, ReviewRow>(
                    r#"SELECT rv."id", rv."rating", rv."title", rv."comment", rv."verified", rv."createdAt",
                              u."name" AS "authorName"
                       FROM "Review" rv JOIN "User" u ON u."id" = rv."userId"
                       WHERE rv."userId" = $1 AND rv."productId" = $2"#,
                )
                .bind(user_id)
                .bind(product_id)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(Into::into))
            }

            async fn delete_review(&self, user_id: &str, product_id: &str) -> StoreResult<bool> {
                let done = sqlx::query(r#"DELETE FROM "Review" WHERE "userId" = $1 AND "productId" = $2"#)
                    .bind(user_id)
                    .bind(product_id)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn wishlist(&self, user_id: &str) -> StoreResult<Vec<Product>> {
                let sql = format!(
                    r#"{PRODUCT_COLUMNS} JOIN "Wishlist" w ON w."productId" = p."id"
                       WHERE w."userId" = $1 AND p."archivedAt" IS NULL
                       ORDER BY w."createdAt" DESC, w."id" DESC"#
                );
                let rows = sqlx::query_as::<$db, ProductRow>(AssertSqlSafe(sql))
                    .bind(user_id)
                    .fetch_all(&self.pool)
                    .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn wishlist_add(&self, user_id: &str, product_id: &str, now: NaiveDateTime) -> StoreResult<bool> {
                let done = sqlx::query(
                    r#"INSERT INTO "Wishlist" ("id", "userId", "productId", "createdAt") VALUES ($1, $2, $3, $4)
                       ON CONFLICT ("userId", "productId") DO NOTHING"#,
                )
                .bind(new_id())
                .bind(user_id)
                .bind(product_id)
                .bind(millis(now))
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn wishlist_remove(&self, user_id: &str, product_id: &str) -> StoreResult<bool> {
                let done = sqlx::query(r#"DELETE FROM "Wishlist" WHERE "userId" = $1 AND "productId" = $2"#)
                    .bind(user_id)
                    .bind(product_id)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn in_wishlist(&self, user_id: &str, product_id: &str) -> StoreResult<bool> {
                let found: Option<i32> = sqlx::query_scalar(
                    r#"SELECT 1 FROM "Wishlist" WHERE "userId" = $1 AND "productId" = $2"#,
                )
                .bind(user_id)
                .bind(product_id)
                .fetch_optional(&self.pool)
                .await?;
                Ok(found.is_some())
            }

            async fn newsletter_subscribe(&self, email: &str, now: NaiveDateTime) -> StoreResult<bool> {
                let now = millis(now);
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(
                    r#"INSERT INTO "Newsletter" ("id", "email", "createdAt") VALUES ($1, $2, $3)
                       ON CONFLICT ("email") DO NOTHING"#,
                )
                .bind(new_id())
                .bind(email)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                let new = done.rows_affected() > 0;
                if new {
                    sqlx::query(
                        r#"INSERT INTO "OutboundEmail" ("id", "kind", "orderId", "recipient", "nextAttemptAt", "createdAt")
                           VALUES ($1, 'NEWSLETTER_WELCOME', NULL, $2, $3, $3)"#,
                    )
                    .bind(new_id())
                    .bind(email)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(new)
            }

            async fn newsletter_unsubscribe(&self, email: &str) -> StoreResult<bool> {
                let done = sqlx::query(r#"DELETE FROM "Newsletter" WHERE "email" = $1"#)
                    .bind(email)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn newsletter_subscribed(&self, email: &str) -> StoreResult<bool> {
                let found: Option<i32> =
                    sqlx::query_scalar(r#"SELECT 1 FROM "Newsletter" WHERE "email" = $1"#)
                        .bind(email)
                        .fetch_optional(&self.pool)
                        .await?;
                Ok(found.is_some())
            }
        }
    };
}

pub(super) use impl_community_store;
