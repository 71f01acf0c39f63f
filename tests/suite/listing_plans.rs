//! The plans the databases choose for the catalogue's listings, on a catalogue of a few thousand products: every
//! order the shop offers is read from its index, in the whole catalogue and in a category, and a search reads
//! its matches through the full-text index whatever its order. A listing that sorts every product instead is
//! correct and slow (the best-rated order did 250 requests a second on PostgreSQL against 8,000 for the others,
//! and a search sorted by rating, walking the rating index and testing every product, 12), so only its plan
//! shows it.

use crate::common::TestDb;
use crate::store_contract::exec;
use vivr_shop::domain::{Money, Slug, query_words};
use vivr_shop::store::{
    CatalogStore, NewProduct, PoolOptions, ProductQuery, ProductSort, SeedProduct, SqlStore,
};

const PRODUCTS: usize = 3_000;
const MATERIALS: [&str; 6] = ["chêne", "lin", "céramique", "grès", "rotin", "laiton"];

/// A catalogue of `PRODUCTS` in the demo categories, with ratings spread out, and fresh statistics.
async fn large_catalogue(db: &TestDb) -> SqlStore {
    drop(db.seeded_store().await);
    let store = SqlStore::connect(&db.url, &PoolOptions::default())
        .await
        .unwrap();
    let categories = vivr_shop::seed::demo_categories();
    let base = vivr_shop::auth::now();
    let products: Vec<SeedProduct> = (0..PRODUCTS)
        .map(|i| {
            let material = MATERIALS[i % MATERIALS.len()];
            SeedProduct {
                product: NewProduct {
                    name: format!("Vase en {material} n°{i}"),
                    slug: format!("vase-plan-{i}"),
                    description: format!("Vase en {material}, pièce {i}."),
                    price: Money::from_cents(500 + (i as i64 * 7919) % 50_000),
                    compare_price: None,
                    images: vec![],
                    category_slug: Some(categories[i % categories.len()].slug.clone()),
                    stock: (i % 7) as i32,
                    featured: false,
                },
                created_at: base - chrono::TimeDelta::minutes(i as i64),
            }
        })
        .collect();
    store.seed_catalog(&[], &products, base).await.unwrap();
    exec(
        db,
        r#"UPDATE "Product" SET "ratingCount" = length("slug") % 7, "ratingSum" = length("slug") % 7 * 3"#
            .into(),
    )
    .await;
    exec(db, "ANALYZE".into()).await;
    store
}

async fn plan(store: &SqlStore, query: &ProductQuery) -> String {
    store.listing_plan(query).await.unwrap().join("\n")
}

/// Whether the plan sorts rows itself: PostgreSQL's `Sort` node, SQLite's temporary tree for an `ORDER BY`
/// (the tree SQLite uses to put the page's dozen products into its JSON array in order is another).
fn sorts(plan: &str) -> bool {
    plan.contains("USE TEMP B-TREE FOR ORDER BY")
        || plan
            .lines()
            .any(|line| line.trim_start_matches([' ', '-', '>']).starts_with("Sort"))
}

crate::common::on_both_backends!(every_listing_order_reads_an_index_in_that_order);
async fn every_listing_order_reads_an_index_in_that_order(db: TestDb) {
    let store = large_catalogue(&db).await;
    let b = db.backend.as_str();
    let salon = Slug::parse("category", "salon").unwrap();
    for sort in ProductSort::ALL {
        for category in [None, Some(salon.clone())] {
            let query = ProductQuery {
                category,
                sort,
                ..ProductQuery::default()
            };
            let plan = plan(&store, &query).await;
            assert!(
                plan.contains("Product_live_") && !sorts(&plan),
                "{b}: {} in {:?} reads a listing index in order:\n{plan}",
                sort.as_str(),
                query.category
            );
        }
    }
}

crate::common::on_both_backends!(a_search_reads_its_matches_from_the_full_text_index_in_any_order);
async fn a_search_reads_its_matches_from_the_full_text_index_in_any_order(db: TestDb) {
    let store = large_catalogue(&db).await;
    let b = db.backend.as_str();
    let index = match db.backend {
        vivr_shop::store::Backend::Postgres => "Bitmap Index Scan on \"Product_search_idx\"",
        vivr_shop::store::Backend::Sqlite => "ProductSearch VIRTUAL TABLE",
    };
    for sort in ProductSort::ALL {
        let query = ProductQuery {
            search: query_words("céramique", 8),
            sort,
            ..ProductQuery::default()
        };
        let plan = plan(&store, &query).await;
        assert!(
            plan.contains(index),
            "{b}: a search by {} reads {index}:\n{plan}",
            sort.as_str()
        );
        // Counted in the index (a search alone, on SQLite) or over the products (with a filter), the same.
        let total = store.list_products(&query).await.unwrap().total;
        let filtered = ProductQuery {
            min_price: Some(Money::from_cents(0)),
            ..query
        };
        let counted = store.list_products(&filtered).await.unwrap().total;
        assert_eq!(total, counted, "{b}");
        assert!(total >= (PRODUCTS / MATERIALS.len()) as i64, "{b}: {total}");
    }
}
