//! `vivr serve` as a process on a real socket: graceful shutdown under load, readiness while PostgreSQL goes down
//! and comes back, the PostgreSQL start-up path (`--migrate`) with a customer's whole visit, and the admin and
//! healthcheck commands against it; and the restore drill of runbooks/backups.md (backup, restore into a new
//! database, serve from it, sign in).

use crate::common;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::process::{
    CookieJar, HttpResponse, PgCluster, Vivr, http, read_response, send_request, vivr_output,
};
use crate::common::{TestDb, csrf_from};

const LOAD_PATHS: [&str; 5] = [
    "/api/v1/products?limit=12",
    "/api/v1/products/lampe-table-nordique",
    "/produits",
    "/produits/lampe-table-nordique",
    "/api/v1/categories",
];

struct Outcome {
    path: &'static str,
    sent: Instant,
    result: Result<(u16, usize), String>,
    /// No byte of an answer arrived: the connection was refused or closed before the request was read.
    untouched: bool,
}

fn one_request(addr: SocketAddr, path: &'static str) -> Outcome {
    let started = Instant::now();
    let mut stream = match TcpStream::connect_timeout(&addr, Duration::from_secs(5)) {
        Ok(s) => s,
        Err(err) => {
            return Outcome {
                path,
                sent: started,
                result: Err(format!("connect: {err}")),
                untouched: true,
            };
        }
    };
    if let Err(err) = send_request(&mut stream, addr, "GET", path, &[], b"") {
        return Outcome {
            path,
            sent: started,
            result: Err(format!("send: {err}")),
            untouched: true,
        };
    }
    let sent = Instant::now();
    match read_response(&mut stream) {
        Ok(r) => Outcome {
            path,
            sent,
            result: Ok((r.status, r.body.len())),
            untouched: false,
        },
        Err(err) => Outcome {
            path,
            sent,
            untouched: err.to_string().contains("in 0 bytes")
                || matches!(
                    err.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
                ),
            result: Err(err.to_string()),
        },
    }
}

#[test]
fn sigterm_under_load_answers_every_request_accepted_before_it() {
    let db = TestDb::sqlite();
    let mut vivr = Vivr::serve(&["--database-url", &db.url]);
    let addr = vivr.addr;
    assert_eq!(vivr.get("/api/health").status, 200);

    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..12)
        .map(|i| {
            let outcomes = outcomes.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut n = i;
                while !stop.load(Ordering::Relaxed) {
                    let outcome = one_request(addr, LOAD_PATHS[n % LOAD_PATHS.len()]);
                    n += 1;
                    let refused = outcome
                        .result
                        .as_ref()
                        .is_err_and(|e| e.starts_with("connect"));
                    outcomes.lock().unwrap().push(outcome);
                    if refused {
                        break; // the listener is closed: nothing more will be accepted
                    }
                }
            })
        })
        .collect();

    // Under load first: wait until a few hundred requests have been answered.
    let deadline = Instant::now() + Duration::from_secs(30);
    while outcomes.lock().unwrap().len() < 200 {
        assert!(Instant::now() < deadline, "the load never got going");
        std::thread::sleep(Duration::from_millis(20));
    }
    // A request whose head is only half written when the signal arrives: accepted, being read.
    let mut slow = TcpStream::connect(addr).expect("connect the slow client");
    slow.write_all(b"GET /api/v1/products?sort=price-asc HTTP/1.1\r\nHost: vivr\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));

    let signalled = Instant::now();
    vivr.terminate();
    std::thread::sleep(Duration::from_millis(300));
    slow.write_all(b"Connection: close\r\n\r\n").unwrap();
    let slow_answer: HttpResponse = read_response(&mut slow).expect("the slow request is answered");
    assert_eq!(slow_answer.status, 200, "{}", slow_answer.text());
    assert_eq!(
        slow_answer.json()["data"][0]["slug"],
        "lanterne-solaire-decorative"
    );

    let status = vivr.wait(Duration::from_secs(20));
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.join().unwrap();
    }
    let log = vivr.log();
    let status = status.unwrap_or_else(|| panic!("vivr did not exit after SIGTERM:\n{log}"));
    assert!(status.success(), "exit status {status}:\n{log}");
    assert!(log.contains("listener closed"), "{log}");

    let outcomes = outcomes.lock().unwrap();
    let before: Vec<&Outcome> = outcomes.iter().filter(|o| o.sent < signalled).collect();
    let after: Vec<&Outcome> = outcomes.iter().filter(|o| o.sent >= signalled).collect();
    assert!(
        before.len() > 50,
        "only {} requests before the signal",
        before.len()
    );
    for o in &before {
        assert!(
            matches!(o.result, Ok((200, len)) if len > 0),
            "{} sent {:?} before SIGTERM: {:?}\n{log}",
            o.path,
            signalled.duration_since(o.sent),
            o.result
        );
    }
    for o in &after {
        match &o.result {
            Ok((200, _)) => {}
            Ok((status, _)) => panic!("{} after SIGTERM answered {status}", o.path),
            Err(err) => assert!(o.untouched, "{} after SIGTERM cut short: {err}", o.path),
        }
    }
    eprintln!(
        "{} requests answered before SIGTERM, {} after it ({} refused once the listener closed)",
        before.len(),
        after.iter().filter(|o| o.result.is_ok()).count(),
        after.iter().filter(|o| o.result.is_err()).count()
    );
}

