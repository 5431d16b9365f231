//! Rule metadata from OPA-style `# METADATA` comment blocks. regorus does not parse
//! annotations, so they are read here; `atrest rules`, SARIF and the docs all come from them.

pub use crate::finding::Severity;
use crate::problem::Problem;
use crate::read::{Limits, yaml};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reference {
    #[serde(rename = "ref")]
    pub url: String,
    #[serde(default)]
    pub description: Option<String>,
}

/// The same check in another tool (`custom.equivalents`), so that users who migrate can map
/// their skips and baselines.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Equivalent {
    /// `Checkov`, `Trivy`, `KICS`, ...
    pub tool: String,
    /// The other tool's id of the check (`CKV_AWS_173`, `AVD-AWS-0017`, a KICS query id).
    pub id: String,
    /// What the other check covers, where it differs from this rule.
    #[serde(default)]
    pub note: Option<String>,
}

/// One rule's metadata, as written in its policy file.
#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    pub id: String,
    pub title: String,
    pub description: String,
    pub severity: Severity,
    /// CVSS-like score GitHub uses to rank security alerts, e.g. "5.5".
    pub security_severity: String,
    pub tags: Vec<String>,
    /// How to fix, per source: `cloudformation`, `sam`, `terraform`, `cli`.
    pub remediation: BTreeMap<String, String>,
    pub references: Vec<Reference>,
    /// Rego package the rule's `deny` set lives in.
    pub package: String,
    /// Where the rule came from (`policies/...` for built-ins, the user's path otherwise).
    pub path: String,
    pub builtin: bool,
    /// The CloudTrail events the rule reads. Empty: an inventory rule. A CloudTrail rule is
    /// evaluated only on events that one of its routes matches, one event at a time.
    pub routes: Vec<Route>,
    /// A CloudTrail rule that can only find something when the scan has an inventory
    /// (`custom.needs_inventory: true`): without one it is not evaluated at all.
    pub needs_inventory: bool,
    /// The top-level event fields a CloudTrail rule reads (`custom.reads`). When given, the
    /// rule sees only these in `input.event`, and its verdict on one event is reused for the
    /// events that agree with it on them (see `trail::memo`). `None`: the whole event, every
    /// event evaluated.
    pub reads: Option<Vec<String>>,
    /// The same check in other tools.
    pub equivalents: Vec<Equivalent>,
}

impl Rule {
    /// Whether the rule reads CloudTrail events rather than inventories.
    pub fn reads_events(&self) -> bool {
        !self.routes.is_empty()
    }
}

/// `{source: kms.amazonaws.com, names: [Decrypt, GenerateDataKey*]}`: the events of one
/// service a rule reads. A name ending in `*` matches every name with that prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub source: String,
    pub names: Vec<String>,
}

#[derive(Deserialize)]
struct Annotation {
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    related_resources: Vec<Reference>,
    custom: Custom,
}

#[derive(Deserialize)]
struct Custom {
    id: String,
    severity: Severity,
    #[serde(default)]
    security_severity: Option<serde_json::Value>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    remediation: BTreeMap<String, String>,
    #[serde(default)]
    routes: Vec<Route>,
    #[serde(default)]
    needs_inventory: bool,
    #[serde(default)]
    reads: Option<Vec<String>>,
    #[serde(default)]
    equivalents: Vec<Equivalent>,
}

/// Reads the first `# METADATA` block and the `package` line of a policy. Files without a
/// METADATA block are libraries (helpers), not rules: `Ok(None)`.
pub fn parse(path: &str, rego: &str) -> Result<Option<Rule>, Problem> {
    let err = |line: Option<u32>, message: String| Problem::new(path, line, message);
    let lines: Vec<&str> = rego.lines().collect();
    let Some(start) = lines.iter().position(|l| l.trim() == "# METADATA") else {
        return Ok(None);
    };
    let mut block = String::new();
    for l in &lines[start + 1..] {
        let Some(rest) = l.trim_start().strip_prefix('#') else {
            break;
        };
        block.push_str(rest.strip_prefix(' ').unwrap_or(rest));
        block.push('\n');
    }
    let meta_line = start as u32 + 2;
    let doc = yaml::parse(&block, &Limits::default()).map_err(|e| {
        err(
            Some(meta_line + e.line.unwrap_or(1) - 1),
            format!("METADATA is not valid YAML: {}", e.message),
        )
    })?;
    let ann: Annotation = serde_json::from_value(doc.root.to_json())
        .map_err(|e| err(Some(meta_line), format!("METADATA: {e}")))?;
    let package = lines
        .iter()
        .find_map(|l| l.trim().strip_prefix("package "))
        .map(|p| p.trim().to_owned())
        .ok_or_else(|| err(None, "no package declaration".into()))?;
    // The id is shown in every report and matched on the command line and in baselines: one
    // word, nothing a terminal or a CI log would act on.
    let id = &ann.custom.id;
    if id.is_empty()
        || id
            .chars()
            .any(|c| c.is_whitespace() || crate::escape::is_unsafe(c))
    {
        return Err(err(
            Some(meta_line),
            format!(
                "METADATA: custom.id {id:?} must be one word, without spaces or control characters"
            ),
        ));
    }
    for route in &ann.custom.routes {
        let bad = route.source.is_empty()
            || route.names.is_empty()
            || route
                .names
                .iter()
                .any(|n| n.is_empty() || n.trim_end_matches('*').contains('*'));
        if bad {
            return Err(err(
                Some(meta_line),
                format!(
                    "METADATA: route for {:?} needs a source and names, with `*` only at the end of a name",
                    route.source
                ),
            ));
        }
    }
    if let Some(reads) = &ann.custom.reads
        && (ann.custom.routes.is_empty() || reads.iter().any(|f| f.is_empty()))
    {
        return Err(err(
            Some(meta_line),
            "METADATA: `reads` lists the top-level event fields a CloudTrail rule (one with `routes`) reads, none empty".into(),
        ));
    }
    let security_severity = match ann.custom.security_severity {
        Some(serde_json::Value::String(s)) => s,
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => default_security_severity(ann.custom.severity).to_owned(),
    };
    Ok(Some(Rule {
        id: ann.custom.id,
        title: ann.title,
        description: ann.description.trim_end().to_owned(),
        severity: ann.custom.severity,
        security_severity,
        tags: ann.custom.tags,
        remediation: ann
            .custom
            .remediation
            .into_iter()
            .map(|(k, v)| (k, v.trim_end().to_owned()))
            .collect(),
        references: ann.related_resources,
        package,
        path: path.to_owned(),
        builtin: false,
        routes: ann.custom.routes,
        needs_inventory: ann.custom.needs_inventory,
        equivalents: ann.custom.equivalents,
        reads: ann.custom.reads,
    }))
}

