//! The audit log: who changed what in the catalogue and the orders, and when. Each administrator write records
//! an event in its own transaction (see `CatalogStore`, `OrderStore::change_order_status`): the fields it
//! changed, from what to what, read in that transaction.

use async_trait::async_trait;
use chrono::NaiveDateTime;
use serde_json::{Map, Value};

use super::db::{On, Tx, assembled, sql};
use super::model::*;
use super::rows::*;
use super::{Backend, SqlStore, StoreResult};

#[async_trait]
pub trait AuditStore: Send + Sync {
    /// The newest events first, of one subject (a product or category slug, an order number) or of all.
    async fn audit_log(
        &self,
        subject: Option<&str>,
        limit: u32,
        offset: u32,
    ) -> StoreResult<Vec<AuditEntry>>;
}

/// What the audit log keeps of a product: the fields an administrator edits.
const PRODUCT_SNAPSHOT: &str = r#"SELECT p."name", p."description", p."priceCents", p."comparePriceCents",
       p."images", c."slug" AS "category", p."stock", p."featured"
FROM "Product" p LEFT JOIN "Category" c ON c."id" = p."categoryId"
WHERE p."slug" = $1 AND p."archivedAt" IS NULL"#;

const CATEGORY_SNAPSHOT: &str =
    r#"SELECT "name", "description", "image" FROM "Category" WHERE "slug" = $1"#;

#[derive(sqlx::FromRow)]
#[sqlx(rename_all = "camelCase")]
struct ProductSnapshotRow {
    name: String,
    description: String,
    price_cents: i64,
    compare_price_cents: Option<i64>,
    images: String,
    category: Option<String>,
    stock: i32,
    featured: bool,
}

#[derive(sqlx::FromRow)]
struct CategorySnapshotRow {
    name: String,
    description: Option<String>,
    image: Option<String>,
}

/// A product's editable fields as JSON, read in `tx` (PostgreSQL: the row locked until commit, so the values
/// are the ones the write changes). `None` when there is no such product.
pub(super) async fn product_snapshot(
    tx: &mut Tx,
    backend: Backend,
    slug: &str,
) -> StoreResult<Option<Value>> {
    let row = assembled(format!(
        "{PRODUCT_SNAPSHOT}{}",
        lock_clause(backend, " OF p")
    ))
    .bind(slug)
    .fetch_optional::<ProductSnapshotRow>(tx)
    .await?;
    Ok(row.map(|r| {
        let images: Value = serde_json::from_str(&r.images).unwrap_or(Value::Array(Vec::new()));
        serde_json::json!({
            "name": r.name,
            "description": r.description,
            "price_cents": r.price_cents,
            "compare_price_cents": r.compare_price_cents,
            "images": images,
            "category": r.category,
            "stock": r.stock,
            "featured": r.featured,
        })
    }))
}

/// A category's editable fields as JSON, read in `tx` (locked as [`product_snapshot`] locks).
pub(super) async fn category_snapshot(
    tx: &mut Tx,
    backend: Backend,
    slug: &str,
) -> StoreResult<Option<Value>> {
    let row = assembled(format!("{CATEGORY_SNAPSHOT}{}", lock_clause(backend, "")))
        .bind(slug)
        .fetch_optional::<CategorySnapshotRow>(tx)
        .await?;
    Ok(row.map(
        |r| serde_json::json!({ "name": r.name, "description": r.description, "image": r.image }),
    ))
}

/// The row lock of a snapshot; `of` names the table locked when others are joined in (only read).
fn lock_clause(backend: Backend, of: &str) -> String {
    match backend {
        Backend::Postgres => format!(" FOR UPDATE{of}"),
        // BEGIN IMMEDIATE holds the database's write lock already.
        Backend::Sqlite => String::new(),
    }
}

/// The fields that differ between two snapshots: `{"stock": {"from": 3, "to": 10}}`. A missing snapshot (a
/// creation, a deletion) counts as every field null.
pub fn diff(before: Option<&Value>, after: Option<&Value>) -> Value {
    let empty = Map::new();
    let before = before.and_then(Value::as_object).unwrap_or(&empty);
    let after = after.and_then(Value::as_object).unwrap_or(&empty);
    let mut changes = Map::new();
    for key in before.keys().chain(after.keys()) {
        let from = before.get(key).unwrap_or(&Value::Null);
        let to = after.get(key).unwrap_or(&Value::Null);
        if from != to && !changes.contains_key(key) {
            changes.insert(key.clone(), serde_json::json!({ "from": from, "to": to }));
        }
    }
    Value::Object(changes)
}

/// Records an event in the write's own transaction; nothing when no administrator made the write (`by` is
/// `None`: the demo seed, a test) or when nothing changed.
pub(super) async fn record<'c>(
    on: impl Into<On<'c>>,
    by: Option<&str>,
    action: &str,
    subject: &str,
    changes: &Value,
    now: NaiveDateTime,
) -> StoreResult<()> {
    let Some(actor) = by else {
        return Ok(());
    };
    if changes.as_object().is_some_and(Map::is_empty) {
        return Ok(());
    }
    sql(
        r#"INSERT INTO "AuditEvent" ("id", "actorId", "action", "subject", "changes", "createdAt")
           VALUES ($1, $2, $3, $4, $5, $6)"#,
    )
    .bind(new_id())
    .bind(actor)
    .bind(action)
    .bind(subject)
    .bind(changes.to_string())
    .bind(millis(now))
    .execute(on)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
#[sqlx(rename_all = "camelCase")]
struct AuditRow {
    id: String,
    actor_email: Option<String>,
    action: String,
    subject: String,
    changes: String,
    created_at: NaiveDateTime,
}

#[async_trait]
impl AuditStore for SqlStore {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn audit_log(
        &self,
        subject: Option<&str>,
        limit: u32,
        offset: u32,
    ) -> StoreResult<Vec<AuditEntry>> {
        let rows = sql(
            r#"SELECT a."id", u."email" AS "actorEmail", a."action", a."subject", a."changes", a."createdAt"
               FROM "AuditEvent" a LEFT JOIN "User" u ON u."id" = a."actorId"
               WHERE ($1 IS NULL OR a."subject" = $1)
               ORDER BY a."seq" DESC LIMIT $2 OFFSET $3"#,
        )
        .bind(subject.map(str::to_string))
        .bind(i64::from(limit))
        .bind(i64::from(offset))
        .fetch_all::<AuditRow>(&self.db)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| AuditEntry {
                id: r.id,
                actor: r.actor_email,
                action: r.action,
                subject: r.subject,
                changes: serde_json::from_str(&r.changes).unwrap_or(Value::Null),
                at: r.created_at,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::diff;
    use serde_json::json;

    #[test]
    fn a_diff_names_each_changed_field_from_and_to() {
        let before = json!({"stock": 3, "name": "Lampe", "featured": false});
        let after = json!({"stock": 10, "name": "Lampe", "featured": true});
        assert_eq!(
            diff(Some(&before), Some(&after)),
            json!({"stock": {"from": 3, "to": 10}, "featured": {"from": false, "to": true}})
        );
        assert_eq!(
            diff(None, Some(&json!({"name": "Vase"}))),
            json!({"name": {"from": null, "to": "Vase"}})
        );
        assert_eq!(diff(Some(&before), Some(&before)), json!({}));
    }
}
