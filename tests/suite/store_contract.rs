//! One contract for both stores: every test runs against SQLite, and against PostgreSQL when the test cluster is
//! there (always in CI).

use std::time::Duration;

use crate::common::TestDb;
use vivr_shop::auth::now;
use vivr_shop::domain::{Money, Quantity, Role};
use vivr_shop::store::{
    CartOwner, NewProduct, NewSession, NewUser, ProductPatch, ProductQuery, ProductSort, StoreError,
};

/// A quantity in a test (always a valid count).
fn q(count: i32) -> Quantity {
    Quantity::from_stored(count)
}

/// A new product in the "salon" category.
fn candle() -> NewProduct {
    NewProduct {
        name: "Bougie parfumée".into(),
        slug: "bougie-parfumee".into(),
        description: "Cire de soja.".into(),
        price: Money::from_cents(2499),
        compare_price: None,
        images: vec![],
        category_slug: Some("salon".into()),
        stock: 3,
        featured: false,
    }
}

crate::common::on_both_backends!(catalogue_listing_filters_sorts_and_pages);
async fn catalogue_listing_filters_sorts_and_pages(db: TestDb) {
    let store = db.seeded_store().await;
    let b = db.backend.as_str();
    let all = store
        .list_products(&ProductQuery {
            limit: 100,
            ..ProductQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(all.total, 20, "{b}");
    assert_eq!(
        all.items.first().map(|p| p.slug.as_str()),
        Some("lampe-table-nordique"),
        "{b}: newest first"
    );

    let salon = ProductQuery {
        category: Some(vivr_shop::domain::Slug::parse("c", "salon").unwrap()),
        ..ProductQuery::default()
    };
    assert_eq!(store.list_products(&salon).await.unwrap().total, 5, "{b}");

    let search = ProductQuery {
        search: vivr_shop::domain::query_words("CERAMIQUE", 8),
        ..ProductQuery::default()
    };
    let found = store.list_products(&search).await.unwrap();
    assert_eq!(
        found
            .items
            .iter()
            .map(|p| p.slug.as_str())
            .collect::<Vec<_>>(),
        vec!["vase-ceramique-minimal"],
        "{b}: accent-insensitive"
    );

    let priced = ProductQuery {
        min_price: Some(Money::from_cents(4500)),
        max_price: Some(Money::from_cents(8999)),
        sort: ProductSort::PriceAsc,
        limit: 100,
        ..ProductQuery::default()
    };
    let priced = store.list_products(&priced).await.unwrap();
    let prices: Vec<i64> = priced.items.iter().map(|p| p.price.cents()).collect();
    assert!(prices.windows(2).all(|w| w[0] <= w[1]), "{b}: {prices:?}");
    assert!(
        prices.iter().all(|p| (4500..=8999).contains(p)),
        "{b}: {prices:?}"
    );
    assert_eq!(prices.first(), Some(&4500), "{b}: inclusive bounds");

    let featured = store
        .list_products(&ProductQuery {
            featured: Some(true),
            limit: 100,
            ..ProductQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(featured.total, 9, "{b}");

    let page2 = store
        .list_products(&ProductQuery {
            page: 2,
            limit: 8,
            ..ProductQuery::default()
        })
        .await
        .unwrap();
    assert_eq!((page2.total, page2.items.len()), (20, 8), "{b}");
    let page3 = store
        .list_products(&ProductQuery {
            page: 3,
            limit: 8,
            ..ProductQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page3.items.len(), 4, "{b}");

    let expensive = store
        .list_products(&ProductQuery {
            sort: ProductSort::PriceDesc,
            ..ProductQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(expensive.items[0].slug, "canape-3-places-oslo", "{b}");

    let categories = store.list_categories().await.unwrap();
    let counts: Vec<(String, i64)> = categories
        .iter()
        .map(|c| (c.slug.clone(), c.product_count))
        .collect();
    assert!(
        counts.contains(&("salon".into(), 5)) && counts.contains(&("exterieur".into(), 3)),
        "{b}: {counts:?}"
    );
}

crate::common::on_both_backends!(ratings_count_every_review_and_sorts_follow_them);
async fn ratings_count_every_review_and_sorts_follow_them(db: TestDb) {
    let store = db.seeded_store().await;
    let b = db.backend.as_str();
    let t = now();
    // Seven reviewers on one product: more than the original's 5- and 10-review windows.
    let lamp = store
        .product_by_slug("lampe-table-nordique")
        .await
        .unwrap()
        .unwrap();
    let vase = store
        .product_by_slug("vase-ceramique-minimal")
        .await
        .unwrap()
        .unwrap();
    let mut ratings = vec![];
    for i in 0..7 {
        let user = store
            .create_user(
                &NewUser {
                    email: format!("r{i}@test.fr"),
                    name: Some(format!("Client {i}")),
                    password_hash: "x".into(),
                    role: Role::User,
                },
                t,
            )
            .await
            .unwrap();
        let rating = if i < 6 { 5 } else { 1 };
        ratings.push(rating);
        raw_review(&db, &user.id, &lamp.id, rating).await;
        if i == 0 {
            raw_review(&db, &user.id, &vase.id, 3).await;
        }
    }
    let lamp = store
        .product_by_slug("lampe-table-nordique")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((lamp.rating_count, lamp.rating_sum), (7, 31), "{b}");
    assert_eq!(lamp.rating_average(), 4.4, "{b}");
    let reviews = store.product_reviews(&lamp.id, 10, 0).await.unwrap();
    assert_eq!(reviews.len(), 7, "{b}");
    assert!(
        reviews.iter().all(|r| r.author.starts_with("Client ")),
        "{b}: display names, never emails"
    );

    let popular = store
        .list_products(&ProductQuery {
            sort: ProductSort::Popular,
            ..ProductQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(popular.items[0].slug, "lampe-table-nordique", "{b}");
    let best = store
        .list_products(&ProductQuery {
            sort: ProductSort::Rating,
            ..ProductQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        best.items[0].slug, "lampe-table-nordique",
        "{b}: 4.4 beats 3.0"
    );
    assert_eq!(best.items[1].slug, "vase-ceramique-minimal", "{b}");

    // Whoever edits reviews, the figures on the product stay exact (a trigger in both databases).
    let stats = |slug: &'static str| {
        let store = &store;
        async move {
            let p = store.product_by_slug(slug).await.unwrap().unwrap();
            (p.rating_count, p.rating_sum)
        }
    };
    exec(
        &db,
        format!(
            r#"UPDATE "Review" SET "rating" = 5 WHERE "productId" = '{}' AND "rating" = 1"#,
            lamp.id
        ),
    )
    .await;
    assert_eq!(
        stats("lampe-table-nordique").await,
        (7, 35),
        "{b}: rating changed"
    );
    exec(
        &db,
        format!(r#"DELETE FROM "Review" WHERE "productId" = '{}'"#, vase.id),
    )
    .await;
    assert_eq!(
        stats("vase-ceramique-minimal").await,
        (0, 0),
        "{b}: review deleted"
    );
    exec(&db, format!(
    r#"UPDATE "Review" SET "productId" = '{}' WHERE "id" IN (SELECT "id" FROM "Review" WHERE "productId" = '{}' LIMIT 1)"#,
    vase.id, lamp.id
))
.await;
    assert_eq!(
        stats("lampe-table-nordique").await,
        (6, 30),
        "{b}: review moved away"
    );
    assert_eq!(
        stats("vase-ceramique-minimal").await,
        (1, 5),
        "{b}: review moved here"
    );

    let related = store.related_products(&lamp, 4).await.unwrap();
    assert_eq!(related.len(), 4, "{b}");
    assert!(
        related.iter().all(
            |p| p.category.as_ref().map(|c| c.slug.as_str()) == Some("salon") && p.id != lamp.id
        ),
        "{b}"
    );
}

pub(crate) async fn exec(db: &TestDb, sql: String) {
    let sql = sqlx::AssertSqlSafe(sql);
    match db.backend {
        vivr_shop::store::Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            sqlx::raw_sql(sql).execute(&pool).await.unwrap();
        }
        vivr_shop::store::Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
            sqlx::raw_sql(sql).execute(&pool).await.unwrap();
        }
    }
}

async fn raw_review(db: &TestDb, user: &str, product: &str, rating: i32) {
    let id = uuid::Uuid::new_v4().to_string();
    let sql = r#"INSERT INTO "Review" ("id", "userId", "productId", "rating", "verified", "createdAt", "updatedAt")
                 VALUES ($1, $2, $3, $4, true, $5, $5)"#;
    let t = now();
    match db.backend {
        vivr_shop::store::Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            sqlx::query(sql)
                .bind(&id)
                .bind(user)
                .bind(product)
                .bind(rating)
                .bind(t)
                .execute(&pool)
                .await
                .unwrap();
        }
        vivr_shop::store::Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
            sqlx::query(sql)
                .bind(&id)
                .bind(user)
                .bind(product)
                .bind(rating)
                .bind(t)
                .execute(&pool)
                .await
                .unwrap();
        }
    }
}

crate::common::on_both_backends!(admin_writes_validate_references_and_keep_history);
async fn admin_writes_validate_references_and_keep_history(db: TestDb) {
    let store = db.seeded_store().await;
    let b = db.backend.as_str();
    let t = now();
    let new = candle();
    let created = store.create_product(&new, t, None).await.unwrap();
    assert_eq!(
        (
            created.price.cents(),
            created.category.as_ref().map(|c| c.slug.as_str())
        ),
        (2499, Some("salon")),
        "{b}"
    );
    assert!(
        matches!(
            store.create_product(&new, t, None).await,
            Err(StoreError::Conflict(_))
        ),
        "{b}: duplicate slug"
    );
    let orphan = NewProduct {
        slug: "x-y".into(),
        category_slug: Some("nope".into()),
        ..new.clone()
    };
    assert!(
        matches!(
            store.create_product(&orphan, t, None).await,
            Err(StoreError::Invalid("category"))
        ),
        "{b}"
    );

    let patch = ProductPatch {
        price: Some(Money::from_cents(1999)),
        name: Some("Bougie d'été".into()),
        ..ProductPatch::default()
    };
    let updated = store
        .update_product("bougie-parfumee", &patch, t, None)
        .await
        .unwrap();
    assert_eq!(
        (updated.price.cents(), updated.stock, updated.name.as_str()),
        (1999, 3, "Bougie d'été"),
        "{b}"
    );
    let search = ProductQuery {
        search: vivr_shop::domain::query_words("ete", 8),
        ..ProductQuery::default()
    };
    assert_eq!(
        store.list_products(&search).await.unwrap().total,
        1,
        "{b}: searchText follows renames"
    );

    store
        .archive_product("bougie-parfumee", t, None)
        .await
        .unwrap();
    assert!(
        store
            .product_by_slug("bougie-parfumee")
            .await
            .unwrap()
            .is_none(),
        "{b}"
    );
    assert!(
        matches!(
            store.archive_product("bougie-parfumee", t, None).await,
            Err(StoreError::NotFound)
        ),
        "{b}"
    );

    store
        .delete_category("exterieur", now(), None)
        .await
        .unwrap();
    let lantern = store
        .product_by_slug("lanterne-solaire-decorative")
        .await
        .unwrap()
        .unwrap();
    assert!(
        lantern.category.is_none(),
        "{b}: products survive their category"
    );
}

crate::common::on_both_backends!(sitemap_locations_follow_the_live_catalogue);
async fn sitemap_locations_follow_the_live_catalogue(db: TestDb) {
    let store = db.seeded_store().await;
    let b = db.backend.as_str();
    let all = store.product_locations(100, 0).await.unwrap();
    assert_eq!(all.len(), 20, "{b}");
    assert!(
        all.windows(2).all(|w| w[0].slug < w[1].slug),
        "{b}: by slug"
    );
    let tail = store.product_locations(5, 18).await.unwrap();
    assert_eq!(tail, all[18..].to_vec(), "{b}: a slice from an offset");
    assert!(
        store.product_locations(5, 20).await.unwrap().is_empty(),
        "{b}"
    );

    let before = store.category_locations().await.unwrap();
    assert_eq!(before.len(), 6, "{b}");
    let later = before.iter().map(|l| l.updated_at).max().unwrap() + chrono::Duration::days(3);
    let new = candle();
    store.create_product(&new, later, None).await.unwrap();
    let after = store.category_locations().await.unwrap();
    for (old, new) in before.iter().zip(&after) {
        assert_eq!(old.slug, new.slug, "{b}");
        if new.slug == "salon" {
            assert_eq!(
                new.updated_at, later,
                "{b}: a new product changes its category's page"
            );
        } else {
            assert_eq!(new.updated_at, old.updated_at, "{b}: {}", new.slug);
        }
    }
    let located = store.product_locations(100, 0).await.unwrap();
    let candle = located.iter().find(|l| l.slug == "bougie-parfumee");
    assert_eq!(candle.map(|l| l.updated_at), Some(later), "{b}");

    store
        .archive_product("lampe-table-nordique", later, None)
        .await
        .unwrap();
    let live = store.product_locations(100, 0).await.unwrap();
    assert_eq!(live.len(), 20, "{b}: one in, one out");
    assert!(live.iter().all(|l| l.slug != "lampe-table-nordique"), "{b}");
}

crate::common::on_both_backends!(users_sessions_and_rate_limits);
async fn users_sessions_and_rate_limits(db: TestDb) {
    let store = db.seeded_store().await;
    let b = db.backend.as_str();
    let t = now();
    let user = store
        .create_user(
            &NewUser {
                email: "marie@test.fr".into(),
                name: None,
                password_hash: "h".into(),
                role: Role::User,
            },
            t,
        )
        .await
        .unwrap();
    let dup = NewUser {
        email: "MARIE@test.fr".into(),
        name: None,
        password_hash: "h".into(),
        role: Role::User,
    };
    assert!(
        matches!(
            store.create_user(&dup, t).await,
            Err(StoreError::Conflict(_))
        ),
        "{b}: emails are unique ignoring case"
    );
    assert_eq!(
        store
            .user_by_email("marie@test.fr")
            .await
            .unwrap()
            .map(|u| u.id),
        Some(user.id.clone()),
        "{b}"
    );

    let expires = t + chrono::TimeDelta::hours(1);
    store
        .create_session(&NewSession {
            token_hash: "abc".into(),
            user_id: user.id.clone(),
            expires,
            now: t,
        })
        .await
        .unwrap();
    assert!(
        store
            .session_by_token_hash("abc", t)
            .await
            .unwrap()
            .is_some(),
        "{b}"
    );
    assert!(
        store
            .session_by_token_hash("abc", expires + chrono::TimeDelta::seconds(1))
            .await
            .unwrap()
            .is_none(),
        "{b}: expired"
    );
    store
        .renew_session("abc", expires + chrono::TimeDelta::hours(5), t)
        .await
        .unwrap();
    assert!(
        store
            .session_by_token_hash("abc", expires + chrono::TimeDelta::hours(2))
            .await
            .unwrap()
            .is_some(),
        "{b}: renewed"
    );
    store.delete_session("abc").await.unwrap();
    assert!(
        store
            .session_by_token_hash("abc", t)
            .await
            .unwrap()
            .is_none(),
        "{b}"
    );

    let window = Duration::from_secs(60);
    for expected in 1..=3 {
        assert_eq!(
            store.rate_limit_hit("k", window, t).await.unwrap().count,
            expected,
            "{b}"
        );
    }
    assert_eq!(
        store
            .rate_limit_peek("k", window, t)
            .await
            .unwrap()
            .map(|w| w.count),
        Some(3),
        "{b}"
    );
    let later = t + chrono::TimeDelta::seconds(61);
    assert_eq!(
        store.rate_limit_peek("k", window, later).await.unwrap(),
        None,
        "{b}: window over"
    );
    assert_eq!(
        store
            .rate_limit_hit("k", window, later)
            .await
            .unwrap()
            .count,
        1,
        "{b}: new window"
    );
    store.rate_limit_reset("k").await.unwrap();
    assert_eq!(
        store.rate_limit_peek("k", window, later).await.unwrap(),
        None,
        "{b}"
    );

    // Purging removes counters whose window started before the cut-off, and only those.
    store.rate_limit_hit("old", window, t).await.unwrap();
    store.rate_limit_hit("new", window, later).await.unwrap();
    assert_eq!(store.rate_limit_purge(later).await.unwrap(), 1, "{b}");
    assert!(
        store
            .rate_limit_peek("new", window, later)
            .await
            .unwrap()
            .is_some(),
        "{b}"
    );
    assert_eq!(
        store.rate_limit_peek("old", window, t).await.unwrap(),
        None,
        "{b}"
    );
}

crate::common::on_both_backends!(concurrent_rate_limit_hits_are_all_counted);
async fn concurrent_rate_limit_hits_are_all_counted(db: TestDb) {
    let store = std::sync::Arc::new(db.seeded_store().await);
    let t = now();
    let mut tasks = vec![];
    for _ in 0..20 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .rate_limit_hit("shared", Duration::from_secs(60), t)
                .await
                .unwrap()
                .count
        }));
    }
    let mut counts = vec![];
    for task in tasks {
        counts.push(task.await.unwrap());
    }
    counts.sort_unstable();
    assert_eq!(
        counts,
        (1..=20).collect::<Vec<_>>(),
        "{}",
        db.backend.as_str()
    );
}

crate::common::on_both_backends!(carts_belong_to_a_visitor_or_a_user_and_merge_at_sign_in);
async fn carts_belong_to_a_visitor_or_a_user_and_merge_at_sign_in(db: TestDb) {
    let store = db.seeded_store().await;
    let b = db.backend.as_str();
    let t = now();
    let lamp = store
        .product_by_slug("lampe-table-nordique")
        .await
        .unwrap()
        .unwrap();
    let vase = store
        .product_by_slug("vase-ceramique-minimal")
        .await
        .unwrap()
        .unwrap();
    let user = store
        .create_user(
            &NewUser {
                email: "panier@test.fr".into(),
                name: None,
                password_hash: "h".into(),
                role: Role::User,
            },
            t,
        )
        .await
        .unwrap();
    let visitor = CartOwner::Visitor("a".repeat(64));
    let member = CartOwner::User(user.id.clone());
    assert!(store.cart_lines(&visitor).await.unwrap().is_empty(), "{b}");

    store
        .set_cart_line(&visitor, &lamp.id, q(2), t)
        .await
        .unwrap();
    store
        .set_cart_line(&visitor, &vase.id, q(1), t)
        .await
        .unwrap();
    store
        .set_cart_line(&visitor, &vase.id, q(3), t)
        .await
        .unwrap();
    let lines = store.cart_lines(&visitor).await.unwrap();
    let quantities: Vec<(&str, i32)> = lines
        .iter()
        .map(|l| (l.product.slug.as_str(), l.quantity.get()))
        .collect();
    assert_eq!(
        quantities,
        [("lampe-table-nordique", 2), ("vase-ceramique-minimal", 3)],
        "{b}: one line per product, the last quantity set wins"
    );
    assert_eq!(lines[0].product.price.cents(), 8999, "{b}: the live price");
    let quantities = store.cart_quantities(&visitor).await.unwrap();
    assert_eq!(
        quantities.iter().map(|(_, q)| q).sum::<i64>(),
        5,
        "{b}: {quantities:?}"
    );

    // The user already has the lamp; merging adds quantities, capped at the stock.
    store
        .set_cart_line(&member, &lamp.id, q(lamp.stock), t)
        .await
        .unwrap();
    store
        .merge_cart(&"a".repeat(64), &user.id, t)
        .await
        .unwrap();
    let merged: Vec<(String, i32)> = store
        .cart_lines(&member)
        .await
        .unwrap()
        .into_iter()
        .map(|l| (l.product.slug, l.quantity.get()))
        .collect();
    assert_eq!(
        merged,
        [
            ("lampe-table-nordique".to_string(), lamp.stock),
            ("vase-ceramique-minimal".to_string(), 3)
        ],
        "{b}"
    );
    assert!(
        store.cart_lines(&visitor).await.unwrap().is_empty(),
        "{b}: the visitor's cart is gone"
    );

    store
        .set_cart_line(&member, &vase.id, q(0), t)
        .await
        .unwrap();
    assert_eq!(store.cart_lines(&member).await.unwrap().len(), 1, "{b}");
    // An archived product leaves the cart's lines.
    store
        .archive_product("lampe-table-nordique", t, None)
        .await
        .unwrap();
    assert!(store.cart_lines(&member).await.unwrap().is_empty(), "{b}");
    store
        .set_cart_line(&member, &vase.id, q(1), t)
        .await
        .unwrap();
    store.clear_cart(&member).await.unwrap();
    assert!(store.cart_lines(&member).await.unwrap().is_empty(), "{b}");

    store
        .set_cart_line(&CartOwner::Visitor("b".repeat(64)), &vase.id, q(1), t)
        .await
        .unwrap();
    let purged = store
        .purge_visitor_carts(t + chrono::TimeDelta::days(31))
        .await
        .unwrap();
    assert_eq!(purged, 1, "{b}: only visitors' carts are purged");
}

crate::common::on_both_backends!(a_name_edit_racing_checkouts_keeps_the_stock_exact);
/// An administrator renaming a product while customers check it out must not write back the stock it saw:
/// every order placed is subtracted exactly once.
async fn a_name_edit_racing_checkouts_keeps_the_stock_exact(db: TestDb) {
    use std::sync::Arc;
    let store = Arc::new(db.seeded_store().await);
    let t = now();
    let product = store
        .update_product(
            "lanterne-solaire-decorative",
            &ProductPatch {
                stock: Some(500),
                ..ProductPatch::default()
            },
            t,
            None,
        )
        .await
        .unwrap();
    let user = crate::common::customer(store.as_ref().as_ref(), "client@vivr.fr").await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..60 {
        let (shared, product, user) = (store.clone(), product.clone(), user.clone());
        tasks.spawn(async move {
            let order = crate::common::order_of(format!("VIVR-RACE-{i:04}"), &user, &product, 2);
            shared.place_order(&order).await.map(|_| 2).unwrap_or(0)
        });
        let store = store.clone();
        tasks.spawn(async move {
            let rename = ProductPatch {
                name: Some(format!("Lanterne n°{i}")),
                ..ProductPatch::default()
            };
            store
                .update_product("lanterne-solaire-decorative", &rename, now(), None)
                .await
                .unwrap();
            0
        });
    }
    let mut sold = 0;
    while let Some(done) = tasks.join_next().await {
        sold += done.unwrap();
    }
    let after = store
        .product_by_slug("lanterne-solaire-decorative")
        .await
        .unwrap()
        .unwrap();
    assert!(sold > 0, "some orders went through");
    assert_eq!(after.stock, 500 - sold, "{} orders placed", sold / 2);
    assert!(after.name.starts_with("Lanterne n°"), "{}", after.name);
}
