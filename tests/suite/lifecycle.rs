//! The account lifecycle, on SQLite and PostgreSQL: a password reset through the emailed link (single use,
//! hashed, 30 minutes, the same answer for any address), a password change that ends the other sessions, an email
//! change confirmed from the new address, the data export, and deleting an account (personal data erased, orders
//! kept anonymously). Emails reach a test SMTP server through the shop's own worker.

use serde_json::json;
use vivr_shop::auth::{hash_token, now};
use vivr_shop::store::LinkPurpose;

use crate::common::mail::{next_mail, no_more_mail, smtp_server};
use crate::common::process::HttpResponse;
use crate::common::{LiveShop, TestApp, TestDb};

const PASSWORD: &str = "Velours-Ocre-1987!";
const NEW_PASSWORD: &str = "Lin-Terracotta-2031!";

async fn shop_with_mail(db: TestDb) -> (LiveShop, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let (port, mails) = smtp_server().await;
    let shop = LiveShop::start(db, |c| {
        c.mail = Some(vivr_shop::mail::MailConfig {
            smtp_url: format!("smtp://127.0.0.1:{port}?tls=none").into(),
            from: "boutique@vivr.fr".into(),
        });
        c.rate_limits.account_links.max = 1000;
        c.rate_limits.register.max = 1000;
    })
    .await;
    (shop, mails)
}

fn as_user(who: &(String, String)) -> [(&str, &str); 2] {
    [("Cookie", who.0.as_str()), ("X-CSRF-Token", who.1.as_str())]
}

async fn signed_in_email(shop: &LiveShop, who: &(String, String)) -> Option<String> {
    let r = shop
        .request("GET", "/api/v1/auth/session", &as_user(who), None)
        .await;
    r.json()["data"]["user"]["email"]
        .as_str()
        .map(str::to_string)
}

async fn login(shop: &LiveShop, email: &str, password: &str) -> HttpResponse {
    shop.request(
        "POST",
        "/api/v1/auth/login",
        &[],
        Some(&json!({"email": email, "password": password})),
    )
    .await
}

async fn forgot(shop: &LiveShop, email: &str) -> HttpResponse {
    shop.request(
        "POST",
        "/api/v1/auth/password/forgot",
        &[],
        Some(&json!({ "email": email })),
    )
    .await
}

const RESET_LINK: &str = "http://localhost:3000/mot-de-passe/nouveau?";

