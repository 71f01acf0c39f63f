//! The account lifecycle: a forgotten password reset by email, a password or name changed, an email address
//! changed through a link sent to the new address, the data a customer may take away (GDPR art. 20), and deleting
//! the account (art. 17).
//!
//! A link's token is drawn by the email worker when it sends the email, and only its SHA-256 is stored: neither the
//! database nor the outbox ever holds a usable link.

use chrono::TimeDelta;
use secrecy::{ExposeSecret, SecretString};

use crate::AppState;
use crate::auth::{LimitError, Quota, RateLimiter, hash_token, now, random_token};
use crate::domain::{Email, FieldError, Role, Rule, check_password_policy};
use crate::services::accounts::{self, AccountError, validate_name};
use crate::store::{
    Address, Erasure, LinkPurpose, NewAccountLink, Order, Product, StoreError, User, UserReview,
};

/// How long an emailed link works.
pub fn link_lifetime(purpose: LinkPurpose) -> TimeDelta {
    match purpose {
        LinkPurpose::PasswordReset => TimeDelta::minutes(30),
        LinkPurpose::EmailChange | LinkPurpose::Activation => TimeDelta::hours(24),
    }
}

/// The page a link opens, with its token (and the page to go on to afterwards, when there is one).
pub fn link_url(public_url: &str, purpose: LinkPurpose, token: &str, next: Option<&str>) -> String {
    let path = match purpose {
        LinkPurpose::PasswordReset => "/mot-de-passe/nouveau",
        LinkPurpose::EmailChange => "/compte/email/confirmer",
        LinkPurpose::Activation => "/compte/activer",
    };
    let mut params = vec![("token", token)];
    if let Some(next) = next {
        params.push(("next", next));
    }
    let query = serde_urlencoded::to_string(params).unwrap_or_default();
    format!("{}{path}?{query}", public_url.trim_end_matches('/'))
}

/// A token for a link the worker is about to send, and the hash the database keeps of it.
pub fn draw_token() -> (String, String) {
    let token = random_token();
    let hash = hash_token(&token);
    (token, hash)
}

/// Why a lifecycle step was refused.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// The current password, asked before a sensitive change, is wrong.
    #[error("the current password is wrong")]
    WrongPassword,
    /// The link was used, replaced by a newer one, or has expired (or never existed).
    #[error("the link is no longer valid")]
    InvalidLink,
    #[error("another account uses this email")]
    EmailTaken,
    #[error("an order is not delivered yet")]
    OrdersInProgress,
    /// Administrators are removed by another administrator, not by themselves.
    #[error("an administrator account cannot delete itself")]
    AdminAccount,
    #[error("too many attempts")]
    Throttled(Quota),
    #[error(transparent)]
    Account(AccountError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<AccountError> for LifecycleError {
    fn from(err: AccountError) -> Self {
        match err {
            AccountError::InvalidCredentials => LifecycleError::WrongPassword,
            AccountError::Throttled(quota) => LifecycleError::Throttled(quota),
            AccountError::Invalid(field) => LifecycleError::Invalid(field),
            AccountError::Store(err) => LifecycleError::Store(err),
            other => LifecycleError::Account(other),
        }
    }
}

fn password_problem(
    password: &SecretString,
    field: &'static str,
    user: &User,
) -> Option<FieldError> {
    let context = [
        user.email.as_str(),
        user.name.as_deref().unwrap_or_default(),
    ];
    check_password_policy(password.expose_secret(), &context)
        .err()
        .map(|refusal| FieldError::new(field, Rule::Password(refusal)))
}

/// Asks for a password-reset link for `raw`. The answer is the same whether an account uses the address or not:
/// the lookup and the link are made after the answer, and the email goes out from the worker.
pub fn request_password_reset(state: &AppState, raw: &str) -> Result<(), LifecycleError> {
    let email = Email::parse("email", raw)?;
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(err) = send_reset_link(&state, email.as_str()).await {
            tracing::error!(error = %err, "password reset link not queued");
        }
    });
    Ok(())
}

async fn send_reset_link(state: &AppState, email: &str) -> Result<(), StoreError> {
    let at = now();
    let limiter = RateLimiter {
        store: state.store(),
        now: at,
    };
    let limit = state.config().rate_limits.reset_per_address;
    match limiter
        .consume(&format!("password-reset:{email}"), limit)
        .await
    {
        Ok(_) => {}
        Err(LimitError::Exceeded(_)) => {
            tracing::warn!("password reset not sent: too many asked for this address");
            return Ok(());
        }
        Err(LimitError::Store(err)) => return Err(err),
    }
    let Some(user) = state.store().user_by_email(email).await? else {
        tracing::info!("password reset asked for an address with no account");
        return Ok(());
    };
    state
        .store()
        .create_account_link(&NewAccountLink {
            user_id: user.id.clone(),
            purpose: LinkPurpose::PasswordReset,
            recipient: user.email.clone(),
            expires: at + link_lifetime(LinkPurpose::PasswordReset),
            next: None,
            now: at,
        })
        .await?;
    tracing::info!(user = %user.id, "password reset link queued");
    state.wake_mailer();
    Ok(())
}

