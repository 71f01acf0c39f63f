//! The rest of the store's contract, on both databases: addresses, orders and their payments, the email outbox,
//! reviews, the wishlist and the newsletter, categories, and the upkeep of accounts, sessions and rate limits.
//! Then the four writers of an order at once: checkouts, an administrator's edit, the payment webhook (each
//! event delivered twice) and two expiry jobs.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;

use crate::common::{TestDb, customer, order_of};
use vivr_shop::auth::now;
use vivr_shop::domain::address::{AddressFields, AddressInput};
use vivr_shop::domain::review::ReviewInput;
use vivr_shop::domain::{Actor, OrderStatus, Role};
use vivr_shop::store::{
    CategoryPatch, ChangeOutcome, EmailKind, NewCategory, NewSession, OrderEmail, OrderKey,
    PaymentEventRef, ProductPatch, StatusChange, Store, StoreError,
};

const LANTERN: &str = "lanterne-solaire-decorative";

fn address(label: &str, city: &str) -> AddressInput {
    AddressInput::parse(&AddressFields {
        label: Some(label.into()),
        first_name: "Camille".into(),
        last_name: "Durand".into(),
        street: "12 rue des Lilas".into(),
        city: city.into(),
        postal_code: "69003".into(),
        country: "FR".into(),
        ..AddressFields::default()
    })
    .unwrap()
}

/// A webhook's change: the PaymentIntent succeeded.
fn paid(order_id: &str, intent: &str, event: &str) -> StatusChange {
    StatusChange {
        order_id: order_id.into(),
        from: OrderStatus::sources(OrderStatus::Paid, Actor::Payment),
        to: OrderStatus::Paid,
        payment_id: Some(intent.into()),
        event: Some(PaymentEventRef {
            id: event.into(),
            kind: "payment_intent.succeeded".into(),
        }),
        email: Some(OrderEmail::Confirmation),
        by: None,
        now: now(),
    }
}

/// The expiry job's change: an unpaid order past its deadline is cancelled.
fn expired(order_id: &str) -> StatusChange {
    StatusChange {
        order_id: order_id.into(),
        from: OrderStatus::sources(OrderStatus::Cancelled, Actor::Expiry),
        to: OrderStatus::Cancelled,
        payment_id: None,
        event: None,
        email: None,
        by: None,
        now: now(),
    }
}

crate::common::on_both_backends!(addresses_belong_to_one_customer_with_one_default);
async fn addresses_belong_to_one_customer_with_one_default(db: TestDb) {
    let store = db.seeded_store().await;
    let b = db.backend.as_str();
    let camille = customer(store.as_ref(), "camille@vivr.fr").await;
    let other = customer(store.as_ref(), "autre@vivr.fr").await;
    let t = now();
    let home = store
        .create_address(&camille.id, &address("Maison", "Lyon"), false, t)
        .await
        .unwrap();
    assert!(home.is_default, "{b}: the first address is the default");
    let office = store
        .create_address(&camille.id, &address("Bureau", "Lyon"), true, t)
        .await
        .unwrap();
    let listed: Vec<(Option<String>, bool)> = store
        .list_addresses(&camille.id)
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.fields.label, a.is_default))
        .collect();
    assert_eq!(
        listed,
        [
            (Some("Bureau".into()), true),
            (Some("Maison".into()), false)
        ],
        "{b}: one default, listed first"
    );

    // Another customer neither sees nor changes them.
    assert!(
        store
            .address_for_user(&other.id, &home.id)
            .await
            .unwrap()
            .is_none(),
        "{b}"
    );
    let stolen = store
        .update_address(&other.id, &home.id, &address("Volée", "Nice"), false, t)
        .await;
    assert!(matches!(stolen, Err(StoreError::NotFound)), "{b}");
    let deleted = store.delete_address(&other.id, &office.id).await;
    assert!(matches!(deleted, Err(StoreError::NotFound)), "{b}");

    let moved = store
        .update_address(&camille.id, &home.id, &address("Maison", "Nice"), true, t)
        .await
        .unwrap();
    assert_eq!(
        (moved.fields.city.as_str(), moved.is_default),
        ("Nice", true)
    );
    let office = store
        .address_for_user(&camille.id, &office.id)
        .await
        .unwrap()
        .unwrap();
    assert!(!office.is_default, "{b}: the default moved");
    store.delete_address(&camille.id, &office.id).await.unwrap();
    assert_eq!(store.list_addresses(&camille.id).await.unwrap().len(), 1);
    assert!(store.list_addresses(&other.id).await.unwrap().is_empty());
}

