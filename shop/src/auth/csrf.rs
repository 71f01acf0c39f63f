//! CSRF protection for forms and cookie-authenticated API calls. Each browser holds a random, HttpOnly CSRF cookie;
//! the token put in forms (and expected in `X-CSRF-Token`) is an HMAC of that cookie under the server's secret.
//! A cross-site page can neither read the cookie nor compute the HMAC, so it cannot produce a valid token.

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::error::AppError;

pub const CSRF_HEADER: &str = "x-csrf-token";

/// The server's secret (`VIVR_SESSION_SECRET`) as an HMAC-SHA256 key. Every use names its purpose, so a value
/// signed for one (a CSRF token) is never valid for another (an unsubscribe link).
#[derive(Clone)]
pub struct SigningKey(SecretString);

impl SigningKey {
    pub fn new(secret: SecretString) -> Self {
        SigningKey(secret)
    }

    /// The signature of `value` for `purpose`, URL-safe base64.
    pub fn sign(&self, purpose: &str, value: &str) -> String {
        // HMAC takes keys of any length.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.0.expose_secret().as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(b"vivr-");
        mac.update(purpose.as_bytes());
        mac.update(b":");
        mac.update(value.as_bytes());
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// Whether `signature` is `value`'s for `purpose`. Constant time.
    pub fn verify_signature(&self, purpose: &str, value: &str, signature: &str) -> bool {
        let expected = self.sign(purpose, value);
        !signature.is_empty() && bool::from(expected.as_bytes().ct_eq(signature.as_bytes()))
    }

    /// The token for forms rendered to the holder of `cookie`.
    pub fn token_for(&self, cookie: &str) -> String {
        self.sign("csrf-v1", cookie)
    }

    /// Accepts `token` only if it was issued for `cookie`. Constant time.
    pub fn verify(&self, cookie: Option<&str>, token: Option<&str>) -> Result<(), AppError> {
        let (Some(cookie), Some(token)) = (cookie, token) else {
            return Err(AppError::Csrf);
        };
        if cookie.is_empty() || token.is_empty() {
            return Err(AppError::Csrf);
        }
        if self.verify_signature("csrf-v1", cookie, token) {
            Ok(())
        } else {
            Err(AppError::Csrf)
        }
    }
}

/// For API calls authenticated by the session cookie: the token must come in the `X-CSRF-Token` header.
pub fn verify_api_csrf(
    key: &SigningKey,
    csrf_cookie: Option<&str>,
    headers: &HeaderMap,
) -> Result<(), AppError> {
    let token = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    key.verify(csrf_cookie, token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_bind_to_the_cookie() {
        let key = SigningKey::new(SecretString::from("k".repeat(32)));
        let token = key.token_for("cookie-a");
        assert!(key.verify(Some("cookie-a"), Some(&token)).is_ok());
        assert!(key.verify(Some("cookie-b"), Some(&token)).is_err());
        assert!(key.verify(None, Some(&token)).is_err());
        assert!(key.verify(Some("cookie-a"), None).is_err());
        let other = SigningKey::new(SecretString::from("z".repeat(32)));
        assert!(other.verify(Some("cookie-a"), Some(&token)).is_err());
    }
}
