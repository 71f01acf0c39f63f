//! Search text analysis. A product's name and description, and what a shopper types, go through the same steps
//! here, in Rust, so that PostgreSQL and SQLite index and look up exactly the same terms:
//!
//! 1. **fold**: lower case, accents removed ("Céramique" → "ceramique");
//! 2. **split** at every character that is not a letter or a digit ("l'œil" → "l", "oeil");
//! 3. **stem** with the Snowball French stemmer, the algorithm of PostgreSQL's `french` configuration
//!    ("lampes" → "lamp", "velours" → "velour").
//!
//! A product's index text holds every word and its stem. A query word matches a product when its stem is one of
//! the product's terms (plurals, feminines) or when it begins one of them (typing as you go).

use rust_stemmers::{Algorithm, Stemmer};
use unicode_normalization::UnicodeNormalization;

/// The version of the analysis below. Products indexed by an older one are indexed again when the shop starts
/// (`CatalogStore::refresh_search_index`); change it with any change to what the index text holds.
pub const SEARCH_ANALYZER_VERSION: i32 = 1;

/// Longer runs of letters are not words a shopper types (and PostgreSQL refuses to index them).
const MAX_WORD_CHARS: usize = 40;

/// Words that say nothing about a product; a query leaves them out unless it has nothing else.
const STOP_WORDS: [&str; 24] = [
    "a", "au", "aux", "avec", "ce", "d", "de", "des", "du", "en", "et", "l", "la", "le", "les",
    "ou", "par", "pour", "sans", "sur", "un", "une", "the", "and",
];

