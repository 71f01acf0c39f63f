//! The shop's own images: uploads, and the variants browsers ask for.
//!
//! An upload is checked by decoding it (not by its declared type), named by its content, kept as uploaded in
//! the image store, and recorded. Its variants (see `domain::image`) are made in the background right after, and
//! on demand when a browser asks for one that is not made yet; each is made once even when many ask at once.
//! Encoding runs on the blocking pool, one image at a time: a burst of uploads waits its turn instead of taking
//! every core from the shop's requests. Variants served are kept in memory (64 MB, the most asked kept).

use std::sync::Arc;

use axum::body::Bytes;
use tokio::sync::Semaphore;

use crate::AppState;
use crate::auth::now;
use crate::domain::image::{
    ImageFormat, ImageId, ImageProblem, ImageRef, Variant, original_key, variant_key,
};
use crate::domain::{FieldError, Rule};
use crate::images::encode;
use crate::store::{NewImage, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("the file is larger than {max} bytes")]
    TooBig { max: usize },
    #[error("image {0}")]
    Invalid(ImageProblem),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("image store: {0:#}")]
    Files(anyhow::Error),
    /// Too many uploads are waiting for their turn already.
    #[error("too many uploads at once")]
    Busy,
}

/// Uploads that may wait for the encoding turn at once; more are answered 503 (each holds its file in memory).
const UPLOADS_WAITING: usize = 4;

/// The variants kept in memory, and the one-at-a-time encoding turn.
pub struct ImageService {
    served: moka::future::Cache<(ImageId, Variant), Bytes>,
    encoding: Semaphore,
    /// Uploads being checked or waiting to be.
    uploads: Semaphore,
}

impl Default for ImageService {
    fn default() -> Self {
        ImageService {
            served: moka::future::Cache::builder()
                .max_capacity(64 * 1024 * 1024)
                .weigher(|_, bytes: &Bytes| u32::try_from(bytes.len()).unwrap_or(u32::MAX))
                .build(),
            encoding: Semaphore::new(1),
            uploads: Semaphore::new(UPLOADS_WAITING),
        }
    }
}

/// Runs CPU-bound work on the blocking pool in the encoding turn.
async fn encoding<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce() -> T + Send + 'static,
) -> anyhow::Result<T> {
    let _turn = state
        .images()
        .encoding
        .acquire()
        .await
        .map_err(|_| anyhow::anyhow!("the image encoder is shut down"))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| anyhow::anyhow!("image encoding failed: {e}"))
}

/// An upload, checked and kept, and whether it is new. The same file uploaded again is the same image (nothing
/// is written twice, even when both are sent at once).
pub async fn upload(
    state: &AppState,
    file: Bytes,
    by: &str,
) -> Result<(ImageRef, bool), ImageError> {
    let max = state.config().max_image_bytes;
    if file.len() > max {
        return Err(ImageError::TooBig { max });
    }
    let id = ImageId::of(&file);
    if let Some(image) = known(state, id).await? {
        return Ok((image, false));
    }
    let Ok(_waiting) = state.images().uploads.try_acquire() else {
        return Err(ImageError::Busy);
    };
    let original = file.clone();
    let decoded = encoding(state, move || encode::decode(&original))
        .await
        .map_err(ImageError::Files)?
        .map_err(ImageError::Invalid)?;
    let image = ImageRef {
        id,
        width: decoded.width(),
        height: decoded.height(),
    };
    // The file first, then the row: a recorded image always has its original.
    state
        .config()
        .image_blobs
        .put(&original_key(id), &file, decoded.content_type)
        .await
        .map_err(ImageError::Files)?;
    let new = NewImage {
        id: id.to_string(),
        width: image.width,
        height: image.height,
        content_type: decoded.content_type,
        bytes: file.len() as u64,
    };
    let created = state.store().record_image(&new, Some(by), now()).await?;
    if created {
        tracing::info!(image = %id, width = image.width, height = image.height, by, "image uploaded");
        let state = state.clone();
        tokio::spawn(async move { make_variants(&state, image, decoded.image).await });
    }
    Ok((image, created))
}

/// Makes and keeps every variant of a new upload, so the first visitors do not wait for them.
async fn make_variants(state: &AppState, image: ImageRef, decoded: image::DynamicImage) {
    let decoded = Arc::new(decoded);
    for width in image.widths() {
        for format in ImageFormat::ALL {
            let variant = Variant { width, format };
            let source = Arc::clone(&decoded);
            let height = image.height_at(width);
            let made = encoding(state, move || {
                encode::encode(&encode::resized(&source, width, height), format)
            })
            .await;
            let stored = match made {
                Ok(Ok(bytes)) => state
                    .config()
                    .image_blobs
                    .put(
                        &variant_key(image.id, variant),
                        &bytes,
                        format.content_type(),
                    )
                    .await
                    .map_err(|e| format!("{e:#}")),
                Ok(Err(problem)) => Err(problem.to_string()),
                Err(err) => Err(format!("{err:#}")),
            };
            if let Err(error) = stored {
                // Made on demand when first asked for, then.
                tracing::warn!(image = %image.id, variant = %variant.file_name(), %error, "an image variant was not made");
            }
        }
    }
}