/// GitHub's bands: low < 4.0 <= medium < 7.0 <= high < 9.0 <= critical.
pub fn default_security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Low => "3.0",
        Severity::Medium => "5.5",
        Severity::High => "7.5",
        Severity::Critical => "9.5",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_id_is_one_printable_word() {
        for id in ["\"A\\n::error::x\"", "\"A B\"", "\"\"", "\"A\\u202eB\""] {
            let rego = format!(
                "# METADATA\n# title: T\n# custom:\n#   id: {id}\n#   severity: low\npackage p\n"
            );
            let e = parse("p.rego", &rego).unwrap_err();
            assert!(e.message.contains("custom.id"), "{id}: {}", e.message);
            assert!(!e.message.contains('\n'), "{}", e.message);
        }
    }

    #[test]
    fn reads_opa_style_metadata() {
        let rego = "# METADATA\n# title: T\n# description: |\n#   Long\n#   text.\n# related_resources:\n#   - ref: https://example.com\n# custom:\n#   id: X-1\n#   severity: high\n#   security_severity: \"7.0\"\n#   remediation:\n#     cli: do it\npackage a.b\n";
        let r = parse("p.rego", rego).unwrap().unwrap();
        assert_eq!(r.id, "X-1");
        assert_eq!(r.severity, Severity::High);
        assert_eq!(r.security_severity, "7.0");
        assert_eq!(r.description, "Long\ntext.");
        assert_eq!(r.package, "a.b");
        assert_eq!(r.remediation["cli"], "do it");
        assert_eq!(r.references[0].url, "https://example.com");
    }

    #[test]
    fn equivalents_name_a_tool_and_an_id_and_nothing_else() {
        let with = |item: &str| {
            format!(
                "# METADATA\n# title: T\n# custom:\n#   id: X-1\n#   severity: low\n#   equivalents:\n#     - {item}\npackage p\n"
            )
        };
        let r = parse(
            "p.rego",
            &with("{tool: Checkov, id: CKV_AWS_7, note: every key}"),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (r.equivalents[0].tool.as_str(), r.equivalents[0].id.as_str()),
            ("Checkov", "CKV_AWS_7")
        );
        assert_eq!(r.equivalents[0].note.as_deref(), Some("every key"));
        let e = parse("p.rego", &with("{tool: Checkov, check: CKV_AWS_7}")).unwrap_err();
        assert!(e.message.starts_with("METADATA:"), "{}", e.message);
    }

    #[test]
    fn routes_make_an_event_rule() {
        let rego = "# METADATA\n# title: T\n# custom:\n#   id: C-1\n#   severity: low\n#   routes:\n#     - source: kms.amazonaws.com\n#       names: [Decrypt, GenerateDataKey*]\npackage c\n";
        let r = parse("c.rego", rego).unwrap().unwrap();
        assert!(r.reads_events());
        assert_eq!(r.routes[0].names, ["Decrypt", "GenerateDataKey*"]);
        let bad = rego.replace("GenerateDataKey*", "Gen*Key");
        assert!(parse("c.rego", &bad).unwrap_err().message.contains("route"));
        assert_eq!(r.reads, None);
        let reads = rego.replace(
            "#   routes:",
            "#   reads: [eventName, userAgent]\n#   routes:",
        );
        let r = parse("c.rego", &reads).unwrap().unwrap();
        assert_eq!(r.reads.unwrap(), ["eventName", "userAgent"]);
        // Only an event rule reads event fields, and a field has a name.
        for bad in [
            "# METADATA\n# title: T\n# custom:\n#   id: C-1\n#   severity: low\n#   reads: [eventName]\npackage c\n".to_owned(),
            reads.replace("userAgent", "\"\""),
        ] {
            let e = parse("c.rego", &bad).unwrap_err();
            assert!(e.message.contains("reads"), "{}", e.message);
        }
    }

    #[test]
    fn bad_metadata_names_the_line() {
        let rego =
            "package x\n# METADATA\n# title: T\n# custom:\n#   id: X\n#   severity: extreme\n";
        let e = parse("p.rego", rego).unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(e.message.contains("extreme"), "{}", e.message);
        assert!(parse("lib.rego", "package lib\n").unwrap().is_none());
    }
}
