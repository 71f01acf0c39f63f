//! A form sent back: when a page form meets an expired token (a tab left open, a restart) or has to wait (too
//! many attempts, the server busy), its error page carries the form again, with what was typed and a fresh
//! token, so that nothing typed is lost. Passwords are never written into a page: they are asked again.
//!
//! Only a form the shop's own page sent is offered again (`Sec-Fetch-Site: same-origin`, which browsers set and
//! pages cannot forge): a form posted from another site is refused by its token, and must not come back filled
//! with that site's values and a valid token, one click from being sent.

use axum::body::Body;
use axum::body::Bytes;
use axum::extract::Request;
use axum::http::Method;
use axum::response::{IntoResponse, Response};

use super::errors::field_label;
use crate::AppState;
use crate::error::AppError;
use crate::routes::extract::has_content_type;

/// A page form's body, kept while its handler runs.
pub struct SentForm {
    action: String,
    body: Bytes,
}

/// Reads a page form's body (a urlencoded POST outside the API) and hands the request on with the same bytes.
/// Anything else passes untouched. A body that cannot be read is answered as the form extractor would.
pub async fn keep_form(
    request: Request,
    state: &AppState,
) -> Result<(Request, Option<SentForm>), Response> {
    let is_page_form = request.method() == Method::POST
        && !request.uri().path().starts_with("/api/")
        && request
            .headers()
            .get("sec-fetch-site")
            .is_some_and(|site| site == "same-origin")
        && has_content_type(&request, "application/x-www-form-urlencoded");
    if !is_page_form {
        return Ok((request, None));
    }
    let action = request
        .uri()
        .path_and_query()
        .map_or_else(|| request.uri().path().to_string(), ToString::to_string);
    let limit = state.config().max_body_bytes;
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, limit).await.map_err(|err| {
        let too_large = std::error::Error::source(&err)
            .is_some_and(|e| e.is::<http_body_util::LengthLimitError>());
        let error = if too_large {
            AppError::PayloadTooLarge { limit }
        } else {
            AppError::bad_request("bad_request", "Le formulaire n'a pas pu être lu")
        };
        super::PageError::from(error).into_response()
    })?;
    let request = Request::from_parts(parts, Body::from(body.clone()));
    Ok((request, Some(SentForm { action, body })))
}

/// The form again, for the error page.
pub struct Resend {
    /// Where the form goes (the path and query it was sent to).
    pub action: String,
    /// Every field as it was sent, but the token and the passwords: hidden inputs.
    pub kept: Vec<(String, String)>,
    /// What the shopper typed, by its French label, to read before sending again.
    pub shown: Vec<(&'static str, String)>,
    /// The password fields to type again: `(name, label)`.
    pub retype: Vec<(String, &'static str)>,
}

impl Resend {
    pub fn of(sent: &SentForm) -> Self {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_bytes(&sent.body).unwrap_or_default();
        let mut resend = Resend {
            action: sent.action.clone(),
            kept: Vec::new(),
            shown: Vec::new(),
            retype: Vec::new(),
        };
        for (name, value) in pairs {
            if name == "csrf_token" || name.contains('\0') || value.contains('\0') {
                continue;
            }
            if name.contains("password") {
                let label = field_label(&name).unwrap_or("Mot de passe");
                if !resend.retype.iter().any(|(n, _)| *n == name) {
                    resend.retype.push((name, label));
                }
                continue;
            }
            if let Some(label) = field_label(&name).filter(|_| !value.trim().is_empty()) {
                resend.shown.push((label, value.clone()));
            }
            resend.kept.push((name, value));
        }
        resend
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_every_field_but_the_token_and_asks_passwords_again() {
        let sent = SentForm {
            action: "/connexion?next=%2Fpanier".into(),
            body: Bytes::from_static(
                b"csrf_token=old&email=lou%40vivr.fr&password=secret&next=%2Fpanier&city=&x=%00",
            ),
        };
        let resend = Resend::of(&sent);
        assert_eq!(resend.action, "/connexion?next=%2Fpanier");
        assert_eq!(
            resend.kept,
            [
                ("email".to_string(), "lou@vivr.fr".to_string()),
                ("next".to_string(), "/panier".to_string()),
                ("city".to_string(), String::new()),
            ]
        );
        assert_eq!(resend.shown, [("Email", "lou@vivr.fr".to_string())]);
        assert_eq!(resend.retype, [("password".to_string(), "Mot de passe")]);
    }
}
