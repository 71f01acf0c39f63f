//! The base image, the final stage and the variables a Dockerfile declares.

use super::*;

impl Lint<'_> {
    /// DL3006, DL3007, VIVR003 on a `FROM` that names an image.
    pub(super) fn base_image(&mut self, image: &str, line: usize) {
        if image == "scratch" || image.starts_with('$') {
            return;
        }
        let (reference, digest) = match image.split_once('@') {
            Some((reference, digest)) => (reference, Some(digest)),
            None => (image, None),
        };
        // The tag follows the last ':' after the last '/' (a registry's port has a ':' before a '/').
        let last_part = reference.rsplit('/').next().unwrap_or(reference);
        let tag = last_part.split_once(':').map(|(_, tag)| tag);
        if tag.is_none() && digest.is_none() {
            self.push(
                "DL3006",
                line,
                format!("FROM {image} has no tag: name the version"),
            );
        }
        if tag == Some("latest") && digest.is_none() {
            self.push(
                "DL3007",
                line,
                format!("FROM {image}: latest changes under you; name the version"),
            );
        }
        if !digest.is_some_and(|d| d.starts_with("sha256:") && d.len() == 71) {
            self.push(
                "VIVR003",
                line,
                format!("FROM {image} is not pinned by digest: write {reference}@sha256:<digest>"),
            );
        }
    }

    /// VIVR001, DL3002 and VIVR002 on the final stage (following `FROM <earlier stage>` for what it inherits).
    pub(super) fn final_stage(
        &mut self,
        dockerfile: &parse_dockerfile::Dockerfile<'_>,
        stages: &[StageFacts],
    ) {
        let Some(last) = stages.len().checked_sub(1) else {
            return;
        };
        let from_line = dockerfile
            .stages()
            .last()
            .map_or(1, |s| self.line_of(s.from.from.span.start));
        let mut user = None;
        let mut healthcheck = false;
        let mut current = Some(last);
        while let Some(index) = current {
            let Some(stage) = stages.get(index) else {
                break;
            };
            if user.is_none() {
                user.clone_from(&stage.user);
            }
            healthcheck |= stage.healthcheck;
            current = stage.parent;
        }
        match user {
            None => self.push(
                "VIVR001",
                from_line,
                "the final stage sets no USER, so the container runs as root: add USER 10001:10001"
                    .into(),
            ),
            Some((user, line)) => {
                let who = user.split(':').next().unwrap_or_default();
                if who == "root" || who == "0" {
                    self.push(
                        "DL3002",
                        line,
                        format!("the last USER is {user}: run as a non-root uid"),
                    );
                }
            }
        }
        if !healthcheck {
            self.push(
                "VIVR002",
                from_line,
                "the final stage has no HEALTHCHECK: add HEALTHCHECK CMD [\"/vivr\", \"healthcheck\"]".into(),
            );
        }
    }

    /// DL3064 and VIVR004 on the variables an `ARG` or `ENV` declares.
    pub(super) fn variables(&mut self, arguments: &str, line: usize, keyword: &str) {
        let secrets: Vec<&str> = Schema::embedded()
            .variables
            .iter()
            .filter(|v| v.secret)
            .map(|v| v.name.as_str())
            .collect();
        for name in declared_names(arguments) {
            if secrets.contains(&name.as_str()) {
                self.push(
                    "VIVR004",
                    line,
                    format!(
                        "{keyword} {name}: the shop's secrets reach the container at run time (Secrets Manager, \
                         the task definition), never through the image, whose layers keep them"
                    ),
                );
            }
            if is_sensitive_name(&name) {
                self.push(
                    "DL3064",
                    line,
                    format!("{keyword} {name} looks like a secret: image layers and history keep ARG and ENV values"),
                );
            }
        }
    }
}

/// The names an `ARG` or `ENV` declares (`A=1 B="x y"`, `A 1` in ENV's old form, `A` alone in ARG).
pub(super) fn declared_names(arguments: &str) -> Vec<String> {
    let arguments = arguments.replace("\\\n", " ");
    let trimmed = arguments.trim();
    let first = trimmed.split_whitespace().next().unwrap_or_default();
    if !first.contains('=') {
        // `ENV NAME value` (the legacy form) or `ARG NAME`.
        return vec![first.to_string()]
            .into_iter()
            .filter(|n| !n.is_empty())
            .collect();
    }
    let mut names = Vec::new();
    let mut in_quotes: Option<char> = None;
    let mut token = String::new();
    for c in trimmed.chars() {
        match (c, in_quotes) {
            ('"' | '\'', None) => in_quotes = Some(c),
            (q, Some(open)) if q == open => in_quotes = None,
            (w, None) if w.is_whitespace() => {
                if let Some((name, _)) = token.split_once('=') {
                    names.push(name.to_string());
                }
                token.clear();
            }
            _ => token.push(c),
        }
    }
    if let Some((name, _)) = token.split_once('=') {
        names.push(name.to_string());
    }
    names
}
