//! Search as a shopper meets it: a search that finds nothing because of a typo shows what the corrected search
//! finds, and says so. The matching itself is the store's (`store::query`), on terms `domain::search` makes.

use std::sync::Arc;

use super::catalog::{CatalogError, list_products, listing_and_menu};
use crate::AppState;
use crate::domain::{QueryWord, closest_word};
use crate::store::{Category, ProductPage, ProductQuery};

/// How many words of the vocabulary beginning with one letter a typo is compared with.
const MAX_VOCABULARY: u32 = 5_000;

/// A listing, and the search it ended up showing when the one asked for found nothing.
pub struct Listing {
    pub page: Arc<ProductPage>,
    /// The corrected words, when a typo was corrected.
    pub corrected: Option<String>,
}

/// A listing for a shopper: when a search finds nothing and some of its words are in no product, each such word
/// is replaced by the closest word of the catalogue (a typo or two, see `domain::search::closest_word`) and the
/// corrected search is shown instead, saying so. `query` becomes the search shown.
pub async fn shopper_listing(
    state: &AppState,
    query: &mut ProductQuery,
) -> Result<Listing, CatalogError> {
    let page = list_products(state, query).await?;
    corrected_listing(state, query, page).await
}

/// [`shopper_listing`] for a page, with the menu's categories read with the listing (`listing_and_menu`).
pub async fn shopper_listing_and_menu(
    state: &AppState,
    query: &mut ProductQuery,
) -> Result<(Listing, Arc<Vec<Category>>), CatalogError> {
    let (page, menu) = listing_and_menu(state, query).await?;
    Ok((corrected_listing(state, query, page).await?, menu))
}

/// The listing `page` read for `query`, or the corrected search's when it found nothing.
async fn corrected_listing(
    state: &AppState,
    query: &mut ProductQuery,
    page: Arc<ProductPage>,
) -> Result<Listing, CatalogError> {
    if page.total > 0 || query.search.is_empty() {
        return Ok(Listing {
            page,
            corrected: None,
        });
    }
    let Some(words) = corrected_words(state, &query.search).await? else {
        return Ok(Listing {
            page,
            corrected: None,
        });
    };
    let corrected = ProductQuery {
        search: words,
        ..query.clone()
    };
    let corrected_page = list_products(state, &corrected).await?;
    if corrected_page.total == 0 {
        return Ok(Listing {
            page,
            corrected: None,
        });
    }
    *query = corrected;
    Ok(Listing {
        page: corrected_page,
        corrected: Some(
            query
                .search
                .iter()
                .map(|w| w.word.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        ),
    })
}

/// The search with each word no product holds replaced by its closest vocabulary word; `None` when no word
/// changed.
async fn corrected_words(
    state: &AppState,
    words: &[QueryWord],
) -> Result<Option<Vec<QueryWord>>, CatalogError> {
    let cache = state.catalog();
    let mut out = Vec::with_capacity(words.len());
    let mut changed = false;
    for word in words {
        let first: String = word.word.chars().take(1).collect();
        let vocabulary = cache
            .vocabulary
            .get_or_load(&first, cache.generation(), || {
                state.store().search_vocabulary(&first, MAX_VOCABULARY)
            })
            .await?;
        let known = vocabulary.iter().any(|term| term.starts_with(&word.word));
        match closest_word(&word.word, vocabulary.iter().map(String::as_str)) {
            Some(closest) if !known => {
                changed = true;
                out.push(QueryWord::new(closest));
            }
            _ => out.push(word.clone()),
        }
    }
    Ok(changed.then_some(out))
}