/// The account a live link belongs to, for the page the link opens.
pub async fn link_user(
    state: &AppState,
    token: &str,
    purpose: LinkPurpose,
) -> Result<User, LifecycleError> {
    state
        .store()
        .account_link_user(&hash_token(token.trim()), purpose, now())
        .await?
        .ok_or(LifecycleError::InvalidLink)
}

/// Sets a new password with a reset link, once; every session of the account ends. Returns the account, for a
/// new session.
pub async fn reset_password(
    state: &AppState,
    token: &str,
    password: SecretString,
) -> Result<User, LifecycleError> {
    let user = link_user(state, token, LinkPurpose::PasswordReset).await?;
    if let Some(problem) = password_problem(&password, "password", &user) {
        return Err(problem.into());
    }
    let hash = state
        .passwords()
        .hash(password)
        .await
        .map_err(|e| LifecycleError::Account(e.into()))?;
    let user = state
        .store()
        .reset_password(&hash_token(token.trim()), &hash, now())
        .await?
        .ok_or(LifecycleError::InvalidLink)?;
    tracing::info!(user = %user.id, "password reset; every session ended");
    Ok(user)
}

/// Every problem of a password change, by field, before anything is checked against the database.
pub fn password_change_problems(
    user: &User,
    new: &SecretString,
    confirm: Option<&SecretString>,
) -> Vec<FieldError> {
    let mut problems: Vec<FieldError> = password_problem(new, "new_password", user)
        .into_iter()
        .collect();
    if confirm.is_some_and(|c| c.expose_secret() != new.expose_secret()) {
        problems.push(FieldError::new(
            "new_password_confirm",
            Rule::Mismatch("new_password"),
        ));
    }
    problems
}

/// Changes the password after checking the current one (throttled as a sign-in is); the account's other
/// sessions end, the one that asked (`keep`, its token hash) stays.
pub async fn change_password(
    state: &AppState,
    client_ip: std::net::IpAddr,
    user: &User,
    keep: Option<&str>,
    current: SecretString,
    new: SecretString,
) -> Result<u64, LifecycleError> {
    if let Some(problem) = password_change_problems(user, &new, None)
        .into_iter()
        .next()
    {
        return Err(problem.into());
    }
    accounts::check_credentials(state, client_ip, &user.email, current).await?;
    let hash = state
        .passwords()
        .hash(new)
        .await
        .map_err(|e| LifecycleError::Account(e.into()))?;
    let ended = state
        .store()
        .change_password(&user.id, &hash, keep, now())
        .await?;
    tracing::info!(user = %user.id, ended, "password changed; other sessions ended");
    Ok(ended)
}

/// What a profile change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileChange {
    pub name_changed: bool,
    /// A confirmation link was sent to this new address; the account keeps its address until it is used.
    pub email_pending: Option<String>,
}

