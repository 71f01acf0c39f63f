//! The header tests: CORS, redirection, Referrer-Policy, HSTS, X-Content-Type-Options, X-Frame-Options and the
//! cross-origin isolation headers.

use super::*;

/// The Origin the CORS test sends (MDN's scanner's).
pub const FOREIGN_ORIGIN: &str = "https://http-observatory.security.mozilla.org";

pub(super) fn cors_test(observed: &Observed) -> TestResult {
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

pub(super) fn host_of(url: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
}

pub(super) fn redirection_test(observed: &Observed) -> Result<TestResult, String> {
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

pub(super) fn referrer_test(main: &Exchange) -> TestResult {
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
pub(super) const SIX_MONTHS: u64 = 15_768_000;

pub(super) fn hsts_test(main: &Exchange, https: bool) -> TestResult {
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

pub(super) fn xcto_test(main: &Exchange) -> TestResult {
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

pub(super) fn xfo_test(main: &Exchange, csp: &Csp) -> TestResult {
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
pub(super) fn token_test(
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

pub(super) fn corp_test(main: &Exchange) -> TestResult {
    token_test(
        main,
        "cross-origin-resource-policy",
        "cross-origin-resource-policy",
        "corp",
        &["same-origin", "same-site"],
        &["cross-origin"],
    )
}

pub(super) fn coop_test(main: &Exchange) -> TestResult {
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

pub(super) fn coep_test(main: &Exchange) -> TestResult {
    token_test(
        main,
        "cross-origin-embedder-policy",
        "cross-origin-embedder-policy",
        "coep",
        &["require-corp", "credentialless"],
        &["unsafe-none"],
    )
}