crate::common::on_both_backends!(orders_are_found_by_every_key_and_paid_once);
async fn orders_are_found_by_every_key_and_paid_once(db: TestDb) {
    let store = db.seeded_store().await;
    let b = db.backend.as_str();
    let user = customer(store.as_ref(), "client@vivr.fr").await;
    let other = customer(store.as_ref(), "autre@vivr.fr").await;
    let product = store.product_by_slug(LANTERN).await.unwrap().unwrap();
    let mut new = order_of("VIV-TEST-0001".into(), &user, &product, 2);
    new.idempotency_key = Some("cle-commande-1".into());
    let order = store.place_order(&new).await.unwrap();
    assert_eq!(order.status, OrderStatus::Pending);
    assert_eq!(order.items.len(), 1);

    let id_of = |found: Option<vivr_shop::store::Order>| found.map(|o| o.id);
    assert_eq!(
        id_of(store.order(OrderKey::Id(&order.id)).await.unwrap()),
        Some(order.id.clone())
    );
    let by_number = store
        .order(OrderKey::Number("VIV-TEST-0001"))
        .await
        .unwrap();
    assert_eq!(id_of(by_number), Some(order.id.clone()), "{b}");
    let by_key = store
        .order(OrderKey::IdempotencyKey {
            user_id: &user.id,
            key: "cle-commande-1",
        })
        .await
        .unwrap();
    assert_eq!(id_of(by_key), Some(order.id.clone()), "{b}");
    let theirs = store
        .order(OrderKey::IdempotencyKey {
            user_id: &other.id,
            key: "cle-commande-1",
        })
        .await
        .unwrap();
    assert!(theirs.is_none(), "{b}: keys are per customer");
    assert_eq!(
        store.orders_for_user(&user.id, 10, 0).await.unwrap().len(),
        1
    );
    assert!(
        store
            .orders_for_user(&other.id, 10, 0)
            .await
            .unwrap()
            .is_empty()
    );

    // The first PaymentIntent recorded stays the order's.
    assert_eq!(
        store
            .set_order_payment(&order.id, "pi_first")
            .await
            .unwrap(),
        "pi_first"
    );
    assert_eq!(
        store
            .set_order_payment(&order.id, "pi_second")
            .await
            .unwrap(),
        "pi_first",
        "{b}"
    );
    let by_intent = store.order(OrderKey::PaymentId("pi_first")).await.unwrap();
    assert_eq!(id_of(by_intent), Some(order.id.clone()), "{b}");
    assert!(
        !store.has_purchased(&user.id, &product.id).await.unwrap(),
        "{b}: unpaid"
    );

    // Paid by one event; the same event again is a duplicate, another one finds it paid.
    let first = store
        .change_order_status(&paid(&order.id, "pi_first", "evt_1"))
        .await;
    assert_eq!(
        first.unwrap(),
        ChangeOutcome::Changed {
            from: OrderStatus::Pending,
            stock_released: false
        },
        "{b}"
    );
    let again = store
        .change_order_status(&paid(&order.id, "pi_first", "evt_1"))
        .await;
    assert_eq!(again.unwrap(), ChangeOutcome::Duplicate, "{b}");
    let other_event = store
        .change_order_status(&paid(&order.id, "pi_first", "evt_2"))
        .await;
    assert_eq!(
        other_event.unwrap(),
        ChangeOutcome::NotApplicable {
            current: OrderStatus::Paid
        },
        "{b}"
    );
    assert!(
        store.has_purchased(&user.id, &product.id).await.unwrap(),
        "{b}"
    );
    assert_eq!(
        store
            .list_orders(Some(OrderStatus::Paid), 10, 0)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        store
            .list_orders(Some(OrderStatus::Pending), 10, 0)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.list_orders(None, 10, 0).await.unwrap().len(), 1);

    // Its confirmation was queued once: claimed by one worker, retried after a failure, then sent.
    let t = now();
    let lease = Duration::from_secs(60);
    let claimed = store.claim_emails(t, lease, 5, 10).await.unwrap();
    assert_eq!(claimed.len(), 1, "{b}");
    let email = claimed.first().unwrap();
    assert_eq!(email.kind, EmailKind::Order(OrderEmail::Confirmation));
    assert_eq!(email.order_id.as_deref(), Some(order.id.as_str()));
    assert!(
        store
            .claim_emails(t, lease, 5, 10)
            .await
            .unwrap()
            .is_empty(),
        "{b}: leased"
    );
    store.email_failed(&email.id, "SMTP: 451", t).await.unwrap();
    let retried = store
        .claim_emails(t + TimeDelta::seconds(1), lease, 5, 10)
        .await
        .unwrap();
    assert_eq!(retried.len(), 1, "{b}: due again after the failure");
    let retried = retried.first().unwrap();
    assert!(retried.attempts > email.attempts, "{b}");
    assert!(
        store
            .claim_emails(t, lease, retried.attempts, 10)
            .await
            .unwrap()
            .is_empty(),
        "{b}: no more attempts than allowed"
    );
    store.email_sent(&retried.id, t).await.unwrap();
    let later = store
        .claim_emails(t + TimeDelta::hours(1), lease, 5, 10)
        .await
        .unwrap();
    assert!(later.is_empty(), "{b}: sent once");
}

