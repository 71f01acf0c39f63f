//! The shop under abuse: parallel guessing, lock-outs, cookies on cacheable answers, metrics labels, forged
//! request ids, answers given outside the handlers (timeouts, oversized bodies), races on the catalogue.

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use futures_util::future::join_all;
use serde_json::json;

use crate::common::process::read_response;
use crate::common::{LiveShop, TestApp, TestDb, TestResponse};
use vivr_shop::config::IpNet;

/// A shop that believes `X-Forwarded-For` from the test's peer address, so each request can come from its own
/// client IP.
async fn shop_behind_a_proxy(configure: impl FnOnce(&mut vivr_shop::ShopConfig)) -> TestApp {
    TestApp::with_config(TestDb::sqlite(), |c| {
        c.trusted_proxies = vec![IpNet::parse("192.0.2.10").unwrap()];
        // Room for every guess to wait for a hash: this test counts limits, not the hashing queue.
        c.password_queue = 64;
        configure(c);
    })
    .await
}

async fn login_from(app: &TestApp, ip: &str, email: &str, password: &str) -> TestResponse {
    let body = json!({ "email": email, "password": password }).to_string();
    app.send(
        Request::post("/api/v1/auth/login")
            .header(header::CONTENT_TYPE, "application/json")
            .header("x-forwarded-for", ip)
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

/// (evaluated, refused): answers that judged a password (400 invalid_credentials), and 429s.
fn tally(answers: &[TestResponse]) -> (usize, usize) {
    let evaluated = answers
        .iter()
        .filter(|r| r.status == StatusCode::BAD_REQUEST && r.error_code() == "invalid_credentials")
        .count();
    let refused = answers
        .iter()
        .filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(
        evaluated + refused,
        answers.len(),
        "{:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    (evaluated, refused)
}

#[tokio::test]
async fn parallel_guesses_are_counted_before_any_password_is_verified() {
    let app = shop_behind_a_proxy(|_| {}).await;
    app.register("cible@vivr.fr", "Tr3s-Solide!").await;

    // Thirty guesses on one account from one address, all at once: five are evaluated.
    let guesses = (0..30).map(|i| {
        let app = &app;
        async move { login_from(app, "203.0.113.5", "cible@vivr.fr", &format!("Devine-{i}!")).await }
    });
    let answers = join_all(guesses).await;
    assert_eq!(tally(&answers), (5, 25));

    // The owner, from another address, still gets in (the guesser locked only its own pair out).
    let owner = login_from(&app, "198.51.100.7", "cible@vivr.fr", "Tr3s-Solide!").await;
    assert_eq!(owner.status, StatusCode::OK, "{}", owner.text());
    // And from the guesser's address, the right password is refused too: that pair is locked.
    let same_ip = login_from(&app, "203.0.113.5", "cible@vivr.fr", "Tr3s-Solide!").await;
    assert_eq!(same_ip.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(same_ip.header("retry-after").is_some());

    // Thirty guesses on thirty accounts from one address, all at once: twenty are evaluated.
    let sprayed = (0..30).map(|i| {
        let email = format!("compte{i}@vivr.fr");
        let app = &app;
        async move { login_from(app, "203.0.113.9", &email, "Devine-tout!").await }
    });
    let answers = join_all(sprayed).await;
    assert_eq!(tally(&answers), (20, 10));
}

#[tokio::test]
async fn a_correct_password_gives_its_slot_back_and_many_addresses_meet_the_account_ceiling() {
    let app = shop_behind_a_proxy(|c| c.rate_limits.login_account.max = 8).await;
    app.register("cible@vivr.fr", "Tr3s-Solide!").await;
    // Signing in often never uses up the per-address limit: successes are refunded.
    for _ in 0..25 {
        let r = login_from(&app, "198.51.100.7", "cible@vivr.fr", "Tr3s-Solide!").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }
    // Eight failures spread over four addresses reach the account-wide ceiling: every address is refused now.
    for ip in ["203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4"] {
        for _ in 0..2 {
            let r = login_from(&app, ip, "cible@vivr.fr", "Devine-encore!").await;
            assert_eq!(r.error_code(), "invalid_credentials");
        }
    }
    let r = login_from(&app, "198.51.100.99", "cible@vivr.fr", "Tr3s-Solide!").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text());
}

#[tokio::test]
async fn a_publicly_cacheable_answer_never_carries_a_cookie() {
    let app = TestApp::sqlite().await;
    let (cookies, _) = app.register("client@vivr.fr", "Tr3s-Solide!").await;
    let token = cookies
        .split("; ")
        .find_map(|c| c.strip_prefix("vivr_session="))
        .unwrap()
        .to_string();
    // Make the session due for renewal: last seen two minutes ago, expiring sooner than a renewal would.
    let now = vivr_shop::auth::now();
    app.state
        .store()
        .renew_session(
            &vivr_shop::auth::hash_token(&token),
            now + chrono::TimeDelta::days(1),
            now - chrono::TimeDelta::minutes(2),
        )
        .await
        .unwrap();

    let public = app.get_with_cookies("/api/v1/products", &cookies).await;
    assert_eq!(public.status, StatusCode::OK);
    assert!(
        public
            .header("cache-control")
            .unwrap()
            .starts_with("public"),
        "{:?}",
        public.header("cache-control")
    );
    assert!(
        public.set_cookies().is_empty(),
        "{:?}",
        public.set_cookies()
    );

    // The next private answer slides the session.
    let private = app.get_with_cookies("/compte", &cookies).await;
    assert_eq!(private.status, StatusCode::OK);
    assert!(
        private
            .set_cookies()
            .iter()
            .any(|c| c.starts_with("vivr_session=")),
        "{:?}",
        private.set_cookies()
    );
}

#[tokio::test]
async fn invented_methods_share_one_metrics_label() {
    let app = TestApp::sqlite().await;
    for i in 0..50 {
        let method = format!("INVENTED{i}");
        let r = app
            .send(
                Request::builder()
                    .method(method.as_str())
                    .uri("/api/v1/products")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    }
    let metrics = app.get("/metrics").await.text();
    assert!(
        !metrics.contains("INVENTED"),
        "labels grew with the methods"
    );
    assert!(metrics.contains("method=\"OTHER\""), "{metrics}");
}

#[tokio::test]
async fn request_ids_from_clients_are_kept_only_when_plain() {
    let app = TestApp::sqlite().await;
    let with_id = |id: &'static str| {
        Request::get("/api/health/live")
            .header("x-request-id", id)
            .body(Body::empty())
            .unwrap()
    };
    let r = app.send(with_id("lb-7f3a.2_x")).await;
    assert_eq!(r.header("x-request-id"), Some("lb-7f3a.2_x"));
    for forged in [
        "abc\" level=error msg=\"forged",
        "{\"user\":\"admin\"}",
        "a b",
        "x".repeat(65).leak(),
    ] {
        let r = app.send(with_id(forged)).await;
        let id = r.header("x-request-id").unwrap();
        assert_ne!(id, forged);
        assert!(
            id.len() == 36 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-'),
            "a fresh id instead: {id}"
        );
    }
}

#[tokio::test]
async fn a_timeout_answer_carries_the_security_headers() {
    let app = TestApp::with_config(TestDb::sqlite(), |c| {
        c.request_timeout = Duration::from_nanos(1);
        c.catalog_cache_ttl = Duration::ZERO;
    })
    .await;
    // A sign-in always waits (the database, then a password hash on another thread): it outlives 1 ns.
    let r = login_from(&app, "203.0.113.5", "client@vivr.fr", "Tr3s-Solide!").await;
    assert_eq!(r.status, StatusCode::REQUEST_TIMEOUT);
    for name in [
        "content-security-policy",
        "x-content-type-options",
        "x-frame-options",
        "x-request-id",
    ] {
        assert!(r.header(name).is_some(), "{name} missing on the 408");
    }
}

#[tokio::test]
async fn a_declared_oversized_body_is_refused_before_it_is_sent() {
    let shop = LiveShop::start(TestDb::sqlite(), |_| {}).await;
    let addr = shop.addr;
    let answer = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        // Headers only: the ten megabytes never come.
        write!(
            stream,
            "POST /api/v1/auth/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Content-Length: 10000000\r\n\r\n"
        )
        .unwrap();
        read_response(&mut stream)
    })
    .await
    .unwrap()
    .expect("answered without waiting for the body");
    assert_eq!(answer.status, 413);
    assert_eq!(answer.json()["error"]["code"], "payload_too_large");
    assert!(answer.header("content-security-policy").is_some());
}

crate::common::on_both_backends!(archiving_a_product_racing_orders_never_fails);
/// Archiving a product while customers order it: every order either lands (and the product is archived,
/// not deleted) or is refused as unavailable; never a database error.
async fn archiving_a_product_racing_orders_never_fails(db: TestDb) {
    use std::sync::Arc;
    use vivr_shop::store::StoreError;
    let store = Arc::new(db.seeded_store().await);
    let user = crate::common::customer(store.as_ref().as_ref(), "client@vivr.fr").await;
    let products = store
        .list_products(&vivr_shop::store::ProductQuery::default())
        .await
        .unwrap()
        .items;
    for (round, product) in products.iter().take(6).enumerate() {
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..8 {
            let (store, product, user) = (store.clone(), product.clone(), user.clone());
            tasks.spawn(async move {
                let order =
                    crate::common::order_of(format!("VIVR-ARCH-{round}-{i}"), &user, &product, 1);
                match store.place_order(&order).await {
                    Ok(_) | Err(StoreError::Stock(_)) => Ok(()),
                    Err(other) => Err(format!("order: {other:?}")),
                }
            });
        }
        let store = store.clone();
        let slug = product.slug.clone();
        tasks.spawn(async move {
            match store
                .archive_product(&slug, vivr_shop::auth::now(), None)
                .await
            {
                Ok(()) => Ok(()),
                Err(other) => Err(format!("archive: {other:?}")),
            }
        });
        while let Some(done) = tasks.join_next().await {
            done.unwrap().unwrap();
        }
    }
}

/// Every state-changing route of the router, with what it needs: `Session` routes refuse a visitor (401, or the
/// sign-in redirect for pages) before looking at the body, and every route here refuses a request without the
/// CSRF token (403). Routes authenticated otherwise are listed in `EXEMPT` with the reason.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Needs {
    Session,
    TokenOnly,
}

