//! The data-at-rest map as the reports give it: the scan's [`DataMap`] with a verdict for each
//! cell, function and key, decided after suppressions and `--unknown`. The JSON report carries
//! it as `map`; the HTML and Markdown reports draw it from the same value, so all three say the
//! same thing.

use super::{Report, fingerprint, outcome_name};
use crate::engine::Outcome;
use crate::model::{KeyRef, Tri};
use crate::scan::FileFinding;
use crate::scan::map::{FindingRef, MapKey, state_name};
use serde_json::{Value, json};
use std::collections::HashMap;

/// Verdicts from best to worst; a group takes its worst member's.
const ORDER: &[&str] = &["none", "pass", "suppressed", "unknown", "fail"];

fn worst<'a>(verdicts: impl IntoIterator<Item = &'a str>) -> &'a str {
    verdicts
        .into_iter()
        .max_by_key(|v| ORDER.iter().position(|o| o == v))
        .unwrap_or("pass")
}

type Index<'r> = HashMap<(usize, &'r str, &'r str, &'r str), Vec<&'r FileFinding>>;

struct Judge<'r> {
    report: &'r Report<'r>,
    index: Index<'r>,
}

impl<'r> Judge<'r> {
    fn new(report: &'r Report<'r>) -> Self {
        let mut index: Index = HashMap::new();
        for f in report.results() {
            let k = (
                f.finding.rule,
                f.path.as_str(),
                f.finding.resource_id.as_str(),
                f.finding.property.as_str(),
            );
            index.entry(k).or_default().push(f);
        }
        Judge { report, index }
    }

    /// The reported findings a list of references names, and the worst verdict among them
    /// (`pass` when none is reported).
    fn judge(&self, refs: &[FindingRef]) -> (&'static str, Vec<Value>) {
        let mut verdict = "pass";
        let mut out = Vec::new();
        for r in refs {
            let k = (
                r.rule,
                r.path.as_str(),
                r.resource_id.as_str(),
                r.property.as_str(),
            );
            for f in self.index.get(&k).into_iter().flatten() {
                let v = match (&f.suppression, f.finding.outcome) {
                    (Some(_), _) => "suppressed",
                    (None, Outcome::Fail) => "fail",
                    (None, Outcome::Unknown) => "unknown",
                };
                verdict = worst([verdict, v]);
                let rule = self.report.rule(f);
                out.push(json!({
                    "rule_id": rule.id,
                    "outcome": outcome_name(f.finding.outcome),
                    "suppressed": f.suppression.is_some(),
                    "fingerprint": fingerprint(f, rule),
                }));
            }
        }
        (verdict, out)
    }
}

fn tri(t: Tri) -> Value {
    match t {
        Tri::Yes => json!(true),
        Tri::No => json!(false),
        Tri::Unknown => json!("unknown"),
    }
}

fn key_ref(k: &KeyRef) -> Value {
    json!({
        "state": state_name(k.state),
        "value": k.value,
        "key": k.key,
        "assumed": k.assumed,
        "chain": k.chain,
    })
}

