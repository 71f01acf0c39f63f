//! Which passwords an account may have, judged as NIST SP 800-63B asks: by how guessable they are, not by
//! composition rules. At least 8 characters (and at most 128 bytes, the cost cap of one hash), and not guessable
//! by an attacker's dictionaries: zxcvbn's estimate (its common-password, name and English word lists, keyboard
//! patterns, dates, repeats, l33t) with French words and the account's own email and name added, must reach
//! "safely unguessable" (score 3, about 10^8 guesses or more). A refusal says why ([`PasswordRefusal`]); the edge
//! words it for the customer.

use zxcvbn::feedback::Warning;
use zxcvbn::{Score, zxcvbn};

/// Argon2 hashes whatever it is given; a cap keeps one request from costing seconds of CPU.
pub const MAX_PASSWORD_LEN: usize = 128;
pub const MIN_PASSWORD_CHARS: usize = 8;

/// French words and passwords that French users pick often and that zxcvbn's English lists lack, most common
/// first (zxcvbn ranks them by position).
const FRENCH_WORDS: &[&str] = &[
    "motdepasse",
    "azerty",
    "soleil",
    "bonjour",
    "doudou",
    "loulou",
    "chouchou",
    "jetaime",
    "amour",
    "marseille",
    "paris",
    "princesse",
    "chocolat",
    "coucou",
    "bisous",
    "nicolas",
    "camille",
    "julien",
    "maison",
    "famille",
    "bebe",
    "cheval",
    "chaton",
    "papillon",
    "liberte",
    "france",
    "toulouse",
    "lyon",
    "bordeaux",
    "nantes",
    "lille",
    "bretagne",
    "juillet",
    "janvier",
    "fevrier",
    "decembre",
    "vacances",
    "bonheur",
    "cherie",
    "mamour",
    "moimeme",
    "olivier",
    "isabelle",
    "nathalie",
    "sandrine",
    "celine",
    "sebastien",
    "antoine",
    "thomas",
    "alexandre",
    "maxime",
    "manon",
    "chloe",
    "lucas",
    "emma",
    "louise",
    "gabriel",
    "arthur",
    "jules",
    "hugo",
    "raphael",
    "leo",
    "vivr",
    "boutique",
    "deco",
    "decoration",
    "canape",
    "lampe",
    "bougie",
    "coussin",
    "salon",
    "cuisine",
    "jardin",
    "etoile",
    "lune",
    "fleur",
    "rose",
    "printemps",
    "ete",
    "automne",
    "hiver",
    "mercredi",
    "samedi",
    "dimanche",
    "football",
    "psg",
    "olympique",
    "rugby",
    "musique",
    "secret",
    "bienvenue",
    "salut",
    "merci",
    "tresor",
    "dragon",
];

/// Why a password is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRefusal {
    #[error("has fewer than {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    #[error("is longer than {MAX_PASSWORD_LEN} bytes")]
    TooLong,
    #[error("is easy to guess: {0}")]
    Guessable(Weakness),
    /// Rests on a common word, or on a piece of the account's email or name.
    #[error(
        "is easy to guess: it rests on {0:?}, a common word or part of the account's email or name"
    )]
    KnownWord(String),
}

/// What makes a password guessable (zxcvbn's warnings, grouped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Weakness {
    #[error("one of the most used passwords")]
    TopPassword,
    #[error("a very common password")]
    CommonPassword,
    #[error("close to a common password, even with digits or symbols added")]
    SimilarToCommon,
    #[error("a row of keys")]
    KeyRow,
    #[error("a keyboard pattern")]
    KeyboardPattern,
    #[error("repeated characters")]
    Repeats,
    #[error("a repeated pattern")]
    RepeatedPattern,
    #[error("a sequence such as abc or 6543")]
    Sequence,
    #[error("dates or years")]
    Dates,
    #[error("a single word")]
    SingleWord,
    #[error("common first names or surnames")]
    Names,
    /// No single reason: common words and simple patterns together.
    #[error("common words and simple patterns")]
    Patterns,
}

