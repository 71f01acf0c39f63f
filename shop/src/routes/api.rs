//! The `/api/v1` routes. Each is registered through `routes!`, which takes the route and the operation from the
//! handler's own `#[utoipa::path]`: the router and the OpenAPI document come out of this one list.

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use utoipa::OpenApi;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use super::openapi::ApiDoc;
use super::{
    accounts, addresses, audit, cart, catalog, checkout, images, lifecycle, limited, newsletter,
    orders, payments, reviews, wishlist,
};
use crate::AppState;
use crate::auth::Policy;

pub(super) fn routes(state: &AppState) -> OpenApiRouter<AppState> {
    // The rate-limit layer a limited route wears (see `auth::rate_limit`).
    let limit = |policy: Policy| from_fn_with_state((state.clone(), policy), limited::enforce);
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(
            catalog::api_categories,
            catalog::api_create_category
        ))
        .routes(routes!(
            catalog::api_category,
            catalog::api_update_category,
            catalog::api_delete_category
        ))
        .routes(routes!(catalog::api_products, catalog::api_create_product))
        .routes(routes!(
            catalog::api_product,
            catalog::api_update_product,
            catalog::api_delete_product
        ))
        .routes(routes!(accounts::api_register).layer(limit(Policy::Register)))
        .routes(routes!(accounts::api_login).layer(limit(Policy::Login)))
        .routes(routes!(accounts::api_logout))
        .routes(routes!(accounts::api_activate))
        .routes(routes!(accounts::api_session))
        .routes(routes!(lifecycle::api_forgot).layer(limit(Policy::AccountLink)))
        .routes(routes!(lifecycle::api_reset))
        .routes(routes!(lifecycle::api_profile).layer(limit(Policy::AccountLink)))
        .routes(routes!(lifecycle::api_delete))
        .routes(routes!(lifecycle::api_password))
        .routes(routes!(lifecycle::api_email_confirm))
        .routes(routes!(lifecycle::api_export))
        .routes(routes!(cart::api_cart, cart::api_clear))
        .routes(routes!(cart::api_add))
        .routes(routes!(cart::api_set, cart::api_remove))
        .routes(routes!(checkout::api_checkout).layer(limit(Policy::Checkout)))
        .routes(routes!(checkout::api_quote))
        .routes(routes!(orders::api_orders))
        .routes(routes!(orders::api_order))
        .routes(routes!(orders::api_admin_orders))
        .routes(routes!(orders::api_admin_move))
        .routes(routes!(audit::api_audit))
        .routes(routes!(images::api_list))
        .routes(
            routes!(images::api_upload)
                .layer(DefaultBodyLimit::max(state.config().max_image_bytes)),
        )
        .routes(routes!(addresses::api_list, addresses::api_create))
        .routes(routes!(addresses::api_update, addresses::api_delete))
        .routes(routes!(reviews::api_list))
        .routes(routes!(reviews::api_submit).layer(limit(Policy::Review)))
        .routes(routes!(reviews::api_mine, reviews::api_delete))
        .routes(routes!(wishlist::api_list))
        .routes(routes!(wishlist::api_add, wishlist::api_remove))
        .routes(routes!(newsletter::api_subscribe).layer(limit(Policy::Newsletter)))
        .routes(routes!(newsletter::api_unsubscribe))
        .routes(routes!(newsletter::api_confirm))
        .routes(routes!(payments::webhook))
}

/// Every `/api/v1` error in the API's JSON format, including those no handler wrote: an extractor's rejection (a
/// path segment that is not UTF-8, a query string that repeats a field), a method the route does not have, a body
/// over the upload limit. Their plain text becomes the envelope's message; their headers (`Allow`) stay.
pub(super) async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let detail = axum::body::to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let (code, said) = match status {
        StatusCode::BAD_REQUEST => ("bad_request", "Requête mal formée"),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "Cette méthode n'est pas acceptée sur cette route",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "payload_too_large",
            "Le corps de la requête est trop volumineux",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ("unsupported_media_type", "Type de contenu non accepté")
        }
        StatusCode::REQUEST_TIMEOUT => ("request_timeout", "La requête a pris trop de temps"),
        s if s.is_server_error() => ("internal_error", "Une erreur interne est survenue"),
        _ => ("error", "La requête n'a pas abouti"),
    };
    let message = if detail.is_empty() || status.is_server_error() {
        said.to_string()
    } else {
        format!("{said} : {detail}")
    };
    let answer = crate::error::error_json(status, code, message, None);
    parts.headers.remove(CONTENT_TYPE);
    parts.headers.remove(CONTENT_LENGTH);
    let (answer_parts, body) = answer.into_parts();
    parts.headers.extend(answer_parts.headers);
    Response::from_parts(parts, body)
}
