//! One policy across source formats: each `fixtures/parity/<system>/` holds the same system in
//! several formats (`cloudformation.yaml`, `sam.yaml`, `terraform/`, `api/` with the AWS CLI
//! output of the deployed system, ...). Each format is scanned on its own, and all must give
//! the same rules on the same resources, with the same outcomes.
//!
//! Resources are compared by the name they have in every format: a function by its function
//! name, a mapping by its function's, a log group by its name, a key by the functions whose data
//! it protects (a key has no common name: a logical ID in a template, an ARN when deployed).

use crate::common;

use atrest::model::Inventory;
use atrest::scan::{ScanOptions, load};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The name a model object has in every source format.
fn common_name(inv: &Inventory, id: &str) -> String {
    let function = |id: &str| {
        inv.functions.iter().find(|f| f.origin.id == id).map(|f| {
            f.name
                .clone()
                .unwrap_or_else(|| f.origin.logical_id.clone())
        })
    };
    if let Some(name) = function(id) {
        return format!("function {name}");
    }
    if let Some(m) = inv.event_source_mappings.iter().find(|m| m.origin.id == id) {
        let of = m.function.as_deref().and_then(function).unwrap_or_default();
        return format!("mapping of {of}");
    }
    if let Some(k) = inv.kms_keys.iter().find(|k| k.origin.id == id) {
        let users: BTreeSet<String> = k.used_by.iter().map(|u| common_name(inv, u)).collect();
        return format!(
            "key of {}",
            users.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
    if let Some(g) = inv.log_groups.iter().find(|g| g.origin.id == id) {
        return format!("log group {}", g.name.clone().unwrap_or_default());
    }
    if inv.xray_encryption.iter().any(|x| x.origin.id == id) {
        return "X-Ray encryption".into();
    }
    format!("? {id}")
}

/// (rule, resource name, outcome) of every finding of one format of a system.
fn findings(path: &Path) -> BTreeSet<(String, String, &'static str)> {
    let loaded = load(&ScanOptions::of(vec![path.to_path_buf()]));
    assert!(
        loaded.errors.is_empty(),
        "{}: {:?}",
        path.display(),
        loaded.errors
    );
    assert!(
        !loaded.scanned.is_empty(),
        "{}: nothing read",
        path.display()
    );
    let policies = common::builtin();
    let mut eval = policies.evaluator();
    let mut out = BTreeSet::new();
    for unit in &loaded.units {
        let (findings, failures) = eval.evaluate(&unit.inventory);
        assert!(failures.is_empty(), "{failures:?}");
        for f in findings {
            out.insert((
                policies.rules[f.rule].id.clone(),
                common_name(&unit.inventory, &f.resource_id),
                atrest::report::outcome_name(f.outcome),
            ));
        }
    }
    out
}

#[test]
fn every_format_of_a_system_gives_the_same_rules_on_the_same_resources() {
    let root = common::manifest_dir().join("fixtures/parity");
    let mut systems: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    systems.sort();
    assert!(systems.len() >= 2);
    let mut compared = 0;
    for system in systems {
        let mut formats: Vec<PathBuf> = std::fs::read_dir(&system)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
            .collect();
        formats.sort();
        let results: BTreeMap<String, BTreeSet<(String, String, &'static str)>> = formats
            .iter()
            .map(|f| {
                (
                    f.file_name().unwrap().to_string_lossy().to_string(),
                    findings(f),
                )
            })
            .collect();
        assert!(
            results.len() >= 2 && results.contains_key("api"),
            "{}: a system needs several formats, one of them api/",
            system.display()
        );
        let (first, expected) = results.iter().next().unwrap();
        assert!(
            !expected.is_empty(),
            "{}: no findings to compare",
            system.display()
        );
        for (format, got) in &results {
            assert_eq!(
                got,
                expected,
                "{}: {format} and {first} differ",
                system.display()
            );
            compared += 1;
        }
    }
    assert!(compared >= 6, "compared {compared} formats");
}
