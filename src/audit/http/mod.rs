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

mod cookies;
mod csp;
mod headers;
mod sri;

use cookies::*;
use csp::*;
use headers::*;
use sri::*;

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

pub mod fetch;

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
