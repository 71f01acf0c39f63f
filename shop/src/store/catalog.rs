//! The catalogue: categories, products and their listing, the reviews shown on a product page, and the demo seed.

use async_trait::async_trait;
use chrono::NaiveDateTime;

use super::audit::{category_snapshot, diff, product_snapshot, record};
use super::db::{assembled, sql};
use super::model::*;
use super::query::{PRODUCT_COLUMNS, ProductQuery};
use super::rows::*;
use super::search_index::{index_product, remember_words};
use super::{Backend, SqlStore, StoreError, StoreResult};
use crate::domain::{Money, SEARCH_ANALYZER_VERSION, SearchDocument};

/// A category's live products are counted on its row by a trigger (migration `listing_counts`).
pub(super) const CATEGORY_COLUMNS: &str = r#"SELECT c."id", c."name", c."slug", c."description", c."image",
    c."productCount"
FROM "Category" c"#;

#[async_trait]
pub trait CatalogStore: Send + Sync {
    async fn list_categories(&self) -> StoreResult<Vec<Category>>;
    async fn category_by_slug(&self, slug: &str) -> StoreResult<Option<Category>>;
    // The writes below record an audit event (`AuditStore`) in their transaction when `by` names the
    // administrator making them.
    async fn create_category(
        &self,
        new: &NewCategory,
        now: NaiveDateTime,
        by: Option<&str>,
    ) -> StoreResult<Category>;
    async fn update_category(
        &self,
        slug: &str,
        patch: &CategoryPatch,
        now: NaiveDateTime,
        by: Option<&str>,
    ) -> StoreResult<Category>;
    /// Deletes a category; its products stay, without a category (the schema's ON DELETE SET NULL).
    async fn delete_category(
        &self,
        slug: &str,
        now: NaiveDateTime,
        by: Option<&str>,
    ) -> StoreResult<()>;
    async fn list_products(&self, query: &ProductQuery) -> StoreResult<ProductPage>;
    /// A listing page and every category (`list_categories`): on SQLite in one statement, a listing page and its
    /// menu in one hand-over to the connection's thread.
    async fn list_products_and_categories(
        &self,
        query: &ProductQuery,
    ) -> StoreResult<(ProductPage, Vec<Category>)>;
    async fn product_by_slug(&self, slug: &str) -> StoreResult<Option<Product>>;
    async fn product_reviews(
        &self,
        product_id: &str,
        limit: u32,
        offset: u32,
    ) -> StoreResult<Vec<Review>>;
    /// Up to `limit` other products of the same category (none when the product has no category).
    async fn related_products(&self, product: &Product, limit: u32) -> StoreResult<Vec<Product>>;
    async fn create_product(
        &self,
        new: &NewProduct,
        now: NaiveDateTime,
        by: Option<&str>,
    ) -> StoreResult<Product>;
    async fn update_product(
        &self,
        slug: &str,
        patch: &ProductPatch,
        now: NaiveDateTime,
        by: Option<&str>,
    ) -> StoreResult<Product>;
    /// Removes a product from the catalogue. Products that were ordered are archived rather than deleted, so that
    /// order history keeps its references.
    async fn archive_product(
        &self,
        slug: &str,
        now: NaiveDateTime,
        by: Option<&str>,
    ) -> StoreResult<()>;
    async fn catalog_is_empty(&self) -> StoreResult<bool>;
    /// Every category's slug and last change: its own, or its products' latest when that is later (archiving a
    /// product counts as a change). By slug.
    async fn category_locations(&self) -> StoreResult<Vec<Location>>;
    /// Live products' slugs and last changes, by slug: at most `limit`, after skipping `offset`.
    async fn product_locations(&self, limit: u32, offset: u64) -> StoreResult<Vec<Location>>;
    /// Makes the search index whole: on SQLite, rebuilds the full-text index from the products (a copied file may
    /// have renumbered the rows it points at); then indexes again, `batch` products per transaction, every
    /// product indexed by an older analysis (`SEARCH_ANALYZER_VERSION`). Returns how many it indexed again.
    async fn refresh_search_index(&self, batch: u32) -> StoreResult<u64>;
    /// Up to `limit` words of the catalogue's vocabulary that begin with `prefix`, in order.
    async fn search_vocabulary(&self, prefix: &str, limit: u32) -> StoreResult<Vec<String>>;
    /// Inserts categories and products in one transaction; existing slugs are left untouched.
    async fn seed_catalog(
        &self,
        categories: &[NewCategory],
        products: &[SeedProduct],
        now: NaiveDateTime,
    ) -> StoreResult<SeedReport>;
}

