//! Body extractors whose rejections speak the shop's error format: JSON for the API (400 malformed, 413 too
//! large, 415 wrong content type, 422 wrong shape), the error page for forms.

use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::extract::{Form, FromRequest, Json, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::domain::FieldError;
use crate::error::AppError;

pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(AppError::UnsupportedMediaType {
                expected: "application/json",
            }),
            Err(JsonRejection::JsonSyntaxError(e)) => Err(AppError::bad_request(
                "malformed_json",
                format!("JSON invalide : {}", e.body_text()),
            )),
            Err(JsonRejection::JsonDataError(e)) => {
                Err(AppError::Validation(FieldError::new("body", e.body_text())))
            }
            Err(JsonRejection::BytesRejection(e))
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                Err(AppError::PayloadTooLarge {
                    limit: state.config().max_body_bytes,
                })
            }
            Err(other) => Err(AppError::bad_request("bad_request", other.body_text())),
        }
    }
}

/// A urlencoded form from a page. Rejections carry the same statuses as the API's.
pub struct PageForm<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for PageForm<T> {
    type Rejection = super::pages::PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        match Form::<T>::from_request(req, state).await {
            Ok(Form(value)) => Ok(PageForm(value)),
            Err(FormRejection::InvalidFormContentType(_)) => Err(AppError::UnsupportedMediaType {
                expected: "application/x-www-form-urlencoded",
            }
            .into()),
            Err(FormRejection::BytesRejection(e))
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                Err(AppError::PayloadTooLarge {
                    limit: state.config().max_body_bytes,
                }
                .into())
            }
            Err(other) => Err(AppError::bad_request("bad_form", other.body_text()).into()),
        }
    }
}

/// Refuses a body or form that carries fields the handler does not read (a price or a quantity slipped into a
/// checkout form): for types that flatten another and cannot use `deny_unknown_fields`.
pub fn refuse_unknown<V>(unknown: &std::collections::BTreeMap<String, V>) -> Result<(), AppError> {
    match unknown.keys().next() {
        None => Ok(()),
        Some(name) => Err(AppError::Validation(FieldError::new(
            "body",
            format!("champ non accepté : {name}"),
        ))),
    }
}
