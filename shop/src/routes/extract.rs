//! Body extractors whose rejections speak the shop's error format: JSON for the API (400 malformed, 413 too
//! large, 415 wrong content type, 422 wrong shape), the error page for forms.

use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Json, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::error::{AppError, InvalidField};

pub struct ApiJson<T>(pub T);

pub(super) fn has_content_type(req: &Request, expected: &str) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| {
            let mime = mime.trim();
            mime.eq_ignore_ascii_case(expected)
                || (expected == "application/json" && mime.to_ascii_lowercase().ends_with("+json"))
        })
}

/// The body's bytes, within the configured limit (413 beyond it).
async fn body_bytes(req: Request, state: &AppState) -> Result<Bytes, AppError> {
    Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge {
                limit: state.config().max_body_bytes,
            }
        } else {
            AppError::bad_request("bad_request", e.body_text())
        }
    })
}

/// The first string (or key) of a JSON document that holds a NUL character, as a path (`address.city`).
fn json_nul_at(value: &serde_json::Value, path: &str) -> Option<String> {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        serde_json::Value::String(text) => text.contains('\0').then(|| path.to_string()),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| json_nul_at(item, &join(&i.to_string()))),
        serde_json::Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            if key.contains('\0') {
                Some(join(key))
            } else {
                json_nul_at(item, &join(key))
            }
        }),
        _ => None,
    }
}

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        if !has_content_type(&req, "application/json") {
            return Err(AppError::UnsupportedMediaType {
                expected: "application/json",
            });
        }
        let bytes = body_bytes(req, state).await?;
        // A NUL can only arrive escaped (`\u0000`): look closer only when that text is there.
        if bytes.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000"))
            && let Ok(document) = serde_json::from_slice::<serde_json::Value>(&bytes)
            && let Some(at) = json_nul_at(&document, "")
        {
            return Err(AppError::Validation(InvalidField::new(
                "body",
                format!("le champ {at} contient un caractère nul"),
            )));
        }
        match Json::<T>::from_bytes(&bytes) {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(JsonRejection::JsonSyntaxError(e)) => Err(AppError::bad_request(
                "malformed_json",
                format!("JSON invalide : {}", e.body_text()),
            )),
            Err(JsonRejection::JsonDataError(e)) => Err(AppError::Validation(InvalidField::new(
                "body",
                e.body_text(),
            ))),
            Err(other) => Err(AppError::bad_request("bad_request", other.body_text())),
        }
    }
}

/// The name=value pairs of a urlencoded form body (415 for another content type, 413 beyond the limit).
pub(super) async fn form_pairs(
    req: Request,
    state: &AppState,
) -> Result<Vec<(String, String)>, AppError> {
    if !has_content_type(&req, "application/x-www-form-urlencoded") {
        return Err(AppError::UnsupportedMediaType {
            expected: "application/x-www-form-urlencoded",
        });
    }
    let bytes = body_bytes(req, state).await?;
    serde_urlencoded::from_bytes(&bytes)
        .map_err(|e| AppError::bad_request("bad_form", format!("Formulaire illisible : {e}")))
}

/// The form's own fields as `T`, after refusing any that holds a NUL character.
pub(super) fn form_from_pairs<T: DeserializeOwned>(
    pairs: &[(String, String)],
) -> Result<T, AppError> {
    if let Some((name, _)) = pairs
        .iter()
        .find(|(name, value)| name.contains('\0') || value.contains('\0'))
    {
        return Err(AppError::Validation(InvalidField::new(
            "form",
            format!("le champ {name} contient un caractère nul"),
        )));
    }
    let encoded = serde_urlencoded::to_string(pairs)
        .map_err(|e| AppError::bad_request("bad_form", e.to_string()))?;
    serde_urlencoded::from_str::<T>(&encoded).map_err(|e| {
        AppError::bad_request("bad_form", format!("Failed to deserialize form body: {e}"))
    })
}

/// A urlencoded form from a page. Rejections carry the same statuses as the API's.
pub struct PageForm<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for PageForm<T> {
    type Rejection = super::pages::PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let pairs = form_pairs(req, state).await?;
        Ok(PageForm(form_from_pairs(&pairs)?))
    }
}

/// Refuses a body or form that carries fields the handler does not read (a price or a quantity slipped into a
/// checkout form): for types that flatten another and cannot use `deny_unknown_fields`.
pub fn refuse_unknown<V>(unknown: &std::collections::BTreeMap<String, V>) -> Result<(), AppError> {
    match unknown.keys().next() {
        None => Ok(()),
        Some(name) => Err(AppError::Validation(InvalidField::new(
            "body",
            format!("champ non accepté : {name}"),
        ))),
    }
}
