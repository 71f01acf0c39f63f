//! One error type for every handler. API routes answer `{"error":{"code":"…","message":"…"}}` with the right
//! status; page routes render the error page (see `routes::pages`). Database and internal errors are logged with
//! the request id and shown as a generic 500 that reveals nothing.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::{FieldError, Rule, StockProblem};
use crate::store::StoreError;

mod rules;
mod services;
pub(crate) use rules::french as french_rule;
pub use services::PAYMENT_RETRY_LATER;

/// A field the customer got wrong, in their words: a [`FieldError`] worded by `rules.rs`, or a route's own
/// sentence about its request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InvalidField {
    pub field: &'static str,
    pub message: String,
}

impl InvalidField {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

impl From<FieldError> for InvalidField {
    fn from(err: FieldError) -> Self {
        Self::new(err.field, rules::french(&err.rule))
    }
}

impl From<FieldError> for AppError {
    fn from(err: FieldError) -> Self {
        AppError::Validation(err.into())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A parameter or body that cannot be understood at all (malformed JSON, unknown sort, non-numeric page).
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// A query-string parameter that is malformed or out of range; names the parameter.
    #[error("{0}")]
    InvalidParameter(InvalidField),
    /// A request body that is well-formed but breaks a rule; names the field.
    #[error("{0}")]
    Validation(InvalidField),
    #[error("Authentification requise")]
    Unauthenticated,
    #[error("Accès réservé aux administrateurs")]
    Forbidden,
    #[error(
        "Ce formulaire a expiré (la page est restée ouverte longtemps, ou le site a redémarré) : rien n'a été \
         enregistré. Revenez en arrière, rechargez la page et envoyez le formulaire de nouveau."
    )]
    Csrf,
    #[error("{0}")]
    NotFound(&'static str),
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("Corps de requête trop volumineux (maximum {limit} octets)")]
    PayloadTooLarge { limit: usize },
    #[error("Type de contenu non pris en charge: {expected} attendu")]
    UnsupportedMediaType { expected: &'static str },
    #[error("Trop de tentatives. Réessayez dans {}.", crate::error::rules::french_delay(.0.reset_secs))]
    TooManyRequests(crate::auth::Quota),
    #[error("Service momentanément indisponible")]
    Unavailable,
    /// Too many requests are being served at once (password hashing): retry in a second.
    #[error("Le service est très sollicité. Réessayez dans un instant.")]
    Busy,
    /// The payment provider failed or is not configured; the message says what the customer can do.
    #[error("{0}")]
    PaymentUnavailable(String),
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    /// A query-string parameter that broke a rule.
    pub fn invalid_parameter(err: FieldError) -> Self {
        AppError::InvalidParameter(err.into())
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        AppError::BadRequest {
            code,
            message: message.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest { .. } | AppError::InvalidParameter(_) => StatusCode::BAD_REQUEST,
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::Forbidden | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable | AppError::Busy | AppError::PaymentUnavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest { code, .. } | AppError::Conflict { code, .. } => code,
            AppError::InvalidParameter(_) => "invalid_parameter",
            AppError::Validation(_) => "validation_failed",
            AppError::Unauthenticated => "unauthenticated",
            AppError::Forbidden => "forbidden",
            AppError::Csrf => "csrf_failed",
            AppError::NotFound(_) => "not_found",
            AppError::PayloadTooLarge { .. } => "payload_too_large",
            AppError::UnsupportedMediaType { .. } => "unsupported_media_type",
            AppError::TooManyRequests(_) => "too_many_requests",
            AppError::Unavailable => "service_unavailable",
            AppError::Busy => "busy",
            AppError::PaymentUnavailable(_) => "payment_unavailable",
            AppError::Internal(_) => "internal_error",
        }
    }

    /// The text shown to the client: never the internal detail.
    pub fn public_message(&self) -> String {
        match self {
            AppError::Internal(_) => "Une erreur interne est survenue".to_string(),
            other => other.to_string(),
        }
    }

    /// Logs what the client is not shown. Called once, where the response is built.
    pub fn log(&self) {
        match self {
            AppError::Internal(err) => {
                tracing::error!(error = format!("{err:#}"), "request failed")
            }
            AppError::Unavailable => tracing::warn!("request failed: database unavailable"),
            _ => {}
        }
    }

    fn apply_headers(&self, response: &mut Response) {
        match self {
            AppError::TooManyRequests(quota) => quota.apply(response.headers_mut(), true),
            AppError::Unauthenticated => {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Cookie"));
            }
            AppError::Busy => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
    }
}

impl From<crate::auth::PasswordError> for AppError {
    fn from(err: crate::auth::PasswordError) -> Self {
        match err {
            crate::auth::PasswordError::Busy => AppError::Busy,
            other => AppError::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => AppError::NotFound("Ressource introuvable"),
            StoreError::Conflict(what) => AppError::Conflict {
                code: "conflict",
                message: format!("{what} déjà utilisé"),
            },
            StoreError::Stock(problem) => problem.into(),
            StoreError::Invalid(field) => FieldError::new(field, Rule::Unknown).into(),
            StoreError::Database(e) if database_unavailable(&e) => AppError::Unavailable,
            // Last resorts, for what validation should have caught first: a row another request still refers
            // to, and text PostgreSQL cannot store (a NUL character).
            StoreError::Database(e) if is_foreign_key_violation(&e) => AppError::Conflict {
                code: "in_use",
                message: "Cette ressource est utilisée ailleurs et ne peut pas être modifiée ainsi"
                    .into(),
            },
            StoreError::Database(e) if is_invalid_text(&e) => AppError::bad_request(
                "invalid_characters",
                "La requête contient des caractères non acceptés",
            ),
            StoreError::Database(e) => {
                AppError::Internal(anyhow::Error::new(e).context("database query"))
            }
        }
    }
}

/// The customer's words for a stock problem.
impl From<StockProblem> for AppError {
    fn from(problem: StockProblem) -> Self {
        let message = match &problem {
            StockProblem::Unavailable { product } => format!("« {product} » n'est plus proposé"),
            StockProblem::PriceChanged { product, price } => format!(
                "Le prix de « {product} » a changé ({}) : vérifiez votre panier avant de commander",
                price.display_fr()
            ),
            StockProblem::OutOfStock { product } => {
                format!("« {product} » est en rupture de stock")
            }
            StockProblem::Insufficient { product, available } => format!(
                "Stock insuffisant pour « {product} » : {available} exemplaire(s) disponible(s)"
            ),
        };
        AppError::Conflict {
            code: problem.code(),
            message,
        }
    }
}

fn is_foreign_key_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_foreign_key_violation())
}

