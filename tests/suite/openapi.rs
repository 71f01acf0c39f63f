//! The API's OpenAPI document (`/api/openapi.json`): what it says, checked against a snapshot so that a change to
//! the API shows in review; every operation it lists answers; and schemathesis, from outside, finds no server
//! error and no answer that breaks the document.

use axum::http::StatusCode;
use vivr_shop::payments::StripeConfig;

use crate::common::{self, LiveShop, TestApp, TestDb};

#[tokio::test]
async fn the_document_is_served_and_matches_its_snapshot() {
    let app = TestApp::sqlite().await;
    let r = app.get("/api/openapi.json").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    let document = r.json();
    assert_eq!(document["openapi"], "3.1.0");
    insta::assert_snapshot!("openapi", serde_json::to_string_pretty(&document).unwrap());
}

/// schemathesis: the executable, from `VIVR_TEST_SCHEMATHESIS` or the `PATH`.
fn schemathesis() -> Option<std::path::PathBuf> {
    if let Ok(path) = std::env::var("VIVR_TEST_SCHEMATHESIS")
        && !path.is_empty()
    {
        return Some(path.into());
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("schemathesis"))
            .find(|candidate| candidate.is_file())
    })
}

/// Runs schemathesis against a shop signed in as an administrator, so that every operation is reached: examples
/// generated from the document (a bounded number per operation, from a fixed seed), boundary cases, and
/// sequences that follow one answer's ids into the next request. It fails on any 5xx, and on any answer whose
/// status, content type, headers or body the document does not describe.
async fn schemathesis_finds_nothing(db: TestDb) {
    let Some(st) = schemathesis() else {
        return common::missing_component::<()>(
            "schemathesis",
            "scripts/test installs it (pip, in its own virtual environment)",
        )
        .unwrap_or(());
    };
    let Some(stripe) = common::localstripe_url() else {
        return;
    };
    let shop = LiveShop::start(db, |c| {
        // Stripe as in production (a webhook without a configured secret is a 503, rightly).
        c.stripe = Some(StripeConfig {
            secret_key: "sk_test_vivr".to_string().into(),
            publishable_key: "pk_test_vivr".into(),
            webhook_secrets: vec!["whsec_vivr_schemathesis".to_string().into()],
            api_base: stripe,
        });
        // The limits stay on, high enough that the requests reach the handlers behind them.
        for limit in [
            &mut c.rate_limits.register,
            &mut c.rate_limits.login_ip,
            &mut c.rate_limits.login_account_ip,
            &mut c.rate_limits.login_account,
            &mut c.rate_limits.reviews,
            &mut c.rate_limits.newsletter,
            &mut c.rate_limits.checkout,
            &mut c.rate_limits.account_links,
            &mut c.rate_limits.reset_per_address,
        ] {
            limit.max = 1_000_000;
        }
        c.rate_limits.login_failure_delay = std::time::Duration::ZERO;
    })
    .await;
    let (cookies, csrf) = shop.admin().await;
    let document = format!("http://{}/api/openapi.json", shop.addr);
    // schemathesis keeps its example database in the directory it runs in: a throwaway one.
    let scratch = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new(&st)
        .current_dir(scratch.path())
        .args(["run", &document])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,\
             response_schema_conformance,response_headers_conformance",
            "--max-examples",
            "25",
            "--seed",
            "2026",
            "--workers",
            "2",
            "--no-color",
            // Signing out would sign the run out; the rest, deleting the account included, is fair game.
            "--exclude-operation-id",
            "logout",
        ])
        .args(["--header", &format!("Cookie: {cookies}")])
        .args(["--header", &format!("X-CSRF-Token: {csrf}")])
        .kill_on_drop(true)
        .output()
        .await
        .expect("run schemathesis");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "schemathesis found problems:\n{report}"
    );
    // It did test the operations (a run that selected none would pass too).
    assert!(
        report.contains("Tested: 50"),
        "schemathesis did not test every operation:\n{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn schemathesis_finds_no_server_error_and_no_answer_off_the_document_sqlite() {
    schemathesis_finds_nothing(TestDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn schemathesis_finds_no_server_error_and_no_answer_off_the_document_postgres() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    schemathesis_finds_nothing(db).await;
}

#[tokio::test]
async fn errors_no_handler_wrote_are_in_the_documented_envelope_too() {
    let app = TestApp::sqlite().await;
    let (cookies, _) = app.admin().await;
    // A query string that repeats a field, a path segment that is not UTF-8, a method the route lacks.
    for (method, uri, status, code) in [
        (
            "GET",
            "/api/v1/orders?page=1&page=2",
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "GET",
            "/api/v1/products/%FF",
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "PUT",
            "/api/v1/categories",
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
    ] {
        let r = app
            .send(
                axum::http::Request::builder()
                    .method(method)
                    .uri(uri)
                    .header("cookie", &cookies)
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(r.status, status, "{method} {uri}: {}", r.text());
        assert_eq!(
            r.header("content-type"),
            Some("application/json"),
            "{method} {uri}"
        );
        assert_eq!(r.error_code(), code, "{method} {uri}: {}", r.text());
        assert_eq!(
            r.header("cache-control"),
            Some("no-store"),
            "{method} {uri}"
        );
        if status == StatusCode::METHOD_NOT_ALLOWED {
            assert_eq!(r.header("allow"), Some("GET,HEAD,POST"), "{}", r.text());
        }
    }
}
