//! Helpers shared by the integration tests.
#![allow(dead_code)]

use atrest::engine::{PolicyOptions, PolicySet};
use atrest::read::Limits;
use atrest::report::{Report, UnknownMode};
use atrest::scan::{self, ScanOptions, ScanResult};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The built-in policies, loaded once per test binary.
pub fn builtin() -> &'static PolicySet {
    static SET: OnceLock<PolicySet> = OnceLock::new();
    SET.get_or_init(|| {
        let (set, errors) = PolicySet::load(&PolicyOptions {
            builtin: true,
            ..Default::default()
        });
        assert!(errors.is_empty(), "built-in policies must load: {errors:?}");
        set
    })
}

pub fn scan_paths(paths: &[PathBuf]) -> ScanResult {
    scan::scan(
        &ScanOptions {
            paths: paths.to_vec(),
            limits: Limits::default(),
            inventories: Vec::new(),
        },
        builtin(),
    )
}

pub fn sarif_of(result: &ScanResult, unknown: UnknownMode) -> String {
    let report = Report {
        result,
        rules: &builtin().rules,
        unknown,
    };
    atrest::report::sarif::render(&report, &scan::scan_root())
}

fn sarif_validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let text = std::fs::read_to_string(manifest_dir().join("tests/data/sarif-2.1.0.json"))
            .expect("vendored SARIF schema");
        let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
        jsonschema::draft4::new(&schema).expect("the SARIF schema compiles")
    })
}

/// Fails the test unless `text` is SARIF 2.1.0 valid against the official schema.
pub fn assert_valid_sarif(text: &str) {
    let doc: serde_json::Value = serde_json::from_str(text).expect("SARIF is JSON");
    let errors: Vec<String> = sarif_validator()
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF schema violations:\n{}",
        errors.join("\n")
    );
}

/// `../shared/corpus`, or `None` (with a message) where this checkout has no shared folder.
pub fn shared_corpus(sub: &str) -> Option<PathBuf> {
    let dir = manifest_dir().join("../shared/corpus").join(sub);
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipping: {} is absent (the shared corpus lives beside the repository)",
            dir.display()
        );
        None
    }
}

pub fn rel(path: &Path) -> String {
    scan::display_path(path, &scan::scan_root())
}