async fn stock_of(store: &dyn Store) -> i32 {
    store.product_by_slug(LANTERN).await.unwrap().unwrap().stock
}

crate::common::on_both_backends!(unpaid_orders_expire_and_give_their_stock_back);
async fn unpaid_orders_expire_and_give_their_stock_back(db: TestDb) {
    let store = db.seeded_store().await;
    let b = db.backend.as_str();
    let user = customer(store.as_ref(), "client@vivr.fr").await;
    let product = store.product_by_slug(LANTERN).await.unwrap().unwrap();
    let mut late = order_of("VIV-LATE-0001".into(), &user, &product, 3);
    late.expires_at = now() - TimeDelta::minutes(1);
    let late = store.place_order(&late).await.unwrap();
    let on_time = order_of("VIV-TIME-0001".into(), &user, &product, 1);
    store.place_order(&on_time).await.unwrap();
    assert_eq!(stock_of(store.as_ref()).await, product.stock - 4, "{b}");

    let due: Vec<String> = store
        .expiring_orders(now(), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.number)
        .collect();
    assert_eq!(
        due,
        ["VIV-LATE-0001"],
        "{b}: only the order past its deadline"
    );
    let cancelled = store.change_order_status(&expired(&late.id)).await.unwrap();
    assert_eq!(
        cancelled,
        ChangeOutcome::Changed {
            from: OrderStatus::Pending,
            stock_released: true
        },
        "{b}"
    );
    assert_eq!(
        stock_of(store.as_ref()).await,
        product.stock - 1,
        "{b}: 3 back"
    );
    assert!(
        store.expiring_orders(now(), 10).await.unwrap().is_empty(),
        "{b}"
    );
    let twice = store.change_order_status(&expired(&late.id)).await.unwrap();
    assert_eq!(
        twice,
        ChangeOutcome::NotApplicable {
            current: OrderStatus::Cancelled
        },
        "{b}: released once"
    );
    assert_eq!(stock_of(store.as_ref()).await, product.stock - 1, "{b}");
}

