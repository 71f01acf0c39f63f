//! Orders and their payments.
//!
//! Money and stock move only inside transactions here: placing an order reserves stock with conditional
//! decrements (never below zero, never at a price the customer was not shown), and every status change records
//! its Stripe event, gives stock back and queues its email in the same transaction as the change itself.

use async_trait::async_trait;
use chrono::NaiveDateTime;

use super::audit;
use super::db::{Arg, assembled, sql};
use super::model::*;
use super::rows::*;
use super::{SqlStore, StoreError, StoreResult};
use crate::domain::{Money, OrderStatus, StockProblem};

pub(super) const ORDER_COLUMNS: &str = r#"SELECT o."id", o."orderNumber", o."userId", o."email", o."status",
    o."subtotalCents", o."shippingCents", o."totalCents", o."vatCents", o."vatRateBp", o."currency",
    o."shippingMethod", o."address", o."paymentId", o."createdAt", o."updatedAt", o."expiresAt" FROM "Order" o"#;

pub(super) const ORDER_ITEMS: &str = r#"SELECT i."productId", p."slug" AS "productSlug", i."name", i."priceCents",
    i."quantity", i."image"
FROM "OrderItem" i LEFT JOIN "Product" p ON p."id" = i."productId" AND p."archivedAt" IS NULL
WHERE i."orderId" = $1 ORDER BY i."name", i."id""#;

/// Why a line could not be reserved.
fn stock_refusal(line: &NewOrderLine, row: Option<StockRow>) -> StoreError {
    let problem = match row {
        None => StockProblem::Unavailable {
            product: line.name.clone(),
        },
        Some(r) if r.archived => StockProblem::Unavailable { product: r.name },
        Some(r) if r.price_cents != line.unit_price.cents() => StockProblem::PriceChanged {
            product: r.name,
            price: Money::from_cents(r.price_cents),
        },
        Some(r) => match StockProblem::check(&r.name, r.stock, line.quantity) {
            Err(problem) => problem,
            // The conditional decrement refused a line the stock covers now: another order released stock in
            // between. The customer sees the stock as it is.
            Ok(()) => StockProblem::Insufficient {
                product: r.name,
                available: r.stock,
            },
        },
    };
    StoreError::Stock(problem)
}

/// Which unique index a violation hit, for the two the order insert can break.
pub(super) fn order_conflict(err: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &err
        && db.is_unique_violation()
    {
        let text = format!("{} {}", db.constraint().unwrap_or_default(), db.message());
        return if text.contains("idempotencyKey") {
            StoreError::Conflict("idempotency key")
        } else {
            StoreError::Conflict("order number")
        };
    }
    StoreError::Database(err)
}

#[async_trait]
pub trait OrderStore: Send + Sync {
    /// Places a PENDING order in one transaction: stock reserved line by line (refused with
    /// `StoreError::Stock` when a product is short, gone or changed price), the order and its line snapshots
    /// written, the customer's cart emptied. An idempotency key this customer already used is refused with
    /// `StoreError::Conflict("idempotency key")` and nothing written (the caller answers with that order).
    async fn place_order(&self, new: &NewOrder) -> StoreResult<Order>;
    /// The order `key` names, with its lines and status history.
    async fn order(&self, key: OrderKey<'_>) -> StoreResult<Option<Order>>;
    /// A customer's orders, newest first.
    async fn orders_for_user(
        &self,
        user_id: &str,
        limit: u32,
        offset: u32,
    ) -> StoreResult<Vec<Order>>;
    /// Every order (for administrators), newest first, optionally of one status.
    async fn list_orders(
        &self,
        status: Option<OrderStatus>,
        limit: u32,
        offset: u32,
    ) -> StoreResult<Vec<Order>>;
    /// Records the order's PaymentIntent unless it has one already; returns the one the order now has.
    async fn set_order_payment(&self, order_id: &str, payment_id: &str) -> StoreResult<String>;
    /// Applies a status change with its event record, stock release and email, all in one transaction.
    async fn change_order_status(&self, change: &StatusChange) -> StoreResult<ChangeOutcome>;
    /// PENDING orders whose deadline passed, oldest first.
    async fn expiring_orders(
        &self,
        now: NaiveDateTime,
        limit: u32,
    ) -> StoreResult<Vec<ExpiringOrder>>;
    /// Whether the customer has a paid, shipped or delivered order holding the product.
    async fn has_purchased(&self, user_id: &str, product_id: &str) -> StoreResult<bool>;
}

impl SqlStore {
    async fn load_order(&self, row: Option<OrderRow>) -> StoreResult<Option<Order>> {
        let Some(row) = row else { return Ok(None) };
        let items = sql(ORDER_ITEMS)
            .bind(&row.id)
            .fetch_all::<OrderItemRow>(&self.db)
            .await?
            .into_iter()
            .map(Into::into)
            .collect();
        Ok(Some(row.into_order(items)))
    }

