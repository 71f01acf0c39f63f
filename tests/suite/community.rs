//! Reviews, the wishlist, the newsletter and the rate limiter, through the HTTP API and the pages, on SQLite and
//! PostgreSQL.

use crate::common::{TestApp, TestDb, TestResponse, csrf_from};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use vivr_shop::domain::OrderStatus;
use vivr_shop::store::{EmailKind, StatusChange};

const LAMP: &str = "lampe-table-nordique";

async fn rating(app: &TestApp) -> (i64, i64) {
    let p = app
        .state
        .store()
        .product_by_slug(LAMP)
        .await
        .unwrap()
        .expect("product");
    (p.rating_count, p.rating_sum)
}

async fn review(app: &TestApp, who: &(String, String), body: &Value) -> TestResponse {
    app.post_json(
        &format!("/api/v1/products/{LAMP}/reviews"),
        body,
        Some(&who.0),
        Some(&who.1),
    )
    .await
}

/// Places an order for the lamp (Stripe not configured: it stays PENDING) and returns its id.
async fn order_lamp(app: &TestApp, who: &(String, String)) -> String {
    let r = app
        .as_user(who)
        .post("/api/v1/cart/items", &json!({"slug": LAMP, "quantity": 1}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let address = json!({
        "first_name": "Camille", "last_name": "Durand", "street": "12 rue des Lilas",
        "city": "Lyon", "postal_code": "69003", "country": "FR"
    });
    let r = app
        .as_user(who)
        .post(
            "/api/v1/checkout",
            &json!({"address": address, "shipping_method": "standard"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    r.json()["data"]["order"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("order id in {}", r.text()))
        .to_string()
}

async fn mark_paid(app: &TestApp, order_id: &str) {
    app.state
        .store()
        .change_order_status(&StatusChange {
            order_id: order_id.to_string(),
            from: vec![OrderStatus::Pending],
            to: OrderStatus::Paid,
            payment_id: None,
            event: None,
            email: None,
            by: None,
            now: vivr_shop::auth::now(),
        })
        .await
        .expect("paid");
}

crate::common::on_both_backends!(reviews_one_per_customer_verified_escaped_and_counted);
async fn reviews_one_per_customer_verified_escaped_and_counted(db: TestDb) {
    let b = db.backend.as_str();
    let app = TestApp::with_config(db, |_| {}).await;
    let alice = app.register("alice@vivr.fr", "Alice-Solide-2026!").await;
    let bob = app.register("bob@vivr.fr", "Bob-Solide-2026!!").await;
    let (count0, sum0) = rating(&app).await;

    // A first review: 201, not verified (no purchase).
    let r = review(
        &app,
        &alice,
        &json!({"rating": 4, "title": "Belle lampe", "comment": "Lumière douce."}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{b}: {}", r.text());
    assert_eq!(r.json()["data"]["verified"], false);
    assert_eq!(rating(&app).await, (count0 + 1, sum0 + 4), "{b}");

    // Submitting again updates it: 200, one review, aggregates follow the new rating.
    let r = review(
        &app,
        &alice,
        &json!({"rating": 2, "title": "Finalement bof"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{b}: {}", r.text());
    assert_eq!(r.json()["data"]["rating"], 2);
    assert_eq!(
        r.json()["data"]["comment"],
        Value::Null,
        "the whole review is replaced"
    );
    assert_eq!(rating(&app).await, (count0 + 1, sum0 + 2), "{b}");

    // Bad input: 422 naming the field; nothing changes.
    for (body, field) in [
        (json!({"rating": 0}), "rating"),
        (json!({"rating": 6}), "rating"),
        (json!({"rating": 4.5}), "rating"),
        (json!({"rating": "4"}), "rating"),
        (json!({"rating": 4, "title": "t".repeat(121)}), "title"),
        (json!({"rating": 4, "comment": "c".repeat(2001)}), "comment"),
    ] {
        let r = review(&app, &bob, &body).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{b}: {body}");
        assert_eq!(r.json()["error"]["field"], field, "{b}: {}", r.text());
    }
    let r = review(&app, &bob, &json!({"rating": 4, "verified": true})).await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{b}: unknown field refused"
    );
    assert_eq!(rating(&app).await, (count0 + 1, sum0 + 2), "{b}");
    // Limits are characters, not bytes.
    let r = review(&app, &bob, &json!({"rating": 5, "title": "é".repeat(120)})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{b}: {}", r.text());
    assert_eq!(rating(&app).await, (count0 + 2, sum0 + 7), "{b}");

    // Signed out → 401; no CSRF header → 403; unknown product → 404.
    let r = app
        .post_json(
            &format!("/api/v1/products/{LAMP}/reviews"),
            &json!({"rating": 5}),
            None,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{b}");
    let r = app
        .post_json(
            &format!("/api/v1/products/{LAMP}/reviews"),
            &json!({"rating": 5}),
            Some(&bob.0),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{b}");
    let r = app
        .as_user(&bob)
        .post("/api/v1/products/nope/reviews", &json!({"rating": 5}))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{b}");

    // Verified once the customer has a paid order holding the product (a pending one does not count).
    let order = order_lamp(&app, &alice).await;
    let r = review(&app, &alice, &json!({"rating": 5, "title": "Après achat"})).await;
    assert_eq!(
        r.json()["data"]["verified"],
        false,
        "{b}: pending is not a purchase"
    );
    mark_paid(&app, &order).await;
    let r = review(
        &app,
        &alice,
        &json!({"rating": 5, "title": "<script>alert(1)</script>"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{b}: {}", r.text());
    assert_eq!(r.json()["data"]["verified"], true, "{b}");
    assert_eq!(rating(&app).await, (count0 + 2, sum0 + 10), "{b}");

    // The list: newest first, with the author's name only; the page escapes the text.
    let list = app.get(&format!("/api/v1/products/{LAMP}/reviews")).await;
    assert_eq!(list.status, StatusCode::OK);
    let items = list.json()["data"].as_array().unwrap().clone();
    assert!(
        items
            .iter()
            .any(|i| i["title"] == "<script>alert(1)</script>" && i["verified"] == true)
    );
    assert!(
        !list.text().contains("alice@vivr.fr"),
        "{b}: no email in reviews"
    );
    assert_eq!(list.json()["pagination"]["total"], count0 + 2);
    let page = app
        .get_with_cookies(&format!("/produits/{LAMP}"), &bob.0)
        .await;
    let html = page.text();
    assert!(
        !html.contains("<script>alert(1)</script>"),
        "{b}: review text escaped"
    );
    let i = html.find("alert(1)").expect("the review is shown");
    assert!(
        html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "{b}: {}",
        &html[i.saturating_sub(60)..i + 40]
    );
    assert!(html.contains("Achat vérifié"), "{b}");
    assert!(
        html.contains("Modifier votre avis"),
        "{b}: Bob's form shows his review"
    );

    // Deleting: the aggregates follow; a second delete is 404.
    let delete = |who: &(String, String)| {
        Request::delete(format!("/api/v1/products/{LAMP}/reviews/mine"))
            .header(header::COOKIE, &who.0)
            .header("x-csrf-token", &who.1)
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(
        app.send(delete(&bob)).await.status,
        StatusCode::NO_CONTENT,
        "{b}"
    );
    assert_eq!(
        app.send(delete(&bob)).await.status,
        StatusCode::NOT_FOUND,
        "{b}"
    );
    assert_eq!(rating(&app).await, (count0 + 1, sum0 + 5), "{b}");
}

#[tokio::test]
async fn the_review_form_on_the_product_page() {
    let app = TestApp::sqlite().await;
    let visitor = app.get(&format!("/produits/{LAMP}")).await;
    assert!(
        visitor.text().contains("pour donner votre avis"),
        "visitors are asked to sign in"
    );
    let (cookies, _) = app.register("chloe@vivr.fr", "Chloe-Solide-2026!").await;
    let page = app
        .get_with_cookies(&format!("/produits/{LAMP}"), &cookies)
        .await;
    assert!(page.text().contains("Donner votre avis"));
    let csrf = csrf_from(&page.text());
    let action = format!("/produits/{LAMP}/avis");

    let r = app
        .post_form(
            &action,
            &[("csrf_token", &csrf), ("rating", "9"), ("title", "Trop")],
            &cookies,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.text()
            .contains("Note : doit être un nombre entier de 1 à 5"),
        "{}",
        r.text()
    );
    assert!(
        r.text().contains("value=\"Trop\""),
        "what was typed is kept"
    );

    let r = app
        .post_form(
            &action,
            &[
                ("csrf_token", &csrf),
                ("rating", "5"),
                ("title", "Parfaite"),
                ("comment", ""),
            ],
            &cookies,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let landing = format!("/produits/{LAMP}?avis=publie#avis");
    assert_eq!(r.header("location"), Some(landing.as_str()));
    let page = app
        .get_with_cookies(landing.trim_end_matches("#avis"), &cookies)
        .await
        .text();
    assert!(page.contains("Parfaite") && page.contains("Modifier votre avis"));
    assert!(
        page.contains("<section id=\"avis\"")
            && page.contains("role=\"status\">Merci : votre avis est publié."),
        "the redirect lands on the reviews, with a confirmation"
    );
    let plain = app
        .get_with_cookies(&format!("/produits/{LAMP}"), &cookies)
        .await;
    assert!(!plain.text().contains("votre avis est publié"), "said once");

    let r = app
        .post_form(
            &action,
            &[("csrf_token", "forged"), ("rating", "1")],
            &cookies,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .post_form(
            &format!("/produits/{LAMP}/avis/supprimer"),
            &[("csrf_token", &csrf)],
            &cookies,
        )
        .await;
    assert_eq!(
        (r.status, r.header("location")),
        (
            StatusCode::SEE_OTHER,
            Some(format!("/produits/{LAMP}?avis=supprime#avis").as_str())
        )
    );
    let page = app
        .get_with_cookies(&format!("/produits/{LAMP}"), &cookies)
        .await;
    assert!(page.text().contains("Donner votre avis"));
}

crate::common::on_both_backends!(wishlist_add_list_remove);
async fn wishlist_add_list_remove(db: TestDb) {
    let b = db.backend.as_str();
    let app = TestApp::with_config(db, |_| {}).await;
    let dana = app.register("dana@vivr.fr", "Dana-Solide-2026!").await;
    let eve = app.register("eve@vivr.fr", "Eve-Solide-2026!!").await;
    let put = |who: &(String, String), slug: &str, method: &str| {
        Request::builder()
            .method(method)
            .uri(format!("/api/v1/wishlist/{slug}"))
            .header(header::COOKIE, &who.0)
            .header("x-csrf-token", &who.1)
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(
        app.send(put(&dana, LAMP, "PUT")).await.status,
        StatusCode::CREATED,
        "{b}"
    );
    assert_eq!(
        app.send(put(&dana, LAMP, "PUT")).await.status,
        StatusCode::OK,
        "{b}: idempotent"
    );
    assert_eq!(
        app.send(put(&dana, "nope", "PUT")).await.status,
        StatusCode::NOT_FOUND,
        "{b}"
    );
    let list = app.get_with_cookies("/api/v1/wishlist", &dana.0).await;
    let slugs: Vec<_> = list.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["slug"].clone())
        .collect();
    assert_eq!(slugs, vec![json!(LAMP)], "{b}");
    let others = app.get_with_cookies("/api/v1/wishlist", &eve.0).await;
    assert_eq!(others.json()["data"], json!([]), "{b}: lists are personal");
    assert_eq!(
        app.get("/api/v1/wishlist").await.status,
        StatusCode::UNAUTHORIZED
    );

    // The page and the product button (plain forms).
    let page = app.get_with_cookies("/compte/envies", &dana.0).await;
    assert!(
        page.text().contains("Lampe de table nordique") || page.text().contains(LAMP),
        "{b}"
    );
    let product = app
        .get_with_cookies(&format!("/produits/{LAMP}"), &dana.0)
        .await;
    assert!(product.text().contains("Retirer de mes envies"), "{b}");
    let csrf = csrf_from(&product.text());
    let r = app
        .post_form(
            "/compte/envies/retirer",
            &[
                ("csrf_token", &csrf),
                ("slug", LAMP),
                ("next", &format!("/produits/{LAMP}")),
            ],
            &dana.0,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{b}");
    assert_eq!(
        r.header("location"),
        Some(format!("/produits/{LAMP}").as_str())
    );
    let r = app
        .post_form(
            "/compte/envies/ajouter",
            &[
                ("csrf_token", &csrf),
                ("slug", LAMP),
                ("next", "https://evil.example/"),
            ],
            &dana.0,
        )
        .await;
    assert_eq!(
        r.header("location"),
        Some("/compte"),
        "{b}: no open redirect"
    );
    assert_eq!(
        app.send(put(&dana, LAMP, "DELETE")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.send(put(&dana, LAMP, "DELETE")).await.status,
        StatusCode::NO_CONTENT
    );
    let list = app.get_with_cookies("/api/v1/wishlist", &dana.0).await;
    assert_eq!(list.json()["data"], json!([]), "{b}");
    assert_eq!(
        app.get("/compte/envies").await.status,
        StatusCode::SEE_OTHER
    );
}

async fn subscribe(app: &TestApp, email: &str) -> TestResponse {
    app.post_json("/api/v1/newsletter", &json!({ "email": email }), None, None)
        .await
}

crate::common::on_both_backends!(newsletter_subscribe_welcome_and_signed_unsubscribe);
async fn newsletter_subscribe_welcome_and_signed_unsubscribe(db: TestDb) {
    let b = db.backend.as_str();
    let app = TestApp::with_config(db, |c| c.rate_limits.newsletter.max = 100).await;
    let store = app.state.store();

    let first = subscribe(&app, "  Lea.Martin@VIVR.fr ").await;
    assert_eq!(first.status, StatusCode::OK, "{b}: {}", first.text());
    let again = subscribe(&app, "lea.martin@vivr.fr").await;
    assert_eq!(again.status, StatusCode::OK, "{b}");
    assert_eq!(
        first.json(),
        again.json(),
        "{b}: the same answer, whoever is subscribed"
    );
    assert!(
        !store
            .newsletter_subscribed("lea.martin@vivr.fr")
            .await
            .unwrap(),
        "{b}: not subscribed before the confirmation link is used"
    );
    for bad in ["", "pas-un-email", "a@b", "x@y..fr"] {
        let r = subscribe(&app, bad).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{b}: {bad:?}");
        assert_eq!(r.json()["error"]["field"], "email");
    }
    let r = app
        .post_json(
            "/api/v1/newsletter",
            &json!({"email": "a@vivr.fr", "consent": "yes"}),
            None,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{b}");

    // Double opt-in: one confirmation email, queued once, and no welcome yet.
    let queued = store
        .claim_emails(
            vivr_shop::auth::now(),
            std::time::Duration::from_secs(60),
            10,
            100,
        )
        .await
        .unwrap();
    assert_eq!(queued.len(), 1, "{b}: {queued:?}");
    assert_eq!(queued[0].kind, EmailKind::NewsletterConfirm, "{b}");
    assert_eq!(queued[0].recipient, "lea.martin@vivr.fr");
    let url = vivr_shop::services::newsletter::confirm_url(
        app.state.signing_key(),
        "https://vivr.fr",
        "lea.martin@vivr.fr",
    );
    assert!(
        vivr_shop::mail::newsletter_confirmation(&url)
            .body
            .contains(&url)
    );
    let link = url.trim_start_matches("https://vivr.fr");
    // Opening the link asks for a click (a mail scanner confirms nothing); a forged token is refused.
    let page = app.get(link).await;
    assert_eq!(page.status, StatusCode::OK, "{b}: {}", page.text());
    assert!(page.text().contains("Confirmer mon inscription"));
    assert!(
        !store
            .newsletter_subscribed("lea.martin@vivr.fr")
            .await
            .unwrap(),
        "{b}"
    );
    let query: Vec<(String, String)> =
        serde_urlencoded::from_str(link.split_once('?').unwrap().1).unwrap();
    let confirm = |email: &str, token: &str| {
        let body = json!({ "email": email, "token": token });
        let app = &app;
        async move {
            app.post_json("/api/v1/newsletter/confirm", &body, None, None)
                .await
        }
    };
    let forged = confirm("lea.martin@vivr.fr", "x").await;
    assert_eq!(forged.status, StatusCode::BAD_REQUEST, "{b}");
    let other = confirm("paul@vivr.fr", &query[1].1).await;
    assert_eq!(
        other.status,
        StatusCode::BAD_REQUEST,
        "{b}: a token is for one address"
    );
    for _ in 0..2 {
        let r = confirm(&query[0].1, &query[1].1).await;
        assert_eq!(r.status, StatusCode::OK, "{b}: {}", r.text());
    }
    assert!(
        store
            .newsletter_subscribed("lea.martin@vivr.fr")
            .await
            .unwrap(),
        "{b}"
    );

    // One welcome email, queued once; it carries the signed unsubscribe link.
    let queued = store
        .claim_emails(
            vivr_shop::auth::now(),
            std::time::Duration::from_secs(60),
            10,
            100,
        )
        .await
        .unwrap();
    let welcome: Vec<_> = queued
        .iter()
        .filter(|e| e.kind == EmailKind::NewsletterWelcome)
        .collect();
    assert_eq!(welcome.len(), 1, "{b}: {queued:?}");
    assert_eq!(welcome[0].recipient, "lea.martin@vivr.fr");
    assert_eq!(welcome[0].order_id, None);
    let url = vivr_shop::services::newsletter::unsubscribe_url(
        app.state.signing_key(),
        "https://vivr.fr",
        "lea.martin@vivr.fr",
    );
    let mail = vivr_shop::mail::newsletter_welcome(&url);
    assert!(mail.body.contains(&url) && mail.unsubscribe.as_deref() == Some(url.as_str()));
    let link = url.trim_start_matches("https://vivr.fr");

    // The link: a confirmation page (GET never unsubscribes), then the POST.
    let page = app.get(link).await;
    assert_eq!(page.status, StatusCode::OK, "{b}: {}", page.text());
    assert!(page.text().contains("Me désinscrire"));
    assert!(
        store
            .newsletter_subscribed("lea.martin@vivr.fr")
            .await
            .unwrap(),
        "{b}"
    );
    let forged = link.replace("token=", "token=x");
    assert_eq!(
        app.get(&forged).await.status,
        StatusCode::BAD_REQUEST,
        "{b}"
    );
    let other = link.replace("lea.martin", "paul");
    assert_eq!(
        app.get(&other).await.status,
        StatusCode::BAD_REQUEST,
        "{b}: a token is for one address"
    );
    let r = app
        .send(
            Request::post(&forged)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("List-Unsubscribe=One-Click"))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{b}");
    assert!(
        store
            .newsletter_subscribed("lea.martin@vivr.fr")
            .await
            .unwrap(),
        "{b}: nothing changed"
    );
    // RFC 8058 one-click: the link's query, and the fixed body; no session, no CSRF token.
    let r = app
        .send(
            Request::post(link)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("List-Unsubscribe=One-Click"))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{b}: {}", r.text());
    assert!(
        !store
            .newsletter_subscribed("lea.martin@vivr.fr")
            .await
            .unwrap(),
        "{b}"
    );
    // Again: still fine (idempotent).
    let token = vivr_shop::services::newsletter::unsubscribe_token(
        app.state.signing_key(),
        "lea.martin@vivr.fr",
    );
    let r = app
        .post_json(
            "/api/v1/newsletter/unsubscribe",
            &json!({"email": "lea.martin@vivr.fr", "token": token}),
            None,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{b}: {}", r.text());

    // Unsubscribed before the confirmation went out: nothing is sent.
    subscribe(&app, "tom@vivr.fr").await;
    let token =
        vivr_shop::services::newsletter::unsubscribe_token(app.state.signing_key(), "tom@vivr.fr");
    app.post_json(
        "/api/v1/newsletter/unsubscribe",
        &json!({"email": "tom@vivr.fr", "token": token}),
        None,
        None,
    )
    .await;
    let delivered = vivr_shop::jobs::send_due_emails(&app.state).await.unwrap();
    assert_eq!(delivered, 0, "{b}: nothing for an address that left");
}

#[tokio::test]
async fn the_footer_form_subscribes_without_javascript() {
    let app = TestApp::sqlite().await;
    let home = app.get("/").await;
    let html = home.text();
    assert!(html.contains("action=\"/newsletter\""));
    let csrf = csrf_from(&html);
    let cookies = home.set_cookies().join("; ");
    let r = app
        .post_form(
            "/newsletter",
            &[("csrf_token", &csrf), ("email", "Zoe@vivr.fr")],
            &cookies,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(
        r.text().contains("confirmez votre inscription"),
        "{}",
        r.text()
    );
    let store = app.state.store();
    assert!(!store.newsletter_subscribed("zoe@vivr.fr").await.unwrap());
    // The emailed link's page confirms with a plain form: the link's token is the authorisation.
    let url =
        vivr_shop::services::newsletter::confirm_url(app.state.signing_key(), "", "zoe@vivr.fr");
    let page = app.get(&url).await;
    let token = page
        .text()
        .split("name=\"token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the token in the form")
        .to_string();
    let confirm = |token: String| {
        let app = &app;
        async move {
            app.post_form(
                "/newsletter/confirmer",
                &[("email", "zoe@vivr.fr"), ("token", &token)],
                "",
            )
            .await
        }
    };
    let r = confirm(token.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.text().contains("est confirmé"), "{}", r.text());
    assert!(store.newsletter_subscribed("zoe@vivr.fr").await.unwrap());
    // Once unsubscribed, the old confirmation link does not subscribe the address again.
    assert!(store.newsletter_unsubscribe("zoe@vivr.fr").await.unwrap());
    let r = confirm(token).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    assert!(!store.newsletter_subscribed("zoe@vivr.fr").await.unwrap());
    let r = app
        .post_form(
            "/newsletter",
            &[("csrf_token", &csrf), ("email", "zoe@")],
            &cookies,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.text().contains("Email : adresse email invalide"),
        "{}",
        r.text()
    );
    let r = app
        .post_form(
            "/newsletter",
            &[("csrf_token", "forged"), ("email", "x@vivr.fr")],
            &cookies,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

fn header_of<'a>(r: &'a TestResponse, name: &str) -> &'a str {
    r.header(name).unwrap_or_else(|| panic!("{name} missing"))
}

#[tokio::test]
async fn every_limited_route_answers_with_ratelimit_headers() {
    let app = TestApp::with_config(TestDb::sqlite(), |c| {
        c.rate_limits.reviews.max = 2;
        c.rate_limits.register.max = 3;
        c.rate_limits.checkout.max = 1;
    })
    .await;
    // Newsletter: 3 per hour per client IP by default.
    for (i, remaining) in ["2", "1", "0"].into_iter().enumerate() {
        let r = subscribe(&app, &format!("n{i}@vivr.fr")).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(header_of(&r, "ratelimit-limit"), "3");
        assert_eq!(header_of(&r, "ratelimit-remaining"), remaining);
    }
    let r = subscribe(&app, "n9@vivr.fr").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.error_code(), "too_many_requests");
    let retry: u64 = header_of(&r, "retry-after").parse().unwrap();
    assert!((3500..=3600).contains(&retry), "{retry}");
    assert!(
        !app.state
            .store()
            .newsletter_subscribed("n9@vivr.fr")
            .await
            .unwrap(),
        "refused means not stored"
    );
    // The page form answers the same limit with the error page, headers kept.
    let home = app.get("/").await;
    let r = app
        .post_form(
            "/newsletter",
            &[
                ("csrf_token", &csrf_from(&home.text())),
                ("email", "p@vivr.fr"),
            ],
            &home.set_cookies().join("; "),
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    let said = if wait >= 60 {
        format!("Réessayez dans {} minute", wait.div_ceil(60))
    } else {
        format!("Réessayez dans {wait} seconde")
    };
    assert!(
        r.text().contains("Trop de tentatives") && r.text().contains(&said),
        "the wait in words a shopper reads ({said}): {}",
        r.text()
    );
    assert!(r.header("ratelimit-limit") == Some("3"));
    assert!(
        r.text()
            .contains(r#"<form method="post" action="/newsletter""#)
            && r.text()
                .contains(r#"<input type="hidden" name="email" value="p@vivr.fr">"#),
        "the form waits with what was typed: {}",
        r.text()
    );

    // Registration: per IP.
    let frank = app.register("frank@vivr.fr", "Frank-Solide-2026!").await;
    let grace = app.register("grace@vivr.fr", "Grace-Solide-2026!").await;
    // (Frank and Grace's accounts were made directly: the three registrations allowed are these.)
    for who in ["henri", "ivan", "jade"] {
        let r = app
            .post_json(
                "/api/v1/auth/register",
                &json!({"email": format!("{who}@vivr.fr"), "password": "Henri-Solide-2026!"}),
                None,
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    }
    let r = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"email": "ines@vivr.fr", "password": "Ines-Solide-2026!!", "name": "Inès"}),
            None,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header_of(&r, "ratelimit-limit"), "3");
    assert!(
        app.state
            .store()
            .user_by_email("ines@vivr.fr")
            .await
            .unwrap()
            .is_none()
    );

    // Reviews: per customer (Grace has her own allowance).
    for expected in [
        StatusCode::CREATED,
        StatusCode::OK,
        StatusCode::TOO_MANY_REQUESTS,
    ] {
        let r = review(&app, &frank, &json!({"rating": 3})).await;
        assert_eq!(r.status, expected, "{}", r.text());
        assert_eq!(header_of(&r, "ratelimit-limit"), "2");
    }
    assert_eq!(
        review(&app, &grace, &json!({"rating": 3})).await.status,
        StatusCode::CREATED
    );

    // Checkout: per customer.
    order_lamp(&app, &grace).await;
    let r = app
        .as_user(&grace)
        .post("/api/v1/checkout", &json!({}))
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text());
    assert_eq!(header_of(&r, "ratelimit-policy"), "1;w=600");

    // Sign-in: failures per client IP (and per account), with the same headers.
    let r = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": "frank@vivr.fr", "password": "faux"}),
            None,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(header_of(&r, "ratelimit-limit"), "20");
    assert_eq!(header_of(&r, "ratelimit-remaining"), "19");
}
