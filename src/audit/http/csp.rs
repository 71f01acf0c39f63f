//! Content-Security-Policy: parsed once, graded as the Observatory grades it.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use super::*;

/// A parsed Content-Security-Policy (the first of each directive wins, as in browsers).
#[derive(Debug, Default)]
pub(super) struct Csp {
    pub(super) present: bool,
    pub(super) invalid: bool,
    pub(super) duplicates: bool,
    pub(super) directives: BTreeMap<String, Vec<String>>,
}

pub(super) static DIRECTIVE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9-]+$").unwrap_or_else(|_| unreachable!()));

impl Csp {
    pub(super) fn parse(headers: &[&str]) -> Csp {
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
    pub(super) fn effective(&self, name: &str) -> Option<&Vec<String>> {
        self.directives
            .get(name)
            .or_else(|| self.directives.get("default-src"))
    }
}

/// Sources that allow anything over a scheme, or everything.
pub(super) fn broad(source: &str) -> bool {
    matches!(
        source,
        "*" | "http:" | "https:" | "data:" | "blob:" | "ws:" | "wss:"
    )
}

pub(super) fn insecure(source: &str) -> bool {
    source == "http:"
        || source.starts_with("http://")
        || source == "ws:"
        || source.starts_with("ws://")
}

pub(super) fn csp_test(main: &Exchange, csp: &Csp) -> TestResult {
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
    let (key, score, pass) = verdict(csp);
    result(T, key, score, pass, data)
}

/// Whether scripts (inline, or from anywhere) and plugins can run unchecked, and whether eval is allowed.
fn unsafe_scripts(csp: &Csp) -> (bool, bool) {
    let none = Vec::new();
    let script = csp.effective("script-src").unwrap_or(&none);
    let object = csp.effective("object-src").unwrap_or(&none);
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
    (
        unsafe_inline || unsafe_objects,
        script.iter().any(|s| s == "'unsafe-eval'"),
    )
}

/// The observatory's result for a valid policy: its key, score and whether it passes.
fn verdict(csp: &Csp) -> (&'static str, i32, bool) {
    let (unsafe_inline, unsafe_eval) = unsafe_scripts(csp);
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
    let none = Vec::new();
    let style = csp.effective("style-src").unwrap_or(&none);
    let unsafe_style = style.iter().any(|s| s == "'unsafe-inline'" || broad(s));
    let default_none = csp
        .directives
        .get("default-src")
        .is_some_and(|d| d.as_slice() == ["'none'"]);
    let form_action_restricted = csp
        .directives
        .get("form-action")
        .is_some_and(|d| !d.iter().any(|s| broad(s)));
    if unsafe_inline {
        ("csp-implemented-with-unsafe-inline", -20, false)
    } else if uses_insecure(&active) {
        ("csp-implemented-with-insecure-scheme", -20, false)
    } else if unsafe_eval {
        ("csp-implemented-with-unsafe-eval", -10, false)
    } else if uses_insecure(&passive) {
        (
            "csp-implemented-with-insecure-scheme-in-passive-content-only",
            -10,
            false,
        )
    } else if unsafe_style {
        (
            "csp-implemented-with-unsafe-inline-in-style-src-only",
            0,
            true,
        )
    } else if csp.duplicates {
        ("csp-implemented-but-duplicate-directives", 0, true)
    } else if default_none && form_action_restricted {
        ("csp-implemented-with-no-unsafe-default-src-none", 10, true)
    } else {
        ("csp-implemented-with-no-unsafe", 5, true)
    }
}
