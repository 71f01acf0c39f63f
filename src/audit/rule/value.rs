//! Values in JSON, YAML and TOML files: parsed, looked up by path and compared.

use serde_json::Value;

use crate::audit::repo::{Repo, line_of};

use super::*;

/// Parses a data file as JSON, YAML or TOML into one value model.
pub fn parse_data(text: &str, format: DataFormat) -> Result<Value, String> {
    match format {
        DataFormat::Json => serde_json::from_str(text).map_err(|e| e.to_string()),
        DataFormat::Yaml => yaml_serde::from_str(text).map_err(|e| e.to_string()),
        DataFormat::Toml => toml::from_str::<toml::Table>(text)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::to_value(t).map_err(|e| e.to_string())),
    }
}

impl ValueMatcher {
    pub(super) fn eval(&self, repo: &Repo) -> Eval {
        let mut failures = Vec::new();
        let mut seen = Vec::new();
        for file in repo.matching(&self.files) {
            let Some(text) = repo.text(file) else {
                return Eval::Unknown(format!("{file} cannot be read as text"));
            };
            let Some(format) = self.format.or_else(|| format_of(file)) else {
                return Eval::Unknown(format!("{file}: unknown format"));
            };
            let data = match parse_data(&text, format) {
                Ok(data) => data,
                Err(e) => return Eval::Unknown(format!("{file} does not parse: {e}")),
            };
            let line = self.path.iter().rev().find_map(|s| match s {
                Segment::Key(k) => line_of(&text, k),
                Segment::Index(_) => None,
            });
            let found = lookup(&data, &self.path);
            match self.problem(found) {
                Some(problem) => {
                    failures.push(Evidence::at(
                        file,
                        if found.is_some() { line } else { None },
                        format!("{}: {problem}", self.path_text),
                    ));
                }
                None => seen.push(Evidence::at(
                    file,
                    line,
                    match found {
                        Some(v) => format!("{} = {}", self.path_text, clip(&v.to_string())),
                        None => format!("{} is not set", self.path_text),
                    },
                )),
            }
        }
        if failures.is_empty() && seen.is_empty() {
            return Eval::fail(vec![Evidence::note(format!(
                "no file matches {}",
                self.files.describe()
            ))]);
        }
        if failures.is_empty() {
            Eval::pass(seen)
        } else {
            Eval::fail(failures)
        }
    }

    /// What is wrong with the value found, if anything.
    pub(super) fn problem(&self, found: Option<&Value>) -> Option<String> {
        match (self.exists, found) {
            (Some(false), Some(v)) => return Some(format!("is set ({})", clip(&v.to_string()))),
            (Some(false), None) => return None,
            (_, None) => return Some("is not set".into()),
            _ => {}
        }
        let value = found?;
        if let Some(want) = &self.equals
            && !loosely_equal(value, want)
        {
            return Some(format!("is {}, not {want}", clip(&value.to_string())));
        }
        if let Some(allowed) = &self.one_of
            && !allowed.iter().any(|a| loosely_equal(value, a))
        {
            return Some(format!(
                "is {}, not one of {}",
                clip(&value.to_string()),
                Value::Array(allowed.clone())
            ));
        }
        if let Some(re) = &self.matches {
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if !re.is_match(&text) {
                return Some(format!(
                    "{:?} does not match /{}/",
                    clip(&text),
                    re.as_str()
                ));
            }
        }
        if self.min.is_some() || self.max.is_some() {
            let Some(number) = as_number(value) else {
                return Some(format!("is {}, not a number", clip(&value.to_string())));
            };
            if let Some(min) = self.min
                && number < min
            {
                return Some(format!("is {number}, below the minimum {min}"));
            }
            if let Some(max) = self.max
                && number > max
            {
                return Some(format!("is {number}, above the maximum {max}"));
            }
        }
        if let Some(want) = &self.contains {
            let holds = match value {
                Value::Array(items) => items.iter().any(|i| loosely_equal(i, want)),
                Value::String(s) => want.as_str().is_some_and(|w| s.contains(w)),
                Value::Object(map) => want.as_str().is_some_and(|w| map.contains_key(w)),
                _ => false,
            };
            if !holds {
                return Some(format!(
                    "{} does not contain {want}",
                    clip(&value.to_string())
                ));
            }
        }
        None
    }
}

pub(super) fn as_number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Equal, with numbers compared as numbers and a string equal to the same number or boolean written as text
/// (YAML and TOML authors write `"1"` and `1` alike).
pub(super) fn loosely_equal(a: &Value, b: &Value) -> bool {
    if a == b {
        return true;
    }
    match (a, b) {
        (Value::Number(_), _) | (_, Value::Number(_)) => {
            as_number(a).zip(as_number(b)).is_some_and(|(x, y)| x == y)
        }
        (Value::String(s), Value::Bool(v)) | (Value::Bool(v), Value::String(s)) => {
            s == &v.to_string()
        }
        _ => false,
    }
}

pub(super) fn lookup<'v>(data: &'v Value, path: &[Segment]) -> Option<&'v Value> {
    path.iter().try_fold(data, |value, segment| match segment {
        Segment::Key(k) => value.get(k.as_str()),
        Segment::Index(i) => value.get(*i),
    })
}
