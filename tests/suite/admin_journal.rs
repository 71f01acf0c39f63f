//! The audit log, on SQLite and PostgreSQL: every administrator write to the catalogue, the stock and the order
//! status is recorded with who, when and each field from what to what, in the write's own transaction.

use serde_json::json;

use crate::common::{TestApp, TestDb};

crate::common::on_both_backends!(every_admin_write_is_in_the_journal, multi_thread);
async fn every_admin_write_is_in_the_journal(db: TestDb) {
    let b = db.backend.as_str();
    let app = TestApp::with_config(db, |_| {}).await;
    let admin = app.admin().await;
    let boss = app.as_user(&admin);

    let r = boss
        .post(
            "/api/v1/categories",
            &json!({"name": "Jardin", "description": "Pour dehors"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{b}: {}", r.text());
    let r = boss
        .post(
            "/api/v1/products",
            &json!({"name": "Lanterne Test", "description": "Une lanterne", "price_cents": 2500,
                    "stock": 5, "category": "jardin"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{b}: {}", r.text());
    let r = boss
        .send_json(
            "PATCH",
            "/api/v1/products/lanterne-test",
            &json!({"stock": 12, "price_cents": 2990}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{b}: {}", r.text());
    // Nothing changed: nothing recorded.
    let r = boss
        .send_json(
            "PATCH",
            "/api/v1/products/lanterne-test",
            &json!({"stock": 12}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{b}");
    let r = boss
        .send_json(
            "PATCH",
            "/api/v1/categories/jardin",
            &json!({"name": "Jardin & terrasse"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{b}: {}", r.text());
    assert_eq!(
        boss.delete("/api/v1/products/lanterne-test")
            .await
            .status
            .as_u16(),
        204
    );
    assert_eq!(
        boss.delete("/api/v1/categories/jardin")
            .await
            .status
            .as_u16(),
        204
    );

    // An order moved by an administrator: its status change, under its number.
    let store = app.state.store();
    let customer = crate::common::customer(store, "acheteur@vivr.fr").await;
    let lamp = store
        .product_by_slug("lampe-table-nordique")
        .await
        .unwrap()
        .unwrap();
    let order = store
        .place_order(&crate::common::order_of(
            "VIVR-AUDIT-1".into(),
            &customer,
            &lamp,
            1,
        ))
        .await
        .unwrap();
    let r = boss
        .send_json(
            "PATCH",
            &format!("/api/v1/admin/orders/{}", order.number),
            &json!({"status": "CANCELLED"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{b}: {}", r.text());
    let moved = boss
        .get("/api/v1/admin/audit?subject=VIVR-AUDIT-1")
        .await
        .json();
    assert_eq!(moved["data"][0]["action"], "order.status", "{b}");
    assert_eq!(
        moved["data"][0]["changes"],
        json!({"status": {"from": "PENDING", "to": "CANCELLED"}})
    );

    let log = boss.get("/api/v1/admin/audit").await;
    assert_eq!(log.status.as_u16(), 200, "{b}: {}", log.text());
    let events = log.json()["data"].as_array().unwrap().clone();
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "order.status",
            "category.delete",
            "product.delete",
            "category.update",
            "product.update",
            "product.create",
            "category.create"
        ],
        "{b}: newest first, one per change"
    );
    assert!(
        events.iter().all(|e| e["actor"] == "admin@vivr.fr"),
        "{b}: {events:?}"
    );
    let update = &events[4];
    assert_eq!(update["subject"], "lanterne-test");
    assert_eq!(
        update["changes"],
        json!({"stock": {"from": 5, "to": 12}, "price_cents": {"from": 2500, "to": 2990}}),
        "{b}"
    );
    assert_eq!(
        events[3]["changes"]["name"],
        json!({"from": "Jardin", "to": "Jardin & terrasse"})
    );
    assert_eq!(
        events[5]["changes"]["category"],
        json!({"from": null, "to": "jardin"})
    );
    assert_eq!(
        events[2]["changes"]["stock"],
        json!({"from": 12, "to": null})
    );

    // One subject's events; customers see nothing of it.
    let only = boss.get("/api/v1/admin/audit?subject=jardin").await;
    assert_eq!(only.json()["data"].as_array().unwrap().len(), 3, "{b}");
    let customer = app.register("client@vivr.fr", "Tr3s-Solide!").await;
    let me = app.as_user(&customer);
    assert_eq!(me.get("/api/v1/admin/audit").await.status.as_u16(), 403);
    assert_eq!(me.get("/admin/journal").await.status.as_u16(), 403);
    let page = boss.get("/admin/journal?sujet=lanterne-test").await;
    assert_eq!(page.status.as_u16(), 200);
    let html = page.text();
    assert!(
        html.contains("Produit modifié") && html.contains("5 → 12"),
        "{b}: {html}"
    );
    assert!(!html.contains("Catégorie modifiée"), "{b}: filtered");
}

crate::common::on_both_backends!(
    concurrent_stock_edits_each_record_what_they_changed,
    multi_thread
);
async fn concurrent_stock_edits_each_record_what_they_changed(db: TestDb) {
    let b = db.backend.as_str();
    let app = TestApp::with_config(db, |_| {}).await;
    let admin = app.admin().await;
    let boss = app.as_user(&admin);
    let slug = "lampe-table-nordique";
    let start = boss.get(&format!("/api/v1/products/{slug}")).await.json()["data"]["stock"]
        .as_i64()
        .unwrap();
    let edits = futures_util::future::join_all((0..10).map(|i| {
        let boss = &boss;
        async move {
            boss.send_json(
                "PATCH",
                &format!("/api/v1/products/{slug}"),
                &json!({ "stock": 100 + i }),
            )
            .await
        }
    }))
    .await;
    assert!(edits.iter().all(|r| r.status.as_u16() == 200), "{b}");
    let events = boss
        .get(&format!("/api/v1/admin/audit?subject={slug}"))
        .await
        .json()["data"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(events.len(), 10, "{b}: one event per edit");
    // Read in the write's own transaction, the events chain: each starts where the one before ended.
    let mut expected_from = json!(start);
    for event in events.iter().rev() {
        let change = &event["changes"]["stock"];
        assert_eq!(change["from"], expected_from, "{b}: {events:?}");
        expected_from = change["to"].clone();
    }
    let now = boss.get(&format!("/api/v1/products/{slug}")).await.json()["data"]["stock"].clone();
    assert_eq!(now, expected_from, "{b}: the last event is the stock now");
}