const WRITES: &[(&str, &str, Needs)] = &[
    ("POST", "/api/v1/categories", Needs::Session),
    ("PATCH", "/api/v1/categories/{slug}", Needs::Session),
    ("DELETE", "/api/v1/categories/{slug}", Needs::Session),
    ("POST", "/api/v1/products", Needs::Session),
    ("PATCH", "/api/v1/products/{slug}", Needs::Session),
    ("DELETE", "/api/v1/products/{slug}", Needs::Session),
    ("POST", "/api/v1/auth/logout", Needs::Session),
    ("POST", "/api/v1/cart/items", Needs::TokenOnly),
    ("PUT", "/api/v1/cart/items/{slug}", Needs::TokenOnly),
    ("DELETE", "/api/v1/cart/items/{slug}", Needs::TokenOnly),
    ("DELETE", "/api/v1/cart", Needs::TokenOnly),
    ("POST", "/api/v1/checkout", Needs::Session),
    ("PATCH", "/api/v1/admin/orders/{number}", Needs::Session),
    ("POST", "/api/v1/addresses", Needs::Session),
    ("PUT", "/api/v1/addresses/{id}", Needs::Session),
    ("DELETE", "/api/v1/addresses/{id}", Needs::Session),
    ("POST", "/api/v1/products/{slug}/reviews", Needs::Session),
    (
        "DELETE",
        "/api/v1/products/{slug}/reviews/mine",
        Needs::Session,
    ),
    ("PUT", "/api/v1/wishlist/{slug}", Needs::Session),
    ("DELETE", "/api/v1/wishlist/{slug}", Needs::Session),
    ("POST", "/produits/{slug}/avis", Needs::Session),
    ("POST", "/produits/{slug}/avis/supprimer", Needs::Session),
    ("POST", "/connexion", Needs::TokenOnly),
    ("POST", "/inscription", Needs::TokenOnly),
    ("POST", "/panier/ajouter", Needs::TokenOnly),
    ("POST", "/panier/modifier", Needs::TokenOnly),
    ("POST", "/panier/retirer", Needs::TokenOnly),
    ("POST", "/panier/vider", Needs::TokenOnly),
    ("POST", "/deconnexion", Needs::TokenOnly),
    ("POST", "/commande", Needs::TokenOnly),
    ("POST", "/compte/adresses", Needs::Session),
    ("POST", "/compte/adresses/{id}", Needs::Session),
    ("POST", "/compte/adresses/{id}/supprimer", Needs::Session),
    ("POST", "/compte/envies/ajouter", Needs::Session),
    ("POST", "/compte/envies/retirer", Needs::Session),
    ("POST", "/newsletter", Needs::TokenOnly),
    ("POST", "/admin/commandes/{number}/statut", Needs::Session),
    ("PATCH", "/api/v1/account", Needs::Session),
    ("DELETE", "/api/v1/account", Needs::Session),
    ("PUT", "/api/v1/account/password", Needs::Session),
    ("POST", "/mot-de-passe/oublie", Needs::TokenOnly),
    ("POST", "/mot-de-passe/nouveau", Needs::TokenOnly),
    ("POST", "/compte/profil", Needs::Session),
    ("POST", "/compte/mot-de-passe", Needs::Session),
    ("POST", "/compte/supprimer", Needs::Session),
    ("POST", "/api/v1/admin/images", Needs::Session),
    ("POST", "/admin/images", Needs::Session),
    ("POST", "/admin/produits/nouveau", Needs::Session),
    ("POST", "/admin/produits/{slug}", Needs::Session),
    ("POST", "/admin/produits/{slug}/stock", Needs::Session),
    ("POST", "/admin/produits/{slug}/archiver", Needs::Session),
    ("POST", "/admin/categories", Needs::Session),
    ("POST", "/admin/categories/{slug}", Needs::Session),
    ("POST", "/admin/categories/{slug}/supprimer", Needs::Session),
];

