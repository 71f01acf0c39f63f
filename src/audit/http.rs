//! `vivr audit --http URL`: a running site's headers and cookies graded the way MDN's HTTP Observatory grades
//! them — the same test names, result names and score modifiers (MDN's 2026 table, algorithm with COOP, COEP
//! and CORP), the same curve (start at 100, bonuses count only when the penalties leave at least 90) and the
//! same grade chart — plus the cache headers of the page, its static assets and the API.
//!
//! Differences, said where they show: the HSTS preload list is not carried (`hsts-preloaded` is never awarded),
//! CSP in `<meta http-equiv>` is not read, and for an `http://` URL (an origin behind a TLS-terminating load
//! balancer, which adds `X-Forwarded-Proto: https`) the redirection test is not evaluated: the redirect to HTTPS
//! is the terminator's.

use std::collections::BTreeMap;
use std::sync::LazyLock;
use std::time::Duration;

use anyhow::Context as _;
use regex::Regex;
use serde::{Deserialize, Serialize};

/// What the Observatory's numbers mean here.
pub const ALGORITHM: &str = "mdn-http-observatory (2026 modifiers: CSP, cookies, CORS, redirection, referrer, HSTS, SRI, XCTO, XFO, CORP, COOP, COEP)";

/// Bonuses count only when the penalties leave at least this.
const MINIMUM_SCORE_FOR_EXTRA_CREDIT: i32 = 90;

/// One HTTP response as the tests read it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exchange {
    #[serde(default)]
    pub url: String,
    #[serde(default = "ok")]
    pub status: u16,
    /// Header name (any case) → value(s).
    #[serde(default)]
    pub headers: BTreeMap<String, HeaderValues>,
    #[serde(default)]
    pub body: String,
}

fn ok() -> u16 {
    200
}

/// One value or several (Set-Cookie).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum HeaderValues {
    One(String),
    Many(Vec<String>),
}

impl Exchange {
    /// Every value of a header, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| match v {
                HeaderValues::One(s) => vec![s.as_str()],
                HeaderValues::Many(list) => list.iter().map(String::as_str).collect(),
            })
            .collect()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.all(name).into_iter().next()
    }

    fn is_html(&self) -> bool {
        self.header("content-type")
            .map(|t| {
                t.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .is_some_and(|t| t == "text/html" || t == "application/xhtml+xml")
    }
}

/// The redirect chain from the site's `http://` address.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum HttpEntry {
    /// Nothing answers on http://.
    NoHttp,
    /// The URLs visited, starting with the http:// one.
    Chain { urls: Vec<String> },
    /// Not evaluated, and why.
    NotEvaluated { why: String },
}

/// What the probe fetched.
#[derive(Debug, Clone, Serialize)]
pub struct Observed {
    /// The URL asked for.
    pub url: String,
    /// Read as HTTPS (an https:// URL, or an origin behind a TLS terminator).
    pub https: bool,
    pub main: Exchange,
    pub http_entry: HttpEntry,
    /// The answer to a request from a foreign `Origin`.
    pub cors: Option<Exchange>,
    /// `/crossdomain.xml` and `/clientaccesspolicy.xml`, when they answered 200.
    pub policy_files: Vec<String>,
    /// Cache headers of other resources: (what, URL, Cache-Control or None, status).
    pub caching: Vec<CacheProbe>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CacheProbe {
    pub what: String,
    pub url: String,
    pub status: u16,
    pub cache_control: Option<String>,
}

/// One Observatory test's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestResult {
    pub test: String,
    pub result: String,
    pub modifier: i32,
    /// The test's own pass (its result is one of the acceptable ones).
    pub pass: bool,
    /// What the result rests on (a header value, a cookie name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

/// The Observatory-equivalent grading of a site.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Observatory {
    pub url: String,
    pub score: i32,
    pub grade: String,
    /// Tests not evaluated here (and why); their modifiers are left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_evaluated: Vec<String>,
    pub tests: Vec<TestResult>,
    pub algorithm: String,
    /// Cache headers seen: (what, URL, Cache-Control).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caching: Vec<CacheVerdict>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CacheVerdict {
    pub what: String,
    pub url: String,
    pub cache_control: Option<String>,
    pub ok: bool,
    pub why: String,
}

impl Observatory {
    pub fn test(&self, name: &str) -> Option<&TestResult> {
        self.tests.iter().find(|t| t.test == name)
    }

    /// The tests that hold the score below 100 or the grade below A+, worst first.
    pub fn withholding(&self) -> Vec<&TestResult> {
        let mut negative: Vec<&TestResult> = self.tests.iter().filter(|t| t.modifier < 0).collect();
        negative.sort_by_key(|t| t.modifier);
        negative
    }
}

/// Every test name, in report order.
pub const TESTS: &[&str] = &[
    "content-security-policy",
    "cookies",
    "cross-origin-resource-sharing",
    "redirection",
    "referrer-policy",
    "strict-transport-security",
    "subresource-integrity",
    "x-content-type-options",
    "x-frame-options",
    "cross-origin-resource-policy",
    "cross-origin-opener-policy",
    "cross-origin-embedder-policy",
];

