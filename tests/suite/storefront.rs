//! The storefront as shoppers, crawlers and researchers find it: the sitemap, robots.txt and security.txt.

use crate::common::{TestApp, TestDb};
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
    assert_eq!(listed.len(), 2 + 6 + 20, "{listed:?}");
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
