//! Handler tests through the router (no socket): every route's success and its error cases.

use crate::common;

use crate::common::{TestApp, TestDb};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::json;

#[tokio::test]
async fn catalogue_api_reads() {
    let app = TestApp::sqlite().await;
    let r = app.get("/api/v1/categories").await;
    assert_eq!(r.status, StatusCode::OK);
    let cats = r.json()["data"].as_array().unwrap().clone();
    assert_eq!(cats.len(), 6);
    assert!(
        cats.iter()
            .any(|c| c["slug"] == "salon" && c["product_count"] == 5)
    );

    let r = app
        .get("/api/v1/products?category=salon&sort=price-asc&limit=2&page=2")
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let body = r.json();
    assert_eq!(
        body["pagination"],
        json!({"page": 2, "limit": 2, "total": 5, "total_pages": 3})
    );
    assert_eq!(body["data"][0]["slug"], "tapis-berbere-ivoire");
    let first = app
        .get("/api/v1/products?category=salon&sort=price-asc&limit=2")
        .await
        .json();
    assert_eq!(first["data"][1]["slug"], "lampe-table-nordique");
    assert_eq!(first["data"][1]["price_cents"], 8999);
    assert_eq!(first["data"][1]["price"], "89,99\u{202f}€");
    assert_eq!(first["data"][1]["discount_percent"], 31);

    let r = app
        .get("/api/v1/products?search=c%C3%A9ramique&in_stock=true&min_price=40&max_price=50")
        .await;
    assert_eq!(r.json()["pagination"]["total"], 1);

    let r = app.get("/api/v1/products/lampe-table-nordique").await;
    assert_eq!(r.status, StatusCode::OK);
    let p = r.json();
    assert_eq!(p["data"]["category"]["slug"], "salon");
    assert_eq!(p["data"]["rating"], json!({"average": 0.0, "count": 0}));
    assert_eq!(p["data"]["related"].as_array().unwrap().len(), 4);
    assert!(
        !r.text().contains('@'),
        "no email address in a public product answer"
    );
}

#[tokio::test]
async fn catalogue_api_caching() {
    let app = TestApp::sqlite().await;
    let r = app.get("/api/v1/products").await;
    assert_eq!(
        r.header("cache-control"),
        Some("public, max-age=60, stale-while-revalidate=300")
    );
    let etag = r.header("etag").unwrap().to_string();
    let again = app
        .send(
            Request::get("/api/v1/products")
                .header(header::IF_NONE_MATCH, &etag)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
    assert!(r.set_cookies().is_empty(), "public answers set no cookie");
}

#[tokio::test]
async fn catalogue_api_rejects_bad_parameters() {
    let app = TestApp::sqlite().await;
    for (uri, field) in [
        ("/api/v1/products?limit=101", "limit"),
        ("/api/v1/products?limit=0", "limit"),
        ("/api/v1/products?page=-1", "page"),
        ("/api/v1/products?page=abc", "page"),
        ("/api/v1/products?sort=cheap", "sort"),
        ("/api/v1/products?min_price=1e9", "min_price"),
        ("/api/v1/products?min_price=50&max_price=10", "min_price"),
        ("/api/v1/products?featured=maybe", "featured"),
        ("/api/v1/products?category=Not%20A%20Slug", "category"),
    ] {
        let r = app.get(uri).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{uri}: {}", r.text());
        assert_eq!(r.json()["error"]["code"], "invalid_parameter", "{uri}");
        assert_eq!(r.json()["error"]["field"], field, "{uri}");
    }
    let r = app.get("/api/v1/products/nope").await;
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let r = app.get("/api/v1/nothing-here").await;
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (StatusCode::NOT_FOUND, "not_found")
    );
}

