//! Customers and administrators, and their sessions.

use async_trait::async_trait;
use chrono::NaiveDateTime;

use super::db::{On, assembled, sql};
use super::model::*;
use super::rows::*;
use super::{SqlStore, StoreError, StoreResult};

pub(super) const USER_COLUMNS: &str = r#"SELECT u."id", u."email", u."name", u."role", u."password", u."createdAt", u."emailVerified" FROM "User" u"#;

#[async_trait]
pub trait AccountStore: Send + Sync {
    /// An account whose address is taken as confirmed (the administrator bootstrap); customers register with
    /// `LifecycleStore::register_account`.
    async fn create_user(&self, new: &NewUser, now: NaiveDateTime) -> StoreResult<User>;
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>>;
    async fn set_password_hash(
        &self,
        user_id: &str,
        hash: &str,
        now: NaiveDateTime,
    ) -> StoreResult<()>;
    async fn set_role(
        &self,
        email: &str,
        role: crate::domain::Role,
        now: NaiveDateTime,
    ) -> StoreResult<User>;
    async fn create_session(&self, new: &NewSession) -> StoreResult<()>;
    /// The live session with this token hash, and its user.
    async fn session_by_token_hash(
        &self,
        token_hash: &str,
        now: NaiveDateTime,
    ) -> StoreResult<Option<SessionRecord>>;
    async fn renew_session(
        &self,
        token_hash: &str,
        expires: NaiveDateTime,
        now: NaiveDateTime,
    ) -> StoreResult<()>;
    async fn delete_session(&self, token_hash: &str) -> StoreResult<()>;
    async fn delete_expired_sessions(&self, now: NaiveDateTime) -> StoreResult<u64>;
}

/// Inserts an account, activated or not (its address confirmed), on the pool or in a transaction.
pub(super) async fn insert_user<'c>(
    on: impl Into<On<'c>>,
    id: &str,
    new: &NewUser,
    activated: bool,
    now: NaiveDateTime,
) -> sqlx::Result<u64> {
    let now = millis(now);
    sql(
        r#"INSERT INTO "User" ("id", "email", "name", "password", "role", "emailVerified", "createdAt", "updatedAt")
           VALUES ($1, $2, $3, $4, $5, $6, $7, $7)"#,
    )
    .bind(id)
    .bind(&new.email)
    .bind(new.name.clone())
    .bind(&new.password_hash)
    .bind(new.role.as_str())
    .bind(activated.then_some(now))
    .bind(now)
    .execute(on)
    .await
}

/// Sets an account's password hash, on the pool or in a transaction.
pub(super) async fn write_password<'c>(
    on: impl Into<On<'c>>,
    user_id: &str,
    hash: &str,
    now: NaiveDateTime,
) -> sqlx::Result<u64> {
    sql(r#"UPDATE "User" SET "password" = $1, "updatedAt" = $2 WHERE "id" = $3"#)
        .bind(hash)
        .bind(millis(now))
        .bind(user_id)
        .execute(on)
        .await
}

#[async_trait]
impl AccountStore for SqlStore {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn create_user(&self, new: &NewUser, now: NaiveDateTime) -> StoreResult<User> {
        insert_user(&self.db, &new_id(), new, true, now)
            .await
            .map_err(|e| unique_violation(e, "email"))?;
        self.user_by_email(&new.email)
            .await?
            .ok_or(StoreError::NotFound)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        let sql = format!(r#"{USER_COLUMNS} WHERE lower(u."email") = $1"#);
        let row = assembled(sql)
            .bind(email)
            .fetch_optional::<UserRow>(&self.db)
            .await?;
        Ok(row.map(Into::into))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn set_password_hash(
        &self,
        user_id: &str,
        hash: &str,
        now: NaiveDateTime,
    ) -> StoreResult<()> {
        write_password(&self.db, user_id, hash, now).await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn set_role(
        &self,
        email: &str,
        role: crate::domain::Role,
        now: NaiveDateTime,
    ) -> StoreResult<User> {
        let done =
            sql(r#"UPDATE "User" SET "role" = $1, "updatedAt" = $2 WHERE lower("email") = $3"#)
                .bind(role.as_str())
                .bind(millis(now))
                .bind(email)
                .execute(&self.db)
                .await?;
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        self.user_by_email(email).await?.ok_or(StoreError::NotFound)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn create_session(&self, new: &NewSession) -> StoreResult<()> {
        sql(
            r#"INSERT INTO "Session" ("id", "sessionToken", "userId", "expires", "createdAt", "lastSeenAt")
               VALUES ($1, $2, $3, $4, $5, $5)"#,
        )
        .bind(new_id())
        .bind(&new.token_hash)
        .bind(&new.user_id)
        .bind(millis(new.expires))
        .bind(millis(new.now))
        .execute(&self.db)
        .await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn session_by_token_hash(
        &self,
        token_hash: &str,
        now: NaiveDateTime,
    ) -> StoreResult<Option<SessionRecord>> {
        let row = sql(
            r#"SELECT u."id", u."email", u."name", u."role", u."password", u."createdAt", u."emailVerified",
                      s."expires", s."createdAt" AS "sessionCreatedAt", s."lastSeenAt"
               FROM "Session" s JOIN "User" u ON u."id" = s."userId"
               WHERE s."sessionToken" = $1 AND s."expires" > $2"#,
        )
        .bind(token_hash)
        .bind(millis(now))
        .fetch_optional::<SessionRow>(&self.db)
        .await?;
        Ok(row.map(Into::into))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn renew_session(
        &self,
        token_hash: &str,
        expires: NaiveDateTime,
        now: NaiveDateTime,
    ) -> StoreResult<()> {
        sql(r#"UPDATE "Session" SET "expires" = $1, "lastSeenAt" = $2 WHERE "sessionToken" = $3"#)
            .bind(millis(expires))
            .bind(millis(now))
            .bind(token_hash)
            .execute(&self.db)
            .await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        sql(r#"DELETE FROM "Session" WHERE "sessionToken" = $1"#)
            .bind(token_hash)
            .execute(&self.db)
            .await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn delete_expired_sessions(&self, now: NaiveDateTime) -> StoreResult<u64> {
        let done = sql(r#"DELETE FROM "Session" WHERE "expires" <= $1"#)
            .bind(millis(now))
            .execute(&self.db)
            .await?;
        Ok(done)
    }
}