crate::common::on_both_backends!(
    a_forgotten_password_is_reset_once_through_the_emailed_link,
    multi_thread
);
async fn a_forgotten_password_is_reset_once_through_the_emailed_link(db: TestDb) {
    let (shop, mut mails) = shop_with_mail(db).await;
    let first = shop.register("lea@vivr.fr", PASSWORD).await;
    let r = login(&shop, "lea@vivr.fr", PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.text());

    // The same answer for an address with an account and one without; only the owner gets an email.
    let known = forgot(&shop, " Lea@VIVR.fr ").await;
    let unknown = forgot(&shop, "personne@vivr.fr").await;
    assert_eq!(known.status, 202, "{}", known.text());
    assert_eq!(unknown.status, known.status);
    assert_eq!(unknown.text(), known.text());
    let bad = forgot(&shop, "pas-une-adresse").await;
    assert_eq!(bad.status, 422, "{}", bad.text());
    assert_eq!(bad.json()["error"]["field"], "email", "{}", bad.text());

    let mail = next_mail(&mut mails, 20).await;
    assert_eq!(mail.to, "lea@vivr.fr");
    assert!(mail.subject.contains("mot de passe"), "{}", mail.subject);
    assert!(mail.text.contains("valable 30 minutes"), "{}", mail.text);
    let token = mail.link_param(RESET_LINK, "token");
    assert!(
        no_more_mail(&mut mails, 2).await.is_none(),
        "no email for an address without an account"
    );

    // Only the token's hash is stored: the hash finds the account, the token itself finds nothing.
    let store = shop.state.store();
    let owner = store
        .account_link_user(&hash_token(&token), LinkPurpose::PasswordReset, now())
        .await
        .unwrap()
        .expect("the link's hash names the account");
    assert_eq!(owner.email, "lea@vivr.fr");
    assert!(
        store
            .account_link_user(&token, LinkPurpose::PasswordReset, now())
            .await
            .unwrap()
            .is_none()
    );
    let page = shop
        .request(
            "GET",
            &format!("/mot-de-passe/nouveau?token={token}"),
            &[],
            None,
        )
        .await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("name=\"password_confirm\""));

    // A weak password is refused and the link still works.
    let reset = |password: &'static str, token: String| {
        let shop = &shop;
        async move {
            shop.request(
                "POST",
                "/api/v1/auth/password/reset",
                &[],
                Some(&json!({ "token": token, "password": password })),
            )
            .await
        }
    };
    let weak = reset("motdepasse", token.clone()).await;
    assert_eq!(weak.status, 422, "{}", weak.text());

    // Sent many times at once, the link works once.
    let attempts =
        futures_util::future::join_all((0..8).map(|_| reset(NEW_PASSWORD, token.clone()))).await;
    let statuses: Vec<u16> = attempts.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 204).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 204 || *s == 400),
        "{statuses:?}"
    );
    let again = reset(NEW_PASSWORD, token.clone()).await;
    assert_eq!(again.status, 400);
    assert_eq!(again.error_code(), "invalid_token");

    // Every session ended; the old password no longer works, the new one does.
    assert_eq!(signed_in_email(&shop, &first).await, None);
    assert_eq!(login(&shop, "lea@vivr.fr", PASSWORD).await.status, 400);
    assert_eq!(login(&shop, "lea@vivr.fr", NEW_PASSWORD).await.status, 200);

    // A newer link replaces an older one; an expired link does not work.
    assert_eq!(forgot(&shop, "lea@vivr.fr").await.status, 202);
    let older = next_mail(&mut mails, 20)
        .await
        .link_param(RESET_LINK, "token");
    assert_eq!(forgot(&shop, "lea@vivr.fr").await.status, 202);
    let newer = next_mail(&mut mails, 20)
        .await
        .link_param(RESET_LINK, "token");
    assert_eq!(reset(NEW_PASSWORD, older).await.status, 400, "replaced");
    shop.db
        .execute(r#"UPDATE "AccountToken" SET "expiresAt" = "createdAt" WHERE "usedAt" IS NULL"#)
        .await;
    let expired = reset(PASSWORD, newer.clone()).await;
    assert_eq!(expired.status, 400, "expired: {}", expired.text());
    let page = shop
        .request(
            "GET",
            &format!("/mot-de-passe/nouveau?token={newer}"),
            &[],
            None,
        )
        .await;
    assert_eq!(page.status, 400);
    assert!(page.text().contains("href=\"/mot-de-passe/oublie\""));
}

trait ErrorCode {
    fn error_code(&self) -> String;
}

impl ErrorCode for HttpResponse {
    fn error_code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

crate::common::on_both_backends!(changing_the_password_ends_the_other_sessions);
async fn changing_the_password_ends_the_other_sessions(db: TestDb) {
    let app = TestApp::with_config(db, |_| {}).await;
    let here = app.register("paul@vivr.fr", PASSWORD).await;
    let login = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": "paul@vivr.fr", "password": PASSWORD}),
            None,
            None,
        )
        .await;
    let elsewhere = (
        login.set_cookies().join("; "),
        login.json()["data"]["csrf_token"]
            .as_str()
            .unwrap()
            .to_string(),
    );
    let change = |current: &'static str, new: &'static str| {
        let app = &app;
        let here = &here;
        async move {
            app.as_user(here)
                .put(
                    "/api/v1/account/password",
                    &json!({"current_password": current, "new_password": new}),
                )
                .await
        }
    };
    let wrong = change("pas-le-bon", NEW_PASSWORD).await;
    assert_eq!(wrong.status.as_u16(), 400, "{}", wrong.text());
    assert_eq!(wrong.error_code(), "invalid_credentials");
    let weak = change(PASSWORD, "paul@vivr.fr").await;
    assert_eq!(weak.status.as_u16(), 422, "{}", weak.text());
    assert_eq!(weak.json()["error"]["field"], "new_password");
    let done = change(PASSWORD, NEW_PASSWORD).await;
    assert_eq!(done.status.as_u16(), 204, "{}", done.text());