#[test]
fn readiness_follows_postgresql_down_and_back_up_without_a_restart() {
    let Some(pg) = PgCluster::start() else { return };
    let vivr = Vivr::serve(&["--database-url", &pg.url(), "--migrate", "--seed-demo"]);
    let ready = vivr.get("/api/health");
    assert_eq!(ready.status, 200, "{}", ready.text());

    pg.stop_server();
    let stopped = Instant::now();
    let down = loop {
        let r = vivr.get("/api/health");
        if r.status == 503 {
            break r;
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(2),
            "still {} {} after {:?}",
            r.status,
            r.text(),
            stopped.elapsed()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let took = stopped.elapsed();
    assert!(took <= Duration::from_secs(2), "503 after {took:?}");
    assert!(down.text().contains("database"), "{}", down.text());
    assert_eq!(down.header("cache-control"), Some("no-store"));
    assert_eq!(
        vivr.get("/api/health/live").status,
        200,
        "liveness does not depend on the database"
    );
    let api = vivr.get("/api/v1/products");
    assert_eq!(api.status, 503, "{}", api.text());
    assert_eq!(
        api.json()["error"]["code"],
        "service_unavailable",
        "{}",
        api.text()
    );

    pg.start_server();
    let restarted = Instant::now();
    loop {
        let r = vivr.get("/api/health");
        if r.status == 200 {
            break;
        }
        assert!(
            restarted.elapsed() < Duration::from_secs(20),
            "not ready 20 s after PostgreSQL came back: {} {}",
            r.status,
            r.text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let back = vivr.get("/api/v1/products");
    assert_eq!(back.status, 200, "{}", back.text());
    assert_eq!(back.json()["pagination"]["total"], 20);
    eprintln!(
        "503 {took:?} after PostgreSQL stopped; 200 {:?} after it restarted",
        restarted.elapsed()
    );
}

/// A browser-like visitor: keeps cookies, submits forms.
struct Visitor {
    addr: SocketAddr,
    jar: CookieJar,
}

impl Visitor {
    fn request(&mut self, method: &str, path: &str, form: &[(&str, &str)]) -> HttpResponse {
        let body = serde_urlencoded::to_string(form).unwrap();
        let cookie = self.jar.header();
        let mut headers = vec![("Cookie", cookie.as_str())];
        if method == "POST" {
            headers.push(("Content-Type", "application/x-www-form-urlencoded"));
        }
        let response = http(self.addr, method, path, &headers, body.as_bytes())
            .unwrap_or_else(|err| panic!("{method} {path}: {err}"));
        self.jar.update(&response);
        response
    }

    fn get(&mut self, path: &str) -> HttpResponse {
        self.request("GET", path, &[])
    }

    /// Signs up through the form: the answer (200, "check your inbox", when it worked).
    fn register(&mut self, email: &str, password: &str, name: &str) -> HttpResponse {
        self.submit(
            "/inscription",
            "/inscription",
            &[
                ("email", email),
                ("password", password),
                ("password_confirm", password),
                ("name", name),
            ],
        )
    }

    /// Signs in through the form, asking to land on /compte: the answer (303 to /compte when it worked).
    fn sign_in(&mut self, email: &str, password: &str) -> HttpResponse {
        self.submit(
            "/connexion?next=/compte",
            "/connexion",
            &[
                ("email", email),
                ("password", password),
                ("next", "/compte"),
            ],
        )
    }

    /// Loads `page`, fills its form with its CSRF token and `fields`, posts it to `action`.
    fn submit(&mut self, page: &str, action: &str, fields: &[(&str, &str)]) -> HttpResponse {
        let token = csrf_from(&self.get(page).text());
        let mut form = vec![("csrf_token", token.as_str())];
        form.extend_from_slice(fields);
        self.request("POST", action, &form)
    }
}

#[tokio::test]
async fn postgresql_start_up_requires_migrate_then_serves_a_whole_visit() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let url = db.url.clone();

    let (status, _, stderr) = vivr_output(
        &["serve", "--database-url", &url, "--bind", "127.0.0.1:0"],
        None,
    );
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("20260130000000_init") && stderr.contains("vivr serve --migrate"),
        "{stderr}"
    );
    assert!(!stderr.contains("Listening"), "{stderr}");

    let vivr = Vivr::serve(&["--database-url", &url, "--migrate", "--seed-demo"]);
    for (path, needle) in [
        ("/", "Produits vedettes"),
        ("/produits", "20 produit(s) trouvé(s)"),
        ("/produits/lampe-table-nordique", "89,99\u{202f}€"),
        ("/recherche?q=ceramique", "Vase céramique minimal"),
    ] {
        let r = vivr.get(path);
        assert_eq!(r.status, 200, "{path}");
        assert!(r.text().contains(needle), "{path}: {needle:?} missing");
    }
    assert_eq!(
        vivr.get("/api/v1/products").json()["pagination"]["total"],
        20
    );

    let mut visitor = Visitor {
        addr: vivr.addr,
        jar: CookieJar::default(),
    };
    let r = visitor.register("Camille@Exemple.fr", "Tr3s-Solide!", "Camille");
    assert_eq!(r.status, 200, "{}", r.text());
    db.activate("camille@exemple.fr").await;
    let r = visitor.sign_in("camille@exemple.fr", "Tr3s-Solide!");
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some("/compte")),
        "{}",
        r.text()
    );
    let account = visitor.get("/compte");
    assert_eq!(account.status, 200);
    assert!(account.text().contains("camille@exemple.fr"));
    let r = visitor.submit("/compte", "/deconnexion", &[]);
    assert_eq!((r.status, r.header("location")), (303, Some("/")));
    assert_eq!(
        visitor.get("/compte").header("location"),
        Some("/connexion?next=/compte")
    );
    let r = visitor.sign_in("camille@exemple.fr", "Tr3s-Solide!");
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some("/compte")),
        "{}",
        r.text()
    );
    assert!(visitor.get("/compte").text().contains("Camille"));

    // The first administrator, from the command line; then promoting the customer.
    let create_chef = || {
        vivr_output(
            &[
                "admin",
                "create",
                "--database-url",
                &url,
                "--email",
                "chef@vivr.fr",
            ],
            Some("Adm1n-Tres-Solide!\n"),
        )
    };
    let (status, stdout, stderr) = create_chef();
    assert!(status.success(), "{stdout}{stderr}");
    assert!(!format!("{stdout}{stderr}").contains("Adm1n-Tres-Solide!"));
    // Asked again, it says why it refuses (not a generic "internal error").
    let (status, stdout, stderr) = create_chef();
    assert!(!status.success(), "{stdout}{stderr}");
    assert!(
        stderr.contains("creating the administrator: an account already uses this email"),
        "{stderr}"
    );
    let login = common::process::api_login(vivr.addr, "chef@vivr.fr", "Adm1n-Tres-Solide!");
    assert_eq!(
        login.json()["data"]["user"]["role"],
        "ADMIN",
        "{}",
        login.text()
    );
    let (status, stdout, stderr) = vivr_output(
        &[
            "admin",
            "promote",
            "--database-url",
            &url,
            "CAMILLE@exemple.fr",
        ],
        None,
    );
    assert!(status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("camille@exemple.fr promoted: now an administrator"),
        "{stdout}"
    );
    let (status, _, stderr) = vivr_output(
        &[
            "admin",
            "promote",
            "--database-url",
            &url,
            "personne@exemple.fr",
        ],
        None,
    );
    assert_eq!(status.code(), Some(2));
    assert!(
        stderr.contains("no account with email personne@exemple.fr"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("postgres@"),
        "credentials stay out of errors: {stderr}"
    );

    // The container health check.
    let health_url = format!("http://{}/api/health", vivr.addr);
    let (status, stdout, stderr) = vivr_output(&["healthcheck", &health_url], None);
    assert!(status.success(), "{stdout}{stderr}");
    drop(vivr);
    let (status, _, _) = vivr_output(&["healthcheck", &health_url, "--timeout", "2"], None);
    assert_eq!(status.code(), Some(1), "nothing listens any more");
}

