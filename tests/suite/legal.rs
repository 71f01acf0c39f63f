//! The legal pages a French shop must publish: linked from every page and from the checkout, filled from the
//! configuration (placeholders naming the variables when it is missing, refused in production), and true to what
//! the shop does (the cookies it sets, its shipping prices).

use std::collections::BTreeSet;

use axum::http::StatusCode;

use crate::common::{TestApp, TestDb};
use vivr_shop::config::LegalInfo;

const PAGES: [&str; 6] = [
    "/mentions-legales",
    "/cgv",
    "/confidentialite",
    "/cookies",
    "/livraison-retours",
    "/contact",
];

fn seller() -> LegalInfo {
    LegalInfo {
        company_name: Some("Maison Vivr SAS".into()),
        company_form: Some("SAS au capital de 10 000 €, RCS Paris".into()),
        siren: Some("123 456 782".into()),
        vat_number: Some("FR11123456782".into()),
        address: Some("12 rue de l'Exemple, 75011 Paris".into()),
        email: Some("bonjour@vivr.example".into()),
        phone: Some("01 23 45 67 89".into()),
        publisher: Some("Camille Martin".into()),
        host: Some("Hébergeur SAS, 1 rue de l'Hôte, 75001 Paris".into()),
        mediator: Some("Médiateur Exemple, 2 rue du Dialogue, 75008 Paris".into()),
        mediator_url: Some("https://mediateur.example".into()),
    }
}

async fn page(app: &TestApp, path: &str) -> String {
    let response = app.get(path).await;
    assert_eq!(response.status, StatusCode::OK, "{path}");
    response.text()
}

