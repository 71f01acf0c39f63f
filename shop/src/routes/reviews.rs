//! Reviews: the product page's form (`/produits/{slug}/avis`) and `/api/v1/products/{slug}/reviews`.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use super::catalog::{ReviewFormValues, product_page};
use super::extract::ApiJson;
use super::guards::{ApiWriter, CsrfForm, NoFields, SignedIn};
use super::openapi::Data;
use super::pages::PageError;
use super::personal_data;
use crate::AppState;
use crate::auth::RequestContext;
use crate::domain::review::ReviewInput;
use crate::error::AppError;
use crate::services::reviews as service;
use crate::views::{Pagination, ReviewView};
use crate::web::json_with_etag;

// ----- API -----

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The page, from 1 (10 reviews a page)
    #[param(value_type = Option<u32>, minimum = 1, maximum = 10000)]
    page: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ReviewsPage<'a> {
    data: Vec<ReviewView<'a>>,
    pagination: Pagination,
}

#[utoipa::path(get, operation_id = "listReviews", path = "/api/v1/products/{slug}/reviews", tag = "reviews", params(("slug" = String, Path, description = "The product's slug"), PageQuery),
    responses((status = 200, description = "A page of the product's reviews, newest first", body = ReviewsPage)))]
/// `GET /api/v1/products/{slug}/reviews?page=N`: newest first.
pub async fn api_list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Response, AppError> {
    let page = super::orders::page_number(query.page.as_deref())?;
    let (product, reviews) = service::page(&state, &slug, page).await?;
    let body = ReviewsPage {
        data: reviews.iter().map(ReviewView::from).collect(),
        pagination: Pagination::new(
            page,
            crate::services::catalog::REVIEWS_PER_PAGE,
            product.rating_count,
        ),
    };
    let bytes = serde_json::to_vec(&body).map_err(|e| AppError::Internal(e.into()))?;
    Ok(json_with_etag(&headers, bytes))
}

/// A review as submitted to the API. `rating` must be a JSON integer; unknown fields are refused.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewBody {
    /// From 1 to 5 stars
    #[schema(value_type = i32, minimum = 1, maximum = 5)]
    rating: serde_json::Value,
    #[serde(default)]
    #[schema(max_length = 120)]
    title: Option<String>,
    #[serde(default)]
    #[schema(max_length = 2000)]
    comment: Option<String>,
}

#[utoipa::path(post, operation_id = "submitReview", path = "/api/v1/products/{slug}/reviews", tag = "reviews", params(("slug" = String, Path, description = "The product's slug")), request_body = ReviewBody, security(("session" = [], "csrf" = [])),
    responses(
        (status = 201, description = "The review, new", body = Data<ReviewView>),
        (status = 200, description = "The review, replacing the customer's previous one", body = Data<ReviewView>),
    ))]
/// `POST /api/v1/products/{slug}/reviews`: 201 with a new review, 200 when it replaced the customer's previous one.
pub async fn api_submit(
    State(state): State<AppState>,
    ApiWriter(user): ApiWriter,
    Path(slug): Path<String>,
    ApiJson(body): ApiJson<ReviewBody>,
) -> Result<Response, AppError> {
    let input = ReviewInput::parse(
        ReviewInput::json_rating(&body.rating),
        body.title.as_deref(),
        body.comment.as_deref(),
    )?;
    let (review, created) = service::submit(&state, &user, &slug, &input).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(personal_data(status, ReviewView::from(&review)))
}

#[utoipa::path(get, operation_id = "getMyReview", path = "/api/v1/products/{slug}/reviews/mine", tag = "reviews", params(("slug" = String, Path, description = "The product's slug")), security(("session" = [])),
    responses((status = 200, description = "The customer's own review of the product", body = Data<ReviewView>)))]
/// `GET /api/v1/products/{slug}/reviews/mine`: the customer's own review (404 when none).
pub async fn api_mine(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let product = crate::services::catalog::live_product(&state, &slug).await?;
    let review = service::own(&state, &user, &product)
        .await?
        .ok_or(AppError::NotFound("Avis introuvable"))?;
    Ok(personal_data(StatusCode::OK, ReviewView::from(&review)))
}

#[utoipa::path(delete, operation_id = "deleteMyReview", path = "/api/v1/products/{slug}/reviews/mine", tag = "reviews", params(("slug" = String, Path, description = "The product's slug")), security(("session" = [], "csrf" = [])),
    responses((status = 204, description = "The customer's review deleted")))]
/// `DELETE /api/v1/products/{slug}/reviews/mine`.
pub async fn api_delete(
    State(state): State<AppState>,
    ApiWriter(user): ApiWriter,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    service::delete(&state, &user, &slug).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ----- pages -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewForm {
    #[serde(default)]
    rating: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    comment: String,
}

/// Back to the product's reviews, saying what was done.
fn back_to(slug: &str, done: &str) -> Response {
    Redirect::to(&format!("/produits/{slug}?avis={done}#avis")).into_response()
}

/// `POST /produits/{slug}/avis`: back to the product on success; the page with the form's errors otherwise.
pub async fn page_submit(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    ctx: RequestContext,
    Path(slug): Path<String>,
    CsrfForm(form): CsrfForm<ReviewForm>,
) -> Result<Response, PageError> {
    let parsed = ReviewInput::parse(
        ReviewInput::form_rating(&form.rating),
        Some(&form.title),
        Some(&form.comment),
    );
    let result = match parsed {
        Ok(input) => service::submit(&state, &user, &slug, &input)
            .await
            .map(|_| ())
            .map_err(AppError::from),
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(()) => Ok(back_to(&slug, "publie")),
        Err(err @ AppError::Validation(_)) => {
            let values = ReviewFormValues {
                rating: form.rating,
                title: form.title,
                comment: form.comment,
            };
            let status = err.status();
            let message = super::pages::form_error_text(&err);
            product_page(
                &state,
                &ctx,
                &slug,
                Some((values, vec![message])),
                None,
                status,
            )
            .await
        }
        Err(err) => Err(err.into()),
    }
}

/// `POST /produits/{slug}/avis/supprimer`.
pub async fn page_delete(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    Path(slug): Path<String>,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    service::delete(&state, &user, &slug).await?;
    Ok(back_to(&slug, "supprime"))
}
