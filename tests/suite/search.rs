//! Search: the same answers on both databases for a shared corpus of queries (plurals, words in any order,
//! accents and case, prefixes as typed, ranking), the index kept whole across renames, archiving and older
//! analyses, and typos corrected for the shopper.

use axum::http::StatusCode;
use serde_json::Value;

use crate::common::{TestApp, TestDb};
use crate::store_contract::exec;
use vivr_shop::domain::query_words;
use vivr_shop::store::{NewProduct, ProductQuery, ProductSort, Store};

/// A product at 10 € in stock, in no category.
pub(crate) fn uncategorised(name: &str, slug: &str, description: &str) -> NewProduct {
    NewProduct {
        name: name.into(),
        slug: slug.into(),
        description: description.into(),
        price: vivr_shop::domain::Money::from_cents(1000),
        compare_price: None,
        images: vec![],
        category_slug: None,
        stock: 1,
        featured: false,
    }
}

async fn found(store: &dyn Store, text: &str) -> Vec<String> {
    let query = ProductQuery {
        search: query_words(text, 8),
        sort: ProductSort::Relevance,
        limit: 100,
        ..ProductQuery::default()
    };
    let page = store.list_products(&query).await.unwrap();
    let slugs: Vec<String> = page.items.into_iter().map(|p| p.slug).collect();
    assert_eq!(
        page.total,
        slugs.len() as i64,
        "{text}: total and page agree"
    );
    slugs
}

/// What each query of the corpus finds in the demo catalogue, best first. One table for both databases: a
/// difference between them fails one of the two generated tests.
const CORPUS: &[(&str, &[&str])] = &[
    // Plurals and singulars find the same products.
    (
        "lampes",
        &[
            "lampe-table-nordique",
            "lampe-chevet-murano",
            "lampe-bureau-articulee",
        ],
    ),
    (
        "lampe",
        &[
            "lampe-table-nordique",
            "lampe-chevet-murano",
            "lampe-bureau-articulee",
        ],
    ),
    ("miroirs", &["miroir-rond-dore", "miroir-salle-bain-led"]),
    // Words in any order, each required; a match in the name ranks first, at its start before
    // (the suspension has "table" in its description only), then the most reviewed and the newest.
    (
        "bois scandinave",
        &["lampe-table-nordique", "canape-3-places-oslo"],
    ),
    (
        "scandinave bois",
        &["lampe-table-nordique", "canape-3-places-oslo"],
    ),
    (
        "table",
        &[
            "table-basse-chene",
            "lampe-table-nordique",
            "suspension-cuisine-industrielle",
        ],
    ),
    // Accents and case do not matter.
    ("CÉRAMIQUE", &["vase-ceramique-minimal"]),
    ("ceramique", &["vase-ceramique-minimal"]),
    ("chêne", &["table-basse-chene"]),
    ("Chene", &["table-basse-chene"]),
    // Prefixes, as a shopper types.
    ("terra", &["pot-fleur-xxl-terracotta"]),
    (
        "lamp",
        &[
            "lampe-table-nordique",
            "lampe-chevet-murano",
            "lampe-bureau-articulee",
        ],
    ),
    // Stop words are left out when there is something else.
    ("lampe de chevet", &["lampe-chevet-murano"]),
    // Nothing to find.
    ("velours", &[]),
];

crate::common::on_both_backends!(
    a_shared_corpus_of_queries_finds_the_same_products_in_the_same_order
);
async fn a_shared_corpus_of_queries_finds_the_same_products_in_the_same_order(db: TestDb) {
    let store = db.seeded_store().await;
    let b = db.backend.as_str();
    let mut wrong = Vec::new();
    for (text, expected) in CORPUS {
        let got = found(store.as_ref(), text).await;
        if got != *expected {
            wrong.push(format!("{text:?}: expected {expected:?}, got {got:?}"));
        }
    }
    assert!(wrong.is_empty(), "{b}:\n{}", wrong.join("\n"));
}

