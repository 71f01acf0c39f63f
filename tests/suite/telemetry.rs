//! What `vivr serve` reports beyond its logs, received by local endpoints that record it: error reports at a
//! Sentry-compatible endpoint (`SENTRY_DSN`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::TestDb;
use crate::common::process::Vivr;

/// One HTTP request a recorder received.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An HTTP endpoint on a free loopback port that answers every request `200 {}` and keeps it.
pub struct Recorder {
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Recorder {
    pub fn start() -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let sink = received.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let sink = sink.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream);
                    while let Some(request) = read_request(&mut reader) {
                        sink.lock().unwrap().push(request);
                        let stream = reader.get_mut();
                        if stream
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}")
                            .is_err()
                        {
                            return;
                        }
                    }
                });
            }
        });
        Recorder { addr, received }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until `found` holds for what was received (or gives up after `timeout`).
    pub fn wait_for(
        &self,
        timeout: Duration,
        found: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let received = self.received();
            if found(&received) || Instant::now() > deadline {
                return received;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// One request off a keep-alive connection: its head, then a body by content-length or chunked encoding.
fn read_request(reader: &mut BufReader<std::net::TcpStream>) -> Option<Received> {
    let mut line = String::new();
    reader.read_line(&mut line).ok().filter(|n| *n > 0)?;
    let path = line.split_whitespace().nth(1)?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let find = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    if let Some(length) = find("content-length") {
        body.resize(length.parse().ok()?, 0);
        reader.read_exact(&mut body).ok()?;
    } else if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim(), 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    }
    Some(Received {
        path,
        headers,
        body,
    })
}

/// The events of Sentry envelopes: the JSON lines that carry a `platform` (the item payloads).
fn events(received: &[Received]) -> Vec<serde_json::Value> {
    received
        .iter()
        .filter(|r| r.path.ends_with("/envelope/"))
        .flat_map(|r| {
            String::from_utf8_lossy(&r.body)
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(&line).ok())
        .filter(|item| item.get("platform").is_some())
        .collect()
}

/// `vivr serve` on the demo catalogue, uncached, at release 4f2a9c81e0d3, with `env`.
fn serve(db: &TestDb, env: &[(&str, &str)]) -> Vivr {
    let mut env = env.to_vec();
    env.push(("VIVR_RELEASE", "4f2a9c81e0d3"));
    Vivr::serve_env(
        &["--database-url", &db.url, "--catalog-cache-secs", "0"],
        &env,
    )
}

/// Renames `table` under a running server, as if it had been dropped.
async fn take_away(url: &str, table: &str) {
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(url)
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        r#"ALTER TABLE "{table}" RENAME TO "{table}Gone""#
    )))
    .execute(&mut conn)
    .await
    .unwrap();
}

/// The slug of the first product the catalogue lists.
fn first_product(vivr: &Vivr) -> String {
    let listing = vivr.get("/produits").text();
    listing
        .split("href=\"/produits/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a product link")
        .to_string()
}

const SESSION_SECRET: &str = "Secret-de-session-du-test-7c1e9a4b2d5f8e3a"; // audit:allow-secret

