//! CloudTrail findings made from their evidence, and joined across the parts of a sharded scan.
//! What the evidence keeps, and how two parts' evidence join, is in [`crate::finding`]
//! ([`Evidence`]).

use crate::engine::{Finding, Outcome};
use crate::finding::{Evidence, Subject};
use std::collections::BTreeMap;

/// Joins CloudTrail findings of the same rule and subject (from shards of one scan) into one,
/// as a single scan over all their logs aggregates them (see [`Evidence::absorb`]); the
/// message is made again from the joined evidence. Findings of other kinds pass through; the
/// result is in no particular order.
pub fn join(findings: Vec<Finding>) -> Vec<Finding> {
    let mut joined: BTreeMap<(usize, Subject), (Outcome, Evidence)> = BTreeMap::new();
    let mut others = Vec::new();
    for f in findings {
        let Some(t) = f.trail else {
            others.push(f);
            continue;
        };
        match joined.entry((f.rule, t.subject.clone())) {
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert((f.outcome, *t));
            }
            std::collections::btree_map::Entry::Occupied(mut o) => {
                let into = o.get_mut();
                if f.outcome == Outcome::Fail {
                    into.0 = Outcome::Fail;
                }
                into.1.absorb(*t);
            }
        }
    }
    others.extend(
        joined
            .into_iter()
            .map(|((rule, _), (outcome, evidence))| finding(rule, outcome, evidence)),
    );
    others
}

/// One CloudTrail finding from its evidence: the first event's message, where the subject is
/// declared, and how many events from when to when.
pub fn finding(rule: usize, outcome: Outcome, mut evidence: Evidence) -> Finding {
    evidence.seal();
    let first = evidence
        .samples
        .first()
        .expect("a finding has at least one event");
    let mut message = first.message.clone();
    if !evidence.declared.is_empty() {
        let parts: Vec<String> = evidence
            .declared
            .iter()
            .map(|d| {
                format!(
                    "{} declared at {}:{}",
                    d.what, d.loc.file, d.loc.span.start.line
                )
            })
            .collect();
        message = format!("{} ({})", message.trim_end_matches('.'), parts.join("; "));
        message.push('.');
    }
    if evidence.count > 1 {
        message.push_str(&format!(
            " {} events from {} to {}.",
            evidence.count, evidence.first_seen, evidence.last_seen
        ));
    }
    let Subject {
        key,
        principal,
        function,
        mapping,
    } = &evidence.subject;
    let (resource_type, resource_id) = match (mapping, function, key) {
        (Some(m), _, _) => ("AWS::Lambda::EventSourceMapping", m.clone()),
        (None, Some(f), _) => ("AWS::Lambda::Function", f.clone()),
        (None, None, Some(k)) => ("AWS::KMS::Key", k.clone()),
        _ => (
            "AWS::CloudTrail::Event",
            principal.clone().unwrap_or_default(),
        ),
    };
    let logical_id = function
        .as_deref()
        .map(super::event::function_name)
        .map(str::to_owned)
        .unwrap_or_else(|| resource_id.clone());
    let location = Some(first.location.clone());
    Finding {
        rule,
        outcome,
        message,
        resource_id,
        logical_id,
        resource_type: resource_type.to_owned(),
        source: "cloudtrail",
        property: String::new(),
        subject: None,
        related: Vec::new(),
        location,
        chain: Vec::new(),
        via: None,
        trail: Some(Box::new(evidence)),
    }
}
