//! The customer's words for each validation rule: the domain says which rule a value broke ([`Rule`]), this says it
//! in French.

use crate::domain::image::{ImageProblem, MAX_PIXELS, MAX_SIDE, MIN_SIDE};
use crate::domain::{MAX_PASSWORD_LEN, MIN_PASSWORD_CHARS, PasswordRefusal, Rule, Weakness};

/// The rule, as a phrase that follows the field's name ("Code postal : doit compter 5 chiffres pour la France").
pub(crate) fn french(rule: &Rule) -> String {
    match rule {
        Rule::Required => "est requis".into(),
        Rule::TooLong { max } => format!("ne peut pas dépasser {max} caractères"),
        Rule::ControlCharacters => "contient des caractères de contrôle".into(),
        Rule::InvalidCharacters => "contient des caractères invalides".into(),
        Rule::NotInteger => "doit être un nombre entier".into(),
        Rule::NotBoolean => "doit valoir true ou false".into(),
        Rule::NotEuroAmount => "doit être un montant en euros, par exemple 49,90".into(),
        Rule::Between { min, max } => format!("doit être compris entre {min} et {max}"),
        Rule::IntegerBetween { min, max } => format!("doit être un nombre entier de {min} à {max}"),
        Rule::AtLeast(min) => format!("doit être au moins {min}"),
        Rule::NegativeQuantity => "doit être positif ou nul (0 retire l'article)".into(),
        Rule::NegativePrice => "doit être positif ou nul (en centimes)".into(),
        Rule::PriceAbove { max } => format!("ne peut pas dépasser {max} centimes"),
        Rule::OneOf(values) => one_of(values),
        Rule::NotEmail => "adresse email invalide".into(),
        Rule::NotPhone => {
            "doit être un numéro de téléphone (6 à 15 chiffres, espaces, +, ., - permis)".into()
        }
        Rule::NotSlug => "ne peut contenir que des lettres minuscules sans accent, des chiffres et des tirets simples"
            .into(),
        Rule::NotImageSource => {
            "doit être la référence d'une image envoyée (/images/<id>/<largeur>x<hauteur>, voir /admin/images)"
                .into()
        }
        Rule::Image(problem) => image(problem),
        Rule::TooMany { max } => format!("{max} au plus"),
        Rule::UndeliverableCountry => "livraison possible en France (FR), à Monaco (MC), en Belgique (BE) et au \
                                       Luxembourg (LU) uniquement"
            .into(),
        Rule::PostalCodeDigits { digits, country } => {
            format!("doit compter {digits} chiffres pour {}", country.name_fr())
        }
        Rule::MonacoPostalCode => "doit commencer par 980 pour Monaco".into(),
        Rule::Above(other) => format!("doit être inférieur ou égal à {other}"),
        Rule::Unknown => "n'existe pas".into(),
        Rule::Password(refusal) => password(refusal),
        Rule::Mismatch(_) => "ne correspond pas au mot de passe saisi".into(),
    }
}

fn image(problem: &ImageProblem) -> String {
    match problem {
        ImageProblem::NotAnImage => "doit être une image JPEG, PNG ou WebP".into(),
        ImageProblem::Unreadable(_) => "est une image illisible ou endommagée".into(),
        ImageProblem::TooSmall { width, height } => format!(
            "mesure {width} × {height} pixels : il en faut au moins {MIN_SIDE} × {MIN_SIDE}"
        ),
        ImageProblem::TooLarge => format!(
            "est trop grande : {MAX_SIDE} pixels de côté et {} mégapixels au plus",
            MAX_PIXELS / 1_000_000
        ),
    }
}

/// "« standard » ou « express »", "newest, price-asc ou rating".
fn one_of(values: &[&str]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| format!("« {v} »")).collect();
    match quoted.split_last() {
        Some((last, [])) => format!("doit être {last}"),
        Some((last, rest)) => format!("doit être {} ou {last}", rest.join(", ")),
        None => "n'accepte aucune valeur".into(),
    }
}