const EXEMPT: &[(&str, &str, &str)] = &[
    (
        "POST",
        "/api/v1/auth/register",
        "JSON only: no cookie authenticates it, cross-site forms cannot send JSON",
    ),
    ("POST", "/api/v1/auth/login", "JSON only, as registration"),
    ("POST", "/api/v1/newsletter", "JSON only, anonymous"),
    (
        "POST",
        "/api/v1/newsletter/unsubscribe",
        "authenticated by the signed unsubscribe token",
    ),
    (
        "POST",
        "/newsletter/desinscription",
        "authenticated by the signed unsubscribe token (RFC 8058 one-click)",
    ),
    (
        "POST",
        "/api/v1/stripe/webhook",
        "authenticated by Stripe's signature",
    ),
    (
        "POST",
        "/api/v1/auth/password/forgot",
        "JSON only, anonymous",
    ),
    (
        "POST",
        "/api/v1/auth/password/reset",
        "authenticated by the emailed reset link's token",
    ),
    (
        "POST",
        "/api/v1/account/email/confirm",
        "authenticated by the emailed link's token (read on any device)",
    ),
    (
        "POST",
        "/compte/email/confirmer",
        "authenticated by the emailed link's token (read on any device)",
    ),
    (
        "POST",
        "/api/v1/auth/activate",
        "authenticated by the emailed activation link's token",
    ),
    (
        "POST",
        "/compte/activer",
        "authenticated by the emailed activation link's token",
    ),
    (
        "POST",
        "/api/v1/newsletter/confirm",
        "authenticated by the signed confirmation token",
    ),
    (
        "POST",
        "/newsletter/confirmer",
        "authenticated by the signed confirmation token",
    ),
];