crate::common::on_both_backends!(reviews_wishlists_and_the_newsletter);
async fn reviews_wishlists_and_the_newsletter(db: TestDb) {
    let store = db.seeded_store().await;
    let b = db.backend.as_str();
    let user = customer(store.as_ref(), "client@vivr.fr").await;
    let other = customer(store.as_ref(), "autre@vivr.fr").await;
    let product = store.product_by_slug(LANTERN).await.unwrap().unwrap();
    let review = |rating| ReviewInput {
        rating,
        title: Some("Belle lumière".into()),
        comment: None,
    };

    let (first, created) = store
        .upsert_review(&user.id, &product.id, &review(4), false, now())
        .await
        .unwrap();
    assert!(created, "{b}");
    let (second, created) = store
        .upsert_review(&user.id, &product.id, &review(5), true, now())
        .await
        .unwrap();
    assert!(!created, "{b}: one review per customer and product");
    assert_eq!((second.id.as_str(), second.rating), (first.id.as_str(), 5));
    let mine = store.review_by_user(&user.id, &product.id).await.unwrap();
    assert_eq!(mine.map(|r| (r.rating, r.verified)), Some((5, true)), "{b}");
    assert!(
        store
            .review_by_user(&other.id, &product.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store.delete_review(&user.id, &product.id).await.unwrap(),
        "{b}"
    );
    assert!(
        !store.delete_review(&user.id, &product.id).await.unwrap(),
        "{b}"
    );
    assert!(
        store
            .review_by_user(&user.id, &product.id)
            .await
            .unwrap()
            .is_none()
    );

    assert!(
        store
            .wishlist_add(&user.id, &product.id, now())
            .await
            .unwrap()
    );
    assert!(
        !store
            .wishlist_add(&user.id, &product.id, now())
            .await
            .unwrap(),
        "{b}"
    );
    assert!(store.in_wishlist(&user.id, &product.id).await.unwrap());
    assert!(
        !store.in_wishlist(&other.id, &product.id).await.unwrap(),
        "{b}"
    );
    let kept: Vec<String> = store
        .wishlist(&user.id)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.slug)
        .collect();
    assert_eq!(kept, [LANTERN], "{b}");
    assert!(store.wishlist_remove(&user.id, &product.id).await.unwrap());
    assert!(
        !store.wishlist_remove(&user.id, &product.id).await.unwrap(),
        "{b}"
    );
    assert!(store.wishlist(&user.id).await.unwrap().is_empty());

    let email = "lea@vivr.fr";
    assert!(
        store.newsletter_subscribe(email, now()).await.unwrap(),
        "{b}"
    );
    assert!(
        !store.newsletter_subscribe(email, now()).await.unwrap(),
        "{b}: once"
    );
    // Double opt-in: pending, with one confirmation email, until confirmed; then one welcome.
    assert!(!store.newsletter_subscribed(email).await.unwrap(), "{b}");
    assert!(store.newsletter_pending(email).await.unwrap(), "{b}");
    let claim = || store.claim_emails(now(), Duration::from_secs(60), 5, 10);
    let kinds = |queued: Vec<vivr_shop::store::QueuedEmail>| -> Vec<(EmailKind, String)> {
        queued.into_iter().map(|e| (e.kind, e.recipient)).collect()
    };
    assert_eq!(
        kinds(claim().await.unwrap()),
        [(EmailKind::NewsletterConfirm, email.to_string())],
        "{b}: one confirmation"
    );
    use vivr_shop::store::NewsletterConfirmation::*;
    assert_eq!(
        store.newsletter_confirm(email, now()).await.unwrap(),
        Confirmed
    );
    assert_eq!(
        store.newsletter_confirm(email, now()).await.unwrap(),
        AlreadyConfirmed
    );
    assert_eq!(
        store.newsletter_confirm("x@vivr.fr", now()).await.unwrap(),
        Gone
    );
    assert!(store.newsletter_subscribed(email).await.unwrap());
    assert!(!store.newsletter_pending(email).await.unwrap());
    assert_eq!(
        kinds(claim().await.unwrap()),
        [(EmailKind::NewsletterWelcome, email.to_string())],
        "{b}: one welcome"
    );
    // A sign-up left unconfirmed is forgotten after a while; a confirmed one stays.
    assert!(
        store
            .newsletter_subscribe("tard@vivr.fr", now())
            .await
            .unwrap()
    );
    let later = now() + chrono::TimeDelta::days(8);
    assert_eq!(
        store.newsletter_purge_unconfirmed(later).await.unwrap(),
        1,
        "{b}"
    );
    assert!(!store.newsletter_pending("tard@vivr.fr").await.unwrap());
    assert!(store.newsletter_subscribed(email).await.unwrap());
    assert!(store.newsletter_unsubscribe(email).await.unwrap());
    assert!(!store.newsletter_unsubscribe(email).await.unwrap(), "{b}");
    assert!(!store.newsletter_subscribed(email).await.unwrap());
}