/// Every problem of a profile change, by field.
pub fn profile_problems(name: Option<&str>, email: &str) -> Vec<FieldError> {
    [
        validate_name(name).err(),
        Email::parse("email", email).err(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Sets the name at once; a new email address is only asked for: a link goes to it, and the account takes it
/// when the link is used.
///
/// A new address needs the current password (checked, throttled, as a sign-in is): a session alone, stolen or
/// left open, cannot move the account to another inbox and then reset its password from there.
pub async fn update_profile(
    state: &AppState,
    client_ip: std::net::IpAddr,
    user: &User,
    name: Option<&str>,
    email: &str,
    current_password: Option<SecretString>,
) -> Result<ProfileChange, LifecycleError> {
    if let Some(problem) = profile_problems(name, email).into_iter().next() {
        return Err(problem.into());
    }
    let name = validate_name(name)?;
    let email = Email::parse("email", email)?;
    if email.as_str() != user.email {
        let Some(password) = current_password.filter(|p| !p.expose_secret().is_empty()) else {
            return Err(FieldError::new("current_password", Rule::Required).into());
        };
        accounts::check_credentials(state, client_ip, &user.email, password).await?;
    }
    let at = now();
    let name_changed = name != user.name;
    if name_changed {
        state
            .store()
            .set_name(&user.id, name.as_deref(), at)
            .await?;
    }
    let mut email_pending = None;
    if email.as_str() != user.email {
        state
            .store()
            .create_account_link(&NewAccountLink {
                user_id: user.id.clone(),
                purpose: LinkPurpose::EmailChange,
                recipient: email.as_str().to_string(),
                expires: at + link_lifetime(LinkPurpose::EmailChange),
                next: None,
                now: at,
            })
            .await?;
        state.wake_mailer();
        tracing::info!(user = %user.id, "email change link queued");
        email_pending = Some(email.as_str().to_string());
    }
    Ok(ProfileChange {
        name_changed,
        email_pending,
    })
}

/// Uses an activation link, once: the account is activated; its owner is then signed in by the caller.
pub async fn activate(state: &AppState, token: &str) -> Result<User, LifecycleError> {
    let user = state
        .store()
        .activate_account(&hash_token(token.trim()), now())
        .await?
        .ok_or(LifecycleError::InvalidLink)?;
    tracing::info!(user = %user.id, "account activated");
    Ok(user)
}

/// Uses an email-change link: the account takes the address the link was sent to.
pub async fn confirm_email_change(state: &AppState, token: &str) -> Result<User, LifecycleError> {
    match state
        .store()
        .confirm_email_change(&hash_token(token.trim()), now())
        .await
    {
        Ok(Some(user)) => {
            tracing::info!(user = %user.id, "email address changed");
            Ok(user)
        }
        Ok(None) => Err(LifecycleError::InvalidLink),
        Err(StoreError::Conflict(_)) => Err(LifecycleError::EmailTaken),
        Err(err) => Err(err.into()),
    }
}

/// The account as stored now (after a change made by this request).
pub async fn current_user(state: &AppState, user: &User) -> Result<User, LifecycleError> {
    Ok(state
        .store()
        .user_by_id(&user.id)
        .await?
        .ok_or(StoreError::NotFound)?)
}

/// Everything the shop holds about a customer (GDPR art. 20).
pub struct AccountData {
    pub user: User,
    pub newsletter: bool,
    pub addresses: Vec<Address>,
    pub orders: Vec<Order>,
    pub reviews: Vec<UserReview>,
    pub wishlist: Vec<Product>,
}

/// The most orders an export lists (a customer with more is not a shop's customer).
const EXPORT_MAX_ORDERS: u32 = 10_000;

pub async fn export(state: &AppState, user: &User) -> Result<AccountData, LifecycleError> {
    let store = state.store();
    Ok(AccountData {
        user: user.clone(),
        newsletter: store.newsletter_subscribed(&user.email).await?,
        addresses: store.list_addresses(&user.id).await?,
        orders: store
            .orders_for_user(&user.id, EXPORT_MAX_ORDERS, 0)
            .await?,
        reviews: store.reviews_by_user(&user.id).await?,
        wishlist: store.wishlist(&user.id).await?,
    })
}

/// Deletes the account after checking its password (throttled as a sign-in is). See
/// `store::LifecycleStore::erase_account` for what is erased and what is kept.
pub async fn delete_account(
    state: &AppState,
    client_ip: std::net::IpAddr,
    user: &User,
    password: SecretString,
) -> Result<(), LifecycleError> {
    if user.role == Role::Admin {
        return Err(LifecycleError::AdminAccount);
    }
    accounts::check_credentials(state, client_ip, &user.email, password).await?;
    match state.store().erase_account(&user.id, now()).await? {
        Erasure::Erased => {
            tracing::info!(user = %user.id, "account deleted: personal data erased");
            Ok(())
        }
        Erasure::OrdersInProgress => Err(LifecycleError::OrdersInProgress),
        // Deleted meanwhile by a request sent at the same time: the outcome asked for.
        Erasure::NotFound => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_open_their_page_with_the_token_in_the_query() {
        assert_eq!(
            link_url(
                "https://vivr.fr/",
                LinkPurpose::PasswordReset,
                "a-b_c",
                None
            ),
            "https://vivr.fr/mot-de-passe/nouveau?token=a-b_c"
        );
        assert_eq!(
            link_url("http://localhost:3000", LinkPurpose::EmailChange, "t", None),
            "http://localhost:3000/compte/email/confirmer?token=t"
        );
        assert_eq!(
            link_url("http://h", LinkPurpose::Activation, "t", Some("/commande")),
            "http://h/compte/activer?token=t&next=%2Fcommande"
        );
        assert_eq!(
            link_lifetime(LinkPurpose::PasswordReset),
            TimeDelta::minutes(30)
        );
    }

    #[test]
    fn drawn_tokens_differ_and_only_their_hash_is_kept() {
        let (a, hash_a) = draw_token();
        let (b, _) = draw_token();
        assert_ne!(a, b);
        assert_eq!(hash_a, hash_token(&a));
        assert!(!hash_a.contains(&a));
    }
}
