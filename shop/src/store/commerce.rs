//! Addresses, orders, payment events and the email outbox: the [`CommerceStore`] half of the store, implemented
//! for both backends by [`impl_commerce_store`] with the same SQL text.
//!
//! Money and stock move only inside transactions here: placing an order reserves stock with conditional
//! decrements (never below zero, never at a price the customer was not shown), and every status change records
//! its Stripe event, gives stock back and queues its email in the same transaction as the change itself.

use std::time::Duration;

use async_trait::async_trait;
use chrono::NaiveDateTime;

use super::StoreResult;
use super::model::*;
use crate::domain::address::AddressInput;
use crate::domain::{Money, OrderStatus};

#[async_trait]
pub trait CommerceStore: Send + Sync {
    // Addresses
    async fn list_addresses(&self, user_id: &str) -> StoreResult<Vec<Address>>;
    async fn address_for_user(&self, user_id: &str, id: &str) -> StoreResult<Option<Address>>;
    /// Creates an address. It becomes the default when asked, or when it is the customer's first.
    async fn create_address(
        &self,
        user_id: &str,
        input: &AddressInput,
        make_default: bool,
        now: NaiveDateTime,
    ) -> StoreResult<Address>;
    /// Replaces an address's fields (`NotFound` for another customer's address).
    async fn update_address(
        &self,
        user_id: &str,
        id: &str,
        input: &AddressInput,
        make_default: bool,
        now: NaiveDateTime,
    ) -> StoreResult<Address>;
    async fn delete_address(&self, user_id: &str, id: &str) -> StoreResult<()>;

    // Orders
    /// Places a PENDING order in one transaction: stock reserved line by line (refused with
    /// `StoreError::Refused` when a product is short, gone or changed price), the order and its line snapshots
    /// written, the customer's cart emptied. An idempotency key this customer already used is refused with
    /// `StoreError::Conflict("idempotency key")` and nothing written (the caller answers with that order).
    async fn place_order(&self, new: &NewOrder) -> StoreResult<Order>;
    async fn order_by_id(&self, id: &str) -> StoreResult<Option<Order>>;
    async fn order_by_number(&self, number: &str) -> StoreResult<Option<Order>>;
    async fn order_by_idempotency_key(
        &self,
        user_id: &str,
        key: &str,
    ) -> StoreResult<Option<Order>>;
    async fn order_by_payment_id(&self, payment_id: &str) -> StoreResult<Option<Order>>;
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

