//! Server-rendered pages: the home page, the favicon and robots.txt here; the layout, dates and error pages in
//! their own modules.

use askama::Template;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Redirect, Response};

use crate::AppState;
use crate::auth::RequestContext;
use crate::services::catalog;
use crate::store::{Category, ProductQuery};
use crate::web::{CachePolicy, set_cache_control};

mod dates;
mod errors;
mod layout;

pub use dates::*;
pub use errors::*;
pub use layout::*;

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage<'a> {
    layout: Layout<'a>,
    categories: std::sync::Arc<Vec<Category>>,
    cards: Vec<Card>,
}

pub async fn home(
    State(state): State<AppState>,
    ctx: RequestContext,
) -> Result<Response, PageError> {
    let featured = ProductQuery {
        featured: Some(true),
        limit: 8,
        ..ProductQuery::default()
    };
    let (categories, featured) = tokio::try_join!(
        catalog::categories(&state),
        catalog::list_products(&state, &featured)
    )?;
    let cards = featured
        .items
        .iter()
        .map(|p| Card::new(&state, p))
        .collect();
    let page = HomePage {
        layout: Layout::new(&state, &ctx, "VIVR - Décoration Intérieure Élégante"),
        categories,
        cards,
    };
    render(&page, CachePolicy::PrivatePage)
}

pub async fn favicon(State(state): State<AppState>) -> Response {
    Redirect::permanent(state.assets().url("favicon.svg")).into_response()
}

pub async fn robots() -> Response {
    let mut response =
        "User-agent: *\nAllow: /\nDisallow: /api/\nDisallow: /compte\nDisallow: /connexion\n"
            .into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    set_cache_control(&mut response, CachePolicy::PublicShort);
    response
}
