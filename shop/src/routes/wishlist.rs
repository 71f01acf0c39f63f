//! The wishlist: `/compte/envies` (page and plain forms) and `/api/v1/wishlist`.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::extract::PageForm;
use super::pages::{Card, Layout, PageError, render};
use super::{personal_data, signed_in_writer};
use crate::AppState;
use crate::auth::{CurrentUser, RequestContext};
use crate::error::AppError;
use crate::services::accounts::safe_redirect_target;
use crate::services::wishlist as service;
use crate::views::ProductView;
use crate::web::CachePolicy;

// ----- API -----

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

/// `PUT /api/v1/wishlist/{slug}`: 201 when added, 200 when it was there already.
pub async fn api_add(
    State(state): State<AppState>,
    ctx: RequestContext,
    headers: HeaderMap,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let user = signed_in_writer(&state, &ctx, &headers)?;
    let added = service::add(&state, &user, &slug).await?;
    let status = if added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(personal_data(
        status,
        serde_json::json!({ "slug": slug, "added": added }),
    ))
}

/// `DELETE /api/v1/wishlist/{slug}`: 204 whether or not it was there.
pub async fn api_remove(
    State(state): State<AppState>,
    ctx: RequestContext,
    headers: HeaderMap,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let user = signed_in_writer(&state, &ctx, &headers)?;
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
        cards: products.iter().map(|p| Card::new(&state, p)).collect(),
    };
    render(&page, CachePolicy::NoStore)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WishlistForm {
    csrf_token: String,
    slug: String,
    #[serde(default)]
    next: Option<String>,
}

async fn page_change(
    state: &AppState,
    ctx: &RequestContext,
    form: WishlistForm,
    add: bool,
) -> Result<Response, PageError> {
    let user = ctx.user.clone().ok_or(AppError::Unauthenticated)?;
    state
        .signing_key()
        .verify(ctx.csrf_cookie.as_deref(), Some(&form.csrf_token))?;
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
    ctx: RequestContext,
    PageForm(form): PageForm<WishlistForm>,
) -> Result<Response, PageError> {
    page_change(&state, &ctx, form, true).await
}

/// `POST /compte/envies/retirer`.
pub async fn page_remove(
    State(state): State<AppState>,
    ctx: RequestContext,
    PageForm(form): PageForm<WishlistForm>,
) -> Result<Response, PageError> {
    page_change(&state, &ctx, form, false).await
}
