//! CSRF protection for forms and cookie-authenticated API calls. Each browser holds a random, HttpOnly CSRF cookie;
//! the token put in forms (and expected in `X-CSRF-Token`) is an HMAC of that cookie under the server's secret.
//! A cross-site page can neither read the cookie nor compute the HMAC, so it cannot produce a valid token.
//!
//! Pages are compressed and some reflect what the visitor typed (a search): a token sent the same way in every
//! page would let an observer of compressed sizes guess it byte by byte (BREACH). So every rendering masks it
//! afresh: a random pad, then the token XOR the pad, both in the value sent (as Rails and Django do). Any
//! masking of the right token is accepted.

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::error::AppError;

pub const CSRF_HEADER: &str = "x-csrf-token";
/// The purpose CSRF tokens are signed for.
const CSRF_PURPOSE: &str = "csrf-v1";

/// The server's secret (`VIVR_SESSION_SECRET`) as an HMAC-SHA256 key. Every use names its purpose, so a value
/// signed for one (a CSRF token) is never valid for another (an unsubscribe link). During a rotation the previous
/// secret (`VIVR_SESSION_SECRET_PREVIOUS`) still verifies what it signed; only the current one signs.
#[derive(Clone)]
pub struct SigningKey {
    current: SecretString,
    previous: Option<SecretString>,
}

/// The HMAC-SHA256 of `value` for `purpose` under `secret`.
fn mac(secret: &SecretString, purpose: &str, value: &str) -> Vec<u8> {
    // HMAC takes keys of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.expose_secret().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(b"vivr-");
    mac.update(purpose.as_bytes());
    mac.update(b":");
    mac.update(value.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

impl SigningKey {
    pub fn new(secret: SecretString) -> Self {
        SigningKey {
            current: secret,
            previous: None,
        }
    }

    /// Also accept what `previous` signed (the secret before a rotation).
    pub fn with_previous(mut self, previous: Option<SecretString>) -> Self {
        self.previous = previous;
        self
    }

    /// The secrets that verify: the current one, then the previous one.
    fn verifying(&self) -> impl Iterator<Item = &SecretString> {
        std::iter::once(&self.current).chain(self.previous.as_ref())
    }

    /// The signature of `value` for `purpose`, URL-safe base64.
    pub fn sign(&self, purpose: &str, value: &str) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac(&self.current, purpose, value))
    }

    /// Whether `signature` is `value`'s for `purpose`, under the current or the previous secret. Constant time.
    pub fn verify_signature(&self, purpose: &str, value: &str, signature: &str) -> bool {
        use base64::Engine;
        !signature.is_empty()
            && self.verifying().any(|secret| {
                let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(mac(secret, purpose, value));
                bool::from(expected.as_bytes().ct_eq(signature.as_bytes()))
            })
    }

    /// A token for forms rendered to the holder of `cookie`, masked afresh on every call.
    pub fn token_for(&self, cookie: &str) -> String {
        use base64::Engine;
        use rand::RngCore;
        let token = mac(&self.current, CSRF_PURPOSE, cookie);
        let mut masked = vec![0u8; token.len() * 2];
        let (pad, xored) = masked.split_at_mut(token.len());
        rand::rng().fill_bytes(pad);
        for ((out, t), p) in xored.iter_mut().zip(&token).zip(pad.iter()) {
            *out = t ^ p;
        }
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(masked)
    }

    /// Accepts `token` only if it is a masking of the token of `cookie`. Constant time.
    pub fn verify(&self, cookie: Option<&str>, token: Option<&str>) -> Result<(), AppError> {
        use base64::Engine;
        let (Some(cookie), Some(token)) = (cookie, token) else {
            return Err(AppError::Csrf);
        };
        if cookie.is_empty() || token.is_empty() {
            return Err(AppError::Csrf);
        }
        let Ok(masked) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token) else {
            return Err(AppError::Csrf);
        };
        // Every HMAC-SHA256 is 32 bytes: the pad, then the token XOR the pad.
        if masked.len() != 64 {
            return Err(AppError::Csrf);
        }
        let (pad, xored) = masked.split_at(32);
        let unmasked: Vec<u8> = xored.iter().zip(pad).map(|(x, p)| x ^ p).collect();
        if self
            .verifying()
            .any(|secret| bool::from(unmasked.ct_eq(&mac(secret, CSRF_PURPOSE, cookie))))
        {
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

    #[test]
    fn every_rendering_masks_the_token_afresh() {
        let key = SigningKey::new(SecretString::from("k".repeat(32)));
        let tokens: Vec<String> = (0..20).map(|_| key.token_for("cookie-a")).collect();
        let distinct: std::collections::BTreeSet<&String> = tokens.iter().collect();
        assert_eq!(distinct.len(), 20, "no two renderings share a token");
        for token in &tokens {
            assert!(key.verify(Some("cookie-a"), Some(token)).is_ok());
        }
        // The bare HMAC (unmasked) and truncated or re-padded values are refused.
        let bare = key.sign("csrf-v1", "cookie-a");
        assert!(key.verify(Some("cookie-a"), Some(&bare)).is_err());
        assert!(
            key.verify(Some("cookie-a"), Some(&tokens[0][..40]))
                .is_err()
        );
        assert!(key.verify(Some("cookie-a"), Some("!!!")).is_err());
    }

    #[test]
    fn after_a_rotation_the_previous_secret_verifies_but_never_signs() {
        let old = SigningKey::new(SecretString::from("o".repeat(32)));
        let form = old.token_for("cookie-a");
        let link = old.sign("newsletter-unsubscribe", "lea@vivr.fr");
        let rotated = SigningKey::new(SecretString::from("n".repeat(32)))
            .with_previous(Some(SecretString::from("o".repeat(32))));
        // What the old secret signed still verifies, for the same cookie and value only.
        assert!(rotated.verify(Some("cookie-a"), Some(&form)).is_ok());
        assert!(rotated.verify(Some("cookie-b"), Some(&form)).is_err());
        assert!(rotated.verify_signature("newsletter-unsubscribe", "lea@vivr.fr", &link));
        assert!(!rotated.verify_signature("newsletter-unsubscribe", "paul@vivr.fr", &link));
        // New signatures are the new secret's: the old key alone refuses them.
        let fresh = rotated.sign("newsletter-unsubscribe", "lea@vivr.fr");
        assert_ne!(fresh, link);
        assert!(!old.verify_signature("newsletter-unsubscribe", "lea@vivr.fr", &fresh));
        assert!(
            old.verify(Some("cookie-a"), Some(&rotated.token_for("cookie-a")))
                .is_err()
        );
        // Once the previous secret is removed, the old signatures are refused.
        let after = SigningKey::new(SecretString::from("n".repeat(32)));
        assert!(after.verify(Some("cookie-a"), Some(&form)).is_err());
        assert!(!after.verify_signature("newsletter-unsubscribe", "lea@vivr.fr", &link));
        assert!(!after.verify_signature("newsletter-unsubscribe", "lea@vivr.fr", ""));
    }
}
