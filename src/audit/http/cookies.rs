//! Cookies: Secure, HttpOnly and SameSite, as the Observatory's cookie test reads them.

use super::*;

/// A Set-Cookie header, as far as the tests need.
pub(super) struct Cookie {
    pub(super) name: String,
    pub(super) secure: bool,
    pub(super) http_only: bool,
    pub(super) same_site: Option<String>,
}

pub(super) fn parse_cookie(header: &str) -> Option<Cookie> {
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

pub(super) fn cookies_test(main: &Exchange, https: bool, hsts: bool) -> TestResult {
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
    let insecure_session = if hsts {
        (
            "cookies-session-without-secure-flag-but-protected-by-hsts",
            -10,
        )
    } else {
        ("cookies-session-without-secure-flag", -40)
    };
    let insecure = if hsts {
        ("cookies-without-secure-flag-but-protected-by-hsts", -5)
    } else {
        ("cookies-without-secure-flag", -20)
    };
    type Broken<'a> = &'a dyn Fn(&Cookie) -> bool;
    // Worst first, as MDN orders them: the first rule a cookie breaks is the result.
    let rules: [((&str, i32), Broken<'_>); 5] = [
        (insecure_session, &|c| is_session(c) && !secure(c)),
        (("cookies-session-without-httponly-flag", -30), &|c| {
            is_session(c) && !c.http_only
        }),
        (("cookies-samesite-flag-invalid", -20), &|c| {
            c.same_site
                .as_deref()
                .is_some_and(|s| !matches!(s, "strict" | "lax" | "none"))
        }),
        (("cookies-anticsrf-without-samesite-flag", -20), &|c| {
            is_anticsrf(c) && c.same_site.is_none()
        }),
        (insecure, &|c| !secure(c)),
    ];
    for ((key, score), broken) in rules {
        if let Some(c) = cookies.iter().find(|c| broken(c)) {
            return result(T, key, score, false, Some(c.name.clone()));
        }
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
