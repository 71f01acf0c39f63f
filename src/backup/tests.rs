use super::*;

#[test]
fn a_damaged_manifest_is_an_error_naming_the_field() {
    let mut good = retention::tests::backup("20261130-120000-abcd", Utc::now());
    good.sha256 = "ab".repeat(32);
    let bytes = serde_json::to_vec(&good).unwrap();
    assert!(Manifest::parse(&bytes, "20261130-120000-abcd").is_ok());

    let damaged = |edit: &dyn Fn(&mut Manifest)| {
        let mut m = good.clone();
        edit(&mut m);
        Manifest::parse(&serde_json::to_vec(&m).unwrap(), "20261130-120000-abcd")
            .unwrap_err()
            .to_string()
    };
    assert!(damaged(&|m| m.sha256 = "abc".into()).contains("sha256"));
    assert!(damaged(&|m| m.sha256 = "é".repeat(32)).contains("sha256"));
    assert!(damaged(&|m| m.object = "../../etc/passwd".into()).contains("object"));
    assert!(damaged(&|m| m.id = "other".into()).contains("another backup"));
    let err = Manifest::parse(b"{\"id\": 3}", "x").unwrap_err();
    assert!(format!("{err:#}").contains("not valid JSON"), "{err:#}");
}