#[tokio::test]
async fn admin_writes_need_a_session_the_admin_role_and_csrf() {
    let app = TestApp::sqlite().await;
    let product = json!({"name": "Bougie parfumée", "description": "Cire de soja.", "price_cents": 2499, "category": "salon", "stock": 4});

    let r = app
        .post_json("/api/v1/products", &product, None, None)
        .await;
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );

    let (user_cookies, user_csrf) = app.register("marie@test.fr", "Mar1e-Solide!").await;
    let r = app
        .post_json(
            "/api/v1/products",
            &product,
            Some(&user_cookies),
            Some(&user_csrf),
        )
        .await;
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (StatusCode::FORBIDDEN, "forbidden")
    );

    let (admin_cookies, admin_csrf) = app.admin().await;
    let r = app
        .post_json("/api/v1/products", &product, Some(&admin_cookies), None)
        .await;
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (StatusCode::FORBIDDEN, "csrf_failed"),
        "missing CSRF header"
    );
    let r = app
        .post_json(
            "/api/v1/products",
            &product,
            Some(&admin_cookies),
            Some(&user_csrf),
        )
        .await;
    assert_eq!(r.error_code(), "csrf_failed", "another browser's token");

    let r = app
        .post_json(
            "/api/v1/products",
            &product,
            Some(&admin_cookies),
            Some(&admin_csrf),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["data"]["slug"], "bougie-parfumee");

    let r = app
        .post_json(
            "/api/v1/products",
            &product,
            Some(&admin_cookies),
            Some(&admin_csrf),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "duplicate slug");

    let bad = json!({"name": "X", "description": "Y", "price_cents": -5});
    let r = app
        .post_json(
            "/api/v1/products",
            &bad,
            Some(&admin_cookies),
            Some(&admin_csrf),
        )
        .await;
    assert_eq!(
        (r.status, r.json()["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("price_cents"))
    );
    let mass = json!({"name": "X", "description": "Y", "price_cents": 5, "id": "hijack"});
    let r = app
        .post_json(
            "/api/v1/products",
            &mass,
            Some(&admin_cookies),
            Some(&admin_csrf),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown fields are refused: {}",
        r.text()
    );
    let r = app
        .post_json(
            "/api/v1/products",
            &json!({"name": "X", "description": "Y", "price_cents": 5, "category": "nope"}),
            Some(&admin_cookies),
            Some(&admin_csrf),
        )
        .await;
    assert_eq!(
        (r.status, r.json()["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("category"))
    );

    // Warm the catalogue cache; the admin change below must show at once all the same.
    let before = app.get("/api/v1/products/bougie-parfumee").await.json();
    assert_eq!(before["data"]["price_cents"], 2499);
    let listed = app.get("/api/v1/products?search=bougie").await.json();
    assert_eq!(listed["data"][0]["price_cents"], 2499);
    let r = app
        .json_request(
            "PATCH",
            "/api/v1/products/bougie-parfumee",
            &json!({"price_cents": 1999, "compare_price_cents": 2499}),
            Some(&admin_cookies),
            Some(&admin_csrf),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        (
            r.json()["data"]["price_cents"].as_i64(),
            r.json()["data"]["discount_percent"].as_i64()
        ),
        (Some(1999), Some(20))
    );
    let after = app.get("/api/v1/products/bougie-parfumee").await.json();
    assert_eq!(
        after["data"]["price_cents"], 1999,
        "not served from a stale cache"
    );
    let listed = app.get("/api/v1/products?search=bougie").await.json();
    assert_eq!(listed["data"][0]["price_cents"], 1999, "listing not stale");
    let r = app
        .json_request(
            "PATCH",
            "/api/v1/products/nope",
            &json!({"stock": 1}),
            Some(&admin_cookies),
            Some(&admin_csrf),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .json_request(
            "DELETE",
            "/api/v1/products/bougie-parfumee",
            &json!({}),
            Some(&admin_cookies),
            Some(&admin_csrf),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/v1/products/bougie-parfumee").await.status,
        StatusCode::NOT_FOUND
    );

    let r = app
        .post_json(
            "/api/v1/categories",
            &json!({"name": "Entrée"}),
            Some(&admin_cookies),
            Some(&admin_csrf),
        )
        .await;
    assert_eq!(
        (r.status, r.json()["data"]["slug"].as_str()),
        (StatusCode::CREATED, Some("entree"))
    );
    let r = app
        .json_request(
            "PATCH",
            "/api/v1/categories/entree",
            &json!({"description": "Accueillir"}),
            Some(&admin_cookies),
            Some(&admin_csrf),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app
        .json_request(
            "DELETE",
            "/api/v1/categories/entree",
            &json!({}),
            Some(&admin_cookies),
            Some(&admin_csrf),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app
        .json_request(
            "DELETE",
            "/api/v1/categories/entree",
            &json!({}),
            Some(&user_cookies),
            Some(&user_csrf),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn malformed_and_oversized_bodies() {
    let app = TestApp::sqlite().await;
    let send = |body: Body, content_type: &'static str| {
        Request::post("/api/v1/auth/login")
            .header(header::CONTENT_TYPE, content_type)
            .body(body)
            .unwrap()
    };
    let r = app
        .send(send(Body::from("{not json"), "application/json"))
        .await;
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (StatusCode::BAD_REQUEST, "malformed_json")
    );
    let r = app
        .send(send(
            Body::from("email=a"),
            "application/x-www-form-urlencoded",
        ))
        .await;
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
    );
    let r = app
        .send(send(Body::from(r#"{"email": 5}"#), "application/json"))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let huge = format!(
        r#"{{"email":"a@b.fr","password":"{}"}}"#,
        "x".repeat(200_000)
    );
    let r = app.send(send(Body::from(huge), "application/json")).await;
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
}

#[tokio::test]
async fn register_login_logout_and_throttling() {
    let app = TestApp::sqlite().await;
    let r = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"email": "x@test.fr", "password": "abc"}),
            None,
            None,
        )
        .await;
    assert_eq!(
        (r.status, r.json()["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("password"))
    );
    assert!(r.text().contains("au moins 8 caractères"), "{}", r.text());
    let r = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"email": "pas-un-email", "password": "Tr3s-Solide!"}),
            None,
            None,
        )
        .await;
    assert_eq!(r.json()["error"]["field"], "email");

    // Registering answers 202 and opens no session; signing in waits for the activation link, and says so only
    // to the right password.
    let first = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"email": "Claire@Test.fr", "password": "Tr3s-Solide!"}),
            None,
            None,
        )
        .await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.text());
    assert!(
        first
            .set_cookies()
            .iter()
            .all(|c| !c.starts_with("vivr_session="))
    );
    let early = |password: &'static str| {
        let body = json!({"email": "claire@test.fr", "password": password});
        let app = &app;
        async move { app.post_json("/api/v1/auth/login", &body, None, None).await }
    };
    assert_eq!(
        early("Pas-Le-Bon-1!").await.error_code(),
        "invalid_credentials"
    );
    assert_eq!(
        early("Tr3s-Solide!").await.error_code(),
        "account_not_activated"
    );
    // The same answer, word for word, for an address that has an account.
    let again = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"email": "claire@test.FR", "password": "Autre-Solide-9!"}),
            None,
            None,
        )
        .await;
    assert_eq!(again.status, StatusCode::ACCEPTED);
    assert_eq!(again.text(), first.text());
    // The link activates the account (tested with its email in `lifecycle`); then the password signs in.
    app.db.activate("claire@test.fr").await;
    let r = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": "Claire@Test.fr", "password": "Tr3s-Solide!"}),
            None,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let cookies = r.set_cookies().join("; ");
    let csrf = r.json()["data"]["csrf_token"].as_str().unwrap().to_string();
    assert!(cookies.contains("vivr_session="));

    let r = app.get_with_cookies("/api/v1/auth/session", &cookies).await;
    assert_eq!(
        r.json()["data"]["user"]["email"],
        "claire@test.fr",
        "stored normalised"
    );
    assert_eq!(r.header("cache-control"), Some("no-store"));

    let r = app
        .post_json("/api/v1/auth/logout", &json!({}), Some(&cookies), None)
        .await;
    assert_eq!(r.error_code(), "csrf_failed");
    let r = app
        .post_json(
            "/api/v1/auth/logout",
            &json!({}),
            Some(&cookies),
            Some(&csrf),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app.get_with_cookies("/api/v1/auth/session", &cookies).await;
    assert!(
        r.json()["data"]["user"].is_null(),
        "session gone after logout"
    );

    let good = json!({"email": "claire@test.fr", "password": "Tr3s-Solide!"});
    let r = app.post_json("/api/v1/auth/login", &good, None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let wrong = json!({"email": "claire@test.fr", "password": "Mauvais-1!"});
    let unknown = json!({"email": "ghost@test.fr", "password": "Mauvais-1!"});
    let a = app
        .post_json("/api/v1/auth/login", &wrong, None, None)
        .await;
    let b = app
        .post_json("/api/v1/auth/login", &unknown, None, None)
        .await;
    assert_eq!(
        (a.status, a.json()["error"].clone()),
        (b.status, b.json()["error"].clone()),
        "no account enumeration"
    );
    for _ in 0..4 {
        app.post_json("/api/v1/auth/login", &wrong, None, None)
            .await;
    }
    let r = app.post_json("/api/v1/auth/login", &good, None, None).await;
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "too_many_requests")
    );
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
}

