//! The SQL both backends run, and the macro that implements [`Store`](super::Store) for each of them. The two
//! implementations differ only in their pool type; the SQL text is the same (quoted identifiers, `$n`
//! placeholders, `RETURNING`, `ON CONFLICT`, timestamps always bound from Rust).

use chrono::NaiveDateTime;

use super::model::{AppliedMigration, CartLine, Category, CategoryRef, Product, Review, User};
use crate::domain::{Money, Role};

#[derive(sqlx::FromRow)]
#[sqlx(rename_all = "camelCase")]
pub(super) struct ProductRow {
    id: String,
    name: String,
    slug: String,
    description: String,
    price_cents: i64,
    compare_price_cents: Option<i64>,
    images: String,
    stock: i32,
    featured: bool,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    category_id: Option<String>,
    category_name: Option<String>,
    category_slug: Option<String>,
    rating_count: i64,
    rating_sum: i64,
}

#[derive(sqlx::FromRow)]
pub(super) struct CartRow {
    #[sqlx(flatten)]
    product: ProductRow,
    quantity: i32,
}

impl From<CartRow> for CartLine {
    fn from(row: CartRow) -> Self {
        CartLine {
            product: row.product.into(),
            quantity: row.quantity,
        }
    }
}

impl From<ProductRow> for Product {
    fn from(row: ProductRow) -> Self {
        let category = match (row.category_id, row.category_name, row.category_slug) {
            (Some(id), Some(name), Some(slug)) => Some(CategoryRef { id, name, slug }),
            _ => None,
        };
        // `images` is a JSON array in a text column (the original schema). A corrupt value shows no image rather
        // than failing the whole page.
        let images = serde_json::from_str::<Vec<String>>(&row.images).unwrap_or_else(|err| {
            tracing::warn!(product = %row.slug, error = %err, "Product.images is not a JSON array of strings");
            Vec::new()
        });
        Product {
            id: row.id,
            name: row.name,
            slug: row.slug,
            description: row.description,
            price: Money::from_cents(row.price_cents),
            compare_price: row.compare_price_cents.map(Money::from_cents),
            images,
            stock: row.stock,
            featured: row.featured,
            created_at: row.created_at,
            updated_at: row.updated_at,
            category,
            rating_count: row.rating_count,
            rating_sum: row.rating_sum,
        }
    }
}

#[derive(sqlx::FromRow)]
#[sqlx(rename_all = "camelCase")]
pub(super) struct CategoryRow {
    id: String,
    name: String,
    slug: String,
    description: Option<String>,
    image: Option<String>,
    product_count: i64,
}

impl From<CategoryRow> for Category {
    fn from(row: CategoryRow) -> Self {
        Category {
            id: row.id,
            name: row.name,
            slug: row.slug,
            description: row.description,
            image: row.image,
            product_count: row.product_count,
        }
    }
}

#[derive(sqlx::FromRow)]
#[sqlx(rename_all = "camelCase")]
pub(super) struct ReviewRow {
    id: String,
    rating: i32,
    title: Option<String>,
    comment: Option<String>,
    verified: bool,
    created_at: NaiveDateTime,
    author_name: Option<String>,
}

impl From<ReviewRow> for Review {
    fn from(row: ReviewRow) -> Self {
        let author = row
            .author_name
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| "Anonyme".to_string());
        Review {
            id: row.id,
            rating: row.rating,
            title: row.title,
            comment: row.comment,
            verified: row.verified,
            created_at: row.created_at,
            author,
        }
    }
}

