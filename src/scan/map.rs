//! The data-at-rest map of a scan, drawn from the model the rules were evaluated on: see
//! [`crate::finding::map`] for what it holds.

use crate::engine::Finding;
pub use crate::finding::map::{Cell, DataMap, FindingRef, KINDS, MapFunction, MapKey, state_name};
use crate::model::{FilterCriteria, Inventory, KeyRef, Tri};
use std::collections::{BTreeMap, BTreeSet};

/// Adds the map of one unit: its inventory and the findings the rules gave on it, each
/// reported under `path_of(finding)`.
pub fn add_unit(
    map: &mut DataMap,
    unit: &str,
    inventory: &Inventory,
    findings: &[Finding],
    path_of: impl Fn(&Finding) -> String,
) {
    // Findings by the object they are about, each once, in order. Repeats are found through
    // a set: a function with 10,000 findings made the search of its list quadratic.
    let mut by_object: BTreeMap<&str, Vec<FindingRef>> = BTreeMap::new();
    let mut seen: BTreeSet<FindingRef> = BTreeSet::new();
    for f in findings {
        let r = FindingRef {
            rule: f.rule,
            path: path_of(f),
            resource_id: f.resource_id.clone(),
            property: f.property.clone(),
        };
        if seen.insert(r.clone()) {
            by_object.entry(f.resource_id.as_str()).or_default().push(r);
        }
    }
    let of = |id: &str| by_object.get(id).cloned().unwrap_or_default();
    let log_groups: BTreeMap<&str, &crate::model::LogGroup> = inventory
        .log_groups
        .iter()
        .map(|l| (l.origin.id.as_str(), l))
        .collect();
    let mut mappings: BTreeMap<&str, Vec<&crate::model::EventSourceMapping>> = BTreeMap::new();
    for m in &inventory.event_source_mappings {
        if let Some(f) = m.function.as_deref() {
            mappings.entry(f).or_default().push(m);
        }
    }
    let xray_findings: Vec<FindingRef> = inventory
        .xray_encryption
        .iter()
        .flat_map(|x| of(&x.origin.id))
        .collect();
    let xray_key = inventory.xray_encryption.first().map(|x| x.kms_key.clone());
    let mut protects: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut named: BTreeMap<String, (KeyRef, Vec<String>)> = BTreeMap::new();
    for f in &inventory.functions {
        let mut own = of(&f.origin.id);
        let mut take = |pred: &dyn Fn(&str) -> bool| -> Vec<FindingRef> {
            let (hit, rest): (Vec<_>, Vec<_>) = own.drain(..).partition(|r| pred(&r.property));
            own = rest;
            hit
        };
        let mut cells = Vec::new();
        let env_stored = match &f.environment {
            None => Tri::No,
            Some(e) if e.variables_unknown => Tri::Unknown,
            Some(e) => Tri::from(!e.variables.is_empty()),
        };
        cells.push(Cell {
            kind: "environment".into(),
            label: None,
            stored: env_stored,
            key: Some(f.kms_key.clone()),
            findings: take(&|p| p == "kms_key" || p.starts_with("environment")),
        });
        cells.push(Cell {
            kind: "package".into(),
            label: None,
            stored: match f.package_type.as_str() {
                "Zip" => Tri::Yes,
                "Image" => Tri::No,
                _ => Tri::Unknown,
            },
            key: Some(f.code_kms_key.clone()),
            findings: take(&|p| p.starts_with("code")),
        });
        for m in mappings.get(f.origin.id.as_str()).into_iter().flatten() {
            cells.push(Cell {
                kind: "filter_criteria".into(),
                label: Some(m.origin.logical_id.clone()),
                stored: match m.filter_criteria {
                    FilterCriteria::Absent => Tri::No,
                    FilterCriteria::Present | FilterCriteria::Encrypted => Tri::Yes,
                    FilterCriteria::Unknown => Tri::Unknown,
                },
                key: Some(m.kms_key.clone()),
                findings: of(&m.origin.id),
            });
        }
        let group = f
            .log_group_resource
            .as_deref()
            .and_then(|id| log_groups.get(id));
        let mut log_findings = take(&|p| p.starts_with("log_group"));
        if let Some(g) = group {
            log_findings.extend(of(&g.origin.id));
        }
        cells.push(Cell {
            kind: "logs".into(),
            label: group
                .and_then(|g| g.name.clone())
                .or_else(|| f.log_group.clone()),
            stored: Tri::Yes,
            key: group.map(|g| g.kms_key.clone()),
            findings: log_findings,
        });
        let active = f.tracing_mode.as_deref().map(|m| m == "Active");
        let mut trace_findings = take(&|p| p.starts_with("tracing"));
        if active == Some(true) {
            trace_findings.extend(xray_findings.iter().cloned());
        }
        cells.push(Cell {
            kind: "traces".into(),
            label: None,
            stored: match active {
                Some(a) => Tri::from(a),
                None => Tri::No,
            },
            key: if active == Some(true) {
                xray_key.clone()
            } else {
                None
            },
            findings: trace_findings,
        });
        cells.push(Cell {
            kind: "durable".into(),
            label: None,
            stored: Tri::from(f.durable.is_some()),
            key: f.durable.as_ref().map(|d| d.kms_key.clone()),
            findings: take(&|p| p.starts_with("durable")),
        });
        for c in &cells {
            let (Some(k), false) = (&c.key, c.stored == Tri::No) else {
                continue;
            };
            let what = format!(
                "{}: {}{}",
                f.origin.logical_id,
                c.kind,
                c.label
                    .as_deref()
                    .map(|l| format!(" ({l})"))
                    .unwrap_or_default()
            );
            match (&k.key, &k.value) {
                (Some(id), _) => protects.entry(id.clone()).or_default().push(what),
                (None, Some(v)) => named
                    .entry(v.clone())
                    .or_insert_with(|| (k.clone(), Vec::new()))
                    .1
                    .push(what),
                (None, None) => {}
            }
        }
        let loc = f.origin.locations.get("");
        map.functions.push(MapFunction {
            unit: unit.to_owned(),
            id: f.origin.id.clone(),
            name: f.origin.logical_id.clone(),
            resource_type: f.origin.resource_type.clone(),
            source: f.origin.source.to_owned(),
            file: loc.map(|l| l.file.to_string()),
            line: loc.map(|l| l.span.start.line),
            cells,
            other: own,
        });
    }
    let mut drift: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for d in &inventory.deployments {
        for k in d.keys.iter().filter(|k| k.same != Tri::Yes) {
            let line = format!(
                "{} {}: template {} ({}), deployed {}{}",
                d.template.logical_id,
                k.property,
                key_text(&k.template),
                k.template_at,
                key_text(&k.deployed),
                if k.same == Tri::Unknown {
                    " (cannot tell if the same)"
                } else {
                    ""
                }
            );
            let ids: BTreeSet<&str> = [k.template.key.as_deref(), k.deployed.key.as_deref()]
                .into_iter()
                .flatten()
                .collect();
            for id in ids {
                drift.entry(id).or_default().push(line.clone());
            }
        }
    }
    for k in &inventory.kms_keys {
        let loc = k.origin.locations.get("");
        let mut names = vec![k.origin.id.clone(), k.origin.logical_id.clone()];
        names.extend(
            inventory
                .kms_aliases
                .iter()
                .filter(|a| a.target_key.as_deref() == Some(k.origin.id.as_str()))
                .filter_map(|a| a.name.clone()),
        );
        names.dedup();
        map.keys.push(MapKey {
            unit: unit.to_owned(),
            id: k.origin.id.clone(),
            name: k.origin.logical_id.clone(),
            declared: true,
            manager: k.manager.to_owned(),
            file: loc.map(|l| l.file.to_string()),
            line: loc.map(|l| l.span.start.line),
            enabled: k.enabled,
            rotation_enabled: k.rotation_enabled,
            pending_deletion: k.pending_deletion,
            policy_state: k.policy_state.to_owned(),
            protects: protects.remove(k.origin.id.as_str()).unwrap_or_default(),
            names,
            drift: drift.remove(k.origin.id.as_str()).unwrap_or_default(),
            findings: of(&k.origin.id),
        });
    }
    for (value, (key, protects)) in named {
        map.keys.push(MapKey {
            unit: unit.to_owned(),
            id: value.clone(),
            name: value.clone(),
            declared: false,
            manager: state_name(key.state).to_owned(),
            file: None,
            line: None,
            enabled: Tri::Unknown,
            rotation_enabled: Tri::Unknown,
            pending_deletion: false,
            policy_state: String::new(),
            protects,
            names: vec![value],
            drift: Vec::new(),
            findings: Vec::new(),
        });
    }
}

fn key_text(k: &KeyRef) -> String {
    k.value
        .clone()
        .or_else(|| k.key.clone())
        .unwrap_or_else(|| state_name(k.state).to_owned())
}