crate::common::on_both_backends!(categories_and_the_upkeep_of_accounts);
async fn categories_and_the_upkeep_of_accounts(db: TestDb) {
    db.migrate().await;
    let empty = db.store().await;
    let b = db.backend.as_str();
    assert!(empty.catalog_is_empty().await.unwrap(), "{b}");
    empty.ping().await.unwrap();
    assert_eq!(empty.backend(), db.backend);
    assert!(
        empty.pool_stats().size >= 1,
        "{b}: the ping used a connection"
    );
    drop(empty);
    let store = db.seeded_store().await;
    assert!(!store.catalog_is_empty().await.unwrap(), "{b}");

    let garden = NewCategory {
        name: "Jardin".into(),
        slug: "jardin".into(),
        description: None,
        image: None,
    };
    let created = store.create_category(&garden, now(), None).await.unwrap();
    assert_eq!(
        (created.slug.as_str(), created.product_count),
        ("jardin", 0)
    );
    let again = store.create_category(&garden, now(), None).await;
    assert!(
        matches!(again, Err(StoreError::Conflict(_))),
        "{b}: {again:?}"
    );
    let patch = CategoryPatch {
        name: Some("Jardin et terrasse".into()),
        description: Some(Some("Pour dehors".into())),
        image: None,
    };
    let renamed = store
        .update_category("jardin", &patch, now(), None)
        .await
        .unwrap();
    assert_eq!(renamed.name, "Jardin et terrasse");
    let found = store.category_by_slug("jardin").await.unwrap().unwrap();
    assert_eq!(found.description.as_deref(), Some("Pour dehors"), "{b}");
    let missing = store
        .update_category("nulle-part", &patch, now(), None)
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{b}");
    assert!(
        store
            .category_by_slug("nulle-part")
            .await
            .unwrap()
            .is_none()
    );

    let user = customer(store.as_ref(), "client@vivr.fr").await;
    let promoted = store
        .set_role("client@vivr.fr", Role::Admin, now())
        .await
        .unwrap();
    assert_eq!(
        (promoted.id.as_str(), promoted.role),
        (user.id.as_str(), Role::Admin)
    );
    let nobody = store.set_role("personne@vivr.fr", Role::Admin, now()).await;
    assert!(matches!(nobody, Err(StoreError::NotFound)), "{b}");
    store
        .set_password_hash(&user.id, "$argon2id$v=19$nouveau", now())
        .await
        .unwrap();
    let reread = store
        .user_by_email("client@vivr.fr")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        reread.password_hash.as_deref(),
        Some("$argon2id$v=19$nouveau")
    );

    let t = now();
    for (hash, expires) in [
        ("ended", t - TimeDelta::minutes(1)),
        ("live", t + TimeDelta::hours(1)),
    ] {
        let session = NewSession {
            token_hash: hash.into(),
            user_id: user.id.clone(),
            expires,
            now: t - TimeDelta::hours(1),
        };
        store.create_session(&session).await.unwrap();
    }
    assert_eq!(store.delete_expired_sessions(t).await.unwrap(), 1, "{b}");
    assert!(
        store
            .session_by_token_hash("live", t)
            .await
            .unwrap()
            .is_some()
    );

    let window = Duration::from_secs(60);
    store.rate_limit_hit("login:ip:1", window, t).await.unwrap();
    let hit = store.rate_limit_hit("login:ip:1", window, t).await.unwrap();
    assert_eq!(hit.count, 2);
    store
        .rate_limit_refund("login:ip:1", hit.window_start)
        .await
        .unwrap();
    let peeked = store
        .rate_limit_peek("login:ip:1", window, t)
        .await
        .unwrap();
    assert_eq!(peeked.map(|w| w.count), Some(1), "{b}: one given back");
}