#[tokio::test(flavor = "multi_thread")]
async fn a_server_error_is_reported_with_its_request_route_and_release_and_no_secret() {
    let db = TestDb::sqlite();
    let sentry = Recorder::start();
    let dsn = format!("http://0a1b2c3d4e5f@{}/42", sentry.addr);
    let vivr = serve(
        &db,
        &[
            ("SENTRY_DSN", dsn.as_str()),
            ("VIVR_SESSION_SECRET", SESSION_SECRET),
        ],
    );
    let slug = first_product(&vivr);
    // What is not unexpected is not reported: pages, a 404, a form refused.
    assert_eq!(vivr.get(&format!("/produits/{slug}")).status, 200);
    assert_eq!(vivr.get("/produits/nexiste-pas").status, 404);

    // The products table disappears under the running server (uncached): the product page now fails with a 500.
    take_away(db.url.as_str(), "Product").await;
    let failed = vivr.get(&format!("/produits/{slug}"));
    assert_eq!(failed.status, 500, "{}", vivr.log());
    let request_id = failed
        .header("x-request-id")
        .expect("a request id")
        .to_string();

    sentry.wait_for(Duration::from_secs(15), |r| !events(r).is_empty());
    // Anything else would have been sent by now.
    std::thread::sleep(Duration::from_millis(500));
    let received = sentry.received();
    let events = events(&received);
    assert_eq!(
        events.len(),
        1,
        "one report, for the 500 only: {events:#?}\n{}",
        vivr.log()
    );
    let event = &events[0];
    // Sentry's default level, left out of the payload.
    assert!(event.get("level").is_none_or(|l| l == "error"), "{event:#}");
    assert_eq!(event["release"], "4f2a9c81e0d3", "{event:#}");
    assert_eq!(event["environment"], "development", "{event:#}");
    assert_eq!(event["message"], "request failed", "{event:#}");
    assert_eq!(
        event["tags"]["request_id"],
        request_id.as_str(),
        "{event:#}"
    );
    assert_eq!(event["tags"]["route"], "/produits/{slug}", "{event:#}");
    assert_eq!(event["tags"]["method"], "GET", "{event:#}");
    assert!(
        event["extra"]["error"]
            .as_str()
            .unwrap()
            .contains("Product"),
        "the cause: {event:#}"
    );
    assert!(event.get("user").is_none(), "{event:#}");
    let envelope = received
        .iter()
        .find(|r| r.path == "/api/42/envelope/")
        .expect("posted to the project's envelope endpoint");
    assert!(
        envelope
            .header("x-sentry-auth")
            .is_some_and(|auth| auth.contains("sentry_key=0a1b2c3d4e5f")),
        "{envelope:?}"
    );
    for request in &received {
        let body = String::from_utf8_lossy(&request.body);
        assert!(!body.contains(SESSION_SECRET), "{body}");
    }
}

#[test]
fn without_a_dsn_nothing_is_sent_and_an_invalid_one_is_refused_by_name() {
    let db = TestDb::sqlite();
    let (status, _, err) = crate::common::process::vivr_output_env(
        &["serve", "--bind", "127.0.0.1:0", "--database-url", &db.url],
        None,
        &[("SENTRY_DSN", "ftp://nowhere")],
    );
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("SENTRY_DSN"), "{err}");
    assert!(
        !err.contains("ftp://nowhere"),
        "a secret is not echoed: {err}"
    );
}

/// The OTLP/HTTP export requests a recorder received, decoded.
fn exported_spans(received: &[Received]) -> Vec<opentelemetry_proto::tonic::trace::v1::Span> {
    use prost::Message;
    received
        .iter()
        .filter(|r| r.path == "/v1/traces")
        .filter_map(|r| {
            opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest::decode(
                r.body.as_slice(),
            )
            .ok()
        })
        .flat_map(|request| request.resource_spans)
        .flat_map(|resource| resource.scope_spans)
        .flat_map(|scope| scope.spans)
        .collect()
}

fn attribute(span: &opentelemetry_proto::tonic::trace::v1::Span, key: &str) -> Option<String> {
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    let value = span
        .attributes
        .iter()
        .find(|a| a.key == key)?
        .value
        .as_ref()?
        .value
        .as_ref()?;
    Some(match value {
        Value::StringValue(s) => s.clone(),
        Value::IntValue(i) => i.to_string(),
        Value::BoolValue(b) => b.to_string(),
        Value::DoubleValue(d) => d.to_string(),
        other => format!("{other:?}"),
    })
}