crate::common::on_both_backends!(a_search_counts_every_match_on_every_page);
async fn a_search_counts_every_match_on_every_page(db: TestDb) {
    let store = db.seeded_store().await;
    let b = db.backend.as_str();
    for (page, items) in [(1, 2), (2, 1), (5, 0)] {
        let query = ProductQuery {
            search: query_words("lampe", 8),
            page,
            limit: 2,
            ..ProductQuery::default()
        };
        let listing = store.list_products(&query).await.unwrap();
        assert_eq!(
            (listing.total, listing.items.len()),
            (3, items),
            "{b}: page {page}"
        );
    }
}

crate::common::on_both_backends!(the_index_follows_renames_archives_and_older_analyses);
async fn the_index_follows_renames_archives_and_older_analyses(db: TestDb) {
    let store = db.seeded_store().await;
    let b = db.backend.as_str();
    let t = vivr_shop::auth::now();
    let patch = vivr_shop::store::ProductPatch {
        name: Some("Photophore en velours".into()),
        description: Some("Velours côtelé sur verre.".into()),
        ..Default::default()
    };
    store
        .update_product("lanterne-solaire-decorative", &patch, t, None)
        .await
        .unwrap();
    assert_eq!(
        found(store.as_ref(), "velours").await,
        ["lanterne-solaire-decorative"],
        "{b}"
    );
    assert!(
        found(store.as_ref(), "lanterne").await.is_empty(),
        "{b}: the old name is gone"
    );
    store
        .archive_product("lanterne-solaire-decorative", t, None)
        .await
        .unwrap();
    assert!(
        found(store.as_ref(), "velours").await.is_empty(),
        "{b}: archived"
    );

    // A product written before this analysis existed (a migrated database): found once the shop has indexed
    // it again at start.
    exec(
        &db,
        r#"INSERT INTO "Product" ("id", "name", "slug", "description", "priceCents", "currency", "images",
               "stock", "featured", "createdAt", "updatedAt")
           VALUES ('legacy1', 'Guéridons en rotin', 'gueridons-rotin', 'Petites tables d''appoint.', 5900, 'EUR',
                   '[]', 2, false, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"#
            .into(),
    )
    .await;
    assert!(
        found(store.as_ref(), "gueridon").await.is_empty(),
        "{b}: not indexed yet"
    );
    assert_eq!(store.refresh_search_index(1).await.unwrap(), 1, "{b}");
    assert_eq!(
        found(store.as_ref(), "gueridon").await,
        ["gueridons-rotin"],
        "{b}"
    );
    assert_eq!(
        found(store.as_ref(), "rotin appoint").await,
        ["gueridons-rotin"],
        "{b}"
    );
    assert_eq!(
        store.refresh_search_index(1).await.unwrap(),
        0,
        "{b}: nothing left to do"
    );
    assert!(
        store
            .search_vocabulary("guer", 10)
            .await
            .unwrap()
            .contains(&"gueridons".to_string()),
        "{b}: its words join the vocabulary"
    );
}

crate::common::on_both_backends!(
    products_written_at_once_with_the_same_new_words_all_land,
    multi_thread
);
async fn products_written_at_once_with_the_same_new_words_all_land(db: TestDb) {
    let store: std::sync::Arc<dyn Store> = db.seeded_store().await.into();
    let b = db.backend.as_str();
    let words = [
        "zinnia",
        "yucca",
        "xeranthemum",
        "wisteria",
        "verveine",
        "urticaire",
    ];
    let mut writers = tokio::task::JoinSet::new();
    for i in 0..24usize {
        let store = store.clone();
        // Every product uses the same new words, half of them in the opposite order.
        let mut mine = words.to_vec();
        if i % 2 == 1 {
            mine.reverse();
        }
        writers.spawn(async move {
            let product = uncategorised(
                &format!("Bouquet {i}"),
                &format!("bouquet-{i}"),
                &mine.join(" "),
            );
            store
                .create_product(&product, vivr_shop::auth::now(), None)
                .await
        });
    }
    while let Some(done) = writers.join_next().await {
        done.unwrap().unwrap_or_else(|e| panic!("{b}: {e}"));
    }
    assert_eq!(
        found(store.as_ref(), "wisteria zinnia").await.len(),
        24,
        "{b}"
    );
    assert_eq!(
        store.search_vocabulary("zinnia", 10).await.unwrap(),
        ["zinnia"],
        "{b}"
    );
}

