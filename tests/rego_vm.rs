//! The built-in CloudTrail rules run on regorus's bytecode VM; the interpreter is the
//! reference. Every CloudTrail fixture, the same events with fields taken away (so every
//! fallback in the policies is reached), and the shared corpus's logs must give the same
//! report both ways.

mod common;

use atrest::engine::{PolicyOptions, PolicySet};
use atrest::report::UnknownMode;
use atrest::scan;
use common::manifest_dir;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn policies(interpreter_only: bool) -> PolicySet {
    let (set, errors) = PolicySet::load(&PolicyOptions {
        builtin: true,
        interpreter_only,
        ..Default::default()
    });
    assert!(errors.is_empty(), "{errors:?}");
    set
}

fn sarif(paths: &[PathBuf], set: &PolicySet) -> String {
    let result = common::scan_with(paths, set);
    let report = atrest::report::Report::new(&result, &set.rules, UnknownMode::Warn);
    atrest::report::sarif::render(&report, &scan::scan_root())
}

fn assert_same(paths: &[PathBuf], what: &str) -> String {
    let (vm, interpreter) = (policies(false), policies(true));
    let a = sarif(paths, &vm);
    common::assert_valid_sarif(&a);
    let b = sarif(paths, &interpreter);
    if a != b {
        let at = a
            .lines()
            .zip(b.lines())
            .position(|(x, y)| x != y)
            .unwrap_or(0);
        panic!(
            "{what}: the VM and the interpreter disagree at line {}:\n  vm:          {:?}\n  interpreter: {:?}",
            at + 1,
            a.lines().nth(at),
            b.lines().nth(at)
        );
    }
    a
}

#[test]
fn every_builtin_cloudtrail_rule_runs_on_the_vm() {
    let set = policies(false);
    let cloudtrail: Vec<&str> = set
        .rules
        .iter()
        .filter(|r| r.reads_events())
        .map(|r| r.id.as_str())
        .collect();
    assert!(cloudtrail.len() >= 7, "{cloudtrail:?}");
    assert_eq!(set.vm_rules(), cloudtrail);
    assert!(policies(true).vm_rules().is_empty());
}

#[test]
fn the_vm_agrees_with_the_interpreter_on_every_fixture() {
    let root = manifest_dir().join("fixtures/cloudtrail");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let report = assert_same(std::slice::from_ref(&dir), &dir.display().to_string());
        assert!(report.contains("\"ruleId\": \"ATR-C"), "{}", dir.display());
    }
}

/// Events of every fixture, again with one field at a time taken away or emptied: the
/// policies' fallbacks ("an unknown key", the account from the event, ...) are what the VM
/// once got wrong.
#[test]
fn the_vm_agrees_with_the_interpreter_on_events_with_fields_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let mut events = Vec::new();
    for entry in walk(&manifest_dir().join("fixtures/cloudtrail")) {
        let name = entry.file_name().unwrap().to_str().unwrap().to_owned();
        if name.ends_with(".yaml") {
            std::fs::copy(&entry, tmp.path().join(&name)).unwrap();
            continue;
        }
        if !name.ends_with(".json") && !name.ends_with(".jsonl") {
            continue;
        }
        let text = std::fs::read_to_string(&entry).unwrap();
        if name.ends_with(".jsonl") {
            events.extend(
                text.lines()
                    .map(|l| serde_json::from_str::<Value>(l).unwrap()),
            );
            continue;
        }
        match serde_json::from_str::<Value>(&text).unwrap() {
            Value::Object(o) if o.contains_key("Records") => {
                events.extend(o["Records"].as_array().unwrap().iter().cloned())
            }
            Value::Array(a) => events.extend(a),
            _ => {}
        }
    }
    assert!(events.len() > 30, "{}", events.len());
    let cuts: &[&[&str]] = &[
        &["userIdentity", "arn"],
        &["userIdentity", "invokedBy"],
        &["userIdentity"],
        &["requestParameters", "keyId"],
        &["requestParameters", "functionName"],
        &["requestParameters", "kMSKeyArn"],
        &["requestParameters", "encryptionContext"],
        &["requestParameters"],
        &["resources"],
        &["recipientAccountId"],
        &["errorCode"],
        &["userAgent"],
    ];
    let mut variants = Vec::new();
    for (i, event) in events.iter().enumerate() {
        for (j, cut) in cuts.iter().enumerate() {
            let mut e = event.clone();
            let (last, parents) = cut.split_last().unwrap();
            let mut at = &mut e;
            for p in parents {
                at = &mut at[*p];
            }
            let Some(o) = at.as_object_mut() else {
                continue;
            };
            if o.remove(*last).is_none() {
                continue;
            }
            e["eventID"] = Value::String(format!("variant-{i}-{j}"));
            variants.push(e);
        }
        // And `null` where CloudTrail writes it for calls without parameters.
        let mut e = event.clone();
        e["requestParameters"] = Value::Null;
        e["eventID"] = Value::String(format!("variant-{i}-null"));
        variants.push(e);
    }
    let log = serde_json::json!({ "Records": variants });
    std::fs::write(tmp.path().join("variants.json"), log.to_string()).unwrap();
    let report = assert_same(&[tmp.path().to_path_buf()], "events with fields missing");
    for fallback in ["an unknown principal", "an unknown key", "of unknown"] {
        assert!(
            report.contains(fallback),
            "the variants reach the fallback {fallback:?}"
        );
    }
}

#[test]
fn the_vm_agrees_with_the_interpreter_on_the_shared_corpus() {
    let Some(corpus) = common::shared_corpus("cloudtrail") else {
        return;
    };
    assert_same(&[corpus], "the shared corpus's CloudTrail logs");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}
