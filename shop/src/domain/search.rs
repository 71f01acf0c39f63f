//! Text folding for search: lower case, accents removed, so that "ceramique" finds "Vase céramique".
//! The same folding fills `Product.searchText` and normalises the query.

use unicode_normalization::UnicodeNormalization;

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
}
