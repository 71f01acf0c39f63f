//! Server-side sessions. The browser holds a random token in an HttpOnly cookie; the database holds only its
//! SHA-256 ("Session"."sessionToken"), so a leaked table cannot be replayed. Sessions slide: each use pushes the
//! expiry out by the idle lifetime, up to an absolute lifetime from sign-in.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDateTime, TimeDelta, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::config::ShopConfig;
use crate::domain::Role;
use crate::error::AppError;
use crate::store::{CartOwner, NewSession, StoreResult, User};
use crate::web::CspNonce;

/// Cookie names. Outside development they carry the `__Host-` prefix, which browsers accept only with `Secure`,
/// `Path=/` and no `Domain`: a sibling subdomain cannot plant them.
#[derive(Debug, Clone, Copy)]
pub struct SessionCookies {
    pub session: &'static str,
    pub csrf: &'static str,
    /// An anonymous visitor's cart.
    pub cart: &'static str,
    secure: bool,
}

impl SessionCookies {
    pub fn for_config(config: &ShopConfig) -> Self {
        if config.secure_cookies() {
            SessionCookies {
                session: "__Host-vivr_session",
                csrf: "__Host-vivr_csrf",
                cart: "__Host-vivr_cart",
                secure: true,
            }
        } else {
            SessionCookies {
                session: "vivr_session",
                csrf: "vivr_csrf",
                cart: "vivr_cart",
                secure: false,
            }
        }
    }

    fn build(&self, name: &'static str, value: &str, max_age: Option<TimeDelta>) -> HeaderValue {
        // Values are base64url tokens: nothing in them needs quoting.
        let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
        if self.secure {
            cookie.push_str("; Secure");
        }
        if let Some(age) = max_age {
            cookie.push_str(&format!("; Max-Age={}", age.num_seconds().max(0)));
        }
        HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    pub fn session_cookie(&self, token: &str, lifetime: TimeDelta) -> HeaderValue {
        self.build(self.session, token, Some(lifetime))
    }

    pub fn clear_session_cookie(&self) -> HeaderValue {
        self.build(self.session, "", Some(TimeDelta::zero()))
    }

    /// A visitor's cart is kept 30 days after its last change.
    pub fn cart_cookie(&self, token: &str) -> HeaderValue {
        self.build(self.cart, token, Some(VISITOR_CART_LIFETIME))
    }

    pub fn clear_cart_cookie(&self) -> HeaderValue {
        self.build(self.cart, "", Some(TimeDelta::zero()))
    }

    /// The CSRF cookie lives as long as the browser session.
    pub fn csrf_cookie(&self, value: &str) -> HeaderValue {
        self.build(self.csrf, value, None)
    }
}

/// How long an anonymous visitor's cart (cookie and rows) is kept after its last change.
pub const VISITOR_CART_LIFETIME: TimeDelta = TimeDelta::days(30);

pub fn random_token() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// What every page and API handler knows about the request: the signed-in user, the CSRF cookie and token, and
/// the CSP nonce for inline scripts.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub user: Option<User>,
    pub session_hash: Option<String>,
    /// The SHA-256 of the visitor's cart cookie, when the browser has one.
    pub cart_token_hash: Option<String>,
    /// The visitor's cart cookie itself, to renew it when the cart changes (redacted in debug output).
    pub cart_token: Option<secrecy::SecretString>,
    /// Items in the cart, for the header of pages (0 for API requests, where it is not counted).
    pub cart_count: i64,
    /// The slugs of the products in the cart, for the cards of pages (empty for API requests).
    pub cart_slugs: Vec<String>,
    /// The catalogue's categories, for the menu of pages (empty for API requests).
    pub menu_categories: std::sync::Arc<Vec<crate::store::Category>>,
    pub csrf_cookie: Option<String>,
    pub csrf_token: String,
    pub nonce: String,
}

impl RequestContext {
    pub fn is_admin(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.role == Role::Admin)
    }

    /// Whose cart this request sees: the user's once signed in, else the visitor's cookie's, if any.
    pub fn cart_owner(&self) -> Option<CartOwner> {
        match (&self.user, &self.cart_token_hash) {
            (Some(user), _) => Some(CartOwner::User(user.id.clone())),
            (None, Some(hash)) => Some(CartOwner::Visitor(hash.clone())),
            (None, None) => None,
        }
    }
}

impl FromRequestParts<AppState> for RequestContext {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<RequestContext>()
            .cloned()
            .ok_or_else(|| {
                AppError::Internal(anyhow::anyhow!("route is not behind the session layer"))
            })
    }
}

/// A signed-in user (401 otherwise).
pub struct CurrentUser(pub User);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ctx = RequestContext::from_request_parts(parts, state).await?;
        ctx.user.map(CurrentUser).ok_or(AppError::Unauthenticated)
    }
}

/// Puts the catalogue's categories into a page's request context, for its menu (from the catalogue cache). The
/// listing pages read them with their listing instead, in one statement (`routes::catalog::listing_page`), and
/// an error page reads them when it is drawn (`routes::pages::render_error_pages`).
pub async fn menu_layer(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    if let Some(ctx) = request.extensions_mut().get_mut::<RequestContext>() {
        match crate::services::catalog::categories(&state).await {
            Ok(categories) => ctx.menu_categories = categories,
            Err(err) => return AppError::from(err).into_response(),
        }
    }
    next.run(request).await
}

