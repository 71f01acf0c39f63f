//! The French pages: render, forms with CSRF, sign-in redirects.

use crate::common::{TestApp, csrf_from};
use axum::http::StatusCode;

#[tokio::test]
async fn public_pages_render_in_french() {
    let app = TestApp::sqlite().await;
    for (uri, needle) in [
        ("/", "Produits vedettes"),
        ("/produits", "20 produit(s) trouvé(s)"),
        ("/produits?sort=price-desc&page=1", "Canapé 3 places Oslo"),
        ("/categories/salon", "5 produit(s) trouvé(s)"),
        ("/recherche?q=ceramique", "Vase céramique minimal"),
        ("/produits/lampe-table-nordique", "89,99\u{202f}€"),
        ("/connexion", "Se connecter"),
        ("/inscription", "Créer mon compte"),
    ] {
        let r = app.get(uri).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}");
        let html = r.text();
        assert!(html.contains(needle), "{uri}: {needle:?} missing");
        assert!(
            html.contains("<html lang=\"fr\">") && html.contains("href=\"#contenu\""),
            "{uri}: lang and skip link"
        );
        assert_eq!(
            r.header("content-type"),
            Some("text/html; charset=utf-8"),
            "{uri}"
        );
    }
    let r = app.get("/produits?page=2&limit=8").await;
    assert!(r.text().contains("Page 2 sur 3") && r.text().contains("rel=\"prev\""));
}

#[tokio::test]
async fn missing_pages_and_bad_filters_render_error_pages() {
    let app = TestApp::sqlite().await;
    let r = app.get("/produits/nope").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.text().contains("Page introuvable"));
    let r = app.get("/nulle-part").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.text().contains("<html lang=\"fr\">"));
    let r = app.get("/produits?limit=500").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("limit"), "{}", r.text());
    let r = app.get("/categories/inconnue").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn register_login_account_logout_with_forms() {
    let app = TestApp::sqlite().await;
    let page = app.get("/inscription").await;
    let cookie = page.set_cookies().join("; ");
    assert!(cookie.starts_with("vivr_csrf="));
    let token = csrf_from(&page.text());

    let form = [
        ("csrf_token", ""),
        ("email", "jean@test.fr"),
        ("password", "Tr3s-Solide!"),
        ("password_confirm", "Tr3s-Solide!"),
        ("name", "Jean <b>O'Brien</b>"),
    ];
    let r = app.post_form("/inscription", &form, &cookie).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "missing CSRF token");

    let mut form = form;
    form[0].1 = &token;
    form[3].1 = "Autre-Chose1!";
    let r = app.post_form("/inscription", &form, &cookie).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("ne correspondent pas"));
    form[3].1 = "Tr3s-Solide!";
    let r = app.post_form("/inscription", &form, &cookie).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.text().contains("Vérifiez votre boîte mail"));
    assert!(
        r.set_cookies()
            .iter()
            .all(|c| !c.starts_with("vivr_session=")),
        "no session before the activation link"
    );
    app.db.activate("jean@test.fr").await;
    let r = app
        .post_form(
            "/connexion",
            &[
                ("csrf_token", &token),
                ("email", "jean@test.fr"),
                ("password", "Tr3s-Solide!"),
            ],
            &cookie,
        )
        .await;
    assert_eq!(
        (r.status, r.header("location")),
        (StatusCode::SEE_OTHER, Some("/compte")),
        "{}",
        r.text()
    );
    let session = r.set_cookies().join("; ");

    let account = app.get_with_cookies("/compte", &session).await;
    assert_eq!(account.status, StatusCode::OK);
    let html = account.text();
    assert!(
        html.contains("Jean &#60;b&#62;O&#39;Brien&#60;/b&#62;")
            || html.contains("Jean &lt;b&gt;O&#39;Brien&lt;/b&gt;")
            || html.contains("&lt;b&gt;"),
        "escaped on output: {html}"
    );
    assert_eq!(account.header("cache-control"), Some("no-store"));

    let logout_token = csrf_from(&html);
    let r = app
        .post_form("/deconnexion", &[("csrf_token", &logout_token)], &session)
        .await;
    assert_eq!(
        (r.status, r.header("location")),
        (StatusCode::SEE_OTHER, Some("/"))
    );
    let r = app.get_with_cookies("/compte", &session).await;
    assert_eq!(
        r.header("location"),
        Some("/connexion?next=/compte"),
        "signed out"
    );

    let login = app.get("/connexion?next=https://evil.example").await;
    let cookie = login.set_cookies().join("; ");
    let html = login.text();
    assert!(
        html.contains("name=\"next\" value=\"/compte\""),
        "open redirect refused"
    );
    let token = csrf_from(&html);
    let r = app
        .post_form(
            "/connexion",
            &[
                ("csrf_token", &token),
                ("email", "jean@test.fr"),
                ("password", "faux"),
                ("next", "/produits"),
            ],
            &cookie,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.text().contains("Email ou mot de passe incorrect"));
    let r = app
        .post_form(
            "/connexion",
            &[
                ("csrf_token", &token),
                ("email", "JEAN@test.fr"),
                ("password", "Tr3s-Solide!"),
                ("next", "//evil.example"),
            ],
            &cookie,
        )
        .await;
    assert_eq!(
        (r.status, r.header("location")),
        (StatusCode::SEE_OTHER, Some("/compte"))
    );
}