/// The grade of a score: MDN's chart, by steps of 5, capped at 100.
pub fn grade_of(score: i32) -> &'static str {
    let bucket = (score - score.rem_euclid(5)).min(100);
    match bucket {
        100.. => "A+",
        90..=99 => "A",
        85..=89 => "A-",
        80..=84 => "B+",
        70..=79 => "B",
        65..=69 => "B-",
        60..=64 => "C+",
        50..=59 => "C",
        45..=49 => "C-",
        40..=44 => "D+",
        30..=39 => "D",
        25..=29 => "D-",
        _ => "F",
    }
}

/// The score of some modifiers: 100 plus the penalties, plus the bonuses when the penalties leave ≥ 90.
pub fn score_of(modifiers: impl IntoIterator<Item = i32>) -> i32 {
    let mut uncurved = 100;
    let mut with_extra = 100;
    for m in modifiers {
        with_extra += m;
        if m < 0 {
            uncurved += m;
        }
    }
    let score = if uncurved >= MINIMUM_SCORE_FOR_EXTRA_CREDIT {
        with_extra
    } else {
        uncurved
    };
    score.max(0)
}

fn result(test: &str, result: &str, modifier: i32, pass: bool, data: Option<String>) -> TestResult {
    TestResult {
        test: test.into(),
        result: result.into(),
        modifier,
        pass,
        data,
    }
}

/// Grades what was observed.
pub fn grade(observed: &Observed) -> Observatory {
    let main = &observed.main;
    let csp = Csp::parse(&main.all("content-security-policy"));
    let hsts = hsts_test(main, observed.https);
    let hsts_ok = hsts.modifier >= 0 && hsts.result != "hsts-not-implemented";
    let mut tests = vec![
        csp_test(main, &csp),
        cookies_test(main, observed.https, hsts_ok),
        cors_test(observed),
    ];
    let mut not_evaluated = Vec::new();
    match redirection_test(observed) {
        Ok(r) => tests.push(r),
        Err(why) => not_evaluated.push(format!("redirection: {why}")),
    }
    tests.push(referrer_test(main));
    tests.push(hsts);
    tests.push(sri_test(observed));
    tests.push(xcto_test(main));
    tests.push(xfo_test(main, &csp));
    tests.push(corp_test(main));
    tests.push(coop_test(main));
    tests.push(coep_test(main));
    let score = score_of(tests.iter().map(|t| t.modifier));
    Observatory {
        url: observed.url.clone(),
        score,
        grade: grade_of(score).to_string(),
        not_evaluated,
        tests,
        algorithm: ALGORITHM.to_string(),
        caching: observed.caching.iter().map(cache_verdict).collect(),
    }
}

/// A parsed Content-Security-Policy (the first of each directive wins, as in browsers).
#[derive(Debug, Default)]
struct Csp {
    present: bool,
    invalid: bool,
    duplicates: bool,
    directives: BTreeMap<String, Vec<String>>,
}

static DIRECTIVE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9-]+$").unwrap_or_else(|_| unreachable!()));

impl Csp {
    fn parse(headers: &[&str]) -> Csp {
        let mut csp = Csp {
            present: !headers.is_empty(),
            ..Csp::default()
        };
        // Several CSP headers each restrict; the first names the policy as MDN reads it.
        let Some(text) = headers.first() else {
            return csp;
        };
        for part in text.split(';') {
            let mut words = part.split_ascii_whitespace();
            let Some(name) = words.next() else {
                continue;
            };
            let name = name.to_ascii_lowercase();
            if !DIRECTIVE.is_match(&name) {
                csp.invalid = true;
                continue;
            }
            let sources: Vec<String> = words.map(|w| w.to_ascii_lowercase()).collect();
            if csp.directives.contains_key(&name) {
                csp.duplicates = true;
                continue;
            }
            csp.directives.insert(name, sources);
        }
        if csp.directives.is_empty() {
            csp.invalid = true;
        }
        csp
    }

    /// A directive, falling back to default-src (for fetch directives).
    fn effective(&self, name: &str) -> Option<&Vec<String>> {
        self.directives
            .get(name)
            .or_else(|| self.directives.get("default-src"))
    }
}

/// Sources that allow anything over a scheme, or everything.
fn broad(source: &str) -> bool {
    matches!(
        source,
        "*" | "http:" | "https:" | "data:" | "blob:" | "ws:" | "wss:"
    )
}

fn insecure(source: &str) -> bool {
    source == "http:"
        || source.starts_with("http://")
        || source == "ws:"
        || source.starts_with("ws://")
}

