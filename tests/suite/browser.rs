//! A real browser (headless Chromium through chromedriver) visits the shop served by the `vivr` binary: home,
//! catalogue, a product page, then register → account → sign out → sign in, using only links and forms — no
//! JavaScript is needed, and the pages' Content-Security-Policy must not get in the way.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::TestDb;
use crate::common::process::{Vivr, free_port};
use fantoccini::{Client, ClientBuilder, Locator};

/// The screen a browser test uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Screen {
    /// A laptop window, 1366 px wide.
    Desktop,
    /// A phone, 390 CSS px wide (pixel ratio 3), emulated by Chromium: the page's viewport meta applies.
    Phone,
}

impl Screen {
    fn name(self) -> &'static str {
        match self {
            Screen::Desktop => "1366",
            Screen::Phone => "390",
        }
    }
}

/// chromedriver and a headless Chromium session. In CI their absence fails the test.
struct Browser {
    /// The chromedriver process; `None` in the handle a flow receives (the test keeps the process).
    driver: Option<Child>,
    client: Client,
    screen: Screen,
}

fn chromedriver_path() -> Option<String> {
    let candidates = [
        std::env::var("VIVR_TEST_CHROMEDRIVER").unwrap_or_default(),
        "/usr/bin/chromedriver".to_string(),
        "/usr/lib/chromium/chromedriver".to_string(),
    ];
    candidates
        .into_iter()
        .find(|p| !p.is_empty() && std::path::Path::new(p).exists())
}

