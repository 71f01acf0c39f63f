//! Who is asking: password hashing, database sessions, CSRF tokens, client IPs and rate limiting.

mod client_ip;
mod csrf;
mod password;
mod rate_limit;
mod session;

pub use client_ip::ClientIp;
pub use csrf::{SigningKey, verify_api_csrf};
pub use password::{PasswordCheck, PasswordError, Passwords};
pub use rate_limit::{
    Counting, KeyBy, Limit, LimitError, Policy, Quota, RateLimiter, RateLimits, Slot, failure_delay,
};
pub use session::{
    CurrentUser, RequestContext, SessionCookies, VISITOR_CART_LIFETIME, hash_token,
    is_publicly_cacheable, menu_layer, now, random_token, session_layer, start_session,
};