#[test]
fn metrics_can_live_on_a_separate_admin_listener() {
    let db = TestDb::sqlite();
    let admin_port = common::process::free_port();
    let admin_bind = format!("127.0.0.1:{admin_port}");
    let vivr = Vivr::serve(&["--database-url", &db.url, "--admin-bind", &admin_bind]);
    assert_eq!(vivr.get("/produits").status, 200);
    assert_eq!(
        vivr.get("/metrics").status,
        404,
        "not on the public listener"
    );
    let admin: SocketAddr = admin_bind.parse().unwrap();
    let metrics = http(admin, "GET", "/metrics", &[], b"").unwrap();
    assert_eq!(metrics.status, 200);
    let text = metrics.text();
    assert!(text.contains("vivr_build_info"), "{text}");
    assert!(text.contains("/produits"), "requests by route: {text}");
}

#[test]
fn drain_period_keeps_serving_while_readiness_turns_503() {
    let db = TestDb::sqlite();
    let mut vivr = Vivr::serve(&["--database-url", &db.url, "--shutdown-drain-secs", "2"]);
    assert_eq!(vivr.get("/api/health").status, 200);
    let signalled = Instant::now();
    vivr.terminate();
    // The signal is handled asynchronously: wait for readiness to turn, within the drain period.
    let health = loop {
        let health = vivr.get("/api/health");
        if health.status == 503 || signalled.elapsed() > Duration::from_millis(1500) {
            break health;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(health.status, 503, "{}", health.text());
    assert!(health.text().contains("shutting down"), "{}", health.text());
    let products = vivr.get("/api/v1/products");
    assert_eq!(products.status, 200, "still serving while draining");
    assert_eq!(products.header("connection"), Some("close"));
    let status = vivr
        .wait(Duration::from_secs(10))
        .expect("exits after the drain");
    assert!(status.success(), "{status}");
    assert!(
        signalled.elapsed() >= Duration::from_secs(2),
        "drained for the whole period"
    );
}

/// Issue 5's acceptance: three `vivr serve` processes on one PostgreSQL enforce the newsletter's limit (3 sign-ups
/// per hour per client IP) together. Requests go round-robin, and in parallel, to all three; exactly three are
/// accepted. Behind a trusted proxy another client (X-Forwarded-For) has its own three; a header from an untrusted
/// peer is ignored.
#[tokio::test]
async fn three_processes_on_one_postgresql_share_the_newsletter_limit() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    db.migrate().await;
    let shops: Vec<Vivr> = (0..3)
        .map(|_| Vivr::serve(&["--database-url", &db.url, "--trusted-proxy", "127.0.0.1"]))
        .collect();
    let addrs: Vec<SocketAddr> = shops.iter().map(|s| s.addr).collect();

    let subscribe = |addr: SocketAddr, i: usize, forwarded: Option<&'static str>| {
        std::thread::spawn(move || {
            let body = format!(r#"{{"email":"lecteur{i}@vivr.fr"}}"#);
            let mut headers = vec![("Content-Type", "application/json")];
            if let Some(ip) = forwarded {
                headers.push(("X-Forwarded-For", ip));
            }
            http(
                addr,
                "POST",
                "/api/v1/newsletter",
                &headers,
                body.as_bytes(),
            )
            .expect("answer")
        })
    };
    let answers: Vec<HttpResponse> = (0..12)
        .map(|i| subscribe(addrs[i % 3], i, None))
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    let accepted: Vec<&HttpResponse> = answers.iter().filter(|r| r.status == 200).collect();
    let refused: Vec<&HttpResponse> = answers.iter().filter(|r| r.status == 429).collect();
    assert_eq!(
        (accepted.len(), refused.len()),
        (3, 9),
        "statuses: {:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for r in &accepted {
        assert_eq!(r.header("ratelimit-limit"), Some("3"));
        assert_eq!(r.header("ratelimit-policy"), Some("3;w=3600"));
        assert!(r.header("retry-after").is_none());
    }
    let remaining: std::collections::BTreeSet<_> = accepted
        .iter()
        .filter_map(|r| r.header("ratelimit-remaining"))
        .collect();
    assert_eq!(remaining, ["0", "1", "2"].into_iter().collect());
    for r in &refused {
        assert_eq!(
            r.json()["error"]["code"],
            "too_many_requests",
            "{}",
            r.text()
        );
        assert_eq!(r.header("ratelimit-remaining"), Some("0"));
        let retry: u64 = r
            .header("retry-after")
            .expect("Retry-After")
            .parse()
            .unwrap();
        assert!((3500..=3600).contains(&retry), "Retry-After {retry}");
        assert_eq!(r.header("ratelimit-reset"), r.header("retry-after"));
    }
    // Every process refuses now, whichever accepted.
    for addr in &addrs {
        let r = http(
            *addr,
            "POST",
            "/api/v1/newsletter",
            &[("Content-Type", "application/json")],
            br#"{"email":"encore@vivr.fr"}"#,
        )
        .unwrap();
        assert_eq!(r.status, 429);
    }

    // Another client behind the trusted proxy (loopback) has its own window, shared by the three processes too.
    let behind_proxy: Vec<u16> = (100..106)
        .map(|i| subscribe(addrs[i % 3], i, Some("203.0.113.7")))
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap().status)
        .collect();
    assert_eq!(
        behind_proxy.iter().filter(|s| **s == 200).count(),
        3,
        "{behind_proxy:?}"
    );
    assert_eq!(
        behind_proxy.iter().filter(|s| **s == 429).count(),
        3,
        "{behind_proxy:?}"
    );

    // The accepted sign-ups are stored once each; refused ones left nothing.
    let store = db.store().await;
    let subscribed =
        subscribed_count(&*store, 0..12).await + subscribed_count(&*store, 100..106).await;
    assert_eq!(subscribed, 6);
    drop(shops);

    // A shop that does not trust the loopback ignores the header: the client is 127.0.0.1, already limited.
    let untrusting = Vivr::serve(&["--database-url", &db.url]);
    let r = http(
        untrusting.addr,
        "POST",
        "/api/v1/newsletter",
        &[
            ("Content-Type", "application/json"),
            ("X-Forwarded-For", "198.51.100.1"),
        ],
        br#"{"email":"usurpateur@vivr.fr"}"#,
    )
    .unwrap();
    assert_eq!(r.status, 429, "{}", r.text());
}

