//! SARIF 2.1.0 as GitHub code scanning ingests it: one run, every rule in `tool.driver.rules`,
//! paths relative to `%SRCROOT%`, fingerprints that survive moved lines, and input errors as
//! `toolExecutionNotifications`. Suppressed findings are results with `suppressions`, so code
//! scanning shows them as closed; notices about suppressions are warning notifications.

use super::{MAX_RELATED_EVENTS, Report, UnknownMode, fingerprint, outcome_name};
use crate::engine::{Outcome, Rule, Severity};
use crate::model::Loc;
use crate::trail::Evidence;
use crate::triage::{Place, Suppression, SuppressionKind};
use serde_json::{Value, json};
use std::path::Path;

const INFORMATION_URI: &str = "https://github.com/atrest-dev/atrest";

/// Where the generated rule reference (`docs/rules.md`) is published; built-in rules link to
/// their section of it.
pub const RULES_DOC_URI: &str = "https://github.com/atrest-dev/atrest/blob/main/docs/rules.md";

/// The help link of a rule: its section of the rule reference for built-in rules, else the
/// policy's first reference.
pub fn help_uri(rule: &Rule) -> Option<String> {
    if rule.builtin {
        Some(format!("{RULES_DOC_URI}#{}", rule.id.to_ascii_lowercase()))
    } else {
        rule.references.first().map(|r| r.url.clone())
    }
}

pub fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// Percent-encodes a relative path for a SARIF `uri`.
pub fn encode_uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn rule_name(rule: &Rule) -> String {
    let last = rule.package.rsplit('.').next().unwrap_or(&rule.id);
    last.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

fn rule_descriptor(rule: &Rule) -> Value {
    let mut markdown = format!("**{}**\n\n{}\n", rule.title, rule.description);
    let mut text = format!("{}\n\n{}\n", rule.title, rule.description);
    if !rule.remediation.is_empty() {
        markdown.push_str("\n## How to fix\n");
        text.push_str("\nHow to fix:\n");
        for (source, fix) in &rule.remediation {
            markdown.push_str(&format!("\n### {source}\n\n{fix}\n"));
            text.push_str(&format!("- {source}: {fix}\n"));
        }
    }
    if !rule.references.is_empty() {
        markdown.push_str("\n## References\n\n");
        for r in &rule.references {
            let label = r.description.as_deref().unwrap_or(&r.url);
            markdown.push_str(&format!("- [{label}]({})\n", r.url));
        }
    }
    let mut d = json!({
        "id": rule.id,
        "name": rule_name(rule),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.description},
        "help": {"text": text, "markdown": markdown},
        "defaultConfiguration": {"level": level(rule.severity)},
        "properties": {
            "security-severity": rule.security_severity,
            "tags": rule.tags,
            "precision": "high",
        },
    });
    if let Some(uri) = help_uri(rule) {
        d["helpUri"] = json!(uri);
    }
    d
}

fn dir_uri(root: &Path) -> String {
    let mut s = encode_uri_path(&root.to_string_lossy().replace('\\', "/"));
    if !s.starts_with('/') {
        s.insert(0, '/');
    }
    if !s.ends_with('/') {
        s.push('/');
    }
    format!("file://{s}")
}

fn artifact(path: &str) -> Value {
    // An S3 object read in place (`scan s3://...`) is named by its own absolute URI.
    if let Some(rest) = path.strip_prefix("s3://") {
        return json!({"uri": format!("s3://{}", encode_uri_path(rest))});
    }
    if path.starts_with('/') {
        json!({"uri": format!("file://{}", encode_uri_path(path))})
    } else {
        json!({"uri": encode_uri_path(path), "uriBaseId": "%SRCROOT%"})
    }
}

fn physical_place(p: &Place) -> Value {
    json!({
        "artifactLocation": artifact(&p.file),
        "region": {"startLine": p.line.max(1), "startColumn": p.column.max(1)},
    })
}