#[test]
fn requests_and_their_statements_are_exported_as_spans_over_otlp() {
    use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
    let db = TestDb::sqlite();
    let collector = Recorder::start();
    let endpoint = format!("http://{}", collector.addr);
    let vivr = serve(
        &db,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    );
    let slug = first_product(&vivr);
    let page = vivr.get(&format!("/produits/{slug}"));
    assert_eq!(page.status, 200);
    let request_id = page
        .header("x-request-id")
        .expect("a request id")
        .to_string();

    let has_page = |spans: &[opentelemetry_proto::tonic::trace::v1::Span]| {
        spans
            .iter()
            .any(|s| attribute(s, "request_id").as_deref() == Some(request_id.as_str()))
    };
    let received = collector.wait_for(Duration::from_secs(20), |r| has_page(&exported_spans(r)));
    let spans = exported_spans(&received);
    let server = spans
        .iter()
        .find(|s| attribute(s, "request_id").as_deref() == Some(request_id.as_str()))
        .unwrap_or_else(|| {
            panic!(
                "no span for request {request_id}: {spans:#?}\n{}",
                vivr.log()
            )
        });
    assert_eq!(server.name, "GET /produits/{slug}");
    assert_eq!(server.kind, SpanKind::Server as i32);
    assert_eq!(
        attribute(server, "http.route").as_deref(),
        Some("/produits/{slug}")
    );
    assert_eq!(
        attribute(server, "http.request.method").as_deref(),
        Some("GET")
    );
    assert_eq!(
        attribute(server, "http.response.status_code").as_deref(),
        Some("200")
    );
    assert!(server.end_time_unix_nano > server.start_time_unix_nano);

    // The statements it ran: children of that span, inside its time, named by their summary, with no values.
    let statements: Vec<_> = spans
        .iter()
        .filter(|s| s.trace_id == server.trace_id && s.parent_span_id == server.span_id)
        .collect();
    assert!(
        !statements.is_empty(),
        "no statement under the request: {spans:#?}"
    );
    for statement in &statements {
        assert_eq!(statement.kind, SpanKind::Client as i32, "{statement:#?}");
        assert_eq!(
            attribute(statement, "db.system.name").as_deref(),
            Some("sqlite")
        );
        let summary = attribute(statement, "db.query.summary").unwrap();
        assert_eq!(statement.name, summary);
        assert!(!summary.contains(&slug), "a bound value in {summary}");
        assert!(
            statement.start_time_unix_nano >= server.start_time_unix_nano,
            "{statement:#?}"
        );
        assert!(
            statement.end_time_unix_nano <= server.end_time_unix_nano,
            "{statement:#?}"
        );
    }
    // The product (with its category) and its reviews; sqlx's summary is the statement's start. A connection the
    // pool opened for the request shows too (SQLite's PRAGMAs).
    assert!(
        statements
            .iter()
            .filter(|s| s.name.starts_with("SELECT "))
            .count()
            >= 2,
        "{statements:#?}"
    );
    assert!(
        statements
            .iter()
            .any(|s| attribute(s, "db.response.returned_rows").as_deref() == Some("1")),
        "the product's row: {statements:#?}"
    );
    let export = received.iter().find(|r| r.path == "/v1/traces").unwrap();
    assert_eq!(
        export.header("content-type"),
        Some("application/x-protobuf")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_background_job_is_reported_with_its_name() {
    let db = TestDb::sqlite();
    let sentry = Recorder::start();
    let dsn = format!("http://0a1b2c3d4e5f@{}/42", sentry.addr);
    let vivr = serve(&db, &[("SENTRY_DSN", dsn.as_str())]);
    assert_eq!(vivr.get("/api/health").status, 200);
    // The email worker polls its queue every 5 s: take the queue away under it.
    take_away(db.url.as_str(), "OutboundEmail").await;
    let received = sentry.wait_for(Duration::from_secs(20), |r| !events(r).is_empty());
    let events = events(&received);
    let event = events
        .first()
        .unwrap_or_else(|| panic!("no report of the failed job\n{}", vivr.log()));
    assert_eq!(event["message"], "job failed", "{event:#}");
    assert_eq!(event["extra"]["job"], "email worker", "{event:#}");
    assert!(
        event["extra"]["error"]
            .as_str()
            .unwrap()
            .contains("OutboundEmail"),
        "the cause: {event:#}"
    );
    assert_eq!(event["release"], "4f2a9c81e0d3", "{event:#}");
    assert!(
        event
            .get("tags")
            .is_none_or(|t| t.get("request_id").is_none()),
        "no request: {event:#}"
    );
}
