use super::*;

fn exchange(headers: &[(&str, &str)], body: &str) -> HttpFixture {
    let mut map = BTreeMap::new();
    for (k, v) in headers {
        map.insert(k.to_string(), HeaderValues::One(v.to_string()));
    }
    HttpFixture {
        url: "https://shop.example/".into(),
        headers: map,
        body: body.into(),
        ..HttpFixture::default()
    }
}

#[test]
fn the_grade_chart_and_the_curve_are_mdns() {
    assert_eq!(grade_of(135), "A+");
    assert_eq!(grade_of(100), "A+");
    assert_eq!(grade_of(99), "A");
    assert_eq!(grade_of(85), "A-");
    assert_eq!(grade_of(84), "B+");
    assert_eq!(grade_of(24), "F");
    // Bonuses count only when the penalties leave at least 90.
    assert_eq!(score_of([-5, 10, 5]), 110);
    assert_eq!(score_of([-20, 10, 5]), 80);
    assert_eq!(score_of([-100, -50]), 0);
}

#[test]
fn nothing_set_scores_as_mdn_scores_it() {
    let graded = grade_fixture(&exchange(&[("content-type", "text/html")], "<p>hi</p>"));
    // CSP −25, HSTS −20, XCTO −5, XFO −20: 30, D.
    assert_eq!((graded.score, graded.grade.as_str()), (30, "D"));
    let results: Vec<&str> = graded
        .withholding()
        .iter()
        .map(|t| t.result.as_str())
        .collect();
    assert_eq!(
        results,
        [
            "csp-not-implemented",
            "hsts-not-implemented",
            "x-frame-options-not-implemented",
            "x-content-type-options-not-implemented"
        ]
    );
}

#[test]
fn a_strict_policy_earns_every_bonus() {
    let graded = grade_fixture(&exchange(
        &[
            ("content-type", "text/html; charset=utf-8"),
            (
                "content-security-policy",
                "default-src 'none'; script-src 'self' 'nonce-abc'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
            (
                "strict-transport-security",
                "max-age=63072000; includeSubDomains; preload",
            ),
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
            ("referrer-policy", "strict-origin-when-cross-origin"),
            ("cross-origin-resource-policy", "same-origin"),
            ("cross-origin-opener-policy", "same-origin"),
            ("cross-origin-embedder-policy", "credentialless"),
        ],
        "<script src=\"/static/app.js\"></script>",
    ));
    // 100 + CSP 10 + XFO via CSP 5 + referrer 5 + CORP 10 + COOP 10 + COEP 10 = 150.
    assert_eq!(
        (graded.score, graded.grade.as_str()),
        (150, "A+"),
        "{:#?}",
        graded.tests
    );
    assert!(graded.withholding().is_empty());
}

#[test]
fn cookies_and_csp_outcomes_follow_mdns_order() {
    let mut e = exchange(
        &[(
            "content-security-policy",
            "default-src 'self'; script-src 'self' 'unsafe-inline'",
        )],
        "",
    );
    e.headers.insert(
        "set-cookie".into(),
        HeaderValues::Many(vec![
            "session=1; Secure".into(),
            "theme=dark; Secure; HttpOnly; SameSite=Lax".into(),
        ]),
    );
    let graded = grade_fixture(&e);
    assert_eq!(
        graded.test("content-security-policy").unwrap().result,
        "csp-implemented-with-unsafe-inline"
    );
    assert_eq!(
        graded.test("cookies").unwrap().result,
        "cookies-session-without-httponly-flag"
    );
    assert_eq!(graded.test("cookies").unwrap().modifier, -30);
}
