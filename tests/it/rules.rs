//! Every rule's fixtures: each `fixtures/rules/<RULE>/expected.txt` (inventory rules) or
//! `fixtures/cloudtrail/<RULE>/expected.txt` (CloudTrail rules) lists the findings of that rule
//! each fixture must produce (file, line:column, outcome), and nothing else may fire.
//!
//! A fixture is a file, or a subdirectory holding one Terraform module (with its local modules
//! and variable files); its findings are named by their path inside the rule's folder
//! (`fail_tf_module/modules/fn/main.tf`).

use crate::common;

use atrest::engine::Outcome;
use atrest::report::UnknownMode;
use std::collections::BTreeSet;
use std::fs;

type Expected = BTreeSet<(String, u32, u32, &'static str)>;

fn parse_expected(dir: &std::path::Path) -> (Expected, BTreeSet<String>) {
    let text = fs::read_to_string(dir.join("expected.txt")).expect("expected.txt");
    let mut findings = Expected::new();
    let mut files = BTreeSet::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split_whitespace().collect();
        files.insert(cols[0].split('/').next().unwrap().to_owned());
        if cols[1] == "-" {
            continue;
        }
        let (l, c) = cols[1].split_once(':').expect("line:column");
        let outcome = match cols[2] {
            "fail" => "fail",
            "unknown" => "unknown",
            other => panic!("bad outcome {other} in {}", dir.display()),
        };
        findings.insert((
            cols[0].to_owned(),
            l.parse().unwrap(),
            c.parse().unwrap(),
            outcome,
        ));
    }
    (findings, files)
}

/// Files under a fixture directory that are inputs (variable files are read with their module,
/// not as inputs).
fn input_files(dir: &std::path::Path) -> usize {
    let mut n = 0;
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if path.is_dir() {
            n += input_files(&path);
        } else if name != "expected.txt" && !name.contains(".tfvars") {
            n += 1;
        }
    }
    n
}

#[test]
fn every_rule_fires_exactly_where_its_fixtures_say() {
    let roots = ["fixtures/rules", "fixtures/cloudtrail"].map(|r| common::manifest_dir().join(r));
    let mut dirs: Vec<_> = roots
        .iter()
        .flat_map(|root| fs::read_dir(root).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty());
    let rules = &common::builtin().rules;
    for rule in rules {
        let root = if rule.reads_events() {
            &roots[1]
        } else {
            &roots[0]
        };
        assert!(
            root.join(&rule.id).is_dir(),
            "rule {} has no fixtures in {}/{}",
            rule.id,
            root.display(),
            rule.id
        );
    }
    let mut checked = 0;
    for dir in dirs {
        let rule_id = dir.file_name().unwrap().to_string_lossy().to_string();
        let (expected, listed) = parse_expected(&dir);
        let mut on_disk = BTreeSet::new();
        for entry in fs::read_dir(&dir).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().to_string();
            if name != "expected.txt" {
                on_disk.insert(name);
            }
        }
        assert_eq!(
            listed, on_disk,
            "{rule_id}: expected.txt must list every fixture"
        );
        let fires: BTreeSet<&String> = expected.iter().map(|e| &e.0).collect();
        assert!(
            !fires.is_empty()
                && listed
                    .iter()
                    .any(|f| f.starts_with("pass") && !fires.contains(f)),
            "{rule_id}: needs fixtures that fire and pass* fixtures that must not"
        );

        let result = common::scan_paths(std::slice::from_ref(&dir));
        assert!(
            result.errors.is_empty(),
            "{rule_id}: fixture errors {:?}",
            result.errors
        );
        assert_eq!(
            result.inputs(),
            input_files(&dir),
            "{rule_id}: every fixture is read"
        );
        let actual: Expected = result
            .findings
            .iter()
            .filter(|f| rules[f.finding.rule].id == rule_id)
            .map(|f| {
                let loc = f
                    .finding
                    .location
                    .as_ref()
                    .expect("every finding has a location");
                let file = ["rules", "cloudtrail"]
                    .iter()
                    .map(|kind| format!("fixtures/{kind}/{rule_id}/"))
                    .find_map(|inside| {
                        f.path
                            .find(&inside)
                            .map(|i| f.path[i + inside.len()..].to_owned())
                    })
                    .unwrap_or_else(|| f.path.clone());
                let outcome = match f.finding.outcome {
                    Outcome::Fail => "fail",
                    Outcome::Unknown => "unknown",
                };
                (file, loc.span.start.line, loc.span.start.col, outcome)
            })
            .collect();
        assert_eq!(
            actual, expected,
            "{rule_id}: findings differ from expected.txt"
        );
        for mode in [UnknownMode::Warn, UnknownMode::Fail] {
            common::assert_valid_sarif(&common::sarif_of(&result, mode));
        }
        checked += 1;
    }
    assert!(checked >= rules.len());
}
