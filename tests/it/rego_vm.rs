//! The built-in CloudTrail rules run on regorus's bytecode VM, see only the event fields they
//! declare (`reads`), and reuse verdicts across events that agree on those. The reference for
//! both is plain evaluation: the interpreter, and the VM given whole events with nothing
//! reused. Every CloudTrail fixture, the same events with fields taken away (so every fallback
//! in the policies is reached) or repeated under new IDs (so verdicts are reused), and the
//! shared corpus's logs must give the same report all three ways.

use crate::common;

use atrest::engine::{PolicyOptions, PolicySet};
use atrest::report::UnknownMode;
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

/// The built-in rules as if none declared `reads`: whole events, every event evaluated.
fn policies_on_whole_events() -> PolicySet {
    let mut set = policies(false);
    for rule in &mut set.rules {
        rule.reads = None;
    }
    set
}

fn sarif(paths: &[PathBuf], set: &PolicySet) -> String {
    common::sarif_with(&common::scan_with(paths, set), set, UnknownMode::Warn)
}

fn assert_same(paths: &[PathBuf], what: &str) -> String {
    let a = sarif(paths, &policies(false));
    common::assert_valid_sarif(&a);
    for (other, set) in [
        ("the interpreter", policies(true)),
        ("whole events", policies_on_whole_events()),
    ] {
        let b = sarif(paths, &set);
        common::assert_same_text(&a, &b, ("the VM with declared fields", other), what);
    }
    a
}

#[test]
fn every_builtin_cloudtrail_rule_declares_what_it_reads() {
    let set = policies(false);
    for rule in set.rules.iter().filter(|r| r.reads_events()) {
        assert!(rule.reads.is_some(), "{} has no `reads`", rule.id);
    }
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
    let events = fixture_events(tmp.path());
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

/// Every fixture event three times under new IDs, times and request IDs, shuffled: the second
/// and third are answered from the first's verdicts, and each finding must still list every
/// event it stands for.
#[test]
fn repeated_events_reuse_verdicts_and_keep_every_event() {
    let tmp = tempfile::tempdir().unwrap();
    let events = fixture_events(tmp.path());
    let mut repeated = Vec::new();
    for copy in 0..3 {
        for (i, event) in events.iter().enumerate() {
            let mut e = event.clone();
            e["eventID"] = Value::String(format!("copy-{copy}-{i}"));
            e["eventTime"] = Value::String(format!("2024-06-0{}T00:00:{:02}Z", copy + 1, i % 60));
            e["requestID"] = Value::String(format!("request-{copy}-{i}"));
            repeated.push(e);
        }
    }
    // A fixed shuffle, so copies are interleaved.
    let n = repeated.len();
    for i in 0..n {
        repeated.swap(i, (i * 7919 + 13) % n);
    }
    let log = serde_json::json!({ "Records": repeated });
    std::fs::write(tmp.path().join("repeated.json"), log.to_string()).unwrap();
    let report = assert_same(&[tmp.path().to_path_buf()], "repeated events");
    let sarif: Value = serde_json::from_str(&report).unwrap();
    // The CloudTrail results (the inventories' own findings have no events).
    let results: Vec<&Value> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["properties"]["eventIDs"].is_array())
        .collect();
    assert!(results.len() > 10, "{}", results.len());
    for r in results {
        let ids = r["properties"]["eventIDs"].as_array().unwrap();
        for copy in 0..3 {
            assert!(
                ids.iter()
                    .any(|id| id.as_str().unwrap().starts_with(&format!("copy-{copy}-"))),
                "every copy is listed: {ids:?}"
            );
        }
    }
}

#[test]
fn the_vm_agrees_with_the_interpreter_on_the_shared_corpus() {
    let Some(corpus) = common::shared_corpus("cloudtrail") else {
        return;
    };
    assert_same(&[corpus], "the shared corpus's CloudTrail logs");
}

/// Every event of the CloudTrail fixtures; their inventories are copied to `dir`.
fn fixture_events(dir: &Path) -> Vec<Value> {
    let mut events = Vec::new();
    for entry in walk(&manifest_dir().join("fixtures/cloudtrail")) {
        let name = entry.file_name().unwrap().to_str().unwrap().to_owned();
        if name.ends_with(".yaml") {
            std::fs::copy(&entry, dir.join(&name)).unwrap();
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
    events
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
