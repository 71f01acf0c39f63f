//! Subresource integrity of the page's scripts.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use super::*;

pub(super) static SCRIPT_TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?is)<script\b([^>]*)>").unwrap_or_else(|_| unreachable!()));
pub(super) static ATTRIBUTE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?is)([a-z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))"#)
        .unwrap_or_else(|_| unreachable!())
});

pub(super) fn attributes(tag: &str) -> BTreeMap<String, String> {
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

pub(super) fn sri_test(observed: &Observed) -> TestResult {
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
    let count = Scripts::count(&main.body, base.as_ref());
    let data = Some(format!(
        "{} script(s), {} from another origin, {} with integrity",
        count.scripts,
        count.external(),
        count.with_integrity
    ));
    let (key, score, pass) = count.verdict();
    result(T, key, score, pass, data)
}

/// The page's `<script src>` tags, counted the way the verdict needs them.
#[derive(Default)]
struct Scripts {
    scripts: usize,
    external_secure: usize,
    external_insecure: usize,
    with_integrity: usize,
    external_with_integrity: usize,
}

impl Scripts {
    fn count(body: &str, base: Option<&url::Url>) -> Self {
        let mut count = Scripts::default();
        for tag in SCRIPT_TAG.captures_iter(body) {
            let attrs = attributes(tag.get(1).map_or("", |m| m.as_str()));
            let Some(src) = attrs.get("src") else {
                continue;
            };
            count.scripts += 1;
            let integrity = attrs.contains_key("integrity");
            if integrity {
                count.with_integrity += 1;
            }
            let resolved = base.and_then(|b| b.join(src).ok());
            let same_origin = match (&resolved, base) {
                (Some(r), Some(b)) => r.origin() == b.origin(),
                _ => true,
            };
            if same_origin {
                continue;
            }
            let secure =
                resolved.as_ref().is_some_and(|r| r.scheme() == "https") && !src.starts_with("//");
            if secure {
                count.external_secure += 1;
            } else {
                count.external_insecure += 1;
            }
            if integrity {
                count.external_with_integrity += 1;
            }
        }
        count
    }

    fn external(&self) -> usize {
        self.external_secure + self.external_insecure
    }

    /// The observatory's result: its key, score and whether it passes.
    fn verdict(&self) -> (&'static str, i32, bool) {
        let external = self.external();
        if self.scripts == 0 {
            return ("sri-not-implemented-but-no-scripts-loaded", 0, true);
        }
        if self.with_integrity > 0 {
            if self.external_insecure > 0 {
                return (
                    "sri-implemented-but-external-scripts-not-loaded-securely",
                    -20,
                    false,
                );
            }
            if external == 0 {
                return ("sri-implemented-and-all-scripts-loaded-securely", 5, true);
            }
            if self.external_with_integrity == external {
                return (
                    "sri-implemented-and-external-scripts-loaded-securely",
                    5,
                    true,
                );
            }
        }
        if self.external_insecure > 0 {
            return (
                "sri-not-implemented-and-external-scripts-not-loaded-securely",
                -50,
                false,
            );
        }
        if external > 0 {
            return (
                "sri-not-implemented-but-external-scripts-loaded-securely",
                -5,
                false,
            );
        }
        (
            "sri-not-implemented-but-all-scripts-loaded-from-secure-origin",
            0,
            true,
        )
    }
}
