//! Compiling a check's rule spec (as its YAML says it) into matchers, with errors that name the key.

use super::*;

impl RuleSpec {
    pub(super) fn keys(&self) -> Vec<&'static str> {
        let mut keys = Vec::new();
        let mut add = |set: bool, key: &'static str| {
            if set {
                keys.push(key)
            }
        };
        add(self.exists.is_some(), "exists");
        add(self.absent.is_some(), "absent");
        add(self.matches.is_some(), "matches");
        add(self.no_match.is_some(), "no_match");
        add(self.value.is_some(), "value");
        add(self.dockerfile.is_some(), "dockerfile");
        add(self.workflow.is_some(), "workflow");
        add(self.analysis.is_some(), "analysis");
        add(self.http.is_some(), "http");
        add(self.backup.is_some(), "backup");
        add(self.aws.is_some(), "aws");
        add(self.all.is_some(), "all");
        add(self.any.is_some(), "any");
        add(self.not.is_some(), "not");
        add(self.tiers.is_some(), "tiers");
        keys
    }

    /// Compiles the rule found at `path` (`rule`, `rule.all[1]`, …).
    pub fn compile(&self, path: &str) -> Result<Matcher, CompileError> {
        let keys = self.keys();
        let [key] = keys[..] else {
            let last = path.rsplit(['.', '[']).next().unwrap_or(path);
            return Err(error(
                last.trim_end_matches(']'),
                path,
                if keys.is_empty() {
                    "a rule needs one matcher (exists, absent, matches, no_match, value, dockerfile, workflow, \
                     analysis, http, backup, aws, all, any, not, tiers)"
                        .to_string()
                } else {
                    format!("a rule has exactly one matcher; found {}", keys.join(", "))
                },
            ));
        };
        let here = format!("{path}.{key}");
        let list = |rules: &[RuleSpec]| -> Result<Vec<Matcher>, CompileError> {
            if rules.is_empty() {
                return Err(error(key, &here, "at least one rule"));
            }
            rules
                .iter()
                .enumerate()
                .map(|(i, r)| r.compile(&format!("{here}[{i}]")))
                .collect()
        };
        Ok(match self {
            RuleSpec {
                exists: Some(g), ..
            } => Matcher::Exists(globs(g, key, &here)?),
            RuleSpec {
                absent: Some(g), ..
            } => Matcher::Absent(globs(g, key, &here)?),
            RuleSpec {
                matches: Some(t), ..
            } => Matcher::Matches(
                globs(&t.files, "files", &here)?,
                regex(&t.regex, "regex", &here)?,
            ),
            RuleSpec {
                no_match: Some(t), ..
            } => Matcher::NoMatch(
                globs(&t.files, "files", &here)?,
                regex(&t.regex, "regex", &here)?,
            ),
            RuleSpec { value: Some(v), .. } => Matcher::Value(Box::new(v.compile(&here)?)),
            RuleSpec {
                dockerfile: Some(d),
                ..
            } => dockerfile(d, &here)?,
            RuleSpec {
                workflow: Some(w), ..
            } => Matcher::Workflow(*w),
            RuleSpec {
                analysis: Some(a), ..
            } => Matcher::Analysis(*a),
            RuleSpec { http: Some(h), .. } => Matcher::Http(h.compile(&here)?),
            RuleSpec {
                backup: Some(b), ..
            } => Matcher::Backup(b.compile().map_err(|m| error("backup", &here, m))?),
            RuleSpec { aws: Some(a), .. } => {
                Matcher::Aws(a.compile().map_err(|m| error("aws", &here, m))?)
            }
            RuleSpec { all: Some(r), .. } => Matcher::All(list(r)?),
            RuleSpec { any: Some(r), .. } => Matcher::Any(list(r)?),
            RuleSpec { tiers: Some(r), .. } => {
                if r.len() < 2 {
                    return Err(error(key, &here, "tiers needs at least two rules"));
                }
                Matcher::Tiers(list(r)?)
            }
            RuleSpec { not: Some(r), .. } => Matcher::Not(Box::new(r.compile(&here)?)),
            _ => return Err(error(key, path, "unsupported matcher")),
        })
    }
}

