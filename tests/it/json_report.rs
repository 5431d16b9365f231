//! The JSON report keeps its published shape: `schemas/report.schema.json` is what the report's
//! types generate, and the reports of the examples, of every fixture directory and of the shared
//! corpus match it, with every optional part (suppressions, related places, CloudTrail evidence,
//! errors, notices) met at least once.

use crate::common;
use std::path::Path;

const REFRESH: &str = "ATREST_BLESS=1 cargo test --test it json_report::";

#[test]
fn the_committed_schema_is_the_generated_one() {
    common::assert_generated(
        "schemas/report.schema.json",
        &atrest::report::json::schema(),
        REFRESH,
    );
}

/// `atrest scan -f json` of `paths` in `dir`, validated; the report.
fn report(dir: &Path, args: &[&str]) -> serde_json::Value {
    let out = common::atrest(dir)
        .args([&["scan", "-f", "json", "--fail-on", "none"], args].concat())
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 2)),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = common::json_report(&out.stdout);
    assert_eq!(doc["schema_version"], atrest::report::json::SCHEMA_VERSION);
    doc
}

/// Which optional parts the reports had, so that the schema is known to be met on each.
#[derive(Default, Debug)]
struct Seen {
    suppressed: bool,
    related: bool,
    cloudtrail: bool,
    errors: bool,
    notices: bool,
    unknown: bool,
}

impl Seen {
    fn add(&mut self, doc: &serde_json::Value) {
        let all = |k: &str| doc[k].as_array().cloned().unwrap_or_default();
        let findings: Vec<_> = all("findings")
            .into_iter()
            .chain(all("suppressed"))
            .collect();
        self.suppressed |= !all("suppressed").is_empty();
        self.related |= findings.iter().any(|f| f.get("related").is_some());
        self.cloudtrail |= findings.iter().any(|f| f.get("cloudtrail").is_some());
        self.errors |= !all("errors").is_empty();
        self.notices |= !all("notices").is_empty();
        self.unknown |= findings.iter().any(|f| f["outcome"] == "unknown");
    }
}

#[test]
fn reports_of_the_examples_and_every_fixture_directory_match_the_schema() {
    let top = common::manifest_dir();
    let mut seen = Seen::default();
    seen.add(&report(&top.join("examples"), &["."]));
    let mut dirs = Vec::new();
    for entry in std::fs::read_dir(top.join("fixtures")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            dirs.push(path);
        }
    }
    dirs.sort();
    assert!(dirs.len() > 5);
    for dir in &dirs {
        // Each rule's fixtures alone too: a report per rule directory.
        let mut runs = vec![dir.clone()];
        for sub in std::fs::read_dir(dir).unwrap() {
            let sub = sub.unwrap().path();
            if sub.is_dir() {
                runs.push(sub);
            }
        }
        for run in runs {
            let doc = report(
                &top,
                &["--report-unused-suppressions", run.to_str().unwrap()],
            );
            seen.add(&doc);
        }
    }
    // Suppressions and their notices: an ignore entry that applies, one past its date, one
    // that matches nothing.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        top.join("examples/orders-service/template.yaml"),
        dir.path().join("t.yaml"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join(".atrest.yaml"),
        "ignore:\n  - {id: ATR-L001, reason: reviewed}\n  - {id: ATR-L002, reason: old, until: 2000-01-01}\n  - {id: ATR-L003, path: none.yaml, reason: gone}\n",
    )
    .unwrap();
    seen.add(&report(
        dir.path(),
        &[
            "--report-unused-suppressions",
            "--skip-rule",
            "ATR-L005=legacy",
            ".",
        ],
    ));
    assert!(
        seen.suppressed && seen.related && seen.cloudtrail && seen.errors && seen.notices,
        "{seen:?}"
    );
    assert!(seen.unknown, "{seen:?}");
}

#[test]
fn reports_of_the_shared_corpus_match_the_schema() {
    for sub in ["cfn", "sam", "terraform", "cloudtrail", "lambda-api"] {
        if let Some(dir) = common::shared_corpus(sub) {
            let doc = report(&dir, &["."]);
            assert!(
                doc["summary"]["files_scanned"].as_u64().unwrap() > 0,
                "{sub}"
            );
        }
    }
}

#[test]
fn the_schema_refuses_a_report_that_breaks_it() {
    let top = common::manifest_dir();
    let doc = report(&top.join("examples"), &["."]);
    let text = serde_json::to_vec(&doc).unwrap();
    let mut broken: serde_json::Value = serde_json::from_slice(&text).unwrap();
    broken["findings"][0]["severity"] = "severe".into();
    let bytes = serde_json::to_vec(&broken).unwrap();
    assert!(std::panic::catch_unwind(|| common::json_report(&bytes)).is_err());
    let mut broken: serde_json::Value = serde_json::from_slice(&text).unwrap();
    broken.as_object_mut().unwrap().remove("schema_version");
    let bytes = serde_json::to_vec(&broken).unwrap();
    assert!(std::panic::catch_unwind(|| common::json_report(&bytes)).is_err());
}