/// The (method, path) pairs the router declares for anything but GET.
fn declared_writes() -> Vec<(String, String)> {
    declared_routes()
        .into_iter()
        .filter(|(method, _)| method != "GET")
        .collect()
}

#[tokio::test]
async fn every_state_changing_route_needs_its_session_and_token_before_its_body() {
    // The lists cover the router exactly: a new write route must be listed (and so tested) here.
    let mut listed: Vec<(String, String)> = WRITES
        .iter()
        .map(|(m, p, _)| (m.to_string(), p.to_string()))
        .chain(
            EXEMPT
                .iter()
                .map(|(m, p, _)| (m.to_string(), p.to_string())),
        )
        .collect();
    let mut declared = declared_writes();
    listed.sort();
    declared.sort();
    assert_eq!(
        declared, listed,
        "the router's write routes and this test's lists differ"
    );

    let app = TestApp::sqlite().await;
    let (admin_cookies, _) = app.admin().await;
    // A visitor with a CSRF cookie and its token, but no session.
    let visitor = app.get("/api/v1/auth/session").await;
    let visitor_cookies = visitor.set_cookies().join("; ");
    let visitor_token = visitor.json()["data"]["csrf_token"]
        .as_str()
        .unwrap()
        .to_string();

    let concrete = |path: &str| {
        path.replace("{slug}", "lampe-table-nordique")
            .replace("{number}", "VIVR-0000")
            .replace("{id}", "c000000000000000000000000")
    };
    for (method, path, needs) in WRITES {
        let uri = concrete(path);
        let api = path.starts_with("/api/");
        // A body that breaks every rule: the guards must answer before anything reads it.
        let bad_body = |request: axum::http::request::Builder| {
            if api {
                request
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(r#"{"unexpected": [1, 2, 3]}"#))
                    .unwrap()
            } else {
                request
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from("unexpected=%00&quantity=-5"))
                    .unwrap()
            }
        };

        // Signed in (as an administrator), no token: 403.
        let r = app
            .send(bad_body(
                Request::builder()
                    .method(*method)
                    .uri(&uri)
                    .header(header::COOKIE, &admin_cookies),
            ))
            .await;
        assert_eq!(
            r.status,
            StatusCode::FORBIDDEN,
            "{method} {path} without a token: {}",
            r.text()
        );

        // A token but no session: 401 (pages: the sign-in redirect) for routes that need one.
        if *needs == Needs::Session {
            let mut request = Request::builder()
                .method(*method)
                .uri(&uri)
                .header(header::COOKIE, &visitor_cookies);
            if api {
                request = request.header("x-csrf-token", &visitor_token);
            }
            let r = app.send(bad_body(request)).await;
            if api {
                assert_eq!(
                    (r.status, r.error_code().as_str()),
                    (StatusCode::UNAUTHORIZED, "unauthenticated"),
                    "{method} {path} without a session: {}",
                    r.text()
                );
            } else {
                assert!(
                    r.status.is_redirection()
                        && r.header("location")
                            .is_some_and(|l| l.starts_with("/connexion")),
                    "{method} {path} without a session: {} {:?}",
                    r.status,
                    r.header("location")
                );
            }
        }
    }
}

