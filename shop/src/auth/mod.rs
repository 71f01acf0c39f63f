//! Who is asking: password hashing, database sessions, CSRF tokens, client IPs and rate limiting.

mod client_ip;
mod csrf;
mod password;
mod rate_limit;
mod session;

pub use client_ip::ClientIp;
pub use csrf::{SigningKey, verify_api_csrf};
pub use password::{PasswordCheck, hash_password, verify_password};
pub use rate_limit::{Counting, KeyBy, Limit, Policy, Quota, RateLimiter, RateLimits};
pub use session::{
    CurrentUser, RequestContext, SessionCookies, VISITOR_CART_LIFETIME, hash_token, now,
    random_token, session_layer, start_session,
};
