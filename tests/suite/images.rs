//! The shop's own product photos, on SQLite and PostgreSQL: uploads (API and admin page), their WebP and AVIF
//! variants with year-long caching, `srcset` on the pages, the demo catalogue's built-in photos, the refusals
//! (not an image, too small, too large, a decompression bomb, not an administrator), uploads and first requests
//! sent at once, and `vivr serve` keeping photos on S3 (moto).

use std::io::Cursor;

use axum::body::Body;
use axum::http::{Request, header};
use image::{ImageBuffer, Rgb};
use serde_json::json;

use crate::common::{self, TestApp, TestDb, TestResponse};

/// A photo-like JPEG: a gradient with some noise, `width` × `height`; `seed` makes each one a different file.
fn photo(width: u32, height: u32, seed: u8) -> Vec<u8> {
    let img = ImageBuffer::from_fn(width, height, |x, y| {
        let noise = ((x * 7 + y * 13 + u32::from(seed) * 31) % 17) as u8;
        Rgb([
            (x * 255 / width) as u8 ^ seed,
            (y * 255 / height) as u8,
            120u8.wrapping_add(noise),
        ])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

async fn upload(
    app: &TestApp,
    who: Option<&(String, String)>,
    content_type: &str,
    bytes: Vec<u8>,
) -> TestResponse {
    let mut request =
        Request::post("/api/v1/admin/images").header(header::CONTENT_TYPE, content_type);
    if let Some((cookies, csrf)) = who {
        request = request
            .header(header::COOKIE, cookies)
            .header("x-csrf-token", csrf);
    }
    app.send(request.body(Body::from(bytes)).unwrap()).await
}

fn decoded(r: &TestResponse) -> image::DynamicImage {
    image::load_from_memory(&r.body).unwrap()
}

crate::common::on_both_backends!(
    an_upload_is_served_as_variants_cached_for_a_year,
    multi_thread
);
async fn an_upload_is_served_as_variants_cached_for_a_year(db: TestDb) {
    let b = db.backend.as_str();
    let app = TestApp::with_config(db, |_| {}).await;
    let admin = app.admin().await;

    let r = upload(&app, Some(&admin), "image/jpeg", photo(1600, 1200, 1)).await;
    assert_eq!(r.status.as_u16(), 201, "{b}: {}", r.text());
    let data = &r.json()["data"];
    let id = data["id"].as_str().unwrap().to_string();
    let reference = format!("/images/{id}/1600x1200");
    assert_eq!(data["reference"], reference.as_str(), "{b}");
    assert_eq!(
        data["webp"],
        json!([
            format!("/images/{id}/300.webp"),
            format!("/images/{id}/600.webp"),
            format!("/images/{id}/1200.webp")
        ])
    );
    assert_eq!(data["avif"].as_array().unwrap().len(), 3);

    for (width, format, content_type) in [
        (300, "webp", "image/webp"),
        (600, "avif", "image/avif"),
        (1200, "webp", "image/webp"),
    ] {
        let r = app.get(&format!("/images/{id}/{width}.{format}")).await;
        assert_eq!(r.status.as_u16(), 200, "{b} {width}.{format}: {}", r.text());
        assert_eq!(r.header("content-type"), Some(content_type));
        assert_eq!(
            r.header("cache-control"),
            Some("public, max-age=31536000, immutable")
        );
        assert!(r.header("set-cookie").is_none(), "a variant sets no cookie");
        if format == "webp" {
            let img = decoded(&r);
            assert_eq!((img.width(), img.height()), (width, width * 3 / 4), "{b}");
        } else {
            assert_eq!(r.body.get(4..12), Some(b"ftypavif".as_slice()));
        }
    }
    // The reference itself sends to the largest variant.
    let r = app.get(&reference).await;
    assert_eq!(r.status.as_u16(), 301, "{b}");
    assert_eq!(
        r.header("location"),
        Some(format!("/images/{id}/1200.webp").as_str())
    );
    // No variant wider than the original, no other width, no other format, no other image.
    for missing in [
        format!("/images/{id}/900.webp"),
        format!("/images/{id}/1600.webp"),
        format!("/images/{id}/600.png"),
        format!("/images/{id}/original"),
        format!("/images/{}/600.webp", "0".repeat(32)),
        "/images/not-an-id/600.webp".to_string(),
        format!("/images/{id}/..%2F..%2Fetc%2Fpasswd"),
    ] {
        let r = app.get(&missing).await;
        assert_eq!(r.status.as_u16(), 404, "{b} {missing}: {}", r.text());
        assert_ne!(
            r.header("cache-control"),
            Some("public, max-age=31536000, immutable")
        );
    }

    // The same file again is the same image.
    let r = upload(&app, Some(&admin), "image/jpeg", photo(1600, 1200, 1)).await;
    assert_eq!(r.status.as_u16(), 200, "{b}: {}", r.text());
    assert_eq!(r.json()["data"]["id"], id.as_str());
    let r = app.as_user(&admin).get("/api/v1/admin/images").await;
    assert_eq!(r.json()["data"].as_array().unwrap().len(), 1, "{b}");
    // Recorded in the audit log.
    let r = app
        .as_user(&admin)
        .get(&format!("/api/v1/admin/audit?subject={id}"))
        .await;
    assert_eq!(
        r.json()["data"][0]["action"],
        "image.upload",
        "{b}: {}",
        r.text()
    );
}

crate::common::on_both_backends!(pages_show_the_shops_photos_with_srcset, multi_thread);
async fn pages_show_the_shops_photos_with_srcset(db: TestDb) {
    let b = db.backend.as_str();
    let app = TestApp::with_config(db, |_| {}).await;
    let admin = app.admin().await;
    let boss = app.as_user(&admin);
    let r = upload(&app, Some(&admin), "image/jpeg", photo(800, 800, 2)).await;
    let reference = r.json()["data"]["reference"].as_str().unwrap().to_string();
    let id = r.json()["data"]["id"].as_str().unwrap().to_string();

    // A product takes an uploaded image's reference, and nothing else.
    for (bad, rule) in [
        (
            json!(["https://images.example.com/vase.jpg"]),
            "doit être la référence d'une image envoyée",
        ),
        (
            json!([format!("/images/{}/800x800", "a".repeat(32))]),
            "n'existe pas",
        ),
        (json!([format!("/images/{id}/900x800")]), "n'existe pas"),
    ] {
        let r = boss
            .post(
                "/api/v1/products",
                &json!({"name": "Vase Photo", "description": "Un vase", "price_cents": 2500,
                        "stock": 5, "images": bad}),
            )
            .await;
        assert_eq!(r.status.as_u16(), 422, "{b} {bad}: {}", r.text());
        assert_eq!(r.json()["error"]["field"], "images", "{b}: {}", r.text());
        assert!(r.text().contains(rule), "{b}: {}", r.text());
    }
    let r = boss
        .post(
            "/api/v1/products",
            &json!({"name": "Vase Photo", "description": "Un vase", "price_cents": 2500,
                    "stock": 5, "images": [reference]}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{b}: {}", r.text());

    let page = app.get("/produits/vase-photo").await.text();
    assert!(
        page.contains(&format!(
            r#"<source type="image/avif" srcset="/images/{id}/300.avif 300w, /images/{id}/600.avif 600w, /images/{id}/800.avif 800w""#
        )),
        "{b}: {page}"
    );
    assert!(page.contains(&format!(r#"<img src="/images/{id}/600.webp" alt="Vase Photo, photo 1" width="600" height="600" fetchpriority="high""#)), "{b}: {page}");
    // Structured data names the largest variant.
    assert!(
        page.contains(&format!(r#""image":["/images/{id}/800.webp"]"#)),
        "{b}: {page}"
    );
    // The listing: the first row is loaded at once, the rest lazily.
    let listing = app.get("/produits?sort=newest").await.text();
    let cards: Vec<&str> = listing.split(r#"<li class="card">"#).skip(1).collect();
    assert!(cards.len() > 5, "{b}");
    assert!(
        cards[0].contains(&format!("/images/{id}/300.webp")),
        "{b}: {}",
        cards[0]
    );
    for card in &cards[..4] {
        assert!(
            card.contains(r#"fetchpriority="high""#) && !card.contains("loading=\"lazy\""),
            "{b}: {card}"
        );
    }
    for card in &cards[4..] {
        assert!(card.contains(r#"loading="lazy""#), "{b}: {card}");
    }
    // Every picture the pages name is served.
    let srcs: Vec<String> = listing
        .split("src=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .filter(|s| s.starts_with("/images/"))
        .map(str::to_string)
        .collect();
    assert!(srcs.len() >= 12, "{b}: {srcs:?}");
    for src in srcs {
        assert_eq!(app.get(&src).await.status.as_u16(), 200, "{b} {src}");
    }
}

/// The demo catalogue has photos of its own, with no store and no network.
#[tokio::test(flavor = "multi_thread")]
async fn the_demo_catalogue_shows_its_own_photos() {
    let app = TestApp::sqlite().await;
    let home = app.get("/").await.text();
    assert!(!home.contains("unsplash"), "{home}");
    let category = app.get("/api/v1/categories").await.json();
    let image = category["data"][0]["image"].as_str().unwrap().to_string();
    assert!(image.starts_with("/images/"), "{category}");
    let r = app.get(&image).await;
    assert_eq!(r.status.as_u16(), 301);
    let r = app.get(r.header("location").unwrap()).await;
    assert_eq!(r.status.as_u16(), 200);
    assert_eq!(decoded(&r).width(), 800);
    let csp = app.get("/").await;
    let csp = csp.header("content-security-policy").unwrap();
    assert!(csp.contains("img-src 'self' data:"), "{csp}");
}

crate::common::on_both_backends!(what_is_not_a_usable_photo_is_refused, multi_thread);
async fn what_is_not_a_usable_photo_is_refused(db: TestDb) {
    let b = db.backend.as_str();
    let app = TestApp::with_config(db, |config| config.max_image_bytes = 256 * 1024).await;
    let admin = app.admin().await;
    let customer = app.register("client@exemple.fr", "Cl1ent-Solide!").await;

    let r = upload(&app, None, "image/jpeg", photo(400, 400, 3)).await;
    assert_eq!(r.status.as_u16(), 401, "{b}");
    let r = upload(&app, Some(&customer), "image/jpeg", photo(400, 400, 3)).await;
    assert_eq!(r.status.as_u16(), 403, "{b}");
    let r = upload(
        &app,
        Some(&(admin.0.clone(), "forged".into())),
        "image/jpeg",
        photo(400, 400, 3),
    )
    .await;
    assert_eq!(r.status.as_u16(), 403, "{b}");
    let r = upload(&app, Some(&admin), "application/json", b"{}".to_vec()).await;
    assert_eq!(r.status.as_u16(), 415, "{b}: {}", r.text());

    let mut bomb = Cursor::new(Vec::new());
    ImageBuffer::from_pixel(400, 400, Rgb([1u8, 2, 3]))
        .write_to(&mut bomb, image::ImageFormat::Png)
        .unwrap();
    let mut bomb = bomb.into_inner();
    // The header now declares 12001 × 12001 pixels (with the chunk's CRC right): refused before decoding.
    bomb.splice(16..24, [0, 0, 0x2e, 0xe1, 0, 0, 0x2e, 0xe1]);
    let crc = crc32(&bomb[12..29]).to_be_bytes();
    bomb.splice(29..33, crc);
    for (bytes, content_type, expected) in [
        (
            b"GIF89a not really".to_vec(),
            "image/jpeg",
            "doit être une image JPEG, PNG ou WebP",
        ),
        (
            b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>".to_vec(),
            "image/png",
            "doit être une image JPEG, PNG ou WebP",
        ),
        (
            photo(1200, 200, 4),
            "image/jpeg",
            "mesure 1200 × 200 pixels : il en faut au moins 300 × 300",
        ),
        (
            photo(600, 600, 5)[..2000].to_vec(),
            "image/jpeg",
            "illisible",
        ),
        (bomb, "image/png", "trop grande"),
    ] {
        let r = upload(&app, Some(&admin), content_type, bytes).await;
        assert_eq!(r.status.as_u16(), 422, "{b} {expected}: {}", r.text());
        assert_eq!(r.json()["error"]["field"], "image", "{b}: {}", r.text());
        assert!(r.text().contains(expected), "{b}: {}", r.text());
    }
    // Above the configured size: 413, at once when declared.
    let big = vec![0u8; 300 * 1024];
    let r = upload(&app, Some(&admin), "image/jpeg", big).await;
    assert_eq!(r.status.as_u16(), 413, "{b}: {}", r.text());
    let r = app.as_user(&admin).get("/api/v1/admin/images").await;
    assert_eq!(r.json()["data"], json!([]), "{b}: nothing was kept");
}

/// The CRC a PNG chunk ends with.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

crate::common::on_both_backends!(
    uploads_and_first_requests_sent_at_once_make_one_of_each,
    multi_thread
);
async fn uploads_and_first_requests_sent_at_once_make_one_of_each(db: TestDb) {
    let b = db.backend.as_str();
    let app = TestApp::with_config(db, |_| {}).await;
    let admin = app.admin().await;
    let file = photo(900, 600, 6);
    let statuses: Vec<u16> = futures_util::future::join_all(
        (0..8).map(|_| upload(&app, Some(&admin), "image/jpeg", file.clone())),
    )
    .await
    .iter()
    .map(|r| r.status.as_u16())
    .collect();
    // One is new; the others found it, or were told to come back (at most 4 uploads are checked at once).
    assert!(
        statuses.iter().all(|s| [200, 201, 503].contains(s)),
        "{b}: {statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{b}: {statuses:?}"
    );
    assert_eq!(
        app.db
            .text(r#"SELECT CAST(COUNT(*) AS TEXT) FROM "Image""#)
            .await
            .as_deref(),
        Some("1"),
        "{b}"
    );
    // Different files at once: each is kept or refused as a whole.
    let files: Vec<Vec<u8>> = (10..22).map(|seed| photo(700, 700, seed)).collect();
    let answers = futures_util::future::join_all(
        files
            .iter()
            .map(|f| upload(&app, Some(&admin), "image/jpeg", f.clone())),
    )
    .await;
    let created = answers.iter().filter(|r| r.status.as_u16() == 201).count();
    assert!(
        answers
            .iter()
            .all(|r| [201, 503].contains(&r.status.as_u16())),
        "{b}"
    );
    assert!(
        created >= 4,
        "{b}: at least as many as may wait are kept ({created})"
    );
    assert_eq!(
        app.db
            .text(r#"SELECT CAST(COUNT(*) AS TEXT) FROM "Image""#)
            .await
            .as_deref(),
        Some((created + 1).to_string().as_str()),
        "{b}"
    );
    for busy in answers.iter().filter(|r| r.status.as_u16() == 503) {
        assert_eq!(busy.error_code(), "busy", "{b}");
    }
    let id = vivr_shop::domain::image::ImageId::of(&file).to_string();
    let variant = format!("/images/{id}/900.avif");
    // Twenty browsers ask for a variant at once (made now, or by the upload's background work): one answer.
    let bodies: Vec<TestResponse> =
        futures_util::future::join_all((0..20).map(|_| app.get(&variant))).await;
    assert!(bodies.iter().all(|r| r.status.as_u16() == 200), "{b}");
    assert!(
        bodies.windows(2).all(|w| w[0].body == w[1].body),
        "{b}: the same bytes"
    );
}

crate::common::on_both_backends!(the_admin_page_uploads_and_lists_photos, multi_thread);
async fn the_admin_page_uploads_and_lists_photos(db: TestDb) {
    let b = db.backend.as_str();
    let app = TestApp::with_config(db, |_| {}).await;
    let admin = app.admin().await;
    let customer = app.register("client@exemple.fr", "Cl1ent-Solide!").await;
    assert_eq!(
        app.as_user(&customer)
            .get("/admin/images")
            .await
            .status
            .as_u16(),
        403
    );
    let page = app.as_user(&admin).get("/admin/images").await;
    assert_eq!(page.status.as_u16(), 200, "{b}");
    assert!(page.text().contains("Aucune image pour le moment"), "{b}");
    let csrf = common::csrf_from(&page.text());

    let multipart = |token: &str, file: &[u8]| {
        let mut body = Vec::new();
        body.extend_from_slice(
            format!(
                "--XYZ\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n--XYZ\r\n\
                 Content-Disposition: form-data; name=\"file\"; filename=\"vase.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(file);
        body.extend_from_slice(b"\r\n--XYZ--\r\n");
        Request::post("/admin/images")
            .header(header::CONTENT_TYPE, "multipart/form-data; boundary=XYZ")
            .header(header::COOKIE, &admin.0)
            .body(Body::from(body))
            .unwrap()
    };
    let file = photo(640, 640, 7);
    let r = app.send(multipart("forged", &file)).await;
    assert_eq!(r.status.as_u16(), 403, "{b}: {}", r.text());
    let r = app.send(multipart(&csrf, b"not an image")).await;
    assert_eq!(r.status.as_u16(), 422, "{b}");
    assert!(
        r.text()
            .contains("Image : doit être une image JPEG, PNG ou WebP."),
        "{b}: {}",
        r.text()
    );
    let r = app.send(multipart(&csrf, &file)).await;
    assert_eq!(r.status.as_u16(), 303, "{b}: {}", r.text());
    let id = vivr_shop::domain::image::ImageId::of(&file).to_string();
    assert_eq!(
        r.header("location"),
        Some(format!("/admin/images?fait={id}").as_str())
    );
    let page = app
        .as_user(&admin)
        .get(&format!("/admin/images?fait={id}"))
        .await
        .text();
    assert!(page.contains("Image enregistrée"), "{b}: {page}");
    assert!(
        page.contains(&format!("/images/{id}/640x640")),
        "{b}: {page}"
    );
}

/// A CDN in front: pages link photos from it, and the CSP allows it.
#[tokio::test(flavor = "multi_thread")]
async fn an_asset_base_url_serves_photos_from_a_cdn() {
    let app = TestApp::with_config(TestDb::sqlite(), |config| {
        config.asset_base_url = Some("https://cdn.vivr.test/shop".into());
    })
    .await;
    let r = app.get("/produits").await;
    let page = r.text();
    assert!(
        page.contains(r#"srcset="https://cdn.vivr.test/shop/images/"#),
        "{page}"
    );
    let csp = r.header("content-security-policy").unwrap();
    assert!(
        csp.contains("img-src 'self' data: https://images.unsplash.com https://cdn.vivr.test;"),
        "{csp}"
    );
    let product = app.get("/produits/lampe-table-nordique").await.text();
    assert!(
        product.contains(r#""image":["https://cdn.vivr.test/shop/images/"#),
        "{product}"
    );
}

/// `vivr serve` with its images on S3 (moto): the original and the variants are objects under the prefix, and a
/// restarted shop serves variants it had not made yet from the original it reads back.
#[test]
fn vivr_serve_keeps_photos_on_s3() {
    use common::process::{Vivr, http, vivr_output_env};
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some((client, bucket, aws)) = runtime.block_on(common::s3_bucket("vivr-images")) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("vivr.db").display());
    let store = format!("s3://{bucket}/photos");
    let mut env: Vec<(&str, &str)> = aws.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.extend([
        ("DATABASE_URL", url.as_str()),
        ("VIVR_IMAGE_STORE", store.as_str()),
    ]);

    let login = |vivr: &Vivr| {
        let r = common::process::api_login(vivr.addr, "chef@vivr.fr", "Adm1n-Tres-Solide!");
        (
            r.cookies(),
            r.json()["data"]["csrf_token"].as_str().unwrap().to_string(),
        )
    };

    // The embedded database is migrated as the shop starts; then the first administrator.
    let vivr = Vivr::serve_env(&[], &env);
    let (status, out, err) = vivr_output_env(
        &["admin", "create", "--email", "chef@vivr.fr"],
        Some("Adm1n-Tres-Solide!\n"),
        &env,
    );
    assert!(status.success(), "{out}{err}");
    let (cookies, csrf) = login(&vivr);
    let file = photo(700, 500, 8);
    let r = http(
        vivr.addr,
        "POST",
        "/api/v1/admin/images",
        &[
            ("Content-Type", "image/jpeg"),
            ("Cookie", &cookies),
            ("X-CSRF-Token", &csrf),
        ],
        &file,
    )
    .unwrap();
    assert_eq!(r.status, 201, "{}\n{}", r.text(), vivr.log());
    let id = r.json()["data"]["id"].as_str().unwrap().to_string();
    let r = http(
        vivr.addr,
        "GET",
        &format!("/images/{id}/300.webp"),
        &[],
        b"",
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", vivr.log());
    let keys = |client: aws_sdk_s3::Client, bucket: String| async move {
        let listed = client
            .list_objects_v2()
            .bucket(bucket)
            .send()
            .await
            .unwrap();
        let mut keys: Vec<String> = listed
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_string))
            .collect();
        keys.sort();
        keys
    };
    let listed = runtime.block_on(keys(client.clone(), bucket.clone()));
    assert!(
        listed.contains(&format!("photos/images/{id}/original")),
        "{listed:?}"
    );
    assert!(
        listed.contains(&format!("photos/images/{id}/300.webp")),
        "{listed:?}"
    );
    drop(vivr);

    // A new process: the 700-pixel AVIF may not have been made yet; either way it is served.
    let vivr = Vivr::serve_env(&[], &env);
    let r = http(
        vivr.addr,
        "GET",
        &format!("/images/{id}/700.avif"),
        &[],
        b"",
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", vivr.log());
    assert!(
        !vivr.log().contains("moto-Secret-Key-42"),
        "no AWS secret in the logs"
    );
}