    let session = |who: &(String, String)| {
        let app = &app;
        let cookies = who.0.clone();
        async move {
            app.get_with_cookies("/api/v1/auth/session", &cookies)
                .await
                .json()["data"]["user"]["email"]
                .as_str()
                .map(str::to_string)
        }
    };
    assert_eq!(
        session(&here).await.as_deref(),
        Some("paul@vivr.fr"),
        "this session stays"
    );
    assert_eq!(session(&elsewhere).await, None, "the other one ended");

    // Without a session, nothing.
    let anonymous = app
        .json_request(
            "PUT",
            "/api/v1/account/password",
            &json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
            None,
            None,
        )
        .await;
    assert_eq!(anonymous.status.as_u16(), 401);
}

const EMAIL_LINK: &str = "http://localhost:3000/compte/email/confirmer?";

crate::common::on_both_backends!(
    an_email_change_is_confirmed_from_the_new_address,
    multi_thread
);
async fn an_email_change_is_confirmed_from_the_new_address(db: TestDb) {
    let (shop, mut mails) = shop_with_mail(db).await;
    let lea = shop.register("lea@vivr.fr", PASSWORD).await;
    shop.register("prise@vivr.fr", PASSWORD).await;

    let change = |body: serde_json::Value| {
        let shop = &shop;
        let lea = &lea;
        async move {
            shop.request("PATCH", "/api/v1/account", &as_user(lea), Some(&body))
                .await
        }
    };
    // A new address needs the current password: a session alone cannot move the account to another inbox.
    let r = change(json!({"email": "Nouvelle@VIVR.fr"})).await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(r.json()["error"]["field"], "current_password");
    let r =
        change(json!({"email": "Nouvelle@VIVR.fr", "current_password": "Pas-Le-Bon-2026!"})).await;
    assert_eq!(r.error_code(), "invalid_credentials");
    let r = change(
        json!({"name": "Léa Martin", "email": "Nouvelle@VIVR.fr", "current_password": PASSWORD}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["data"]["user"]["name"], "Léa Martin");
    assert_eq!(
        r.json()["data"]["user"]["email"],
        "lea@vivr.fr",
        "unchanged until confirmed"
    );
    assert_eq!(r.json()["data"]["email_pending"], "nouvelle@vivr.fr");
    let bad = change(json!({"email": "pas-une-adresse"})).await;
    assert_eq!(bad.status, 422);
    assert_eq!(bad.json()["error"]["field"], "email");

    let mail = next_mail(&mut mails, 20).await;
    assert_eq!(
        mail.to, "nouvelle@vivr.fr",
        "the link goes to the new address"
    );
    let token = mail.link_param(EMAIL_LINK, "token");
    let page = shop
        .request(
            "GET",
            &format!("/compte/email/confirmer?token={token}"),
            &[],
            None,
        )
        .await;
    assert_eq!(page.status, 200);
    assert_eq!(
        signed_in_email(&shop, &lea).await.as_deref(),
        Some("lea@vivr.fr"),
        "opening the link changes nothing"
    );
    let confirm = |token: String| {
        let shop = &shop;
        async move {
            shop.request(
                "POST",
                "/api/v1/account/email/confirm",
                &[],
                Some(&json!({ "token": token })),
            )
            .await
        }
    };
    let r = confirm(token.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["data"]["user"]["email"], "nouvelle@vivr.fr");
    // The previous address is told.
    let notice = next_mail(&mut mails, 20).await;
    assert_eq!(notice.to, "lea@vivr.fr");
    assert!(notice.subject.contains("a changé"), "{}", notice.subject);
    assert_eq!(confirm(token).await.status, 400, "once");
    assert_eq!(login(&shop, "nouvelle@vivr.fr", PASSWORD).await.status, 200);
    assert_eq!(login(&shop, "lea@vivr.fr", PASSWORD).await.status, 400);

    // An address another account took meanwhile: the link says so, and nothing changes.
    let r = change(json!({"email": "prise@vivr.fr", "current_password": PASSWORD})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let token = next_mail(&mut mails, 20)
        .await
        .link_param(EMAIL_LINK, "token");
    let taken = confirm(token).await;
    assert_eq!(taken.status, 409, "{}", taken.text());
    assert_eq!(taken.error_code(), "email_taken");
    assert_eq!(
        signed_in_email(&shop, &lea).await.as_deref(),
        Some("nouvelle@vivr.fr")
    );
}

crate::common::on_both_backends!(
    deleting_an_account_erases_personal_data_and_keeps_orders_anonymously,
    multi_thread
);
async fn deleting_an_account_erases_personal_data_and_keeps_orders_anonymously(db: TestDb) {
    use vivr_shop::domain::OrderStatus;
    use vivr_shop::store::{OrderKey, StatusChange};

    let app = TestApp::with_config(db, |c| c.rate_limits.newsletter.max = 100).await;
    let who = app.register("zoe@vivr.fr", PASSWORD).await;
    let me = app.as_user(&who);
    let mut address = crate::common::address();
    address["phone"] = json!("+33612345678");
    assert_eq!(
        me.post("/api/v1/addresses", &address).await.status.as_u16(),
        201
    );
    assert_eq!(
        me.put("/api/v1/wishlist/lampe-table-nordique", &json!({}))
            .await
            .status
            .as_u16(),
        201
    );
    let store = app.state.store();
    let user = store.user_by_email("zoe@vivr.fr").await.unwrap().unwrap();
    let product = store
        .product_by_slug("lampe-table-nordique")
        .await
        .unwrap()
        .unwrap();
    let mut new = crate::common::order_of("VIVR-ZOE-1".into(), &user, &product, 1);
    new.address_json = json!({
        "firstName": "Zoé", "lastName": "Durand", "street": "12 rue des Lilas", "city": "Lyon",
        "postalCode": "69003", "country": "FR", "phone": "+33612345678", "email": "zoe@vivr.fr"
    })
    .to_string();
    let order = store.place_order(&new).await.unwrap();
    let review = me
        .post(
            "/api/v1/products/lampe-table-nordique/reviews",
            &json!({"rating": 5, "title": "Superbe", "comment": "Zoé adore"}),
        )
        .await;
    assert!(review.status.is_success(), "{}", review.text());
    app.post_json(
        "/api/v1/newsletter",
        &json!({"email": "zoe@vivr.fr"}),
        None,
        None,
    )
    .await;

    // The export holds everything first.
    let export = me.get("/api/v1/account/export").await;
    assert_eq!(export.status.as_u16(), 200);
    let data = &export.json()["data"];
    assert_eq!(data["profile"]["email"], "zoe@vivr.fr");
    assert_eq!(data["addresses"][0]["phone"], "+33612345678");
    assert_eq!(data["orders"][0]["number"], "VIVR-ZOE-1");
    assert_eq!(data["reviews"][0]["comment"], "Zoé adore");
    assert_eq!(data["wishlist"][0]["slug"], "lampe-table-nordique");
    let file = app.get_with_cookies("/compte/donnees", &who.0).await;
    assert_eq!(file.status.as_u16(), 200);
    assert!(
        file.header("content-disposition")
            .is_some_and(|d| d.starts_with("attachment")),
        "a file to download"
    );
    assert_eq!(file.json()["profile"]["email"], "zoe@vivr.fr");
    assert_eq!(app.get("/api/v1/account/export").await.status.as_u16(), 401);

    let delete = |password: &'static str| {
        let me = &me;
        async move {
            me.send_json(
                "DELETE",
                "/api/v1/account",
                &json!({ "password": password }),
            )
            .await
        }
    };
    let wrong = delete("pas-le-bon").await;
    assert_eq!(wrong.status.as_u16(), 400, "{}", wrong.text());
    let busy = delete(PASSWORD).await;
    assert_eq!(
        busy.status.as_u16(),
        409,
        "an order is on its way: {}",
        busy.text()
    );
    assert_eq!(busy.error_code(), "orders_in_progress");
    for to in [
        OrderStatus::Paid,
        OrderStatus::Shipped,
        OrderStatus::Delivered,
    ] {
        let current = store
            .order(OrderKey::Id(&order.id))
            .await
            .unwrap()
            .unwrap()
            .status;
        store
            .change_order_status(&StatusChange {
                order_id: order.id.clone(),
                from: vec![current],
                to,
                payment_id: None,
                event: None,
                email: None,
                by: None,
                now: now(),
            })
            .await
            .unwrap();
    }

    // Sent many times at once: one deletion, no error.
    let results = futures_util::future::join_all((0..6).map(|_| delete(PASSWORD))).await;
    let statuses: Vec<u16> = results.iter().map(|r| r.status.as_u16()).collect();
    assert!(statuses.contains(&204), "{statuses:?}");
    assert!(
        // 429: the sign-in throttle counts each password check, and the checks run at once.
        statuses.iter().all(|s| matches!(s, 204 | 401 | 429)),
        "{statuses:?}"
    );

    // Nothing that names her is left.
    assert!(store.user_by_email("zoe@vivr.fr").await.unwrap().is_none());
    assert!(!store.newsletter_subscribed("zoe@vivr.fr").await.unwrap());
    assert!(store.list_addresses(&user.id).await.unwrap().is_empty());
    assert!(store.wishlist(&user.id).await.unwrap().is_empty());
    assert!(store.reviews_by_user(&user.id).await.unwrap().is_empty());
    let kept = store
        .order(OrderKey::Id(&order.id))
        .await
        .unwrap()
        .expect("the order is kept");
    assert_eq!(
        kept.address,
        json!({"country": "FR", "postalCode": "69003"})
    );
    assert_eq!(kept.total, order.total);
    for (table, column) in [
        ("User", "email"),
        ("User", "name"),
        ("OutboundEmail", "recipient"),
        ("Order", "address"),
        ("Order", "email"),
    ] {
        let found = app
            .db
            .text(&format!(
                r#"SELECT "{column}" FROM "{table}" WHERE "{column}" LIKE '%zoe@vivr.fr%' OR "{column}" LIKE '%Zoé%'"#
            ))
            .await;
        assert_eq!(found, None, "{table}.{column}");
    }
    let login = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": "zoe@vivr.fr", "password": PASSWORD}),
            None,
            None,
        )
        .await;
    assert_eq!(login.status.as_u16(), 400);
    // The address is free for a new account.
    app.register("zoe@vivr.fr", PASSWORD).await;
}

