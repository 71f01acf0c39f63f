//! The HTTP surface: one file per resource. Page handlers and `/api` handlers call the same services.

mod accounts;
mod addresses;
mod api;
mod audit;
mod cart;
mod catalog;
mod checkout;
mod extract;
mod guards;
mod health;
mod images;
mod lifecycle;
mod limited;
mod newsletter;
mod openapi;
mod orders;
mod pages;
mod payments;
mod reviews;
mod site;
mod wishlist;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::Request;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::AppState;
use crate::auth::{Policy, menu_layer, session_layer};
use crate::web::{
    REQUEST_ID, check_request_id, metrics_layer, panic_response, refuse_oversized_bodies,
    security_headers, static_asset,
};

/// The whole application. Pure: builds the router, does no I/O.
pub fn router(state: AppState) -> Router {
    let config = state.config();
    // The rate-limit layer a limited route wears (see `auth::rate_limit`).
    let limit = |policy: Policy| from_fn_with_state((state.clone(), policy), limited::enforce);
    let (api, mut document) = api::routes(&state).split_for_parts();
    openapi::finish(&mut document);
    let document = openapi::Document::new(&document);
    let api = api.layer(axum::middleware::from_fn(api::json_errors));
    let pages = Router::new()
        .route("/", get(pages::home))
        .route("/produits/{slug}", get(catalog::page_product))
        .route(
            "/produits/{slug}/avis",
            post(reviews::page_submit.layer(limit(Policy::Review))),
        )
        .route(
            "/produits/{slug}/avis/supprimer",
            post(reviews::page_delete),
        )
        .route(
            "/connexion",
            get(accounts::page_login).post(accounts::page_login_submit.layer(limit(Policy::Login))),
        )
        .route(
            "/inscription",
            get(accounts::page_register)
                .post(accounts::page_register_submit.layer(limit(Policy::Register))),
        )
        .route("/compte", get(accounts::page_account))
        .route(
            "/mot-de-passe/oublie",
            get(lifecycle::page_forgot)
                .post(lifecycle::page_forgot_submit.layer(limit(Policy::AccountLink))),
        )
        .route(
            "/mot-de-passe/nouveau",
            get(lifecycle::page_reset).post(lifecycle::page_reset_submit),
        )
        .route(
            "/compte/profil",
            get(lifecycle::page_profile)
                .post(lifecycle::page_profile_submit.layer(limit(Policy::AccountLink))),
        )
        .route(
            "/compte/mot-de-passe",
            get(lifecycle::page_password).post(lifecycle::page_password_submit),
        )
        .route(
            "/compte/email/confirmer",
            get(lifecycle::page_email_link).post(lifecycle::page_email_confirm),
        )
        .route("/compte/donnees", get(lifecycle::page_export))
        .route(
            "/compte/activer",
            get(lifecycle::page_activation_link).post(lifecycle::page_activate),
        )
        .route(
            "/compte/supprimer",
            get(lifecycle::page_delete).post(lifecycle::page_delete_submit),
        )
        .route("/panier", get(cart::page_cart))
        .route("/panier/ajouter", post(cart::page_add))
        .route("/panier/modifier", post(cart::page_set))
        .route("/panier/retirer", post(cart::page_remove))
        .route("/panier/vider", post(cart::page_clear))
        .route("/deconnexion", post(accounts::page_logout))
        .route(
            "/commande",
            get(checkout::page_checkout)
                .post(checkout::page_checkout_submit.layer(limit(Policy::Checkout))),
        )
        .route("/commande/{number}/paiement", get(checkout::page_payment))
        .route("/compte/commandes", get(orders::page_orders))
        .route("/compte/commandes/{number}", get(orders::page_order))
        .route(
            "/compte/adresses",
            get(addresses::page_list).post(addresses::page_create),
        )
        .route("/compte/adresses/{id}", post(addresses::page_update))
        .route(
            "/compte/adresses/{id}/supprimer",
            post(addresses::page_delete),
        )
        .route("/compte/envies", get(wishlist::page_list))
        .route("/compte/envies/ajouter", post(wishlist::page_add))
        .route("/compte/envies/retirer", post(wishlist::page_remove))
        .route(
            "/newsletter",
            post(newsletter::page_subscribe.layer(limit(Policy::Newsletter))),
        )
        .route(
            "/newsletter/desinscription",
            get(newsletter::page_unsubscribe_confirm).post(newsletter::page_unsubscribe),
        )
        .route(
            "/newsletter/confirmer",
            get(newsletter::page_confirm_link).post(newsletter::page_confirm),
        )
        // The legal pages (one handler: it reads which from the path).
        .route("/mentions-legales", get(pages::legal))
        .route("/cgv", get(pages::legal))
        .route("/confidentialite", get(pages::legal))
        .route("/cookies", get(pages::legal))
        .route("/livraison-retours", get(pages::legal))
        .route("/contact", get(pages::legal))
        .route("/admin/commandes", get(orders::page_admin_orders))
        .route("/admin/journal", get(audit::page_journal))
        .route("/admin/produits", get(catalog::page_admin_products))
        .route(
            "/admin/produits/nouveau",
            get(catalog::page_admin_new_product).post(catalog::page_admin_create_product),
        )
        .route(
            "/admin/produits/{slug}",
            get(catalog::page_admin_product).post(catalog::page_admin_update_product),
        )
        .route(
            "/admin/produits/{slug}/stock",
            post(catalog::page_admin_stock),
        )
        .route(
            "/admin/produits/{slug}/archiver",
            post(catalog::page_admin_archive_product),
        )
        .route(
            "/admin/categories",
            get(catalog::page_admin_categories).post(catalog::page_admin_create_category),
        )
        .route(
            "/admin/categories/{slug}",
            get(catalog::page_admin_category).post(catalog::page_admin_update_category),
        )
        .route(
            "/admin/categories/{slug}/supprimer",
            post(catalog::page_admin_delete_category),
        )
        .route(
            "/admin/images",
            get(images::page_images)
                .post(images::page_upload.layer(DefaultBodyLimit::max(upload_body_limit(config)))),
        )
        .route(
            "/admin/commandes/{number}/statut",
            post(orders::page_admin_move),
        );
    // The listing pages read the menu's categories with their listing (`catalog::listing_page`); every other
    // page has them put into its request context first.
    let pages = pages.layer(from_fn_with_state(state.clone(), menu_layer));
    let listings = Router::new()
        .route("/produits", get(catalog::page_catalogue))
        .route("/categories/{slug}", get(catalog::page_category))
        .route("/recherche", get(catalog::page_search))
        .route("/nouveautes", get(catalog::page_new_arrivals))
        .route("/promotions", get(catalog::page_promotions));
    let with_sessions = api
        .merge(pages)
        .merge(listings)
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn(guards::refuse_nul_characters))
        .layer(from_fn_with_state(state.clone(), pages::render_error_pages))
        .layer(from_fn_with_state(state.clone(), session_layer))
        .layer(DefaultBodyLimit::max(config.max_body_bytes));

    let mut app = Router::new()
        .route(
            "/api/openapi.json",
            get(move |headers: axum::http::HeaderMap| async move { document.respond(&headers) }),
        )
        .route("/api/health", get(health::ready))
        .route("/api/health/live", get(health::live))
        .route("/static/{file}", get(static_asset))
        .route("/images/{id}/{file}", get(images::serve_image))
        .route("/favicon.ico", get(pages::favicon))
        .route("/robots.txt", get(site::robots))
        .route("/sitemap.xml", get(site::sitemap_index))
        .route("/sitemaps/{file}", get(site::sitemap_file))
        .route("/.well-known/security.txt", get(site::security_txt));
    if config.metrics_on_public_listener {
        app = app.route("/metrics", get(health::metrics));
    }
    let timeout = config.request_timeout;
    // Outermost last. Security headers and metrics sit outside the timeout and the panic catcher, so a 408 or a
    // 500 from a panic carries the same headers and is counted like any other answer.
    app.merge(with_sessions)
        .route_layer(axum::middleware::from_fn(record_route))
        .layer(CompressionLayer::new().gzip(true).br(true))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, timeout))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(from_fn_with_state(state.clone(), refuse_oversized_bodies))
        .layer(from_fn_with_state(state.clone(), metrics_layer))
        .layer(from_fn_with_state(state.clone(), security_headers))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
            let id = request.extensions().get::<RequestId>().and_then(|id| id.header_value().to_str().ok()).unwrap_or("-");
            // The route and the status are recorded as the request goes (`record_route`), for error reports and traces.
            tracing::info_span!("request", request_id = %id, method = %request.method(), path = %request.uri().path(),
                route = tracing::field::Empty, http.response.status_code = tracing::field::Empty)
        }))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(axum::middleware::from_fn(check_request_id))
        .with_state(state)
}

/// Names the matched route (`/produits/{slug}`, not the path a visitor typed) on the request's span, and its
/// status once answered, for error reports and traces.
async fn record_route(
    route: axum::extract::MatchedPath,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let span = tracing::Span::current();
    span.record("route", route.as_str());
    let response = next.run(request).await;
    span.record("http.response.status_code", response.status().as_u16());
    response
}

/// A personal API answer, `{"data": …}`, never stored by caches.
fn personal_data(
    status: axum::http::StatusCode,
    value: impl serde::Serialize,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut response = (status, axum::Json(openapi::Data { data: value })).into_response();
    crate::web::set_cache_control(&mut response, crate::web::CachePolicy::NoStore);
    response
}

/// The largest body the upload form may send: the file, and the form around it.
pub(crate) fn upload_body_limit(config: &crate::ShopConfig) -> usize {
    config.max_image_bytes.saturating_add(64 * 1024)
}

/// A separate router for `/metrics`, when metrics get their own (private) listener.
pub fn admin_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(health::metrics))
        .with_state(state)
}
