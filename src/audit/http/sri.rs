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
