//! Carts: a visitor's (by token hash) or a customer's, merged at sign-in.

use async_trait::async_trait;
use chrono::NaiveDateTime;

use super::db::{assembled, sql};
use super::model::*;
use super::rows::*;
use super::{SqlStore, StoreResult};
use crate::domain::Quantity;

#[async_trait]
pub trait CartStore: Send + Sync {
    /// The lines of the owner's cart with their live products (archived products left out), oldest first.
    async fn cart_lines(&self, owner: &CartOwner) -> StoreResult<Vec<CartLine>>;
    /// The slug and quantity of each live product in the owner's cart, by slug: page headers show the number of
    /// items, product cards whether they are in the cart.
    async fn cart_quantities(&self, owner: &CartOwner) -> StoreResult<Vec<(String, i64)>>;
    /// Sets a line's quantity (0 removes the line), creating the cart when needed.
    async fn set_cart_line(
        &self,
        owner: &CartOwner,
        product_id: &str,
        quantity: Quantity,
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

#[async_trait]
impl CartStore for SqlStore {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn cart_lines(&self, owner: &CartOwner) -> StoreResult<Vec<CartLine>> {
        let (column, value) = owner.column();
        let sql = format!(
            r#"SELECT p."id", p."name", p."slug", p."description", p."priceCents", p."comparePriceCents",
                      p."images", p."stock", p."featured", p."createdAt", p."updatedAt",
                      c."id" AS "categoryId", c."name" AS "categoryName", c."slug" AS "categorySlug",
                      p."ratingCount", p."ratingSum", i."quantity"
               FROM "Cart" k
               JOIN "CartItem" i ON i."cartId" = k."id"
               JOIN "Product" p ON p."id" = i."productId"
               LEFT JOIN "Category" c ON c."id" = p."categoryId"
               WHERE k."{column}" = $1 AND p."archivedAt" IS NULL
               ORDER BY i."addedAt", p."name""#
        );
        let rows = assembled(sql)
            .bind(value)
            .fetch_all::<CartRow>(&self.db)
            .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn cart_quantities(&self, owner: &CartOwner) -> StoreResult<Vec<(String, i64)>> {
        let (column, value) = owner.column();
        Ok(assembled(format!(
            r#"SELECT p."slug", CAST(i."quantity" AS BIGINT)
               FROM "Cart" k
               JOIN "CartItem" i ON i."cartId" = k."id"
               JOIN "Product" p ON p."id" = i."productId"
               WHERE k."{column}" = $1 AND p."archivedAt" IS NULL
               ORDER BY p."slug""#
        ))
        .bind(value)
        .fetch_all::<(String, i64)>(&self.db)
        .await?)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn set_cart_line(
        &self,
        owner: &CartOwner,
        product_id: &str,
        quantity: Quantity,
        now: NaiveDateTime,
    ) -> StoreResult<()> {
        let (column, value) = owner.column();
        let now = millis(now);
        let mut tx = self.begin_write().await?;
        let cart_id: String = assembled(format!(
            r#"INSERT INTO "Cart" ("id", "{column}", "createdAt", "updatedAt") VALUES ($1, $2, $3, $3)
               ON CONFLICT ("{column}") DO UPDATE SET "updatedAt" = excluded."updatedAt"
               RETURNING "id""#
        ))
        .bind(new_id())
        .bind(value)
        .bind(now)
        .scalar::<String>(&mut tx)
        .await?;
        if quantity.is_zero() {
            sql(r#"DELETE FROM "CartItem" WHERE "cartId" = $1 AND "productId" = $2"#)
                .bind(&cart_id)
                .bind(product_id)
                .execute(&mut tx)
                .await?;
        } else {
            sql(
                r#"INSERT INTO "CartItem" ("cartId", "productId", "quantity", "addedAt") VALUES ($1, $2, $3, $4)
                   ON CONFLICT ("cartId", "productId") DO UPDATE SET "quantity" = excluded."quantity""#,
            )
            .bind(&cart_id)
            .bind(product_id)
            .bind(quantity)
            .bind(now)
            .execute(&mut tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn clear_cart(&self, owner: &CartOwner) -> StoreResult<()> {
        let (column, value) = owner.column();
        assembled(format!(
            r#"DELETE FROM "CartItem" WHERE "cartId" IN (SELECT "id" FROM "Cart" WHERE "{column}" = $1)"#
        ))
        .bind(value)
        .execute(&self.db)
        .await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn merge_cart(
        &self,
        visitor_hash: &str,
        user_id: &str,
        now: NaiveDateTime,
    ) -> StoreResult<()> {
        let now = millis(now);
        let mut tx = self.begin_write().await?;
        let visitor: Option<String> = sql(r#"SELECT "id" FROM "Cart" WHERE "tokenHash" = $1"#)
            .bind(visitor_hash)
            .scalar_optional::<String>(&mut tx)
            .await?;
        let Some(visitor) = visitor else {
            return Ok(());
        };
        let user_cart: String = sql(
            r#"INSERT INTO "Cart" ("id", "userId", "createdAt", "updatedAt") VALUES ($1, $2, $3, $3)
               ON CONFLICT ("userId") DO UPDATE SET "updatedAt" = excluded."updatedAt"
               RETURNING "id""#,
        )
        .bind(new_id())
        .bind(user_id)
        .bind(now)
        .scalar::<String>(&mut tx)
        .await?;
        sql(
            r#"INSERT INTO "CartItem" ("cartId", "productId", "quantity", "addedAt")
               SELECT $1, v."productId", v."quantity", v."addedAt" FROM "CartItem" v WHERE v."cartId" = $2
               ON CONFLICT ("cartId", "productId") DO UPDATE SET "quantity" = "CartItem"."quantity" + excluded."quantity""#,
        )
        .bind(&user_cart)
        .bind(&visitor)
        .execute(&mut tx)
        .await?;
        sql(
            r#"UPDATE "CartItem" SET "quantity" = (SELECT p."stock" FROM "Product" p WHERE p."id" = "CartItem"."productId")
               WHERE "cartId" = $1
                 AND "quantity" > (SELECT p."stock" FROM "Product" p WHERE p."id" = "CartItem"."productId")
                 AND (SELECT p."stock" FROM "Product" p WHERE p."id" = "CartItem"."productId") > 0"#,
        )
        .bind(&user_cart)
        .execute(&mut tx)
        .await?;
        sql(r#"DELETE FROM "Cart" WHERE "id" = $1"#)
            .bind(&visitor)
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn purge_visitor_carts(&self, before: NaiveDateTime) -> StoreResult<u64> {
        let done = sql(r#"DELETE FROM "Cart" WHERE "tokenHash" IS NOT NULL AND "updatedAt" < $1"#)
            .bind(millis(before))
            .execute(&self.db)
            .await?;
        Ok(done)
    }
}