/// PostgreSQL's "invalid byte sequence" (22021): a NUL character in text.
fn is_invalid_text(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.code().as_deref() == Some("22021"))
}

/// The database is down, restarting or unreachable (as opposed to a query that is wrong): the client may retry.
fn database_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
        // 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now, 08xxx connection exceptions.
        sqlx::Error::Database(db) => db.code().is_some_and(|c| {
            matches!(c.as_ref(), "57P01" | "57P02" | "57P03") || c.starts_with("08")
        }),
        _ => false,
    }
}

/// Every error the API answers, whatever its status.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorEnvelope<'a> {
    error: ErrorBody<'a>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody<'a> {
    /// Stable, for programs: `validation_failed`, `not_found`, `too_many_requests`, …
    code: &'a str,
    /// For the shopper, in French.
    message: String,
    /// The request field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

/// The JSON form, used by every `/api` route.
impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log();
        let field = match &self {
            AppError::Validation(e) | AppError::InvalidParameter(e) => Some(e.field),
            _ => None,
        };
        let mut response = error_json(self.status(), self.code(), self.public_message(), field);
        self.apply_headers(&mut response);
        response
    }
}

/// An error in the API's format, never stored by caches.
pub fn error_json(
    status: StatusCode,
    code: &str,
    message: String,
    field: Option<&str>,
) -> Response {
    let body = ErrorEnvelope {
        error: ErrorBody {
            code,
            message,
            field,
        },
    };
    let mut response = (status, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Response headers an error carries whatever its rendering (used by the HTML form too).
pub fn error_headers(err: &AppError, response: &mut Response) {
    err.apply_headers(response);
}