fn suppression(s: &Suppression) -> Value {
    let mut v = json!({
        "kind": match s.kind {
            SuppressionKind::InSource => "inSource",
            SuppressionKind::External => "external",
        },
        "status": "accepted",
        "justification": s.justification,
        "properties": {"via": s.via.name()},
    });
    if let Some(until) = s.until {
        v["properties"]["until"] = json!(until.to_string());
    }
    if let Some(p) = &s.place {
        v["location"] = json!({"physicalLocation": physical_place(p)});
    }
    v
}

/// A `toolExecutionNotification` at a place in a file.
fn notification(level: &str, message: &str, place: Option<Value>) -> Value {
    let mut n = json!({"level": level, "message": {"text": message}});
    if let Some(p) = place {
        n["locations"] = json!([{"physicalLocation": p}]);
    }
    n
}

/// A file, and the region of a location in it where known.
fn physical_location(path: &str, loc: Option<&Loc>) -> Value {
    let mut physical = json!({"artifactLocation": artifact(path)});
    if let Some(loc) = loc {
        let s = loc.span;
        // An end before the start (never from our readers) would be rejected.
        let (end_line, end_col) = if (s.end.line, s.end.col) > (s.start.line, s.start.col) {
            (s.end.line, s.end.col)
        } else {
            (s.start.line, s.start.col + 1)
        };
        physical["region"] = json!({
            "startLine": s.start.line.max(1),
            "startColumn": s.start.col.max(1),
            "endLine": end_line.max(1),
            "endColumn": end_col.max(1),
        });
    }
    physical
}

/// A CloudTrail finding: the declarations it leads back to and the next sample events as related
/// locations, the count, the sample event IDs (and how many are not listed), the time range
/// and the distinct callers, addresses and user agents as properties.
fn add_trail(result: &mut Value, t: &Evidence) {
    let mut related = Vec::new();
    for d in &t.declared {
        related.push(json!({
            "id": related.len() + 1,
            "physicalLocation": physical_location(&d.loc.file, Some(&d.loc)),
            "message": {"text": format!("{} declared here", d.what)},
        }));
    }
    for e in t.samples.iter().skip(1).take(MAX_RELATED_EVENTS) {
        related.push(json!({
            "id": related.len() + 1,
            "physicalLocation": physical_location(&e.location.file, Some(&e.location)),
            "message": {"text": format!("{} {} at {}", e.name, e.id, e.time)},
        }));
    }
    if !related.is_empty() {
        result["relatedLocations"] = json!(related);
    }
    let props = &mut result["properties"];
    props["eventIDs"] = json!(t.samples.iter().map(|e| e.id.as_str()).collect::<Vec<_>>());
    props["count"] = json!(t.count);
    props["eventIDsNotListed"] = json!(t.count - t.samples.len() as u64);
    props["firstSeen"] = json!(t.first_seen);
    props["lastSeen"] = json!(t.last_seen);
    for (name, d) in [
        ("principals", &t.principals),
        ("sourceIPAddresses", &t.addresses),
        ("userAgents", &t.agents),
    ] {
        props[name] = super::distinct_json(d);
    }
    let s = &t.subject;
    for (name, v) in [
        ("key", &s.key),
        ("principal", &s.principal),
        ("function", &s.function),
        ("mapping", &s.mapping),
    ] {
        if let Some(v) = v {
            props[name] = json!(v);
        }
    }
}

