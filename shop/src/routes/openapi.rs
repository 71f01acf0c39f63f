//! The API's OpenAPI 3.1 document, at `/api/openapi.json`.
//!
//! Each `/api/v1` handler carries its operation (`#[utoipa::path]`) and is registered with `utoipa_axum::routes!`,
//! which adds the route and its operation together: a route the document does not describe cannot exist. The
//! request and response bodies are the types the handlers read and write (`ToSchema`). What every operation shares
//! is added here: the error envelope as each operation's `default` answer, and the two security schemes.

use axum::http::HeaderMap;
use axum::response::Response;
use serde::Serialize;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::{ContentBuilder, RefOr, ResponseBuilder};
use utoipa::{OpenApi, ToSchema};

use crate::error::ErrorEnvelope;

use crate::error::AppError;
use crate::web::{CachePolicy, json_with_etag, set_cache_control};

/// The session cookie's scheme name, as operations cite it in `security(...)`.
pub const SESSION: &str = "session";
/// The CSRF header's scheme name: every cookie-authenticated write sends it too.
pub const CSRF: &str = "csrf";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "VIVR",
        description = "The VIVR shop's JSON API: the catalogue, accounts, the cart, checkout, orders, reviews, \
the wishlist, addresses and the newsletter. Amounts are integers in euro cents; times are RFC 3339 in UTC. \
Every error is `{\"error\": {\"code\", \"message\", \"field\"?}}`, its message in French, meant for the shopper.\n\n\
Signed-in calls carry the session cookie that `POST /api/v1/auth/login` sets. Writes authenticated by a cookie \
also carry `X-CSRF-Token`, whose value `GET /api/v1/auth/session` gives (it sets the CSRF cookie it pairs with).",
        license(name = "MIT", identifier = "MIT"),
    ),
    components(schemas(ErrorEnvelope)),
    tags(
        (name = "catalogue", description = "Categories and products: public reads, administrators' writes"),
        (name = "accounts", description = "Registration, sign-in, the session, and the account's own data"),
        (name = "cart", description = "The cart, for visitors and customers alike"),
        (name = "checkout", description = "Quotes and orders placed"),
        (name = "orders", description = "A customer's orders, and the administrators' view of all"),
        (name = "reviews", description = "Product reviews"),
        (name = "wishlist", description = "A customer's wishlist"),
        (name = "addresses", description = "A customer's address book"),
        (name = "newsletter", description = "Subscriptions, confirmed by email"),
        (name = "admin", description = "The audit journal and product photos"),
        (name = "payments", description = "Stripe's webhook"),
    )
)]
pub(super) struct ApiDoc;

/// `{"data": …}`: how an answer that carries a resource wraps it.
#[derive(Serialize, ToSchema)]
pub struct Data<T> {
    pub data: T,
}

/// What every operation shares, added once the routes have added theirs: the security schemes, and the error
/// envelope as each operation's `default` answer.
pub(super) fn finish(openapi: &mut utoipa::openapi::OpenApi) {
    let components = openapi.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        SESSION,
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
            "__Host-vivr_session",
            "The session `POST /api/v1/auth/login` opens (`vivr_session` when the shop is served over plain \
HTTP, in development).",
        ))),
    );
    components.add_security_scheme(
        CSRF,
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "X-CSRF-Token",
            "The token `GET /api/v1/auth/session` gives, paired with the CSRF cookie it sets.",
        ))),
    );
    let error = ResponseBuilder::new()
        .description(
            "The error: its code, a sentence for the shopper, and the field at fault if any",
        )
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                    "ErrorEnvelope",
                ))))
                .build(),
        )
        .build();
    for item in openapi.paths.paths.values_mut() {
        for operation in operations(item) {
            operation
                .responses
                .responses
                .entry("default".to_string())
                .or_insert_with(|| RefOr::T(error.clone()));
        }
    }
}

fn operations(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.patch.as_mut(),
    ]
    .into_iter()
    .flatten()
}

/// The document, serialised once (`None` if that failed: said in the log at start, and a 500 for each request).
#[derive(Clone)]
pub(super) struct Document(Option<std::sync::Arc<Vec<u8>>>);

impl Document {
    pub(super) fn new(openapi: &utoipa::openapi::OpenApi) -> Self {
        match serde_json::to_vec_pretty(openapi) {
            Ok(bytes) => Document(Some(std::sync::Arc::new(bytes))),
            Err(err) => {
                tracing::error!(error = %err, "the OpenAPI document could not be serialised");
                Document(None)
            }
        }
    }

    pub(super) fn respond(&self, headers: &HeaderMap) -> Result<Response, AppError> {
        let bytes = self.0.as_ref().ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!(
                "the OpenAPI document could not be serialised"
            ))
        })?;
        let mut response = json_with_etag(headers, bytes.to_vec());
        set_cache_control(&mut response, CachePolicy::PublicShort);
        Ok(response)
    }
}

/// A sentence for the person who asked.
#[derive(Serialize, ToSchema)]
pub struct Message {
    pub message: &'static str,
}