fn csp_test(main: &Exchange, csp: &Csp) -> TestResult {
    const T: &str = "content-security-policy";
    if !csp.present {
        return if main.header("content-security-policy-report-only").is_some() {
            result(
                T,
                "csp-not-implemented-but-reporting-enabled",
                -25,
                false,
                None,
            )
        } else {
            result(T, "csp-not-implemented", -25, false, None)
        };
    }
    let data = main.header("content-security-policy").map(str::to_string);
    if csp.invalid {
        return result(T, "csp-header-invalid", -25, false, data);
    }
    let none = Vec::new();
    let script = csp.effective("script-src").unwrap_or(&none);
    let object = csp.effective("object-src").unwrap_or(&none);
    let style = csp.effective("style-src").unwrap_or(&none);
    let strict_dynamic = script.iter().any(|s| s == "'strict-dynamic'");
    let nonce_or_hash = script.iter().any(|s| {
        s.starts_with("'nonce-")
            || s.starts_with("'sha256-")
            || s.starts_with("'sha384-")
            || s.starts_with("'sha512-")
    });
    let unsafe_inline = (script.iter().any(|s| s == "'unsafe-inline'") && !nonce_or_hash)
        || script.iter().any(|s| s == "data:")
        || (!strict_dynamic && script.iter().any(|s| broad(s)))
        || csp.effective("script-src").is_none();
    let unsafe_objects = csp.effective("object-src").is_none()
        || object.iter().any(|s| broad(s) && s != "data:")
        || object.iter().any(|s| s == "data:");
    let unsafe_eval = script.iter().any(|s| s == "'unsafe-eval'");
    let active = [
        "script-src",
        "object-src",
        "style-src",
        "connect-src",
        "frame-src",
        "child-src",
        "worker-src",
        "font-src",
    ];
    let passive = ["img-src", "media-src"];
    let uses_insecure = |names: &[&str]| {
        names
            .iter()
            .filter_map(|n| csp.effective(n))
            .any(|sources| sources.iter().any(|s| insecure(s)))
    };
    let insecure_active = uses_insecure(&active);
    let insecure_passive = uses_insecure(&passive);
    let unsafe_style = style.iter().any(|s| s == "'unsafe-inline'" || broad(s));
    let default_none = csp
        .directives
        .get("default-src")
        .is_some_and(|d| d.as_slice() == ["'none'"]);
    let form_action_restricted = csp
        .directives
        .get("form-action")
        .is_some_and(|d| !d.iter().any(|s| broad(s)));
    if unsafe_inline || unsafe_objects {
        result(T, "csp-implemented-with-unsafe-inline", -20, false, data)
    } else if insecure_active {
        result(T, "csp-implemented-with-insecure-scheme", -20, false, data)
    } else if unsafe_eval {
        result(T, "csp-implemented-with-unsafe-eval", -10, false, data)
    } else if insecure_passive {
        result(
            T,
            "csp-implemented-with-insecure-scheme-in-passive-content-only",
            -10,
            false,
            data,
        )
    } else if unsafe_style {
        result(
            T,
            "csp-implemented-with-unsafe-inline-in-style-src-only",
            0,
            true,
            data,
        )
    } else if csp.duplicates {
        result(T, "csp-implemented-but-duplicate-directives", 0, true, data)
    } else if default_none && form_action_restricted {
        result(
            T,
            "csp-implemented-with-no-unsafe-default-src-none",
            10,
            true,
            data,
        )
    } else {
        result(T, "csp-implemented-with-no-unsafe", 5, true, data)
    }
}

/// A Set-Cookie header, as far as the tests need.
struct Cookie {
    name: String,
    secure: bool,
    http_only: bool,
    same_site: Option<String>,
}

fn parse_cookie(header: &str) -> Option<Cookie> {
    let mut parts = header.split(';');
    let (name, _) = parts.next()?.split_once('=')?;
    let mut cookie = Cookie {
        name: name.trim().to_string(),
        secure: false,
        http_only: false,
        same_site: None,
    };
    for attribute in parts {
        let (key, value) = attribute.split_once('=').unwrap_or((attribute, ""));
        match key.trim().to_ascii_lowercase().as_str() {
            "secure" => cookie.secure = true,
            "httponly" => cookie.http_only = true,
            "samesite" => cookie.same_site = Some(value.trim().to_ascii_lowercase()),
            _ => {}
        }
    }
    Some(cookie)
}

