//! The account lifecycle: links sent by email (password reset, email change), changing the password or the name,
//! the data a customer may export, and deleting an account (personal data erased, orders kept anonymously).

use async_trait::async_trait;
use chrono::NaiveDateTime;

use super::accounts::{USER_COLUMNS, insert_user, write_password};
use super::db::{On, Tx, assembled, sql};
use super::model::*;
use super::outbox::queue_email;
use super::rows::*;
use super::{SqlStore, StoreError, StoreResult};

#[async_trait]
pub trait LifecycleStore: Send + Sync {
    /// The account with this id, unless it was deleted.
    async fn user_by_id(&self, user_id: &str) -> StoreResult<Option<User>>;
    /// Writes a link and its email in one transaction. The customer's earlier unused links of the same purpose
    /// stop working: only the newest email's link does.
    async fn create_account_link(&self, new: &NewAccountLink) -> StoreResult<()>;
    /// Records the hash of the token the email worker drew for a link, unless the link was used or replaced, or
    /// has expired (`None`: the email is not worth sending).
    async fn arm_account_link(
        &self,
        token_id: &str,
        token_hash: &str,
        now: NaiveDateTime,
    ) -> StoreResult<Option<ArmedLink>>;
    /// Registers a customer: a new account, not activated, with its activation link and email, in one
    /// transaction; or, when the address has an account, the "you already have an account" email to it (at most
    /// one an hour).
    async fn register_account(
        &self,
        new: &NewUser,
        link_expires: NaiveDateTime,
        next: Option<&str>,
        now: NaiveDateTime,
    ) -> StoreResult<Registered>;
    /// Uses an activation link, once: the account is activated. Its account, to sign in.
    async fn activate_account(
        &self,
        token_hash: &str,
        now: NaiveDateTime,
    ) -> StoreResult<Option<User>>;
    /// The account a live link (not used, not expired) of `purpose` belongs to.
    async fn account_link_user(
        &self,
        token_hash: &str,
        purpose: LinkPurpose,
        now: NaiveDateTime,
    ) -> StoreResult<Option<User>>;
    /// Uses a password-reset link, once: sets the password and ends every session of the account.
    async fn reset_password(
        &self,
        token_hash: &str,
        password_hash: &str,
        now: NaiveDateTime,
    ) -> StoreResult<Option<User>>;
    /// Uses an email-change link, once: the account takes the address the link was sent to.
    /// `Conflict("email")` when another account has taken it meanwhile (the link stays usable).
    async fn confirm_email_change(
        &self,
        token_hash: &str,
        now: NaiveDateTime,
    ) -> StoreResult<Option<User>>;
    /// Sets the password and ends the account's sessions but `keep` (the session that asked); how many ended.
    async fn change_password(
        &self,
        user_id: &str,
        password_hash: &str,
        keep: Option<&str>,
        now: NaiveDateTime,
    ) -> StoreResult<u64>;
    async fn set_name(
        &self,
        user_id: &str,
        name: Option<&str>,
        now: NaiveDateTime,
    ) -> StoreResult<()>;
    /// Queues an email that is about no order and no link (the "someone registered your address" notice).
    async fn queue_email(
        &self,
        kind: EmailKind,
        recipient: &str,
        now: NaiveDateTime,
    ) -> StoreResult<()>;
    /// The customer's reviews, newest first, with the product each is about.
    async fn reviews_by_user(&self, user_id: &str) -> StoreResult<Vec<UserReview>>;
    /// Deletes an account (GDPR art. 17): sessions, addresses, cart, wishlist, reviews, links, newsletter
    /// sign-up, rate-limit counters and unsent emails are deleted; the account row and its orders stay for the
    /// accounts with nothing that names the customer (no email, name, password, street or phone). Refused, with
    /// nothing changed, while an order still needs the address.
    async fn erase_account(&self, user_id: &str, now: NaiveDateTime) -> StoreResult<Erasure>;
}

#[derive(sqlx::FromRow)]
#[sqlx(rename_all = "camelCase")]
struct LinkRow {
    purpose: String,
    expires_at: NaiveDateTime,
    next: Option<String>,
}

#[derive(sqlx::FromRow)]
#[sqlx(rename_all = "camelCase")]
struct UsedLinkRow {
    user_id: String,
    new_email: Option<String>,
}