    async fn load_orders(&self, rows: Vec<OrderRow>) -> StoreResult<Vec<Order>> {
        let mut orders = Vec::with_capacity(rows.len());
        for row in rows {
            if let Some(order) = self.load_order(Some(row)).await? {
                orders.push(order);
            }
        }
        Ok(orders)
    }
}

#[async_trait]
impl OrderStore for SqlStore {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn place_order(&self, new: &NewOrder) -> StoreResult<Order> {
        let now = millis(new.now);
        let order_id = new_id();
        let mut lines: Vec<&NewOrderLine> = new.lines.iter().collect();
        // One lock order for every transaction, so two orders for the same products cannot deadlock.
        lines.sort_by(|a, b| a.product_id.cmp(&b.product_id));
        let mut tx = self.begin_write().await?;
        for line in &lines {
            let done = sql(
                r#"UPDATE "Product" SET "stock" = "stock" - $1, "updatedAt" = $2
                   WHERE "id" = $3 AND "archivedAt" IS NULL AND "stock" >= $1 AND "priceCents" = $4"#,
            )
            .bind(line.quantity)
            .bind(now)
            .bind(&line.product_id)
            .bind(line.unit_price.cents())
            .execute(&mut tx)
            .await?;
            if done == 0 {
                let row = sql(
                    r#"SELECT "name", "stock", "priceCents", ("archivedAt" IS NOT NULL) AS "archived"
                       FROM "Product" WHERE "id" = $1"#,
                )
                .bind(&line.product_id)
                .fetch_optional::<StockRow>(&mut tx)
                .await?;
                return Err(stock_refusal(line, row));
            }
        }
        sql(
            r#"INSERT INTO "Order" ("id", "orderNumber", "userId", "status", "paymentMethod", "address",
                   "subtotalCents", "shippingCents", "totalCents", "currency", "vatCents", "vatRateBp",
                   "shippingMethod", "email", "idempotencyKey", "expiresAt", "createdAt", "updatedAt")
               VALUES ($1, $2, $3, 'PENDING', 'stripe', $4, $5, $6, $7, 'EUR', $8, $9, $10, $11, $12, $13, $14, $14)"#,
        )
        .bind(&order_id)
        .bind(&new.number)
        .bind(&new.user_id)
        .bind(&new.address_json)
        .bind(new.subtotal.cents())
        .bind(new.shipping.cents())
        .bind(new.total.cents())
        .bind(new.vat.cents())
        .bind(new.vat_rate_bp)
        .bind(&new.shipping_method)
        .bind(&new.email)
        .bind(&new.idempotency_key)
        .bind(millis(new.expires_at))
        .bind(now)
        .execute(&mut tx)
        .await
        .map_err(order_conflict)?;
        for line in &new.lines {
            sql(
                r#"INSERT INTO "OrderItem" ("id", "orderId", "productId", "name", "priceCents", "quantity", "image")
                   VALUES ($1, $2, $3, $4, $5, $6, $7)"#,
            )
            .bind(new_id())
            .bind(&order_id)
            .bind(&line.product_id)
            .bind(&line.name)
            .bind(line.unit_price.cents())
            .bind(line.quantity)
            .bind(&line.image)
            .execute(&mut tx)
            .await?;
        }
        sql(
            r#"DELETE FROM "CartItem" WHERE "cartId" IN (SELECT "id" FROM "Cart" WHERE "userId" = $1)"#,
        )
        .bind(&new.user_id)
        .execute(&mut tx)
        .await?;
        tx.commit().await?;
        self.order(OrderKey::Id(&order_id))
            .await?
            .ok_or(StoreError::NotFound)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(key = key.kind()))]
    async fn order(&self, key: OrderKey<'_>) -> StoreResult<Option<Order>> {
        let (condition, values) = match key {
            OrderKey::Id(id) => (r#"o."id" = $1"#, vec![id]),
            OrderKey::Number(number) => (r#"o."orderNumber" = $1"#, vec![number]),
            OrderKey::PaymentId(id) => (r#"o."paymentId" = $1"#, vec![id]),
            OrderKey::IdempotencyKey { user_id, key } => (
                r#"o."userId" = $1 AND o."idempotencyKey" = $2"#,
                vec![user_id, key],
            ),
        };
        let row = assembled(format!("{ORDER_COLUMNS} WHERE {condition}"))
            .bind_all(values.into_iter().map(Arg::from))
            .fetch_optional::<OrderRow>(&self.db)
            .await?;
        self.load_order(row).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn orders_for_user(
        &self,
        user_id: &str,
        limit: u32,
        offset: u32,
    ) -> StoreResult<Vec<Order>> {
        let sql = format!(
            r#"{ORDER_COLUMNS} WHERE o."userId" = $1 ORDER BY o."createdAt" DESC, o."id" DESC LIMIT $2 OFFSET $3"#
        );
        let rows = assembled(sql)
            .bind(user_id)
            .bind(i64::from(limit))
            .bind(i64::from(offset))
            .fetch_all::<OrderRow>(&self.db)
            .await?;
        self.load_orders(rows).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn list_orders(
        &self,
        status: Option<OrderStatus>,
        limit: u32,
        offset: u32,
    ) -> StoreResult<Vec<Order>> {
        let sql = format!(
            r#"{ORDER_COLUMNS} WHERE ($1 IS NULL OR o."status" = $1)
               ORDER BY o."createdAt" DESC, o."id" DESC LIMIT $2 OFFSET $3"#
        );
        let rows = assembled(sql)
            .bind(status.map(OrderStatus::as_str))
            .bind(i64::from(limit))
            .bind(i64::from(offset))
            .fetch_all::<OrderRow>(&self.db)
            .await?;
        self.load_orders(rows).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn set_order_payment(&self, order_id: &str, payment_id: &str) -> StoreResult<String> {
        sql(r#"UPDATE "Order" SET "paymentId" = $1 WHERE "id" = $2 AND "paymentId" IS NULL"#)
            .bind(payment_id)
            .bind(order_id)
            .execute(&self.db)
            .await?;
        sql(r#"SELECT "paymentId" FROM "Order" WHERE "id" = $1"#)
            .bind(order_id)
            .scalar_optional::<Option<String>>(&self.db)
            .await?
            .flatten()
            .ok_or(StoreError::NotFound)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn change_order_status(&self, change: &StatusChange) -> StoreResult<ChangeOutcome> {
        let now = millis(change.now);
        let mut tx = self.begin_write().await?;
        if let Some(event) = &change.event {
            let recorded = sql(
                r#"INSERT INTO "StripeEvent" ("eventId", "type", "orderId", "processedAt") VALUES ($1, $2, $3, $4)
                   ON CONFLICT ("eventId") DO NOTHING"#,
            )
            .bind(&event.id)
            .bind(&event.kind)
            .bind(&change.order_id)
            .bind(now)
            .execute(&mut tx)
            .await?;
            if recorded == 0 {
                return Ok(ChangeOutcome::Duplicate);
            }
        }
        let current = sql(r#"SELECT "status" FROM "Order" WHERE "id" = $1"#)
            .bind(&change.order_id)
            .scalar_optional::<String>(&mut tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let current = OrderStatus::parse(&current).unwrap_or(OrderStatus::Pending);
        if !change.from.contains(&current) {
            tx.commit().await?;
            return Ok(ChangeOutcome::NotApplicable { current });
        }
        // Conditional on the status just read: of two concurrent changes, one applies.
        let done = sql(
            r#"UPDATE "Order" SET "status" = $1, "paymentId" = COALESCE("paymentId", $2), "updatedAt" = $3
               WHERE "id" = $4 AND "status" = $5"#,
        )
        .bind(change.to.as_str())
        .bind(&change.payment_id)
        .bind(now)
        .bind(&change.order_id)
        .bind(current.as_str())
        .execute(&mut tx)
        .await?;
        if done == 0 {
            return Ok(ChangeOutcome::NotApplicable { current });
        }
        if change.by.is_some() {
            let number = sql(r#"SELECT "orderNumber" FROM "Order" WHERE "id" = $1"#)
                .bind(&change.order_id)
                .scalar::<String>(&mut tx)
                .await?;
            let changes = serde_json::json!({
                "status": { "from": current.as_str(), "to": change.to.as_str() }
            });
            audit::record(
                &mut tx,
                change.by.as_deref(),
                "order.status",
                &number,
                &changes,
                now,
            )
            .await?;
        }
        let stock_released = change.to.releases_stock_from(current);
        if stock_released {
            sql(
                r#"UPDATE "Product" SET
                       "stock" = "stock" + (SELECT SUM(i."quantity") FROM "OrderItem" i
                                            WHERE i."orderId" = $1 AND i."productId" = "Product"."id"),
                       "updatedAt" = $2
                   WHERE "id" IN (SELECT "productId" FROM "OrderItem" WHERE "orderId" = $1)"#,
            )
            .bind(&change.order_id)
            .bind(now)
            .execute(&mut tx)
            .await?;
        }
        if let Some(kind) = change.email {
            sql(
                r#"INSERT INTO "OutboundEmail" ("id", "kind", "orderId", "recipient", "nextAttemptAt", "createdAt")
                   SELECT $1, $2, o."id", COALESCE(o."email", u."email"), $3, $3
                   FROM "Order" o JOIN "User" u ON u."id" = o."userId"
                   WHERE o."id" = $4
                   ON CONFLICT ("orderId", "kind") DO NOTHING"#,
            )
            .bind(new_id())
            .bind(EmailKind::Order(kind).as_str())
            .bind(now)
            .bind(&change.order_id)
            .execute(&mut tx)
            .await?;
        }
        tx.commit().await?;
        Ok(ChangeOutcome::Changed {
            from: current,
            stock_released,
        })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn expiring_orders(
        &self,
        now: NaiveDateTime,
        limit: u32,
    ) -> StoreResult<Vec<ExpiringOrder>> {
        let rows = sql(r#"SELECT "id", "orderNumber", "paymentId" FROM "Order"
               WHERE "status" = 'PENDING' AND "expiresAt" <= $1
               ORDER BY "expiresAt" LIMIT $2"#)
        .bind(millis(now))
        .bind(i64::from(limit))
        .fetch_all::<(String, String, Option<String>)>(&self.db)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, number, payment_id)| ExpiringOrder {
                id,
                number,
                payment_id,
            })
            .collect())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn has_purchased(&self, user_id: &str, product_id: &str) -> StoreResult<bool> {
        let n = sql(
            r#"SELECT COUNT(*) FROM "OrderItem" i JOIN "Order" o ON o."id" = i."orderId"
               WHERE o."userId" = $1 AND i."productId" = $2 AND o."status" IN ('PAID', 'SHIPPED', 'DELIVERED')"#,
        )
        .bind(user_id)
        .bind(product_id)
        .scalar::<i64>(&self.db)
        .await?;
        Ok(n > 0)
    }
}