fn cookies_test(main: &Exchange, https: bool, hsts: bool) -> TestResult {
    const T: &str = "cookies";
    let cookies: Vec<Cookie> = main
        .all("set-cookie")
        .into_iter()
        .filter_map(parse_cookie)
        .collect();
    if cookies.is_empty() {
        return result(T, "cookies-not-found", 0, true, None);
    }
    let names = Some(
        cookies
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    );
    let is_session = |c: &Cookie| {
        let lower = c.name.to_ascii_lowercase();
        lower.contains("sess")
            || lower.contains("login")
            || lower.contains("auth")
            || lower == "sid"
    };
    let is_anticsrf = |c: &Cookie| {
        let lower = c.name.to_ascii_lowercase();
        lower.contains("csrf") || lower.contains("xsrf")
    };
    let secure = |c: &Cookie| c.secure && https;
    // Worst first, as MDN orders them.
    if let Some(c) = cookies.iter().find(|c| is_session(c) && !secure(c)) {
        return if hsts {
            result(
                T,
                "cookies-session-without-secure-flag-but-protected-by-hsts",
                -10,
                false,
                Some(c.name.clone()),
            )
        } else {
            result(
                T,
                "cookies-session-without-secure-flag",
                -40,
                false,
                Some(c.name.clone()),
            )
        };
    }
    if let Some(c) = cookies.iter().find(|c| is_session(c) && !c.http_only) {
        return result(
            T,
            "cookies-session-without-httponly-flag",
            -30,
            false,
            Some(c.name.clone()),
        );
    }
    if let Some(c) = cookies.iter().find(|c| {
        c.same_site
            .as_deref()
            .is_some_and(|s| !matches!(s, "strict" | "lax" | "none"))
    }) {
        return result(
            T,
            "cookies-samesite-flag-invalid",
            -20,
            false,
            Some(c.name.clone()),
        );
    }
    if let Some(c) = cookies
        .iter()
        .find(|c| is_anticsrf(c) && c.same_site.is_none())
    {
        return result(
            T,
            "cookies-anticsrf-without-samesite-flag",
            -20,
            false,
            Some(c.name.clone()),
        );
    }
    if let Some(c) = cookies.iter().find(|c| !secure(c)) {
        return if hsts {
            result(
                T,
                "cookies-without-secure-flag-but-protected-by-hsts",
                -5,
                false,
                Some(c.name.clone()),
            )
        } else {
            result(
                T,
                "cookies-without-secure-flag",
                -20,
                false,
                Some(c.name.clone()),
            )
        };
    }
    if cookies.iter().all(|c| {
        c.same_site
            .as_deref()
            .is_some_and(|s| s == "strict" || s == "lax")
    }) {
        result(
            T,
            "cookies-secure-with-httponly-sessions-and-samesite",
            5,
            true,
            names,
        )
    } else {
        result(T, "cookies-secure-with-httponly-sessions", 0, true, names)
    }
}

/// The Origin the CORS test sends (MDN's scanner's).
pub const FOREIGN_ORIGIN: &str = "https://http-observatory.security.mozilla.org";

fn cors_test(observed: &Observed) -> TestResult {
    const T: &str = "cross-origin-resource-sharing";
    for file in &observed.policy_files {
        let lower = file.to_ascii_lowercase();
        if lower.contains("domain=\"*\"") || lower.contains("uri=\"*\"") {
            return result(
                T,
                "cross-origin-resource-sharing-implemented-with-universal-access",
                -50,
                false,
                Some("a policy file allows *".into()),
            );
        }
    }
    let response = observed.cors.as_ref().unwrap_or(&observed.main);
    let Some(origin) = response.header("access-control-allow-origin") else {
        return result(
            T,
            "cross-origin-resource-sharing-not-implemented",
            0,
            true,
            None,
        );
    };
    let credentials = response
        .header("access-control-allow-credentials")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    let origin = origin.trim();
    if origin == "*" {
        result(
            T,
            "cross-origin-resource-sharing-implemented-with-public-access",
            0,
            true,
            Some(origin.into()),
        )
    } else if origin.eq_ignore_ascii_case(FOREIGN_ORIGIN) && credentials {
        result(
            T,
            "cross-origin-resource-sharing-implemented-with-universal-access",
            -50,
            false,
            Some(origin.into()),
        )
    } else {
        result(
            T,
            "cross-origin-resource-sharing-implemented-with-restricted-access",
            0,
            true,
            Some(origin.into()),
        )
    }
}

fn host_of(url: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
}

fn redirection_test(observed: &Observed) -> Result<TestResult, String> {
    const T: &str = "redirection";
    let urls = match &observed.http_entry {
        HttpEntry::NotEvaluated { why } => return Err(why.clone()),
        HttpEntry::NoHttp => return Ok(result(T, "redirection-not-needed-no-http", 0, true, None)),
        HttpEntry::Chain { urls } => urls,
    };
    let data = Some(urls.join(" → "));
    let [first, rest @ ..] = urls.as_slice() else {
        return Ok(result(T, "redirection-missing", -20, false, data));
    };
    let Some(last) = rest.last() else {
        return Ok(result(T, "redirection-missing", -20, false, data));
    };
    if !last.starts_with("https://") {
        return Ok(result(T, "redirection-not-to-https", -20, false, data));
    }
    let Some(second) = rest.first() else {
        return Ok(result(T, "redirection-missing", -20, false, data));
    };
    if !second.starts_with("https://") {
        return Ok(result(
            T,
            "redirection-not-to-https-on-initial-redirection",
            -10,
            false,
            data,
        ));
    }
    if host_of(first) != host_of(second) {
        return Ok(result(T, "redirection-off-host-from-http", -5, false, data));
    }
    Ok(result(T, "redirection-to-https", 0, true, data))
}