/// Every (method, path) the router declares, GETs included, read from its source.
fn declared_routes() -> Vec<(String, String)> {
    let source = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shop/src/routes/mod.rs"),
    )
    .unwrap();
    let mut found = Vec::new();
    for chunk in source.split(".route(").skip(1) {
        let path = chunk.split('"').nth(1).unwrap().to_string();
        for method in ["get", "post", "put", "patch", "delete"] {
            let called = [
                format!(".{method}("),
                format!(" {method}("),
                format!("::{method}("),
                format!("({method}("),
            ];
            if called.iter().any(|c| chunk.contains(c.as_str())) {
                found.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    found.extend(api_operations());
    found
}

/// The `/api/v1` operations, as the OpenAPI document lists them: the routes are registered from it
/// (`routes/api.rs`), and `openapi::the_document_is_served_and_matches_its_snapshot` keeps this copy current.
fn api_operations() -> Vec<(String, String)> {
    let snapshot = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/suite/snapshots/suite__openapi__openapi.snap"),
    )
    .unwrap();
    let json = &snapshot[snapshot.find("\n{").unwrap()..];
    let document: serde_json::Value = serde_json::from_str(json).unwrap();
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            found.push((method.to_uppercase(), path.clone()));
        }
    }
    found
}

/// Every query parameter the shop reads.
const QUERY_PARAMETERS: &[&str] = &[
    "search",
    "q",
    "category",
    "sort",
    "page",
    "limit",
    "min_price",
    "max_price",
    "in_stock",
    "featured",
    "status",
    "next",
    "email",
    "token",
    "country",
    "shipping_method",
];