/// `dockerfile:`: rule ids of vivr's Dockerfile linter, on the files named (the root Dockerfile by default).
fn dockerfile(d: &DockerfileSpec, here: &str) -> Result<Matcher, CompileError> {
    let mut rules = Vec::new();
    if d.rules.is_empty() {
        return Err(error("rules", here, "at least one Dockerfile rule id"));
    }
    for id in &d.rules {
        let Some(rule) = crate::image::lint::rule_by_id(id) else {
            return Err(error(
                "rules",
                here,
                format!(
                    "{id} is not a rule of vivr's Dockerfile linter (vivr build --help lists them)"
                ),
            ));
        };
        rules.push(rule.id);
    }
    let files = d
        .files
        .clone()
        .unwrap_or_else(|| OneOrMany::One("Dockerfile".into()));
    Ok(Matcher::Dockerfile {
        files: globs(&files, "files", here)?,
        rules,
    })
}

impl HttpSpec {
    pub(super) fn compile(&self, here: &str) -> Result<HttpMatcher, CompileError> {
        match (&self.test, &self.grade, &self.cache) {
            (Some(test), None, None) => crate::audit::http::TESTS
                .iter()
                .find(|t| **t == test)
                .map(|t| HttpMatcher::Test(t))
                .ok_or_else(|| {
                    error(
                        "test",
                        here,
                        format!(
                            "{test:?} is not an Observatory test ({})",
                            crate::audit::http::TESTS.join(", ")
                        ),
                    )
                }),
            (None, Some(grade), None) => GRADES
                .iter()
                .find(|g| **g == grade)
                .map(|g| HttpMatcher::Grade(g))
                .ok_or_else(|| error("grade", here, format!("{grade:?} is not a grade (A+ … F)"))),
            (None, None, Some(cache)) => ["page", "static asset", "API"]
                .into_iter()
                .find(|c| c == cache)
                .map(HttpMatcher::Cache)
                .ok_or_else(|| error("cache", here, "one of: page, static asset, API")),
            _ => Err(error("http", here, "exactly one of test, grade, cache")),
        }
    }
}

impl HttpMatcher {
    pub(super) fn eval(&self, observatory: Option<&crate::audit::http::Observatory>) -> Eval {
        let Some(o) = observatory else {
            return Eval::Skipped("needs --http URL (a running site)".into());
        };
        match self {
            HttpMatcher::Test(name) => {
                let Some(t) = o.test(name) else {
                    let why = o
                        .not_evaluated
                        .iter()
                        .find(|n| n.starts_with(name))
                        .cloned()
                        .unwrap_or_else(|| format!("{name} was not evaluated"));
                    return Eval::Unknown(why);
                };
                let evidence = vec![Evidence::about(
                    &o.url,
                    format!(
                        "{} ({:+}){}",
                        t.result,
                        t.modifier,
                        t.data
                            .as_deref()
                            .map(|d| format!(": {}", clip(d)))
                            .unwrap_or_default()
                    ),
                )];
                if t.modifier >= 0 {
                    Eval::pass(evidence)
                } else {
                    Eval::fail(evidence)
                }
            }
            HttpMatcher::Grade(min) => {
                let rank = |g: &str| GRADES.iter().position(|x| *x == g).unwrap_or(GRADES.len());
                let mut evidence = vec![Evidence::about(
                    &o.url,
                    format!("Observatory-equivalent {} · {}", o.score, o.grade),
                )];
                if rank(&o.grade) <= rank(min) {
                    Eval::pass(evidence)
                } else {
                    evidence.extend(o.withholding().iter().map(|t| {
                        Evidence::about(
                            &o.url,
                            format!("{}: {} ({:+})", t.test, t.result, t.modifier),
                        )
                    }));
                    Eval::fail(evidence)
                }
            }
            HttpMatcher::Cache(what) => {
                let Some(seen) = o.caching.iter().find(|c| c.what == *what) else {
                    return Eval::Skipped(format!("the probe found no {what} to fetch"));
                };
                let evidence = vec![Evidence::about(
                    &seen.url,
                    format!(
                        "Cache-Control: {} — {}",
                        seen.cache_control.as_deref().unwrap_or("(none)"),
                        seen.why
                    ),
                )];
                if seen.ok {
                    Eval::pass(evidence)
                } else {
                    Eval::fail(evidence)
                }
            }
        }
    }
}

