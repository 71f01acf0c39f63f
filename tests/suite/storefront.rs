//! The storefront as shoppers, crawlers and researchers find it: listings and their empty states, filters typed
//! as people type them, the cart, sign-in paths; the sitemap, robots.txt and security.txt.

use crate::common::{TestApp, TestDb, csrf_from};
use axum::http::StatusCode;

/// The `<loc>` values of a sitemap or sitemap index, in order.
fn locations(xml: &str) -> Vec<String> {
    xml.split("<loc>")
        .skip(1)
        .filter_map(|rest| rest.split_once("</loc>").map(|(loc, _)| loc.to_string()))
        .collect()
}

#[tokio::test]
async fn the_sitemap_lists_pages_categories_and_live_products_with_their_last_change() {
    let app = TestApp::with_config(TestDb::sqlite(), |c| {
        c.public_url = Some("https://www.vivr.fr/".into());
    })
    .await;
    let index = app.get("/sitemap.xml").await;
    assert_eq!(index.status, StatusCode::OK);
    assert_eq!(
        index.header("content-type"),
        Some("application/xml; charset=utf-8")
    );
    assert!(
        index.header("set-cookie").is_none(),
        "no session for crawlers"
    );
    let index = index.text();
    assert!(index.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<sitemapindex"));
    let files = locations(&index);
    assert_eq!(
        files,
        [
            "https://www.vivr.fr/sitemaps/pages.xml",
            "https://www.vivr.fr/sitemaps/categories.xml",
            "https://www.vivr.fr/sitemaps/products-1.xml",
        ]
    );

    let mut listed = Vec::new();
    for file in &files {
        let path = file.trim_start_matches("https://www.vivr.fr");
        let r = app.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        let xml = r.text();
        assert!(xml.contains("<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">"));
        if path.contains("products") || path.contains("categories") {
            assert_eq!(
                xml.matches("<lastmod>").count(),
                xml.matches("<url>").count(),
                "{path}: every catalogue page says when it changed"
            );
        }
        listed.extend(locations(&xml));
    }
    assert!(listed.contains(&"https://www.vivr.fr/".to_string()));
    assert!(listed.contains(&"https://www.vivr.fr/categories/salon".to_string()));
    assert!(listed.contains(&"https://www.vivr.fr/produits/lampe-table-nordique".to_string()));
    assert_eq!(listed.len(), 4 + 6 + 20, "{listed:?}");
    // Every address the sitemap gives is a page that answers.
    for url in &listed {
        let r = app.get(url.trim_start_matches("https://www.vivr.fr")).await;
        assert_eq!(r.status, StatusCode::OK, "{url}");
    }

    for missing in [
        "/sitemaps/products-2.xml",
        "/sitemaps/products-01.xml",
        "/sitemaps/index.html",
    ] {
        assert_eq!(
            app.get(missing).await.status,
            StatusCode::NOT_FOUND,
            "{missing}"
        );
    }

    let robots = app.get("/robots.txt").await.text();
    assert!(
        robots.contains("\nSitemap: https://www.vivr.fr/sitemap.xml\n"),
        "{robots}"
    );
}

#[tokio::test]
async fn an_archived_product_leaves_the_sitemap() {
    let app = TestApp::sqlite().await;
    let (cookies, csrf) = app.admin().await;
    let r = app
        .send(
            axum::http::Request::delete("/api/v1/products/lampe-table-nordique")
                .header("cookie", &cookies)
                .header("x-csrf-token", &csrf)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert!(r.status.is_success(), "{} {}", r.status, r.text());
    let products = app.get("/sitemaps/products-1.xml").await.text();
    assert_eq!(locations(&products).len(), 19);
    assert!(!products.contains("lampe-table-nordique"));
    // Without a configured public URL (development), links start with the host asked for.
    assert!(
        products.contains("<loc>http://localhost/produits/"),
        "{products}"
    );
}

#[tokio::test]
async fn security_txt_is_published_only_with_a_contact() {
    let app = TestApp::sqlite().await;
    assert_eq!(
        app.get("/.well-known/security.txt").await.status,
        StatusCode::NOT_FOUND
    );

    let app = TestApp::with_config(TestDb::sqlite(), |c| {
        c.public_url = Some("https://www.vivr.fr".into());
        c.security_contact = Some("mailto:securite@vivr.fr".into());
    })
    .await;
    let r = app.get("/.well-known/security.txt").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    let body = r.text();
    assert!(
        body.starts_with("Contact: mailto:securite@vivr.fr\n"),
        "{body}"
    );
    assert!(body.contains("\nCanonical: https://www.vivr.fr/.well-known/security.txt\n"));
    let expires = body
        .lines()
        .find_map(|l| l.strip_prefix("Expires: "))
        .expect("an Expires field");
    let expires = chrono::DateTime::parse_from_rfc3339(expires).expect("RFC 3339");
    let left = expires.signed_duration_since(chrono::Utc::now());
    assert!(
        left > chrono::Duration::days(30) && left < chrono::Duration::days(365),
        "RFC 9116: in the future, less than a year away: {expires}"
    );
}

/// The number in "N produit(s) trouvé(s)".
fn found(html: &str) -> usize {
    let (before, _) = html.split_once(" produit(s) trouvé(s)").expect("a count");
    let digits: String = before
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits.parse().unwrap()
}

#[tokio::test]
async fn price_filters_read_amounts_as_shoppers_type_them() {
    let app = TestApp::sqlite().await;
    let plain = found(&app.get("/produits?max_price=50").await.text());
    assert!(plain > 0 && plain < 20, "{plain}");
    for typed in ["50+%E2%82%AC", "50%E2%82%AC", "50%2C00", "+50+EUR+"] {
        let r = app.get(&format!("/produits?max_price={typed}")).await;
        assert_eq!(r.status, StatusCode::OK, "{typed}: {}", r.text());
        assert_eq!(found(&r.text()), plain, "{typed}");
    }
    let r = app.get("/produits?min_price=1+000").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(found(&r.text()), 0, "nothing costs 1 000 € or more");
    let r = app.get("/produits?min_price=1+000").await.text();
    assert!(
        r.contains("value=\"1000,00\""),
        "the form shows the amount read"
    );
    let r = app.get("/api/v1/products?max_price=50%20%E2%82%AC").await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app.get("/produits?max_price=50+%24").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "dollars are not euros");
}

#[tokio::test]
async fn listings_say_what_to_do_when_empty() {
    let app = TestApp::sqlite().await;
    let past = app.get("/produits?page=99").await;
    assert_eq!(past.status, StatusCode::OK);
    let html = past.text();
    assert!(html.contains("Cette page n'existe pas"), "{html}");
    assert!(html.contains("href=\"/produits?page=1\""), "a way back");
    assert!(!html.contains("Page 99 sur"), "no pagination past the end");

    let none = app.get("/recherche?q=zzyzx").await.text();
    assert!(
        none.contains("Aucun produit ne correspond à « zzyzx »"),
        "{none}"
    );
    assert!(
        none.contains("href=\"/categories/salon\""),
        "categories to browse"
    );
    assert!(none.contains("Les plus populaires") && none.contains("class=\"card\""));
    assert!(
        none.contains("id=\"recherche-globale\" name=\"q\" type=\"search\" value=\"zzyzx\""),
        "the header's search box keeps the query"
    );
    let some = app.get("/recherche?q=vase").await.text();
    assert!(
        !some.contains("Les plus populaires"),
        "suggestions only when empty"
    );
}

#[tokio::test]
async fn new_arrivals_and_promotions_have_their_own_listings() {
    let app = TestApp::sqlite().await;
    let home = app.get("/").await.text();
    assert!(home.contains("href=\"/nouveautes\"") && home.contains("href=\"/promotions\""));

    let new = app.get("/nouveautes").await;
    assert_eq!(new.status, StatusCode::OK);
    let api: serde_json::Value = app.get("/api/v1/products?sort=newest&limit=1").await.json();
    let newest = api["data"][0]["name"].as_str().unwrap().to_string();
    let html = new.text();
    assert_eq!(found(&html), 20);
    let first_card = html.split("class=\"card\"").nth(1).unwrap();
    assert!(first_card.contains(&newest), "newest first: {newest}");

    let reduced: serde_json::Value = app
        .get("/api/v1/products?on_sale=true&limit=100")
        .await
        .json();
    let items = reduced["data"].as_array().unwrap();
    assert!(!items.is_empty() && items.len() < 20, "{}", items.len());
    for item in items {
        assert!(
            item["compare_price_cents"].as_i64().unwrap() > item["price_cents"].as_i64().unwrap(),
            "{item}"
        );
    }
    let full: serde_json::Value = app
        .get("/api/v1/products?on_sale=false&limit=100")
        .await
        .json();
    assert_eq!(items.len() + full["data"].as_array().unwrap().len(), 20);
    let promotions = app.get("/promotions").await.text();
    assert_eq!(found(&promotions), items.len());
    for item in items {
        assert!(promotions.contains(item["slug"].as_str().unwrap()));
    }
}

#[tokio::test]
async fn creating_an_account_from_the_sign_in_page_goes_on_to_the_page_asked_for() {
    let app = TestApp::sqlite().await;
    let login = app.get("/connexion?next=/commande").await.text();
    assert!(
        login.contains("href=\"/inscription?next=%2Fcommande\""),
        "{login}"
    );
    let register = app.get("/inscription?next=/commande").await;
    let cookie = register.set_cookies().join("; ");
    let html = register.text();
    assert!(html.contains("name=\"next\" value=\"/commande\""));
    assert!(html.contains("href=\"/connexion?next=%2Fcommande\""));
    let token = csrf_from(&html);
    let r = app
        .post_form(
            "/inscription",
            &[
                ("csrf_token", &token),
                ("email", "claire@test.fr"),
                ("password", "Tr3s-Solide!"),
                ("password_confirm", "Tr3s-Solide!"),
                ("next", "/commande"),
            ],
            &cookie,
        )
        .await;
    // The activation link (emailed) goes on to the checkout: the link remembers it.
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        app.db
            .text(r#"SELECT "next" FROM "AccountToken" WHERE "purpose" = 'ACCOUNT_ACTIVATION'"#)
            .await
            .as_deref(),
        Some("/commande")
    );
    // Off-site targets are not followed.
    let html = app.get("/inscription?next=//evil.example").await.text();
    assert!(html.contains("name=\"next\" value=\"/compte\""));
    assert!(html.contains("href=\"/connexion\""));
}

#[tokio::test]
async fn the_cart_can_be_emptied_in_one_go() {
    let app = TestApp::sqlite().await;
    let who = app.register("vide@test.fr", "Tr3s-Solide!").await;
    let me = app.as_user(&who);
    for slug in ["lampe-table-nordique", "vase-ceramique-minimal"] {
        let r = me
            .post_form("/panier/ajouter", &[("slug", slug), ("quantity", "1")])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    }
    let cart = me.get("/panier").await.text();
    assert!(cart.contains("Vider le panier") && cart.contains("action=\"/panier/vider\""));
    let r = me.post_form("/panier/vider", &[]).await;
    assert_eq!(
        (r.status, r.header("location")),
        (StatusCode::SEE_OTHER, Some("/panier"))
    );
    assert!(
        me.get("/panier")
            .await
            .text()
            .contains("Votre panier est vide")
    );

    let r = me
        .post(
            "/api/v1/cart/items",
            &serde_json::json!({"slug": "lampe-table-nordique", "quantity": 2}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text());
    let r = me.delete("/api/v1/cart").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["data"]["item_count"], 0, "{}", r.text());
    let r = app
        .post_form("/panier/vider", &[("csrf_token", "faux")], &who.0)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "CSRF is checked");
}

#[tokio::test]
async fn deleting_an_address_asks_first() {
    let app = TestApp::sqlite().await;
    let who = app.register("adresses@test.fr", "Tr3s-Solide!").await;
    let me = app.as_user(&who);
    let mut home = crate::common::address();
    home["label"] = "Maison".into();
    let r = me.post("/api/v1/addresses", &home).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["data"]["id"].as_str().unwrap().to_string();

    let book = me.get("/compte/adresses").await.text();
    assert!(
        book.contains("12 rue des Lilas<br>") && book.contains("<summary"),
        "a card, its form folded"
    );
    assert!(book.contains("class=\"danger\">Supprimer</button>"));

    let action = format!("/compte/adresses/{id}/supprimer");
    let ask = me.post_form(&action, &[]).await;
    assert_eq!(ask.status, StatusCode::OK);
    let html = ask.text();
    assert!(html.contains("Supprimer cette adresse ?"), "{html}");
    assert!(html.contains("Maison : Camille Durand, 12 rue des Lilas, 69003 Lyon."));
    assert!(
        html.contains("name=\"confirm\" value=\"oui\"")
            && html.contains("href=\"/compte/adresses\"")
    );
    assert_eq!(
        me.get("/api/v1/addresses").await.json()["data"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "nothing deleted before the answer"
    );

    let r = me.post_form(&action, &[("confirm", "oui")]).await;
    assert_eq!(
        (r.status, r.header("location")),
        (StatusCode::SEE_OTHER, Some("/compte/adresses"))
    );
    assert!(
        me.get("/api/v1/addresses").await.json()["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let r = me
        .post_form(&action, &[("confirm", "oui"), ("extra", "1")])
        .await;
    assert!(
        r.status.is_client_error(),
        "unknown fields are refused: {}",
        r.status
    );
}

#[tokio::test]
async fn cancelling_an_order_from_the_admin_page_asks_first() {
    let app = TestApp::sqlite().await;
    let store = app.state.store();
    let user = crate::common::customer(store, "commande@test.fr").await;
    let product = store
        .product_by_slug("lampe-table-nordique")
        .await
        .unwrap()
        .unwrap();
    let order = crate::common::order_of("VIVR-CONF-0001".into(), &user, &product, 1);
    store.place_order(&order).await.unwrap();
    let admin = app.admin().await;
    let boss = app.as_user(&admin);

    let list = boss.get("/admin/commandes").await.text();
    assert!(
        list.contains("<button type=\"submit\" class=\"danger\">Annuler la commande</button>"),
        "{list}"
    );
    let action = "/admin/commandes/VIVR-CONF-0001/statut";
    let ask = boss.post_form(action, &[("status", "CANCELLED")]).await;
    assert_eq!(ask.status, StatusCode::OK);
    let html = ask.text();
    assert!(
        html.contains("Annuler la commande VIVR-CONF-0001 ?"),
        "{html}"
    );
    assert!(html.contains("name=\"status\" value=\"CANCELLED\""));
    assert_eq!(
        order_status(store).await,
        "PENDING",
        "nothing done before the answer"
    );

    let missing = boss
        .post_form(
            "/admin/commandes/VIVR-NOPE/statut",
            &[("status", "CANCELLED")],
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    let r = boss
        .post_form(action, &[("status", "CANCELLED"), ("confirm", "oui")])
        .await;
    assert_eq!(
        (r.status, r.header("location")),
        (StatusCode::SEE_OTHER, Some("/admin/commandes"))
    );
    assert_eq!(order_status(store).await, "CANCELLED");
}

async fn order_status(store: &dyn vivr_shop::store::Store) -> &'static str {
    store
        .order(vivr_shop::store::OrderKey::Number("VIVR-CONF-0001"))
        .await
        .unwrap()
        .unwrap()
        .status
        .as_str()
}

#[tokio::test]
async fn registration_shows_every_problem_at_once_beside_its_field() {
    let app = TestApp::sqlite().await;
    let page = app.get("/inscription").await;
    let cookie = page.set_cookies().join("; ");
    let token = csrf_from(&page.text());
    let r = app
        .post_form(
            "/inscription",
            &[
                ("csrf_token", &token),
                ("email", "pas-une-adresse"),
                ("password", "soleil"),
                ("password_confirm", "autre"),
                ("name", "Lou"),
            ],
            &cookie,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text();
    for (field, words) in [
        ("email", "Email : "),
        ("password", "8 caractères"),
        ("password_confirm", "ne correspondent pas"),
    ] {
        let message = html
            .split(&format!("<p id=\"{field}-erreur\" class=\"field-error\">"))
            .nth(1)
            .unwrap_or_else(|| panic!("no message beside {field}: {html}"));
        assert!(
            message.split("</p>").next().unwrap().contains(words),
            "{field}: {message}"
        );
        assert!(
            html.contains(&format!("aria-describedby=\"{field}-erreur\""))
                || html.contains(&format!(" {field}-erreur\"")),
            "{field} points at its message"
        );
    }
    assert!(
        !html.contains("name-erreur"),
        "a valid field has no message"
    );
    assert_eq!(
        html.matches("<li>").count() - html.matches("<li><a").count(),
        3,
        "the summary lists all three"
    );
    assert!(
        html.contains("value=\"pas-une-adresse\"") && html.contains("value=\"Lou\""),
        "what was typed stays"
    );
}

#[tokio::test]
async fn an_expired_form_says_so_plainly() {
    let app = TestApp::sqlite().await;
    let page = app.get("/connexion").await;
    let cookie = page.set_cookies().join("; ");
    // A token from before a restart with another secret, or from another browser: it does not match.
    let r = app
        .post_form(
            "/connexion",
            &[
                ("csrf_token", "perime"),
                ("email", "a@b.fr"),
                ("password", "x"),
            ],
            &cookie,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let html = r.text();
    assert!(html.contains("<h1>Formulaire expiré</h1>"), "{html}");
    assert!(
        html.contains("rien n&#39;a été enregistré") || html.contains("rien n'a été enregistré")
    );
    assert!(
        !html.contains("CSRF") && !html.contains("Accès refusé"),
        "{html}"
    );
    assert!(
        html.contains("name=\"csrf_token\" value=\""),
        "the page itself carries a fresh token"
    );
}

/// Cards offer "Ajouter au panier" (a plain form) and, once the product is in the cart, say so instead.
#[tokio::test]
async fn product_cards_add_to_the_cart_and_then_say_it_is_there() {
    let app = TestApp::sqlite().await;
    let page = app.get("/produits").await;
    let cookies = page.set_cookies().join("; ");
    let html = page.text();
    let add = r#"<input type="hidden" name="slug" value="lampe-table-nordique">"#;
    assert!(html.contains(add), "{html}");
    assert!(!html.contains("Dans le panier"));
    let added = app
        .post_form(
            "/panier/ajouter",
            &[
                ("csrf_token", &csrf_from(&html)),
                ("slug", "lampe-table-nordique"),
                ("quantity", "1"),
            ],
            &cookies,
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.text());
    let cookies = format!("{cookies}; {}", added.set_cookies().join("; "));
    let html = app.get_with_cookies("/produits", &cookies).await.text();
    assert!(!html.contains(add), "no second add button for it");
    assert_eq!(html.matches("Dans le panier").count(), 1, "{html}");
    assert!(html.contains(r#"<input type="hidden" name="slug" value="vase-ceramique-minimal">"#));
    assert!(html.contains("Panier (1)"));
    // The home page and the search results say it too; a product out of stock offers no button.
    for path in ["/", "/recherche?q=lampes"] {
        let html = app.get_with_cookies(path, &cookies).await.text();
        assert!(html.contains("Dans le panier"), "{path}");
    }
    let sold_out = vivr_shop::store::ProductPatch {
        stock: Some(0),
        ..Default::default()
    };
    app.state
        .store()
        .update_product(
            "vase-ceramique-minimal",
            &sold_out,
            vivr_shop::auth::now(),
            None,
        )
        .await
        .unwrap();
    // A listing not read yet, so not in the catalogue cache.
    let html = app.get("/produits?sort=price-asc").await.text();
    assert!(html.contains(r#"href="/produits/vase-ceramique-minimal""#));
    assert!(
        !html.contains(r#"<input type="hidden" name="slug" value="vase-ceramique-minimal">"#),
        "no button for a product out of stock"
    );
}

/// An expired form comes back with what was typed and a fresh token; the password is asked again, never written
/// into the page; sending it again does what the first sending would have done.
#[tokio::test]
async fn an_expired_form_comes_back_with_what_was_typed() {
    let app = TestApp::sqlite().await;
    app.register("lou@vivr.fr", "Lou-Solide-2026!").await;
    let page = app.get("/connexion?next=/panier").await;
    let cookie = page.set_cookies().join("; ");
    let r = app
        .post_form(
            "/connexion?next=/panier",
            &[
                ("csrf_token", "perime"),
                ("email", "lou@vivr.fr"),
                ("password", "Lou-Solide-2026!"),
                ("next", "/panier"),
            ],
            &cookie,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let html = r.text();
    assert!(
        html.contains(r#"<form method="post" action="/connexion?next=/panier""#),
        "{html}"
    );
    assert!(
        html.contains(r#"<input type="hidden" name="email" value="lou@vivr.fr">"#)
            && html.contains(r#"<input type="hidden" name="next" value="/panier">"#)
            && html.contains("<dt>Email</dt><dd>lou@vivr.fr</dd>"),
        "what was typed is kept and shown: {html}"
    );
    assert!(
        html.contains(r#"type="password" name="password""#) && !html.contains("Lou-Solide"),
        "the password is asked again, never echoed: {html}"
    );
    assert!(!html.contains("perime"), "the old token is not sent back");

    // Sent again with the page's fresh token: signed in, on to the cart.
    let token = csrf_from(&html);
    let cookies = [cookie, r.set_cookies().join("; ")]
        .into_iter()
        .filter(|c| !c.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    let again = app
        .post_form(
            "/connexion?next=/panier",
            &[
                ("csrf_token", token.as_str()),
                ("email", "lou@vivr.fr"),
                ("next", "/panier"),
                ("password", "Lou-Solide-2026!"),
            ],
            &cookies,
        )
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.text());
    assert_eq!(again.header("location"), Some("/panier"));

    // A form another site posted is refused the same way, and not offered again: its values with a valid token
    // would be one click from being sent.
    let forged = axum::http::Request::post("/newsletter")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", &cookies)
        .header("sec-fetch-site", "cross-site")
        .body(axum::body::Body::from(
            "csrf_token=x&email=mallory%40pirate.example",
        ))
        .unwrap();
    let r = app.send(forged).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        r.text().contains("<h1>Formulaire expiré</h1>")
            && !r.text().contains("mallory")
            && !r.text().contains("Envoyer de nouveau"),
        "{}",
        r.text()
    );
}

/// The address form says every broken rule at once, each beside its field, and keeps what was typed.
#[tokio::test]
async fn the_address_form_shows_every_problem_at_once() {
    let app = TestApp::sqlite().await;
    let who = app.register("carnet@test.fr", "Tr3s-Solide!").await;
    let me = app.as_user(&who);
    let r = me
        .post_form(
            "/compte/adresses",
            &[
                ("first_name", "Camille"),
                ("last_name", ""),
                ("street", "12 rue des Lilas"),
                ("postal_code", "690"),
                ("city", "Lyon"),
                ("country", "FR"),
                ("phone", "appelez-moi"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text();
    for (field, words) in [
        ("last_name", "Nom : "),
        ("postal_code", "Code postal : "),
        ("phone", "Téléphone : "),
    ] {
        let message = html
            .split(&format!(r#"<p id="{field}-erreur" class="field-error">"#))
            .nth(1)
            .unwrap_or_else(|| panic!("no message beside {field}: {html}"));
        assert!(message.starts_with(words), "{field}: {message}");
        assert!(html.contains(&format!(r#"aria-describedby="{field}-erreur""#)));
    }
    assert_eq!(html.matches("field-error").count(), 3, "{html}");
    assert!(
        html.contains(r#"value="Camille""#) && html.contains(r#"value="690""#),
        "what was typed stays"
    );
    let saved = me.get("/api/v1/addresses").await;
    assert_eq!(saved.json()["data"].as_array().map(Vec::len), Some(0));
}

/// Editing a saved address: every broken rule beside its field in that card's form, which stays open with what
/// was typed; the saved address is unchanged, and the other card and the new-address form show no error.
#[tokio::test]
async fn editing_a_saved_address_shows_every_problem_beside_that_cards_fields() {
    let app = TestApp::sqlite().await;
    let who = app.register("carnet2@test.fr", "Tr3s-Solide!").await;
    let me = app.as_user(&who);
    let mut ids = Vec::new();
    for city in ["Lyon", "Nantes"] {
        let r = me
            .post(
                "/api/v1/addresses",
                &serde_json::json!({"first_name": "Camille", "last_name": "Roux",
                    "street": "12 rue des Lilas", "postal_code": "69001", "city": city, "country": "FR"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        ids.push(r.json()["data"]["id"].as_str().unwrap().to_string());
    }
    let id = &ids[0];
    let r = me
        .post_form(
            &format!("/compte/adresses/{id}"),
            &[
                ("first_name", "Camille"),
                ("last_name", ""),
                ("street", "3 quai Neuf"),
                ("postal_code", "690"),
                ("city", "Lyon"),
                ("country", "FR"),
                ("phone", "appelez-moi"),
                ("is_default", "1"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text();
    for field in ["last_name", "postal_code", "phone"] {
        let at = format!(r#"<p id="{field}-{id}-erreur" class="field-error">"#);
        assert!(
            html.contains(&at),
            "no message beside {field} of the card: {html}"
        );
        assert!(html.contains(&format!(r#"aria-describedby="{field}-{id}-erreur""#)));
    }
    assert_eq!(html.matches(r#"class="field-error""#).count(), 3, "{html}");
    assert!(
        html.contains(r#"value="3 quai Neuf""#),
        "what was typed stays"
    );
    assert_eq!(
        html.matches("<details open>").count(),
        1,
        "only the edited card is open"
    );
    assert!(html.contains(&format!(
        r#"id="default-{id}" name="is_default" value="1" checked"#
    )));
    let saved = me.get("/api/v1/addresses").await.json();
    let saved = saved["data"].as_array().unwrap();
    let first = saved.iter().find(|a| a["id"] == id.as_str()).unwrap();
    assert_eq!(first["street"], "12 rue des Lilas", "nothing saved");
    assert_eq!(first["last_name"], "Roux");
}

/// The sign-in form sent with both fields empty says so beside each, at once.
#[tokio::test]
async fn signing_in_with_empty_fields_says_both_at_once() {
    let app = TestApp::sqlite().await;
    let page = app.get("/connexion").await;
    let cookie = page.set_cookies().join("; ");
    let token = csrf_from(&page.text());
    let r = app
        .post_form(
            "/connexion",
            &[("csrf_token", &token), ("email", " "), ("password", "")],
            &cookie,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text();
    for field in ["email", "password"] {
        assert!(
            html.contains(&format!(r#"<p id="{field}-erreur" class="field-error">"#))
                && html.contains(&format!(r#"aria-describedby="{field}-erreur""#)),
            "{field}: {html}"
        );
    }
    assert!(
        html.contains("Email : ") && html.contains("Mot de passe : "),
        "the summary names both: {html}"
    );
}

/// Errors no page handler wrote (a path segment that is not UTF-8, a method the page lacks) are the French error
/// page too, not a framework's plain text.
#[tokio::test]
async fn errors_no_page_handler_wrote_are_the_error_page() {
    let app = TestApp::sqlite().await;
    for (method, uri, status) in [
        ("GET", "/produits/%FF", StatusCode::BAD_REQUEST),
        ("PUT", "/produits", StatusCode::METHOD_NOT_ALLOWED),
    ] {
        let r = app
            .send(
                axum::http::Request::builder()
                    .method(method)
                    .uri(uri)
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(r.status, status, "{method} {uri}");
        assert_eq!(
            r.header("content-type"),
            Some("text/html; charset=utf-8"),
            "{method} {uri}: {}",
            r.text()
        );
        assert!(r.text().contains("Requête invalide"), "{}", r.text());
        if status == StatusCode::METHOD_NOT_ALLOWED {
            assert_eq!(r.header("allow"), Some("GET,HEAD"));
            assert!(
                r.text()
                    .contains("Cette adresse ne s&#39;utilise pas ainsi.")
            );
        }
    }
}