async fn subscribed_count(
    store: &dyn vivr_shop::store::Store,
    range: std::ops::Range<usize>,
) -> usize {
    let mut n = 0;
    for i in range {
        // Signed up, waiting for the confirmation link (double opt-in).
        if store
            .newsletter_pending(&format!("lecteur{i}@vivr.fr"))
            .await
            .unwrap()
        {
            n += 1;
        }
    }
    n
}

/// Peak resident memory of a process, from `/proc/PID/status` (VmHWM), in MiB.
fn peak_rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kib| kib.parse::<u64>().ok())
        .expect("VmHWM")
        / 1024
}

/// Two hundred failed sign-ins at once, each from its own address for its own account (so no rate limit stops
/// them): at most one Argon2 hash per CPU is in memory, the rest wait briefly or are told to retry (503), the
/// process stays small, and product pages are served all along.
#[test]
fn two_hundred_parallel_failed_sign_ins_keep_memory_bounded_and_pages_served() {
    let db = TestDb::sqlite();
    let shop = Vivr::serve(&["--database-url", &db.url, "--trusted-proxy", "127.0.0.1"]);
    let addr = shop.addr;
    assert_eq!(
        shop.get("/produits/lanterne-solaire-decorative").status,
        200
    );
    let before = peak_rss_mib(shop.pid());

    let stop = Arc::new(AtomicBool::new(false));
    let browsing = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut statuses = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let r = http(
                    addr,
                    "GET",
                    "/produits/lanterne-solaire-decorative",
                    &[],
                    b"",
                )
                .expect("product page");
                statuses.push(r.status);
            }
            statuses
        })
    };
    let attempts: Vec<_> = (0..200)
        .map(|i| {
            std::thread::spawn(move || {
                let ip = format!("198.18.{}.{}", i / 250, i % 250 + 1);
                let body = format!(r#"{{"email":"client{i}@vivr.fr","password":"Devine-{i}!"}}"#);
                http(
                    addr,
                    "POST",
                    "/api/v1/auth/login",
                    &[
                        ("Content-Type", "application/json"),
                        ("X-Forwarded-For", &ip),
                    ],
                    body.as_bytes(),
                )
                .expect("an answer")
            })
        })
        .collect();
    let answers: Vec<HttpResponse> = attempts.into_iter().map(|t| t.join().unwrap()).collect();
    stop.store(true, Ordering::SeqCst);
    let pages = browsing.join().unwrap();

    let count = |status: u16| answers.iter().filter(|r| r.status == status).count();
    assert_eq!(
        count(400) + count(503),
        200,
        "{:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert!(count(400) >= 2, "some were evaluated");
    for busy in answers.iter().filter(|r| r.status == 503) {
        assert_eq!(busy.json()["error"]["code"], "busy");
        assert_eq!(busy.header("retry-after"), Some("1"));
    }
    let peak = peak_rss_mib(shop.pid());
    eprintln!(
        "peak RSS {before} MiB before, {peak} MiB after 200 parallel failed sign-ins ({} evaluated, {} told to retry); \
         {} product pages served meanwhile",
        count(400),
        count(503),
        pages.len()
    );
    assert!(peak < 200, "peak RSS {peak} MiB");
    assert!(
        !pages.is_empty() && pages.iter().all(|s| *s == 200),
        "{pages:?}"
    );
}

/// Without an SMTP server, an email is not sent and the log names its kind and id only: never the recipient,
/// the text, or the signed unsubscribe link it carries.
#[test]
fn unsent_emails_leave_no_content_in_the_log() {
    let db = TestDb::sqlite();
    let shop = Vivr::serve(&["--database-url", &db.url]);
    let r = http(
        shop.addr,
        "POST",
        "/api/v1/newsletter",
        &[("Content-Type", "application/json")],
        br#"{"email":"lectrice.secrete@vivr.fr"}"#,
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let deadline = Instant::now() + Duration::from_secs(30);
    while !shop.log().contains("email delivered") {
        assert!(
            Instant::now() < deadline,
            "no delivery logged:\n{}",
            shop.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = shop.log();
    assert!(
        log.contains("NEWSLETTER_WELCOME") || log.contains("newsletter"),
        "{log}"
    );
    for leaked in ["lectrice.secrete", "token=", "desinscription", "Bienvenue"] {
        assert!(!log.contains(leaked), "{leaked:?} in the log:\n{log}");
    }
}

/// A port already taken fails at once, before the database is created or migrated.
#[test]
fn serve_on_a_taken_port_fails_before_touching_the_database() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("never.db");
    let url = format!("sqlite://{}", file.display());
    let (status, _, stderr) =
        vivr_output(&["serve", "--bind", &addr, "--database-url", &url], None);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&format!("listening on {addr}")), "{stderr}");
    assert!(!file.exists(), "the database was created anyway");
}

/// `vivr admin create` in a terminal (a pseudo-terminal from util-linux's `script`): it asks for the password,
/// then for it again, and the terminal never shows what was typed.
#[tokio::test]
async fn admin_create_in_a_terminal_asks_twice_without_echo() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        crate::common::missing_component::<()>("script (util-linux)", "apt-get install util-linux");
        return;
    }
    let db = TestDb::sqlite();
    db.migrate().await;
    let command = format!(
        "{} admin create --database-url {} --email chef@vivr.fr",
        env!("CARGO_BIN_EXE_vivr"),
        db.url
    );
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("script");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 256];
        while let Ok(n) = stdout.read(&mut buffer) {
            if n == 0 {
                break;
            }
            let _ = tx.send(String::from_utf8_lossy(&buffer[..n]).into_owned());
        }
    });
    let mut seen = String::new();
    let mut wait_for = |text: &str| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !seen.contains(text) {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(chunk) => seen.push_str(&chunk),
                Err(_) => panic!("never saw {text:?} in: {seen:?}"),
            }
        }
    };
    // The prompt is printed just before echo is turned off: answer once the terminal really stops echoing, as a
    // person typing would (anything sooner is the terminal's echo, not vivr's).
    let url = db.url.clone();
    let echo_off = move || {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(tty) = terminal_of(&url)
                && let Ok(out) = Command::new("stty").args(["-F", &tty, "-a"]).output()
                && String::from_utf8_lossy(&out.stdout).contains(" -echo ")
            {
                return;
            }
            assert!(Instant::now() < deadline, "echo was never turned off");
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    wait_for("Password for the new administrator:");
    echo_off();
    stdin.write_all(b"Cle-Tres-Secrete-42\n").unwrap();
    wait_for("Same password again:");
    echo_off();
    stdin.write_all(b"Cle-Tres-Secrete-42\n").unwrap();
    wait_for("administrator chef@vivr.fr created");
    drop(stdin);
    let _ = child.wait();
    assert!(
        !seen.contains("Cle-Tres-Secrete"),
        "the password was echoed: {seen:?}"
    );
}

