//! Deleting an account (GDPR art. 17): what is deleted, and what is kept anonymously for the accounts.

use chrono::NaiveDateTime;

use super::db::{assembled, sql};
use super::model::*;
use super::rows::*;
use super::{Backend, SqlStore, StoreResult};

/// The statuses of an order that still needs its customer's address.
const IN_PROGRESS: &str = "'PENDING', 'PAID', 'PROCESSING', 'SHIPPED'";

/// What a deleted account's email becomes: unique, and no one's.
pub fn erased_email(user_id: &str) -> String {
    format!("compte-supprime-{user_id}@vivr.invalid")
}

/// An order's address once its customer is gone: the country and postal code the accounts need for VAT and
/// shipping statistics, nothing that locates a person.
fn anonymised_address(stored: &str) -> String {
    let parsed: serde_json::Value = serde_json::from_str(stored).unwrap_or_default();
    let mut kept = serde_json::Map::new();
    for key in ["country", "postalCode"] {
        if let Some(value) = parsed.get(key) {
            kept.insert(key.to_string(), value.clone());
        }
    }
    serde_json::Value::Object(kept).to_string()
}

#[derive(sqlx::FromRow)]
struct AddressRow {
    id: String,
    address: String,
}

impl SqlStore {
    /// See `LifecycleStore::erase_account`.
    pub(super) async fn erase(&self, user_id: &str, now: NaiveDateTime) -> StoreResult<Erasure> {
        let now = millis(now);
        let mut tx = self.begin_write().await?;
        // PostgreSQL: the row lock waits for an order being placed for this account (its foreign-key check holds
        // a key-share lock on the row) and makes a second deletion wait for this one. SQLite's write lock,
        // taken at BEGIN, does both.
        let lock = match self.db.backend() {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        };
        let email: Option<String> = assembled(format!(
            r#"SELECT "email" FROM "User" WHERE "id" = $1 AND "deletedAt" IS NULL{lock}"#
        ))
        .bind(user_id)
        .scalar_optional(&mut tx)
        .await?;
        let Some(email) = email else {
            return Ok(Erasure::NotFound);
        };
        let busy: Option<i32> = assembled(format!(
            r#"SELECT 1 FROM "Order" WHERE "userId" = $1 AND "status" IN ({IN_PROGRESS}) LIMIT 1"#
        ))
        .bind(user_id)
        .scalar_optional(&mut tx)
        .await?;
        if busy.is_some() {
            return Ok(Erasure::OrdersInProgress);
        }
        for statement in [
            r#"DELETE FROM "Session" WHERE "userId" = $1"#,
            r#"DELETE FROM "Account" WHERE "userId" = $1"#,
            r#"DELETE FROM "Address" WHERE "userId" = $1"#,
            r#"DELETE FROM "Cart" WHERE "userId" = $1"#,
            r#"DELETE FROM "Wishlist" WHERE "userId" = $1"#,
            r#"DELETE FROM "Review" WHERE "userId" = $1"#,
            r#"DELETE FROM "AccountToken" WHERE "userId" = $1"#,
        ] {
            sql(statement).bind(user_id).execute(&mut tx).await?;
        }
        sql(r#"DELETE FROM "Newsletter" WHERE "email" = $1"#)
            .bind(&email)
            .execute(&mut tx)
            .await?;
        // Counters keyed by the address (sign-in throttling): `login:account:EMAIL`, `login:account-ip:EMAIL|IP`.
        sql(r#"DELETE FROM "RateLimit"
               WHERE "key" = $1 OR substr("key", 1, length($2)) = $2"#)
        .bind(format!("login:account:{email}"))
        .bind(format!("login:account-ip:{email}|"))
        .execute(&mut tx)
        .await?;
        let anonymous = erased_email(user_id);
        sql(r#"DELETE FROM "OutboundEmail" WHERE "recipient" = $1 AND "sentAt" IS NULL"#)
            .bind(&email)
            .execute(&mut tx)
            .await?;
        sql(r#"UPDATE "OutboundEmail" SET "recipient" = $1 WHERE "recipient" = $2"#)
            .bind(&anonymous)
            .bind(&email)
            .execute(&mut tx)
            .await?;
        let orders = sql(r#"SELECT "id", "address" FROM "Order" WHERE "userId" = $1"#)
            .bind(user_id)
            .fetch_all::<AddressRow>(&mut tx)
            .await?;
        for order in orders {
            sql(
                r#"UPDATE "Order" SET "address" = $1, "email" = NULL, "notes" = NULL, "updatedAt" = $2
                   WHERE "id" = $3"#,
            )
            .bind(anonymised_address(&order.address))
            .bind(now)
            .bind(&order.id)
            .execute(&mut tx)
            .await?;
        }
        sql(
            r#"UPDATE "User" SET "email" = $1, "name" = NULL, "password" = NULL, "image" = NULL,
                      "emailVerified" = NULL, "deletedAt" = $2, "updatedAt" = $2
               WHERE "id" = $3"#,
        )
        .bind(&anonymous)
        .bind(now)
        .bind(user_id)
        .execute(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(Erasure::Erased)
    }
}

#[cfg(test)]
mod tests {
    use super::anonymised_address;

    #[test]
    fn an_erased_order_address_keeps_country_and_postal_code_only() {
        let stored = r#"{"firstName":"Léa","lastName":"Martin","street":"3 rue des Lilas","city":"Lyon",
                         "postalCode":"69003","country":"FR","phone":"+33612345678","email":"lea@vivr.fr"}"#;
        assert_eq!(
            anonymised_address(stored),
            r#"{"country":"FR","postalCode":"69003"}"#
        );
        assert_eq!(anonymised_address("3 rue des Lilas, Lyon"), "{}");
    }
}
