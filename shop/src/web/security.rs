//! Security headers for every response, aiming at A+ under Mozilla HTTP Observatory's scoring: a strict CSP with a
//! per-request nonce (no `unsafe-inline`, `default-src 'none'`), frame-ancestors none and X-Frame-Options DENY,
//! nosniff, a strict referrer policy, COOP/CORP/COEP, a Permissions-Policy, and HSTS outside development.

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, SET_COOKIE, STRICT_TRANSPORT_SECURITY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::middleware::Next;
use axum::response::Response;
use rand::RngCore;

use crate::AppState;

/// The nonce inline `<script>` tags must carry on this response.
#[derive(Debug, Clone)]
pub struct CspNonce(pub String);

/// Where images come from: the shop itself (its own photos, `/images/…`, and `/static/`), inline SVG data, and
/// the host photos of a catalogue taken over from the original shop were hot-linked from (its rows keep those
/// URLs until replaced; nothing new can name another host). The asset host (`VIVR_ASSET_BASE_URL`) is added.
const IMAGE_SOURCES: &str = "'self' data: https://images.unsplash.com";

/// A response extension set by the one page that mounts Stripe's Payment Element: its CSP then also allows
/// Stripe.js, Stripe's frames and Stripe's API (as Stripe documents), and nothing more.
#[derive(Debug, Clone, Copy)]
pub struct StripeElements;

/// The origin of the asset base URL (`https://cdn.vivr.fr/shop` → `https://cdn.vivr.fr`), for the CSP.
pub fn asset_origin(base: &str) -> Option<String> {
    let url = url::Url::parse(base).ok()?;
    matches!(url.scheme(), "https" | "http").then(|| url.origin().ascii_serialization())
}

pub fn content_security_policy(
    nonce: &str,
    production_like: bool,
    stripe: bool,
    asset_origin: Option<&str>,
) -> String {
    let (script, frame, connect) = if stripe {
        (
            " https://js.stripe.com https://*.js.stripe.com",
            "; frame-src https://js.stripe.com https://*.js.stripe.com https://hooks.stripe.com",
            " https://api.stripe.com",
        )
    } else {
        ("", "", "")
    };
    let assets = asset_origin.map(|o| format!(" {o}")).unwrap_or_default();
    let mut csp = format!(
        "default-src 'none'; script-src 'self' 'nonce-{nonce}'{script}; style-src 'self'; img-src {IMAGE_SOURCES}{assets}; \
         font-src 'self'; connect-src 'self'{connect}{frame}; manifest-src 'self'; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'"
    );
    if production_like {
        csp.push_str("; upgrade-insecure-requests");
    }
    csp
}

pub async fn security_headers(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    use base64::Engine;
    let mut bytes = [0u8; 18];
    rand::rng().fill_bytes(&mut bytes);
    let nonce = base64::engine::general_purpose::STANDARD.encode(bytes);
    request.extensions_mut().insert(CspNonce(nonce.clone()));

    let mut response = next.run(request).await;
    // Last line of defence for the rule the session layer keeps: a response that sets a cookie is personal.
    if response.headers().contains_key(SET_COOKIE)
        && crate::auth::is_publicly_cacheable(response.headers())
    {
        tracing::warn!("a public response carried Set-Cookie; it is made private");
        response
            .headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    }
    let production_like = !state.config().environment.is_development();
    let stripe = response.extensions().get::<StripeElements>().is_some();
    let headers = response.headers_mut();
    if let Ok(csp) = HeaderValue::from_str(&content_security_policy(
        &nonce,
        production_like,
        stripe,
        state.asset_origin(),
    )) {
        headers.insert(CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(
        REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    // Stripe's payment flows may open a window (bank authentication, wallets) and embed Stripe's frames, which
    // carry no cross-origin embedder headers: the payment page relaxes COOP to allow popups and sends no COEP.
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static(if stripe {
            "same-origin-allow-popups"
        } else {
            "same-origin"
        }),
    );
    headers.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    // credentialless, not require-corp: catalogue photos come from another origin that sends no CORP header.
    if !stripe {
        headers.insert(
            "cross-origin-embedder-policy",
            HeaderValue::from_static("credentialless"),
        );
    }
    headers.insert(
        "permissions-policy",
        HeaderValue::from_static(
            "camera=(), microphone=(), geolocation=(), payment=(self), usb=(), interest-cohort=()",
        ),
    );
    if production_like {
        headers.insert(
            STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains; preload"),
        );
    }
    response
}
