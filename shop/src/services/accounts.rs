//! Accounts: registration, sign-in with throttling and legacy-hash upgrade, sign-out, and admin bootstrap.

use chrono::TimeDelta;
use secrecy::SecretString;

use crate::AppState;
use crate::auth::{
    LimitError, PasswordCheck, PasswordError, Passwords, Quota, RateLimiter, failure_delay, now,
    start_session,
};
use crate::domain::{Email, FieldError, Role, Rule, check_password_policy};
use crate::store::{
    AccountStore, LinkPurpose, NewAccountLink, NewUser, Registered, StoreError, StoreResult, User,
};

/// Why an account could not be created or signed in to.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Invalid(#[from] FieldError),
    #[error("an account already uses this email")]
    EmailTaken,
    /// Wrong email or wrong password: the same answer for both.
    #[error("wrong email or password")]
    InvalidCredentials,
    #[error("too many sign-in attempts for this account")]
    Throttled(Quota),
    /// The right password for an account whose address is not confirmed yet: its activation link was sent again.
    #[error("the account is not activated yet")]
    NotActivated,
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<LimitError> for AccountError {
    fn from(err: LimitError) -> Self {
        match err {
            LimitError::Exceeded(quota) => AccountError::Throttled(quota),
            LimitError::Store(err) => AccountError::Store(err),
        }
    }
}

pub const MAX_NAME_LEN: usize = 100;

pub struct Registration {
    pub email: String,
    pub password: SecretString,
    pub name: Option<String>,
}

pub(crate) fn validate_name(name: Option<&str>) -> Result<Option<String>, FieldError> {
    match name.map(str::trim) {
        None | Some("") => Ok(None),
        Some(n) if n.chars().count() > MAX_NAME_LEN => {
            Err(FieldError::new("name", Rule::TooLong { max: MAX_NAME_LEN }))
        }
        Some(n) if n.chars().any(char::is_control) => {
            Err(FieldError::new("name", Rule::InvalidCharacters))
        }
        // Stored as typed; escaping happens when it is shown.
        Some(n) => Ok(Some(n.to_string())),
    }
}

/// Every rule a registration breaks, field by field (email, name, password), for forms that show them all at
/// once. Empty when [`register_user`] would accept it (the email may still be taken).
pub fn registration_problems(input: &Registration) -> Vec<FieldError> {
    use secrecy::ExposeSecret;
    let email = Email::parse("email", &input.email);
    let name = validate_name(input.name.as_deref());
    // The password may not rest on the email or the name, as typed even when they are refused.
    let context = [
        input.email.trim(),
        input.name.as_deref().unwrap_or_default().trim(),
    ];
    let password = check_password_policy(input.password.expose_secret(), &context)
        .map_err(|refusal| FieldError::new("password", Rule::Password(refusal)));
    [email.err(), name.err(), password.err()]
        .into_iter()
        .flatten()
        .collect()
}

/// Registers a customer, answering the same whether the address has an account or not: a new account waits for
/// its activation link (emailed; it signs its owner in), and the owner of an existing one is told by email. Only
/// a broken rule is an error. The password is hashed either way, so both answers take the same time.
///
/// `next` is the local page the activation link goes on to (see [`safe_redirect_target`]).
pub async fn register(
    state: &AppState,
    input: Registration,
    next: Option<&str>,
) -> Result<(), AccountError> {
    if let Some(problem) = registration_problems(&input).into_iter().next() {
        return Err(problem.into());
    }
    let email = Email::parse("email", &input.email)?;
    let name = validate_name(input.name.as_deref())?;
    let password_hash = state.passwords().hash(input.password).await?;
    let new = NewUser {
        email: email.as_str().to_string(),
        name,
        password_hash,
        role: Role::User,
    };
    let at = now();
    let lifetime = crate::services::lifecycle::link_lifetime(LinkPurpose::Activation);
    match state
        .store()
        .register_account(&new, at + lifetime, next, at)
        .await?
    {
        Registered::Created(user) => {
            tracing::info!(user = %user.id, "account created, activation link queued")
        }
        Registered::Exists => {
            tracing::info!("registration for an address that has an account: its owner is told")
        }
    }
    state.wake_mailer();
    Ok(())
}

/// Creates an account whose address is taken as confirmed (the administrator bootstrap) after validating
/// everything; nothing is written on any error.
pub async fn register_user(
    store: &dyn AccountStore,
    passwords: &Passwords,
    input: Registration,
    role: Role,
) -> Result<User, AccountError> {
    // The rules live in `registration_problems`; the first broken one is the answer.
    if let Some(problem) = registration_problems(&input).into_iter().next() {
        return Err(problem.into());
    }
    let email = Email::parse("email", &input.email)?;
    let name = validate_name(input.name.as_deref())?;
    let password_hash = passwords.hash(input.password).await?;
    let new = NewUser {
        email: email.as_str().to_string(),
        name,
        password_hash,
        role,
    };
    store.create_user(&new, now()).await.map_err(|e| match e {
        StoreError::Conflict(_) => AccountError::EmailTaken,
        other => other.into(),
    })
}

