//! The layer every rate-limited route wears (see `auth::rate_limit` for the mechanism and the policies).

use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::auth::{ClientIp, Counting, KeyBy, Policy, RateLimiter, RequestContext, now};
use crate::error::AppError;

use super::pages::PageError;

/// The middleware; a route wears it as
/// `post(handler.layer(from_fn_with_state((state.clone(), Policy::Newsletter), limited::enforce)))`.
pub async fn enforce(
    State((state, policy)): State<(AppState, Policy)>,
    request: Request,
    next: Next,
) -> Response {
    let api = request.uri().path().starts_with("/api/");
    match run(&state, policy, request, next).await {
        Ok(response) => response,
        Err(err) if api => err.into_response(),
        Err(err) => PageError::from(err).into_response(),
    }
}

async fn run(
    state: &AppState,
    policy: Policy,
    request: Request,
    next: Next,
) -> Result<Response, AppError> {
    let (mut parts, body) = request.into_parts();
    let Ok(ClientIp(ip)) = ClientIp::from_request_parts(&mut parts, state).await;
    let user = parts
        .extensions
        .get::<RequestContext>()
        .and_then(|ctx| ctx.user.as_ref().map(|u| u.id.clone()));
    let subject = match (policy.key_by(), user) {
        (KeyBy::UserOrIp, Some(user)) => format!("user:{user}"),
        _ => format!("ip:{ip}"),
    };
    let key = format!("{}:{subject}", policy.name());
    let limit = policy.limit(&state.config().rate_limits);
    let request = Request::from_parts(parts, body);

    let limiter = RateLimiter {
        store: state.store(),
        now: now(),
    };
    // The slot is taken before the handler runs, whatever the policy: requests sent at once cannot all pass a
    // check made before any of them is counted.
    let slot = limiter.consume(&key, limit).await?;
    let mut response = next.run(request).await;
    let status = response.status();
    // A refusal from inside the handler (sign-in's per-account limits) already carries its own figures.
    if status == axum::http::StatusCode::TOO_MANY_REQUESTS {
        return Ok(response);
    }
    let quota = if policy.counting() == Counting::Failures && !status.is_client_error() {
        limiter.refund(&slot).await?
    } else {
        slot.quota
    };
    quota.apply(response.headers_mut(), false);
    Ok(response)
}