/// Judges `password` for an account; `context` holds what an attacker knows of it (its email, its name).
pub fn check_password_policy(password: &str, context: &[&str]) -> Result<(), PasswordRefusal> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(PasswordRefusal::TooShort);
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(PasswordRefusal::TooLong);
    }
    // The account's whole email (whatever surrounds it) or whole name is the first thing an attacker tries.
    let lowered = password.to_lowercase();
    if let Some(item) = context
        .iter()
        .map(|item| item.trim().to_lowercase())
        .filter(|item| !item.is_empty())
        .find(|item| {
            if item.contains('@') {
                lowered.contains(item.as_str())
            } else {
                lowered == *item
            }
        })
    {
        return Err(PasswordRefusal::KnownWord(item));
    }
    let known = known_words(context);
    let known: Vec<&str> = known.iter().map(String::as_str).collect();
    let estimate = zxcvbn(password, &known);
    if estimate.score() >= Score::Three {
        return Ok(());
    }
    if let Some(warning) = estimate.feedback().and_then(|f| f.warning()) {
        return Err(PasswordRefusal::Guessable(weakness(warning)));
    }
    // No warning: a French word or a piece of the account's email or name. Say which.
    let known_word = estimate.sequence().iter().find_map(|m| match &m.pattern {
        zxcvbn::matching::patterns::MatchPattern::Dictionary(word)
            if known.contains(&word.matched_word.as_str()) =>
        {
            Some(word.matched_word.clone())
        }
        _ => None,
    });
    Err(match known_word {
        Some(word) => PasswordRefusal::KnownWord(word),
        None => PasswordRefusal::Guessable(Weakness::Patterns),
    })
}

/// The French words and the parts of the account's email and name, as an attacker would try them.
fn known_words(context: &[&str]) -> Vec<String> {
    let mut known: Vec<String> = FRENCH_WORDS.iter().map(|w| w.to_string()).collect();
    for item in context {
        known.extend(
            item.split(|c: char| !c.is_alphanumeric())
                .filter(|part| part.chars().count() >= 3)
                .map(str::to_lowercase),
        );
    }
    known
}

fn weakness(warning: Warning) -> Weakness {
    match warning {
        Warning::ThisIsATop10Password | Warning::ThisIsATop100Password => Weakness::TopPassword,
        Warning::ThisIsACommonPassword => Weakness::CommonPassword,
        Warning::ThisIsSimilarToACommonlyUsedPassword => Weakness::SimilarToCommon,
        Warning::StraightRowsOfKeysAreEasyToGuess => Weakness::KeyRow,
        Warning::ShortKeyboardPatternsAreEasyToGuess => Weakness::KeyboardPattern,
        Warning::RepeatsLikeAaaAreEasyToGuess => Weakness::Repeats,
        Warning::RepeatsLikeAbcAbcAreOnlySlightlyHarderToGuess => Weakness::RepeatedPattern,
        Warning::SequencesLikeAbcAreEasyToGuess => Weakness::Sequence,
        Warning::RecentYearsAreEasyToGuess | Warning::DatesAreOftenEasyToGuess => Weakness::Dates,
        Warning::AWordByItselfIsEasyToGuess => Weakness::SingleWord,
        Warning::NamesAndSurnamesByThemselvesAreEasyToGuess
        | Warning::CommonNamesAndSurnamesAreEasyToGuess => Weakness::Names,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_long_unusual_passwords_and_passphrases() {
        for good in [
            "Tr3s-Solide!",
            "Adm1n-Solide!",
            "cheval agrafe pile correcte",
            "Vq7#pL2m!xR9",
        ] {
            assert_eq!(check_password_policy(good, &[]), Ok(()), "{good}");
        }
    }

    #[test]
    fn refuses_guessable_passwords_whatever_their_composition() {
        for weak in [
            "Soleil123!",
            "Password1!",
            "Azerty123!",
            "Motdepasse1!",
            "qwertyuiop",
            "aaaaaaaaaaaa",
            "Marseille2024",
        ] {
            let err = check_password_policy(weak, &[]).unwrap_err();
            assert!(
                matches!(
                    err,
                    PasswordRefusal::Guessable(_) | PasswordRefusal::KnownWord(_)
                ),
                "{weak}: {err}"
            );
        }
    }

    #[test]
    fn a_refusal_names_the_common_word_it_rests_on() {
        let err = check_password_policy("Soleil123!", &[]).unwrap_err();
        assert_eq!(err, PasswordRefusal::KnownWord("soleil".into()));
    }

    #[test]
    fn the_accounts_own_email_and_name_count_as_known_words() {
        let password = "Dupontel-2025";
        let context = ["martine.dupontel@exemple.fr", "Martine Dupontel"];
        assert!(check_password_policy(password, &context).is_err());
        // The whole email, even dressed up, and the whole name are refused; a name inside a word is not.
        for password in ["paul@vivr.fr", "Paul@Vivr.fr!!", "Paul Lemaire"] {
            assert!(
                check_password_policy(password, &["paul@vivr.fr", "paul lemaire"]).is_err(),
                "{password}"
            );
        }
        assert_eq!(
            check_password_policy("Panneau-Velours-1987", &["anne@vivr.fr", "Anne"]),
            Ok(())
        );
    }

    #[test]
    fn length_bounds_name_the_rule() {
        assert_eq!(
            check_password_policy("Ab1!", &[]),
            Err(PasswordRefusal::TooShort)
        );
        assert_eq!(
            check_password_policy(&"x".repeat(129), &[]),
            Err(PasswordRefusal::TooLong)
        );
    }
}