#[tokio::test]
async fn login_throttle_per_ip_covers_many_accounts() {
    let app = TestApp::with_config(TestDb::sqlite(), |c| c.rate_limits.login_ip.max = 3).await;
    for i in 0..3 {
        let r = app
            .post_json(
                "/api/v1/auth/login",
                &json!({"email": format!("u{i}@test.fr"), "password": "Nope-123!"}),
                None,
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
    }
    let r = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": "other@test.fr", "password": "Nope-123!"}),
            None,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn health_metrics_and_security_headers() {
    let app = TestApp::sqlite().await;
    let r = app.get("/api/health").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(app.get("/api/health/live").await.status, StatusCode::OK);
    let m = app.get("/metrics").await.text();
    for needle in [
        "vivr_http_requests_total",
        "vivr_http_request_duration_seconds_bucket",
        "vivr_db_pool_connections",
        "vivr_build_info",
    ] {
        assert!(m.contains(needle), "{needle} missing");
    }
    assert!(
        m.contains("route=\"/api/health\""),
        "routes labelled by pattern"
    );

    let r = app.get("/").await;
    let csp = r.header("content-security-policy").unwrap();
    assert!(
        csp.contains("default-src 'none'")
            && csp.contains("'nonce-")
            && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"));
    for (name, value) in [
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "strict-origin-when-cross-origin"),
        ("cross-origin-opener-policy", "same-origin"),
    ] {
        assert_eq!(r.header(name), Some(value), "{name}");
    }
    assert!(r.header("x-request-id").is_some_and(|v| v.len() >= 32));
    assert!(
        r.header("strict-transport-security").is_none(),
        "no HSTS in development"
    );
    let a = app
        .get("/")
        .await
        .header("content-security-policy")
        .unwrap()
        .to_string();
    assert_ne!(csp, a, "a new nonce per request");
}

#[tokio::test]
async fn production_sends_hsts_and_secure_host_cookies() {
    let app = TestApp::with_config(TestDb::sqlite(), |c| {
        c.environment = vivr_shop::Environment::Production
    })
    .await;
    let r = app.get("/connexion").await;
    assert!(
        r.header("strict-transport-security")
            .unwrap()
            .contains("max-age=63072000")
    );
    let cookie = r.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap();
    assert!(
        cookie.starts_with("__Host-vivr_csrf=")
            && cookie.contains("Secure")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
}

#[tokio::test]
async fn readiness_reports_missing_migrations() {
    use vivr::migrate::{Migration, Probe, embedded};
    use vivr_shop::store::db::Db;
    let db = TestDb::sqlite();
    let pool = Db::connect(&db.url, &Default::default()).await.unwrap();
    let mut migrations = embedded(pool.backend());
    let ready = Probe::expecting(pool.clone(), migrations.clone());
    // The shop's own migrations are applied: ready.
    let app = TestApp::with_config(db, |c| c.schema_probe = Some(std::sync::Arc::new(ready))).await;
    let r = app.get("/api/health").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());

    // A migration this build has and the database lacks, and one applied from another file.
    let edited = migrations.first_mut().unwrap();
    edited.sql = format!("{}\n-- edited", edited.sql).into();
    let edited = edited.name.to_string();
    migrations.push(Migration {
        name: "29991231000000_future".into(),
        sql: "SELECT 1;".into(),
    });
    // (It reads the first database, which the first app migrated.)
    let behind = Probe::expecting(pool, migrations);
    let app = TestApp::with_config(TestDb::sqlite(), |c| {
        c.schema_probe = Some(std::sync::Arc::new(behind))
    })
    .await;
    let r = app.get("/api/health").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    let body = r.json();
    let problems: Vec<&str> = body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p.as_str())
        .collect();
    assert_eq!(
        problems,
        [
            "migrations: 29991231000000_future is not applied".to_string(),
            format!("migrations: {edited} was applied from a different file"),
        ],
        "{body}"
    );
}

#[tokio::test]
async fn static_assets_are_hashed_and_immutable() {
    let app = TestApp::sqlite().await;
    let page = app.get("/").await.text();
    let start = page.find("/static/app.").unwrap();
    let href = &page[start..start + page[start..].find('"').unwrap()];
    let r = app.get(href).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(
        app.get("/static/app.css").await.status,
        StatusCode::NOT_FOUND
    );
}

crate::common::on_both_backends!(cart_is_server_side_validated_and_merged_at_sign_in);
/// The cart API and pages: server-side, priced from the database, quantities from 1 to the stock, tampering
/// refused, and a visitor's cart merged into the user's at sign-in.
async fn cart_is_server_side_validated_and_merged_at_sign_in(db: TestDb) {
    let b = db.backend.as_str();
    let app = TestApp::with_config(db, |_| {}).await;
    let session = app.get("/api/v1/auth/session").await;
    let csrf = session.json()["data"]["csrf_token"]
        .as_str()
        .unwrap()
        .to_string();
    let mut cookies = session.set_cookies().join("; ");

    let r = app
        .post_json(
            "/api/v1/cart/items",
            &json!({"slug": "lampe-table-nordique", "quantity": 2}),
            Some(&cookies),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{b}: CSRF required");

    let r = app
        .post_json(
            "/api/v1/cart/items",
            &json!({"slug": "lampe-table-nordique", "quantity": 2}),
            Some(&cookies),
            Some(&csrf),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{b}: {}", r.text());
    let cart_cookie = r
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("vivr_cart="))
        .expect("a visitor gets a cart cookie");
    cookies = format!("{cookies}; {cart_cookie}");
    let cart = r.json()["data"].clone();
    assert_eq!(
        (cart["item_count"].as_i64(), cart["subtotal_cents"].as_i64()),
        (Some(2), Some(17998)),
        "{b}: priced from the database: {cart}"
    );

    // Tampering and bad quantities change nothing.
    for (body, status) in [
        (
            json!({"slug": "lampe-table-nordique", "quantity": 1, "price_cents": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"slug": "lampe-table-nordique", "quantity": -1}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"slug": "lampe-table-nordique", "quantity": 0}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"slug": "lampe-table-nordique", "quantity": 1.5}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"slug": "lampe-table-nordique", "quantity": 14}),
            StatusCode::CONFLICT,
        ),
        (
            json!({"slug": "nope", "quantity": 1}),
            StatusCode::NOT_FOUND,
        ),
    ] {
        let r = app
            .post_json("/api/v1/cart/items", &body, Some(&cookies), Some(&csrf))
            .await;
        assert_eq!(r.status, status, "{b}: {body} → {}", r.text());
    }
    let r = app.get_with_cookies("/api/v1/cart", &cookies).await;
    assert_eq!(r.json()["data"]["item_count"], 2, "{b}: unchanged");

    let r = app
        .json_request(
            "PUT",
            "/api/v1/cart/items/lampe-table-nordique",
            &json!({"quantity": 15}),
            Some(&cookies),
            Some(&csrf),
        )
        .await;
    assert_eq!(r.json()["data"]["item_count"], 15, "{b}: up to the stock");
    // Each change renews the visitor's cookie: its 30 days count from the last change.
    let renewed = r
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|c| c.to_str().unwrap().to_string())
        .find(|c| c.starts_with("vivr_cart="))
        .expect("cookie renewed on change");
    assert!(
        renewed.starts_with(&cart_cookie) && renewed.contains("Max-Age=2592000"),
        "{b}: {renewed}"
    );
    let r = app
        .json_request(
            "PUT",
            "/api/v1/cart/items/lampe-table-nordique",
            &json!({"quantity": 16}),
            Some(&cookies),
            Some(&csrf),
        )
        .await;
    assert_eq!(r.error_code(), "insufficient_stock", "{b}");
    let r = app
        .json_request(
            "DELETE",
            "/api/v1/cart/items/lampe-table-nordique",
            &json!({}),
            Some(&cookies),
            Some(&csrf),
        )
        .await;
    assert_eq!(r.json()["data"]["item_count"], 0, "{b}");

    // Without JavaScript: the product page's form, then the cart page.
    let page = app
        .get_with_cookies("/produits/vase-ceramique-minimal", &cookies)
        .await;
    let token = common::csrf_from(&page.text());
    let r = app
        .post_form(
            "/panier/ajouter",
            &[
                ("csrf_token", &token),
                ("slug", "vase-ceramique-minimal"),
                ("quantity", "1"),
            ],
            &cookies,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{b}: {}", r.text());
    let r = app
        .post_form(
            "/panier/modifier",
            &[
                ("csrf_token", &token),
                ("slug", "vase-ceramique-minimal"),
                ("quantity", "deux"),
            ],
            &cookies,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert!(r.text().contains("nombre entier"), "{b}");
    let r = app.get_with_cookies("/panier", &cookies).await;
    let html = r.text();
    assert!(
        html.contains("Panier (1)") && html.contains("Vase"),
        "{b}: {html}"
    );

    // Signing in moves the visitor's cart to the account and clears the visitor cookie.
    app.register("panier@test.fr", "Panier-Solide-1").await;
    let r = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": "panier@test.fr", "password": "Panier-Solide-1"}),
            Some(&cookies),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{b}: {}", r.text());
    assert!(
        r.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("vivr_cart=;")),
        "{b}: the visitor cookie is cleared"
    );
    let user_cookies = r.set_cookies().join("; ");
    let r = app.get_with_cookies("/api/v1/cart", &user_cookies).await;
    assert_eq!(
        r.json()["data"]["lines"][0]["slug"],
        "vase-ceramique-minimal",
        "{b}"
    );
}