crate::common::on_both_backends!(checkout_admin_webhook_and_expiry_at_once, multi_thread);
/// Checkouts, an administrator renaming the product, the payment webhook (each event delivered twice) and two
/// expiry jobs, all at once on one product: every unpaid order past its deadline ends paid or cancelled, never
/// both; the stock and the orders holding units add up to what there was; each payment sends one confirmation.
async fn checkout_admin_webhook_and_expiry_at_once(db: TestDb) {
    let store: Arc<Box<dyn Store>> = Arc::new(db.seeded_store().await);
    let b = db.backend.as_str();
    let restock = ProductPatch {
        stock: Some(400),
        ..ProductPatch::default()
    };
    let product = store
        .update_product(LANTERN, &restock, now(), None)
        .await
        .unwrap();
    let user = customer(store.as_ref().as_ref(), "client@vivr.fr").await;
    let mut due = Vec::new();
    for i in 0..20 {
        let mut new = order_of(format!("VIV-DUE-{i:04}"), &user, &product, 2);
        new.expires_at = now() - TimeDelta::minutes(1);
        let order = store.place_order(&new).await.unwrap();
        store
            .set_order_payment(&order.id, &format!("pi_{i}"))
            .await
            .unwrap();
        due.push(order);
    }

    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..40 {
        let (store, product, user) = (store.clone(), product.clone(), user.clone());
        tasks.spawn(async move {
            let order = order_of(format!("VIV-NEW-{i:04}"), &user, &product, 2);
            // 400 in stock covers every order: none may be refused.
            store.place_order(&order).await.unwrap();
        });
    }
    for i in 0..20 {
        let store = store.clone();
        tasks.spawn(async move {
            let rename = ProductPatch {
                name: Some(format!("Lanterne n°{i}")),
                ..ProductPatch::default()
            };
            store
                .update_product(LANTERN, &rename, now(), None)
                .await
                .unwrap();
        });
    }
    for (i, order) in due.iter().enumerate() {
        for _ in 0..2 {
            let (store, id) = (store.clone(), order.id.clone());
            tasks.spawn(async move {
                let change = paid(&id, &format!("pi_{i}"), &format!("evt_{i}"));
                store.change_order_status(&change).await.unwrap();
            });
        }
    }
    for _ in 0..2 {
        let store = store.clone();
        tasks.spawn(async move {
            for order in store.expiring_orders(now(), 100).await.unwrap() {
                store
                    .change_order_status(&expired(&order.id))
                    .await
                    .unwrap();
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }

    let placed = store.list_orders(None, 1000, 0).await.unwrap();
    assert_eq!(placed.len(), 60, "{b}: 20 due and 40 new");
    let mut paid_orders = 0;
    for order in &due {
        let status = store
            .order(OrderKey::Id(&order.id))
            .await
            .unwrap()
            .unwrap()
            .status;
        match status {
            OrderStatus::Paid => paid_orders += 1,
            OrderStatus::Cancelled => {}
            other => panic!("{b}: {} ended {other}", order.number),
        }
    }
    let held: i32 = placed
        .iter()
        .filter(|o| o.status != OrderStatus::Cancelled)
        .flat_map(|o| o.items.iter().map(|i| i.quantity.get()))
        .sum();
    let stock = store.product_by_slug(LANTERN).await.unwrap().unwrap().stock;
    assert_eq!(
        stock + held,
        400,
        "{b}: {held} units held by orders, {stock} in stock"
    );
    let confirmations = store
        .claim_emails(
            now() + TimeDelta::minutes(1),
            Duration::from_secs(60),
            5,
            1000,
        )
        .await
        .unwrap()
        .iter()
        .filter(|e| e.kind == EmailKind::Order(OrderEmail::Confirmation))
        .count();
    assert_eq!(
        confirmations, paid_orders,
        "{b}: one confirmation per payment"
    );
}
