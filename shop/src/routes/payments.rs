//! `POST /api/v1/stripe/webhook`: Stripe's event deliveries. The raw body is needed for the signature, so it is
//! read as bytes; the answer is 2xx once an event is applied, recognised as a duplicate, or deliberately ignored.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::error::AppError;
use crate::services::payments;

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct WebhookAnswer {
    received: bool,
    /// What the event did, for the logs of whoever sent it: `applied: …`, `duplicate: …`, `ignored: …`
    outcome: String,
}

#[utoipa::path(post, operation_id = "stripeWebhook", path = "/api/v1/stripe/webhook", tag = "payments",
    params(("Stripe-Signature" = String, Header, description = "Stripe's signature of the body, checked with the endpoint's secret")),
    request_body(description = "A Stripe event, as Stripe sends it", content(("application/json"))),
    responses((status = 200, description = "Applied, recognised as a duplicate, or deliberately ignored", body = WebhookAnswer)))]
pub async fn webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    let outcome = payments::handle(&state, &body, signature).await?;
    Ok(axum::Json(WebhookAnswer {
        received: true,
        outcome: outcome.describe(),
    })
    .into_response())
}
