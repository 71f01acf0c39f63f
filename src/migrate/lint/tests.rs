use super::*;
use std::borrow::Cow;

#[test]
fn the_object_of_a_statement_is_named_without_schema_or_quotes() {
    for (statement, object) in [
        ("ALTER TABLE \"Order\" DROP COLUMN \"x\";", Some("Order")),
        (
            "ALTER TABLE ONLY public.\"Order\" ADD COLUMN y int",
            Some("Order"),
        ),
        ("DROP TYPE IF EXISTS \"Role\";", Some("Role")),
        ("DROP TABLE IF EXISTS \"Tmp\", \"Other\";", Some("Tmp")),
        (
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS \"i\" ON \"T\"(c);",
            Some("i"),
        ),
        (
            "ALTER TYPE \"Kind_new\" RENAME TO \"Kind\";",
            Some("Kind_new"),
        ),
        ("UPDATE \"T\" SET a = 1;", None),
    ] {
        assert_eq!(object_of(statement).as_deref(), object, "{statement}");
    }
}

#[test]
fn destructive_findings_warn_on_an_empty_schema_or_an_object_this_deploy_creates() {
    let mut lints = vec![file(
        "ALTER TABLE \"Old\" DROP COLUMN \"a\";\nALTER TABLE \"New\" DROP COLUMN \"b\";\n",
    )];
    let blocked = |lints: &[FileLint]| -> Vec<String> {
        lints[0]
            .blocking()
            .filter_map(|f| f.object.clone())
            .collect()
    };
    assert_eq!(blocked(&lints), ["Old", "New"]);
    let existing = DeployContext {
        empty_schema: false,
        existing: ["old".to_string()].into_iter().collect(),
    };
    existing.apply(&mut lints);
    assert_eq!(blocked(&lints), ["Old"]);
    DeployContext {
        empty_schema: true,
        ..existing
    }
    .apply(&mut lints);
    assert!(blocked(&lints).is_empty());
    // The file's atomicity is never excused.
    let mut nested = vec![file("BEGIN;\nCREATE TABLE t (a int);\nCOMMIT;\n")];
    let before = nested[0].blocking().count();
    DeployContext {
        empty_schema: true,
        existing: Default::default(),
    }
    .apply(&mut nested);
    assert_eq!(nested[0].blocking().count(), before);
}

fn file(sql: &str) -> FileLint {
    lint(
        &Migration {
            name: Cow::Borrowed("20990101000000_test"),
            sql: Cow::Owned(sql.to_string()),
        },
        "15.18",
    )
}

fn rules(lint: &FileLint) -> Vec<(String, Severity)> {
    lint.findings
        .iter()
        .map(|f| (f.rule.clone(), f.severity))
        .collect()
}

#[test]
fn destructive_statements_block_and_locking_ones_warn() {
    let l = file(
        "ALTER TABLE \"Product\" DROP COLUMN \"stock\";\nCREATE INDEX \"i\" ON \"Product\"(\"name\");\n",
    );
    let found = rules(&l);
    assert!(
        found.contains(&("ban-drop-column".into(), Severity::Block)),
        "{found:?}"
    );
    assert!(
        found.contains(&("require-concurrent-index-creation".into(), Severity::Warn)),
        "{found:?}"
    );
    assert_eq!(
        l.findings
            .iter()
            .find(|f| f.rule == "ban-drop-column")
            .unwrap()
            .line,
        1
    );
    assert!(l.transactional);
}

#[test]
fn an_ignore_needs_a_reason() {
    let with_reason = file(
        "-- squawk-ignore ban-drop-column -- the column was never read, see #12\nALTER TABLE \"Product\" DROP COLUMN \"legacy\";\n",
    );
    assert!(
        with_reason.blocking().next().is_none(),
        "{:?}",
        with_reason.findings
    );
    let without =
        file("-- squawk-ignore ban-drop-column\nALTER TABLE \"Product\" DROP COLUMN \"legacy\";\n");
    assert_eq!(
        rules(&without),
        vec![("ignore-without-reason".into(), Severity::Block)]
    );
}

#[test]
fn a_concurrent_index_must_be_alone_in_its_file() {
    let mixed = file(
        "ALTER TABLE \"Product\" ADD COLUMN \"x\" text;\nCREATE INDEX CONCURRENTLY IF NOT EXISTS \"i\" ON \"Product\"(\"x\");\n",
    );
    assert!(
        mixed
            .blocking()
            .any(|f| f.rule == "non-transactional-statement-not-alone"),
        "{:?}",
        mixed.findings
    );
    let alone = file("CREATE INDEX CONCURRENTLY IF NOT EXISTS \"i\" ON \"Product\"(\"x\");\n");
    assert!(!alone.transactional);
    assert!(alone.blocking().next().is_none(), "{:?}", alone.findings);
}

#[test]
fn each_statement_names_the_lock_it_takes() {
    let l = file(
        "ALTER TABLE \"Product\" ADD COLUMN \"x\" text;\n\
             ALTER TABLE \"Order\" VALIDATE CONSTRAINT \"c\";\n\
             CREATE INDEX \"i\" ON \"Product\"(\"x\");\n\
             UPDATE \"Product\" SET \"x\" = 'a';\n\
             CREATE TABLE \"New\" (id int);\n",
    );
    let locks: Vec<(&str, &str)> = l
        .locks
        .iter()
        .map(|(t, m)| (t.as_str(), m.as_str()))
        .collect();
    assert_eq!(
        locks,
        vec![
            ("Product", "ACCESS EXCLUSIVE"),
            ("Order", "SHARE UPDATE EXCLUSIVE"),
            ("Product", "SHARE"),
            ("Product", "ROW EXCLUSIVE"),
        ]
    );
    let concurrent = file("CREATE INDEX CONCURRENTLY IF NOT EXISTS \"i\" ON \"Product\"(\"x\");\n");
    assert_eq!(
        concurrent.locks,
        vec![("Product".to_string(), "SHARE UPDATE EXCLUSIVE".to_string())]
    );
}

#[test]
fn syntax_errors_block() {
    let l = file("ALTER TABLE \"Product\" ADD COLUMN;\n");
    assert!(
        l.blocking().any(|f| f.rule == "syntax-error"),
        "{:?}",
        l.findings
    );
}