fn referrer_test(main: &Exchange) -> TestResult {
    const T: &str = "referrer-policy";
    let Some(value) = main.header("referrer-policy") else {
        return result(T, "referrer-policy-not-implemented", 0, true, None);
    };
    // The last recognised token wins, as in browsers.
    let known = [
        "no-referrer",
        "same-origin",
        "strict-origin",
        "strict-origin-when-cross-origin",
        "origin",
        "origin-when-cross-origin",
        "unsafe-url",
        "no-referrer-when-downgrade",
    ];
    let policy = value
        .split(',')
        .map(|p| p.trim().to_ascii_lowercase())
        .rfind(|p| known.contains(&p.as_str()));
    let data = Some(value.to_string());
    match policy.as_deref() {
        Some(
            "no-referrer" | "same-origin" | "strict-origin" | "strict-origin-when-cross-origin",
        ) => result(T, "referrer-policy-private", 5, true, data),
        Some(_) => result(T, "referrer-policy-unsafe", -5, false, data),
        None => result(T, "referrer-policy-header-invalid", -5, false, data),
    }
}

/// Six months, in seconds (MDN's threshold).
const SIX_MONTHS: u64 = 15_768_000;

fn hsts_test(main: &Exchange, https: bool) -> TestResult {
    const T: &str = "strict-transport-security";
    if !https {
        return result(T, "hsts-not-implemented-no-https", -20, false, None);
    }
    let Some(value) = main.header("strict-transport-security") else {
        return result(T, "hsts-not-implemented", -20, false, None);
    };
    let data = Some(value.to_string());
    let max_age = value.split(';').find_map(|d| {
        let (k, v) = d.split_once('=')?;
        (k.trim().eq_ignore_ascii_case("max-age"))
            .then(|| v.trim().trim_matches('"').parse::<u64>().ok())
            .flatten()
    });
    match max_age {
        None => result(T, "hsts-header-invalid", -20, false, data),
        Some(age) if age >= SIX_MONTHS => result(
            T,
            "hsts-implemented-max-age-at-least-six-months",
            0,
            true,
            data,
        ),
        Some(_) => result(
            T,
            "hsts-implemented-max-age-less-than-six-months",
            -10,
            false,
            data,
        ),
    }
}

static SCRIPT_TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?is)<script\b([^>]*)>").unwrap_or_else(|_| unreachable!()));
static ATTRIBUTE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?is)([a-z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))"#)
        .unwrap_or_else(|_| unreachable!())
});

fn attributes(tag: &str) -> BTreeMap<String, String> {
    ATTRIBUTE
        .captures_iter(tag)
        .filter_map(|c| {
            let name = c.get(1)?.as_str().to_ascii_lowercase();
            let value = c
                .get(2)
                .or_else(|| c.get(3))
                .or_else(|| c.get(4))?
                .as_str()
                .to_string();
            Some((name, value))
        })
        .collect()
}

fn sri_test(observed: &Observed) -> TestResult {
    const T: &str = "subresource-integrity";
    let main = &observed.main;
    if !main.is_html() {
        return result(T, "sri-not-implemented-response-not-html", 0, true, None);
    }
    let base = url::Url::parse(if main.url.is_empty() {
        &observed.url
    } else {
        &main.url
    })
    .ok();
    let mut scripts = 0;
    let mut external_secure = 0;
    let mut external_insecure = 0;
    let mut with_integrity = 0;
    let mut external_with_integrity = 0;
    for tag in SCRIPT_TAG.captures_iter(&main.body) {
        let attrs = attributes(tag.get(1).map_or("", |m| m.as_str()));
        let Some(src) = attrs.get("src") else {
            continue;
        };
        scripts += 1;
        let integrity = attrs.contains_key("integrity");
        if integrity {
            with_integrity += 1;
        }
        let resolved = base.as_ref().and_then(|b| b.join(src).ok());
        let same_origin = match (&resolved, &base) {
            (Some(r), Some(b)) => r.origin() == b.origin(),
            _ => true,
        };
        if same_origin {
            continue;
        }
        let secure =
            resolved.as_ref().is_some_and(|r| r.scheme() == "https") && !src.starts_with("//");
        if secure {
            external_secure += 1;
        } else {
            external_insecure += 1;
        }
        if integrity {
            external_with_integrity += 1;
        }
    }
    let external = external_secure + external_insecure;
    let data = Some(format!(
        "{scripts} script(s), {external} from another origin, {with_integrity} with integrity"
    ));
    if scripts == 0 {
        return result(
            T,
            "sri-not-implemented-but-no-scripts-loaded",
            0,
            true,
            data,
        );
    }
    if with_integrity > 0 {
        if external_insecure > 0 {
            return result(
                T,
                "sri-implemented-but-external-scripts-not-loaded-securely",
                -20,
                false,
                data,
            );
        }
        if external == 0 || external_with_integrity == external {
            return if external == 0 {
                result(
                    T,
                    "sri-implemented-and-all-scripts-loaded-securely",
                    5,
                    true,
                    data,
                )
            } else {
                result(
                    T,
                    "sri-implemented-and-external-scripts-loaded-securely",
                    5,
                    true,
                    data,
                )
            };
        }
    }
    if external_insecure > 0 {
        return result(
            T,
            "sri-not-implemented-and-external-scripts-not-loaded-securely",
            -50,
            false,
            data,
        );
    }
    if external > 0 {
        return result(
            T,
            "sri-not-implemented-but-external-scripts-loaded-securely",
            -5,
            false,
            data,
        );
    }
    result(
        T,
        "sri-not-implemented-but-all-scripts-loaded-from-secure-origin",
        0,
        true,
        data,
    )
}

