//! The wishlist: `/compte/envies` (page and plain forms) and `/api/v1/wishlist`.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::guards::{ApiWriter, CsrfForm, SignedIn};
use super::openapi::Data;
use super::pages::{Card, Layout, PageError, render};
use super::personal_data;
use crate::AppState;
use crate::auth::{CurrentUser, RequestContext};
use crate::error::AppError;
use crate::services::accounts::safe_redirect_target;
use crate::services::wishlist as service;
use crate::views::ProductView;
use crate::web::CachePolicy;

// ----- API -----

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct WishlistChange {
    slug: String,
    /// False when the product was in the wishlist already.
    added: bool,
}

#[utoipa::path(get, operation_id = "getWishlist", path = "/api/v1/wishlist", tag = "wishlist", security(("session" = [])),
    responses((status = 200, description = "The products, most recently added first", body = Data<Vec<ProductView>>)))]
/// `GET /api/v1/wishlist`: the products, most recently added first.
pub async fn api_list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Response, AppError> {
    let products = service::list(&state, &user).await?;
    Ok(personal_data(
        StatusCode::OK,
        products.iter().map(ProductView::from).collect::<Vec<_>>(),
    ))
}

#[utoipa::path(put, operation_id = "addToWishlist", path = "/api/v1/wishlist/{slug}", tag = "wishlist", params(("slug" = String, Path, description = "The product's slug")), security(("session" = [], "csrf" = [])),
    responses(
        (status = 201, description = "Added", body = Data<WishlistChange>),
        (status = 200, description = "It was there already", body = Data<WishlistChange>),
    ))]
/// `PUT /api/v1/wishlist/{slug}`: 201 when added, 200 when it was there already.
pub async fn api_add(
    State(state): State<AppState>,
    ApiWriter(user): ApiWriter,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let added = service::add(&state, &user, &slug).await?;
    let status = if added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(personal_data(status, WishlistChange { slug, added }))
}

#[utoipa::path(delete, operation_id = "removeFromWishlist", path = "/api/v1/wishlist/{slug}", tag = "wishlist", params(("slug" = String, Path, description = "The product's slug")), security(("session" = [], "csrf" = [])),
    responses((status = 204, description = "Not in the wishlist any more (whether or not it was)")))]
/// `DELETE /api/v1/wishlist/{slug}`: 204 whether or not it was there.
pub async fn api_remove(
    State(state): State<AppState>,
    ApiWriter(user): ApiWriter,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    service::remove(&state, &user, &slug).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ----- pages -----

#[derive(Template)]
#[template(path = "wishlist.html")]
struct WishlistPage<'a> {
    layout: Layout<'a>,
    cards: Vec<Card>,
}

pub async fn page_list(
    State(state): State<AppState>,
    ctx: RequestContext,
) -> Result<Response, PageError> {
    let Some(user) = ctx.user.clone() else {
        return Ok(Redirect::to("/connexion?next=/compte/envies").into_response());
    };
    let products = service::list(&state, &user).await?;
    let page = WishlistPage {
        layout: Layout::new(&state, &ctx, "Mes envies"),
        cards: products
            .iter()
            .map(|p| Card::new(&state, &ctx, p))
            .collect(),
    };
    render(&page, CachePolicy::NoStore)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WishlistForm {
    slug: String,
    #[serde(default)]
    next: Option<String>,
}

async fn page_change(
    state: &AppState,
    user: crate::store::User,
    form: WishlistForm,
    add: bool,
) -> Result<Response, PageError> {
    if add {
        service::add(state, &user, &form.slug).await?;
    } else {
        service::remove(state, &user, &form.slug).await?;
    }
    let next = form
        .next
        .as_deref()
        .map(|n| safe_redirect_target(Some(n)))
        .unwrap_or_else(|| "/compte/envies".to_string());
    Ok(Redirect::to(&next).into_response())
}

/// `POST /compte/envies/ajouter`.
pub async fn page_add(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    CsrfForm(form): CsrfForm<WishlistForm>,
) -> Result<Response, PageError> {
    page_change(&state, user, form, true).await
}

/// `POST /compte/envies/retirer`.
pub async fn page_remove(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    CsrfForm(form): CsrfForm<WishlistForm>,
) -> Result<Response, PageError> {
    page_change(&state, user, form, false).await
}
