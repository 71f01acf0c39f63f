//! Who is asking: password hashing, database sessions, CSRF tokens, client IPs and sign-in throttling.

mod client_ip;
mod csrf;
mod password;
mod session;
mod throttle;

pub use client_ip::ClientIp;
pub use csrf::{CsrfKey, verify_api_csrf};
pub use password::{PasswordCheck, hash_password, verify_password};
pub use session::{
    CurrentUser, RequestContext, SessionCookies, VISITOR_CART_LIFETIME, hash_token, now,
    random_token, session_layer, start_session,
};
pub use throttle::{LoginThrottler, ThrottleKeys};