/// The terminal (`/dev/pts/N`) of the `vivr admin create` process working on `database_url`.
fn terminal_of(database_url: &str) -> Option<String> {
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline);
            let is_vivr = cmdline.contains("admin\0create") && cmdline.contains(database_url);
            let tty = std::fs::read_link(entry.path().join("fd/0")).ok()?;
            let tty = tty.to_string_lossy().into_owned();
            (is_vivr && tty.starts_with("/dev/pts/")).then_some(tty)
        })
}

/// The restore drill of runbooks/backups.md, run for real: a shop with a customer is backed up (verified), the
/// backup is restored into a **new** database, `vivr migrate status` finds it at the head, and `vivr serve` on the
/// restored database serves the catalogue and lets the customer sign in with the password they chose.
#[tokio::test]
async fn a_backup_restored_into_a_new_database_serves_the_shop_and_its_customers() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let vivr = Vivr::serve(&["--database-url", &db.url, "--migrate", "--seed-demo"]);
    let mut visitor = Visitor {
        addr: vivr.addr,
        jar: CookieJar::default(),
    };
    let r = visitor.register("lea@exemple.fr", "Restaure-M0i!", "Léa");
    assert_eq!(r.status, 200, "{}", r.text());
    db.activate("lea@exemple.fr").await;
    drop(vivr);

    let store = tempfile::tempdir().unwrap();
    let store = store.path().to_str().unwrap().to_string();
    let run = |args: &[&str]| {
        let (status, stdout, stderr) = vivr_output(args, None);
        assert!(status.success(), "{args:?}: {stdout}{stderr}");
        stdout
    };
    run(&[
        "backup",
        "create",
        "--database-url",
        &db.url,
        "--store",
        &store,
        "--verify",
        "2",
    ]);
    let listed: serde_json::Value = serde_json::from_str(&run(&[
        "backup", "list", "--store", &store, "--format", "json",
    ]))
    .unwrap();
    let id = listed["backups"][0]["id"].as_str().unwrap().to_string();

    // Step 3 and 4 of the runbook: a new database, the backup restored into it (checksum first, one
    // transaction), then checked.
    let Some(restored) = TestDb::postgres().await else {
        return;
    };
    run(&[
        "backup",
        "restore",
        &id,
        "--to",
        &restored.url,
        "--store",
        &store,
    ]);
    let (status, stdout, stderr) = vivr_output(
        &["migrate", "status", "--database-url", &restored.url],
        None,
    );
    assert_eq!(status.code(), Some(0), "{stdout}{stderr}");

    // The shop on the restored database: no --migrate needed, the catalogue and the customer are there.
    let vivr = Vivr::serve(&["--database-url", &restored.url]);
    assert_eq!(vivr.get("/api/health").status, 200);
    assert_eq!(
        vivr.get("/api/v1/products").json()["pagination"]["total"],
        20
    );
    let page = vivr.get("/produits/lampe-table-nordique");
    assert_eq!(page.status, 200);
    assert!(page.text().contains("89,99\u{202f}€"));
    let mut visitor = Visitor {
        addr: vivr.addr,
        jar: CookieJar::default(),
    };
    let r = visitor.sign_in("lea@exemple.fr", "Restaure-M0i!");
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some("/compte")),
        "{}",
        r.text()
    );
    assert!(visitor.get("/compte").text().contains("Léa"));
}

