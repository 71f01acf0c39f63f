//! Server-rendered pages: the shared layout, product cards, the home page, and the error pages.

use askama::Template;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};

use crate::AppState;
use crate::auth::RequestContext;
use crate::error::{AppError, error_headers};
use crate::services::catalog;
use crate::store::{Category, Product, ProductQuery};
use crate::web::{CachePolicy, set_cache_control};

/// What every page's frame needs.
pub struct Layout<'a> {
    pub title: String,
    pub description: &'a str,
    pub user_name: Option<&'a str>,
    pub csrf_token: &'a str,
    pub nonce: &'a str,
    pub css: &'a str,
    pub favicon: &'a str,
    pub search: &'a str,
    /// Items in the visitor's cart, for the header's mini-cart.
    pub cart_count: i64,
}

const DEFAULT_DESCRIPTION: &str =
    "VIVR, décoration intérieure élégante : luminaires, mobilier, textile et accessoires.";

impl<'a> Layout<'a> {
    pub fn new(state: &'a AppState, ctx: &'a RequestContext, title: impl Into<String>) -> Self {
        Layout {
            title: title.into(),
            description: DEFAULT_DESCRIPTION,
            user_name: ctx.user.as_ref().map(|u| u.display_name()),
            csrf_token: &ctx.csrf_token,
            nonce: &ctx.nonce,
            css: state.assets().url("app.css"),
            favicon: state.assets().url("favicon.svg"),
            search: "",
            cart_count: ctx.cart_count,
        }
    }

    /// The frame for error pages rendered without a request context.
    fn bare(state: &'a AppState, title: impl Into<String>) -> Self {
        Layout {
            title: title.into(),
            description: DEFAULT_DESCRIPTION,
            user_name: None,
            csrf_token: "",
            nonce: "",
            css: state.assets().url("app.css"),
            favicon: state.assets().url("favicon.svg"),
            search: "",
            cart_count: 0,
        }
    }
}

/// A product as a card in a grid.
pub struct Card {
    pub slug: String,
    pub name: String,
    pub image: String,
    pub price: String,
    pub compare_price: Option<String>,
    pub discount: Option<i64>,
    pub rating: Option<String>,
    pub in_stock: bool,
}

pub fn rating_text(product: &Product) -> Option<String> {
    (product.rating_count > 0).then(|| {
        format!(
            "{:.1}/5 ({} avis)",
            product.rating_average(),
            product.rating_count
        )
        .replace('.', ",")
    })
}

impl Card {
    pub fn new(state: &AppState, product: &Product) -> Self {
        Card {
            slug: product.slug.clone(),
            name: product.name.clone(),
            image: product
                .images
                .first()
                .cloned()
                .unwrap_or_else(|| state.assets().url("placeholder.svg").to_string()),
            price: product.price.display_fr(),
            compare_price: product
                .discount_percent()
                .and(product.compare_price)
                .map(|c| c.display_fr()),
            discount: product.discount_percent(),
            rating: rating_text(product),
            in_stock: product.stock > 0,
        }
    }
}

const MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// `15 janvier 2024`, as the original shop wrote dates.
/// An error as a form shows it: a broken rule names its field in French ("Code postal : format invalide").
pub fn form_error_text(err: &AppError) -> String {
    let AppError::Validation(e) = err else {
        return err.public_message();
    };
    let label = match e.field {
        "rating" => "Note",
        "title" => "Titre",
        "comment" => "Commentaire",
        "email" => "Email",
        "password" => "Mot de passe",
        "name" | "last_name" => "Nom",
        "first_name" => "Prénom",
        "label" => "Nom de l'adresse",
        "street" => "Adresse",
        "apartment" => "Complément d'adresse",
        "city" => "Ville",
        "postal_code" => "Code postal",
        "country" => "Pays",
        "phone" => "Téléphone",
        "method" | "shipping_method" => "Mode de livraison",
        "address_id" => "Adresse enregistrée",
        "quantity" => "Quantité",
        other => other,
    };
    format!("{label} : {}", e.message)
}

/// The French name of a month, from 0 (janvier).
fn month_fr(month0: u32) -> &'static str {
    MONTHS.get(month0 as usize).copied().unwrap_or("")
}

/// `1 décembre 2026`: the day in Paris of a stored UTC time.
pub fn french_date(utc: chrono::NaiveDateTime) -> String {
    use chrono::Datelike;
    let t = crate::domain::time::in_paris(utc);
    format!("{} {} {}", t.day(), month_fr(t.month0()), t.year())
}

