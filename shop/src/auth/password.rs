//! Argon2id for every new hash; bcrypt hashes from the original database are still accepted and replaced by an
//! Argon2id hash at the next successful sign-in. Hashing runs on the blocking pool, off the async runtime.

use std::sync::LazyLock;

use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};

fn argon2() -> Argon2<'static> {
    // OWASP's minimum for Argon2id: 19 MiB, 2 passes, 1 lane.
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

/// A hash of a password nobody has, verified when the account does not exist so that an unknown email takes as
/// long as a wrong password.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    argon2()
        .hash_password(
            b"vivr-dummy-password-for-timing",
            &SaltString::generate(&mut OsRng),
        )
        .map(|h| h.to_string())
        .unwrap_or_default()
});

pub async fn hash_password(password: SecretString) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        argon2()
            .hash_password(password.expose_secret().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("argon2 hashing failed: {e}"))
    })
    .await?
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordCheck {
    Invalid,
    /// Correct; `rehash` when the stored hash is a legacy bcrypt hash or weaker Argon2 parameters.
    Valid {
        rehash: bool,
    },
}

fn is_bcrypt(hash: &str) -> bool {
    ["$2a$", "$2b$", "$2y$"].iter().any(|p| hash.starts_with(p))
}

/// Checks `password` against the stored hash. `None` (unknown user, or an OAuth-only account) still costs one
/// Argon2 verification.
pub async fn verify_password(
    password: SecretString,
    stored: Option<String>,
) -> anyhow::Result<PasswordCheck> {
    tokio::task::spawn_blocking(move || {
        let candidate = password.expose_secret().as_bytes();
        let Some(stored) = stored else {
            if let Ok(dummy) = PasswordHash::new(&DUMMY_HASH) {
                let _ = argon2().verify_password(candidate, &dummy);
            }
            return Ok(PasswordCheck::Invalid);
        };
        if is_bcrypt(&stored) {
            // A malformed legacy hash (the original seed wrote "$2a$10$placeholder") simply never matches.
            return Ok(match bcrypt::verify(candidate, &stored) {
                Ok(true) => PasswordCheck::Valid { rehash: true },
                _ => PasswordCheck::Invalid,
            });
        }
        let Ok(parsed) = PasswordHash::new(&stored) else {
            tracing::warn!("stored password hash has an unknown format");
            return Ok(PasswordCheck::Invalid);
        };
        if argon2().verify_password(candidate, &parsed).is_err() {
            return Ok(PasswordCheck::Invalid);
        }
        let current = Params::default();
        let rehash = parsed.algorithm.as_str() != "argon2id"
            || Params::try_from(&parsed)
                .map(|p| p.m_cost() < current.m_cost() || p.t_cost() < current.t_cost())
                .unwrap_or(true);
        Ok(PasswordCheck::Valid { rehash })
    })
    .await?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_string())
    }

    #[tokio::test]
    async fn argon2_round_trip() {
        let hash = hash_password(secret("Tr3s-Solide!")).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert_eq!(
            verify_password(secret("Tr3s-Solide!"), Some(hash.clone()))
                .await
                .unwrap(),
            PasswordCheck::Valid { rehash: false }
        );
        assert_eq!(
            verify_password(secret("wrong"), Some(hash)).await.unwrap(),
            PasswordCheck::Invalid
        );
    }

    #[tokio::test]
    async fn legacy_bcrypt_verifies_and_asks_for_rehash() {
        let legacy = bcrypt::hash("Ancien-Mot2passe!", 4).unwrap();
        assert_eq!(
            verify_password(secret("Ancien-Mot2passe!"), Some(legacy.clone()))
                .await
                .unwrap(),
            PasswordCheck::Valid { rehash: true }
        );
        assert_eq!(
            verify_password(secret("nope"), Some(legacy)).await.unwrap(),
            PasswordCheck::Invalid
        );
        assert_eq!(
            verify_password(secret("x"), Some("$2a$10$placeholder".into()))
                .await
                .unwrap(),
            PasswordCheck::Invalid
        );
        assert_eq!(
            verify_password(secret("x"), None).await.unwrap(),
            PasswordCheck::Invalid
        );
    }
}
