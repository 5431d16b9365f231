//! The JSON report: stable field names, documented in README.md ("JSON output").

use super::{Report, fingerprint, outcome_name};
use crate::engine::Outcome;
use crate::scan::FileFinding;
use crate::triage::Notice;
use serde::{Serialize, Serializer};
use serde_json::{Value, json};

fn finding(report: &Report, f: &FileFinding) -> Value {
    let rule = report.rule(f);
    let loc = f.finding.location.as_ref();
    let mut v = json!({
                "rule_id": rule.id,
                "title": rule.title,
                "severity": rule.severity,
                "outcome": outcome_name(f.finding.outcome),
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
                "chain": f.finding.chain,
                "fingerprint": fingerprint(f, rule),
    });
    if !f.finding.related.is_empty() {
        v["related"] = json!(
            f.finding
                .related
                .iter()
                .map(|(l, what)| json!({
                    "what": what, "file": l.file.to_string(), "line": l.span.start.line, "column": l.span.start.col,
                }))
                .collect::<Vec<_>>()
        );
    }
    if let Some(t) = &f.finding.trail {
        let s = &t.subject;
        v["cloudtrail"] = json!({
            "key": s.key, "principal": s.principal, "function": s.function, "mapping": s.mapping,
            "count": t.count,
            "events_not_listed": t.count - t.samples.len() as u64,
            "principals": super::distinct_json(&t.principals),
            "source_ip_addresses": super::distinct_json(&t.addresses),
            "user_agents": super::distinct_json(&t.agents),
            "first_seen": t.first_seen,
            "last_seen": t.last_seen,
            "declared": t.declared.iter().map(|d| json!({
                "what": d.what, "file": d.loc.file.to_string(), "line": d.loc.span.start.line, "column": d.loc.span.start.col,
            })).collect::<Vec<_>>(),
            "events": t.samples.iter().map(|e| json!({
                "event_id": e.id, "event_time": e.time, "event_name": e.name,
                "file": e.location.file.to_string(), "line": e.location.span.start.line,
                "column": e.location.span.start.col, "pointer": e.location.pointer,
                "message": e.message,
            })).collect::<Vec<_>>(),
        });
    }
    if let Some(s) = &f.suppression {
        v["suppression"] = json!(s);
    }
    v
}

/// The open (or the suppressed) findings of a report, each made a JSON value only as it is
/// written: a report of 100,000 findings never holds them all as values at once.
struct Findings<'r> {
    report: &'r Report<'r>,
    suppressed: bool,
}

impl Serialize for Findings<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let report = self.report;
        if self.suppressed {
            s.collect_seq(report.suppressed().map(|f| finding(report, f)))
        } else {
            s.collect_seq(report.findings().map(|f| finding(report, f)))
        }
    }
}

/// The document, its members in the order they are written.
#[derive(Serialize)]
struct Document<'r> {
    tool: Value,
    config: Option<&'r str>,
    summary: Value,
    findings: Findings<'r>,
    suppressed: Findings<'r>,
    errors: Vec<Value>,
    notices: &'r [Notice],
    notes: Vec<Value>,
    skipped: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cloudtrail: Option<Value>,
}

pub fn render(report: &Report) -> String {
    let messages = |list: &[crate::scan::InputError]| -> Vec<Value> {
        list.iter()
            .map(|e| json!({"file": e.path, "line": e.line, "column": e.column, "message": e.message}))
            .collect()
    };
    let errors = messages(&report.result.errors);
    let notes = messages(&report.result.notes);
    let by_severity: serde_json::Map<String, Value> = report
        .severity_counts()
        .iter()
        .map(|(s, n)| (s.to_string(), json!(n)))
        .collect();
    let fails = report
        .findings()
        .filter(|f| f.finding.outcome == Outcome::Fail)
        .count();
    let doc = Document {
        tool: json!({"name": "atrest", "version": env!("CARGO_PKG_VERSION")}),
        config: report.config,
        summary: json!({
            "files_scanned": report.result.inputs(),
            "files_skipped": report.result.skipped.len(),
            "fail": fails,
            "unknown": report.unknown_count(),
            "resources_checked": report.result.checked,
            "resources_passed": report.result.passed,
            "suppressed": report.suppressed().count(),
            "by_severity": by_severity,
            "errors": report.result.errors.len(),
        }),
        findings: Findings {
            report,
            suppressed: false,
        },
        suppressed: Findings {
            report,
            suppressed: true,
        },
        errors,
        notices: report.notices,
        notes,
        skipped: report
            .result
            .skipped
            .iter()
            .map(|s| json!({"file": s.path, "reason": s.reason}))
            .collect(),
        cloudtrail: report.result.trail.as_ref().map(|t| {
            json!({
            "log_files": t.files.len(),
            "events": t.events,
            "candidates": t.candidates,
            "evaluated": t.evaluated,
            "duplicates": t.duplicates,
            "facts": t.facts,
            "lambda_keys": t.timelines.iter().map(|k| json!({
                "key": k.key, "why": k.why, "first_seen": k.first_seen, "last_seen": k.last_seen,
                "calls": k.calls.iter().map(|((name, caller), n)| json!({"event_name": name, "caller": caller, "count": n})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            })
        }),
    };
    let mut s = crate::escape::to_json(&doc, true);
    s.push('\n');
    s
}
