//! The password policy of the original app (reference §3.4), applied on the server only, with its French messages.

/// The unmet requirements, in the order the original listed them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Le mot de passe doit contenir {}", .missing.join(", "))]
pub struct PasswordPolicyError {
    pub missing: Vec<&'static str>,
}

const SPECIALS: &str = "!@#$%^&*(),.?\":{}|<>_-+=[]\\/`~";
const TOO_COMMON: [&str; 9] = [
    "password",
    "Password1!",
    "12345678!",
    "Qwerty1!",
    "Admin123!",
    "Welcome1!",
    "Password123!",
    "Azerty1!",
    "Motdepasse1!",
];
/// Argon2 hashes whatever it is given; a cap keeps one request from costing seconds of CPU.
pub const MAX_PASSWORD_LEN: usize = 128;

pub fn check_password_policy(password: &str) -> Result<(), PasswordPolicyError> {
    let mut missing = Vec::new();
    if password.chars().count() < 8 {
        missing.push("au moins 8 caractères");
    }
    if password.len() > MAX_PASSWORD_LEN {
        missing.push("au plus 128 caractères");
    }
    if !password.chars().any(char::is_uppercase) {
        missing.push("une majuscule");
    }
    if !password.chars().any(char::is_lowercase) {
        missing.push("une minuscule");
    }
    if !password.chars().any(|c| c.is_ascii_digit()) {
        missing.push("un chiffre");
    }
    if !password.chars().any(|c| SPECIALS.contains(c)) {
        missing.push("un caractère spécial (!@#$%^&*...)");
    }
    if TOO_COMMON.contains(&password) {
        missing.push("ce mot de passe est trop courant");
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(PasswordPolicyError { missing })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_a_strong_password() {
        assert_eq!(check_password_policy("Tr3s-Solide!"), Ok(()));
    }

    #[test]
    fn lists_every_unmet_rule_in_french() {
        let err = check_password_policy("abc").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Le mot de passe doit contenir au moins 8 caractères, une majuscule, un chiffre, un caractère spécial (!@#$%^&*...)"
        );
    }

    #[test]
    fn rejects_the_blacklist_even_when_complex() {
        assert_eq!(
            check_password_policy("Azerty1!").unwrap_err().missing,
            vec!["ce mot de passe est trop courant"]
        );
    }
}
