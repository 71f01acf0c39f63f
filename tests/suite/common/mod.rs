//! Test helpers: databases (a temporary SQLite file, or a fresh database on the test PostgreSQL cluster) migrated
//! with vivr's own runner, and a `TestApp` that drives the router without a socket.
#![allow(dead_code)]

pub mod mail;
pub mod process;
pub mod tls;

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;
use vivr::migrate::{self, DeployOptions};
use vivr_shop::store::db::Db;
use vivr_shop::store::{Backend, PoolOptions, SqlStore, Store, connect};
use vivr_shop::{AppState, ShopConfig, router, seed};

/// A component a test needs is missing: in CI (`CI=true`) that fails the test; elsewhere the test is skipped
/// with a note saying how to get it. Returns `None` for the caller to return early.
pub fn missing_component<T>(what: &str, how: &str) -> Option<T> {
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("{what} is missing, and tests needing it must run in CI ({how})");
    }
    eprintln!("note: {what} is missing, skipping this test ({how})");
    None
}

/// The PostgreSQL cluster started by `scripts/test`.
pub fn pg_admin_url() -> Option<String> {
    match std::env::var("VIVR_TEST_PG_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => missing_component("VIVR_TEST_PG_URL", "run scripts/test"),
    }
}

/// The CSRF token of the first form on an HTML page.
pub fn csrf_from(html: &str) -> String {
    let start = html
        .find("name=\"csrf_token\" value=\"")
        .expect("a CSRF field")
        + 25;
    html[start..start + html[start..].find('"').unwrap()].to_string()
}

fn random_suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
}

/// `on_both_backends!(stock_edits);` next to an ordinary `async fn stock_edits(db: TestDb)`: the function runs once
/// per backend, on a fresh empty database, as two tests named after it (`stock_edits::sqlite`,
/// `stock_edits::postgres`), so a failure names its backend. The function is plain code (rustfmt formats it,
/// errors point into it). `on_both_backends!(name, multi_thread)` gives it a multi-threaded runtime.
macro_rules! on_both_backends {
    ($name:ident) => {
        $crate::common::on_both_backends!($name, current_thread);
    };
    ($name:ident, multi_thread) => {
        $crate::common::on_both_backends!(@tests $name, flavor = "multi_thread", worker_threads = 4);
    };
    ($name:ident, current_thread) => {
        $crate::common::on_both_backends!(@tests $name, flavor = "current_thread");
    };
    (@tests $name:ident, $($runtime:tt)*) => {
        mod $name {
            #[tokio::test($($runtime)*)]
            async fn sqlite() {
                super::$name($crate::common::TestDb::sqlite()).await;
            }

            #[tokio::test($($runtime)*)]
            async fn postgres() {
                if let Some(db) = $crate::common::TestDb::postgres().await {
                    super::$name(db).await;
                }
            }
        }
    };
}
pub(crate) use on_both_backends;

pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    _dir: Option<tempfile::TempDir>,
    /// The database to drop at the end, on the test cluster.
    pg_name: Option<String>,
}

impl Drop for TestDb {
    /// SQLite files go with their temporary directory; a PostgreSQL database is dropped (its connections
    /// closed first), so a run leaves the cluster as it found it.
    fn drop(&mut self) {
        let (Some(name), Ok(admin)) = (self.pg_name.take(), std::env::var("VIVR_TEST_PG_URL"))
        else {
            return;
        };
        // Drop runs inside the test's runtime, which cannot be blocked on: a thread with its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
                    .await
                    .ok()?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut conn)
                .await
                .ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            eprintln!("note: a test database could not be dropped");
        }
    }
}