crate::common::on_both_backends!(nul_characters_anywhere_are_refused_with_a_client_error);
/// A NUL character in any path segment, query parameter, JSON string or form field of any route is a 400 or
/// a 422 naming where it was, never a 500 (PostgreSQL refuses NUL in text: SQLSTATE 22021).
async fn nul_characters_anywhere_are_refused_with_a_client_error(db: TestDb) {
    let app = TestApp::with_config(db, |_| {}).await;
    let (cookies, csrf) = app.admin().await;
    let routes = declared_routes();
    assert!(routes.len() > 40, "{routes:?}");
    let with_session = |method: &str, uri: &str| {
        Request::builder()
            .method(method)
            .uri(uri)
            .header(header::COOKIE, &cookies)
            .header("x-csrf-token", &csrf)
    };
    let mut checked = 0;
    for (method, path) in &routes {
        let plain = path
            .replace("{slug}", "lampe-table-nordique")
            .replace("{number}", "VIVR-0000")
            .replace("{id}", "c000000000000000000000000")
            .replace("{file}", "app.css");
        // Each path parameter in turn carries a NUL.
        for param in ["{slug}", "{number}", "{id}", "{file}"] {
            if !path.contains(param) {
                continue;
            }
            let uri = path
                .replace(param, "ab%00cd")
                .replace("{slug}", "lampe-table-nordique")
                .replace("{number}", "VIVR-0000")
                .replace("{id}", "c000000000000000000000000")
                .replace("{file}", "app.css");
            let r = app
                .send(with_session(method, &uri).body(Body::empty()).unwrap())
                .await;
            assert!(
                r.status == StatusCode::BAD_REQUEST || r.status == StatusCode::NOT_FOUND,
                "{method} {uri}: {} {}",
                r.status,
                r.text()
            );
            checked += 1;
        }
        // Each query parameter in turn. Routes outside the shop's own stack (health, the OpenAPI document, static
        // files, metrics) read no query string at all.
        let reads_queries = ![
            "/api/health",
            "/api/openapi.json",
            "/static/",
            "/images/",
            "/favicon.ico",
            "/robots.txt",
            "/sitemap",
            "/.well-known/",
            "/metrics",
        ]
        .iter()
        .any(|p| path.starts_with(p));
        if method == "GET" {
            for name in QUERY_PARAMETERS {
                let uri = format!("{plain}?{name}=x%00y");
                let r = app
                    .send(with_session(method, &uri).body(Body::empty()).unwrap())
                    .await;
                if reads_queries {
                    assert_eq!(
                        r.status,
                        StatusCode::BAD_REQUEST,
                        "{method} {uri}: {}",
                        r.text()
                    );
                } else {
                    assert_ne!(
                        r.status,
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "{method} {uri}"
                    );
                }
                checked += 1;
            }
        }
        // Bodies: every string of a JSON document, every field of a form.
        if method != "GET" && path.starts_with("/api/") {
            let body = json!({
                "name": "a\u{0}b", "slug": "a\u{0}b", "email": "a\u{0}b@vivr.fr", "password": "a\u{0}b",
                "status": "a\u{0}b", "title": "a\u{0}b", "comment": "a\u{0}b", "quantity": 1,
                "address": {"line1": "1 rue\u{0}", "city": "Paris", "postal_code": "75001", "country": "FR"},
            });
            let r = app
                .send(
                    with_session(method, &plain)
                        .header(header::CONTENT_TYPE, "application/json")
                        .body(Body::from(body.to_string()))
                        .unwrap(),
                )
                .await;
            // Routes without a body (DELETE) simply ignore it; none may fail.
            assert_ne!(
                r.status,
                StatusCode::INTERNAL_SERVER_ERROR,
                "{method} {path} JSON: {}",
                r.text()
            );
            checked += 1;
        } else if method != "GET" {
            let form = format!(
                "csrf_token={}&slug=a%00b&email=a%00b&name=a%00b&status=a%00b",
                app.state.signing_key().token_for("none")
            );
            let r = app
                .send(
                    with_session(method, &plain)
                        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                        .body(Body::from(form))
                        .unwrap(),
                )
                .await;
            assert_ne!(
                r.status,
                StatusCode::INTERNAL_SERVER_ERROR,
                "{method} {path} form: {}",
                r.text()
            );
            checked += 1;
        }
    }
    assert!(checked > 500, "{checked} requests");
}

#[tokio::test]
async fn a_nul_in_a_json_string_or_a_form_field_is_named() {
    let app = TestApp::sqlite().await;
    let r = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"email": "a@vivr.fr", "password": "Tr3s-Solide!", "name": "Jean\u{0}"}),
            None,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(r.text().contains("name"), "{}", r.text());
    let page = app.get("/connexion").await;
    let form_cookies = page.set_cookies().join("; ");
    let token = crate::common::csrf_from(&page.text());
    let r = app
        .post_form(
            "/connexion",
            &[
                ("csrf_token", &token),
                ("email", "a\u{0}@vivr.fr"),
                ("password", "x"),
            ],
            &form_cookies,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(r.text().contains("email"), "{}", r.text());
}

#[tokio::test]
async fn each_page_carries_a_differently_masked_csrf_token() {
    let app = TestApp::sqlite().await;
    let first = app.get("/connexion").await;
    let cookies = first.set_cookies().join("; ");
    let second = app
        .get_with_cookies("/recherche?q=csrf_token", &cookies)
        .await;
    let (a, b) = (
        crate::common::csrf_from(&first.text()),
        crate::common::csrf_from(&second.text()),
    );
    assert_ne!(
        a, b,
        "the same token in two compressed pages is a BREACH oracle"
    );
    for token in [a, b] {
        let r = app
            .post_form(
                "/newsletter",
                &[("csrf_token", &token), ("email", "lecteur@vivr.fr")],
                &cookies,
            )
            .await;
        assert!(
            r.status.is_success() || r.status.is_redirection(),
            "{} {}",
            r.status,
            r.text()
        );
    }
}
