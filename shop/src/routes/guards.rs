//! Who may call a route, as extractors. A handler names what it needs in its signature — [`SignedIn`],
//! [`Admin`], [`CsrfHeader`] (cookie-authenticated API writes), [`ApiWriter`] (both of the first and the last), or
//! [`CsrfForm`] (page forms) — and axum runs them in that order, before the body is read: an anonymous request
//! is answered 401 whatever its body, a forged one 403, and only then is the body validated.
//!
//! Rejections speak the route's language: the JSON error under `/api/`, the error page (or the sign-in redirect)
//! elsewhere.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use super::extract::{form_from_pairs, form_pairs};
use super::pages::PageError;
use crate::AppState;
use crate::auth::{RequestContext, verify_api_csrf};
use crate::domain::Role;
use crate::error::{AppError, InvalidField};
use crate::store::User;
use crate::web::percent_decodes_to_nul;

/// A refusal, rendered for the API or for a page according to the request's path.
pub struct Refused {
    api: bool,
    error: AppError,
}

impl Refused {
    fn new(parts: &Parts, error: AppError) -> Self {
        Self::at(&parts.uri, error)
    }

    fn at(uri: &axum::http::Uri, error: AppError) -> Self {
        Refused {
            api: uri.path().starts_with("/api/"),
            error,
        }
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        if self.api {
            self.error.into_response()
        } else {
            PageError::from(self.error).into_response()
        }
    }
}

fn context(parts: &Parts) -> Result<&RequestContext, Refused> {
    parts.extensions.get::<RequestContext>().ok_or_else(|| {
        Refused::new(
            parts,
            AppError::Internal(anyhow::anyhow!("route is not behind the session layer")),
        )
    })
}

/// The signed-in customer (401 without a session; a page sends the visitor to sign in).
pub struct SignedIn(pub User);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Refused;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Refused> {
        match &context(parts)?.user {
            Some(user) => Ok(SignedIn(user.clone())),
            None => Err(Refused::new(parts, AppError::Unauthenticated)),
        }
    }
}

/// A signed-in administrator (401 without a session, 403 for anyone else).
pub struct Admin(pub User);

impl FromRequestParts<AppState> for Admin {
    type Rejection = Refused;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Refused> {
        let SignedIn(user) = SignedIn::from_request_parts(parts, state).await?;
        if user.role != Role::Admin {
            tracing::warn!(user = %user.id, "admin route refused to a non-admin");
            return Err(Refused::new(parts, AppError::Forbidden));
        }
        Ok(Admin(user))
    }
}

/// The `X-CSRF-Token` header matches the browser's CSRF cookie (403 otherwise): every write through the API
/// that a cookie authenticates.
pub struct CsrfHeader;

impl FromRequestParts<AppState> for CsrfHeader {
    type Rejection = Refused;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Refused> {
        let cookie = context(parts)?.csrf_cookie.clone();
        verify_api_csrf(state.signing_key(), cookie.as_deref(), &parts.headers)
            .map(|()| CsrfHeader)
            .map_err(|e| Refused::new(parts, e))
    }
}

/// A signed-in customer writing through the API: [`SignedIn`] then [`CsrfHeader`].
pub struct ApiWriter(pub User);

impl FromRequestParts<AppState> for ApiWriter {
    type Rejection = Refused;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Refused> {
        let SignedIn(user) = SignedIn::from_request_parts(parts, state).await?;
        CsrfHeader::from_request_parts(parts, state).await?;
        Ok(ApiWriter(user))
    }
}

/// A page form whose `csrf_token` field matches the browser's CSRF cookie (403 otherwise). The token is checked
/// before anything else in the form is read, and removed: `T` declares only the form's own fields.
pub struct CsrfForm<T>(pub T);

/// A form with no field of its own (sign-out, delete buttons).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoFields {}

impl<T: DeserializeOwned> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, PageError> {
        let cookie = req
            .extensions()
            .get::<RequestContext>()
            .and_then(|ctx| ctx.csrf_cookie.clone());
        let mut pairs = form_pairs(req, state).await?;
        let token = pairs
            .iter()
            .position(|(name, _)| name == "csrf_token")
            .map(|at| pairs.remove(at).1);
        state
            .signing_key()
            .verify(cookie.as_deref(), token.as_deref())?;
        Ok(CsrfForm(form_from_pairs(&pairs)?))
    }
}

/// A NUL character (`%00`) anywhere in the path or the query string is refused with 400 naming where it was:
/// no slug, id, search term or filter may carry one (PostgreSQL cannot store it in text, and nothing legitimate
/// sends it). Bodies are checked where they are parsed ([`ApiJson`](super::extract::ApiJson), forms).
pub async fn refuse_nul_characters(request: Request, next: axum::middleware::Next) -> Response {
    let uri = request.uri();
    let in_query = uri.query().and_then(|query| {
        query.split('&').find_map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decodes_to_nul(name) || percent_decodes_to_nul(value))
                .then(|| name.to_string())
        })
    });
    let error = match (percent_decodes_to_nul(uri.path()), in_query) {
        (true, _) => InvalidField::new("path", "contient un caractère nul (%00)"),
        (false, Some(name)) => InvalidField::new(
            "query",
            format!("le paramètre {name} contient un caractère nul (%00)"),
        ),
        (false, None) => return next.run(request).await,
    };
    Refused::at(uri, AppError::InvalidParameter(error)).into_response()
}
