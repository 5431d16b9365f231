//! The JSON report: stable field names, documented in README.md ("JSON output").

use super::{Report, fingerprint};
use crate::engine::Outcome;
use serde_json::{Value, json};

pub fn render(report: &Report) -> String {
    let findings: Vec<Value> = report
        .findings()
        .map(|f| {
            let rule = report.rule(f);
            let loc = f.finding.location.as_ref();
            json!({
                "rule_id": rule.id,
                "title": rule.title,
                "severity": rule.severity,
                "outcome": match f.finding.outcome { Outcome::Fail => "fail", Outcome::Unknown => "unknown" },
                "message": f.finding.message,
                "file": f.path,
                "line": loc.map(|l| l.span.start.line),
                "column": loc.map(|l| l.span.start.col),
                "end_line": loc.map(|l| l.span.end.line),
                "end_column": loc.map(|l| l.span.end.col),
                "pointer": loc.map(|l| l.pointer.clone()),
                "resource": {
                    "id": f.finding.resource_id,
                    "logical_id": f.finding.logical_id,
                    "type": f.finding.resource_type,
                    "source": f.finding.source,
                },
                "property": f.finding.property,
                "fingerprint": fingerprint(f, rule),
            })
        })
        .collect();
    let errors: Vec<Value> = report
        .result
        .errors
        .iter()
        .map(|e| json!({"file": e.path, "line": e.line, "column": e.column, "message": e.message}))
        .collect();
    let by_severity: serde_json::Map<String, Value> = report
        .severity_counts()
        .iter()
        .map(|(s, n)| (s.to_string(), json!(n)))
        .collect();
    let fails = report
        .findings()
        .filter(|f| f.finding.outcome == Outcome::Fail)
        .count();
    let doc = json!({
        "tool": {"name": "atrest", "version": env!("CARGO_PKG_VERSION")},
        "summary": {
            "files_scanned": report.result.inputs(),
            "files_skipped": report.result.skipped,
            "fail": fails,
            "unknown": report.unknown_count(),
            "by_severity": by_severity,
            "errors": report.result.errors.len(),
        },
        "findings": findings,
        "errors": errors,
    });
    let mut s = serde_json::to_string_pretty(&doc).expect("JSON values always serialize");
    s.push('\n');
    s
}
