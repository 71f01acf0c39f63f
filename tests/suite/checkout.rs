//! Checkout, orders and payments through the HTTP API, on SQLite and PostgreSQL: server-side totals, idempotent
//! submissions, tampering refused, concurrent checkouts that cannot oversell, signed webhooks applied once, the
//! expiry of unpaid orders, and the whole flow against localstripe with the confirmation email reaching an SMTP
//! server.

use crate::common;

use std::time::Duration;

use crate::common::{LiveShop, TestApp, TestDb, TestResponse, address};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use vivr_shop::ShopConfig;
use vivr_shop::domain::Money;
use vivr_shop::payments::StripeConfig;
use vivr_shop::payments::webhook::sign;
use vivr_shop::store::NewProduct;

const WEBHOOK_SECRET: &str = "whsec_vivr_tests_current";
const PREVIOUS_SECRET: &str = "whsec_vivr_tests_previous";

/// Stripe settings whose API cannot be reached: orders are placed, payment reports "unavailable", webhooks work.
fn stripe_offline(config: &mut ShopConfig) {
    config.stripe = Some(StripeConfig {
        secret_key: "sk_test_offline".to_string().into(),
        publishable_key: "pk_test_offline".into(),
        webhook_secrets: vec![
            WEBHOOK_SECRET.to_string().into(),
            PREVIOUS_SECRET.to_string().into(),
        ],
        api_base: "http://127.0.0.1:9".into(),
    });
}

async fn product(app_state: &vivr_shop::AppState, slug: &str, price: i64, stock: i32) {
    app_state
        .store()
        .create_product(
            &NewProduct {
                name: format!("Produit {slug}"),
                slug: slug.into(),
                description: "Un produit de test".into(),
                price: Money::from_cents(price),
                compare_price: None,
                images: vec![],
                category_slug: None,
                stock,
                featured: false,
            },
            vivr_shop::auth::now(),
            None,
        )
        .await
        .expect("product");
}

async fn stock(app_state: &vivr_shop::AppState, slug: &str) -> i32 {
    app_state
        .store()
        .product_by_slug(slug)
        .await
        .unwrap()
        .expect("product")
        .stock
}