pub fn render(report: &Report, root: &Path) -> String {
    // Each result is serialized as it is made (see `github::Serialized`).
    let results: Vec<super::github::Serialized> = report
        .results()
        .map(|f| {
            let rule = report.rule(f);
            let level = match f.finding.outcome {
                Outcome::Unknown if report.unknown == UnknownMode::Warn => "note",
                _ => level(rule.severity),
            };
            let physical = physical_location(&f.path, f.finding.location.as_ref());
            let index = report
                .rules
                .iter()
                .position(|r| r.id == rule.id)
                .unwrap_or(f.finding.rule);
            let mut result = json!({
                "ruleId": rule.id,
                "ruleIndex": index,
                "level": level,
                "message": {"text": f.finding.message},
                "locations": [{
                    "physicalLocation": physical,
                    "logicalLocations": [{
                        "name": f.finding.logical_id,
                        "fullyQualifiedName": format!("{}/{}", f.path, f.finding.resource_id),
                        "kind": "resource",
                    }],
                }],
                "partialFingerprints": {"atrestFindingIdentity/v1": fingerprint(f, rule)},
                "properties": {
                    "outcome": outcome_name(f.finding.outcome),
                    "resourceType": f.finding.resource_type,
                    "property": f.finding.property,
                },
            });
            if !f.finding.related.is_empty() {
                let related: Vec<Value> = f
                    .finding
                    .related
                    .iter()
                    .enumerate()
                    .map(|(i, (loc, what))| {
                        json!({
                            "id": i + 1,
                            "physicalLocation": physical_location(&loc.file, Some(loc)),
                            "message": {"text": what},
                        })
                    })
                    .collect();
                result["relatedLocations"] = json!(related);
            }
            if let Some(t) = &f.finding.trail {
                add_trail(&mut result, t);
            }
            if let Some(s) = &f.suppression {
                result["suppressions"] = json!([suppression(s)]);
            }
            super::github::Serialized::new(&result)
        })
        .collect();
    let levelled = report
        .result
        .errors
        .iter()
        .map(|e| ("error", e))
        .chain(report.result.notes.iter().map(|n| ("note", n)));
    let mut notifications: Vec<Value> = levelled
        .map(|(level, e)| {
            let mut physical = json!({"artifactLocation": artifact(&e.path)});
            if let Some(line) = e.line {
                physical["region"] =
                    json!({"startLine": line.max(1), "startColumn": e.column.unwrap_or(1).max(1)});
            }
            notification(level, &e.message, Some(physical))
        })
        .collect();
    notifications.extend(
        report
            .notices
            .iter()
            .map(|n| notification("warning", &n.message, n.place.as_ref().map(physical_place))),
    );
    let mut doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "atrest",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "informationUri": INFORMATION_URI,
                "rules": report.rules.iter().map(rule_descriptor).collect::<Vec<_>>(),
            }},
            "invocations": [{
                "executionSuccessful": report.result.errors.is_empty(),
                "toolExecutionNotifications": notifications,
            }],
            "originalUriBaseIds": {"%SRCROOT%": {"uri": dir_uri(root)}},
            "columnKind": "unicodeCodePoints",
            "results": [],
        }],
    });
    if let Some(category) = report.category {
        // Code scanning takes the part before the last `/` as the category.
        let id = if category.ends_with('/') {
            category.to_owned()
        } else {
            format!("{category}/")
        };
        doc["runs"][0]["automationDetails"] = json!({"id": id});
    }
    super::github::fit(doc, results)
}

/// The notification a SARIF report cut to GitHub's limits carries, if it was cut.
pub fn truncation_notice(sarif: &str) -> Option<String> {
    if !sarif.contains("atrest/truncated") {
        return None;
    }
    let doc: serde_json::Value = serde_json::from_str(sarif).ok()?;
    doc["runs"][0]["invocations"][0]["toolExecutionNotifications"]
        .as_array()?
        .iter()
        .find(|n| n["descriptor"]["id"] == "atrest/truncated")
        .and_then(|n| n["message"]["text"].as_str())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_percent_encoded() {
        assert_eq!(encode_uri_path("a b/c#d.yaml"), "a%20b/c%23d.yaml");
        assert_eq!(dir_uri(Path::new("/tmp/x y")), "file:///tmp/x%20y/");
        assert_eq!(
            artifact("s3://trail-bucket/AWSLogs/a b.json.gz"),
            json!({"uri": "s3://trail-bucket/AWSLogs/a%20b.json.gz"})
        );
    }
}
