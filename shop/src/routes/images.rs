//! The shop's own images: variants for browsers (`/images/<id>/<file>`), uploads for administrators (the API
//! and `/admin/images`).

use askama::Template;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::header::{CONTENT_TYPE, LOCATION};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::guards::{Admin, CsrfHeader};
use super::openapi::Data;
use super::orders::page_number;
use super::pages::{Layout, PageError, Picture, french_date, render};
use crate::AppState;
use crate::auth::RequestContext;
use crate::domain::image::{ImageFormat, ImageId, ImageRef, Variant};
use crate::domain::{FieldError, Rule};
use crate::error::AppError;
use crate::services::images::{self as service, ImageError};
use crate::store::ImageRecord;
use crate::web::{CachePolicy, set_cache_control};

/// Images a page of the admin list shows.
const PER_PAGE: u32 = 48;

impl From<ImageError> for AppError {
    fn from(err: ImageError) -> Self {
        match err {
            ImageError::TooBig { max } => AppError::PayloadTooLarge { limit: max },
            ImageError::Invalid(problem) => FieldError::new("image", Rule::Image(problem)).into(),
            ImageError::Store(err) => err.into(),
            ImageError::Files(err) => AppError::Internal(err),
            ImageError::Busy => AppError::Busy,
        }
    }
}

/// `GET /images/<id>/<width>.<webp|avif>`: a variant, cached for a year (its URL never changes meaning).
/// `GET /images/<id>/<width>x<height>`, an image's reference, sends to its largest WebP variant.
pub async fn serve_image(
    State(state): State<AppState>,
    Path((id, file)): Path<(String, String)>,
) -> Result<Response, AppError> {
    if let Some(image) = ImageRef::parse(&format!("/images/{id}/{file}")) {
        let target = image.variant_path(image.largest(ImageFormat::Webp));
        let mut response = StatusCode::MOVED_PERMANENTLY.into_response();
        if let Ok(location) = HeaderValue::from_str(&target) {
            response.headers_mut().insert(LOCATION, location);
        }
        set_cache_control(&mut response, CachePolicy::Immutable);
        return Ok(response);
    }
    match service::variant(&state, &id, &file).await? {
        Some((bytes, format)) => {
            let mut response = bytes.into_response();
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static(format.content_type()),
            );
            set_cache_control(&mut response, CachePolicy::Immutable);
            Ok(response)
        }
        None => Err(AppError::NotFound("Image introuvable")),
    }
}

/// An uploaded image, as the API and the admin page show it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ImageView {
    pub id: String,
    /// What a product's `images` (or a category's `image`) takes.
    pub reference: String,
    pub width: u32,
    pub height: u32,
    /// Each variant's URL, narrowest first.
    pub webp: Vec<String>,
    pub avif: Vec<String>,
}

impl ImageView {
    fn new(state: &AppState, image: ImageRef) -> Self {
        let base = state.config().asset_base_url.as_deref().unwrap_or_default();
        let urls = |format| {
            image
                .widths()
                .into_iter()
                .map(|width| format!("{base}{}", image.variant_path(Variant { width, format })))
                .collect()
        };
        ImageView {
            id: image.id.to_string(),
            reference: image.reference(),
            width: image.width,
            height: image.height,
            webp: urls(ImageFormat::Webp),
            avif: urls(ImageFormat::Avif),
        }
    }

    fn of_record(state: &AppState, record: &ImageRecord) -> Option<Self> {
        Some(ImageView::new(
            state,
            ImageRef {
                id: ImageId::parse(&record.id)?,
                width: record.width,
                height: record.height,
            },
        ))
    }
}

/// The body's declared type must be an image's: a JSON or form body sent here by mistake is told so.
fn declared_image(headers: &HeaderMap) -> Result<(), AppError> {
    let declared = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if ["image/jpeg", "image/png", "image/webp"]
        .iter()
        .any(|t| declared.starts_with(t))
    {
        Ok(())
    } else {
        Err(AppError::UnsupportedMediaType {
            expected: "image/jpeg, image/png ou image/webp",
        })
    }
}

#[utoipa::path(post, operation_id = "uploadImage", path = "/api/v1/admin/images", tag = "admin", security(("session" = [], "csrf" = [])),
    request_body(description = "The file itself (at most the configured size, 10 MB by default)",
        content(("image/jpeg"), ("image/png"), ("image/webp"))),
    responses(
        (status = 201, description = "Stored, its variants made", body = Data<ImageView>),
        (status = 200, description = "The same file was uploaded before", body = Data<ImageView>),
    ))]
/// `POST /api/v1/admin/images`, the file as the body (`Content-Type: image/jpeg`, `image/png` or `image/webp`):
/// 201 with the image's reference and variant URLs; 200 when the same file was uploaded before; 503 when too
/// many uploads are being checked at once.
pub async fn api_upload(
    State(state): State<AppState>,
    Admin(admin): Admin,
    _: CsrfHeader,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    declared_image(&headers)?;
    let (image, created) = service::upload(&state, body, &admin.id).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(super::personal_data(status, ImageView::new(&state, image)))
}

#[derive(Deserialize)]
pub struct ListQuery {
    page: Option<String>,
    /// `?fait=<id>` after an upload from the page: that image is shown first, with its reference.
    fait: Option<String>,
}

/// One page of images, newest first, and whether older ones follow.
async fn listed(state: &AppState, page: u32) -> Result<(Vec<ImageRecord>, bool), AppError> {
    let mut records = state
        .store()
        .images(PER_PAGE + 1, (page - 1) * PER_PAGE)
        .await?;
    let has_more = records.len() > PER_PAGE as usize;
    records.truncate(PER_PAGE as usize);
    Ok((records, has_more))
}