#[async_trait]
impl CatalogStore for SqlStore {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn list_categories(&self) -> StoreResult<Vec<Category>> {
        let sql = format!(r#"{CATEGORY_COLUMNS} ORDER BY c."name" ASC, c."id" ASC"#);
        let rows = assembled(sql).fetch_all::<CategoryRow>(&self.db).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn category_by_slug(&self, slug: &str) -> StoreResult<Option<Category>> {
        let sql = format!(r#"{CATEGORY_COLUMNS} WHERE c."slug" = $1"#);
        let row = assembled(sql)
            .bind(slug)
            .fetch_optional::<CategoryRow>(&self.db)
            .await?;
        Ok(row.map(Into::into))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn create_category(
        &self,
        new: &NewCategory,
        now: NaiveDateTime,
        by: Option<&str>,
    ) -> StoreResult<Category> {
        let now = millis(now);
        let mut tx = self.begin_write().await?;
        sql(
            r#"INSERT INTO "Category" ("id", "name", "slug", "description", "image", "createdAt", "updatedAt")
               VALUES ($1, $2, $3, $4, $5, $6, $6)"#,
        )
        .bind(new_id())
        .bind(&new.name)
        .bind(&new.slug)
        .bind(&new.description)
        .bind(&new.image)
        .bind(now)
        .execute(&mut tx)
        .await
        .map_err(|e| unique_violation(e, "category slug"))?;
        let after = category_snapshot(&mut tx, self.db.backend(), &new.slug).await?;
        let changes = diff(None, after.as_ref());
        record(&mut tx, by, "category.create", &new.slug, &changes, now).await?;
        tx.commit().await?;
        self.category_by_slug(&new.slug)
            .await?
            .ok_or(StoreError::NotFound)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn update_category(
        &self,
        slug: &str,
        patch: &CategoryPatch,
        now: NaiveDateTime,
        by: Option<&str>,
    ) -> StoreResult<Category> {
        let mut tx = self.begin_write().await?;
        let before = category_snapshot(&mut tx, self.db.backend(), slug)
            .await?
            .ok_or(StoreError::NotFound)?;
        let text = |key: &str| before.get(key).and_then(|v| v.as_str()).map(str::to_string);
        let name = patch
            .name
            .clone()
            .unwrap_or_else(|| text("name").unwrap_or_default());
        let description = patch
            .description
            .clone()
            .unwrap_or_else(|| text("description"));
        let image = patch.image.clone().unwrap_or_else(|| text("image"));
        sql(
            r#"UPDATE "Category" SET "name" = $1, "description" = $2, "image" = $3, "updatedAt" = $4
               WHERE "slug" = $5"#,
        )
        .bind(&name)
        .bind(&description)
        .bind(&image)
        .bind(millis(now))
        .bind(slug)
        .execute(&mut tx)
        .await?;
        let after = category_snapshot(&mut tx, self.db.backend(), slug).await?;
        let changes = diff(Some(&before), after.as_ref());
        record(&mut tx, by, "category.update", slug, &changes, now).await?;
        tx.commit().await?;
        self.category_by_slug(slug)
            .await?
            .ok_or(StoreError::NotFound)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn delete_category(
        &self,
        slug: &str,
        now: NaiveDateTime,
        by: Option<&str>,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let before = category_snapshot(&mut tx, self.db.backend(), slug)
            .await?
            .ok_or(StoreError::NotFound)?;
        sql(r#"DELETE FROM "Category" WHERE "slug" = $1"#)
            .bind(slug)
            .execute(&mut tx)
            .await?;
        let changes = diff(Some(&before), None);
        record(&mut tx, by, "category.delete", slug, &changes, now).await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn list_products(&self, query: &ProductQuery) -> StoreResult<ProductPage> {
        Ok(self.listing(query, false).await?.0)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn list_products_and_categories(
        &self,
        query: &ProductQuery,
    ) -> StoreResult<(ProductPage, Vec<Category>)> {
        let (page, menu) = self.listing(query, true).await?;
        let menu = match menu {
            Some(menu) => menu,
            // PostgreSQL: a second statement. It would repeat the menu on each of the page's rows, and building
            // the JSON cost it more than the round trip (measured: /produits 4,441 req/s apart, 4,316 together).
            None => self.list_categories().await?,
        };
        Ok((page, menu))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn product_by_slug(&self, slug: &str) -> StoreResult<Option<Product>> {
        let sql = format!(r#"{PRODUCT_COLUMNS} WHERE p."slug" = $1 AND p."archivedAt" IS NULL"#);
        let row = assembled(sql)
            .bind(slug)
            .fetch_optional::<ProductRow>(&self.db)
            .await?;
        Ok(row.map(Into::into))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn product_reviews(
        &self,
        product_id: &str,
        limit: u32,
        offset: u32,
    ) -> StoreResult<Vec<Review>> {
        let rows = sql(
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
        .fetch_all::<ReviewRow>(&self.db)
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn related_products(&self, product: &Product, limit: u32) -> StoreResult<Vec<Product>> {
        let Some(category) = &product.category else {
            return Ok(Vec::new());
        };
        let sql = format!(
            r#"{PRODUCT_COLUMNS} WHERE p."categoryId" = $1 AND p."id" <> $2 AND p."archivedAt" IS NULL
               ORDER BY p."createdAt" DESC, p."id" DESC LIMIT $3"#
        );
        let rows = assembled(sql)
            .bind(&category.id)
            .bind(&product.id)
            .bind(i64::from(limit))
            .fetch_all::<ProductRow>(&self.db)
            .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn create_product(
        &self,
        new: &NewProduct,
        now: NaiveDateTime,
        by: Option<&str>,
    ) -> StoreResult<Product> {
        let mut tx = self.begin_write().await?;
        let category_id = match &new.category_slug {
            Some(slug) => Some(
                sql(r#"SELECT "id" FROM "Category" WHERE "slug" = $1"#)
                    .bind(slug)
                    .scalar_optional::<String>(&mut tx)
                    .await?
                    .ok_or(StoreError::Invalid("category"))?,
            ),
            None => None,
        };
        let images = serde_json::to_string(&new.images).unwrap_or_else(|_| "[]".to_string());
        let search = SearchDocument::of(&new.name, &new.description);
        sql(
            r#"INSERT INTO "Product" ("id", "name", "slug", "description", "priceCents", "comparePriceCents",
                   "currency", "images", "categoryId", "stock", "featured", "searchText", "searchName",
                   "searchVersion", "createdAt", "updatedAt")
               VALUES ($1, $2, $3, $4, $5, $6, 'EUR', $7, $8, $9, $10, $11, $12, $13, $14, $14)"#,
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
        .bind(&search.terms)
        .bind(&search.name_terms)
        .bind(SEARCH_ANALYZER_VERSION)
        .bind(millis(now))
        .execute(&mut tx)
        .await
        .map_err(|e| unique_violation(e, "product slug"))?;
        remember_words(&mut tx, &search.words).await?;
        let after = product_snapshot(&mut tx, self.db.backend(), &new.slug).await?;
        let changes = diff(None, after.as_ref());
        record(&mut tx, by, "product.create", &new.slug, &changes, now).await?;
        tx.commit().await?;
        self.product_by_slug(&new.slug)
            .await?
            .ok_or(StoreError::NotFound)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn update_product(
        &self,
        slug: &str,
        patch: &ProductPatch,
        now: NaiveDateTime,
        by: Option<&str>,
    ) -> StoreResult<Product> {
        let mut tx = self.begin_write().await?;
        // Read (PostgreSQL: and locked) first, for the audit log's "from".
        let before = product_snapshot(&mut tx, self.db.backend(), slug)
            .await?
            .ok_or(StoreError::NotFound)?;
        let category = match &patch.category_slug {
            Some(Some(cat)) => Some(Some(
                sql(r#"SELECT "id" FROM "Category" WHERE "slug" = $1"#)
                    .bind(cat)
                    .scalar_optional::<String>(&mut tx)
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
        let changed = sql(r#"UPDATE "Product" SET
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
               RETURNING "id", "name", "description""#)
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
        .fetch_optional::<(String, String, String)>(&mut tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        if patch.name.is_some() || patch.description.is_some() {
            // The row is locked by the update above until commit: name and description are this
            // transaction's own.
            let (id, name, description) = changed;
            index_product(&mut tx, &id, &SearchDocument::of(&name, &description)).await?;
        }
        let after = product_snapshot(&mut tx, self.db.backend(), slug).await?;
        let changes = diff(Some(&before), after.as_ref());
        record(&mut tx, by, "product.update", slug, &changes, now).await?;
        tx.commit().await?;
        self.product_by_slug(slug)
            .await?
            .ok_or(StoreError::NotFound)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn archive_product(
        &self,
        slug: &str,
        now: NaiveDateTime,
        by: Option<&str>,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let before = product_snapshot(&mut tx, self.db.backend(), slug).await?;
        // A no-op update that locks the row (PostgreSQL; SQLite's write transaction locks everything):
        // an order for this product either committed before (and is counted below) or waits and then
        // finds the product gone or archived.
        let id = sql(
            r#"UPDATE "Product" SET "updatedAt" = "updatedAt" WHERE "slug" = $1 AND "archivedAt" IS NULL
               RETURNING "id""#,
        )
        .bind(slug)
        .scalar_optional::<String>(&mut tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let ordered = sql(r#"SELECT COUNT(*) FROM "OrderItem" WHERE "productId" = $1"#)
            .bind(&id)
            .scalar::<i64>(&mut tx)
            .await?;
        if ordered > 0 {
            sql(r#"UPDATE "Product" SET "archivedAt" = $1, "updatedAt" = $1 WHERE "id" = $2"#)
                .bind(millis(now))
                .bind(&id)
                .execute(&mut tx)
                .await?;
            let changes = serde_json::json!({ "archived": { "from": false, "to": true } });
            record(&mut tx, by, "product.archive", slug, &changes, now).await?;
        } else {
            sql(r#"DELETE FROM "Product" WHERE "id" = $1"#)
                .bind(&id)
                .execute(&mut tx)
                .await?;
            let changes = diff(before.as_ref(), None);
            record(&mut tx, by, "product.delete", slug, &changes, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn catalog_is_empty(&self) -> StoreResult<bool> {
        let n =
            sql(r#"SELECT (SELECT COUNT(*) FROM "Product") + (SELECT COUNT(*) FROM "Category")"#)
                .scalar::<i64>(&self.db)
                .await?;
        Ok(n == 0)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn category_locations(&self) -> StoreResult<Vec<Location>> {
        Ok(sql(r#"SELECT c."slug",
                         CASE WHEN MAX(p."updatedAt") > c."updatedAt" THEN MAX(p."updatedAt")
                              ELSE c."updatedAt" END AS "updatedAt"
                  FROM "Category" c
                  LEFT JOIN "Product" p ON p."categoryId" = c."id"
                  GROUP BY c."id", c."slug", c."updatedAt"
                  ORDER BY c."slug""#)
        .fetch_all::<Location>(&self.db)
        .await?)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn product_locations(&self, limit: u32, offset: u64) -> StoreResult<Vec<Location>> {
        Ok(sql(
            r#"SELECT "slug", "updatedAt" FROM "Product" WHERE "archivedAt" IS NULL
                  ORDER BY "slug" LIMIT $1 OFFSET $2"#,
        )
        .bind(i64::from(limit))
        .bind(i64::try_from(offset).unwrap_or(i64::MAX))
        .fetch_all::<Location>(&self.db)
        .await?)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn refresh_search_index(&self, batch: u32) -> StoreResult<u64> {
        self.reindex_stale(batch).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn search_vocabulary(&self, prefix: &str, limit: u32) -> StoreResult<Vec<String>> {
        self.vocabulary(prefix, limit).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
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
            let done = sql(
                r#"INSERT INTO "Category" ("id", "name", "slug", "description", "image", "createdAt", "updatedAt")
                   VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT ("slug") DO NOTHING"#,
            )
            .bind(new_id())
            .bind(&c.name)
            .bind(&c.slug)
            .bind(&c.description)
            .bind(&c.image)
            .bind(now)
            .execute(&mut tx)
            .await?;
            report.categories += done;
        }
        for seed in products {
            let p = &seed.product;
            let images = serde_json::to_string(&p.images).unwrap_or_else(|_| "[]".to_string());
            let search = SearchDocument::of(&p.name, &p.description);
            let done = sql(
                r#"INSERT INTO "Product" ("id", "name", "slug", "description", "priceCents", "comparePriceCents",
                       "currency", "images", "categoryId", "stock", "featured", "searchText", "searchName",
                       "searchVersion", "createdAt", "updatedAt")
                   VALUES ($1, $2, $3, $4, $5, $6, 'EUR', $7,
                           (SELECT "id" FROM "Category" WHERE "slug" = $8), $9, $10, $11, $12, $13, $14, $15)
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
            .bind(&search.terms)
            .bind(&search.name_terms)
            .bind(SEARCH_ANALYZER_VERSION)
            .bind(millis(seed.created_at))
            .bind(now)
            .execute(&mut tx)
            .await?;
            if done > 0 {
                remember_words(&mut tx, &search.words).await?;
            }
            report.products += done;
        }
        tx.commit().await?;
        Ok(report)
    }
}

impl SqlStore {
    /// A listing page, and with `menu` the menu's categories read in the same statement: on SQLite (see
    /// `ProductQuery::page`); `None` on PostgreSQL.
    async fn listing(
        &self,
        query: &ProductQuery,
        menu: bool,
    ) -> StoreResult<(ProductPage, Option<Vec<Category>>)> {
        let backend = self.db.backend();
        let page = query.page(backend, menu);
        if backend == Backend::Sqlite {
            return page.fetch_one::<ListingJson>(&self.db).await?.into_page();
        }
        let rows = page.fetch_all::<ListingRow>(&self.db).await?;
        let total = match rows.first() {
            Some(row) => row.listing_total,
            None if query.page <= 1 => 0,
            // Past the last page: the total still tells the shopper how many there are.
            None => query.count(backend).scalar::<i64>(&self.db).await?,
        };
        let items = rows.into_iter().map(|row| row.product.into()).collect();
        Ok((ProductPage { items, total }, None))
    }
}
