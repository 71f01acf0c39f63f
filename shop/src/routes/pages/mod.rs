//! Server-rendered pages: the home page and the favicon here; the layout, dates and error pages in
//! their own modules.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};

use crate::AppState;
use crate::auth::RequestContext;
use crate::services::catalog;
use crate::store::{Category, ProductQuery};
use crate::web::CachePolicy;

mod confirm;
mod dates;
mod errors;
mod form;
mod layout;
mod legal;
mod picture;
mod resend;

pub use confirm::*;
pub use dates::*;
pub use errors::*;
pub use form::*;
pub use layout::*;
pub use legal::legal;
pub use picture::Picture;

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
    let featured = catalog::list_products(&state, &featured).await?;
    let categories = ctx.menu_categories.clone();
    let cards = Card::grid(&state, &ctx, &featured.items);
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