impl ValueSpec {
    pub(super) fn compile(&self, here: &str) -> Result<ValueMatcher, CompileError> {
        let files = globs(&self.file, "file", here)?;
        let path = parse_path(&self.path).map_err(|m| error("path", here, m))?;
        let comparisons = [
            self.exists.is_some(),
            self.equals.is_some(),
            self.one_of.is_some(),
            self.matches.is_some(),
            self.min.is_some(),
            self.max.is_some(),
            self.contains.is_some(),
        ];
        if !comparisons.contains(&true) {
            return Err(error(
                "value",
                here,
                "a value rule needs a comparison: exists, equals, one_of, matches, min, max or contains",
            ));
        }
        if self.format.is_none() {
            for pattern in self.file.to_vec() {
                if format_of(&pattern).is_none() {
                    return Err(error(
                        "file",
                        here,
                        format!(
                            "{pattern}: the format is not known from the extension; add format: json, yaml or toml"
                        ),
                    ));
                }
            }
        }
        Ok(ValueMatcher {
            files,
            path_text: self.path.clone(),
            path,
            format: self.format,
            exists: self.exists,
            equals: self.equals.clone(),
            one_of: self.one_of.clone(),
            matches: self
                .matches
                .as_deref()
                .map(|r| regex(r, "matches", here))
                .transpose()?,
            min: self.min,
            max: self.max,
            contains: self.contains.clone(),
        })
    }
}

pub(super) fn format_of(file: &str) -> Option<DataFormat> {
    // A glob's extension may be a choice: `deploy/*.{yml,yaml}`.
    let extension = file
        .rsplit_once('.')
        .map_or("", |(_, e)| e)
        .to_ascii_lowercase();
    let choices = extension.trim_start_matches('{').trim_end_matches('}');
    let mut formats = choices.split(',').map(|e| match e {
        "json" => Some(DataFormat::Json),
        "yaml" | "yml" => Some(DataFormat::Yaml),
        "toml" => Some(DataFormat::Toml),
        _ => None,
    });
    let first = formats.next().flatten()?;
    formats.all(|f| f == Some(first)).then_some(first)
}

/// `a.b[0]["c.d"]` → [a, b, 0, c.d].
pub(super) fn parse_path(text: &str) -> Result<Vec<Segment>, String> {
    let mut segments = Vec::new();
    let mut rest = text;
    let bad = || format!("{text:?} is not a path (a.b[0][\"c.d\"])");
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("[\"") {
            let end = after.find("\"]").ok_or_else(bad)?;
            segments.push(Segment::Key(after[..end].to_string()));
            rest = &after[end + 2..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']').ok_or_else(bad)?;
            let index = after[..end].parse().map_err(|_| bad())?;
            segments.push(Segment::Index(index));
            rest = &after[end + 1..];
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            if end == 0 {
                return Err(bad());
            }
            segments.push(Segment::Key(rest[..end].to_string()));
            rest = &rest[end..];
        }
        if let Some(after) = rest.strip_prefix('.') {
            if after.is_empty() {
                return Err(bad());
            }
            rest = after;
        }
    }
    if segments.is_empty() {
        return Err(bad());
    }
    Ok(segments)
}