#[tokio::test]
async fn every_page_links_the_legal_pages_which_name_the_seller() {
    let app = TestApp::with_config(TestDb::sqlite(), |c| c.legal = seller()).await;
    for path in [
        "/",
        "/produits",
        "/produits/lampe-table-nordique",
        "/panier",
        "/connexion",
        "/page-inconnue",
    ] {
        let response = app.get(path).await;
        let html = response.text();
        for link in PAGES {
            assert!(
                html.contains(&format!(r#"href="{link}""#)),
                "{path} links {link}"
            );
        }
    }
    for path in PAGES {
        let html = page(&app, path).await;
        assert!(
            !html.contains("à renseigner"),
            "{path}: no placeholder once configured"
        );
        assert!(!html.contains("VIVR_LEGAL"), "{path}");
    }
    let notices = page(&app, "/mentions-legales").await;
    for fact in [
        "Maison Vivr SAS",
        "123 456 782",
        "FR11123456782",
        "Camille Martin",
        "Hébergeur SAS",
        "01 23 45 67 89",
    ] {
        assert!(notices.contains(fact), "mentions légales: {fact}");
    }
    let terms = page(&app, "/cgv").await;
    for fact in [
        "<strong>14 jours</strong>",
        r#"id="retractation""#,
        r#"id="formulaire-retractation""#,
        "Je vous notifie par la présente ma rétractation",
        "garantie légale de conformité",
        r#"<a href="https://mediateur.example" rel="noopener">"#,
        "Médiateur Exemple",
    ] {
        assert!(terms.contains(fact), "CGV: {fact}");
    }
    let contact = page(&app, "/contact").await;
    assert!(contact.contains("bonjour@vivr.example") && contact.contains("01 23 45 67 89"));
}

#[tokio::test]
async fn unconfigured_the_pages_name_the_missing_variables() {
    let app = TestApp::sqlite().await;
    let notices = page(&app, "/mentions-legales").await;
    for variable in [
        "VIVR_LEGAL_COMPANY_NAME",
        "VIVR_LEGAL_COMPANY_FORM",
        "VIVR_LEGAL_SIREN",
        "VIVR_LEGAL_ADDRESS",
        "VIVR_LEGAL_EMAIL",
        "VIVR_LEGAL_PUBLISHER",
        "VIVR_LEGAL_HOST",
    ] {
        assert!(
            notices.contains(&format!(
                r#"<mark class="placeholder">[à renseigner : {variable}]</mark>"#
            )),
            "{variable}"
        );
    }
    assert!(
        !notices.contains("TVA intracommunautaire"),
        "optional: absent when unset"
    );
    let terms = page(&app, "/cgv").await;
    assert!(terms.contains("[à renseigner : VIVR_LEGAL_MEDIATOR_URL]"));
    assert!(
        !terms.contains(r#"rel="noopener""#),
        "no link to a placeholder"
    );
}

/// The cookies page lists every cookie the shop sets, as a visitor, a shopper and a signed-in customer.
#[tokio::test]
async fn the_cookies_page_lists_every_cookie_the_shop_sets() {
    let app = TestApp::sqlite().await;
    let mut set = BTreeSet::new();
    let mut names = |response: &crate::common::TestResponse| {
        for cookie in response.set_cookies() {
            set.insert(cookie.split('=').next().unwrap().to_string());
        }
    };
    let home = app.get("/").await;
    names(&home);
    let who = app.register("cookies@exemple.fr", "Tr3s-Solide!").await;
    let registered = app
        .post_json(
            "/api/v1/auth/register",
            &serde_json::json!({"email": "autre@exemple.fr", "password": "Tr3s-Solide!", "name": "Autre"}),
            None,
            None,
        )
        .await;
    names(&registered);
    let signed_in = app
        .post_json(
            "/api/v1/auth/login",
            &serde_json::json!({"email": "cookies@exemple.fr", "password": "Tr3s-Solide!"}),
            None,
            None,
        )
        .await;
    names(&signed_in);
    let visitor_cart = app
        .post_json(
            "/api/v1/cart/items",
            &serde_json::json!({"slug": "lampe-table-nordique", "quantity": 1}),
            Some(&home.set_cookies().join("; ")),
            Some(&crate::common::csrf_from(&home.text())),
        )
        .await;
    assert!(visitor_cart.status.is_success(), "{}", visitor_cart.text());
    names(&visitor_cart);
    names(&app.as_user(&who).get("/compte").await);
    assert_eq!(
        set.iter().map(String::as_str).collect::<Vec<_>>(),
        ["vivr_cart", "vivr_csrf", "vivr_session"],
        "the cookies seen"
    );
    let cookies = page(&app, "/cookies").await;
    assert!(cookies.contains("strictement nécessaires"));
    for name in &set {
        assert!(
            cookies.contains(&format!("<code>{name}</code>")),
            "{name} is listed"
        );
    }
    assert_eq!(
        cookies.matches("<code>").count(),
        set.len(),
        "and nothing else"
    );
}

#[tokio::test]
async fn delivery_and_checkout_pages_say_what_the_checkout_charges() {
    let app = TestApp::sqlite().await;
    let delivery = page(&app, "/livraison-retours").await;
    for fact in [
        "4,99",
        "9,99",
        "50,00",
        "France, Monaco, Belgique, Luxembourg",
        "Retours gratuits sous 30 jours",
    ] {
        assert!(delivery.contains(fact), "livraison: {fact}");
    }
    let who = app.register("cgv@exemple.fr", "Tr3s-Solide!").await;
    let added = app
        .as_user(&who)
        .post(
            "/api/v1/cart/items",
            &serde_json::json!({"slug": "lampe-table-nordique", "quantity": 1}),
        )
        .await;
    assert!(added.status.is_success());
    let checkout = app.as_user(&who).get("/commande").await;
    assert_eq!(checkout.status, StatusCode::OK);
    // The banner and the checkout's promise use the delivery page's figures, not copies of them.
    let days = vivr_shop::domain::checkout::RETURN_DAYS;
    let threshold = vivr_shop::domain::checkout::FREE_SHIPPING_FROM.display_fr_whole();
    let banner = format!(
        "Livraison gratuite dès {threshold} d&#39;achat · Retours gratuits sous {days} jours"
    );
    assert!(
        checkout.text().contains(&banner)
            || checkout.text().contains(&banner.replace("&#39;", "&#x27;")),
        "{}",
        checkout.text()
    );
    assert!(
        checkout
            .text()
            .contains(&format!("gratuits pendant {days} jours"))
    );
    let html = checkout.text();
    assert!(
        html.contains(r#"vous acceptez nos <a href="/cgv">conditions générales de vente</a>"#),
        "{html}"
    );
    assert!(html.contains(r#"<a href="/cgv#retractation">droit de rétractation de 14 jours</a>"#));
}
