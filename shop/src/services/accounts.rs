//! Accounts: registration, sign-in with throttling and legacy-hash upgrade, sign-out, and admin bootstrap.

use chrono::TimeDelta;
use secrecy::SecretString;

use crate::AppState;
use crate::auth::{PasswordCheck, RateLimiter, hash_password, now, start_session, verify_password};
use crate::domain::{Email, FieldError, Role, check_password_policy};
use crate::error::AppError;
use crate::store::{NewUser, Store, StoreError, User};

pub const MAX_NAME_LEN: usize = 100;

pub struct Registration {
    pub email: String,
    pub password: SecretString,
    pub name: Option<String>,
}

fn validate_name(name: Option<&str>) -> Result<Option<String>, FieldError> {
    match name.map(str::trim) {
        None | Some("") => Ok(None),
        Some(n) if n.chars().count() > MAX_NAME_LEN => Err(FieldError::new(
            "name",
            format!("ne peut pas dépasser {MAX_NAME_LEN} caractères"),
        )),
        Some(n) if n.chars().any(char::is_control) => {
            Err(FieldError::new("name", "contient des caractères invalides"))
        }
        // Stored as typed; escaping happens when it is shown.
        Some(n) => Ok(Some(n.to_string())),
    }
}

/// Creates a user account (role USER) after validating everything; nothing is written on any error.
pub async fn register_user(
    store: &dyn Store,
    input: Registration,
    role: Role,
) -> Result<User, AppError> {
    use secrecy::ExposeSecret;
    let email = Email::parse("email", &input.email)?;
    check_password_policy(input.password.expose_secret())
        .map_err(|e| AppError::Validation(FieldError::new("password", e.to_string())))?;
    let name = validate_name(input.name.as_deref())?;
    let password_hash = hash_password(input.password).await?;
    let new = NewUser {
        email: email.as_str().to_string(),
        name,
        password_hash,
        role,
    };
    store.create_user(&new, now()).await.map_err(|e| match e {
        StoreError::Conflict(_) => AppError::Conflict {
            code: "email_taken",
            message: "Cet email est déjà utilisé".into(),
        },
        other => other.into(),
    })
}

pub struct SignedIn {
    pub user: User,
    pub token: String,
    pub lifetime: TimeDelta,
}

/// Checks the credentials, upgrades a legacy bcrypt hash, and opens a session. Failed attempts are limited per
/// account here (per client IP, the route's rate limit counts them). Wrong email and wrong password give the
/// same answer, in the same time.
pub async fn sign_in(
    state: &AppState,
    email: &str,
    password: SecretString,
) -> Result<SignedIn, AppError> {
    let invalid = || AppError::BadRequest {
        code: "invalid_credentials",
        message: "Email ou mot de passe incorrect".into(),
    };
    let email = Email::parse("email", email).map_err(|_| invalid())?;
    let store = state.store();
    let limiter = RateLimiter { store, now: now() };
    let account_key = format!("login:account:{}", email.as_str());
    let account_limit = state.config().rate_limits.login_account;
    limiter.check(&account_key, account_limit).await?;

    let user = store.user_by_email(email.as_str()).await?;
    let check = verify_password(
        password.clone(),
        user.as_ref().and_then(|u| u.password_hash.clone()),
    )
    .await?;
    let (user, rehash) = match (user, check) {
        (Some(user), PasswordCheck::Valid { rehash }) => (user, rehash),
        _ => {
            limiter.record(&account_key, account_limit).await?;
            tracing::info!("sign-in refused: wrong credentials");
            return Err(invalid());
        }
    };
    // A success clears the account's count (the IP's stays: it may be guessing other accounts).
    limiter.reset(&account_key).await?;
    if rehash {
        let hash = hash_password(password).await?;
        store.set_password_hash(&user.id, &hash, now()).await?;
        tracing::info!(user = %user.id, "password hash upgraded to argon2id");
    }
    let (token, lifetime) = start_session(state, &user).await?;
    tracing::info!(user = %user.id, "signed in");
    Ok(SignedIn {
        user,
        token,
        lifetime,
    })
}

pub async fn sign_out(state: &AppState, session_hash: Option<&str>) -> Result<(), AppError> {
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