/// The map of the report's scan, with verdicts: `{"functions": [...], "keys": [...]}`.
pub fn map_value(report: &Report) -> Value {
    let judge = Judge::new(report);
    let map = &report.result.map;
    let keys: Vec<(Value, &'static str)> =
        map.keys.iter().map(|k| key(report, &judge, k)).collect();
    let key_verdicts: HashMap<(&str, &str), &str> = map
        .keys
        .iter()
        .zip(&keys)
        .filter(|(k, _)| k.declared)
        .map(|(k, (_, v))| ((k.unit.as_str(), k.id.as_str()), *v))
        .collect();
    let functions: Vec<Value> = map
        .functions
        .iter()
        .map(|f| {
            let mut verdicts = Vec::new();
            let cells: Vec<Value> = f
                .cells
                .iter()
                .map(|c| {
                    let (own, findings) = judge.judge(&c.findings);
                    let verdict = if own == "pass" && c.stored == Tri::No {
                        "none"
                    } else {
                        own
                    };
                    let key_verdict = c
                        .key
                        .as_ref()
                        .and_then(|k| k.key.as_deref())
                        .filter(|_| c.stored != Tri::No)
                        .and_then(|id| key_verdicts.get(&(f.unit.as_str(), id)).copied());
                    verdicts.push(verdict);
                    verdicts.extend(key_verdict);
                    json!({
                        "kind": c.kind,
                        "label": c.label,
                        "stored": tri(c.stored),
                        "key": c.key.as_ref().map(key_ref),
                        "verdict": verdict,
                        "key_verdict": key_verdict,
                        "findings": findings,
                    })
                })
                .collect();
            let (other_verdict, other) = judge.judge(&f.other);
            verdicts.push(other_verdict);
            let verdict = match worst(verdicts) {
                "none" => "pass",
                v => v,
            };
            json!({
                "unit": f.unit,
                "id": f.id,
                "name": f.name,
                "type": f.resource_type,
                "source": f.source,
                "file": f.file,
                "line": f.line,
                "verdict": verdict,
                "cells": cells,
                "other_findings": other,
            })
        })
        .collect();
    let mut keys: Vec<Value> = keys.into_iter().map(|(v, _)| v).collect();
    // Keys CloudTrail shows Lambda using that no input declares.
    if let Some(t) = &report.result.trail {
        for tl in &t.timelines {
            let known = map.keys.iter().any(|k| names_key(k, &tl.key));
            if !known {
                keys.push(json!({
                    "unit": null, "id": tl.key, "name": tl.key, "declared": false,
                    "manager": "unknown", "file": null, "line": null, "enabled": "unknown",
                    "rotation_enabled": "unknown", "pending_deletion": false, "policy_state": "",
                    "protects": [], "drift": [], "verdict": "pass", "findings": [],
                    "cloudtrail": timeline(report, tl),
                }));
            }
        }
    }
    json!({"functions": functions, "keys": keys})
}

/// Whether a key CloudTrail names (an ARN, usually) is this key of the map.
fn names_key(k: &MapKey, text: &str) -> bool {
    k.names.iter().any(|n| {
        !n.is_empty() && (text == n || text.ends_with(&format!("/{n}")) || n.ends_with(text))
    })
}

fn timeline(report: &Report, tl: &crate::trail::KeyTimeline) -> Value {
    let findings = report
        .findings()
        .filter(|f| {
            f.finding
                .trail
                .as_ref()
                .is_some_and(|t| t.subject.key.as_deref() == Some(tl.key.as_str()))
        })
        .count();
    json!({
        "key": tl.key,
        "why": tl.why,
        "first_seen": tl.first_seen,
        "last_seen": tl.last_seen,
        "calls": tl.calls.iter().map(|((name, caller), n)| json!({"event_name": name, "caller": caller, "count": n})).collect::<Vec<_>>(),
        "findings": findings,
    })
}

fn key(report: &Report, judge: &Judge, k: &MapKey) -> (Value, &'static str) {
    let (verdict, findings) = judge.judge(&k.findings);
    // A key only named by a reference is not judged by the key rules.
    let verdict = if k.declared { verdict } else { "none" };
    let cloudtrail = report.result.trail.as_ref().and_then(|t| {
        t.timelines
            .iter()
            .find(|tl| names_key(k, &tl.key))
            .map(|tl| timeline(report, tl))
    });
    let v = json!({
        "unit": k.unit,
        "id": k.id,
        "name": k.name,
        "declared": k.declared,
        "manager": k.manager,
        "file": k.file,
        "line": k.line,
        "enabled": tri(k.enabled),
        "rotation_enabled": tri(k.rotation_enabled),
        "pending_deletion": k.pending_deletion,
        "policy_state": k.policy_state,
        "protects": k.protects,
        "drift": k.drift,
        "verdict": verdict,
        "findings": findings,
        "cloudtrail": cloudtrail,
    });
    (v, verdict)
}

/// The JSON Schema of the map that [`map_value`] writes: the `map` member of the JSON report.
/// Written out in `map.schema.json` because the map is built as values; `tests/it/json_report.rs`
/// validates every report of the fixtures and the corpus against it.
pub fn map_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let value: serde_json::Value = serde_json::from_str(include_str!("map.schema.json"))
        .unwrap_or_else(|e| unreachable!("the map's schema is JSON: {e}"));
    schemars::Schema::try_from(value)
        .unwrap_or_else(|e| unreachable!("the map's schema is an object: {e}"))
}
