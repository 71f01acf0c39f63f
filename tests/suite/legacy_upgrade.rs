//! An original VIVR database (Prisma schema, float prices, bcrypt hashes) is baselined and upgraded without
//! losing or altering a row: prices become exact cents and users sign in with their old passwords.

use crate::common::{TestApp, TestDb};
use axum::http::StatusCode;
use serde_json::json;
use vivr::migrate::{self, DeployOptions, embedded};
use vivr_shop::store::Backend;

#[tokio::test]
async fn original_database_is_baselined_and_upgraded() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let migrations = embedded(Backend::Postgres);
    let init = migrations[0].clone();
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    // The original schema, as `prisma db push` left it (no history table), with the seed's data shapes.
    sqlx::raw_sql(sqlx::AssertSqlSafe(init.sql.to_string()))
        .execute(&pool)
        .await
        .unwrap();
    let hash = bcrypt::hash("Ancien-Mot2passe!", 10).unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        r#"INSERT INTO "Category" VALUES ('cat1', 'Salon', 'salon', NULL, NULL, now(), now());
           INSERT INTO "User" ("id", "email", "name", "password", "role", "updatedAt")
               VALUES ('u1', 'Marie@Test.fr', 'Marie D.', '{hash}', 'USER', now());
           INSERT INTO "Product" ("id", "name", "slug", "description", "price", "comparePrice", "images", "categoryId", "stock", "featured", "updatedAt")
               VALUES ('p1', 'Lampe de table Nordique', 'lampe-table-nordique', 'Lampe en bois.', 89.99, 129.99, '["https://images.unsplash.com/x"]', 'cat1', 15, true, now()),
                      ('p2', 'Demi-centime', 'demi-centime', 'Arrondi.', 0.125, NULL, '[]', NULL, 1, false, now()),
                      ('p3', 'Grand prix', 'grand-prix', 'Précision.', 1234567.89, NULL, '[]', NULL, 0, false, now());
           INSERT INTO "Order" ("id", "orderNumber", "userId", "subtotal", "shipping", "total", "status", "paymentMethod", "address", "updatedAt")
               VALUES ('o1', 'VIV-M5X2K9AB-7QZ3', 'u1', 89.99, 4.99, 94.98, 'pending', 'stripe', '{{}}', now());
           INSERT INTO "OrderItem" VALUES ('oi1', 'o1', 'p1', 'Lampe de table Nordique', 89.99, 1, NULL);
           INSERT INTO "Review" ("id", "userId", "productId", "rating", "title", "verified", "updatedAt")
               VALUES ('r1', 'u1', 'p1', 5, 'Magnifique !', true, now());"#
    )))
    .execute(&pool)
    .await
    .unwrap();

    let mut conn = migrate::connect(&db.url).await.unwrap();
    let refused = migrate::deploy(&mut conn, &migrations, &DeployOptions::default())
        .await
        .unwrap_err();
    assert!(
        format!("{refused:#}").contains("P3005"),
        "a non-empty database without history is not migrated blindly: {refused:#}"
    );
    migrate::resolve(
        &mut conn,
        &migrations,
        migrate::Resolution::Applied(&init.name),
        &DeployOptions::default(),
    )
    .await
    .unwrap();
    let report = migrate::deploy(&mut conn, &migrations, &DeployOptions::default())
        .await
        .unwrap();
    assert_eq!(report.applied.len(), embedded(Backend::Postgres).len() - 1);
    assert!(
        migrate::status(&mut conn, &migrations)
            .await
            .unwrap()
            .is_up_to_date()
    );

    let prices: Vec<(String, i64, Option<i64>)> = sqlx::query_as(
        r#"SELECT "id", "priceCents", "comparePriceCents" FROM "Product" ORDER BY "id""#,
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        prices,
        vec![
            ("p1".into(), 8999, Some(12999)),
            ("p2".into(), 13, None),
            ("p3".into(), 123_456_789, None)
        ]
    );
    let order: (i64, i64, i64, String) = sqlx::query_as(
        r#"SELECT "subtotalCents", "shippingCents", "totalCents", "status" FROM "Order""#,
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(order, (8999, 499, 9498, "PENDING".into()));
    let counts: (i64, i64, i64, i64) = sqlx::query_as(
        r#"SELECT (SELECT COUNT(*) FROM "User"), (SELECT COUNT(*) FROM "Product"), (SELECT COUNT(*) FROM "OrderItem"), (SELECT COUNT(*) FROM "Review")"#,
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(counts, (1, 3, 1, 1), "no row lost");
    let email: String = sqlx::query_scalar(r#"SELECT "email" FROM "User""#)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(email, "Marie@Test.fr", "existing rows are not rewritten");

    // The shop serves the upgraded database; the old password still works and is rehashed.
    let app = TestApp::with_config(db, |_| {}).await;
    let r = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": "marie@test.fr", "password": "Ancien-Mot2passe!"}),
            None,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let stored: String = sqlx::query_scalar(r#"SELECT "password" FROM "User""#)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        stored.starts_with("$argon2id$"),
        "legacy bcrypt hash upgraded"
    );
    let p = app
        .get("/api/v1/products/lampe-table-nordique")
        .await
        .json();
    assert_eq!(
        (
            p["data"]["price_cents"].as_i64(),
            p["data"]["rating"]["count"].as_i64()
        ),
        (Some(8999), Some(1))
    );
    assert!(!p.to_string().contains("Marie@Test.fr"));
    assert_eq!(app.get("/api/health").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_failing_migration_is_recorded_and_blocks() {
    // The runner's failure path on SQLite: a broken script leaves nothing applied and blocks the next deploy.
    let db = TestDb::sqlite();
    db.migrate().await;
    let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
    sqlx::query(r#"INSERT INTO "_prisma_migrations" ("id", "checksum", "migration_name", "started_at") VALUES ('x', 'y', '20261124090000_init', '2026-01-01')"#)
        .execute(&pool)
        .await
        .unwrap();
    let mut conn = migrate::connect(&db.url).await.unwrap();
    let migrations = embedded(Backend::Sqlite);
    let err = migrate::deploy(&mut conn, &migrations, &DeployOptions::default())
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("P3009"), "{err:#}");
}