crate::common::on_both_backends!(an_archived_product_leaves_a_search_and_its_total);
async fn an_archived_product_leaves_a_search_and_its_total(db: TestDb) {
    let store = db.seeded_store().await;
    let b = db.backend.as_str();
    let lamps = found(store.as_ref(), "lampe").await;
    assert_eq!(lamps.len(), 3, "{b}");
    store
        .archive_product(&lamps[0], vivr_shop::auth::now(), None)
        .await
        .unwrap();
    // `found` checks that the total agrees with the products listed.
    assert_eq!(found(store.as_ref(), "lampe").await, lamps[1..], "{b}");
    // Indexed again at start, the archived product stays out.
    store.refresh_search_index(500).await.unwrap();
    assert_eq!(found(store.as_ref(), "lampe").await, lamps[1..], "{b}");
    // A search with another filter counts the same way.
    let query = ProductQuery {
        search: query_words("lampe", 8),
        min_price: Some(vivr_shop::domain::Money::from_cents(0)),
        limit: 1,
        ..ProductQuery::default()
    };
    let page = store.list_products(&query).await.unwrap();
    assert_eq!((page.total, page.items.len()), (2, 1), "{b}");
}

#[tokio::test]
async fn a_sqlite_index_that_lost_its_rows_is_rebuilt_at_start() {
    let db = TestDb::sqlite();
    let store = db.seeded_store().await;
    exec(
        &db,
        r#"INSERT INTO "ProductSearch" ("ProductSearch") VALUES ('delete-all')"#.into(),
    )
    .await;
    assert!(found(store.as_ref(), "lampe").await.is_empty());
    store.refresh_search_index(500).await.unwrap();
    assert_eq!(found(store.as_ref(), "lampe").await.len(), 3);
}

async fn api(app: &TestApp, query: &str) -> Value {
    let response = app.get(&format!("/api/v1/products?{query}")).await;
    assert_eq!(
        response.status,
        StatusCode::OK,
        "{query}: {}",
        response.text()
    );
    response.json()
}

fn slugs(body: &Value) -> Vec<&str> {
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["slug"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_typo_shows_the_corrected_search_and_says_so() {
    let app = TestApp::sqlite().await;
    let body = api(&app, "search=lmape%20chevet").await;
    assert_eq!(slugs(&body), ["lampe-chevet-murano"], "{body}");
    assert_eq!(body["corrected_search"], "lampe chevet");

    let body = api(&app, "search=ceramqiue").await;
    assert_eq!(slugs(&body), ["vase-ceramique-minimal"]);
    assert_eq!(body["corrected_search"], "ceramique");

    // A search that finds something is never "corrected"; one too far from any word finds nothing.
    let body = api(&app, "search=lampe").await;
    assert!(body.get("corrected_search").is_none(), "{body}");
    let body = api(&app, "search=xylophone").await;
    assert_eq!(body["pagination"]["total"], 0);
    assert!(body.get("corrected_search").is_none(), "{body}");

    let page = app.get("/produits?search=lmape").await.text();
    assert!(
        page.contains(
            "Aucun produit ne correspond à « lmape » : voici les résultats pour « lampe »."
        ),
        "{page}"
    );
    assert!(
        page.contains(r#"value="lmape""#),
        "the box keeps what was typed"
    );
    assert!(page.contains("Lampe de chevet Murano"));
}

#[tokio::test]
async fn a_search_is_sorted_by_relevance_unless_asked_otherwise() {
    let app = TestApp::sqlite().await;
    let body = api(&app, "search=table").await;
    assert_eq!(
        slugs(&body),
        [
            "table-basse-chene",
            "lampe-table-nordique",
            "suspension-cuisine-industrielle"
        ]
    );
    let body = api(&app, "search=table&sort=price-asc").await;
    let prices: Vec<i64> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["price_cents"].as_i64().unwrap())
        .collect();
    assert!(prices.windows(2).all(|w| w[0] <= w[1]), "{prices:?}");
    let response = app.get("/api/v1/products?sort=pertinence").await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert!(response.text().contains("relevance"), "{}", response.text());
}