#[utoipa::path(get, operation_id = "listImages", path = "/api/v1/admin/images", tag = "admin", security(("session" = [])),
    params(("page" = Option<u32>, Query, description = "The page, from 1", minimum = 1, maximum = 10000)),
    responses((status = 200, description = "The images, newest first, 48 a page", body = Data<Vec<ImageView>>)))]
/// `GET /api/v1/admin/images?page=`: the newest first, 48 a page.
pub async fn api_list(
    State(state): State<AppState>,
    _: Admin,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    let page = page_number(q.page.as_deref())?;
    let (records, _) = listed(&state, page).await?;
    let images: Vec<ImageView> = records
        .iter()
        .filter_map(|r| ImageView::of_record(&state, r))
        .collect();
    Ok(super::personal_data(StatusCode::OK, images))
}

struct Tile {
    picture: Picture,
    reference: String,
    size: String,
    uploaded: String,
}

#[derive(Template)]
#[template(path = "admin_images.html")]
struct ImagesPage<'a> {
    layout: Layout<'a>,
    tiles: Vec<Tile>,
    /// The image just uploaded.
    done: Option<Tile>,
    error: Option<String>,
    page: u32,
    has_more: bool,
    max_megabytes: usize,
}

async fn images_page(
    state: &AppState,
    ctx: &RequestContext,
    page: u32,
    done: Option<&str>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (records, has_more) = listed(state, page).await?;
    let tile = |r: &ImageRecord| {
        let image = ImageRef {
            id: ImageId::parse(&r.id)?,
            width: r.width,
            height: r.height,
        };
        Some(Tile {
            picture: Picture::new(state, Some(&image.reference()), 200),
            reference: image.reference(),
            size: format!(
                "{} × {} px, {} Ko",
                r.width,
                r.height,
                r.bytes.div_ceil(1024)
            ),
            uploaded: french_date(r.created_at),
        })
    };
    let done = match done.and_then(ImageId::parse) {
        Some(id) => state
            .store()
            .image(&id.to_string())
            .await
            .map_err(AppError::from)?
            .as_ref()
            .and_then(tile),
        None => None,
    };
    let view = ImagesPage {
        layout: Layout::new(state, ctx, "Images du catalogue"),
        tiles: records.iter().filter_map(tile).collect(),
        done,
        error,
        page,
        has_more,
        max_megabytes: state.config().max_image_bytes / (1024 * 1024),
    };
    let mut response = render(&view, CachePolicy::NoStore)?;
    *response.status_mut() = status;
    Ok(response)
}

/// `/admin/images?page=`: the upload form, and the images uploaded, newest first, each with its reference.
pub async fn page_images(
    State(state): State<AppState>,
    _: Admin,
    ctx: RequestContext,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let page = page_number(q.page.as_deref())?;
    images_page(&state, &ctx, page, q.fait.as_deref(), None, StatusCode::OK).await
}

/// `POST /admin/images` (multipart: `csrf_token` first, then `file`).
pub async fn page_upload(
    State(state): State<AppState>,
    Admin(admin): Admin,
    ctx: RequestContext,
    request: Request,
) -> Result<Response, PageError> {
    // The token is checked before the file is read; a body that is not the upload form carries none.
    let Ok(mut form) = Multipart::from_request(request, &state).await else {
        return Err(AppError::Csrf.into());
    };
    let token = match form.next_field().await {
        Ok(Some(field)) if field.name() == Some("csrf_token") => field.text().await.ok(),
        _ => None,
    };
    state
        .signing_key()
        .verify(ctx.csrf_cookie.as_deref(), token.as_deref())?;
    let file = loop {
        match form.next_field().await {
            Ok(Some(field)) if field.name() == Some("file") => {
                break field.bytes().await.map_err(|e| upload_failed(&state, &e));
            }
            Ok(Some(_)) => continue,
            Ok(None) => break Ok(Bytes::new()),
            Err(e) => break Err(upload_failed(&state, &e)),
        }
    };
    let message = match file {
        Ok(file) if file.is_empty() => "Choisissez un fichier image.".to_string(),
        Ok(file) => match service::upload(&state, file, &admin.id).await {
            Ok((image, _)) => {
                tracing::info!(admin = %admin.id, image = %image.id, "image uploaded from the admin page");
                let mut response = StatusCode::SEE_OTHER.into_response();
                if let Ok(to) = HeaderValue::from_str(&format!("/admin/images?fait={}", image.id)) {
                    response.headers_mut().insert(LOCATION, to);
                }
                return Ok(response);
            }
            Err(ImageError::TooBig { max }) => too_big(max),
            Err(ImageError::Invalid(problem)) => {
                format!(
                    "Image : {}.",
                    crate::error::french_rule(&Rule::Image(problem))
                )
            }
            Err(other) => return Err(AppError::from(other).into()),
        },
        Err(message) => message,
    };
    images_page(
        &state,
        &ctx,
        1,
        None,
        Some(message),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

fn too_big(max: usize) -> String {
    format!("Le fichier dépasse {} Mo.", max / (1024 * 1024))
}

/// The multipart body could not be read: too large (the limit), or cut short.
fn upload_failed(state: &AppState, err: &axum::extract::multipart::MultipartError) -> String {
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_big(state.config().max_image_bytes)
    } else {
        "Le fichier n'a pas été reçu en entier : envoyez-le de nouveau.".to_string()
    }
}
