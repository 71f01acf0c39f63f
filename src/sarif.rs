//! SARIF 2.1.0 logs (what code-scanning services read), for every vivr report that is a list of findings in
//! files: `env check`, the Dockerfile lint, and later the audit.

use serde_json::{Value, json};

/// One finding.
pub struct Result {
    pub rule: String,
    /// `error`, `warning` or `note`.
    pub level: &'static str,
    pub message: String,
    /// The file and 1-based line, when the finding is in a file.
    pub location: Option<(String, usize)>,
    /// Tool-specific facts, kept under `properties`.
    pub properties: Value,
}

/// A rule as a code-scanning service shows it: an id, a one-line description, and optionally a longer help
/// text, a link and properties (`security-severity`, tags).
#[derive(Default)]
pub struct Rule {
    pub id: String,
    pub text: String,
    pub help: Option<String>,
    pub help_uri: Option<String>,
    pub properties: Option<Value>,
}

/// A log of one run of `tool`: `rules` are (id, one-line description) of the rules the results use.
pub fn log(tool: &str, rules: &[(String, String)], results: &[Result]) -> Value {
    let rules: Vec<Rule> = rules
        .iter()
        .map(|(id, text)| Rule {
            id: id.clone(),
            text: text.clone(),
            ..Rule::default()
        })
        .collect();
    log_with_rules(tool, &rules, results)
}

/// A log of one run of `tool`, with the rules' full metadata.
pub fn log_with_rules(tool: &str, rules: &[Rule], results: &[Result]) -> Value {
    let results: Vec<Value> = results
        .iter()
        .map(|r| {
            let mut result = json!({
                "ruleId": r.rule,
                "level": r.level,
                "message": { "text": r.message },
                "properties": r.properties,
            });
            if let (Some((uri, line)), Some(object)) = (&r.location, result.as_object_mut()) {
                object.insert(
                    "locations".into(),
                    json!([{
                        "physicalLocation": {
                            "artifactLocation": { "uri": uri },
                            "region": { "startLine": line }
                        }
                    }]),
                );
            }
            result
        })
        .collect();
    let rules: Vec<Value> = rules
        .iter()
        .map(|rule| {
            let mut value = json!({ "id": rule.id, "shortDescription": { "text": rule.text } });
            if let Some(object) = value.as_object_mut() {
                if let Some(help) = &rule.help {
                    object.insert("help".into(), json!({ "text": help }));
                }
                if let Some(uri) = &rule.help_uri {
                    object.insert("helpUri".into(), json!(uri));
                }
                if let Some(properties) = &rule.properties {
                    object.insert("properties".into(), properties.clone());
                }
            }
            value
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": tool,
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
        }]
    })
}