pub fn fold_for_search(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.nfd() {
        match c {
            // Combining diacritical marks left by the decomposition.
            '\u{0300}'..='\u{036f}' => {}
            'œ' | 'Œ' => out.push_str("oe"),
            'æ' | 'Æ' => out.push_str("ae"),
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// The folded words of a text, in order.
pub fn search_words(text: &str) -> Vec<String> {
    fold_for_search(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && w.chars().count() <= MAX_WORD_CHARS)
        .map(str::to_string)
        .collect()
}

/// The French stem of a folded word.
pub fn stem(word: &str) -> String {
    Stemmer::create(Algorithm::French).stem(word).into_owned()
}

/// What the index holds for one product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchDocument {
    /// Every word of the name and description and its stem, each once, separated by spaces.
    pub terms: String,
    /// The same for the name alone: a match there ranks first.
    pub name_terms: String,
    /// The distinct words (not stems), for the vocabulary that typos are corrected against.
    pub words: Vec<String>,
}

impl SearchDocument {
    pub fn of(name: &str, description: &str) -> Self {
        let name_words = search_words(name);
        let mut words = name_words.clone();
        words.extend(search_words(description));
        let mut distinct: Vec<String> = Vec::with_capacity(words.len());
        for w in words {
            if !distinct.contains(&w) {
                distinct.push(w);
            }
        }
        Self {
            terms: terms_of(&distinct),
            name_terms: terms_of(&name_words),
            words: distinct,
        }
    }
}

fn terms_of(words: &[String]) -> String {
    let mut terms: Vec<String> = Vec::with_capacity(words.len() * 2);
    for w in words {
        for term in [w.clone(), stem(w)] {
            if !terms.contains(&term) {
                terms.push(term);
            }
        }
    }
    terms.join(" ")
}

/// One word of a query: a product matches when `stem` is one of its terms or `word` begins one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QueryWord {
    pub word: String,
    pub stem: String,
}

impl QueryWord {
    pub fn new(word: &str) -> Self {
        Self {
            word: word.to_string(),
            stem: stem(word),
        }
    }
}

/// The words of a query, at most `max`, without stop words unless the query has only those.
pub fn query_words(text: &str, max: usize) -> Vec<QueryWord> {
    let words = search_words(text);
    let meaningful: Vec<&String> = words
        .iter()
        .filter(|w| !STOP_WORDS.contains(&w.as_str()))
        .collect();
    let chosen: Vec<&String> = if meaningful.is_empty() {
        words.iter().collect()
    } else {
        meaningful
    };
    let mut out: Vec<QueryWord> = Vec::new();
    for w in chosen {
        let q = QueryWord::new(w);
        if !out.contains(&q) && out.len() < max {
            out.push(q);
        }
    }
    out
}

/// How many typos a word of this length may hold: none under 4 letters (too many words are that close), one up
/// to 7, two from 8.
fn allowed_typos(word: &str) -> usize {
    match word.chars().count() {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

/// The vocabulary word closest to `word` within the typos its length allows: fewest edits (a swap of two
/// neighbours is one), then the nearest length, then alphabetical order, so every run picks the same one.
pub fn closest_word<'a>(
    word: &str,
    vocabulary: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let allowed = allowed_typos(word);
    if allowed == 0 {
        return None;
    }
    let len = word.chars().count();
    vocabulary
        .into_iter()
        .filter(|candidate| *candidate != word)
        .filter_map(|candidate| {
            let distance = strsim::damerau_levenshtein(word, candidate);
            (distance <= allowed)
                .then(|| (distance, candidate.chars().count().abs_diff(len), candidate))
        })
        .min()
        .map(|(_, _, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_and_french_accents() {
        assert_eq!(
            fold_for_search("Vase CÉRAMIQUE à l'Œil"),
            "vase ceramique a l'oeil"
        );
        assert_eq!(fold_for_search("Extérieur"), "exterieur");
    }

    #[test]
    fn words_split_at_anything_but_letters_and_digits() {
        assert_eq!(
            search_words("Lampe l'Œil — 40×60 cm, n°12"),
            ["lampe", "l", "oeil", "40", "60", "cm", "n", "12"]
        );
        assert!(search_words(&"a".repeat(41)).is_empty());
    }

    #[test]
    fn plurals_and_feminines_share_a_stem() {
        assert_eq!(stem("lampes"), stem("lampe"));
        assert_eq!(stem("velours"), stem("velour"));
        assert_eq!(stem("blanches"), stem("blanche"));
        assert_eq!(stem(&fold_for_search("étagères")), stem("etagere"));
        assert_eq!(stem("canapes"), stem(&fold_for_search("canapé")));
    }

    #[test]
    fn a_document_holds_each_word_and_stem_once() {
        let doc = SearchDocument::of("Lampes en lin", "Une lampe, des lampes.");
        assert_eq!(doc.terms, "lampes lamp en lin une lampe des de");
        assert_eq!(doc.name_terms, "lampes lamp en lin");
        assert_eq!(doc.words, ["lampes", "en", "lin", "une", "lampe", "des"]);
    }

    #[test]
    fn queries_drop_stop_words_unless_nothing_else_is_left() {
        let words: Vec<String> = query_words("Lampe de chevet", 8)
            .into_iter()
            .map(|w| w.word)
            .collect();
        assert_eq!(words, ["lampe", "chevet"]);
        assert_eq!(query_words("de la", 8).len(), 2);
        assert_eq!(query_words("a b c d e", 3).len(), 3);
        assert_eq!(query_words("lampe lampe", 8).len(), 1);
    }

    #[test]
    fn typos_are_corrected_within_what_the_length_allows() {
        let vocabulary = ["lampe", "lampes", "velours", "ceramique", "bol", "table"];
        assert_eq!(closest_word("lampw", vocabulary), Some("lampe"));
        assert_eq!(closest_word("lmape", vocabulary), Some("lampe"));
        assert_eq!(closest_word("ceramqiue", vocabulary), Some("ceramique"));
        assert_eq!(closest_word("cxrxmxque", vocabulary), None);
        assert_eq!(closest_word("bok", vocabulary), None, "3 letters: no guess");
        assert_eq!(closest_word("lampe", vocabulary), Some("lampes"));
        assert_eq!(closest_word("zzzzz", vocabulary), None);
    }
}