/// What a browser asking for `/images/<id>/<file>` gets: the variant's bytes and format, or `None` when there
/// is no such image or variant.
pub async fn variant(
    state: &AppState,
    id: &str,
    file: &str,
) -> Result<Option<(Bytes, ImageFormat)>, ImageError> {
    let (Some(id), Some(variant)) = (ImageId::parse(id), Variant::parse(file)) else {
        return Ok(None);
    };
    let found = state
        .images()
        .served
        .try_get_with((id, variant), load_or_make(state, id, variant))
        .await;
    match found {
        Ok(bytes) => Ok(Some((bytes, variant.format))),
        Err(err) => match err.as_ref() {
            Missing::No => Ok(None),
            // Shared by every request that waited for this variant: said again in each one's error.
            Missing::Failed(failed) => Err(ImageError::Files(anyhow::anyhow!(
                "image {id} {}: {failed}",
                variant.file_name()
            ))),
        },
    }
}

enum Missing {
    No,
    Failed(ImageError),
}

impl From<StoreError> for Missing {
    fn from(err: StoreError) -> Self {
        Missing::Failed(err.into())
    }
}

/// An image the shop has: uploaded, or one of the demo catalogue's.
pub async fn known(state: &AppState, id: ImageId) -> Result<Option<ImageRef>, StoreError> {
    if let Some(demo) = crate::seed::demo_image(id) {
        return Ok(Some(demo.image));
    }
    Ok(state
        .store()
        .image(&id.to_string())
        .await?
        .map(|record| ImageRef {
            id,
            width: record.width,
            height: record.height,
        }))
}

/// An image's original: from the image store, or built in for a demo photo.
async fn original(state: &AppState, id: ImageId) -> anyhow::Result<Option<Vec<u8>>> {
    match crate::seed::demo_image(id) {
        Some(demo) => Ok(Some(demo.bytes.to_vec())),
        None => state.config().image_blobs.get(&original_key(id)).await,
    }
}

async fn load_or_make(state: &AppState, id: ImageId, variant: Variant) -> Result<Bytes, Missing> {
    let Some(image) = known(state, id).await? else {
        return Err(Missing::No);
    };
    if !image.has_width(variant.width) {
        return Err(Missing::No);
    }
    let blobs = &state.config().image_blobs;
    let failed = |e: anyhow::Error| Missing::Failed(ImageError::Files(e));
    if let Some(bytes) = blobs.get(&variant_key(id, variant)).await.map_err(failed)? {
        return Ok(Bytes::from(bytes));
    }
    let Some(original) = original(state, id).await.map_err(failed)? else {
        tracing::error!(image = %id, store = %blobs.describe(), "an image is recorded but its original is not in the image store");
        return Err(Missing::No);
    };
    let height = image.height_at(variant.width);
    let made = encoding(state, move || {
        encode::decode(&original).and_then(|d| {
            encode::encode(
                &encode::resized(&d.image, variant.width, height),
                variant.format,
            )
        })
    })
    .await
    .map_err(failed)?
    .map_err(|problem| Missing::Failed(ImageError::Invalid(problem)))?;
    blobs
        .put(
            &variant_key(id, variant),
            &made,
            variant.format.content_type(),
        )
        .await
        .map_err(failed)?;
    tracing::debug!(image = %id, variant = %variant.file_name(), bytes = made.len(), "image variant made on demand");
    Ok(Bytes::from(made))
}

/// A product's or category's image, as an administrator gives it: the reference of an uploaded image
/// (`/images/<id>/<width>x<height>`). Photos are the shop's own: a page never loads another host's pictures.
/// (Rows of a catalogue taken over from the original shop may still name external URLs; they stay as they are
/// until replaced.)
pub fn image_source(field: &'static str, value: &str) -> Result<String, FieldError> {
    ImageRef::parse(value.trim())
        .map(|image| image.reference())
        .ok_or_else(|| FieldError::new(field, Rule::NotImageSource))
}

/// A product's images: at most 10.
pub fn image_sources(list: &[String]) -> Result<Vec<String>, FieldError> {
    if list.len() > 10 {
        return Err(FieldError::new("images", Rule::TooMany { max: 10 }));
    }
    list.iter().map(|u| image_source("images", u)).collect()
}

/// Refuses a reference to an image that was never uploaded (a typo would show a broken picture).
pub async fn check_uploaded<'a>(
    state: &AppState,
    field: &'static str,
    sources: impl IntoIterator<Item = &'a String>,
) -> Result<(), ImageCheck> {
    for source in sources {
        if let Some(image) = ImageRef::parse(source)
            && known(state, image.id).await? != Some(image)
        {
            return Err(ImageCheck::Unknown(FieldError::new(field, Rule::Unknown)));
        }
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum ImageCheck {
    #[error("{0}")]
    Unknown(FieldError),
    #[error(transparent)]
    Store(#[from] StoreError),
}