impl Browser {
    async fn start(screen: Screen) -> Option<Browser> {
        let Some(driver_path) = chromedriver_path() else {
            if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
                panic!(
                    "chromedriver not found: browser tests must run in CI (apt-get install chromium chromium-driver)"
                );
            }
            eprintln!(
                "note: chromedriver not found, skipping a browser test (apt-get install chromium chromium-driver)"
            );
            return None;
        };
        let port = free_port();
        let driver = Command::new(driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut capabilities = serde_json::Map::new();
        let mut options = serde_json::json!({
            "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1366,900", "--hide-scrollbars"]
        });
        if screen == Screen::Phone {
            options["mobileEmulation"] = serde_json::json!({
                "deviceMetrics": { "width": 390, "height": 844, "pixelRatio": 3.0, "mobile": true, "touch": true }
            });
        }
        capabilities.insert("goog:chromeOptions".to_string(), options);
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a Chromium session");
        Some(Browser {
            driver: Some(driver),
            client,
            screen,
        })
    }

    /// Checks that nothing on the page is wider than the screen and that every form control is at least 44 px
    /// high with 16 px text, and keeps a screenshot of the page in
    /// `target/screenshots/<screen>/<name>.png` (the CI run's artefacts).
    async fn fits(&self, name: &str) {
        let measured = self
            .client
            .execute(
                "const width = document.documentElement.clientWidth;
                 const wide = [...document.querySelectorAll('body *')]
                   .filter(e => e.checkVisibility() && e.getBoundingClientRect().right > width + 1)
                   .map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')
                             + (e.id ? '#' + e.id : ''));
                 const visible = e => e.checkVisibility({ visibilityProperty: true });
                 const small = [...document.querySelectorAll(
                     'input:not([type=hidden]):not([type=checkbox]):not([type=radio]), select, textarea, button')]
                   .filter(visible)
                   .filter(e => e.getBoundingClientRect().height < 44
                             || parseFloat(getComputedStyle(e).fontSize) < 16)
                   .map(e => (e.name || e.id || e.textContent.trim()) + ' '
                             + Math.round(e.getBoundingClientRect().height) + 'px/'
                             + getComputedStyle(e).fontSize);
                 return [document.documentElement.scrollWidth, width, wide.slice(0, 5), small.slice(0, 5)];",
                vec![],
            )
            .await
            .unwrap();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target/screenshots")
            .join(self.screen.name());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join(format!("{name}.png")),
            self.client.screenshot().await.unwrap(),
        )
        .unwrap();
        let (scroll, width) = (measured[0].as_f64().unwrap(), measured[1].as_f64().unwrap());
        assert!(
            scroll <= width && measured[2].as_array().unwrap().is_empty(),
            "{name} on a {} px screen: the page is {scroll} px wide; too wide: {}",
            self.screen.name(),
            measured[2]
        );
        assert!(
            measured[3].as_array().unwrap().is_empty(),
            "{name} on a {} px screen: controls under 44 px or with text under 16 px: {}",
            self.screen.name(),
            measured[3]
        );
    }

    async fn text(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .text()
            .await
            .unwrap()
    }

    async fn path(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    }

    /// Clicks a link or a submit button and waits for the next page to finish loading.
    async fn click(&self, locator: Locator<'_>) {
        self.client
            .execute("window.__vivrPreviousPage = true", vec![])
            .await
            .unwrap();
        let target = self
            .client
            .find(locator)
            .await
            .unwrap_or_else(|e| panic!("{locator:?}: {e}"));
        // In the middle of the screen first: a tap lands where the element is once scrolling has settled, not
        // where it was before (a card's link below the fold otherwise takes the next card's tap).
        let element = serde_json::to_value(&target).unwrap();
        self.client
            .execute(
                "arguments[0].scrollIntoView({block: 'center', inline: 'center'})",
                vec![element],
            )
            .await
            .unwrap();
        target.click().await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let loaded = self
                .client
                .execute(
                    "return window.__vivrPreviousPage === undefined && document.readyState === 'complete'",
                    vec![],
                )
                .await
                .unwrap_or(serde_json::Value::Bool(false));
            if loaded == serde_json::Value::Bool(true) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{locator:?}: no new page after the click"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Opens the phone header's menu, or closes it when open.
    async fn toggle_menu(&self) {
        self.client
            .find(Locator::Css("details.menu > summary"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    /// Follows a link of the header: on a phone, through the menu, which is opened first.
    async fn nav(&self, text: &str) {
        if self.screen == Screen::Phone {
            self.toggle_menu().await;
            let link =
                format!("//details[contains(@class, 'menu')]//a[normalize-space() = '{text}']");
            self.click(Locator::XPath(&link)).await;
        } else {
            self.click(Locator::LinkText(text)).await;
        }
    }

    /// Fills the registration form on the current page and sends it, then opens the activation link emailed to
    /// `email` (the shop at `base`) and activates the account.
    async fn register(&self, name: &str, email: &str, mails: &mut Mails, base: &str) {
        self.fill("name", name).await;
        self.fill("email", email).await;
        self.fill("password", "Tr3s-Solide!").await;
        self.fill("password_confirm", "Tr3s-Solide!").await;
        self.click(Locator::Css("form.stacked button[type=submit]"))
            .await;
        assert!(
            self.text("main")
                .await
                .contains("Vérifiez votre boîte mail")
        );
        self.fits("register-sent").await;
        self.open_emailed_link(mails, email, "/compte/activer?", base)
            .await;
        self.fits("activate").await;
        self.click(Locator::Css("form.stacked button[type=submit]"))
            .await;
    }

    /// Opens the link starting with `path` in the next email, which must be to `to`.
    async fn open_emailed_link(&self, mails: &mut Mails, to: &str, path: &str, base: &str) {
        let mail = crate::common::mail::next_mail(mails, 30).await;
        assert_eq!(mail.to, to, "{}", mail.raw);
        let link = mail.link(&format!("http://localhost:3000{path}"));
        let link = link.replacen("http://localhost:3000", base, 1);
        self.client.goto(&link).await.unwrap();
    }

    async fn fill(&self, name: &str, value: &str) {
        self.fill_in("form.stacked", name, value).await
    }

    async fn fill_in(&self, form: &str, name: &str, value: &str) {
        self.client
            .find(Locator::Css(&format!("{form} [name=\"{name}\"]")))
            .await
            .unwrap_or_else(|e| panic!("field {name}: {e}"))
            .send_keys(value)
            .await
            .unwrap();
    }

    /// Runs a browser flow; when it fails, a screenshot of the page it failed on is kept in
    /// `target/browser-failures/<name>.png` before the failure is reported.
    async fn run<F, Fut>(self, name: &str, flow: F)
    where
        F: FnOnce(Browser) -> Fut,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let client = self.client.clone();
        let mut driver = self.driver;
        let browser = Browser {
            driver: None,
            client: self.client,
            screen: self.screen,
        };
        let outcome = tokio::spawn(flow(browser)).await;
        if let Err(err) = outcome {
            let dir =
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-failures");
            let _ = std::fs::create_dir_all(&dir);
            let file = dir.join(format!("{name}.png"));
            match client.screenshot().await {
                Ok(png) => {
                    let _ = std::fs::write(&file, png);
                    eprintln!("browser test failed: screenshot kept at {}", file.display());
                }
                Err(e) => eprintln!("browser test failed; no screenshot ({e})"),
            }
            Self::end(client, driver.take()).await;
            std::panic::resume_unwind(err.into_panic());
        }
        Self::end(client, driver.take()).await;
    }

    async fn end(client: Client, driver: Option<Child>) {
        let _ = client.close().await;
        if let Some(mut driver) = driver {
            let _ = driver.kill();
            let _ = driver.wait();
        }
    }

    async fn finish(self) {
        Self::end(self.client, self.driver).await;
    }
}

type Mails = tokio::sync::mpsc::UnboundedReceiver<String>;

/// `vivr serve` on `db`, sending its emails to a test SMTP server: the process and the emails.
async fn shop_with_mail(db: &TestDb) -> (Vivr, Mails) {
    let (port, mails) = crate::common::mail::smtp_server().await;
    let smtp = format!("smtp://127.0.0.1:{port}?tls=none");
    let vivr = Vivr::serve_env(
        &["--database-url", &db.url],
        &[
            ("VIVR_SMTP_URL", &smtp),
            ("VIVR_MAIL_FROM", "boutique@vivr.fr"),
        ],
    );
    (vivr, mails)
}

#[tokio::test]
async fn a_visitor_browses_registers_signs_out_and_back_in() {
    let Some(browser) = Browser::start(Screen::Desktop).await else {
        return;
    };
    let db = TestDb::sqlite();
    let (vivr, mut mails) = shop_with_mail(&db).await;
    let base = format!("http://{}", vivr.addr);
    let c = &browser.client;

    c.goto(&format!("{base}/")).await.unwrap();
    assert!(c.title().await.unwrap().contains("VIVR"));
    let lang = c
        .execute("return document.documentElement.lang", vec![])
        .await
        .unwrap();
    assert_eq!(lang, "fr");
    assert!(browser.text("main").await.contains("Produits vedettes"));
    // The stylesheet (hashed name, CSP 'self') applied: the skip link is moved off screen.
    let skip_left = c
        .execute(
            "return document.querySelector('.skip-link').getBoundingClientRect().left",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        skip_left.as_f64().unwrap() < 0.0,
        "stylesheet not applied: {skip_left}"
    );

    browser.click(Locator::LinkText("Tous les produits")).await;
    assert_eq!(browser.path().await, "/produits");
    assert!(
        browser
            .text("main")
            .await
            .contains("20 produit(s) trouvé(s)")
    );

    c.goto(&format!("{base}/produits/lampe-table-nordique"))
        .await
        .unwrap();
    assert_eq!(browser.text("h1").await, "Lampe de table Nordique");
    assert_eq!(browser.text(".price .current").await, "89,99\u{202f}€");

    browser.click(Locator::LinkText("Créer un compte")).await;
    assert_eq!(browser.path().await, "/inscription");
    browser
        .register("Inès Navigatrice", "ines@exemple.fr", &mut mails, &base)
        .await;
    assert_eq!(browser.path().await, "/compte?fait=active");
    let account = browser.text("main").await;
    assert!(
        account.contains("ines@exemple.fr") && account.contains("Inès Navigatrice"),
        "{account}"
    );

    browser
        .click(Locator::Css("main form[action=\"/deconnexion\"] button"))
        .await;
    assert_eq!(browser.path().await, "/");
    c.goto(&format!("{base}/compte")).await.unwrap();
    assert_eq!(
        browser.path().await,
        "/connexion?next=/compte",
        "signed out"
    );

    browser.fill("email", "ines@exemple.fr").await;
    browser.fill("password", "Tr3s-Solide!").await;
    browser
        .click(Locator::Css("form.stacked button[type=submit]"))
        .await;
    assert_eq!(
        browser.path().await,
        "/compte",
        "back where the visitor was going"
    );
    assert!(browser.text(".account-links").await.contains("Mon compte"));

    browser.finish().await;
    drop(vivr);
}

#[tokio::test]
async fn a_visitor_fills_a_cart_registers_and_places_an_order() {
    checkout_on(Screen::Desktop).await;
}

#[tokio::test]
async fn on_a_phone_the_same_visit_fits_the_screen() {
    checkout_on(Screen::Phone).await;
}

/// Home → catalogue → search with a plural → product → cart → registration → checkout → order → legal pages,
/// every page checked to fit the screen and kept as a screenshot.
async fn checkout_on(screen: Screen) {
    let Some(browser) = Browser::start(screen).await else {
        return;
    };
    let db = std::sync::Arc::new(TestDb::sqlite());
    let (vivr, mut mails) = shop_with_mail(&db).await;
    let base = format!("http://{}", vivr.addr);
    let shared = db.clone();
    browser
        .run(
            &format!("checkout-{}", screen.name()),
            move |browser| async move {
                let c = &browser.client;
                c.goto(&format!("{base}/")).await.unwrap();
                browser.fits("home").await;
                browser.nav("Tous les produits").await;
                browser.fits("catalogue").await;
                if browser.screen == Screen::Phone {
                    // A compact header: the first products show without scrolling.
                    let measured = c
                        .execute(
                            "return [document.querySelector('.site-header').getBoundingClientRect().height,
                                     document.querySelector('.grid .card').getBoundingClientRect().top,
                                     window.innerHeight]",
                            vec![],
                        )
                        .await
                        .unwrap();
                    let [header, card, screen] = [0, 1, 2].map(|i| measured[i].as_f64().unwrap());
                    assert!(header <= 120.0, "the phone header is {header} px high");
                    assert!(card < screen, "no product above the fold: the first card is at {card} px");
                    let per_row = c
                        .execute(
                            "const cards = [...document.querySelectorAll('.grid .card')];
                             return cards.filter(e => e.getBoundingClientRect().top === cards[0].getBoundingClientRect().top).length",
                            vec![],
                        )
                        .await
                        .unwrap();
                    assert_eq!(per_row, 2, "two cards per row on a phone");
                    browser.toggle_menu().await;
                    assert!(
                        browser.text("details.menu nav").await.contains("Salle de bain"),
                        "the menu lists the categories"
                    );
                    browser.fits("menu").await;
                    browser.toggle_menu().await;
                }
                // The header's search box, with a plural: every lamp, the typed word kept in the box.
                c.find(Locator::Css("#recherche-globale"))
                    .await
                    .unwrap()
                    .send_keys("lampes")
                    .await
                    .unwrap();
                browser
                    .click(Locator::Css("form.search button[type=submit]"))
                    .await;
                assert_eq!(browser.path().await, "/recherche?q=lampes");
                assert!(
                    browser.text("main").await.contains("3 produit(s) trouvé(s)"),
                    "{}",
                    browser.text("main").await
                );
                browser.fits("search").await;
                browser
                    .click(Locator::Css(
                        "main a[href=\"/produits/lampe-table-nordique\"] h3",
                    ))
                    .await;
                assert_eq!(browser.path().await, "/produits/lampe-table-nordique");
                browser.fits("product").await;
                browser
                    .click(Locator::Css("form.add-to-cart button[type=submit]"))
                    .await;
                assert_eq!(browser.path().await, "/panier");
                assert!(browser.text(".mini-cart").await.contains("Panier (1)"));
                browser.fits("cart").await;

                browser.nav("Créer un compte").await;
                browser.fits("register").await;
                browser
                    .register("Jules Acheteur", "jules@exemple.fr", &mut mails, &base)
                    .await;
                assert_eq!(browser.path().await, "/compte?fait=active");
                assert!(
                    browser.text(".mini-cart").await.contains("Panier (1)"),
                    "the visitor's cart followed the new account"
                );

                browser.click(Locator::Css("a.mini-cart")).await;
                browser.click(Locator::Css("#passer-commande")).await;
                assert_eq!(browser.path().await, "/commande");
                assert!(browser.text("main").await.contains("n'est pas configuré"));
                browser.fits("checkout").await;
                for (name, value) in [
                    ("first_name", "Jules"),
                    ("last_name", "Acheteur"),
                    ("street", "3 place Bellecour"),
                    ("postal_code", "69002"),
                    ("city", "Lyon"),
                ] {
                    browser.fill_in("form.checkout", name, value).await;
                }
                // Express delivery: the summary beside "Commander" follows at once (from the quote API), and the
                // order then charges exactly the total it showed.
                let standard_total = browser.text("#recap-total").await;
                c.find(Locator::Css("#livraison-express"))
                    .await
                    .unwrap()
                    .click()
                    .await
                    .unwrap();
                let deadline = Instant::now() + Duration::from_secs(10);
                while browser.text("#recap-total").await == standard_total {
                    assert!(
                        Instant::now() < deadline,
                        "the summary did not follow the express choice"
                    );
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                let shown_total = browser.text("#recap-total").await;
                assert!(shown_total.contains("99,98"), "{shown_total}");
                assert!(browser.text("#recap-mode").await.contains("express"));
                browser.click(Locator::Css("#commander")).await;
                let path = browser.path().await;
                assert!(path.starts_with("/compte/commandes/VIV-"), "{path}");
                let status = c
                    .find(Locator::Css("[data-status]"))
                    .await
                    .unwrap()
                    .attr("data-status")
                    .await
                    .unwrap();
                assert_eq!(status.as_deref(), Some("PENDING"));
                browser.fits("order").await;
                let main = browser.text("main").await;
                assert!(
                    main.contains("89,99") && main.contains("3 place Bellecour"),
                    "{main}"
                );
                assert_eq!(
                    browser.text(".order-total").await,
                    shown_total,
                    "charged what was shown"
                );
                assert!(browser.text(".shipping-method").await.contains("express"));
                assert!(browser.text(".mini-cart").await.contains("Panier (0)"));
                // The legal pages the footer links to, tables included, fit the screen too.
                for (link, name) in [("CGV", "cgv"), ("Cookies", "cookies"), ("Livraison et retours", "delivery")] {
                    browser.click(Locator::LinkText(link)).await;
                    browser.fits(name).await;
                }

                // The account's life: the data export, a password forgotten and reset from the emailed link, and
                // the account deleted.
                c.goto(&format!("{base}/compte")).await.unwrap();
                browser.fits("account").await;
                let export = c
                    .execute_async(
                        "const done = arguments[0];
                         fetch('/compte/donnees').then(r => r.json()).then(d => done([d.profile.email, d.orders.length]));",
                        vec![],
                    )
                    .await
                    .unwrap();
                assert_eq!(export, serde_json::json!(["jules@exemple.fr", 1]));
                browser
                    .click(Locator::Css("main form[action=\"/deconnexion\"] button"))
                    .await;
                c.goto(&format!("{base}/connexion")).await.unwrap();
                browser.click(Locator::LinkText("Mot de passe oublié ?")).await;
                browser.fill("email", "jules@exemple.fr").await;
                browser
                    .click(Locator::Css("form.stacked button[type=submit]"))
                    .await;
                assert!(browser.text("main").await.contains("Si un compte VIVR utilise cette adresse"));
                browser.fits("password-forgotten").await;
                browser
                    .open_emailed_link(&mut mails, "jules@exemple.fr", "/mot-de-passe/nouveau?", &base)
                    .await;
                browser.fits("password-new").await;
                browser.fill("password", "Lin-Terracotta-2031!").await;
                browser.fill("password_confirm", "Lin-Terracotta-2031!").await;
                browser
                    .click(Locator::Css("form.stacked button[type=submit]"))
                    .await;
                assert_eq!(browser.path().await, "/compte?fait=mot-de-passe");
                assert!(browser.text("main").await.contains("Votre nouveau mot de passe est enregistré"));
                browser.click(Locator::LinkText("Supprimer mon compte")).await;
                browser.fits("account-delete").await;
                browser.fill("password", "Lin-Terracotta-2031!").await;
                browser
                    .click(Locator::Css("form.stacked button.danger"))
                    .await;
                // The unpaid order still holds its address: refused, and said beside the form.
                assert!(browser.text(".error-summary").await.contains("pas encore livrée"));
                // Its payment window closes (as the expiry job would cancel it); then the deletion goes through.
                shared
                    .execute(r#"UPDATE "Order" SET "status" = 'CANCELLED' WHERE "status" = 'PENDING'"#)
                    .await;
                browser.fill("password", "Lin-Terracotta-2031!").await;
                browser
                    .click(Locator::Css("form.stacked button.danger"))
                    .await;
                assert!(browser.text("main").await.contains("Votre compte est supprimé"));
                browser.fits("account-deleted").await;
                c.goto(&format!("{base}/compte")).await.unwrap();
                assert_eq!(browser.path().await, "/connexion?next=/compte", "signed out for good");
            },
        )
        .await;
    drop(vivr);
}
