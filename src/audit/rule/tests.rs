use super::value::*;
use super::*;

#[test]
fn paths_take_dots_indices_and_quoted_keys() {
    assert_eq!(
        parse_path(r#"metrics.http_req_duration.values["p(95)"]"#).unwrap(),
        [
            Segment::Key("metrics".into()),
            Segment::Key("http_req_duration".into()),
            Segment::Key("values".into()),
            Segment::Key("p(95)".into())
        ]
    );
    assert_eq!(
        parse_path("jobs[0].name").unwrap(),
        [
            Segment::Key("jobs".into()),
            Segment::Index(0),
            Segment::Key("name".into())
        ]
    );
    for bad in ["", "a.", ".a", "a[x]", "a[\"b"] {
        assert!(parse_path(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn a_rule_has_exactly_one_matcher() {
    let two = RuleSpec {
        exists: Some(OneOrMany::One("a".into())),
        absent: Some(OneOrMany::One("b".into())),
        ..RuleSpec::default()
    };
    let err = two.compile("rule").unwrap_err();
    assert!(
        err.message.contains("found exists, absent"),
        "{}",
        err.message
    );
    let none = RuleSpec::default().compile("rule").unwrap_err();
    assert!(none.message.contains("needs one matcher"));
}

#[test]
fn values_compare_loosely_across_formats() {
    assert!(loosely_equal(&Value::from(1), &Value::from("1")));
    assert!(loosely_equal(&Value::from(true), &Value::from("true")));
    assert!(!loosely_equal(&Value::from("a"), &Value::from("b")));
    let toml = parse_data("[profile.release]\nlto = true\n", DataFormat::Toml).unwrap();
    assert_eq!(
        lookup(&toml, &parse_path("profile.release.lto").unwrap()),
        Some(&Value::Bool(true))
    );
}