    // Email outbox
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

#[derive(sqlx::FromRow)]
#[sqlx(rename_all = "camelCase")]
pub(super) struct AddressRow {
    id: String,
    label: Option<String>,
    first_name: String,
    last_name: String,
    street: String,
    apartment: Option<String>,
    city: String,
    postal_code: String,
    country: String,
    phone: Option<String>,
    is_default: bool,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl From<AddressRow> for Address {
    fn from(r: AddressRow) -> Self {
        Address {
            id: r.id,
            label: r.label,
            first_name: r.first_name,
            last_name: r.last_name,
            street: r.street,
            apartment: r.apartment,
            city: r.city,
            postal_code: r.postal_code,
            country: r.country,
            phone: r.phone,
            is_default: r.is_default,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

pub(super) const ADDRESS_COLUMNS: &str = r#"SELECT "id", "label", "firstName", "lastName", "street", "apartment",
    "city", "postalCode", "country", "phone", "isDefault", "createdAt", "updatedAt" FROM "Address""#;

#[derive(sqlx::FromRow)]
#[sqlx(rename_all = "camelCase")]
pub(super) struct OrderRow {
    pub(super) id: String,
    order_number: String,
    user_id: String,
    email: Option<String>,
    status: String,
    subtotal_cents: i64,
    shipping_cents: i64,
    total_cents: i64,
    vat_cents: i64,
    vat_rate_bp: i32,
    currency: String,
    shipping_method: Option<String>,
    address: String,
    payment_id: Option<String>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    expires_at: Option<NaiveDateTime>,
}

impl OrderRow {
    pub(super) fn into_order(self, items: Vec<OrderItem>) -> Order {
        let status = OrderStatus::parse(&self.status).unwrap_or_else(|| {
            tracing::warn!(order = %self.order_number, status = %self.status, "unknown order status");
            OrderStatus::Pending
        });
        // The original app stored the address as JSON text; a corrupt value is shown as the raw text.
        let address = serde_json::from_str(&self.address)
            .unwrap_or_else(|_| serde_json::Value::String(self.address.clone()));
        Order {
            id: self.id,
            number: self.order_number,
            user_id: self.user_id,
            email: self.email,
            status,
            subtotal: Money::from_cents(self.subtotal_cents),
            shipping: Money::from_cents(self.shipping_cents),
            total: Money::from_cents(self.total_cents),
            vat: Money::from_cents(self.vat_cents),
            vat_rate_bp: self.vat_rate_bp,
            currency: self.currency,
            shipping_method: self.shipping_method,
            address,
            payment_id: self.payment_id,
            created_at: self.created_at,
            updated_at: self.updated_at,
            expires_at: self.expires_at,
            items,
        }
    }
}

pub(super) const ORDER_COLUMNS: &str = r#"SELECT o."id", o."orderNumber", o."userId", o."email", o."status",
    o."subtotalCents", o."shippingCents", o."totalCents", o."vatCents", o."vatRateBp", o."currency",
    o."shippingMethod", o."address", o."paymentId", o."createdAt", o."updatedAt", o."expiresAt" FROM "Order" o"#;

#[derive(sqlx::FromRow)]
#[sqlx(rename_all = "camelCase")]
pub(super) struct OrderItemRow {
    product_id: String,
    product_slug: Option<String>,
    name: String,
    price_cents: i64,
    quantity: i32,
    image: Option<String>,
}

impl From<OrderItemRow> for OrderItem {
    fn from(r: OrderItemRow) -> Self {
        OrderItem {
            product_id: r.product_id,
            product_slug: r.product_slug,
            name: r.name,
            unit_price: Money::from_cents(r.price_cents),
            quantity: r.quantity,
            image: r.image,
        }
    }
}

pub(super) const ORDER_ITEMS: &str = r#"SELECT i."productId", p."slug" AS "productSlug", i."name", i."priceCents",
    i."quantity", i."image"
FROM "OrderItem" i LEFT JOIN "Product" p ON p."id" = i."productId" AND p."archivedAt" IS NULL
WHERE i."orderId" = $1 ORDER BY i."name", i."id""#;

#[derive(sqlx::FromRow)]
#[sqlx(rename_all = "camelCase")]
pub(super) struct EmailRow {
    pub(super) id: String,
    pub(super) kind: String,
    pub(super) order_id: Option<String>,
    pub(super) recipient: String,
    pub(super) attempts: i32,
}

#[derive(sqlx::FromRow)]
#[sqlx(rename_all = "camelCase")]
pub(super) struct StockRow {
    pub(super) name: String,
    pub(super) stock: i32,
    pub(super) price_cents: i64,
    pub(super) archived: bool,
}

/// Why a line could not be reserved, in words for the customer.
pub(super) fn stock_refusal(line: &NewOrderLine, row: Option<StockRow>) -> super::StoreError {
    let (code, message) = match row {
        None => (
            "product_unavailable",
            format!("« {} » n'est plus proposé", line.name),
        ),
        Some(r) if r.archived => (
            "product_unavailable",
            format!("« {} » n'est plus proposé", r.name),
        ),
        Some(r) if r.price_cents != line.unit_price.cents() => (
            "price_changed",
            format!(
                "Le prix de « {} » a changé ({}) : vérifiez votre panier avant de commander",
                r.name,
                Money::from_cents(r.price_cents).display_fr()
            ),
        ),
        Some(r) if r.stock < 1 => (
            "out_of_stock",
            format!("« {} » est en rupture de stock", r.name),
        ),
        Some(r) => (
            "insufficient_stock",
            format!(
                "Stock insuffisant pour « {} » : {} exemplaire(s) disponible(s)",
                r.name, r.stock
            ),
        ),
    };
    super::StoreError::Refused { code, message }
}

/// Which unique index a violation hit, for the two the order insert can break.
pub(super) fn order_conflict(err: sqlx::Error) -> super::StoreError {
    if let sqlx::Error::Database(db) = &err
        && db.is_unique_violation()
    {
        let text = format!("{} {}", db.constraint().unwrap_or_default(), db.message());
        return if text.contains("idempotencyKey") {
            super::StoreError::Conflict("idempotency key")
        } else {
            super::StoreError::Conflict("order number")
        };
    }
    super::StoreError::Database(err)
}

/// Implements [`CommerceStore`] for a backend struct with a `pool` field and a `begin_write` method.
macro_rules! impl_commerce_store {
    ($store:ty, $db:ty) => {
        impl $store {
            async fn load_order(
                &self,
                row: Option<$crate::store::commerce::OrderRow>,
            ) -> StoreResult<Option<Order>> {
                let Some(row) = row else { return Ok(None) };
                let items = sqlx::query_as::<$db, $crate::store::commerce::OrderItemRow>(ORDER_ITEMS)
                    .bind(&row.id)
                    .fetch_all(&self.pool)
                    .await?
                    .into_iter()
                    .map(Into::into)
                    .collect();
                Ok(Some(row.into_order(items)))
            }

            async fn load_orders(&self, rows: Vec<$crate::store::commerce::OrderRow>) -> StoreResult<Vec<Order>> {
                let mut orders = Vec::with_capacity(rows.len());
                for row in rows {
                    if let Some(order) = self.load_order(Some(row)).await? {
                        orders.push(order);
                    }
                }
                Ok(orders)
            }

            async fn order_where(&self, condition: &str, value: &str) -> StoreResult<Option<Order>> {
                let sql = format!("{ORDER_COLUMNS} WHERE {condition}");
                let row = sqlx::query_as::<$db, $crate::store::commerce::OrderRow>(AssertSqlSafe(sql))
                    .bind(value)
                    .fetch_optional(&self.pool)
                    .await?;
                self.load_order(row).await
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::CommerceStore for $store {
            async fn list_addresses(&self, user_id: &str) -> StoreResult<Vec<Address>> {
                let sql = format!(r#"{ADDRESS_COLUMNS} WHERE "userId" = $1 ORDER BY "isDefault" DESC, "createdAt", "id""#);
                let rows = sqlx::query_as::<$db, $crate::store::commerce::AddressRow>(AssertSqlSafe(sql))
                    .bind(user_id)
                    .fetch_all(&self.pool)
                    .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn address_for_user(&self, user_id: &str, id: &str) -> StoreResult<Option<Address>> {
                let sql = format!(r#"{ADDRESS_COLUMNS} WHERE "userId" = $1 AND "id" = $2"#);
                let row = sqlx::query_as::<$db, $crate::store::commerce::AddressRow>(AssertSqlSafe(sql))
                    .bind(user_id)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(Into::into))
            }

            async fn create_address(
                &self,
                user_id: &str,
                input: &AddressInput,
                make_default: bool,
                now: NaiveDateTime,
            ) -> StoreResult<Address> {
                let now = millis(now);
                let id = new_id();
                let mut tx = self.begin_write().await?;
                let existing = sqlx::query_scalar::<$db, i64>(r#"SELECT COUNT(*) FROM "Address" WHERE "userId" = $1"#)
                    .bind(user_id)
                    .fetch_one(&mut *tx)
                    .await?;
                let make_default = make_default || existing == 0;
                if make_default {
                    sqlx::query(r#"UPDATE "Address" SET "isDefault" = $1, "updatedAt" = $2 WHERE "userId" = $3 AND "isDefault""#)
                        .bind(false)
                        .bind(now)
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query(
                    r#"INSERT INTO "Address" ("id", "userId", "label", "firstName", "lastName", "street", "apartment",
                           "city", "postalCode", "country", "phone", "isDefault", "createdAt", "updatedAt")
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)"#,
                )
                .bind(&id)
                .bind(user_id)
                .bind(&input.label)
                .bind(&input.first_name)
                .bind(&input.last_name)
                .bind(&input.street)
                .bind(&input.apartment)
                .bind(&input.city)
                .bind(&input.postal_code)
                .bind(input.country.code())
                .bind(&input.phone)
                .bind(make_default)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(|e| unique_violation(e, "default address"))?;
                tx.commit().await?;
                self.address_for_user(user_id, &id).await?.ok_or(StoreError::NotFound)
            }

            async fn update_address(
                &self,
                user_id: &str,
                id: &str,
                input: &AddressInput,
                make_default: bool,
                now: NaiveDateTime,
            ) -> StoreResult<Address> {
                let now = millis(now);
                let mut tx = self.begin_write().await?;
                if make_default {
                    sqlx::query(
                        r#"UPDATE "Address" SET "isDefault" = $1, "updatedAt" = $2
                           WHERE "userId" = $3 AND "isDefault" AND "id" <> $4"#,
                    )
                    .bind(false)
                    .bind(now)
                    .bind(user_id)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                }
                let done = sqlx::query(
                    r#"UPDATE "Address" SET "label" = $1, "firstName" = $2, "lastName" = $3, "street" = $4,
                           "apartment" = $5, "city" = $6, "postalCode" = $7, "country" = $8, "phone" = $9,
                           "isDefault" = ("isDefault" OR $10), "updatedAt" = $11
                       WHERE "id" = $12 AND "userId" = $13"#,
                )
                .bind(&input.label)
                .bind(&input.first_name)
                .bind(&input.last_name)
                .bind(&input.street)
                .bind(&input.apartment)
                .bind(&input.city)
                .bind(&input.postal_code)
                .bind(input.country.code())
                .bind(&input.phone)
                .bind(make_default)
                .bind(now)
                .bind(id)
                .bind(user_id)
                .execute(&mut *tx)
                .await
                .map_err(|e| unique_violation(e, "default address"))?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                tx.commit().await?;
                self.address_for_user(user_id, id).await?.ok_or(StoreError::NotFound)
            }

            async fn delete_address(&self, user_id: &str, id: &str) -> StoreResult<()> {
                let done = sqlx::query(r#"DELETE FROM "Address" WHERE "id" = $1 AND "userId" = $2"#)
                    .bind(id)
                    .bind(user_id)
                    .execute(&self.pool)
                    .await?;
                if done.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
            }

            async fn place_order(&self, new: &NewOrder) -> StoreResult<Order> {
                let now = millis(new.now);
                let order_id = new_id();
                let mut lines: Vec<&NewOrderLine> = new.lines.iter().collect();
                // One lock order for every transaction, so two orders for the same products cannot deadlock.
                lines.sort_by(|a, b| a.product_id.cmp(&b.product_id));
                let mut tx = self.begin_write().await?;
                for line in &lines {
                    let done = sqlx::query(
                        r#"UPDATE "Product" SET "stock" = "stock" - $1, "updatedAt" = $2
                           WHERE "id" = $3 AND "archivedAt" IS NULL AND "stock" >= $1 AND "priceCents" = $4"#,
                    )
                    .bind(line.quantity)
                    .bind(now)
                    .bind(&line.product_id)
                    .bind(line.unit_price.cents())
                    .execute(&mut *tx)
                    .await?;
                    if done.rows_affected() == 0 {
                        let row = sqlx::query_as::<$db, $crate::store::commerce::StockRow>(
                            r#"SELECT "name", "stock", "priceCents", ("archivedAt" IS NOT NULL) AS "archived"
                               FROM "Product" WHERE "id" = $1"#,
                        )
                        .bind(&line.product_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                        return Err($crate::store::commerce::stock_refusal(line, row));
                    }
                }
                sqlx::query(
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
                .execute(&mut *tx)
                .await
                .map_err($crate::store::commerce::order_conflict)?;
                for line in &new.lines {
                    sqlx::query(
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
                    .execute(&mut *tx)
                    .await?;
                }
                sqlx::query(
                    r#"DELETE FROM "CartItem" WHERE "cartId" IN (SELECT "id" FROM "Cart" WHERE "userId" = $1)"#,
                )
                .bind(&new.user_id)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                self.order_by_id(&order_id).await?.ok_or(StoreError::NotFound)
            }

            async fn order_by_id(&self, id: &str) -> StoreResult<Option<Order>> {
                self.order_where(r#"o."id" = $1"#, id).await
            }

            async fn order_by_number(&self, number: &str) -> StoreResult<Option<Order>> {
                self.order_where(r#"o."orderNumber" = $1"#, number).await
            }

            async fn order_by_payment_id(&self, payment_id: &str) -> StoreResult<Option<Order>> {
                self.order_where(r#"o."paymentId" = $1"#, payment_id).await
            }

            async fn order_by_idempotency_key(&self, user_id: &str, key: &str) -> StoreResult<Option<Order>> {
                let sql = format!(r#"{ORDER_COLUMNS} WHERE o."userId" = $1 AND o."idempotencyKey" = $2"#);
                let row = sqlx::query_as::<$db, $crate::store::commerce::OrderRow>(AssertSqlSafe(sql))
                    .bind(user_id)
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await?;
                self.load_order(row).await
            }

            async fn orders_for_user(&self, user_id: &str, limit: u32, offset: u32) -> StoreResult<Vec<Order>> {
                let sql = format!(
                    r#"{ORDER_COLUMNS} WHERE o."userId" = $1 ORDER BY o."createdAt" DESC, o."id" DESC LIMIT $2 OFFSET $3"#
                );
                let rows = sqlx::query_as::<$db, $crate::store::commerce::OrderRow>(AssertSqlSafe(sql))
                    .bind(user_id)
                    .bind(i64::from(limit))
                    .bind(i64::from(offset))
                    .fetch_all(&self.pool)
                    .await?;
                self.load_orders(rows).await
            }

            async fn list_orders(&self, status: Option<OrderStatus>, limit: u32, offset: u32) -> StoreResult<Vec<Order>> {
                let sql = format!(
                    r#"{ORDER_COLUMNS} WHERE ($1 IS NULL OR o."status" = $1)
                       ORDER BY o."createdAt" DESC, o."id" DESC LIMIT $2 OFFSET $3"#
                );
                let rows = sqlx::query_as::<$db, $crate::store::commerce::OrderRow>(AssertSqlSafe(sql))
                    .bind(status.map(OrderStatus::as_str))
                    .bind(i64::from(limit))
                    .bind(i64::from(offset))
                    .fetch_all(&self.pool)
                    .await?;
                self.load_orders(rows).await
            }

            async fn set_order_payment(&self, order_id: &str, payment_id: &str) -> StoreResult<String> {
                sqlx::query(r#"UPDATE "Order" SET "paymentId" = $1 WHERE "id" = $2 AND "paymentId" IS NULL"#)
                    .bind(payment_id)
                    .bind(order_id)
                    .execute(&self.pool)
                    .await?;
                sqlx::query_scalar::<$db, Option<String>>(r#"SELECT "paymentId" FROM "Order" WHERE "id" = $1"#)
                    .bind(order_id)
                    .fetch_optional(&self.pool)
                    .await?
                    .flatten()
                    .ok_or(StoreError::NotFound)
            }

            async fn change_order_status(&self, change: &StatusChange) -> StoreResult<ChangeOutcome> {
                let now = millis(change.now);
                let mut tx = self.begin_write().await?;
                if let Some(event) = &change.event {
                    let recorded = sqlx::query(
                        r#"INSERT INTO "StripeEvent" ("eventId", "type", "orderId", "processedAt") VALUES ($1, $2, $3, $4)
                           ON CONFLICT ("eventId") DO NOTHING"#,
                    )
                    .bind(&event.id)
                    .bind(&event.kind)
                    .bind(&change.order_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    if recorded.rows_affected() == 0 {
                        return Ok(ChangeOutcome::Duplicate);
                    }
                }
                let current = sqlx::query_scalar::<$db, String>(r#"SELECT "status" FROM "Order" WHERE "id" = $1"#)
                    .bind(&change.order_id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                let current = OrderStatus::parse(&current).unwrap_or(OrderStatus::Pending);
                if !change.from.contains(&current) {
                    tx.commit().await?;
                    return Ok(ChangeOutcome::NotApplicable { current });
                }
                // Conditional on the status just read: of two concurrent changes, one applies.
                let done = sqlx::query(
                    r#"UPDATE "Order" SET "status" = $1, "paymentId" = COALESCE("paymentId", $2), "updatedAt" = $3
                       WHERE "id" = $4 AND "status" = $5"#,
                )
                .bind(change.to.as_str())
                .bind(&change.payment_id)
                .bind(now)
                .bind(&change.order_id)
                .bind(current.as_str())
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    return Ok(ChangeOutcome::NotApplicable { current });
                }
                let stock_released = change.to.releases_stock_from(current);
                if stock_released {
                    sqlx::query(
                        r#"UPDATE "Product" SET
                               "stock" = "stock" + (SELECT SUM(i."quantity") FROM "OrderItem" i
                                                    WHERE i."orderId" = $1 AND i."productId" = "Product"."id"),
                               "updatedAt" = $2
                           WHERE "id" IN (SELECT "productId" FROM "OrderItem" WHERE "orderId" = $1)"#,
                    )
                    .bind(&change.order_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                if let Some(kind) = change.email {
                    sqlx::query(
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
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(ChangeOutcome::Changed { from: current, stock_released })
            }

            async fn expiring_orders(&self, now: NaiveDateTime, limit: u32) -> StoreResult<Vec<ExpiringOrder>> {
                let rows = sqlx::query_as::<$db, (String, String, Option<String>)>(
                    r#"SELECT "id", "orderNumber", "paymentId" FROM "Order"
                       WHERE "status" = 'PENDING' AND "expiresAt" <= $1
                       ORDER BY "expiresAt" LIMIT $2"#,
                )
                .bind(millis(now))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(id, number, payment_id)| ExpiringOrder { id, number, payment_id })
                    .collect())
            }

            async fn has_purchased(&self, user_id: &str, product_id: &str) -> StoreResult<bool> {
                let n = sqlx::query_scalar::<$db, i64>(
                    r#"SELECT COUNT(*) FROM "OrderItem" i JOIN "Order" o ON o."id" = i."orderId"
                       WHERE o."userId" = $1 AND i."productId" = $2 AND o."status" IN ('PAID', 'SHIPPED', 'DELIVERED')"#,
                )
                .bind(user_id)
                .bind(product_id)
                .fetch_one(&self.pool)
                .await?;
                Ok(n > 0)
            }

            async fn claim_emails(
                &self,
                now: NaiveDateTime,
                lease: std::time::Duration,
                max_attempts: i32,
                limit: u32,
            ) -> StoreResult<Vec<QueuedEmail>> {
                let now = millis(now);
                let until = now + chrono::TimeDelta::from_std(lease).unwrap_or(chrono::TimeDelta::minutes(5));
                let due = sqlx::query_as::<$db, $crate::store::commerce::EmailRow>(
                    r#"SELECT "id", "kind", "orderId", "recipient", "attempts" FROM "OutboundEmail"
                       WHERE "sentAt" IS NULL AND "nextAttemptAt" <= $1 AND "attempts" < $2
                       ORDER BY "nextAttemptAt" LIMIT $3"#,
                )
                .bind(now)
                .bind(max_attempts)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                let mut claimed = Vec::new();
                for row in due {
                    let Some(kind) = EmailKind::from_db(&row.kind) else { continue };
                    // Conditional on the row still being due: another worker that claimed it first wins.
                    let done = sqlx::query(
                        r#"UPDATE "OutboundEmail" SET "nextAttemptAt" = $1, "attempts" = "attempts" + 1
                           WHERE "id" = $2 AND "sentAt" IS NULL AND "nextAttemptAt" <= $3"#,
                    )
                    .bind(until)
                    .bind(&row.id)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                    if done.rows_affected() == 1 {
                        claimed.push(QueuedEmail {
                            id: row.id,
                            kind,
                            order_id: row.order_id,
                            recipient: row.recipient,
                            attempts: row.attempts + 1,
                        });
                    }
                }
                Ok(claimed)
            }

            async fn email_sent(&self, id: &str, now: NaiveDateTime) -> StoreResult<()> {
                sqlx::query(r#"UPDATE "OutboundEmail" SET "sentAt" = $1, "lastError" = NULL WHERE "id" = $2"#)
                    .bind(millis(now))
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn email_failed(&self, id: &str, error: &str, retry_at: NaiveDateTime) -> StoreResult<()> {
                sqlx::query(r#"UPDATE "OutboundEmail" SET "lastError" = $1, "nextAttemptAt" = $2 WHERE "id" = $3"#)
                    .bind(error)
                    .bind(millis(retry_at))
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }
        }
    };
}

pub(super) use impl_commerce_store;
