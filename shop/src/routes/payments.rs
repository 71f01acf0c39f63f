//! `POST /api/v1/stripe/webhook`: Stripe's event deliveries. The raw body is needed for the signature, so it is
//! read as bytes; the answer is 2xx once an event is applied, recognised as a duplicate, or deliberately ignored.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::error::AppError;
use crate::services::payments;

pub async fn webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    let outcome = payments::handle(&state, &body, signature).await?;
    Ok(
        axum::Json(serde_json::json!({ "received": true, "outcome": outcome.describe() }))
            .into_response(),
    )
}