#[derive(sqlx::FromRow)]
#[sqlx(rename_all = "camelCase")]
pub(super) struct UserRow {
    id: String,
    email: String,
    name: Option<String>,
    role: String,
    password: Option<String>,
    created_at: NaiveDateTime,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        User {
            id: row.id,
            email: row.email,
            name: row.name,
            role: Role::from_db(&row.role),
            password_hash: row.password,
            created_at: row.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
#[sqlx(rename_all = "camelCase")]
pub(super) struct SessionRow {
    #[sqlx(flatten)]
    user: UserRow,
    expires: NaiveDateTime,
    session_created_at: NaiveDateTime,
    last_seen_at: NaiveDateTime,
}

impl From<SessionRow> for super::SessionRecord {
    fn from(row: SessionRow) -> Self {
        super::SessionRecord {
            user: row.user.into(),
            expires: row.expires,
            created_at: row.session_created_at,
            last_seen_at: row.last_seen_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct MigrationRow {
    migration_name: String,
    checksum: String,
}

impl From<MigrationRow> for AppliedMigration {
    fn from(row: MigrationRow) -> Self {
        AppliedMigration {
            name: row.migration_name,
            checksum: row.checksum,
        }
    }
}

#[derive(sqlx::FromRow)]
#[sqlx(rename_all = "camelCase")]
pub(super) struct RateRow {
    pub(super) count: i32,
    pub(super) window_start: NaiveDateTime,
}

/// A new random id in the shape of Prisma's cuid (a `c` and 24 base-36 characters), so ids written by vivr
/// look like the ones already in an original database.
pub(super) fn new_id() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::rng();
    let mut id = String::with_capacity(25);
    id.push('c');
    for _ in 0..24 {
        if let Some(b) = ALPHABET.get(rng.random_range(0..ALPHABET.len())) {
            id.push(char::from(*b));
        }
    }
    id
}

/// Timestamps are stored with millisecond precision (Prisma's `TIMESTAMP(3)`), in both databases.
pub(super) fn millis(t: NaiveDateTime) -> NaiveDateTime {
    use chrono::{DurationRound, TimeDelta};
    t.duration_trunc(TimeDelta::milliseconds(1)).unwrap_or(t)
}

pub(super) fn is_missing_table(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => {
            db.code().as_deref() == Some("42P01") || db.message().contains("no such table")
        }
        _ => false,
    }
}

pub(super) fn unique_violation(err: sqlx::Error, what: &'static str) -> super::StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => super::StoreError::Conflict(what),
        _ => super::StoreError::Database(err),
    }
}

pub(super) const CATEGORY_COLUMNS: &str = r#"SELECT c."id", c."name", c."slug", c."description", c."image",
    (SELECT COUNT(*) FROM "Product" p WHERE p."categoryId" = c."id" AND p."archivedAt" IS NULL) AS "productCount"
FROM "Category" c"#;
pub(super) const USER_COLUMNS: &str =
    r#"SELECT u."id", u."email", u."name", u."role", u."password", u."createdAt" FROM "User" u"#;

/// Implements [`Store`](super::Store) for a backend struct with a `pool` field of the given sqlx pool type.
macro_rules! impl_store {
    ($store:ty, $db:ty, $backend:expr) => {
        #[async_trait::async_trait]
        impl $crate::store::Store for $store {
            fn backend(&self) -> $crate::store::Backend {
                $backend
            }

            fn pool_stats(&self) -> $crate::store::PoolStats {
                $crate::store::PoolStats { size: self.pool.size(), idle: self.pool.num_idle() as u32 }
            }

            async fn ping(&self) -> StoreResult<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            async fn applied_migrations(&self) -> StoreResult<Option<Vec<AppliedMigration>>> {
                let rows = sqlx::query_as::<$db, MigrationRow>(
                    r#"SELECT "migration_name", "checksum" FROM "_prisma_migrations"
                       WHERE "finished_at" IS NOT NULL AND "rolled_back_at" IS NULL
                       ORDER BY "migration_name""#,
                )
                .fetch_all(&self.pool)
                .await;
                match rows {
                    Ok(rows) => Ok(Some(rows.into_iter().map(Into::into).collect())),
                    Err(err) if is_missing_table(&err) => Ok(None),
                    Err(err) => Err(err.into()),
                }
            }

            async fn list_categories(&self) -> StoreResult<Vec<Category>> {
                let sql = format!(r#"{CATEGORY_COLUMNS} ORDER BY c."name" ASC, c."id" ASC"#);
                let rows = sqlx::query_as::<$db, CategoryRow>(AssertSqlSafe(sql)).fetch_all(&self.pool).await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn category_by_slug(&self, slug: &str) -> StoreResult<Option<Category>> {
                let sql = format!(r#"{CATEGORY_COLUMNS} WHERE c."slug" = $1"#);
                let row = sqlx::query_as::<$db, CategoryRow>(AssertSqlSafe(sql))
                    .bind(slug)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(Into::into))
            }

            async fn create_category(&self, new: &NewCategory, now: NaiveDateTime) -> StoreResult<Category> {
                let now = millis(now);
                sqlx::query(
                    r#"INSERT INTO "Category" ("id", "name", "slug", "description", "image", "createdAt", "updatedAt")
                       VALUES ($1, $2, $3, $4, $5, $6, $6)"#,
                )
                .bind(new_id())
                .bind(&new.name)
                .bind(&new.slug)
                .bind(&new.description)
                .bind(&new.image)
                .bind(now)
                .execute(&self.pool)
                .await
                .map_err(|e| unique_violation(e, "category slug"))?;
                self.category_by_slug(&new.slug).await?.ok_or(StoreError::NotFound)
            }

            async fn update_category(&self, slug: &str, patch: &CategoryPatch, now: NaiveDateTime) -> StoreResult<Category> {
                let current = self.category_by_slug(slug).await?.ok_or(StoreError::NotFound)?;
                let name = patch.name.clone().unwrap_or(current.name);
                let description = patch.description.clone().unwrap_or(current.description);
                let image = patch.image.clone().unwrap_or(current.image);
                sqlx::query(
                    r#"UPDATE "Category" SET "name" = $1, "description" = $2, "image" = $3, "updatedAt" = $4
                       WHERE "slug" = $5"#,
                )
                .bind(&name)
                .bind(&description)
                .bind(&image)
                .bind(millis(now))
                .bind(slug)
                .execute(&self.pool)
                .await?;
                self.category_by_slug(slug).await?.ok_or(StoreError::NotFound)
            }

            async fn delete_category(&self, slug: &str) -> StoreResult<()> {
                let done = sqlx::query(r#"DELETE FROM "Category" WHERE "slug" = $1"#).bind(slug).execute(&self.pool).await?;
                if done.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
            }

            async fn list_products(&self, query: &ProductQuery) -> StoreResult<ProductPage> {
                let (count_sql, count_binds) = query.count_sql();
                let mut count = sqlx::query_scalar::<$db, i64>(AssertSqlSafe(count_sql));
                for bind in count_binds {
                    count = match bind {
                        Bind::Text(v) => count.bind(v),
                        Bind::Int(v) => count.bind(v),
                        Bind::Bool(v) => count.bind(v),
                    };
                }
                let total = count.fetch_one(&self.pool).await?;
                let (page_sql, page_binds) = query.page_sql();
                let mut page = sqlx::query_as::<$db, ProductRow>(AssertSqlSafe(page_sql));
                for bind in page_binds {
                    page = match bind {
                        Bind::Text(v) => page.bind(v),
                        Bind::Int(v) => page.bind(v),
                        Bind::Bool(v) => page.bind(v),
                    };
                }
                let items = page.fetch_all(&self.pool).await?.into_iter().map(Into::into).collect();
                Ok(ProductPage { items, total })
            }

            async fn product_by_slug(&self, slug: &str) -> StoreResult<Option<Product>> {
                let sql = format!(r#"{PRODUCT_COLUMNS} WHERE p."slug" = $1 AND p."archivedAt" IS NULL"#);
                let row = sqlx::query_as::<$db, ProductRow>(AssertSqlSafe(sql)).bind(slug).fetch_optional(&self.pool).await?;
                Ok(row.map(Into::into))
            }

            async fn product_reviews(&self, product_id: &str, limit: u32, offset: u32) -> StoreResult<Vec<Review>> {
                let rows = sqlx::query_as::<$db, ReviewRow>(
                    r#"SELECT rv."id", rv."rating", rv."title", rv."comment", rv."verified", rv."createdAt",
                              u."name" AS "authorName"
                       FROM "Review" rv JOIN "User" u ON u."id" = rv."userId"
                       WHERE rv."productId" = $1
                       ORDER BY rv."createdAt" DESC, rv."id" DESC
                       LIMIT $2 OFFSET $3"#,
                )
                .bind(product_id)
                .bind(i64::from(limit))
                .bind(i64::from(offset))
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn related_products(&self, product: &Product, limit: u32) -> StoreResult<Vec<Product>> {
                let Some(category) = &product.category else { return Ok(Vec::new()) };
                let sql = format!(
                    r#"{PRODUCT_COLUMNS} WHERE p."categoryId" = $1 AND p."id" <> $2 AND p."archivedAt" IS NULL
                       ORDER BY p."createdAt" DESC, p."id" DESC LIMIT $3"#
                );
                let rows = sqlx::query_as::<$db, ProductRow>(AssertSqlSafe(sql))
                    .bind(&category.id)
                    .bind(&product.id)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn create_product(&self, new: &NewProduct, now: NaiveDateTime) -> StoreResult<Product> {
                let mut tx = self.begin_write().await?;
                let category_id = match &new.category_slug {
                    Some(slug) => Some(
                        sqlx::query_scalar::<$db, String>(r#"SELECT "id" FROM "Category" WHERE "slug" = $1"#)
                            .bind(slug)
                            .fetch_optional(&mut *tx)
                            .await?
                            .ok_or(StoreError::Invalid("category"))?,
                    ),
                    None => None,
                };
                let images = serde_json::to_string(&new.images).unwrap_or_else(|_| "[]".to_string());
                let search = fold_for_search(&format!("{} {}", new.name, new.description));
                sqlx::query(
                    r#"INSERT INTO "Product" ("id", "name", "slug", "description", "priceCents", "comparePriceCents",
                           "currency", "images", "categoryId", "stock", "featured", "searchText", "createdAt", "updatedAt")
                       VALUES ($1, $2, $3, $4, $5, $6, 'EUR', $7, $8, $9, $10, $11, $12, $12)"#,
                )
                .bind(new_id())
                .bind(&new.name)
                .bind(&new.slug)
                .bind(&new.description)
                .bind(new.price.cents())
                .bind(new.compare_price.map(Money::cents))
                .bind(images)
                .bind(category_id)
                .bind(new.stock)
                .bind(new.featured)
                .bind(search)
                .bind(millis(now))
                .execute(&mut *tx)
                .await
                .map_err(|e| unique_violation(e, "product slug"))?;
                tx.commit().await?;
                self.product_by_slug(&new.slug).await?.ok_or(StoreError::NotFound)
            }

            async fn update_product(&self, slug: &str, patch: &ProductPatch, now: NaiveDateTime) -> StoreResult<Product> {
                let mut tx = self.begin_write().await?;
                let category = match &patch.category_slug {
                    Some(Some(cat)) => Some(Some(
                        sqlx::query_scalar::<$db, String>(r#"SELECT "id" FROM "Category" WHERE "slug" = $1"#)
                            .bind(cat)
                            .fetch_optional(&mut *tx)
                            .await?
                            .ok_or(StoreError::Invalid("category"))?,
                    )),
                    Some(None) => Some(None),
                    None => None,
                };
                let images = patch
                    .images
                    .as_ref()
                    .map(|i| serde_json::to_string(i).unwrap_or_else(|_| "[]".to_string()));
                // Only the fields the patch names are written: a checkout or a webhook may change the stock (or
                // anything else) between any read and this statement, and no value read earlier is written back.
                let changed = sqlx::query_as::<$db, (String, String, String)>(
                    r#"UPDATE "Product" SET
                           "name" = COALESCE($1, "name"),
                           "description" = COALESCE($2, "description"),
                           "priceCents" = COALESCE($3, "priceCents"),
                           "comparePriceCents" = CASE WHEN $4 THEN $5 ELSE "comparePriceCents" END,
                           "images" = COALESCE($6, "images"),
                           "categoryId" = CASE WHEN $7 THEN $8 ELSE "categoryId" END,
                           "stock" = COALESCE($9, "stock"),
                           "featured" = COALESCE($10, "featured"),
                           "updatedAt" = $11
                       WHERE "slug" = $12 AND "archivedAt" IS NULL
                       RETURNING "id", "name", "description""#,
                )
                .bind(&patch.name)
                .bind(&patch.description)
                .bind(patch.price.map(Money::cents))
                .bind(patch.compare_price.is_some())
                .bind(patch.compare_price.flatten().map(Money::cents))
                .bind(images)
                .bind(category.is_some())
                .bind(category.flatten())
                .bind(patch.stock)
                .bind(patch.featured)
                .bind(millis(now))
                .bind(slug)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?;
                if patch.name.is_some() || patch.description.is_some() {
                    // The row is locked by the update above until commit: name and description are this
                    // transaction's own.
                    let (id, name, description) = changed;
                    sqlx::query(r#"UPDATE "Product" SET "searchText" = $1 WHERE "id" = $2"#)
                        .bind(fold_for_search(&format!("{name} {description}")))
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                self.product_by_slug(slug).await?.ok_or(StoreError::NotFound)
            }

            async fn archive_product(&self, slug: &str, now: NaiveDateTime) -> StoreResult<()> {
                let mut tx = self.begin_write().await?;
                // A no-op update that locks the row (PostgreSQL; SQLite's write transaction locks everything):
                // an order for this product either committed before (and is counted below) or waits and then
                // finds the product gone or archived.
                let id = sqlx::query_scalar::<$db, String>(
                    r#"UPDATE "Product" SET "updatedAt" = "updatedAt" WHERE "slug" = $1 AND "archivedAt" IS NULL
                       RETURNING "id""#,
                )
                .bind(slug)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?;
                let ordered = sqlx::query_scalar::<$db, i64>(r#"SELECT COUNT(*) FROM "OrderItem" WHERE "productId" = $1"#)
                    .bind(&id)
                    .fetch_one(&mut *tx)
                    .await?;
                if ordered > 0 {
                    sqlx::query(r#"UPDATE "Product" SET "archivedAt" = $1, "updatedAt" = $1 WHERE "id" = $2"#)
                        .bind(millis(now))
                        .bind(&id)
                        .execute(&mut *tx)
                        .await?;
                } else {
                    sqlx::query(r#"DELETE FROM "Product" WHERE "id" = $1"#).bind(&id).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn catalog_is_empty(&self) -> StoreResult<bool> {
                let n = sqlx::query_scalar::<$db, i64>(
                    r#"SELECT (SELECT COUNT(*) FROM "Product") + (SELECT COUNT(*) FROM "Category")"#,
                )
                .fetch_one(&self.pool)
                .await?;
                Ok(n == 0)
            }

            async fn seed_catalog(
                &self,
                categories: &[NewCategory],
                products: &[SeedProduct],
                now: NaiveDateTime,
            ) -> StoreResult<SeedReport> {
                let now = millis(now);
                let mut report = SeedReport::default();
                let mut tx = self.begin_write().await?;
                for c in categories {
                    let done = sqlx::query(
                        r#"INSERT INTO "Category" ("id", "name", "slug", "description", "image", "createdAt", "updatedAt")
                           VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT ("slug") DO NOTHING"#,
                    )
                    .bind(new_id())
                    .bind(&c.name)
                    .bind(&c.slug)
                    .bind(&c.description)
                    .bind(&c.image)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    report.categories += done.rows_affected();
                }
                for seed in products {
                    let p = &seed.product;
                    let images = serde_json::to_string(&p.images).unwrap_or_else(|_| "[]".to_string());
                    let done = sqlx::query(
                        r#"INSERT INTO "Product" ("id", "name", "slug", "description", "priceCents", "comparePriceCents",
                               "currency", "images", "categoryId", "stock", "featured", "searchText", "createdAt", "updatedAt")
                           VALUES ($1, $2, $3, $4, $5, $6, 'EUR', $7,
                                   (SELECT "id" FROM "Category" WHERE "slug" = $8), $9, $10, $11, $12, $13)
                           ON CONFLICT ("slug") DO NOTHING"#,
                    )
                    .bind(new_id())
                    .bind(&p.name)
                    .bind(&p.slug)
                    .bind(&p.description)
                    .bind(p.price.cents())
                    .bind(p.compare_price.map(Money::cents))
                    .bind(images)
                    .bind(&p.category_slug)
                    .bind(p.stock)
                    .bind(p.featured)
                    .bind(fold_for_search(&format!("{} {}", p.name, p.description)))
                    .bind(millis(seed.created_at))
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    report.products += done.rows_affected();
                }
                tx.commit().await?;
                Ok(report)
            }

            async fn create_user(&self, new: &NewUser, now: NaiveDateTime) -> StoreResult<User> {
                let id = new_id();
                sqlx::query(
                    r#"INSERT INTO "User" ("id", "email", "name", "password", "role", "createdAt", "updatedAt")
                       VALUES ($1, $2, $3, $4, $5, $6, $6)"#,
                )
                .bind(&id)
                .bind(&new.email)
                .bind(&new.name)
                .bind(&new.password_hash)
                .bind(new.role.as_str())
                .bind(millis(now))
                .execute(&self.pool)
                .await
                .map_err(|e| unique_violation(e, "email"))?;
                self.user_by_email(&new.email).await?.ok_or(StoreError::NotFound)
            }

            async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
                let sql = format!(r#"{USER_COLUMNS} WHERE lower(u."email") = $1"#);
                let row = sqlx::query_as::<$db, UserRow>(AssertSqlSafe(sql)).bind(email).fetch_optional(&self.pool).await?;
                Ok(row.map(Into::into))
            }

            async fn set_password_hash(&self, user_id: &str, hash: &str, now: NaiveDateTime) -> StoreResult<()> {
                sqlx::query(r#"UPDATE "User" SET "password" = $1, "updatedAt" = $2 WHERE "id" = $3"#)
                    .bind(hash)
                    .bind(millis(now))
                    .bind(user_id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn set_role(&self, email: &str, role: crate::domain::Role, now: NaiveDateTime) -> StoreResult<User> {
                let done = sqlx::query(r#"UPDATE "User" SET "role" = $1, "updatedAt" = $2 WHERE lower("email") = $3"#)
                    .bind(role.as_str())
                    .bind(millis(now))
                    .bind(email)
                    .execute(&self.pool)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                self.user_by_email(email).await?.ok_or(StoreError::NotFound)
            }

            async fn create_session(&self, new: &NewSession) -> StoreResult<()> {
                sqlx::query(
                    r#"INSERT INTO "Session" ("id", "sessionToken", "userId", "expires", "createdAt", "lastSeenAt")
                       VALUES ($1, $2, $3, $4, $5, $5)"#,
                )
                .bind(new_id())
                .bind(&new.token_hash)
                .bind(&new.user_id)
                .bind(millis(new.expires))
                .bind(millis(new.now))
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn session_by_token_hash(&self, token_hash: &str, now: NaiveDateTime) -> StoreResult<Option<SessionRecord>> {
                let row = sqlx::query_as::<$db, SessionRow>(
                    r#"SELECT u."id", u."email", u."name", u."role", u."password", u."createdAt",
                              s."expires", s."createdAt" AS "sessionCreatedAt", s."lastSeenAt"
                       FROM "Session" s JOIN "User" u ON u."id" = s."userId"
                       WHERE s."sessionToken" = $1 AND s."expires" > $2"#,
                )
                .bind(token_hash)
                .bind(millis(now))
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(Into::into))
            }

            async fn renew_session(&self, token_hash: &str, expires: NaiveDateTime, now: NaiveDateTime) -> StoreResult<()> {
                sqlx::query(r#"UPDATE "Session" SET "expires" = $1, "lastSeenAt" = $2 WHERE "sessionToken" = $3"#)
                    .bind(millis(expires))
                    .bind(millis(now))
                    .bind(token_hash)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
                sqlx::query(r#"DELETE FROM "Session" WHERE "sessionToken" = $1"#).bind(token_hash).execute(&self.pool).await?;
                Ok(())
            }

            async fn delete_expired_sessions(&self, now: NaiveDateTime) -> StoreResult<u64> {
                let done = sqlx::query(r#"DELETE FROM "Session" WHERE "expires" <= $1"#)
                    .bind(millis(now))
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            }

            async fn rate_limit_hit(&self, key: &str, window: std::time::Duration, now: NaiveDateTime) -> StoreResult<RateWindow> {
                let now = millis(now);
                let cutoff = now - chrono::TimeDelta::from_std(window).unwrap_or(chrono::TimeDelta::MAX);
                let row = sqlx::query_as::<$db, RateRow>(
                    r#"INSERT INTO "RateLimit" ("key", "windowStart", "count") VALUES ($1, $2, 1)
                       ON CONFLICT ("key") DO UPDATE SET
                           "count" = CASE WHEN "RateLimit"."windowStart" <= $3 THEN 1 ELSE "RateLimit"."count" + 1 END,
                           "windowStart" = CASE WHEN "RateLimit"."windowStart" <= $3 THEN $2
                                                ELSE "RateLimit"."windowStart" END
                       RETURNING "count", "windowStart""#,
                )
                .bind(key)
                .bind(now)
                .bind(cutoff)
                .fetch_one(&self.pool)
                .await?;
                Ok(RateWindow { count: i64::from(row.count), window_start: row.window_start })
            }

            async fn rate_limit_peek(&self, key: &str, window: std::time::Duration, now: NaiveDateTime) -> StoreResult<Option<RateWindow>> {
                let cutoff = millis(now) - chrono::TimeDelta::from_std(window).unwrap_or(chrono::TimeDelta::MAX);
                let row = sqlx::query_as::<$db, RateRow>(
                    r#"SELECT "count", "windowStart" FROM "RateLimit" WHERE "key" = $1 AND "windowStart" > $2"#,
                )
                .bind(key)
                .bind(cutoff)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(|r| RateWindow { count: i64::from(r.count), window_start: r.window_start }))
            }

            async fn rate_limit_reset(&self, key: &str) -> StoreResult<()> {
                sqlx::query(r#"DELETE FROM "RateLimit" WHERE "key" = $1"#).bind(key).execute(&self.pool).await?;
                Ok(())
            }

            async fn rate_limit_refund(&self, key: &str, window_start: NaiveDateTime) -> StoreResult<()> {
                sqlx::query(
                    r#"UPDATE "RateLimit" SET "count" = "count" - 1
                       WHERE "key" = $1 AND "windowStart" = $2 AND "count" > 0"#,
                )
                .bind(key)
                .bind(millis(window_start))
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn rate_limit_purge(&self, before: NaiveDateTime) -> StoreResult<u64> {
                let done = sqlx::query(r#"DELETE FROM "RateLimit" WHERE "windowStart" < $1"#)
                    .bind(millis(before))
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            }

            async fn cart_lines(&self, owner: &$crate::store::CartOwner) -> StoreResult<Vec<CartLine>> {
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
                let rows = sqlx::query_as::<$db, CartRow>(AssertSqlSafe(sql)).bind(value).fetch_all(&self.pool).await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn cart_item_count(&self, owner: &$crate::store::CartOwner) -> StoreResult<i64> {
                let (column, value) = owner.column();
                let count = sqlx::query_scalar::<$db, i64>(AssertSqlSafe(format!(
                    r#"SELECT CAST(COALESCE(SUM(i."quantity"), 0) AS BIGINT)
                       FROM "Cart" k
                       JOIN "CartItem" i ON i."cartId" = k."id"
                       JOIN "Product" p ON p."id" = i."productId"
                       WHERE k."{column}" = $1 AND p."archivedAt" IS NULL"#
                )))
                .bind(value)
                .fetch_one(&self.pool)
                .await?;
                Ok(count)
            }

            async fn set_cart_line(
                &self,
                owner: &$crate::store::CartOwner,
                product_id: &str,
                quantity: i32,
                now: NaiveDateTime,
            ) -> StoreResult<()> {
                let (column, value) = owner.column();
                let now = millis(now);
                let mut tx = self.begin_write().await?;
                let cart_id: String = sqlx::query_scalar::<$db, String>(AssertSqlSafe(format!(
                    r#"INSERT INTO "Cart" ("id", "{column}", "createdAt", "updatedAt") VALUES ($1, $2, $3, $3)
                       ON CONFLICT ("{column}") DO UPDATE SET "updatedAt" = excluded."updatedAt"
                       RETURNING "id""#
                )))
                .bind(new_id())
                .bind(value)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                if quantity <= 0 {
                    sqlx::query(r#"DELETE FROM "CartItem" WHERE "cartId" = $1 AND "productId" = $2"#)
                        .bind(&cart_id)
                        .bind(product_id)
                        .execute(&mut *tx)
                        .await?;
                } else {
                    sqlx::query(
                        r#"INSERT INTO "CartItem" ("cartId", "productId", "quantity", "addedAt") VALUES ($1, $2, $3, $4)
                           ON CONFLICT ("cartId", "productId") DO UPDATE SET "quantity" = excluded."quantity""#,
                    )
                    .bind(&cart_id)
                    .bind(product_id)
                    .bind(quantity)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn clear_cart(&self, owner: &$crate::store::CartOwner) -> StoreResult<()> {
                let (column, value) = owner.column();
                sqlx::query(AssertSqlSafe(format!(
                    r#"DELETE FROM "CartItem" WHERE "cartId" IN (SELECT "id" FROM "Cart" WHERE "{column}" = $1)"#
                )))
                .bind(value)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn merge_cart(&self, visitor_hash: &str, user_id: &str, now: NaiveDateTime) -> StoreResult<()> {
                let now = millis(now);
                let mut tx = self.begin_write().await?;
                let visitor: Option<String> =
                    sqlx::query_scalar::<$db, String>(r#"SELECT "id" FROM "Cart" WHERE "tokenHash" = $1"#)
                        .bind(visitor_hash)
                        .fetch_optional(&mut *tx)
                        .await?;
                let Some(visitor) = visitor else {
                    return Ok(());
                };
                let user_cart: String = sqlx::query_scalar::<$db, String>(
                    r#"INSERT INTO "Cart" ("id", "userId", "createdAt", "updatedAt") VALUES ($1, $2, $3, $3)
                       ON CONFLICT ("userId") DO UPDATE SET "updatedAt" = excluded."updatedAt"
                       RETURNING "id""#,
                )
                .bind(new_id())
                .bind(user_id)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                sqlx::query(
                    r#"INSERT INTO "CartItem" ("cartId", "productId", "quantity", "addedAt")
                       SELECT $1, v."productId", v."quantity", v."addedAt" FROM "CartItem" v WHERE v."cartId" = $2
                       ON CONFLICT ("cartId", "productId") DO UPDATE SET "quantity" = "CartItem"."quantity" + excluded."quantity""#,
                )
                .bind(&user_cart)
                .bind(&visitor)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    r#"UPDATE "CartItem" SET "quantity" = (SELECT p."stock" FROM "Product" p WHERE p."id" = "CartItem"."productId")
                       WHERE "cartId" = $1
                         AND "quantity" > (SELECT p."stock" FROM "Product" p WHERE p."id" = "CartItem"."productId")
                         AND (SELECT p."stock" FROM "Product" p WHERE p."id" = "CartItem"."productId") > 0"#,
                )
                .bind(&user_cart)
                .execute(&mut *tx)
                .await?;
                sqlx::query(r#"DELETE FROM "Cart" WHERE "id" = $1"#).bind(&visitor).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn purge_visitor_carts(&self, before: NaiveDateTime) -> StoreResult<u64> {
                let done = sqlx::query(r#"DELETE FROM "Cart" WHERE "tokenHash" IS NOT NULL AND "updatedAt" < $1"#)
                    .bind(millis(before))
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            }
        }
    };
}

pub(super) use impl_store;