pub struct SignedIn {
    pub user: User,
    pub token: String,
    pub lifetime: TimeDelta,
}

/// Opens a session for a user who has just proven who they are (registration, or [`sign_in`]).
pub async fn open_session(state: &AppState, user: User) -> StoreResult<SignedIn> {
    let (token, lifetime) = start_session(state, &user).await?;
    tracing::info!(user = %user.id, "signed in");
    Ok(SignedIn {
        user,
        token,
        lifetime,
    })
}

/// Checks the credentials (see [`check_credentials`]) and opens a session.
pub async fn sign_in(
    state: &AppState,
    client_ip: std::net::IpAddr,
    email: &str,
    password: SecretString,
) -> Result<SignedIn, AccountError> {
    let user = check_credentials(state, client_ip, email, password).await?;
    if !user.activated {
        // Only the right password gets here: saying so reveals nothing about the address.
        let at = now();
        state
            .store()
            .create_account_link(&NewAccountLink {
                user_id: user.id.clone(),
                purpose: LinkPurpose::Activation,
                recipient: user.email.clone(),
                expires: at + crate::services::lifecycle::link_lifetime(LinkPurpose::Activation),
                next: None,
                now: at,
            })
            .await?;
        state.wake_mailer();
        tracing::info!(user = %user.id, "sign-in before activation: the link was sent again");
        return Err(AccountError::NotActivated);
    }
    Ok(open_session(state, user).await?)
}

/// Checks an email and password, and upgrades a legacy bcrypt hash: for signing in, and for confirming a
/// sensitive change (a new password, deleting the account). Wrong email and wrong password give the same answer,
/// in the same time.
///
/// Before the password is verified, the attempt takes a slot per account from this client IP and per account
/// from every IP (the route's layer has taken one per IP): attempts sent at once cannot outnumber the limits, and
/// one address guessing cannot lock the owner out from another. A correct password gives the slots back; a
/// wrong one waits [`failure_delay`] before the answer.
pub async fn check_credentials(
    state: &AppState,
    client_ip: std::net::IpAddr,
    email: &str,
    password: SecretString,
) -> Result<User, AccountError> {
    let email = Email::parse("email", email).map_err(|_| AccountError::InvalidCredentials)?;
    let store = state.store();
    let limits = &state.config().rate_limits;
    let limiter = RateLimiter { store, now: now() };
    let pair = limiter
        .consume(
            &format!("login:account-ip:{}|{client_ip}", email.as_str()),
            limits.login_account_ip,
        )
        .await?;
    let account = match limiter
        .consume(
            &format!("login:account:{}", email.as_str()),
            limits.login_account,
        )
        .await
    {
        Ok(slot) => slot,
        Err(refused) => {
            // Not evaluated: the pair's slot goes back.
            limiter.refund(&pair).await?;
            return Err(refused.into());
        }
    };

    let verified = match store.user_by_email(email.as_str()).await {
        Ok(user) => {
            let stored = user.as_ref().and_then(|u| u.password_hash.clone());
            state
                .passwords()
                .verify(password.clone(), stored)
                .await
                .map(|check| (user, check))
                .map_err(AccountError::from)
        }
        Err(err) => Err(err.into()),
    };
    let (user, rehash) = match verified {
        Ok((Some(user), PasswordCheck::Valid { rehash })) => (user, rehash),
        Ok(_) => {
            tracing::info!("sign-in refused: wrong credentials");
            let delay = failure_delay(limits.login_failure_delay, pair.count, account.count);
            tokio::time::sleep(delay).await;
            return Err(AccountError::InvalidCredentials);
        }
        Err(err) => {
            // Busy or the database: nothing was judged, the slots go back.
            limiter.refund(&pair).await?;
            limiter.refund(&account).await?;
            return Err(err);
        }
    };
    // A success clears this address's failures on the account and gives back the account-wide slot (other
    // addresses' failures stay counted: they may be guessing).
    limiter.reset(&pair.key).await?;
    limiter.refund(&account).await?;
    if rehash {
        let hash = state.passwords().hash(password).await?;
        store.set_password_hash(&user.id, &hash, now()).await?;
        tracing::info!(user = %user.id, "password hash upgraded to argon2id");
    }
    Ok(user)
}

pub async fn sign_out(state: &AppState, session_hash: Option<&str>) -> StoreResult<()> {
    if let Some(hash) = session_hash {
        state.store().delete_session(hash).await?;
    }
    Ok(())
}

/// Where to send the user after signing in: only a local path (one leading `/`, no scheme, no `//` or `/\`), so a
/// crafted link cannot bounce users to another site.
pub fn safe_redirect_target(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && path.len() <= 512
                && !path.chars().any(|c| c.is_control() || c == '\\') =>
        {
            path.to_string()
        }
        _ => "/compte".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_stay_on_site() {
        assert_eq!(
            safe_redirect_target(Some("/produits?page=2")),
            "/produits?page=2"
        );
        for evil in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "javascript:alert(1)",
            "/\nSet-Cookie",
        ] {
            assert_eq!(safe_redirect_target(Some(evil)), "/compte", "{evil:?}");
        }
        assert_eq!(safe_redirect_target(None), "/compte");
    }
}