/// A password refusal is a whole sentence: it is shown as is, without the field's name.
fn password(refusal: &PasswordRefusal) -> String {
    const ADVICE: &str = "Choisissez une phrase de plusieurs mots inhabituels, ou une suite plus longue et imprévisible.";
    match refusal {
        PasswordRefusal::TooShort => {
            format!("Le mot de passe doit contenir au moins {MIN_PASSWORD_CHARS} caractères.")
        }
        PasswordRefusal::TooLong => {
            format!("Le mot de passe ne peut pas dépasser {MAX_PASSWORD_LEN} caractères.")
        }
        PasswordRefusal::Guessable(weakness) => format!(
            "Mot de passe trop facile à deviner : {}. {ADVICE}",
            weakness_french(*weakness)
        ),
        PasswordRefusal::KnownWord(word) => format!(
            "Mot de passe trop facile à deviner : il repose sur « {word} », un mot courant ou tiré de votre nom ou \
             de votre email. {ADVICE}"
        ),
    }
}

fn weakness_french(weakness: Weakness) -> &'static str {
    match weakness {
        Weakness::TopPassword => "c'est l'un des mots de passe les plus utilisés",
        Weakness::CommonPassword => "c'est un mot de passe très courant",
        Weakness::SimilarToCommon => {
            "il ressemble trop à un mot de passe courant, même avec des chiffres ou des symboles ajoutés"
        }
        Weakness::KeyRow => "une rangée de touches du clavier se devine facilement",
        Weakness::KeyboardPattern => "un motif du clavier se devine facilement",
        Weakness::Repeats => "des répétitions comme « aaa » se devinent facilement",
        Weakness::RepeatedPattern => "répéter un motif (« abcabc ») ne le rend guère plus sûr",
        Weakness::Sequence => "des suites comme « abc » ou « 6543 » se devinent facilement",
        Weakness::Dates => "les dates et les années se devinent facilement",
        Weakness::SingleWord => "un mot seul se devine facilement",
        Weakness::Names => "les prénoms et noms courants se devinent facilement",
        Weakness::Patterns => "il se devine trop facilement (mots courants, motifs simples)",
    }
}

/// A wait as a shopper reads it: "45 secondes", "1 minute", "15 minutes" (rounded up to the minute past one).
pub fn french_delay(secs: u64) -> String {
    match secs {
        0 | 1 => "1 seconde".to_string(),
        2..=59 => format!("{secs} secondes"),
        _ => match secs.div_ceil(60) {
            1 => "1 minute".to_string(),
            minutes => format!("{minutes} minutes"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_read_in_seconds_then_minutes() {
        assert_eq!(french_delay(1), "1 seconde");
        assert_eq!(french_delay(45), "45 secondes");
        assert_eq!(french_delay(60), "1 minute");
        assert_eq!(french_delay(61), "2 minutes");
        assert_eq!(french_delay(900), "15 minutes");
    }
    use crate::domain::check_password_policy;

    #[test]
    fn password_refusals_are_whole_sentences_that_say_why() {
        let refusal = check_password_policy("Soleil123!", &[]).unwrap_err();
        let sentence = french(&Rule::Password(refusal));
        assert!(
            sentence.starts_with("Mot de passe trop facile à deviner : ")
                && sentence.contains("« soleil »"),
            "{sentence}"
        );
        let sentence = french(&Rule::Password(
            check_password_policy("Ab1!", &[]).unwrap_err(),
        ));
        assert_eq!(
            sentence,
            "Le mot de passe doit contenir au moins 8 caractères."
        );
        let sentence = french(&Rule::Password(PasswordRefusal::Guessable(Weakness::Dates)));
        assert!(sentence.contains("les dates"), "{sentence}");
    }

    #[test]
    fn choices_are_listed_in_french() {
        assert_eq!(
            french(&Rule::OneOf(&["standard", "express"])),
            "doit être « standard » ou « express »"
        );
        assert_eq!(
            french(&Rule::OneOf(&["a", "b", "c"])),
            "doit être « a », « b » ou « c »"
        );
    }
}