impl TestDb {
    /// An empty SQLite database in a temporary directory.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        TestDb {
            url,
            backend: Backend::Sqlite,
            _dir: Some(dir),
            pg_name: None,
        }
    }

    /// A new, empty database on the test cluster.
    pub async fn postgres() -> Option<Self> {
        let admin = pg_admin_url()?;
        let name = format!("vivr_test_{}", random_suffix());
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
            .await
            .expect("connect to the test cluster");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create database");
        let base = admin
            .rsplit_once('/')
            .map(|(b, _)| b.to_string())
            .expect("url with a database");
        Some(TestDb {
            url: format!("{base}/{name}"),
            backend: Backend::Postgres,
            _dir: None,
            pg_name: Some(name),
        })
    }

    pub async fn migrate(&self) {
        let mut db = migrate::connect(&self.url).await.expect("connect");
        let migrations = migrate::embedded(self.backend);
        migrate::deploy(&mut db, &migrations, &DeployOptions::default())
            .await
            .expect("migrations apply");
    }

    pub async fn store(&self) -> Box<dyn Store> {
        connect(&self.url, &PoolOptions::default())
            .await
            .expect("store connects")
    }

    /// The shop's state over this database, migrated and seeded, with a development configuration that
    /// `configure` may change.
    pub async fn seeded_state(&self, configure: impl FnOnce(&mut ShopConfig)) -> AppState {
        self.migrate().await;
        // One pool for the shop and its schema probe, as `vivr serve` has.
        let db = Db::connect(&self.url, &PoolOptions::default())
            .await
            .expect("store connects");
        let store: Box<dyn Store> = Box::new(SqlStore::from(db.clone()));
        seeded(store.as_ref()).await;
        let mut config = ShopConfig::development(&self.url);
        config.schema_probe = Some(std::sync::Arc::new(migrate::Probe::new(db)));
        // Failed sign-ins answer at once unless a test asks for the growing delay.
        config.rate_limits.login_failure_delay = std::time::Duration::ZERO;
        configure(&mut config);
        AppState::new(config, store).expect("shop configuration")
    }

    /// Runs one statement (assembled by the test, never from input) on the database; the rows it touched.
    pub async fn execute(&self, statement: &str) -> u64 {
        let db = Db::connect(&self.url, &PoolOptions::default())
            .await
            .expect("connects");
        vivr_shop::store::db::assembled(statement.to_string())
            .execute(&db)
            .await
            .expect("statement runs")
    }

    /// Activates the account of `email` (registered, not activated yet) as its emailed link would.
    pub async fn activate(&self, email: &str) {
        let email = email.trim().to_lowercase();
        assert!(!email.contains('\''), "a test address without quotes");
        let done = self
            .execute(&format!(
                r#"UPDATE "User" SET "emailVerified" = "createdAt" WHERE "email" = '{email}'"#
            ))
            .await;
        assert_eq!(done, 1, "{email} registered");
    }

    /// The first column of the first row of a query, as text (`None` without a row).
    pub async fn text(&self, query: &str) -> Option<String> {
        let db = Db::connect(&self.url, &PoolOptions::default())
            .await
            .expect("connects");
        vivr_shop::store::db::assembled(query.to_string())
            .scalar_optional::<String>(&db)
            .await
            .expect("query runs")
    }

    /// Migrated, with the demo catalogue.
    pub async fn seeded_store(&self) -> Box<dyn Store> {
        self.migrate().await;
        let store = self.store().await;
        seeded(store.as_ref()).await;
        store
    }
}

/// Adds the demo catalogue.
async fn seeded(store: &dyn Store) {
    store
        .seed_catalog(
            &seed::demo_categories(),
            &seed::demo_products(),
            vivr_shop::auth::now(),
        )
        .await
        .expect("seed");
}

pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub db: TestDb,
}

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

impl TestResponse {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `name=value` pairs set by this response.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or_default().to_string())
            .collect()
    }

    pub fn error_code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

impl TestApp {
    pub async fn with_config(db: TestDb, configure: impl FnOnce(&mut ShopConfig)) -> Self {
        let state = db.seeded_state(configure).await;
        let router =
            router(state.clone()).layer(MockConnectInfo(SocketAddr::from(([192, 0, 2, 10], 4000))));
        TestApp { router, state, db }
    }

    pub async fn sqlite() -> Self {
        Self::with_config(TestDb::sqlite(), |_| {}).await
    }

    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let response: Response<Body> = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("router answers");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec();
        TestResponse {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, uri: &str) -> TestResponse {
        self.send(Request::get(uri).body(Body::empty()).unwrap())
            .await
    }

