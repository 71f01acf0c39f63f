//! The menu every page shows lists the catalogue's categories, however the page read them: the listing pages with
//! their listing (one statement when the catalogue cache is off), the other pages before their handler, an error
//! page when it is drawn. With the cache on and off, on both databases.

use std::time::Duration;

use axum::http::StatusCode;

use crate::common::{TestApp, TestDb};
use vivr_shop::domain::Money;
use vivr_shop::store::{ProductQuery, Store};

/// Pages and the status they answer with.
const PAGES: &[(&str, StatusCode)] = &[
    ("/", StatusCode::OK),
    ("/produits", StatusCode::OK),
    ("/produits?sort=rating&page=2", StatusCode::OK),
    // Past the last page: PostgreSQL returns no row to carry the menu.
    ("/produits?page=99", StatusCode::OK),
    ("/categories/salon", StatusCode::OK),
    ("/nouveautes", StatusCode::OK),
    ("/promotions", StatusCode::OK),
    ("/recherche?q=lampes", StatusCode::OK),
    ("/recherche?q=zzzz", StatusCode::OK),
    ("/produits/lampe-table-nordique", StatusCode::OK),
    ("/categories/inconnue", StatusCode::NOT_FOUND),
    ("/categories/PAS-UN-SLUG", StatusCode::NOT_FOUND),
    ("/produits?page=0", StatusCode::BAD_REQUEST),
    ("/nulle-part", StatusCode::NOT_FOUND),
];

crate::common::on_both_backends!(every_page_lists_the_categories_in_its_menu);
async fn every_page_lists_the_categories_in_its_menu(db: TestDb) {
    let b = db.backend.as_str();
    let categories = vivr_shop::seed::demo_categories();
    for ttl in [Duration::ZERO, Duration::from_secs(5)] {
        let db = match db.backend {
            vivr_shop::store::Backend::Sqlite => TestDb::sqlite(),
            vivr_shop::store::Backend::Postgres => TestDb::postgres().await.unwrap(),
        };
        let app = TestApp::with_config(db, |c| c.catalog_cache_ttl = ttl).await;
        for (path, status) in PAGES {
            let page = app.get(path).await;
            assert_eq!(page.status, *status, "{b} {ttl:?} {path}");
            let html = page.text();
            let menu = html
                .split("<details class=\"menu\">")
                .nth(1)
                .and_then(|rest| rest.split("</details>").next())
                .unwrap_or_else(|| panic!("{b} {ttl:?} {path}: no menu"));
            for category in &categories {
                assert!(
                    menu.contains(&format!("href=\"/categories/{}\"", category.slug)),
                    "{b} {ttl:?} {path}: {} missing from the menu",
                    category.slug
                );
            }
        }
        let salon = app.get("/categories/salon").await.text();
        assert!(salon.contains("<h1>Salon</h1>"), "{b} {ttl:?}");
    }
}

crate::common::on_both_backends!(
    a_listing_read_with_the_categories_is_the_listing_and_the_categories
);
async fn a_listing_read_with_the_categories_is_the_listing_and_the_categories(db: TestDb) {
    let store: Box<dyn Store> = db.seeded_store().await;
    let b = db.backend.as_str();
    let queries = [
        ProductQuery::default(),
        ProductQuery {
            page: 99,
            ..ProductQuery::default()
        },
        ProductQuery {
            search: vivr_shop::domain::query_words("lampes", 8),
            ..ProductQuery::default()
        },
        ProductQuery {
            min_price: Some(Money::from_cents(1_000_000)),
            ..ProductQuery::default()
        },
    ];
    let categories = store.list_categories().await.unwrap();
    for query in queries {
        let (page, menu) = store.list_products_and_categories(&query).await.unwrap();
        let alone = store.list_products(&query).await.unwrap();
        assert_eq!(page.total, alone.total, "{b}: {query:?}");
        let slugs = |items: &[vivr_shop::store::Product]| {
            items.iter().map(|p| p.slug.clone()).collect::<Vec<_>>()
        };
        assert_eq!(slugs(&page.items), slugs(&alone.items), "{b}: {query:?}");
        let described = |list: &[vivr_shop::store::Category]| {
            list.iter().map(|c| format!("{c:?}")).collect::<Vec<_>>()
        };
        assert_eq!(described(&menu), described(&categories), "{b}: {query:?}");
    }
}