/// `janvier 2024`, in Paris.
pub fn french_month_year(utc: chrono::NaiveDateTime) -> String {
    use chrono::Datelike;
    let t = crate::domain::time::in_paris(utc);
    format!("{} {}", month_fr(t.month0()), t.year())
}

/// Renders a template into a page response with the given cache policy.
pub fn render(template: &impl Template, policy: CachePolicy) -> Result<Response, PageError> {
    let html = template
        .render()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("template rendering failed: {e}")))?;
    let mut response = Html(html).into_response();
    set_cache_control(&mut response, policy);
    Ok(response)
}

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

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: Layout<'a>,
    heading: &'a str,
    message: String,
}

/// What an error page shows; carried from a failed page handler to [`render_error_pages`], which has the request
/// context to draw the full layout.
#[derive(Debug, Clone)]
pub struct ErrorPageInfo {
    status: StatusCode,
    message: String,
}

impl ErrorPageInfo {
    fn of(err: &AppError) -> Self {
        ErrorPageInfo {
            status: err.status(),
            message: err.public_message(),
        }
    }
}

fn error_page(state: &AppState, ctx: Option<&RequestContext>, info: &ErrorPageInfo) -> Response {
    let status = info.status;
    let heading = match status {
        StatusCode::NOT_FOUND => "Page introuvable",
        StatusCode::FORBIDDEN => "Accès refusé",
        StatusCode::TOO_MANY_REQUESTS => "Trop de tentatives",
        StatusCode::SERVICE_UNAVAILABLE => "Service momentanément indisponible",
        s if s.is_server_error() => "Une erreur est survenue",
        _ => "Requête invalide",
    };
    let message = match status {
        StatusCode::NOT_FOUND => "La page que vous cherchez n'existe pas ou plus.".to_string(),
        s if s.is_server_error() => {
            "Nous n'avons pas pu afficher cette page. Réessayez dans un instant.".to_string()
        }
        _ => info.message.clone(),
    };
    let layout = match ctx {
        Some(ctx) => Layout::new(state, ctx, heading),
        None => Layout::bare(state, heading),
    };
    let page = ErrorPage {
        layout,
        heading,
        message,
    };
    let mut response = match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "error page failed to render");
            (status, heading.to_string()).into_response()
        }
    };
    set_cache_control(&mut response, CachePolicy::NoStore);
    response
}

/// An error from a page handler: rendered as the French error page (sign-in required becomes a redirect to the
/// sign-in page).
pub struct PageError(AppError);

impl From<AppError> for PageError {
    fn from(error: AppError) -> Self {
        PageError(error)
    }
}

impl From<crate::store::StoreError> for PageError {
    fn from(error: crate::store::StoreError) -> Self {
        PageError(error.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        self.0.log();
        if matches!(self.0, AppError::Unauthenticated) {
            return Redirect::to("/connexion").into_response();
        }
        let info = ErrorPageInfo::of(&self.0);
        let mut response = info.status.into_response();
        error_headers(&self.0, &mut response);
        response.extensions_mut().insert(info);
        response
    }
}

/// Turns the marker left by [`PageError`] into the full error page, drawn with the request's context.
pub async fn render_error_pages(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let ctx = request.extensions().get::<RequestContext>().cloned();
    let response = next.run(request).await;
    let Some(info) = response.extensions().get::<ErrorPageInfo>().cloned() else {
        return response;
    };
    let mut page = error_page(&state, ctx.as_ref(), &info);
    let carried = crate::auth::Quota::HEADERS
        .into_iter()
        .chain([axum::http::header::WWW_AUTHENTICATE.as_str()]);
    for name in carried {
        if let Some(v) = response.headers().get(name) {
            page.headers_mut()
                .insert(axum::http::HeaderName::from_static(name), v.clone());
        }
    }
    page
}

/// Unknown paths: the JSON envelope under `/api`, the 404 page elsewhere.
pub async fn not_found(State(state): State<AppState>, ctx: RequestContext, uri: Uri) -> Response {
    let err = AppError::NotFound(if uri.path().starts_with("/api/") {
        "Route inconnue"
    } else {
        "Page introuvable"
    });
    if uri.path().starts_with("/api/") {
        return err.into_response();
    }
    error_page(&state, Some(&ctx), &ErrorPageInfo::of(&err))
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
