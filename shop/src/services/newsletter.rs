//! The newsletter: sign-up with a validated, normalised email (idempotent: signing up twice changes nothing and
//! says the same thing, so the answer does not reveal who is subscribed), confirmed by a signed link sent to the
//! address (double opt-in), then a welcome email carrying the unsubscribe link, and unsubscribing with that link's
//! signed token — no account or session needed.

use crate::AppState;
use crate::auth::{SigningKey, now};
use crate::domain::{Email, FieldError};
use crate::store::{NewsletterConfirmation, StoreError};

/// Why a sign-up or an unsubscribe link was refused.
#[derive(Debug, thiserror::Error)]
pub enum NewsletterError {
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// The link's email and token do not match (altered, or signed with another key).
    #[error("the unsubscribe link is not valid")]
    InvalidLink,
    /// A confirmation link for a sign-up that no longer exists.
    #[error("this sign-up no longer exists")]
    SignUpGone,
    #[error(transparent)]
    Store(#[from] StoreError),
}

const PURPOSE: &str = "newsletter-unsubscribe-v1";
const CONFIRM_PURPOSE: &str = "newsletter-confirm-v1";

/// Signs up `raw` (trimmed and lower-cased), unconfirmed: the confirmation email (double opt-in) is queued in the
/// same transaction and the mail worker woken. The address counts as subscribed once the link is used.
pub async fn subscribe(state: &AppState, raw: &str) -> Result<(), NewsletterError> {
    let email = Email::parse("email", raw)?;
    let new = state
        .store()
        .newsletter_subscribe(email.as_str(), now())
        .await?;
    if new {
        tracing::info!("newsletter: new sign-up, confirmation sent");
        state.wake_mailer();
    }
    Ok(())
}

/// The token of `email`'s unsubscribe link.
pub fn unsubscribe_token(key: &SigningKey, email: &str) -> String {
    key.sign(PURPOSE, email)
}

/// The absolute unsubscribe link of `email`.
pub fn unsubscribe_url(key: &SigningKey, public_url: &str, email: &str) -> String {
    signed_url(
        key,
        PURPOSE,
        public_url,
        "/newsletter/desinscription",
        email,
    )
}

/// The absolute link that confirms `email`'s sign-up.
pub fn confirm_url(key: &SigningKey, public_url: &str, email: &str) -> String {
    signed_url(
        key,
        CONFIRM_PURPOSE,
        public_url,
        "/newsletter/confirmer",
        email,
    )
}

fn signed_url(
    key: &SigningKey,
    purpose: &str,
    public_url: &str,
    path: &str,
    email: &str,
) -> String {
    let query = serde_urlencoded::to_string([
        ("email", email),
        ("token", key.sign(purpose, email).as_str()),
    ])
    .unwrap_or_default();
    format!("{}{path}?{query}", public_url.trim_end_matches('/'))
}

/// Checks an unsubscribe link's email and token: 400 `invalid_token` when they do not match.
pub fn check_link(key: &SigningKey, email: &str, token: &str) -> Result<Email, NewsletterError> {
    check_signed(key, PURPOSE, email, token)
}

/// Checks a sign-up confirmation link's email and token.
pub fn check_confirm_link(
    key: &SigningKey,
    email: &str,
    token: &str,
) -> Result<Email, NewsletterError> {
    check_signed(key, CONFIRM_PURPOSE, email, token)
}

fn check_signed(
    key: &SigningKey,
    purpose: &str,
    email: &str,
    token: &str,
) -> Result<Email, NewsletterError> {
    let email =
        Email::parse("email", email).map_err(|_: FieldError| NewsletterError::InvalidLink)?;
    if key.verify_signature(purpose, email.as_str(), token.trim()) {
        Ok(email)
    } else {
        Err(NewsletterError::InvalidLink)
    }
}

/// Confirms the link's sign-up: the address counts as subscribed from now, and its welcome email (with the
/// unsubscribe link) is queued. Idempotent. A sign-up that is gone (unsubscribed, or left unconfirmed for a week
/// and forgotten) is not made again by an old link: [`NewsletterError::SignUpGone`].
pub async fn confirm(state: &AppState, email: &str, token: &str) -> Result<(), NewsletterError> {
    let email = check_signed(state.signing_key(), CONFIRM_PURPOSE, email, token)?;
    match state
        .store()
        .newsletter_confirm(email.as_str(), now())
        .await?
    {
        NewsletterConfirmation::Confirmed => {
            tracing::info!("newsletter: sign-up confirmed");
            state.wake_mailer();
            Ok(())
        }
        NewsletterConfirmation::AlreadyConfirmed => Ok(()),
        NewsletterConfirmation::Gone => Err(NewsletterError::SignUpGone),
    }
}

/// Forgets sign-ups left unconfirmed since before `before`.
pub async fn purge_unconfirmed(
    state: &AppState,
    before: chrono::NaiveDateTime,
) -> Result<u64, StoreError> {
    state.store().newsletter_purge_unconfirmed(before).await
}

/// Unsubscribes the link's address. Idempotent: an address already gone is not an error.
pub async fn unsubscribe(
    state: &AppState,
    email: &str,
    token: &str,
) -> Result<(), NewsletterError> {
    let email = check_link(state.signing_key(), email, token)?;
    if state.store().newsletter_unsubscribe(email.as_str()).await? {
        tracing::info!("newsletter: unsubscribed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    #[test]
    fn links_are_signed_per_address_and_key() {
        let key = SigningKey::new(SecretString::from("k".repeat(32)));
        let url = unsubscribe_url(&key, "https://vivr.fr/", "lea+deco@vivr.fr");
        assert!(url.starts_with(
            "https://vivr.fr/newsletter/desinscription?email=lea%2Bdeco%40vivr.fr&token="
        ));
        let token = unsubscribe_token(&key, "lea+deco@vivr.fr");
        assert_eq!(
            check_link(&key, " Lea+Deco@VIVR.fr ", &token)
                .unwrap()
                .as_str(),
            "lea+deco@vivr.fr"
        );
        assert!(check_link(&key, "other@vivr.fr", &token).is_err());
        assert!(check_link(&key, "lea+deco@vivr.fr", "").is_err());
        let other = SigningKey::new(SecretString::from("z".repeat(32)));
        assert!(check_link(&other, "lea+deco@vivr.fr", &token).is_err());
        // A CSRF token for the same text is not an unsubscribe token.
        assert!(check_link(&key, "lea+deco@vivr.fr", &key.token_for("lea+deco@vivr.fr")).is_err());
    }
}
