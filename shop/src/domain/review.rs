//! A customer's review as submitted: a whole-number rating from 1 to 5, an optional title and comment within
//! their length limits. Text is stored as typed (trimmed); escaping happens when it is shown.

use super::{FieldError, Rule};

pub const TITLE_MAX: usize = 120;
pub const COMMENT_MAX: usize = 2000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewInput {
    pub rating: i32,
    pub title: Option<String>,
    pub comment: Option<String>,
}

impl ReviewInput {
    /// `rating` is `None` when the client sent something that is not a whole number.
    pub fn parse(
        rating: Option<i64>,
        title: Option<&str>,
        comment: Option<&str>,
    ) -> Result<Self, FieldError> {
        let rating = match rating {
            Some(r @ 1..=5) => r as i32,
            _ => {
                return Err(FieldError::new(
                    "rating",
                    Rule::IntegerBetween { min: 1, max: 5 },
                ));
            }
        };
        Ok(ReviewInput {
            rating,
            title: text("title", title, TITLE_MAX, false)?,
            comment: text("comment", comment, COMMENT_MAX, true)?,
        })
    }

    /// The rating of a JSON body: only integers count (`4.5`, `"4"` and `true` do not).
    pub fn json_rating(value: &serde_json::Value) -> Option<i64> {
        value.as_i64()
    }

    /// The rating of a form field.
    pub fn form_rating(value: &str) -> Option<i64> {
        value.trim().parse().ok()
    }
}

fn text(
    field: &'static str,
    value: Option<&str>,
    max: usize,
    multiline: bool,
) -> Result<Option<String>, FieldError> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if value.chars().count() > max {
        return Err(FieldError::new(field, Rule::TooLong { max }));
    }
    let allowed = |c: char| !c.is_control() || (multiline && (c == '\n' || c == '\r' || c == '\t'));
    if !value.chars().all(allowed) {
        return Err(FieldError::new(field, Rule::InvalidCharacters));
    }
    Ok(Some(value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_are_whole_numbers_from_one_to_five() {
        for r in 1..=5 {
            assert_eq!(
                ReviewInput::parse(Some(r), None, None).unwrap().rating,
                r as i32
            );
        }
        for bad in [Some(0), Some(6), Some(-1), None] {
            assert_eq!(
                ReviewInput::parse(bad, None, None).unwrap_err().field,
                "rating"
            );
        }
        assert_eq!(ReviewInput::json_rating(&serde_json::json!(4.5)), None);
        assert_eq!(ReviewInput::json_rating(&serde_json::json!("4")), None);
        assert_eq!(ReviewInput::json_rating(&serde_json::json!(4)), Some(4));
        assert_eq!(ReviewInput::form_rating(" 3 "), Some(3));
        assert_eq!(ReviewInput::form_rating("3.0"), None);
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        let ok =
            ReviewInput::parse(Some(4), Some("  Très beau  "), Some("Ligne 1\nLigne 2")).unwrap();
        assert_eq!(ok.title.as_deref(), Some("Très beau"));
        assert_eq!(ok.comment.as_deref(), Some("Ligne 1\nLigne 2"));
        assert_eq!(
            ReviewInput::parse(Some(4), Some("   "), None)
                .unwrap()
                .title,
            None
        );
        let long_title = "é".repeat(TITLE_MAX + 1);
        assert_eq!(
            ReviewInput::parse(Some(4), Some(&long_title), None)
                .unwrap_err()
                .field,
            "title"
        );
        assert!(ReviewInput::parse(Some(4), Some(&"é".repeat(TITLE_MAX)), None).is_ok());
        let long_comment = "a".repeat(COMMENT_MAX + 1);
        assert_eq!(
            ReviewInput::parse(Some(4), None, Some(&long_comment))
                .unwrap_err()
                .field,
            "comment"
        );
        assert_eq!(
            ReviewInput::parse(Some(4), Some("a\nb"), None)
                .unwrap_err()
                .field,
            "title"
        );
    }
}
