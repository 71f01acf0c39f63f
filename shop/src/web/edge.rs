//! What every request meets at the edge, before any route: an incoming `X-Request-Id` kept only when it is a plain
//! token, a declared body larger than the limit refused at once, and the answers given when a handler panics.

use axum::extract::{Request, State};
use axum::http::header::{CONNECTION, CONTENT_LENGTH};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::error::AppError;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// `[A-Za-z0-9._-]{1,64}`: what a request id from a client or a proxy may look like. Anything else (spaces,
/// quotes, newlines, a JSON fragment) would let the client write its own fields into the logs: it is dropped and
/// the server makes its own.
pub fn is_acceptable_request_id(value: &[u8]) -> bool {
    (1..=64).contains(&value.len())
        && value
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Drops every `X-Request-Id` unless there is exactly one and it is acceptable.
pub async fn check_request_id(mut request: Request, next: Next) -> Response {
    let ids = request.headers().get_all(&REQUEST_ID);
    let mut values = ids.iter();
    let keep = match (values.next(), values.next()) {
        (Some(only), None) => is_acceptable_request_id(only.as_bytes()),
        (None, _) => true,
        _ => false,
    };
    if !keep {
        request.headers_mut().remove(&REQUEST_ID);
    }
    next.run(request).await
}

/// A request whose `Content-Length` is above the limit is answered 413 before its body is read (without this,
/// the body limit applies only as the body is read, and a client that declares 10 MB and sends nothing holds the
/// request until the timeout). The connection is closed: its unread body cannot be skipped.
pub async fn refuse_oversized_bodies(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let config = state.config();
    // Image uploads are the only larger bodies (their handlers set the same limit as they read).
    let limit = match request.uri().path() {
        "/api/v1/admin/images" => config.max_image_bytes,
        "/admin/images" => crate::routes::upload_body_limit(config),
        _ => config.max_body_bytes,
    };
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        let mut response = AppError::PayloadTooLarge { limit }.into_response();
        response
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
        return response;
    }
    next.run(request).await
}

/// Whether `text`, once percent-decoded, holds a NUL (`%00`; a raw NUL cannot reach here).
pub fn percent_decodes_to_nul(text: &str) -> bool {
    text.as_bytes().windows(3).any(|w| w == b"%00")
}

/// The answer when a handler panics: the shop's usual 500, with nothing of the panic in it (the panic is logged).
pub fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    AppError::Internal(anyhow::anyhow!("handler panicked: {detail}")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_found_wherever_it_is_encoded() {
        assert!(percent_decodes_to_nul("/produits/%00"));
        assert!(percent_decodes_to_nul("abc%00def"));
        assert!(!percent_decodes_to_nul("/produits/lampe%20100"));
        assert!(
            !percent_decodes_to_nul("%2500"),
            "an encoded percent sign followed by 00"
        );
    }

    #[test]
    fn request_ids_are_plain_tokens() {
        for good in [
            "abc",
            "0f6c1c3a-9b8e-4e0f-9f3e-2b9e1f0a7c11",
            "req_1.2",
            &"a".repeat(64),
        ] {
            assert!(is_acceptable_request_id(good.as_bytes()), "{good}");
        }
        for bad in [
            "",
            &"a".repeat(65),
            "a b",
            "a\"b",
            "x\nlevel=error",
            "{\"user\":\"admin\"}",
            "é",
        ] {
            assert!(!is_acceptable_request_id(bad.as_bytes()), "{bad:?}");
        }
    }
}
