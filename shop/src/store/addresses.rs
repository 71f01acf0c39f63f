//! A customer's address book; at most one default address per customer (a unique index).

use async_trait::async_trait;
use chrono::NaiveDateTime;

use super::db::{Arg, assembled, sql};
use super::model::*;
use super::rows::*;
use super::{SqlStore, StoreError, StoreResult};
use crate::domain::address::AddressInput;

pub(super) const ADDRESS_COLUMNS: &str = r#"SELECT "id", "label", "firstName", "lastName", "street", "apartment",
    "city", "postalCode", "country", "phone", "isDefault", "createdAt", "updatedAt" FROM "Address""#;

#[async_trait]
pub trait AddressStore: Send + Sync {
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
}

/// The values of an address's own columns, in the order of [`ADDRESS_COLUMNS`] from "label" to "phone".
fn address_fields(input: &AddressInput) -> [Arg; 9] {
    [
        Arg::from(&input.label),
        Arg::from(&input.first_name),
        Arg::from(&input.last_name),
        Arg::from(&input.street),
        Arg::from(&input.apartment),
        Arg::from(&input.city),
        Arg::from(&input.postal_code),
        Arg::from(input.country.code()),
        Arg::from(&input.phone),
    ]
}

#[async_trait]
impl AddressStore for SqlStore {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn list_addresses(&self, user_id: &str) -> StoreResult<Vec<Address>> {
        let sql = format!(
            r#"{ADDRESS_COLUMNS} WHERE "userId" = $1 ORDER BY "isDefault" DESC, "createdAt", "id""#
        );
        Ok(assembled(sql).bind(user_id).fetch_all(&self.db).await?)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn address_for_user(&self, user_id: &str, id: &str) -> StoreResult<Option<Address>> {
        let sql = format!(r#"{ADDRESS_COLUMNS} WHERE "userId" = $1 AND "id" = $2"#);
        Ok(assembled(sql)
            .bind(user_id)
            .bind(id)
            .fetch_optional(&self.db)
            .await?)
    }

    #[tracing::instrument(level = "debug", skip_all)]
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
        let existing = sql(r#"SELECT COUNT(*) FROM "Address" WHERE "userId" = $1"#)
            .bind(user_id)
            .scalar::<i64>(&mut tx)
            .await?;
        let make_default = make_default || existing == 0;
        if make_default {
            sql(r#"UPDATE "Address" SET "isDefault" = $1, "updatedAt" = $2 WHERE "userId" = $3 AND "isDefault""#)
                .bind(false)
                .bind(now)
                .bind(user_id)
                .execute(&mut tx)
                .await?;
        }
        sql(
            r#"INSERT INTO "Address" ("id", "userId", "label", "firstName", "lastName", "street", "apartment",
                   "city", "postalCode", "country", "phone", "isDefault", "createdAt", "updatedAt")
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)"#,
        )
        .bind(&id)
        .bind(user_id)
        .bind_all(address_fields(input))
        .bind(make_default)
        .bind(now)
        .execute(&mut tx)
        .await
        .map_err(|e| unique_violation(e, "default address"))?;
        tx.commit().await?;
        self.address_for_user(user_id, &id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    #[tracing::instrument(level = "debug", skip_all)]
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
            sql(r#"UPDATE "Address" SET "isDefault" = $1, "updatedAt" = $2
                   WHERE "userId" = $3 AND "isDefault" AND "id" <> $4"#)
            .bind(false)
            .bind(now)
            .bind(user_id)
            .bind(id)
            .execute(&mut tx)
            .await?;
        }
        let done = sql(
            r#"UPDATE "Address" SET "label" = $1, "firstName" = $2, "lastName" = $3, "street" = $4,
                   "apartment" = $5, "city" = $6, "postalCode" = $7, "country" = $8, "phone" = $9,
                   "isDefault" = ("isDefault" OR $10), "updatedAt" = $11
               WHERE "id" = $12 AND "userId" = $13"#,
        )
        .bind_all(address_fields(input))
        .bind(make_default)
        .bind(now)
        .bind(id)
        .bind(user_id)
        .execute(&mut tx)
        .await
        .map_err(|e| unique_violation(e, "default address"))?;
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        self.address_for_user(user_id, id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn delete_address(&self, user_id: &str, id: &str) -> StoreResult<()> {
        let done = sql(r#"DELETE FROM "Address" WHERE "id" = $1 AND "userId" = $2"#)
            .bind(id)
            .bind(user_id)
            .execute(&self.db)
            .await?;
        if done == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }
}