fn xcto_test(main: &Exchange) -> TestResult {
    const T: &str = "x-content-type-options";
    match main.header("x-content-type-options") {
        None => result(T, "x-content-type-options-not-implemented", -5, false, None),
        Some(v) if v.trim().eq_ignore_ascii_case("nosniff") => {
            result(T, "x-content-type-options-nosniff", 0, true, Some(v.into()))
        }
        Some(v) => result(
            T,
            "x-content-type-options-header-invalid",
            -5,
            false,
            Some(v.into()),
        ),
    }
}

fn xfo_test(main: &Exchange, csp: &Csp) -> TestResult {
    const T: &str = "x-frame-options";
    if let Some(ancestors) = csp.directives.get("frame-ancestors")
        && !csp.invalid
        && !ancestors.iter().any(|s| s == "*")
    {
        return result(
            T,
            "x-frame-options-implemented-via-csp",
            5,
            true,
            Some(format!("frame-ancestors {}", ancestors.join(" "))),
        );
    }
    match main
        .header("x-frame-options")
        .map(|v| v.trim().to_ascii_lowercase())
    {
        None => result(T, "x-frame-options-not-implemented", -20, false, None),
        Some(v) if v == "deny" || v == "sameorigin" => {
            result(T, "x-frame-options-sameorigin-or-deny", 5, true, Some(v))
        }
        Some(v) if v.starts_with("allow-from") => {
            result(T, "x-frame-options-allow-from-origin", 0, true, Some(v))
        }
        Some(v) => result(T, "x-frame-options-header-invalid", -20, false, Some(v)),
    }
}

/// A header that is one token from `good` (+10), `neutral` (0), or anything else (−5); several headers are
/// invalid.
fn token_test(
    main: &Exchange,
    header: &str,
    test: &str,
    prefix: &str,
    good: &[&str],
    neutral: &[&str],
) -> TestResult {
    let values = main.all(header);
    let [value] = values.as_slice() else {
        return if values.is_empty() {
            result(test, &format!("{prefix}-not-implemented"), 0, true, None)
        } else {
            result(
                test,
                &format!("{prefix}-header-invalid"),
                -5,
                false,
                Some(values.join(", ")),
            )
        };
    };
    let token = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .trim_matches('"')
        .to_ascii_lowercase();
    let data = Some(value.to_string());
    if good.contains(&token.as_str()) {
        result(
            test,
            &format!("{prefix}-implemented-with-{token}"),
            10,
            true,
            data,
        )
    } else if neutral.contains(&token.as_str()) {
        result(
            test,
            &format!("{prefix}-implemented-with-{token}"),
            0,
            true,
            data,
        )
    } else {
        result(test, &format!("{prefix}-header-invalid"), -5, false, data)
    }
}

fn corp_test(main: &Exchange) -> TestResult {
    token_test(
        main,
        "cross-origin-resource-policy",
        "cross-origin-resource-policy",
        "corp",
        &["same-origin", "same-site"],
        &["cross-origin"],
    )
}

fn coop_test(main: &Exchange) -> TestResult {
    token_test(
        main,
        "cross-origin-opener-policy",
        "cross-origin-opener-policy",
        "coop",
        &[
            "same-origin",
            "same-origin-allow-popups",
            "noopener-allow-popups",
        ],
        &["unsafe-none"],
    )
}

fn coep_test(main: &Exchange) -> TestResult {
    token_test(
        main,
        "cross-origin-embedder-policy",
        "cross-origin-embedder-policy",
        "coep",
        &["require-corp", "credentialless"],
        &["unsafe-none"],
    )
}

/// Long-lived static assets, explicit caching on pages and the API.
fn cache_verdict(probe: &CacheProbe) -> CacheVerdict {
    let cc = probe.cache_control.clone();
    let lower = cc.as_deref().unwrap_or("").to_ascii_lowercase();
    let max_age = lower.split(',').find_map(|d| {
        d.trim()
            .strip_prefix("max-age=")
            .and_then(|v| v.trim().parse::<u64>().ok())
    });
    let (ok, why) = if probe.status >= 400 {
        (false, format!("answered {}", probe.status))
    } else if probe.what == "static asset" {
        match max_age {
            Some(age) if age >= 86_400 => (true, format!("cached for {age} s")),
            Some(age) => (
                false,
                format!("cached for only {age} s (a fingerprinted asset can be kept a year)"),
            ),
            None => (
                false,
                "no max-age: browsers and CDNs revalidate it every time".into(),
            ),
        }
    } else if cc.is_none() {
        (
            false,
            "no Cache-Control: a CDN or proxy may cache it by heuristics".into(),
        )
    } else if probe.what == "API"
        && lower.contains("public")
        && !lower.contains("no-store")
        && max_age.unwrap_or(0) > 300
    {
        (
            false,
            "an API answer publicly cacheable for more than 5 minutes".into(),
        )
    } else {
        (true, "explicit".into())
    };
    CacheVerdict {
        what: probe.what.clone(),
        url: probe.url.clone(),
        cache_control: cc,
        ok,
        why,
    }
}

