//! Email addresses, normalised (trimmed, lower-cased) so that `A@x.fr` and `a@x.fr` are one account.

use std::fmt;

use serde::Serialize;

use super::{FieldError, Rule};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, FieldError> {
        let value = raw.trim().to_lowercase();
        let invalid = || FieldError::new(field, Rule::NotEmail);
        if value.is_empty() {
            return Err(FieldError::new(field, Rule::Required));
        }
        if value.len() > 254 {
            return Err(FieldError::new(field, Rule::TooLong { max: 254 }));
        }
        let (local, domain) = value.split_once('@').ok_or_else(invalid)?;
        if local.is_empty()
            || local.len() > 64
            || local.starts_with('.')
            || local.ends_with('.')
            || local.contains("..")
        {
            return Err(invalid());
        }
        let local_ok = local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
        if !local_ok {
            return Err(invalid());
        }
        // A shop sends mail to the internet: the domain needs at least two labels.
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 {
            return Err(invalid());
        }
        for label in labels {
            let ok = !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
            if !ok {
                return Err(invalid());
            }
        }
        Ok(Email(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_spaces() {
        assert_eq!(
            Email::parse("email", "  Marie@Test.FR ").map(|e| e.0),
            Ok("marie@test.fr".to_string())
        );
    }

    #[test]
    fn rejects_malformed_addresses() {
        for bad in [
            "",
            "nobody",
            "a@b",
            "a@@b.fr",
            ".a@b.fr",
            "a..b@c.fr",
            "a b@c.fr",
            "a@-b.fr",
            "a@b..fr",
        ] {
            assert!(
                Email::parse("email", bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
        let long = format!("{}@example.fr", "a".repeat(65));
        assert!(Email::parse("email", &long).is_err());
    }
}