/// Loads the session (when a session cookie is present), slides its expiry, makes sure the browser has a CSRF
/// cookie, and puts the [`RequestContext`] in the request for handlers.
pub async fn session_layer(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let cookies = state.cookies();
    let headers = request.headers();
    let now = now();

    let Session {
        user,
        session_hash,
        renewal,
    } = match load_session(&state, headers, now).await {
        Ok(session) => session,
        Err(err) => return AppError::from(err).into_response(),
    };

    let existing_csrf = cookie_value(headers, cookies.csrf)
        .filter(|v| !v.is_empty())
        .map(str::to_string);
    let (csrf_cookie_for_tokens, new_csrf) = match &existing_csrf {
        Some(value) => (value.clone(), None),
        None => {
            let fresh = random_token();
            (fresh.clone(), Some(fresh))
        }
    };
    let nonce = request
        .extensions()
        .get::<CspNonce>()
        .map(|n| n.0.clone())
        .unwrap_or_default();
    let cart_token = cookie_value(headers, cookies.cart).filter(|t| !t.is_empty());
    let cart_token_hash = cart_token.map(hash_token);
    let mut ctx = RequestContext {
        user,
        session_hash,
        cart_token_hash,
        cart_token: cart_token.map(|t| secrecy::SecretString::from(t.to_string())),
        cart_count: 0,
        cart_slugs: Vec::new(),
        menu_categories: std::sync::Arc::default(),
        csrf_token: state.signing_key().token_for(&csrf_cookie_for_tokens),
        csrf_cookie: existing_csrf,
        nonce,
    };
    // Pages show the cart's item count in their header (and the categories in their menu: `menu_layer`).
    if !request.uri().path().starts_with("/api/")
        && let Some(owner) = ctx.cart_owner()
    {
        match state.store().cart_quantities(&owner).await {
            Ok(lines) => {
                ctx.cart_count = lines.iter().map(|(_, quantity)| quantity).sum();
                ctx.cart_slugs = lines.into_iter().map(|(slug, _)| slug).collect();
            }
            Err(err) => return AppError::from(err).into_response(),
        }
    }
    request.extensions_mut().insert(ctx);

    let mut response = next.run(request).await;
    // A response shared caches may keep must never carry a cookie (a CDN would hand one shopper's session to
    // the next): the session slides on the next private answer instead.
    if is_publicly_cacheable(response.headers()) {
        return response;
    }
    if let Some(renewal) = renewal {
        renewal.apply(&state, &mut response, now).await;
    }
    // Pages carry forms; give the browser the CSRF cookie their tokens were made for. JSON answers (often public
    // and cacheable) never set cookies.
    if let Some(fresh) = new_csrf
        && is_html(&response)
        && !sets_cookie(&response, cookies.csrf)
    {
        response
            .headers_mut()
            .append(SET_COOKIE, cookies.csrf_cookie(&fresh));
    }
    response
}

/// The signed-in session a request's cookie names, if any.
struct Session {
    user: Option<User>,
    session_hash: Option<String>,
    renewal: Option<Renewal>,
}

/// A session's expiry to slide forward once the response is known to be private.
struct Renewal {
    hash: String,
    token: String,
    expires: NaiveDateTime,
}

impl Renewal {
    async fn apply(self, state: &AppState, response: &mut Response, now: NaiveDateTime) {
        match state
            .store()
            .renew_session(&self.hash, self.expires, now)
            .await
        {
            Ok(()) => {
                let cookie = state
                    .cookies()
                    .session_cookie(&self.token, self.expires - now);
                response.headers_mut().append(SET_COOKIE, cookie);
            }
            Err(err) => tracing::warn!(error = %err, "could not renew session"),
        }
    }
}

async fn load_session(
    state: &AppState,
    headers: &HeaderMap,
    now: NaiveDateTime,
) -> StoreResult<Session> {
    let config = state.config();
    let mut session = Session {
        user: None,
        session_hash: None,
        renewal: None,
    };
    let Some(token) = cookie_value(headers, state.cookies().session).filter(|t| !t.is_empty())
    else {
        return Ok(session);
    };
    let hash = hash_token(token);
    if let Some(record) = state.store().session_by_token_hash(&hash, now).await? {
        let idle = TimeDelta::from_std(config.session_idle).unwrap_or_default();
        let absolute_end =
            record.created_at + TimeDelta::from_std(config.session_absolute).unwrap_or_default();
        let expires = (now + idle).min(absolute_end);
        // Renew at most once a minute per session: enough for sliding expiry, cheap on the database.
        if expires > record.expires && now - record.last_seen_at >= TimeDelta::minutes(1) {
            session.renewal = Some(Renewal {
                hash: hash.clone(),
                token: token.to_string(),
                expires,
            });
        }
        session.user = Some(record.user);
        session.session_hash = Some(hash);
    }
    Ok(session)
}

fn is_html(response: &Response) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"))
}

/// Whether the handler set this cookie itself.
fn sets_cookie(response: &Response, name: &str) -> bool {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .any(|v| v.to_str().is_ok_and(|v| v.starts_with(name)))
}

/// Whether shared caches may store this response (`Cache-Control: public`).
pub fn is_publicly_cacheable(headers: &HeaderMap) -> bool {
    headers
        .get_all(axum::http::header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|directive| directive.trim().eq_ignore_ascii_case("public"))
}

/// Starts a session for `user`: a new token, stored hashed. Returns the token for the cookie.
pub async fn start_session(state: &AppState, user: &User) -> StoreResult<(String, TimeDelta)> {
    let token = random_token();
    let now = now();
    let lifetime = TimeDelta::from_std(state.config().session_idle).unwrap_or_default();
    state
        .store()
        .create_session(&NewSession {
            token_hash: hash_token(&token),
            user_id: user.id.clone(),
            expires: now + lifetime,
            now,
        })
        .await?;
    Ok((token, lifetime))
}
