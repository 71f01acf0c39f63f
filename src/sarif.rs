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

/// A log of one run of `tool`: `rules` are (id, one-line description) of the rules the results use.
pub fn log(tool: &str, rules: &[(String, String)], results: &[Result]) -> Value {
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
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": tool,
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules
                    .iter()
                    .map(|(id, text)| json!({ "id": id, "shortDescription": { "text": text } }))
                    .collect::<Vec<_>>(),
            }},
            "results": results,
        }]
    })
}
