//! URL slugs: lower-case ASCII letters, digits and single hyphens.

use std::fmt;

use serde::Serialize;

use super::{FieldError, Rule, fold_for_search};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Slug(String);

pub const MAX_SLUG_LEN: usize = 100;

impl Slug {
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, FieldError> {
        if raw.is_empty() {
            return Err(FieldError::new(field, Rule::Required));
        }
        if raw.len() > MAX_SLUG_LEN {
            return Err(FieldError::new(field, Rule::TooLong { max: MAX_SLUG_LEN }));
        }
        let valid = raw
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !raw.starts_with('-')
            && !raw.ends_with('-')
            && !raw.contains("--");
        if !valid {
            return Err(FieldError::new(field, Rule::NotSlug));
        }
        Ok(Slug(raw.to_string()))
    }

    /// Derives a slug from a display name ("Vase céramique" → "vase-ceramique").
    pub fn from_name(field: &'static str, name: &str) -> Result<Self, FieldError> {
        let mut slug = String::new();
        for c in fold_for_search(name).chars() {
            if c.is_ascii_alphanumeric() {
                slug.push(c);
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
        }
        slug.truncate(MAX_SLUG_LEN);
        let slug = slug.trim_end_matches('-').to_string();
        Slug::parse(field, &slug)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_derives() {
        assert!(Slug::parse("slug", "lampe-table-nordique").is_ok());
        for bad in ["", "Lampe", "a--b", "-a", "a-", "é", "a b"] {
            assert!(Slug::parse("slug", bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            Slug::from_name("slug", "Bocaux en verre (lot de 4)").map(|s| s.0),
            Ok("bocaux-en-verre-lot-de-4".into())
        );
    }
}