async fn add(app: &TestApp, who: &(String, String), slug: &str, quantity: i32) {
    let r = app
        .as_user(who)
        .post(
            "/api/v1/cart/items",
            &json!({"slug": slug, "quantity": quantity}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

async fn checkout(
    app: &TestApp,
    who: &(String, String),
    body: &Value,
    key: Option<&str>,
) -> TestResponse {
    let mut request = Request::post("/api/v1/checkout")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::COOKIE, &who.0)
        .header("x-csrf-token", &who.1);
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    app.send(request.body(Body::from(body.to_string())).unwrap())
        .await
}

async fn webhook(app: &TestApp, payload: &[u8], signature: &str) -> TestResponse {
    app.send(
        Request::post("/api/v1/stripe/webhook")
            .header(header::CONTENT_TYPE, "application/json")
            .header("stripe-signature", signature)
            .body(Body::from(payload.to_vec()))
            .unwrap(),
    )
    .await
}

fn event(id: &str, kind: &str, object: Value) -> Vec<u8> {
    json!({"id": id, "object": "event", "type": kind, "created": chrono::Utc::now().timestamp(),
           "data": {"object": object}})
    .to_string()
    .into_bytes()
}

fn intent(id: &str, order_id: &str, amount: i64) -> Value {
    json!({"id": id, "object": "payment_intent", "amount": amount, "currency": "eur",
           "metadata": {"order_id": order_id}, "status": "succeeded"})
}

fn signed(payload: &[u8], secret: &str) -> String {
    sign(payload, secret, chrono::Utc::now().timestamp())
}

async fn order_status(app: &TestApp, who: &(String, String), number: &str) -> String {
    let r = app
        .get_with_cookies(&format!("/api/v1/orders/{number}"), &who.0)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()["data"]["status"].as_str().unwrap().to_string()
}

crate::common::on_both_backends!(checkout_totals_idempotency_and_tampering);
async fn checkout_totals_idempotency_and_tampering(db: TestDb) {
    let b = db.backend.as_str();
    let app = TestApp::with_config(db, |_| {}).await;
    product(&app.state, "vase-test", 2_500, 5).await;
    let alice = app.register("alice@vivr.fr", "Alice-Solide-2026!").await;
    let bob = app.register("bob@vivr.fr", "Bob-Solide-2026!!").await;

    // Nothing to order yet.
    let body = json!({"address": address(), "shipping_method": "standard"});
    let r = checkout(&app, &alice, &body, None).await;
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (StatusCode::CONFLICT, "cart_empty"),
        "{b}"
    );

    add(&app, &alice, "vase-test", 1).await;
    let quote = app
        .get_with_cookies(
            "/api/v1/checkout/quote?shipping_method=express&country=BE",
            &alice.0,
        )
        .await
        .json()["data"]
        .clone();
    // 25,00 + 9,99 = 34,99 € of which 21 % Belgian VAT: 34,99 − 34,99 / 1,21 = 6,07 €.
    assert_eq!(
        (
            quote["subtotal_cents"].as_i64(),
            quote["shipping_cents"].as_i64(),
            quote["vat_cents"].as_i64()
        ),
        (Some(2_500), Some(999), Some(607)),
        "{b}: {quote}"
    );

    // Tampering: a price, a quantity, an unknown address, a method, a destination — all refused, nothing placed.
    let mut tampered_address = address();
    tampered_address["quantity"] = json!(3);
    let bob_address = app
        .as_user(&bob)
        .post("/api/v1/addresses", &address())
        .await;
    assert_eq!(
        bob_address.status,
        StatusCode::CREATED,
        "{}",
        bob_address.text()
    );
    let bob_address_id = bob_address.json()["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut swiss = address();
    swiss["country"] = json!("CH");
    for (body, status, what) in [
        (
            json!({"address": address(), "price_cents": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "a price",
        ),
        (
            json!({"address": tampered_address}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "a quantity",
        ),
        (
            json!({"address_id": bob_address_id}),
            StatusCode::NOT_FOUND,
            "another customer's address",
        ),
        (
            json!({"address": address(), "shipping_method": "free"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "a method",
        ),
        (
            json!({"address": swiss}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "a destination",
        ),
        (
            json!({"address": address(), "cart_version": "0000"}),
            StatusCode::CONFLICT,
            "a stale cart",
        ),
    ] {
        let r = checkout(&app, &alice, &body, None).await;
        assert_eq!(r.status, status, "{b}: {what}: {}", r.text());
    }
    assert_eq!(
        stock(&app.state, "vase-test").await,
        5,
        "{b}: nothing reserved"
    );
    let r = app.get_with_cookies("/api/v1/orders", &alice.0).await;
    assert_eq!(
        r.json()["data"].as_array().unwrap().len(),
        0,
        "{b}: nothing placed"
    );

    // Two more in the cart, then the order: 3 × 25,00 = 75,00 €, standard shipping free from 50 €.
    add(&app, &alice, "vase-test", 2).await;
    let body = json!({"address": address(), "shipping_method": "standard", "save_address": true});
    let r = checkout(&app, &alice, &body, Some("alice-order-0001")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{b}: {}", r.text());
    let data = r.json()["data"].clone();
    let order = &data["order"];
    assert_eq!(order["status"], "PENDING", "{b}");
    assert_eq!(
        (
            order["subtotal_cents"].as_i64(),
            order["shipping_cents"].as_i64(),
            order["total_cents"].as_i64(),
            order["vat_cents"].as_i64()
        ),
        (Some(7_500), Some(0), Some(7_500), Some(1_250)),
        "{b}: {order}"
    );
    assert_eq!(order["items"][0]["quantity"], 3, "{b}");
    assert_eq!(data["payment"]["provider"], "not_configured", "{b}");
    let number = order["number"].as_str().unwrap().to_string();
    assert!(
        number.starts_with("VIV-") && number.len() == 17,
        "{b}: {number}"
    );
    assert_eq!(
        stock(&app.state, "vase-test").await,
        2,
        "{b}: stock reserved"
    );
    let cart = app.get_with_cookies("/api/v1/cart", &alice.0).await.json();
    assert_eq!(
        cart["data"]["item_count"], 0,
        "{b}: the cart became the order"
    );
    let saved = app
        .get_with_cookies("/api/v1/addresses", &alice.0)
        .await
        .json();
    assert_eq!(
        saved["data"].as_array().unwrap().len(),
        1,
        "{b}: address saved"
    );
    assert_eq!(
        saved["data"][0]["is_default"], true,
        "{b}: the first address is the default"
    );

    // The same key again: the same order, nothing reserved twice.
    add(&app, &alice, "vase-test", 1).await;
    let again = checkout(&app, &alice, &body, Some("alice-order-0001")).await;
    assert_eq!(again.status, StatusCode::OK, "{b}: {}", again.text());
    assert_eq!(
        again.json()["data"]["order"]["number"],
        number.as_str(),
        "{b}"
    );
    assert_eq!(again.json()["data"]["created"], false, "{b}");
    assert_eq!(stock(&app.state, "vase-test").await, 2, "{b}");

    // Only its owner (and admins) see an order.
    assert_eq!(order_status(&app, &alice, &number).await, "PENDING");
    let r = app
        .get_with_cookies(&format!("/api/v1/orders/{number}"), &bob.0)
        .await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "{b}: another customer's order"
    );
    let page = app
        .get_with_cookies(&format!("/compte/commandes/{number}"), &bob.0)
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND, "{b}");
    let page = app
        .get_with_cookies(&format!("/compte/commandes/{number}"), &alice.0)
        .await;
    assert!(
        page.text().contains("n'est pas configuré"),
        "{b}: says payment is not configured"
    );

    // Admin moves: only valid transitions; cancelling gives the stock back.
    let admin = app.admin().await;
    let r = app
        .json_request(
            "PATCH",
            &format!("/api/v1/admin/orders/{number}"),
            &json!({"status": "SHIPPED"}),
            Some(&admin.0),
            Some(&admin.1),
        )
        .await;
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (StatusCode::CONFLICT, "invalid_transition"),
        "{b}"
    );
    let r = app
        .json_request(
            "PATCH",
            &format!("/api/v1/admin/orders/{number}"),
            &json!({"status": "CANCELLED"}),
            Some(&alice.0),
            Some(&alice.1),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "{b}: customers cannot move orders"
    );
    let r = app
        .json_request(
            "PATCH",
            &format!("/api/v1/admin/orders/{number}"),
            &json!({"status": "CANCELLED"}),
            Some(&admin.0),
            Some(&admin.1),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{b}: {}", r.text());
    assert_eq!(
        stock(&app.state, "vase-test").await,
        5,
        "{b}: stock released"
    );
    let r = app
        .json_request(
            "PATCH",
            &format!("/api/v1/admin/orders/{number}"),
            &json!({"status": "CANCELLED"}),
            Some(&admin.0),
            Some(&admin.1),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{b}: no double release");
    assert_eq!(stock(&app.state, "vase-test").await, 5, "{b}");
}

crate::common::on_both_backends!(
    webhooks_are_verified_applied_once_and_checked_against_the_order,
    multi_thread
);
async fn webhooks_are_verified_applied_once_and_checked_against_the_order(db: TestDb) {
    let b = db.backend.as_str();
    let app = std::sync::Arc::new(TestApp::with_config(db, stripe_offline).await);
    product(&app.state, "bol-test", 2_000, 10).await;
    let carol = app.register("carol@vivr.fr", "Carol-Solide-2026!").await;
    let place = |key: &'static str| {
        let app = &app;
        let carol = &carol;
        async move {
            add(app, carol, "bol-test", 2).await;
            let r = checkout(app, carol, &json!({"address": address()}), Some(key)).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
            let data = r.json()["data"].clone();
            assert_eq!(
                data["payment"]["provider"], "unavailable",
                "Stripe is unreachable here"
            );
            let message = data["payment"]["message"].as_str().unwrap_or_default();
            assert!(message.contains("réessayez le paiement"), "{data}");
            let order = data["order"].clone();
            (
                order["id"].as_str().unwrap().to_string(),
                order["number"].as_str().unwrap().to_string(),
                order["total_cents"].as_i64().unwrap(),
            )
        }
    };
    let (id, number, total) = place("carol-order-0001").await;
    assert_eq!(
        total,
        4_000 + 499,
        "{b}: below 50 € standard shipping is 4,99 €"
    );
    assert_eq!(stock(&app.state, "bol-test").await, 8);

    // Signatures: wrong secret, tampered body, stale timestamp, missing header → 400, nothing changed.
    let payload = event(
        "evt_paid_1",
        "payment_intent.succeeded",
        intent("pi_carol_1", &id, total),
    );
    let stale = sign(
        &payload,
        WEBHOOK_SECRET,
        chrono::Utc::now().timestamp() - 301,
    );
    let mut tampered = payload.clone();
    tampered.extend_from_slice(b" ");
    for (body, signature) in [
        (&payload, signed(&payload, "whsec_someone_else")),
        (&tampered, signed(&payload, WEBHOOK_SECRET)),
        (&payload, stale),
        (&payload, String::new()),
    ] {
        let r = webhook(&app, body, &signature).await;
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (StatusCode::BAD_REQUEST, "invalid_signature"),
            "{b}: {}",
            r.text()
        );
    }
    assert_eq!(order_status(&app, &carol, &number).await, "PENDING", "{b}");

    // An amount that differs from the order's: rejected, order unchanged.
    let wrong = event(
        "evt_wrong_amount",
        "payment_intent.succeeded",
        intent("pi_carol_1", &id, total - 1),
    );
    let r = webhook(&app, &wrong, &signed(&wrong, WEBHOOK_SECRET)).await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{b}: {}",
        r.text()
    );
    assert!(r.text().contains("amount"), "{b}: {}", r.text());
    let mut other_currency = intent("pi_carol_1", &id, total);
    other_currency["currency"] = json!("usd");
    let wrong = event(
        "evt_wrong_currency",
        "payment_intent.succeeded",
        other_currency,
    );
    let r = webhook(&app, &wrong, &signed(&wrong, WEBHOOK_SECRET)).await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{b}: {}",
        r.text()
    );
    assert_eq!(order_status(&app, &carol, &number).await, "PENDING", "{b}");

    // The same event delivered 20 times at once (signed with the previous secret, as during a rotation):
    // one change, the rest duplicates.
    let signature = signed(&payload, PREVIOUS_SECRET);
    let deliveries: Vec<_> = (0..20)
        .map(|_| {
            let (app, payload, signature) = (app.clone(), payload.clone(), signature.clone());
            tokio::spawn(async move { webhook(&app, &payload, &signature).await })
        })
        .collect();
    let mut answers = Vec::new();
    for delivery in deliveries {
        answers.push(delivery.await.unwrap());
    }
    let applied = answers
        .iter()
        .filter(|r| r.text().contains("applied"))
        .count();
    let duplicates = answers
        .iter()
        .filter(|r| r.text().contains("duplicate"))
        .count();
    assert!(answers.iter().all(|r| r.status == StatusCode::OK), "{b}");
    assert_eq!((applied, duplicates), (1, 19), "{b}");
    assert_eq!(order_status(&app, &carol, &number).await, "PAID", "{b}");
    assert_eq!(
        stock(&app.state, "bol-test").await,
        8,
        "{b}: a paid order keeps its stock"
    );
    // Its confirmation email was queued once, and is delivered once (logged: no SMTP here).
    assert_eq!(
        vivr_shop::jobs::send_due_emails(&app.state).await.unwrap(),
        1,
        "{b}"
    );
    assert_eq!(
        vivr_shop::jobs::send_due_emails(&app.state).await.unwrap(),
        0,
        "{b}"
    );

    // A failed payment cancels another order and gives its stock back.
    let (id2, number2, total2) = place("carol-order-0002").await;
    assert_eq!(stock(&app.state, "bol-test").await, 6);
    let failed = event(
        "evt_failed_2",
        "payment_intent.payment_failed",
        intent("pi_carol_2", &id2, total2),
    );
    let r = webhook(&app, &failed, &signed(&failed, WEBHOOK_SECRET)).await;
    assert_eq!(r.status, StatusCode::OK, "{b}: {}", r.text());
    assert_eq!(
        order_status(&app, &carol, &number2).await,
        "CANCELLED",
        "{b}"
    );
    assert_eq!(
        stock(&app.state, "bol-test").await,
        8,
        "{b}: stock released"
    );
    // … and a late success for it changes nothing.
    let late = event(
        "evt_late_2",
        "payment_intent.succeeded",
        intent("pi_carol_2", &id2, total2),
    );
    let r = webhook(&app, &late, &signed(&late, WEBHOOK_SECRET)).await;
    assert!(
        r.status == StatusCode::OK && r.text().contains("ignored"),
        "{b}: {}",
        r.text()
    );
    assert_eq!(
        order_status(&app, &carol, &number2).await,
        "CANCELLED",
        "{b}"
    );

    // A full refund of the paid order; a partial one changes nothing; an unknown event is acknowledged.
    let partial = event(
        "evt_refund_partial",
        "charge.refunded",
        json!({"id": "ch_1", "object": "charge", "payment_intent": "pi_carol_1", "amount": total, "currency": "eur", "refunded": false}),
    );
    let r = webhook(&app, &partial, &signed(&partial, WEBHOOK_SECRET)).await;
    assert!(
        r.status == StatusCode::OK && r.text().contains("partial"),
        "{b}: {}",
        r.text()
    );
    let refund = event(
        "evt_refund_full",
        "charge.refunded",
        json!({"id": "ch_1", "object": "charge", "payment_intent": "pi_carol_1", "amount": total, "currency": "eur", "refunded": true}),
    );
    let r = webhook(&app, &refund, &signed(&refund, WEBHOOK_SECRET)).await;
    assert_eq!(r.status, StatusCode::OK, "{b}: {}", r.text());
    assert_eq!(order_status(&app, &carol, &number).await, "REFUNDED", "{b}");
    assert_eq!(
        stock(&app.state, "bol-test").await,
        10,
        "{b}: refunded before shipping: stock back"
    );
    let unknown = event("evt_unknown", "customer.created", json!({"id": "cus_1"}));
    let r = webhook(&app, &unknown, &signed(&unknown, WEBHOOK_SECRET)).await;
    assert!(
        r.status == StatusCode::OK && r.text().contains("ignored"),
        "{b}: {}",
        r.text()
    );
}

crate::common::on_both_backends!(unpaid_orders_expire_and_release_their_stock);
async fn unpaid_orders_expire_and_release_their_stock(db: TestDb) {
    let b = db.backend.as_str();
    let app = TestApp::with_config(db, |c| c.order_expiry = Duration::ZERO).await;
    product(&app.state, "plaid-test", 3_000, 3).await;
    let dan = app.register("dan@vivr.fr", "Dan-Solide-2026!!").await;
    add(&app, &dan, "plaid-test", 3).await;
    let r = checkout(&app, &dan, &json!({"address": address()}), None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{b}: {}", r.text());
    let number = r.json()["data"]["order"]["number"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(stock(&app.state, "plaid-test").await, 0);
    // Two expiry runs at once (two replicas): one cancellation, one release.
    let (a, c) = tokio::join!(
        vivr_shop::services::orders::expire_unpaid(&app.state),
        vivr_shop::services::orders::expire_unpaid(&app.state)
    );
    assert_eq!(a.unwrap() + c.unwrap(), 1, "{b}");
    assert_eq!(order_status(&app, &dan, &number).await, "CANCELLED", "{b}");
    assert_eq!(
        stock(&app.state, "plaid-test").await,
        3,
        "{b}: released exactly once"
    );
}

crate::common::on_both_backends!(fifty_concurrent_checkouts_never_oversell, multi_thread);
/// 50 customers, each with the last-chance product in their cart, check out at once over real connections:
/// exactly as many orders as there was stock.
async fn fifty_concurrent_checkouts_never_oversell(db: TestDb) {
    let b = db.backend.as_str();
    // Fifty accounts from one address: more than the registration limit allows in production.
    let shop = LiveShop::start(db, |c| c.rate_limits.register.max = 100).await;
    product(&shop.state, "derniere-chance", 1_500, 10).await;
    let mut customers = Vec::new();
    for i in 0..50 {
        let (cookies, csrf) = shop
            .register(&format!("client{i}@vivr.fr"), "Client-Solide-2026!")
            .await;
        let r = shop
            .request(
                "POST",
                "/api/v1/cart/items",
                &[("Cookie", &cookies), ("X-CSRF-Token", &csrf)],
                Some(&json!({"slug": "derniere-chance", "quantity": 1})),
            )
            .await;
        assert_eq!(r.status, 200, "{b}: {}", r.text());
        customers.push((cookies, csrf));
    }
    let shop = std::sync::Arc::new(shop);
    let mut tasks = Vec::new();
    for (cookies, csrf) in customers {
        let shop = shop.clone();
        tasks.push(tokio::spawn(async move {
            shop.request(
                "POST",
                "/api/v1/checkout",
                &[("Cookie", &cookies), ("X-CSRF-Token", &csrf)],
                Some(&json!({"address": address()})),
            )
            .await
        }));
    }
    let mut created = 0;
    let mut refused = 0;
    for task in tasks {
        let r = task.await.unwrap();
        match r.status {
            201 => created += 1,
            409 => {
                let code = r.json()["error"]["code"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                assert!(
                    code == "out_of_stock" || code == "insufficient_stock",
                    "{b}: {}",
                    r.text()
                );
                assert!(
                    r.json()["error"]["message"]
                        .as_str()
                        .unwrap()
                        .contains("Produit derniere-chance"),
                    "{b}"
                );
                refused += 1;
            }
            other => panic!("{b}: unexpected {other}: {}", r.text()),
        }
    }
    assert_eq!((created, refused), (10, 40), "{b}");
    assert_eq!(
        stock(&shop.state, "derniere-chance").await,
        0,
        "{b}: never negative"
    );
    let orders = shop.state.store().list_orders(None, 100, 0).await.unwrap();
    assert_eq!(orders.len(), 10, "{b}");
    assert!(
        orders
            .iter()
            .all(|o| o.items.iter().map(|i| i.quantity.get()).sum::<i32>() == 1),
        "{b}"
    );
}

/// A form-encoded call to localstripe's API (or its `/_config` endpoints).
async fn localstripe(
    base: &str,
    method: &str,
    path: &str,
    form: &[(&str, &str)],
) -> common::process::HttpResponse {
    let addr: std::net::SocketAddr = base
        .trim_start_matches("http://")
        .parse()
        .expect("localstripe address");
    let body = serde_urlencoded::to_string(form).unwrap().into_bytes();
    let path = path.to_string();
    let method = method.to_string();
    tokio::task::spawn_blocking(move || {
        common::process::http(
            addr,
            &method,
            &path,
            &[
                ("Authorization", "Bearer sk_test_vivr"),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            &body,
        )
    })
    .await
    .unwrap()
    .expect("localstripe answers")
}

/// Attaches a test card to a PaymentIntent and confirms it, as the Payment Element would in a browser.
async fn pay(base: &str, intent: &str, card: &str) -> common::process::HttpResponse {
    let pm = localstripe(
        base,
        "POST",
        "/v1/payment_methods",
        &[
            ("type", "card"),
            ("card[number]", card),
            ("card[exp_month]", "12"),
            ("card[exp_year]", "2030"),
            ("card[cvc]", "123"),
        ],
    )
    .await;
    assert_eq!(pm.status, 200, "{}", pm.text());
    let pm = pm.json()["id"].as_str().unwrap().to_string();
    let r = localstripe(
        base,
        "POST",
        &format!("/v1/payment_intents/{intent}"),
        &[("payment_method", &pm)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    localstripe(
        base,
        "POST",
        &format!("/v1/payment_intents/{intent}/confirm"),
        &[],
    )
    .await
}

async fn wait_for_status(shop: &LiveShop, cookies: &str, number: &str, wanted: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let r = shop
            .request(
                "GET",
                &format!("/api/v1/orders/{number}"),
                &[("Cookie", cookies)],
                None,
            )
            .await;
        let status = r.json()["data"]["status"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if status == wanted {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "order {number} stayed {status}, expected {wanted}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn paid_through_localstripe_with_the_email_sent_and_a_declined_card_cancelled() {
    let Some(base) = common::localstripe_url() else {
        return;
    };
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let (smtp_port, mut mails) = common::mail::smtp_server().await;
    let secret = format!("whsec_vivr_{}", uuid::Uuid::new_v4().simple());
    let shop = LiveShop::start(db, |c| {
        c.stripe = Some(StripeConfig {
            secret_key: "sk_test_vivr".to_string().into(),
            publishable_key: "pk_test_vivr".into(),
            webhook_secrets: vec![secret.clone().into()],
            api_base: base.clone(),
        });
        c.mail = Some(vivr_shop::mail::MailConfig {
            smtp_url: format!("smtp://127.0.0.1:{smtp_port}?tls=none").into(),
            from: "boutique@vivr.fr".into(),
        });
    })
    .await;
    let hook_id = format!("vivr{}", uuid::Uuid::new_v4().simple());
    let url = format!("http://{}/api/v1/stripe/webhook", shop.addr);
    let r = localstripe(
        &base,
        "POST",
        &format!("/_config/webhooks/{hook_id}"),
        &[("url", &url), ("secret", &secret)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    product(&shop.state, "miroir-test", 3_000, 5).await;

    let (cookies, csrf) = shop.register("eve@vivr.fr", "Eve-Solide-2026!!").await;
    let auth = [
        ("Cookie", cookies.as_str()),
        ("X-CSRF-Token", csrf.as_str()),
    ];
    let order_with = |quantity: i32, key: &'static str| {
        let shop = &shop;
        let auth = &auth;
        async move {
            let r = shop
                .request(
                    "POST",
                    "/api/v1/cart/items",
                    auth,
                    Some(&json!({"slug": "miroir-test", "quantity": quantity})),
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.text());
            let mut headers = auth.to_vec();
            headers.push(("Idempotency-Key", key));
            let r = shop
                .request(
                    "POST",
                    "/api/v1/checkout",
                    &headers,
                    Some(&json!({"address": address(), "shipping_method": "express"})),
                )
                .await;
            assert_eq!(r.status, 201, "{}", r.text());
            let data = r.json()["data"].clone();
            assert_eq!(data["payment"]["provider"], "stripe", "{data}");
            assert_eq!(data["payment"]["publishable_key"], "pk_test_vivr");
            // A retry with the same key: the same order and the same PaymentIntent.
            let again = shop
                .request(
                    "POST",
                    "/api/v1/checkout",
                    &headers,
                    Some(&json!({"address": address(), "shipping_method": "express"})),
                )
                .await;
            assert_eq!(again.status, 200, "{}", again.text());
            assert_eq!(
                again.json()["data"]["payment"]["payment_intent"],
                data["payment"]["payment_intent"]
            );
            (
                data["order"]["number"].as_str().unwrap().to_string(),
                data["payment"]["payment_intent"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                data["payment"]["client_secret"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        }
    };

    // Paid with a good card: PAID by the webhook, then the confirmation email.
    let (number, intent, client_secret) = order_with(2, "eve-order-00001").await;
    let page = shop
        .request(
            "GET",
            &format!("/commande/{number}/paiement"),
            &[("Cookie", &cookies)],
            None,
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(
        page.text().contains(&client_secret),
        "the page hands the client secret to the Payment Element"
    );
    let csp = page
        .header("content-security-policy")
        .unwrap_or_default()
        .to_string();
    assert!(
        csp.contains("script-src 'self'")
            && csp.contains("https://js.stripe.com")
            && csp.contains(
                "frame-src https://js.stripe.com https://*.js.stripe.com https://hooks.stripe.com"
            ),
        "{csp}"
    );
    let home = shop.request("GET", "/", &[], None).await;
    assert!(
        !home
            .header("content-security-policy")
            .unwrap_or_default()
            .contains("stripe"),
        "only the payment page allows Stripe"
    );

    let r = pay(&base, &intent, "4242424242424242").await;
    assert_eq!(r.status, 200, "{}", r.text());
    wait_for_status(&shop, &cookies, &number, "PAID").await;
    assert_eq!(stock(&shop.state, "miroir-test").await, 3);
    let mail = tokio::time::timeout(Duration::from_secs(20), mails.recv())
        .await
        .expect("the confirmation email within 20 s")
        .expect("a message");
    assert!(mail.contains(&number), "{mail}");
    assert!(mail.contains("To: eve@vivr.fr"), "{mail}");
    assert!(mail.to_lowercase().contains("subject: vivr"), "{mail}");

    // A declined card: CANCELLED by the webhook, stock back on sale.
    let (number, intent, _) = order_with(3, "eve-order-00002").await;
    assert_eq!(stock(&shop.state, "miroir-test").await, 0);
    let r = pay(&base, &intent, "4000000000000341").await;
    assert_ne!(r.status, 200, "the charge is declined: {}", r.text());
    wait_for_status(&shop, &cookies, &number, "CANCELLED").await;
    assert_eq!(stock(&shop.state, "miroir-test").await, 3, "stock released");

    // The newsletter's welcome email goes through the same worker and SMTP server, with one-click unsubscribe
    // headers (RFC 8058).
    let r = shop
        .request(
            "POST",
            "/api/v1/newsletter",
            &[],
            Some(&json!({"email": "Lecteur@VIVR.fr"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // Double opt-in: first the confirmation link, and nothing else until it is used.
    let confirm = common::mail::next_mail(&mut mails, 20).await;
    assert_eq!(confirm.to, "lecteur@vivr.fr", "{}", confirm.raw);
    assert!(!confirm.raw.contains("List-Unsubscribe"), "{}", confirm.raw);
    let link = "http://localhost:3000/newsletter/confirmer?";
    let body = json!({
        "email": confirm.link_param(link, "email"),
        "token": confirm.link_param(link, "token"),
    });
    let r = shop
        .request("POST", "/api/v1/newsletter/confirm", &[], Some(&body))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let mail = tokio::time::timeout(Duration::from_secs(20), mails.recv())
        .await
        .expect("the welcome email within 20 s")
        .expect("a message");
    assert!(mail.contains("To: lecteur@vivr.fr"), "{mail}");
    assert!(
        mail.contains("List-Unsubscribe: <http://localhost:3000/newsletter/desinscription?email=lecteur%40vivr.fr&token="),
        "{mail}"
    );
    assert!(
        mail.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
        "{mail}"
    );
}

/// The value of a hidden (or any) input named `name` in a page.
fn input_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\"");
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field"));
    let tag_end = at + html[at..].find('>').unwrap();
    let tag_start = html[..at].rfind('<').unwrap();
    let tag = &html[tag_start..tag_end];
    let value = tag.split("value=\"").nth(1).unwrap_or_default();
    value[..value.find('"').unwrap_or(0)].to_string()
}

/// Without JavaScript: the summary beside "Commander" is always what is charged. Choosing express and pressing
/// "update" shows the express total; submitting a stale total places nothing and shows the right one; the order
/// placed charges exactly the total shown and names its delivery method.
#[tokio::test]
async fn the_checkout_form_charges_the_total_it_shows() {
    let app = TestApp::sqlite().await;
    let who = app.register("camille@exemple.fr", "Tr3s-Solide!").await;
    add(&app, &who, "lampe-table-nordique", 1).await;
    let page = app.get_with_cookies("/commande", &who.0).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    let standard_total = input_value(&html, "quoted_total_cents");
    let price = vivr_shop::domain::Money::from_cents(8999);
    assert_eq!(
        standard_total, "8999",
        "standard delivery is free from 50 €"
    );

    let form = |extra: &[(&'static str, String)]| {
        let mut fields: Vec<(&str, String)> = vec![
            ("csrf_token", crate::common::csrf_from(&html)),
            ("idempotency_key", input_value(&html, "idempotency_key")),
            ("cart_version", input_value(&html, "cart_version")),
            ("address_id", "new".into()),
            ("first_name", "Camille".into()),
            ("last_name", "Durand".into()),
            ("street", "12 rue des Lilas".into()),
            ("postal_code", "69003".into()),
            ("city", "Lyon".into()),
            ("country", "FR".into()),
            ("shipping_method", "express".into()),
        ];
        fields.extend(extra.iter().cloned());
        fields
    };
    let post = |fields: Vec<(&'static str, String)>| {
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let body = serde_urlencoded::to_string(&pairs).unwrap();
        app.send(
            Request::post("/commande")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::COOKIE, &who.0)
                .body(Body::from(body))
                .unwrap(),
        )
    };
    let express_total = vivr_shop::domain::Money::from_cents(8999 + 999);

    // "Update" with express chosen: the page shows the express total; nothing is ordered.
    let updated = post(form(&[("action", "update".into())])).await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text());
    let updated_html = updated.text();
    assert_eq!(input_value(&updated_html, "quoted_total_cents"), "9998");
    assert!(
        updated_html.contains(&express_total.display_fr()),
        "{updated_html}"
    );
    assert!(updated_html.contains("Livraison express"));
    assert_eq!(order_count(&app, &who).await, 0);

    // "Commander" with the standard total still on the page: refused, the express total shown instead.
    let stale = post(form(&[("quoted_total_cents", standard_total.clone())])).await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.text());
    assert!(stale.text().contains(&format!(
        "Le total de votre commande est {}",
        express_total.display_fr()
    )));
    assert_eq!(order_count(&app, &who).await, 0);

    // A new address with three broken rules: each said beside its field at once, what was typed kept, nothing
    // ordered.
    let mut broken = form(&[("quoted_total_cents", "9998".into())]);
    for (name, value) in broken.iter_mut() {
        match *name {
            "first_name" => *value = " ".into(),
            "postal_code" => *value = "6900".into(),
            _ => {}
        }
    }
    broken.push(("phone", "appelez-moi".into()));
    let refused = post(broken).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let refused_html = refused.text();
    for field in ["first_name", "postal_code", "phone"] {
        assert!(
            refused_html.contains(&format!(r#"<p id="{field}-erreur" class="field-error">"#))
                && refused_html.contains(&format!(r#"aria-describedby="{field}-erreur""#)),
            "{field}: {refused_html}"
        );
    }
    assert!(
        !refused_html.contains("city-erreur"),
        "a valid field has no message"
    );
    assert!(
        refused_html.contains(r#"value="6900""#) && refused_html.contains(r#"value="appelez-moi""#),
        "what was typed stays"
    );
    assert_eq!(order_count(&app, &who).await, 0);

    // With the total shown: placed, for exactly that amount, naming its delivery method.
    let placed = post(form(&[("quoted_total_cents", "9998".into())])).await;
    assert_eq!(placed.status, StatusCode::SEE_OTHER, "{}", placed.text());
    let target = placed.header("location").unwrap().to_string();
    let order_page = app.get_with_cookies(&target, &who.0).await.text();
    assert!(
        order_page.contains(&express_total.display_fr()),
        "{order_page}"
    );
    assert!(order_page.contains("Livraison express"), "{order_page}");
    assert!(order_page.contains(&price.display_fr()));
    let orders = app.get_with_cookies("/api/v1/orders", &who.0).await.json();
    assert_eq!(orders["data"][0]["total_cents"], 9998, "{orders}");

    // Timestamps in the API carry their offset; the page shows French time.
    let order = &orders["data"][0];
    for field in ["created_at", "expires_at"] {
        let value = order[field].as_str().unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(value).is_ok(),
            "{field}: {value}"
        );
    }
    let r = app
        .as_user(&who)
        .post("/api/v1/addresses", &address())
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let created = r.json()["data"]["created_at"].as_str().unwrap().to_string();
    assert!(created.ends_with('Z'), "{created}");
    let expires =
        chrono::DateTime::parse_from_rfc3339(order["expires_at"].as_str().unwrap()).unwrap();
    let paris = expires.with_timezone(&chrono_tz::Europe::Paris);
    assert!(
        order_page.contains(&paris.format("%H:%M").to_string()) && !order_page.contains("UTC"),
        "expiry in Paris time: {order_page}"
    );
}

async fn order_count(app: &TestApp, who: &(String, String)) -> usize {
    app.get_with_cookies("/api/v1/orders", &who.0).await.json()["data"]
        .as_array()
        .map_or(0, Vec::len)
}