crate::common::on_both_backends!(an_administrator_cannot_delete_their_own_account);
async fn an_administrator_cannot_delete_their_own_account(db: TestDb) {
    let app = TestApp::with_config(db, |_| {}).await;
    let admin = app.admin().await;
    let r = app
        .as_user(&admin)
        .send_json(
            "DELETE",
            "/api/v1/account",
            &json!({ "password": "whatever" }),
        )
        .await;
    assert_eq!(r.status.as_u16(), 409, "{}", r.text());
    assert_eq!(r.error_code(), "admin_account");
}

/// Without JavaScript: the forgotten-password form answers the same for any address, and the password, profile
/// and deletion forms show every problem beside its field, then say what was done.
#[tokio::test]
async fn the_account_forms_work_without_javascript() {
    let app = TestApp::sqlite().await;
    assert!(
        app.get("/connexion")
            .await
            .text()
            .contains("href=\"/mot-de-passe/oublie\"")
    );
    let form = app.get("/mot-de-passe/oublie").await;
    let cookies = form.set_cookies().join("; ");
    let csrf = crate::common::csrf_from(&form.text());
    app.register("anna@vivr.fr", PASSWORD).await;
    let ask = |email: &'static str| {
        let (app, cookies, csrf) = (&app, cookies.clone(), csrf.clone());
        async move {
            app.post_form(
                "/mot-de-passe/oublie",
                &[("csrf_token", &csrf), ("email", email)],
                &cookies,
            )
            .await
        }
    };
    let known = ask("anna@vivr.fr").await;
    let unknown = ask("inconnu@vivr.fr").await;
    assert_eq!(known.status.as_u16(), 200, "{}", known.text());
    assert_eq!(unknown.status, known.status);
    for page in [&known, &unknown] {
        assert!(
            page.text()
                .contains("Si un compte VIVR utilise cette adresse")
        );
    }
    let bad = ask("anna@").await;
    assert_eq!(bad.status.as_u16(), 422);
    assert!(bad.text().contains("aria-describedby=\"email-erreur\""));

    let who = app.register("marc@vivr.fr", PASSWORD).await;
    let me = app.as_user(&who);
    let page = app.get("/compte/mot-de-passe").await;
    assert!(
        page.header("location")
            .is_some_and(|l| l.starts_with("/connexion?next=/compte/mot-de-passe"))
    );
    // Two problems at once, each beside its field.
    let r = me
        .post_form(
            "/compte/mot-de-passe",
            &[
                ("current_password", PASSWORD),
                ("new_password", "motdepasse"),
                ("new_password_confirm", "autre"),
            ],
        )
        .await;
    assert_eq!(r.status.as_u16(), 422);
    let html = r.text();
    assert!(html.contains("id=\"new_password-erreur\""), "{html}");
    assert!(
        html.contains("id=\"new_password_confirm-erreur\""),
        "{html}"
    );
    assert!(html.contains("aria-describedby=\"new_password-aide new_password-erreur\""));
    let r = me
        .post_form(
            "/compte/mot-de-passe",
            &[
                ("current_password", "pas-le-bon"),
                ("new_password", NEW_PASSWORD),
                ("new_password_confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status.as_u16(), 422);
    assert!(r.text().contains("id=\"current_password-erreur\""));
    let r = me
        .post_form(
            "/compte/mot-de-passe",
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
                ("new_password_confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.header("location"), Some("/compte?fait=mot-de-passe"));
    assert!(
        me.get("/compte?fait=mot-de-passe")
            .await
            .text()
            .contains("Votre nouveau mot de passe est enregistré")
    );

    let r = me
        .post_form(
            "/compte/profil",
            &[("name", "Marc Dupré"), ("email", "marc@vivr.fr")],
        )
        .await;
    assert_eq!(r.header("location"), Some("/compte?fait=profil"));
    assert!(me.get("/compte").await.text().contains("Marc Dupré"));

    let r = me
        .post_form("/compte/supprimer", &[("password", PASSWORD)])
        .await;
    assert_eq!(r.status.as_u16(), 422, "the old password");
    assert!(r.text().contains("id=\"password-erreur\""));
    let r = me
        .post_form("/compte/supprimer", &[("password", NEW_PASSWORD)])
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text());
    assert!(r.text().contains("Votre compte est supprimé"));
    assert!(
        r.set_cookies().iter().any(|c| c == "vivr_session="),
        "the session cookie is cleared"
    );
    assert!(me.get("/compte").await.status.is_redirection());
}

const ACTIVATION_LINK: &str = "http://localhost:3000/compte/activer?";

crate::common::on_both_backends!(
    registration_answers_the_same_and_the_emailed_link_activates_the_account,
    multi_thread
);
async fn registration_answers_the_same_and_the_emailed_link_activates_the_account(db: TestDb) {
    let (shop, mut mails) = shop_with_mail(db).await;
    let register = |email: &'static str, password: &'static str| {
        let shop = &shop;
        async move {
            shop.request(
                "POST",
                "/api/v1/auth/register",
                &[],
                Some(&json!({ "email": email, "password": password })),
            )
            .await
        }
    };
    // Sent many times at once: one account, the same answer each time.
    let answers =
        futures_util::future::join_all((0..6).map(|_| register("ines@vivr.fr", PASSWORD))).await;
    assert!(
        answers.iter().all(|r| r.status == 202),
        "{:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert!(answers.iter().all(|r| r.text() == answers[0].text()));
    assert!(
        answers.iter().all(|r| !r
            .headers
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case("set-cookie") && v.contains("session"))),
        "no session before activation"
    );
    let users = shop
        .db
        .text(r#"SELECT CAST(COUNT(*) AS TEXT) FROM "User" WHERE "email" = 'ines@vivr.fr'"#)
        .await;
    assert_eq!(users.as_deref(), Some("1"));
    // The new address gets its activation link; the repeats, one "you already have an account" (one an hour).
    let mut subjects = Vec::new();
    let mut activation = None;
    for _ in 0..2 {
        let mail = next_mail(&mut mails, 20).await;
        assert_eq!(mail.to, "ines@vivr.fr");
        if mail.text.contains(ACTIVATION_LINK) {
            activation = Some(mail.link_param(ACTIVATION_LINK, "token"));
        }
        subjects.push(mail.subject);
    }
    subjects.sort();
    assert_eq!(
        subjects,
        [
            "VIVR : activez votre compte",
            "VIVR : vous avez déjà un compte"
        ]
    );
    assert!(no_more_mail(&mut mails, 2).await.is_none());
    let first_link = activation.expect("an activation link");

    // Signing in first: the wrong password learns nothing; the right one is told, and the link sent again.
    let wrong = login(&shop, "ines@vivr.fr", "Pas-Le-Bon-2026!").await;
    assert_eq!(wrong.error_code(), "invalid_credentials");
    let early = login(&shop, "ines@vivr.fr", PASSWORD).await;
    assert_eq!(
        (early.status, early.error_code().as_str()),
        (400, "account_not_activated")
    );
    let again = next_mail(&mut mails, 20).await;
    let token = again.link_param(ACTIVATION_LINK, "token");
    let activate = |token: String| {
        let shop = &shop;
        async move {
            shop.request(
                "POST",
                "/api/v1/auth/activate",
                &[],
                Some(&json!({ "token": token })),
            )
            .await
        }
    };
    assert_eq!(
        activate(first_link).await.status,
        400,
        "replaced by the newer link"
    );
    let page = shop
        .request("GET", &format!("/compte/activer?token={token}"), &[], None)
        .await;
    assert_eq!(page.status, 200);
    let ines = shop
        .state
        .store()
        .user_by_email("ines@vivr.fr")
        .await
        .unwrap()
        .unwrap();
    assert!(!ines.activated, "opening the link activates nothing");
    let done = activate(token.clone()).await;
    assert_eq!(done.status, 200, "{}", done.text());
    assert_eq!(done.json()["data"]["user"]["email"], "ines@vivr.fr");
    assert_eq!(activate(token).await.status, 400, "once");
    assert_eq!(login(&shop, "ines@vivr.fr", PASSWORD).await.status, 200);

    // From the checkout's sign-in page: the link goes on to the checkout, signed in.
    let form = shop
        .request("GET", "/inscription?next=/commande", &[], None)
        .await;
    let cookie = form.cookies();
    let body = serde_urlencoded::to_string([
        (
            "csrf_token",
            crate::common::csrf_from(&form.text()).as_str(),
        ),
        ("email", "jules@vivr.fr"),
        ("password", PASSWORD),
        ("password_confirm", PASSWORD),
        ("next", "/commande"),
    ])
    .unwrap();
    let addr = shop.addr;
    let r = tokio::task::spawn_blocking(move || {
        crate::common::process::http(
            addr,
            "POST",
            "/inscription",
            &[
                ("Cookie", cookie.as_str()),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            body.as_bytes(),
        )
        .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let mail = next_mail(&mut mails, 20).await;
    assert_eq!(mail.link_param(ACTIVATION_LINK, "next"), "/commande");
    let token = mail.link_param(ACTIVATION_LINK, "token");
    let body =
        serde_urlencoded::to_string([("token", token.as_str()), ("next", "/commande")]).unwrap();
    let r = tokio::task::spawn_blocking(move || {
        crate::common::process::http(
            addr,
            "POST",
            "/compte/activer",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            body.as_bytes(),
        )
        .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some("/commande")),
        "{}",
        r.text()
    );
    assert!(
        r.headers
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case("set-cookie") && v.starts_with("vivr_session="))
    );
}
