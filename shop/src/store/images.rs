//! The shop's own images: one row per uploaded file (its files are in the image store, see `crate::images`).

use async_trait::async_trait;
use chrono::NaiveDateTime;

use super::audit::record;
use super::db::sql;
use super::model::{ImageRecord, NewImage};
use super::rows::millis;
use super::{SqlStore, StoreResult};

#[async_trait]
pub trait ImageStore: Send + Sync {
    /// Records an upload; false when the same file was uploaded before (nothing changes then). An upload by an
    /// administrator (`by`) is recorded in the audit log.
    async fn record_image(
        &self,
        image: &NewImage,
        by: Option<&str>,
        now: NaiveDateTime,
    ) -> StoreResult<bool>;
    async fn image(&self, id: &str) -> StoreResult<Option<ImageRecord>>;
    /// The newest first.
    async fn images(&self, limit: u32, offset: u32) -> StoreResult<Vec<ImageRecord>>;
}

#[derive(sqlx::FromRow)]
#[sqlx(rename_all = "camelCase")]
struct ImageRow {
    id: String,
    width: i32,
    height: i32,
    content_type: String,
    bytes: i32,
    created_at: NaiveDateTime,
}

impl From<ImageRow> for ImageRecord {
    fn from(r: ImageRow) -> Self {
        ImageRecord {
            id: r.id,
            width: u32::try_from(r.width).unwrap_or(0),
            height: u32::try_from(r.height).unwrap_or(0),
            content_type: r.content_type,
            bytes: u64::try_from(r.bytes).unwrap_or(0),
            created_at: r.created_at,
        }
    }
}

#[async_trait]
impl ImageStore for SqlStore {
    #[tracing::instrument(level = "debug", skip_all, fields(image = %image.id))]
    async fn record_image(
        &self,
        image: &NewImage,
        by: Option<&str>,
        now: NaiveDateTime,
    ) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let inserted = sql(
            r#"INSERT INTO "Image" ("id", "width", "height", "contentType", "bytes", "uploadedBy", "createdAt")
               VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT ("id") DO NOTHING"#,
        )
        .bind(&image.id)
        .bind(i32::try_from(image.width).unwrap_or(i32::MAX))
        .bind(i32::try_from(image.height).unwrap_or(i32::MAX))
        .bind(image.content_type)
        .bind(i32::try_from(image.bytes).unwrap_or(i32::MAX))
        .bind(by.map(str::to_string))
        .bind(millis(now))
        .execute(&mut tx)
        .await?
            == 1;
        if inserted {
            let changes = serde_json::json!({
                "width": {"from": null, "to": image.width},
                "height": {"from": null, "to": image.height},
                "contentType": {"from": null, "to": image.content_type},
                "bytes": {"from": null, "to": image.bytes},
            });
            record(&mut tx, by, "image.upload", &image.id, &changes, now).await?;
        }
        tx.commit().await?;
        Ok(inserted)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn image(&self, id: &str) -> StoreResult<Option<ImageRecord>> {
        Ok(sql(
            r#"SELECT "id", "width", "height", "contentType", "bytes", "createdAt" FROM "Image" WHERE "id" = $1"#,
        )
            .bind(id)
            .fetch_optional::<ImageRow>(&self.db)
            .await?
            .map(ImageRecord::from))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn images(&self, limit: u32, offset: u32) -> StoreResult<Vec<ImageRecord>> {
        Ok(sql(
            r#"SELECT "id", "width", "height", "contentType", "bytes", "createdAt" FROM "Image"
               ORDER BY "createdAt" DESC, "id" LIMIT $1 OFFSET $2"#,
        )
        .bind(i64::from(limit))
        .bind(i64::from(offset))
        .fetch_all::<ImageRow>(&self.db)
        .await?
        .into_iter()
        .map(ImageRecord::from)
        .collect())
    }
}