/// Fetching.
pub mod fetch {
    use super::*;
    use http_body_util::{BodyExt, Empty};
    use hyper::body::Bytes;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;

    type HttpsClient = Client<
        hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
        Empty<Bytes>,
    >;

    /// How long one request may take.
    const TIMEOUT: Duration = Duration::from_secs(15);
    /// The most body read from one answer.
    const MAX_BODY: usize = 4 * 1024 * 1024;
    const MAX_REDIRECTS: usize = 10;

    /// The probe could not fetch the site.
    #[derive(Debug, thiserror::Error)]
    #[error("--http {url}: {message}")]
    pub struct Unreachable {
        pub url: String,
        pub message: String,
    }

    fn client() -> anyhow::Result<HttpsClient> {
        let roots = crate::tls::local_roots();
        let tls = vivr_shop::tls::client_config(&roots).context("building the TLS client")?;
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Client::builder(TokioExecutor::new()).build(https))
    }

    async fn get(
        client: &HttpsClient,
        url: &str,
        headers: &[(&str, &str)],
    ) -> anyhow::Result<Exchange> {
        let mut request = hyper::Request::get(url).header(
            hyper::header::USER_AGENT,
            concat!("vivr-audit/", env!("CARGO_PKG_VERSION")),
        );
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Empty::<Bytes>::new())
            .context("building the request")?;
        let response = tokio::time::timeout(TIMEOUT, client.request(request))
            .await
            .map_err(|_| anyhow::anyhow!("no answer within {} s", TIMEOUT.as_secs()))?
            .map_err(|e| anyhow::anyhow!("{}", chain(&e)))?;
        let status = response.status().as_u16();
        let mut map: BTreeMap<String, HeaderValues> = BTreeMap::new();
        for (name, value) in response.headers() {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            match map.entry(name.as_str().to_string()) {
                std::collections::btree_map::Entry::Vacant(v) => {
                    v.insert(HeaderValues::One(value));
                }
                std::collections::btree_map::Entry::Occupied(mut o) => {
                    let list = match o.get_mut() {
                        HeaderValues::One(first) => vec![std::mem::take(first), value],
                        HeaderValues::Many(list) => {
                            list.push(value);
                            std::mem::take(list)
                        }
                    };
                    o.insert(HeaderValues::Many(list));
                }
            }
        }
        let mut body = Vec::new();
        let mut stream = response.into_body();
        while let Some(frame) = tokio::time::timeout(TIMEOUT, stream.frame())
            .await
            .map_err(|_| {
                anyhow::anyhow!("the body did not arrive within {} s", TIMEOUT.as_secs())
            })?
        {
            let frame = frame.context("reading the body")?;
            if let Ok(data) = frame.into_data() {
                body.extend_from_slice(&data);
                if body.len() > MAX_BODY {
                    body.truncate(MAX_BODY);
                    break;
                }
            }
        }
        Ok(Exchange {
            url: url.to_string(),
            status,
            headers: map,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }

    /// An error with its causes: `client error (Connect): tcp connect error: Connection refused`.
    fn chain(err: &dyn std::error::Error) -> String {
        let mut text = err.to_string();
        let mut source = err.source();
        while let Some(cause) = source {
            text += &format!(": {cause}");
            source = cause.source();
        }
        text
    }

    /// Follows redirects from `url`, returning the URLs visited and the last answer.
    async fn follow(
        client: &HttpsClient,
        url: &str,
        headers: &[(&str, &str)],
    ) -> anyhow::Result<(Vec<String>, Exchange)> {
        let mut urls = vec![url.to_string()];
        let mut current = url.to_string();
        for _ in 0..MAX_REDIRECTS {
            let answer = get(client, &current, headers).await?;
            let location = answer.header("location").map(str::to_string);
            match (answer.status, location) {
                (300..=399, Some(location)) => {
                    let next = url::Url::parse(&current)
                        .and_then(|base| base.join(&location))
                        .with_context(|| {
                            format!("{current} redirects to {location:?}, not a URL")
                        })?;
                    current = next.to_string();
                    urls.push(current.clone());
                }
                _ => return Ok((urls, answer)),
            }
        }
        anyhow::bail!("more than {MAX_REDIRECTS} redirects from {url}")
    }

    /// Fetches what the tests read. An `http://` URL is taken as an origin behind a TLS terminator.
    pub async fn observe(url: &str) -> Result<Observed, Unreachable> {
        let unreachable = |message: String| Unreachable {
            url: url.to_string(),
            message,
        };
        let parsed = url::Url::parse(url).map_err(|e| unreachable(format!("not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(unreachable("an http:// or https:// URL".into()));
        }
        let client = client().map_err(|e| unreachable(format!("{e:#}")))?;
        let https = parsed.scheme() == "https";
        let forwarded: &[(&str, &str)] = if https {
            &[]
        } else {
            &[("x-forwarded-proto", "https")]
        };
        let (_, main) = follow(&client, url, forwarded)
            .await
            .map_err(|e| unreachable(format!("{e:#}")))?;
        let http_entry = if https {
            let mut http_url = parsed.clone();
            let _ = http_url.set_scheme("http");
            let _ = http_url.set_port(None);
            match follow(&client, http_url.as_str(), &[]).await {
                Ok((urls, _)) => HttpEntry::Chain { urls },
                Err(_) => HttpEntry::NoHttp,
            }
        } else {
            HttpEntry::NotEvaluated {
                why: "an http:// URL is read as an origin behind a TLS terminator (X-Forwarded-Proto: https): \
                      the redirect to HTTPS is the terminator's; probe the public https:// URL to grade it"
                    .into(),
            }
        };
        let mut with_origin = forwarded.to_vec();
        with_origin.push(("origin", FOREIGN_ORIGIN));
        let cors = get(&client, url, &with_origin).await.ok();
        let mut policy_files = Vec::new();
        for file in ["/crossdomain.xml", "/clientaccesspolicy.xml"] {
            if let Ok(file_url) = parsed.join(file)
                && let Ok(answer) = get(&client, file_url.as_str(), forwarded).await
                && answer.status == 200
                && answer.body.to_ascii_lowercase().contains("<?xml")
            {
                policy_files.push(answer.body);
            }
        }
        let mut caching = vec![CacheProbe {
            what: "page".into(),
            url: main.url.clone(),
            status: main.status,
            cache_control: main.header("cache-control").map(str::to_string),
        }];
        let base = url::Url::parse(&main.url).unwrap_or(parsed.clone());
        if let Some(asset) = first_asset(&main.body, &base)
            && let Ok(answer) = get(&client, asset.as_str(), forwarded).await
        {
            caching.push(CacheProbe {
                what: "static asset".into(),
                url: asset.to_string(),
                status: answer.status,
                cache_control: answer.header("cache-control").map(str::to_string),
            });
        }
        if let Ok(api) = base.join("/api/health")
            && let Ok(answer) = get(&client, api.as_str(), forwarded).await
            && answer.status != 404
        {
            caching.push(CacheProbe {
                what: "API".into(),
                url: api.to_string(),
                status: answer.status,
                cache_control: answer.header("cache-control").map(str::to_string),
            });
        }
        Ok(Observed {
            url: url.to_string(),
            https: true,
            main,
            http_entry,
            cors,
            policy_files,
            caching,
        })
    }

    static ASSET: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"(?is)<(?:link\b[^>]*\brel\s*=\s*["']?stylesheet[^>]*\bhref|script\b[^>]*\bsrc)\s*=\s*["']([^"']+)["']"#)
            .unwrap_or_else(|_| unreachable!())
    });

    /// The first same-origin stylesheet or script of a page.
    fn first_asset(html: &str, base: &url::Url) -> Option<url::Url> {
        ASSET
            .captures_iter(html)
            .filter_map(|c| c.get(1).and_then(|m| base.join(m.as_str()).ok()))
            .find(|u| u.origin() == base.origin())
    }
}

/// A check's fixture for `--http`: the site's answer (status, headers, body), and optionally the redirect chain
/// from its http:// address and the Cache-Control of its static asset and API.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpFixture {
    #[serde(default)]
    pub url: String,
    #[serde(default = "ok")]
    pub status: u16,
    #[serde(default)]
    pub headers: BTreeMap<String, HeaderValues>,
    #[serde(default)]
    pub body: String,
    /// The URLs visited from the http:// address (the first is that address); empty: nothing answers on http.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirects_from_http: Option<Vec<String>>,
    /// Cache-Control of the static asset and the API (`static asset`, `API`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cache: BTreeMap<String, String>,
}