/// Rotating the session secret with an overlap (runbooks/secrets.md): an unsubscribe link emailed under the old
/// secret still opens its confirmation page while `VIVR_SESSION_SECRET_PREVIOUS` holds the old secret, and is
/// refused once it is gone.
#[test]
fn an_unsubscribe_link_signed_before_a_rotation_works_while_the_previous_secret_is_set() {
    use secrecy::SecretString;
    use vivr_shop::auth::SigningKey;
    use vivr_shop::services::newsletter::unsubscribe_url;
    let old = "Ancien-secret-de-session-4f9c2a7e1b3d5f8a";
    let new = "Nouveau-secret-de-session-9b1e7c3a5d2f4e6b";
    let link = unsubscribe_url(
        &SigningKey::new(SecretString::from(old)),
        "http://shop.test",
        "lea@exemple.fr",
    );
    let path = link.trim_start_matches("http://shop.test");
    let db = TestDb::sqlite();
    let serve = |env: &[(&str, &str)]| {
        let vivr = Vivr::serve_env(&["--database-url", &db.url], env);
        let page = vivr.get(path);
        (page.status, page.text())
    };
    let (status, text) = serve(&[
        ("VIVR_SESSION_SECRET", new),
        ("VIVR_SESSION_SECRET_PREVIOUS", old),
    ]);
    assert_eq!(status, 200, "{text}");
    assert!(
        text.contains("Vous ne recevrez plus la newsletter"),
        "{text}"
    );
    let (status, text) = serve(&[("VIVR_SESSION_SECRET", new)]);
    assert_eq!(status, 400, "{text}");
    assert!(
        text.contains("lien de désinscription n&#39;est pas valide"),
        "{text}"
    );
}
