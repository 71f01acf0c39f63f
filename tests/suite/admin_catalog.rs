//! The catalogue's admin pages, on SQLite and PostgreSQL, without JavaScript: products (list, create with every
//! error at once, edit, quick stock, archive after a confirmation) and categories (create, edit, delete after a
//! confirmation); each write in the audit log; customers refused; stock edits sent at once.

use serde_json::json;

use crate::common::{TestApp, TestDb};

crate::common::on_both_backends!(an_administrator_runs_the_catalogue_from_pages, multi_thread);
async fn an_administrator_runs_the_catalogue_from_pages(db: TestDb) {
    let b = db.backend.as_str();
    let app = TestApp::with_config(db, |_| {}).await;
    let admin = app.admin().await;
    let boss = app.as_user(&admin);
    let customer = app.register("client@exemple.fr", "Cl1ent-Solide!").await;
    for path in [
        "/admin/produits",
        "/admin/produits/nouveau",
        "/admin/categories",
    ] {
        assert_eq!(
            app.as_user(&customer).get(path).await.status.as_u16(),
            403,
            "{b} {path}"
        );
    }

    let list = boss.get("/admin/produits").await;
    assert_eq!(list.status.as_u16(), 200, "{b}");
    let list = list.text();
    assert!(list.contains("20 produit(s) au catalogue."), "{b}: {list}");
    assert!(
        list.contains(r#"href="/admin/produits/lampe-table-nordique""#),
        "{b}"
    );
    let found = boss.get("/admin/produits?search=lampes").await.text();
    assert!(
        found.contains("Lampe de table Nordique") && !found.contains("Canapé"),
        "{b}"
    );

    // Every error of the form at once, beside its field, with what was typed kept.
    let r = boss
        .post_form(
            "/admin/produits/nouveau",
            &[
                ("name", ""),
                ("slug", ""),
                ("description", "Une lampe en laiton."),
                ("price", "douze"),
                ("compare_price", ""),
                ("category", "salon"),
                ("stock", "-3"),
                ("images", "https://images.example.com/lampe.jpg"),
            ],
        )
        .await;
    assert_eq!(r.status.as_u16(), 422, "{b}: {}", r.text());
    let page = r.text();
    for (field, message) in [
        ("name", "Nom : est requis"),
        ("price", "Prix : doit être un montant en euros"),
        ("stock", "Stock : doit être compris entre 0 et 1000000"),
        (
            "images",
            "Photos : doit être la référence d&#39;une image envoyée",
        ),
    ] {
        assert!(
            page.contains(&format!(r#"id="{field}-erreur""#)),
            "{b} {field}: {page}"
        );
        assert!(page.contains(message), "{b} {message}: {page}");
    }
    assert!(
        page.contains("Une lampe en laiton."),
        "{b}: what was typed is kept"
    );

    // Created with a demo photo.
    let photo = app
        .get("/api/v1/products/lampe-table-nordique")
        .await
        .json()["data"]["images"][0]
        .as_str()
        .unwrap()
        .to_string();
    let r = boss
        .post_form(
            "/admin/produits/nouveau",
            &[
                ("name", "Lampe Laiton"),
                ("slug", ""),
                ("description", "Une lampe en laiton."),
                ("price", "1 049,90 €"),
                ("compare_price", ""),
                ("category", "salon"),
                ("stock", "4"),
                ("featured", "on"),
                ("images", &format!("{photo}\n")),
            ],
        )
        .await;
    assert_eq!(r.status.as_u16(), 303, "{b}: {}", r.text());
    assert_eq!(
        r.header("location"),
        Some("/admin/produits/lampe-laiton?fait=cree")
    );
    let product = app.get("/api/v1/products/lampe-laiton").await.json();
    assert_eq!(product["data"]["price_cents"], 104_990, "{b}");
    assert_eq!(product["data"]["featured"], true, "{b}");
    assert_eq!(product["data"]["images"], json!([photo]), "{b}");
    let edit = boss
        .get("/admin/produits/lampe-laiton?fait=cree")
        .await
        .text();
    assert!(
        edit.contains("Produit créé.") && edit.contains(r#"value="1049,90""#),
        "{b}: {edit}"
    );

    // Edited: every field replaced; the slug stays.
    let r = boss
        .post_form(
            "/admin/produits/lampe-laiton",
            &[
                ("name", "Lampe Laiton Brossé"),
                ("description", "Une lampe en laiton brossé."),
                ("price", "999"),
                ("compare_price", "1 049,90"),
                ("category", ""),
                ("stock", "6"),
                ("images", ""),
            ],
        )
        .await;
    assert_eq!(r.status.as_u16(), 303, "{b}: {}", r.text());
    let product = app.get("/api/v1/products/lampe-laiton").await.json();
    assert_eq!(product["data"]["name"], "Lampe Laiton Brossé", "{b}");
    assert_eq!(
        product["data"]["featured"], false,
        "{b}: an unticked box is false"
    );
    assert_eq!(product["data"]["category"], serde_json::Value::Null, "{b}");
    assert_eq!(product["data"]["stock"], 6, "{b}");

    // The list's stock form.
    let r = boss
        .post_form("/admin/produits/lampe-laiton/stock", &[("stock", "11")])
        .await;
    assert_eq!(r.status.as_u16(), 303, "{b}: {}", r.text());
    assert_eq!(
        app.get("/api/v1/products/lampe-laiton").await.json()["data"]["stock"],
        11
    );
    let r = boss
        .post_form("/admin/produits/lampe-laiton/stock", &[("stock", "onze")])
        .await;
    assert_eq!(r.status.as_u16(), 422, "{b}");

    // Archived after a confirmation page.
    let r = boss
        .post_form("/admin/produits/lampe-laiton/archiver", &[])
        .await;
    assert_eq!(r.status.as_u16(), 200, "{b}");
    assert!(
        r.text()
            .contains("Retirer « Lampe Laiton Brossé » du catalogue ?"),
        "{b}"
    );
    assert_eq!(
        app.get("/api/v1/products/lampe-laiton")
            .await
            .status
            .as_u16(),
        200,
        "{b}: not yet"
    );
    let r = boss
        .post_form(
            "/admin/produits/lampe-laiton/archiver",
            &[("confirm", "oui")],
        )
        .await;
    assert_eq!(r.status.as_u16(), 303, "{b}");
    assert_eq!(
        app.get("/api/v1/products/lampe-laiton")
            .await
            .status
            .as_u16(),
        404,
        "{b}"
    );

    // Categories: created (a taken slug is said beside it), edited, deleted after a confirmation.
    let r = boss
        .post_form(
            "/admin/categories",
            &[
                ("name", "Salon bis"),
                ("slug", "salon"),
                ("description", ""),
                ("image", ""),
            ],
        )
        .await;
    assert_eq!(r.status.as_u16(), 422, "{b}: {}", r.text());
    assert!(r.text().contains("déjà prise"), "{b}: {}", r.text());
    let r = boss
        .post_form(
            "/admin/categories",
            &[
                ("name", "Entrée"),
                ("slug", ""),
                ("description", "Pour accueillir"),
                ("image", ""),
            ],
        )
        .await;
    assert_eq!(r.status.as_u16(), 303, "{b}: {}", r.text());
    let r = boss
        .post_form(
            "/admin/categories/entree",
            &[
                ("name", "Entrée & couloir"),
                ("description", ""),
                ("image", &photo),
            ],
        )
        .await;
    assert_eq!(r.status.as_u16(), 303, "{b}: {}", r.text());
    let categories = app.get("/api/v1/categories").await.json();
    let entree = categories["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["slug"] == "entree")
        .unwrap()
        .clone();
    assert_eq!(entree["name"], "Entrée & couloir", "{b}");
    assert_eq!(entree["image"], photo.as_str(), "{b}");
    let r = boss
        .post_form("/admin/categories/entree/supprimer", &[])
        .await;
    assert!(
        r.text()
            .contains("Supprimer la catégorie « Entrée &#38; couloir » ?"),
        "{b}: {}",
        r.text()
    );
    let r = boss
        .post_form("/admin/categories/entree/supprimer", &[("confirm", "oui")])
        .await;
    assert_eq!(r.status.as_u16(), 303, "{b}");

    // Each write is in the journal, the administrator's.
    let journal = boss
        .get("/api/v1/admin/audit?subject=lampe-laiton")
        .await
        .json();
    let actions: Vec<&str> = journal["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            // Never ordered, it is deleted rather than archived.
            "product.delete",
            "product.update",
            "product.update",
            "product.create"
        ],
        "{b}"
    );
    assert_eq!(journal["data"][0]["actor"], "admin@vivr.fr", "{b}");
}

crate::common::on_both_backends!(
    stock_edits_from_the_list_sent_at_once_all_land,
    multi_thread
);
async fn stock_edits_from_the_list_sent_at_once_all_land(db: TestDb) {
    let b = db.backend.as_str();
    let app = TestApp::with_config(db, |_| {}).await;
    let admin = app.admin().await;
    let boss = app.as_user(&admin);
    let values: Vec<String> = (1..=12).map(|n| n.to_string()).collect();
    let forms: Vec<[(&str, &str); 1]> = values.iter().map(|v| [("stock", v.as_str())]).collect();
    let answers = futures_util::future::join_all(
        forms
            .iter()
            .map(|form| boss.post_form("/admin/produits/vase-ceramique-minimal/stock", form)),
    )
    .await;
    assert!(answers.iter().all(|r| r.status.as_u16() == 303), "{b}");
    let stock = app
        .get("/api/v1/products/vase-ceramique-minimal")
        .await
        .json()["data"]["stock"]
        .as_i64()
        .unwrap();
    let journal = boss
        .get("/api/v1/admin/audit?subject=vase-ceramique-minimal")
        .await
        .json();
    // The newest event ends where the stock is: the edits chained.
    assert_eq!(
        journal["data"][0]["changes"]["stock"]["to"], stock,
        "{b}: {journal}"
    );
    assert!(journal["data"].as_array().unwrap().len() >= 11, "{b}");
}