    pub async fn get_with_cookies(&self, uri: &str, cookies: &str) -> TestResponse {
        self.send(
            Request::get(uri)
                .header(header::COOKIE, cookies)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    pub async fn post_json(
        &self,
        uri: &str,
        body: &serde_json::Value,
        cookies: Option<&str>,
        csrf: Option<&str>,
    ) -> TestResponse {
        self.json_request("POST", uri, body, cookies, csrf).await
    }

    pub async fn json_request(
        &self,
        method: &str,
        uri: &str,
        body: &serde_json::Value,
        cookies: Option<&str>,
        csrf: Option<&str>,
    ) -> TestResponse {
        let mut builder = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(c) = cookies {
            builder = builder.header(header::COOKIE, c);
        }
        if let Some(t) = csrf {
            builder = builder.header("x-csrf-token", t);
        }
        self.send(builder.body(Body::from(body.to_string())).unwrap())
            .await
    }

    pub async fn post_form(&self, uri: &str, form: &[(&str, &str)], cookies: &str) -> TestResponse {
        let body = serde_urlencoded::to_string(form).unwrap();
        let request = Request::post(uri)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, cookies)
            // What a browser says of a form the page itself sent.
            .header("sec-fetch-site", "same-origin")
            .body(Body::from(body))
            .unwrap();
        self.send(request).await
    }

    /// A customer account, activated (the registration and its emailed link are tested on their own), signed in
    /// through the API: the cookie header to act as that user, with its CSRF token.
    pub async fn register(&self, email: &str, password: &str) -> (String, String) {
        activated_account(&self.state, email, password).await;
        let r = self
            .post_json(
                "/api/v1/auth/login",
                &serde_json::json!({"email": email, "password": password}),
                None,
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        (
            r.set_cookies().join("; "),
            r.json()["data"]["csrf_token"].as_str().unwrap().to_string(),
        )
    }

    /// Requests as a signed-in browser: its cookies on every request, its CSRF token on every write (as
    /// crates.io's `MockCookieUser`). `who` is what [`TestApp::register`] returned.
    pub fn as_user<'a>(&'a self, who: &'a (String, String)) -> AsUser<'a> {
        AsUser { app: self, who }
    }

    /// An administrator, signed in: (cookies, csrf token).
    pub async fn admin(&self) -> (String, String) {
        let (cookies, csrf) = self.register(ADMIN.0, ADMIN.1).await;
        promote(&self.state, ADMIN.0).await;
        (cookies, csrf)
    }
}

/// The administrator `admin()` signs in: email and password.
const ADMIN: (&str, &str) = ("admin@vivr.fr", "Adm1n-Solide!");

/// Gives the account of that email the ADMIN role.
async fn promote(state: &AppState, email: &str) {
    state
        .store()
        .set_role(
            email,
            vivr_shop::domain::Role::Admin,
            vivr_shop::auth::now(),
        )
        .await
        .unwrap();
}

/// localstripe's URL (`VIVR_TEST_STRIPE_URL`, which scripts/test sets), or the missing component's note.
pub fn localstripe_url() -> Option<String> {
    match std::env::var("VIVR_TEST_STRIPE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => missing_component(
            "VIVR_TEST_STRIPE_URL (localstripe)",
            "pip install localstripe; run scripts/test",
        ),
    }
}

/// A customer account created straight in the store (no password anyone can use).
pub async fn customer(store: &dyn Store, email: &str) -> vivr_shop::store::User {
    store
        .create_user(
            &vivr_shop::store::NewUser {
                email: email.to_string(),
                name: None,
                password_hash: "x".into(),
                role: vivr_shop::domain::Role::User,
            },
            vivr_shop::auth::now(),
        )
        .await
        .expect("customer created")
}

/// Creates an activated customer account with this password, as an activation link would leave it.
pub async fn activated_account(state: &AppState, email: &str, password: &str) {
    let email = vivr_shop::domain::Email::parse("email", email).expect("a valid address");
    let password_hash = state
        .passwords()
        .hash(password.to_string().into())
        .await
        .expect("hashed");
    state
        .store()
        .create_user(
            &vivr_shop::store::NewUser {
                email: email.as_str().to_string(),
                name: Some("Test".into()),
                password_hash,
                role: vivr_shop::domain::Role::User,
            },
            vivr_shop::auth::now(),
        )
        .await
        .expect("account created");
}

/// An order of `quantity` × `product` for `user`, as the checkout service would hand it to the store (no
/// shipping, VAT left at zero: store tests count stock, not money).
pub fn order_of(
    number: String,
    user: &vivr_shop::store::User,
    product: &vivr_shop::store::Product,
    quantity: i32,
) -> vivr_shop::store::NewOrder {
    use vivr_shop::domain::Money;
    let now = vivr_shop::auth::now();
    let quantity = vivr_shop::domain::Quantity::from_stored(quantity);
    let total = vivr_shop::domain::line_total(product.price, quantity);
    vivr_shop::store::NewOrder {
        number,
        user_id: user.id.clone(),
        email: user.email.clone(),
        idempotency_key: None,
        lines: vec![vivr_shop::store::NewOrderLine {
            product_id: product.id.clone(),
            name: product.name.clone(),
            unit_price: product.price,
            quantity,
            image: None,
        }],
        subtotal: total,
        shipping: Money::from_cents(0),
        total,
        vat: Money::from_cents(0),
        vat_rate_bp: 2000,
        shipping_method: "standard".into(),
        address_json: "{}".into(),
        expires_at: now + chrono::TimeDelta::minutes(30),
        now,
    }
}

/// A signed-in browser's requests (see [`TestApp::as_user`]).
pub struct AsUser<'a> {
    app: &'a TestApp,
    who: &'a (String, String),
}