/// The Observatory-equivalent grading of a fixture: read as HTTPS, CORS read from the same response.
pub fn grade_fixture(fixture: &HttpFixture) -> Observatory {
    let url = if fixture.url.is_empty() {
        "https://fixture.invalid/".to_string()
    } else {
        fixture.url.clone()
    };
    let main = Exchange {
        url: url.clone(),
        status: fixture.status,
        headers: fixture.headers.clone(),
        body: fixture.body.clone(),
    };
    let http_entry = match &fixture.redirects_from_http {
        None => HttpEntry::NotEvaluated {
            why: "the fixture gives no redirects_from_http".into(),
        },
        Some(urls) if urls.is_empty() => HttpEntry::NoHttp,
        Some(urls) => HttpEntry::Chain { urls: urls.clone() },
    };
    let mut caching = vec![CacheProbe {
        what: "page".into(),
        url: url.clone(),
        status: main.status,
        cache_control: main.header("cache-control").map(str::to_string),
    }];
    for (what, cc) in &fixture.cache {
        caching.push(CacheProbe {
            what: what.clone(),
            url: url.clone(),
            status: 200,
            cache_control: Some(cc.clone()),
        });
    }
    grade(&Observed {
        url,
        https: true,
        main,
        http_entry,
        cors: None,
        policy_files: Vec::new(),
        caching,
    })
}

#[cfg(test)]
mod tests;