#[derive(sqlx::FromRow)]
#[sqlx(rename_all = "camelCase")]
struct UserReviewRow {
    product_slug: String,
    product_name: String,
    rating: i32,
    title: Option<String>,
    comment: Option<String>,
    verified: bool,
    created_at: NaiveDateTime,
}

impl SqlStore {
    /// Marks a live link of `purpose` used, in `tx`; its account and the address an email change sets.
    async fn use_link(
        tx: &mut Tx,
        token_hash: &str,
        purpose: LinkPurpose,
        now: NaiveDateTime,
    ) -> StoreResult<Option<UsedLinkRow>> {
        Ok(sql(r#"UPDATE "AccountToken" SET "usedAt" = $1
               WHERE "tokenHash" = $2 AND "purpose" = $3 AND "usedAt" IS NULL AND "expiresAt" > $1
               RETURNING "userId", "newEmail""#)
        .bind(millis(now))
        .bind(token_hash)
        .bind(purpose.as_str())
        .fetch_optional::<UsedLinkRow>(tx)
        .await?)
    }

    /// Writes a link and its email in `tx`; the account's earlier unused links of the same purpose stop working
    /// (their unsent emails go with them: ON DELETE CASCADE).
    async fn add_link(tx: &mut Tx, link: &NewAccountLink) -> StoreResult<()> {
        let NewAccountLink {
            user_id,
            purpose,
            recipient,
            expires,
            next,
            now,
        } = link;
        let (purpose, now) = (*purpose, millis(*now));
        Self::drop_unused_links(tx, user_id, purpose).await?;
        let id = new_id();
        let new_email = (purpose == LinkPurpose::EmailChange).then(|| recipient.to_string());
        sql(
            r#"INSERT INTO "AccountToken" ("id", "userId", "purpose", "newEmail", "next", "expiresAt", "createdAt")
               VALUES ($1, $2, $3, $4, $5, $6, $7)"#,
        )
        .bind(&id)
        .bind(user_id.as_str())
        .bind(purpose.as_str())
        .bind(new_email)
        .bind(next.clone())
        .bind(millis(*expires))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        queue_email(
            &mut *tx,
            EmailKind::Link(purpose),
            recipient,
            Some(&id),
            now,
        )
        .await?;
        Ok(())
    }

    /// Deletes the account's unused links of `purpose` (their unsent emails go with them: ON DELETE CASCADE).
    async fn drop_unused_links(
        tx: &mut Tx,
        user_id: &str,
        purpose: LinkPurpose,
    ) -> StoreResult<()> {
        sql(
            r#"DELETE FROM "AccountToken" WHERE "userId" = $1 AND "purpose" = $2 AND "usedAt" IS NULL"#,
        )
        .bind(user_id)
        .bind(purpose.as_str())
        .execute(tx)
        .await?;
        Ok(())
    }

    /// Records that the account's owner confirmed its address (kept from the first time).
    async fn mark_activated(tx: &mut Tx, user_id: &str, now: NaiveDateTime) -> StoreResult<()> {
        sql(r#"UPDATE "User" SET "emailVerified" = COALESCE("emailVerified", $1) WHERE "id" = $2"#)
            .bind(millis(now))
            .bind(user_id)
            .execute(tx)
            .await?;
        Ok(())
    }

    /// The account with this id unless it was deleted, read on the pool or in a transaction.
    async fn user_in<'c>(on: impl Into<On<'c>>, user_id: &str) -> StoreResult<Option<User>> {
        let sql = format!(r#"{USER_COLUMNS} WHERE u."id" = $1 AND u."deletedAt" IS NULL"#);
        let row = assembled(sql)
            .bind(user_id)
            .fetch_optional::<UserRow>(on)
            .await?;
        Ok(row.map(Into::into))
    }
}

#[async_trait]
impl LifecycleStore for SqlStore {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn user_by_id(&self, user_id: &str) -> StoreResult<Option<User>> {
        Self::user_in(&self.db, user_id).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn register_account(
        &self,
        new: &NewUser,
        link_expires: NaiveDateTime,
        next: Option<&str>,
        now: NaiveDateTime,
    ) -> StoreResult<Registered> {
        let now = millis(now);
        let mut tx = self.begin_write().await?;
        let taken: Option<i32> = sql(r#"SELECT 1 FROM "User" WHERE lower("email") = $1"#)
            .bind(&new.email)
            .scalar_optional(&mut tx)
            .await?;
        if taken.is_none() {
            let id = new_id();
            let created = insert_user(&mut tx, &id, new, false, now).await;
            match created {
                Ok(_) => {
                    let link = NewAccountLink {
                        user_id: id.clone(),
                        purpose: LinkPurpose::Activation,
                        recipient: new.email.clone(),
                        expires: link_expires,
                        next: next.map(str::to_string),
                        now,
                    };
                    Self::add_link(&mut tx, &link).await?;
                    let user = Self::user_in(&mut tx, &id).await?;
                    tx.commit().await?;
                    return user.map(Registered::Created).ok_or(StoreError::NotFound);
                }
                Err(err) => match unique_violation(err, "email") {
                    // Registered at the same moment by another request: an account exists.
                    StoreError::Conflict(_) => {}
                    other => return Err(other),
                },
            }
        }
        drop(tx);
        // One notice an hour at most: a flood of registrations cannot flood the owner's inbox.
        sql(
            r#"INSERT INTO "OutboundEmail" ("id", "kind", "recipient", "nextAttemptAt", "createdAt")
               SELECT $1, 'ACCOUNT_EXISTS', $2, $3, $3
               WHERE NOT EXISTS (SELECT 1 FROM "OutboundEmail"
                                 WHERE "recipient" = $2 AND "kind" = 'ACCOUNT_EXISTS' AND "createdAt" > $4)"#,
        )
        .bind(new_id())
        .bind(&new.email)
        .bind(now)
        .bind(now - chrono::TimeDelta::hours(1))
        .execute(&self.db)
        .await?;
        Ok(Registered::Exists)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn activate_account(
        &self,
        token_hash: &str,
        now: NaiveDateTime,
    ) -> StoreResult<Option<User>> {
        let mut tx = self.begin_write().await?;
        let Some(used) = Self::use_link(&mut tx, token_hash, LinkPurpose::Activation, now).await?
        else {
            return Ok(None);
        };
        Self::mark_activated(&mut tx, &used.user_id, now).await?;
        let user = Self::user_in(&mut tx, &used.user_id).await?;
        tx.commit().await?;
        Ok(user)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn create_account_link(&self, new: &NewAccountLink) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        Self::add_link(&mut tx, new).await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn arm_account_link(
        &self,
        token_id: &str,
        token_hash: &str,
        now: NaiveDateTime,
    ) -> StoreResult<Option<ArmedLink>> {
        let row = sql(r#"UPDATE "AccountToken" SET "tokenHash" = $1
               WHERE "id" = $2 AND "usedAt" IS NULL AND "expiresAt" > $3
               RETURNING "purpose", "expiresAt", "next""#)
        .bind(token_hash)
        .bind(token_id)
        .bind(millis(now))
        .fetch_optional::<LinkRow>(&self.db)
        .await?;
        Ok(row.and_then(|row| {
            let purpose = match EmailKind::from_db(&row.purpose)? {
                EmailKind::Link(purpose) => purpose,
                _ => return None,
            };
            Some(ArmedLink {
                purpose,
                expires: row.expires_at,
                next: row.next,
            })
        }))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn account_link_user(
        &self,
        token_hash: &str,
        purpose: LinkPurpose,
        now: NaiveDateTime,
    ) -> StoreResult<Option<User>> {
        let sql = format!(
            r#"{USER_COLUMNS} JOIN "AccountToken" t ON t."userId" = u."id"
               WHERE t."tokenHash" = $1 AND t."purpose" = $2 AND t."usedAt" IS NULL AND t."expiresAt" > $3
                 AND u."deletedAt" IS NULL"#
        );
        let row = assembled(sql)
            .bind(token_hash)
            .bind(purpose.as_str())
            .bind(millis(now))
            .fetch_optional::<UserRow>(&self.db)
            .await?;
        Ok(row.map(Into::into))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn reset_password(
        &self,
        token_hash: &str,
        password_hash: &str,
        now: NaiveDateTime,
    ) -> StoreResult<Option<User>> {
        let mut tx = self.begin_write().await?;
        let Some(used) =
            Self::use_link(&mut tx, token_hash, LinkPurpose::PasswordReset, now).await?
        else {
            return Ok(None);
        };
        write_password(&mut tx, &used.user_id, password_hash, now).await?;
        sql(r#"DELETE FROM "Session" WHERE "userId" = $1"#)
            .bind(&used.user_id)
            .execute(&mut tx)
            .await?;
        // The link reached the address: it is confirmed.
        Self::mark_activated(&mut tx, &used.user_id, now).await?;
        let user = Self::user_in(&mut tx, &used.user_id).await?;
        tx.commit().await?;
        Ok(user)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn confirm_email_change(
        &self,
        token_hash: &str,
        now: NaiveDateTime,
    ) -> StoreResult<Option<User>> {
        let mut tx = self.begin_write().await?;
        let Some(used) = Self::use_link(&mut tx, token_hash, LinkPurpose::EmailChange, now).await?
        else {
            return Ok(None);
        };
        let Some(email) = used.new_email else {
            return Ok(None);
        };
        let previous: Option<String> =
            sql(r#"SELECT "email" FROM "User" WHERE "id" = $1 AND "deletedAt" IS NULL"#)
                .bind(&used.user_id)
                .scalar_optional(&mut tx)
                .await?;
        // Dropping the transaction on a conflict rolls the link's use back too.
        sql(r#"UPDATE "User" SET "email" = $1, "updatedAt" = $2 WHERE "id" = $3 AND "deletedAt" IS NULL"#)
            .bind(&email)
            .bind(millis(now))
            .bind(&used.user_id)
            .execute(&mut tx)
            .await
            .map_err(|e| unique_violation(e, "email"))?;
        if let Some(previous) = previous.filter(|p| *p != email) {
            // The previous inbox is told, in case it was not its owner's doing.
            queue_email(&mut tx, EmailKind::EmailChanged, &previous, None, now).await?;
        }
        Self::mark_activated(&mut tx, &used.user_id, now).await?;
        let user = Self::user_in(&mut tx, &used.user_id).await?;
        tx.commit().await?;
        Ok(user)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn change_password(
        &self,
        user_id: &str,
        password_hash: &str,
        keep: Option<&str>,
        now: NaiveDateTime,
    ) -> StoreResult<u64> {
        let mut tx = self.begin_write().await?;
        write_password(&mut tx, user_id, password_hash, now).await?;
        // A reset link asked for earlier would undo the change: it stops working.
        Self::drop_unused_links(&mut tx, user_id, LinkPurpose::PasswordReset).await?;
        let ended = sql(r#"DELETE FROM "Session" WHERE "userId" = $1 AND "sessionToken" <> $2"#)
            .bind(user_id)
            .bind(keep.unwrap_or_default())
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(ended)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn set_name(
        &self,
        user_id: &str,
        name: Option<&str>,
        now: NaiveDateTime,
    ) -> StoreResult<()> {
        sql(r#"UPDATE "User" SET "name" = $1, "updatedAt" = $2 WHERE "id" = $3"#)
            .bind(name.map(str::to_string))
            .bind(millis(now))
            .bind(user_id)
            .execute(&self.db)
            .await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn queue_email(
        &self,
        kind: EmailKind,
        recipient: &str,
        now: NaiveDateTime,
    ) -> StoreResult<()> {
        queue_email(&self.db, kind, recipient, None, now).await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn reviews_by_user(&self, user_id: &str) -> StoreResult<Vec<UserReview>> {
        let rows = sql(
            r#"SELECT p."slug" AS "productSlug", p."name" AS "productName", rv."rating", rv."title",
                      rv."comment", rv."verified", rv."createdAt"
               FROM "Review" rv JOIN "Product" p ON p."id" = rv."productId"
               WHERE rv."userId" = $1 ORDER BY rv."createdAt" DESC, rv."id""#,
        )
        .bind(user_id)
        .fetch_all::<UserReviewRow>(&self.db)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| UserReview {
                product_slug: r.product_slug,
                product_name: r.product_name,
                rating: r.rating,
                title: r.title,
                comment: r.comment,
                verified: r.verified,
                created_at: r.created_at,
            })
            .collect())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn erase_account(&self, user_id: &str, now: NaiveDateTime) -> StoreResult<Erasure> {
        self.erase(user_id, now).await
    }
}