impl AsUser<'_> {
    pub async fn get(&self, uri: &str) -> TestResponse {
        self.app.get_with_cookies(uri, &self.who.0).await
    }

    /// A JSON write (`POST`, `PUT`, `PATCH`, `DELETE`) with the CSRF header.
    pub async fn send_json(
        &self,
        method: &str,
        uri: &str,
        body: &serde_json::Value,
    ) -> TestResponse {
        self.app
            .json_request(method, uri, body, Some(&self.who.0), Some(&self.who.1))
            .await
    }

    pub async fn post(&self, uri: &str, body: &serde_json::Value) -> TestResponse {
        self.send_json("POST", uri, body).await
    }

    pub async fn put(&self, uri: &str, body: &serde_json::Value) -> TestResponse {
        self.send_json("PUT", uri, body).await
    }

    pub async fn delete(&self, uri: &str) -> TestResponse {
        self.send_json("DELETE", uri, &serde_json::Value::Null)
            .await
    }

    /// A page form, with the CSRF token field added.
    pub async fn post_form(&self, uri: &str, form: &[(&str, &str)]) -> TestResponse {
        let mut fields = vec![("csrf_token", self.who.1.as_str())];
        fields.extend_from_slice(form);
        self.app.post_form(uri, &fields, &self.who.0).await
    }
}

/// A copy of the repository's PostgreSQL migrations that a test may extend or edit.
pub fn migrations_copy() -> tempfile::TempDir {
    migrations_copy_of(Backend::Postgres)
}

/// A copy of the repository's migrations for `backend`.
pub fn migrations_copy_of(backend: Backend) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(match backend {
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
        });
    for entry in std::fs::read_dir(&source).unwrap() {
        let entry = entry.unwrap();
        let target = dir.path().join(entry.file_name());
        if entry.path().is_dir() {
            std::fs::create_dir(&target).unwrap();
            std::fs::copy(
                entry.path().join("migration.sql"),
                target.join("migration.sql"),
            )
            .unwrap();
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
    dir
}

pub fn add_migration(dir: &std::path::Path, name: &str, sql: &str) {
    std::fs::create_dir(dir.join(name)).unwrap();
    std::fs::write(dir.join(name).join("migration.sql"), sql).unwrap();
}

/// The newest built-in PostgreSQL migration: a fully migrated PostgreSQL database's head.
pub fn newest_migration() -> String {
    vivr::migrate::embedded(Backend::Postgres)
        .last()
        .expect("built-in migrations")
        .name
        .to_string()
}

/// How many built-in PostgreSQL migrations there are.
pub fn postgres_migration_count() -> usize {
    vivr::migrate::embedded(Backend::Postgres).len()
}

/// The shop served in-process on a real loopback listener (for flows that need real connections: concurrency,
/// webhooks sent by another process), with its background jobs running.
pub struct LiveShop {
    pub addr: SocketAddr,
    pub state: AppState,
    pub db: TestDb,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    jobs: Vec<tokio::task::JoinHandle<()>>,
}

impl LiveShop {
    pub async fn start(db: TestDb, configure: impl FnOnce(&mut ShopConfig)) -> Self {
        let state = db.seeded_state(configure).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = state.clone();
        tokio::spawn(async move {
            let app = router(serving.clone());
            vivr_shop::serve(&serving, app, listener, async {
                let _ = stopped.await;
            })
            .await
            .expect("serve");
        });
        let jobs = vivr_shop::jobs::spawn(&state);
        LiveShop {
            addr,
            state,
            db,
            stop: Some(stop),
            jobs,
        }
    }

    /// One request on its own connection; `json` bodies get the JSON content type.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        json: Option<&serde_json::Value>,
    ) -> process::HttpResponse {
        let addr = self.addr;
        let method = method.to_string();
        let path = path.to_string();
        let mut headers: Vec<(String, String)> = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        let body = match json {
            Some(value) => {
                headers.push(("Content-Type".into(), "application/json".into()));
                value.to_string().into_bytes()
            }
            None => Vec::new(),
        };
        tokio::task::spawn_blocking(move || {
            let headers: Vec<(&str, &str)> = headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            process::http(addr, &method, &path, &headers, &body)
        })
        .await
        .expect("request task")
        .expect("HTTP exchange")
    }
}

