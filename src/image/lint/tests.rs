use super::*;

fn rules(text: &str) -> Vec<&'static str> {
    lint("Dockerfile", text, None)
        .findings
        .iter()
        .map(|f| f.rule)
        .collect()
}

const GOOD: &str = "FROM scratch\nCOPY vivr /vivr\nUSER 10001:10001\nHEALTHCHECK CMD [\"/vivr\", \"healthcheck\"]\n\
                        ENTRYPOINT [\"/vivr\"]\nCMD [\"serve\"]\n";

#[test]
fn a_scratch_image_with_a_user_and_a_health_check_is_clean() {
    assert_eq!(rules(GOOD), Vec::<&str>::new());
}

#[test]
fn what_hadolint_lets_through_is_found() {
    assert_eq!(
        rules("FROM scratch\nCOPY vivr /vivr\n"),
        ["VIVR001", "VIVR002"]
    );
    assert_eq!(
        rules(&GOOD.replace("FROM scratch", "FROM debian:12")),
        ["VIVR003"]
    );
    assert!(rules(&format!("{GOOD}ENV STRIPE_SECRET_KEY=sk_live_x\n")).contains(&"VIVR004"));
}

#[test]
fn an_ignore_needs_a_reason_and_covers_the_next_instruction_only() {
    let with_reason = GOOD.replace(
            "COPY vivr /vivr\n",
            "COPY vivr /vivr\n# vivr ignore=DL3020: a local tarball we extract on purpose\nADD a.txt /a\nADD b.txt /b\n",
        );
    let result = lint("Dockerfile", &with_reason, None);
    assert_eq!(
        result
            .findings
            .iter()
            .map(|f| (f.rule, f.line))
            .collect::<Vec<_>>(),
        [("DL3020", 5)]
    );
    assert_eq!(result.ignored.len(), 1);
    let without = with_reason.replace(": a local tarball we extract on purpose", "");
    assert_eq!(rules(&without), ["VIVR006", "DL3020", "DL3020"]);
}

#[test]
fn dockerignore_patterns_are_read_as_the_engine_reads_them() {
    assert!(ignored_by("target\n.git\n", "target"));
    assert!(ignored_by("/target/\n", "target"));
    assert!(ignored_by("**/.env*\n", ".env"));
    assert!(ignored_by("*\n!src\n", "data"));
    assert!(!ignored_by("*\n!data\n", "data"));
    assert!(!ignored_by("targets\n", "target"));
}

#[test]
fn broken_syntax_is_one_finding_not_a_panic() {
    let result = lint("Dockerfile", "FROM scratch\nNOPE x\n", None);
    assert_eq!(result.findings.len(), 1, "{:?}", result.findings);
    assert_eq!(result.findings[0].rule, "VIVR000");
    assert!(rules("").contains(&"VIVR000"));
}
