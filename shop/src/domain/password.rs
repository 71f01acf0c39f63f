//! Which passwords an account may have, judged as NIST SP 800-63B asks: by how guessable they are, not by
//! composition rules. At least 8 characters (and at most 128 bytes, the cost cap of one hash), and not guessable
//! by an attacker's dictionaries: zxcvbn's estimate (its common-password, name and English word lists, keyboard
//! patterns, dates, repeats, l33t) with French words and the account's own email and name added, must reach
//! "safely unguessable" (score 3, about 10^8 guesses or more). A refusal says why, in French.

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

/// Why a password is refused; the message is the sentence shown to the customer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PasswordPolicyError {
    pub message: String,
}

fn refuse(message: impl Into<String>) -> PasswordPolicyError {
    PasswordPolicyError {
        message: message.into(),
    }
}

/// Judges `password` for an account; `context` holds what an attacker knows of it (its email, its name).
pub fn check_password_policy(password: &str, context: &[&str]) -> Result<(), PasswordPolicyError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(refuse(format!(
            "Le mot de passe doit contenir au moins {MIN_PASSWORD_CHARS} caractères."
        )));
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(refuse(format!(
            "Le mot de passe ne peut pas dépasser {MAX_PASSWORD_LEN} caractères."
        )));
    }
    let known = known_words(context);
    let known: Vec<&str> = known.iter().map(String::as_str).collect();
    let estimate = zxcvbn(password, &known);
    if estimate.score() >= Score::Three {
        return Ok(());
    }
    if let Some(warning) = estimate.feedback().and_then(|f| f.warning()) {
        let reason = reason(warning);
        return Err(refuse(format!(
            "Mot de passe trop facile à deviner : {reason}. Choisissez une phrase de plusieurs mots \
             inhabituels, ou une suite plus longue et imprévisible."
        )));
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
    Err(refuse(match known_word {
        Some(word) => format!(
            "Mot de passe trop facile à deviner : il repose sur « {word} », un mot courant ou tiré de \
             votre nom ou de votre email. Choisissez une phrase de plusieurs mots inhabituels, ou une \
             suite plus longue et imprévisible."
        ),
        None => "Mot de passe trop facile à deviner : il se devine trop facilement (mots courants, \
                 motifs simples). Choisissez une phrase de plusieurs mots inhabituels, ou une suite plus \
                 longue et imprévisible."
            .to_string(),
    }))
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

/// zxcvbn's warning, in French.
fn reason(warning: Warning) -> &'static str {
    match warning {
        Warning::ThisIsATop10Password | Warning::ThisIsATop100Password => {
            "c'est l'un des mots de passe les plus utilisés"
        }
        Warning::ThisIsACommonPassword => "c'est un mot de passe très courant",
        Warning::ThisIsSimilarToACommonlyUsedPassword => {
            "il ressemble trop à un mot de passe courant, même avec des chiffres ou des symboles ajoutés"
        }
        Warning::StraightRowsOfKeysAreEasyToGuess => {
            "une rangée de touches du clavier se devine facilement"
        }
        Warning::ShortKeyboardPatternsAreEasyToGuess => "un motif du clavier se devine facilement",
        Warning::RepeatsLikeAaaAreEasyToGuess => {
            "des répétitions comme « aaa » se devinent facilement"
        }
        Warning::RepeatsLikeAbcAbcAreOnlySlightlyHarderToGuess => {
            "répéter un motif (« abcabc ») ne le rend guère plus sûr"
        }
        Warning::SequencesLikeAbcAreEasyToGuess => {
            "des suites comme « abc » ou « 6543 » se devinent facilement"
        }
        Warning::RecentYearsAreEasyToGuess | Warning::DatesAreOftenEasyToGuess => {
            "les dates et les années se devinent facilement"
        }
        Warning::AWordByItselfIsEasyToGuess => "un mot seul se devine facilement",
        Warning::NamesAndSurnamesByThemselvesAreEasyToGuess
        | Warning::CommonNamesAndSurnamesAreEasyToGuess => {
            "les prénoms et noms courants se devinent facilement"
        }
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
                err.message
                    .starts_with("Mot de passe trop facile à deviner : "),
                "{weak}: {}",
                err.message
            );
        }
    }

    #[test]
    fn a_refusal_names_the_common_word_it_rests_on() {
        let err = check_password_policy("Soleil123!", &[]).unwrap_err();
        assert!(err.message.contains("« soleil »"), "{}", err.message);
    }

    #[test]
    fn the_accounts_own_email_and_name_count_as_known_words() {
        let password = "Dupontel-2025";
        let context = ["martine.dupontel@exemple.fr", "Martine Dupontel"];
        assert!(check_password_policy(password, &context).is_err());
    }

    #[test]
    fn length_bounds_name_the_rule() {
        assert_eq!(
            check_password_policy("Ab1!", &[]).unwrap_err().message,
            "Le mot de passe doit contenir au moins 8 caractères."
        );
        assert!(
            check_password_policy(&"x".repeat(129), &[])
                .unwrap_err()
                .message
                .contains("128")
        );
    }
}