impl LiveShop {
    /// A customer account, activated (the registration and its emailed link are tested on their own), signed in
    /// through the API: the cookie header to act as that customer, and its CSRF token.
    pub async fn register(&self, email: &str, password: &str) -> (String, String) {
        activated_account(&self.state, email, password).await;
        let r = self
            .request(
                "POST",
                "/api/v1/auth/login",
                &[],
                Some(&serde_json::json!({"email": email, "password": password})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let cookies = r.cookies();
        let csrf = r.json()["data"]["csrf_token"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        (cookies, csrf)
    }

    /// An administrator, signed in: (cookies, csrf token).
    pub async fn admin(&self) -> (String, String) {
        let (cookies, csrf) = self.register(ADMIN.0, ADMIN.1).await;
        promote(&self.state, ADMIN.0).await;
        (cookies, csrf)
    }
}

impl Drop for LiveShop {
    fn drop(&mut self) {
        for job in &self.jobs {
            job.abort();
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A valid delivery address, as the API takes it.
pub fn address() -> serde_json::Value {
    serde_json::json!({
        "first_name": "Camille",
        "last_name": "Durand",
        "street": "12 rue des Lilas",
        "city": "Lyon",
        "postal_code": "69003",
        "country": "FR"
    })
}

/// The secret access key tests give moto_server (any value works; tests check that it never leaks).
pub const MOTO_SECRET: &str = "moto-Secret-Key-42";

/// A new S3 bucket (`<name>-<random>`) on the test run's moto_server, a client, and the environment vivr needs
/// to reach it.
pub async fn s3_bucket(
    name: &str,
) -> Option<(aws_sdk_s3::Client, String, Vec<(&'static str, String)>)> {
    let Ok(endpoint) = std::env::var("VIVR_TEST_S3_ENDPOINT") else {
        return missing_component("VIVR_TEST_S3_ENDPOINT (moto_server)", "run scripts/test");
    };
    let env = vec![
        ("AWS_ENDPOINT_URL", endpoint.clone()),
        ("AWS_ACCESS_KEY_ID", "AKIDTEST".to_string()),
        ("AWS_SECRET_ACCESS_KEY", MOTO_SECRET.to_string()),
        ("AWS_REGION", "eu-west-3".to_string()),
    ];
    let config = aws_sdk_s3::config::Builder::new()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .endpoint_url(&endpoint)
        .region(aws_sdk_s3::config::Region::new("eu-west-3"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "AKIDTEST",
            MOTO_SECRET,
            None,
            None,
            "test",
        ))
        .force_path_style(true)
        .http_client(vivr::aws::http_client())
        .build();
    let client = aws_sdk_s3::Client::from_conf(config);
    let bucket = format!("{name}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    client
        .create_bucket()
        .bucket(&bucket)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest3)
                .build(),
        )
        .send()
        .await
        .unwrap();
    Some((client, bucket, env))
}
