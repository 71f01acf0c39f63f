//! The counts a listing reads instead of counting (each category's live products, kept on its row by a
//! trigger), against the count a filtered listing still makes, through writes sent at once; and a listing's
//! page read back whole, the same as the product itself.

use std::sync::Arc;

use crate::common::TestDb;
use vivr_shop::auth::now;
use vivr_shop::domain::{Money, Slug};
use vivr_shop::store::{NewProduct, ProductPatch, ProductQuery, Store};

/// The listing's total as the category counts give it, and as a filter that matches every product counts it.
async fn totals(store: &dyn Store, category: Option<&str>) -> (i64, i64) {
    let category = category.map(|c| Slug::parse("category", c).unwrap());
    let kept = ProductQuery {
        category: category.clone(),
        ..ProductQuery::default()
    };
    let counted = ProductQuery {
        category,
        min_price: Some(Money::from_cents(0)),
        ..ProductQuery::default()
    };
    (
        store.list_products(&kept).await.unwrap().total,
        store.list_products(&counted).await.unwrap().total,
    )
}

async fn assert_counts_exact(store: &dyn Store, b: &str, when: &str) {
    let categories = store.list_categories().await.unwrap();
    for c in &categories {
        let (kept, counted) = totals(store, Some(&c.slug)).await;
        assert_eq!(
            (c.product_count, kept),
            (counted, counted),
            "{b} {when}: {}",
            c.slug
        );
    }
    let (kept, counted) = totals(store, None).await;
    assert_eq!(kept, counted, "{b} {when}: the whole catalogue");
}

fn product(i: usize) -> NewProduct {
    NewProduct {
        name: format!("Vase n°{i}"),
        slug: format!("vase-{i}"),
        description: "Grès émaillé.".into(),
        price: Money::from_cents(1000 + i as i64),
        compare_price: Some(Money::from_cents(5000)),
        images: vec![],
        category_slug: Some("salon".into()),
        stock: 2,
        featured: i.is_multiple_of(2),
    }
}

crate::common::on_both_backends!(
    category_counts_stay_exact_through_writes_sent_at_once,
    multi_thread
);
async fn category_counts_stay_exact_through_writes_sent_at_once(db: TestDb) {
    let store: Arc<dyn Store> = Arc::from(db.seeded_store().await);
    let b = db.backend.as_str();
    assert_counts_exact(store.as_ref(), b, "after the seed").await;

    // 24 products created at once in one category: its row is updated by every insert.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..24 {
        let store = store.clone();
        tasks.spawn(async move { store.create_product(&product(i), now(), None).await });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap().unwrap();
    }
    assert_counts_exact(store.as_ref(), b, "after 24 creations at once").await;
    let salon = store.category_by_slug("salon").await.unwrap().unwrap();
    assert_eq!(salon.product_count, 5 + 24, "{b}");

    // At once: 8 moved to another category, 4 taken out of any category, 6 removed from the catalogue (deleted:
    // never ordered), and 6 edited without touching their category.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..24 {
        let store = store.clone();
        tasks.spawn(async move {
            let slug = format!("vase-{i}");
            let category = match i {
                0..8 => Some(Some("chambre".to_string())),
                8..12 => Some(None),
                _ => None,
            };
            if (12..18).contains(&i) {
                return store.archive_product(&slug, now(), None).await;
            }
            let patch = ProductPatch {
                category_slug: category,
                stock: Some(7),
                ..ProductPatch::default()
            };
            store
                .update_product(&slug, &patch, now(), None)
                .await
                .map(|_| ())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap().unwrap();
    }
    assert_counts_exact(store.as_ref(), b, "after moves, removals and edits at once").await;
    let salon = store.category_by_slug("salon").await.unwrap().unwrap();
    assert_eq!(salon.product_count, 5 + 6, "{b}");

    // A deleted category's products stay in the catalogue, without a category: the whole catalogue's total
    // counts them.
    store.delete_category("salon", now(), None).await.unwrap();
    assert_counts_exact(store.as_ref(), b, "after the category was deleted").await;
    assert_eq!(totals(store.as_ref(), None).await.0, 20 + 24 - 6, "{b}");
}

crate::common::on_both_backends!(a_listing_page_reads_back_each_product_whole);
async fn a_listing_page_reads_back_each_product_whole(db: TestDb) {
    let store = db.seeded_store().await;
    let b = db.backend.as_str();
    let created = store
        .create_product(&product(1), now(), None)
        .await
        .unwrap();
    let newest = store
        .list_products(&ProductQuery {
            limit: 1,
            ..ProductQuery::default()
        })
        .await
        .unwrap();
    let listed = newest.items.first().expect("the newest product");
    let read = store.product_by_slug("vase-1").await.unwrap().unwrap();
    for p in [&created, &read] {
        assert_eq!(
            (
                &listed.id,
                &listed.name,
                listed.price,
                listed.compare_price,
                listed.stock,
                listed.featured,
                listed.created_at,
                listed.updated_at,
                listed.category.as_ref().map(|c| (&c.id, &c.slug, &c.name)),
                listed.rating_count,
            ),
            (
                &p.id,
                &p.name,
                p.price,
                p.compare_price,
                p.stock,
                p.featured,
                p.created_at,
                p.updated_at,
                p.category.as_ref().map(|c| (&c.id, &c.slug, &c.name)),
                p.rating_count,
            ),
            "{b}"
        );
    }

    // Every page of the catalogue, one product each, deep pages included: the same products as one page of all.
    let all = store
        .list_products(&ProductQuery {
            limit: 100,
            ..ProductQuery::default()
        })
        .await
        .unwrap();
    let mut paged = Vec::new();
    for page in 1..=all.total as u32 {
        let one = store
            .list_products(&ProductQuery {
                page,
                limit: 1,
                ..ProductQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(one.total, all.total, "{b}: page {page}");
        paged.extend(one.items.into_iter().map(|p| p.slug));
    }
    let whole: Vec<String> = all.items.into_iter().map(|p| p.slug).collect();
    assert_eq!(paged, whole, "{b}");

    // Past the last page: no product, and the total still said.
    let past = store
        .list_products(&ProductQuery {
            page: 99,
            ..ProductQuery::default()
        })
        .await
        .unwrap();
    assert_eq!((past.items.len() as i64, past.total), (0, 21), "{b}");
}
