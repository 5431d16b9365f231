//! Helpers shared by the integration tests.
#![allow(dead_code)]

use atrest::engine::{PolicyOptions, PolicySet};
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
    scan_with(paths, builtin())
}

/// A scan of `paths` with the given policies.
pub fn scan_with(paths: &[PathBuf], policies: &PolicySet) -> ScanResult {
    scan::scan(&ScanOptions::of(paths.to_vec()), policies)
}

/// A scan of `paths` with the given policies that must read something and fail on nothing:
/// the scaffold of the tests that compare scans (parity, sharding, VM and interpreter).
pub fn scan_clean(paths: &[PathBuf], policies: &PolicySet) -> ScanResult {
    let result = scan_with(paths, policies);
    assert!(result.errors.is_empty(), "{paths:?}: {:?}", result.errors);
    assert!(!result.scanned.is_empty(), "{paths:?}: nothing was read");
    result
}

/// The SARIF report of a scan with the given policies, as `atrest scan` writes it.
pub fn sarif_with(result: &ScanResult, policies: &PolicySet, unknown: UnknownMode) -> String {
    let report = Report::new(result, &policies.rules, unknown);
    atrest::report::sarif::render(&report, &scan::scan_root())
}

/// Equal texts, or a failure naming `what` that shows the first line where they differ (not
/// two whole reports). `names` say what each text is.
pub fn assert_same_text(a: &str, b: &str, names: (&str, &str), what: &str) {
    if a == b {
        return;
    }
    let (x, y): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let at = x
        .iter()
        .zip(&y)
        .position(|(l, r)| l != r)
        .unwrap_or(x.len().min(y.len()));
    panic!(
        "{what}: {} and {} differ at line {}:\n  {}: {:?}\n  {}: {:?}",
        names.0,
        names.1,
        at + 1,
        names.0,
        x.get(at),
        names.1,
        y.get(at)
    );
}

pub fn sarif_of(result: &ScanResult, unknown: UnknownMode) -> String {
    sarif_with(result, builtin(), unknown)
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
    assert_schema_valid(sarif_validator(), &doc, "SARIF");
    // GitHub merges results that share a fingerprint into one alert: each must be distinct.
    for run in doc["runs"].as_array().into_iter().flatten() {
        let mut seen = std::collections::BTreeMap::new();
        for r in run["results"].as_array().into_iter().flatten() {
            if let Some(fp) = r["partialFingerprints"]["atrestFindingIdentity/v1"].as_str()
                && let Some(other) = seen.insert(fp.to_owned(), r)
            {
                panic!("two results share the fingerprint {fp}:\n{other}\n{r}");
            }
        }
    }
}

/// The JSON Schema of the model policies read.
pub fn model_validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let text = std::fs::read_to_string(manifest_dir().join("schemas/model.schema.json"))
            .expect("the model schema");
        let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
        jsonschema::draft7::new(&schema).expect("model schema compiles")
    })
}

/// Fails the test unless a unit's model matches `schemas/model.schema.json`.
pub fn assert_model_valid(unit: &atrest::scan::Unit) {
    let model = serde_json::to_value(&unit.inventory).unwrap();
    let errors: Vec<String> = model_validator()
        .iter_errors(&model)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{:?}: {}", unit.files, errors.join("\n"));
}

/// Says that a test did not run, where `cargo test` shows it: written straight to the
/// process's standard error, which the test harness does not capture (its capture covers only
/// `print!` and `eprint!`), so a skip is never a silent pass. Where the environment variable
/// `require` is set (CI sets each one), a skip is a failure instead.
pub fn skip(test: &str, why: &str, require: &str) {
    assert!(
        std::env::var_os(require).is_none(),
        "{test}: {require} is set, so this test must run, but {why}"
    );
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr().lock(),
        "SKIPPED {test}: {why} (set {require}=1 to make this a failure)"
    );
}

/// `../shared/corpus`, or `None` (with a visible skip) where this checkout has no shared
/// folder. CI sets `ATREST_REQUIRE_SHARED`, which makes the absence a failure.
pub fn shared_corpus(sub: &str) -> Option<PathBuf> {
    let dir = manifest_dir().join("../shared/corpus").join(sub);
    if dir.is_dir() {
        Some(dir)
    } else {
        let test = std::thread::current()
            .name()
            .unwrap_or("a corpus test")
            .to_owned();
        skip(
            &test,
            &format!(
                "{} is absent (the shared corpus lives beside the repository)",
                dir.display()
            ),
            "ATREST_REQUIRE_SHARED",
        );
        None
    }
}

/// The `atrest` binary, run in `dir`, without colour.
pub fn atrest(dir: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("atrest").unwrap();
    cmd.current_dir(dir).env("NO_COLOR", "1");
    cmd
}

/// A temporary directory holding `files` (path, text).
pub fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

/// Runs git in `dir` with a throwaway identity; fails the test if git fails.
pub fn git(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(["-c", "commit.gpgsign=false"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn rel(path: &Path) -> String {
    scan::display_path(path, &scan::scan_root())
}

pub fn outcome_name(o: atrest::engine::Outcome) -> &'static str {
    match o {
        atrest::engine::Outcome::Fail => "fail",
        atrest::engine::Outcome::Unknown => "unknown",
    }
}

/// (rule, resource logical id, outcome) of every finding.
pub fn fired(result: &ScanResult) -> std::collections::BTreeSet<(String, String, &'static str)> {
    let rules = &builtin().rules;
    result
        .findings
        .iter()
        .map(|f| {
            (
                rules[f.finding.rule].id.clone(),
                f.finding.logical_id.clone(),
                outcome_name(f.finding.outcome),
            )
        })
        .collect()
}

/// Fails unless the scan's errors are exactly `known` (file relative to `root`, a part of the
/// message, why it is the file's fault), each naming its line.
pub fn assert_errors_explained(result: &ScanResult, root: &Path, known: &[(&str, &str, &str)]) {
    let root_shown = format!("{}/", rel(root));
    let reported: std::collections::BTreeSet<(String, String)> = result
        .errors
        .iter()
        .map(|e| {
            let file = e.path.strip_prefix(&root_shown).unwrap_or(&e.path);
            (file.to_owned(), e.message.clone())
        })
        .collect();
    for (file, message) in &reported {
        assert!(
            known
                .iter()
                .any(|(f, m, _)| f == file && message.contains(m)),
            "unexplained error in the corpus: {file}: {message}"
        );
    }
    assert_eq!(
        reported.len(),
        known.len(),
        "a known defect was not reported: {reported:?}"
    );
    for e in &result.errors {
        assert!(e.line.is_some(), "corpus errors name their line: {e}");
    }
}

/// The files with open findings in a JSON report, sorted, each once.
pub fn finding_files(json: &[u8]) -> Vec<String> {
    let doc: serde_json::Value = serde_json::from_slice(json).unwrap();
    let mut files: Vec<String> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file"].as_str().unwrap().to_owned())
        .collect();
    files.sort();
    files.dedup();
    files
}

/// Fails unless the committed file at `path` (from the repository's top) holds `text`, as
/// generated; with `ATREST_BLESS=1` writes it instead. `refresh` is the command that does.
pub fn assert_generated(path: &str, text: &str, refresh: &str) {
    let file = manifest_dir().join(path);
    if std::env::var_os("ATREST_BLESS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, text).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(
        committed == text,
        "{path} is not what the code generates; refresh it with `{refresh}` and commit it"
    );
}

fn report_validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let text = std::fs::read_to_string(manifest_dir().join("schemas/report.schema.json"))
            .expect("schemas/report.schema.json");
        let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
        jsonschema::draft202012::new(&schema).expect("the report schema compiles")
    })
}

/// Parses a JSON report, failing the test unless it matches `schemas/report.schema.json`.
pub fn json_report(bytes: &[u8]) -> serde_json::Value {
    let doc: serde_json::Value = serde_json::from_slice(bytes).expect("the report is JSON");
    assert_schema_valid(report_validator(), &doc, "report");
    doc
}

/// Fails the test, listing every violation, unless `doc` is valid against `validator`.
fn assert_schema_valid(validator: &jsonschema::Validator, doc: &serde_json::Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} schema violations:\n{}",
        errors.join("\n")
    );
}

/// Asserts a finished command's exit code, showing its standard error when it differs.
#[track_caller]
pub fn assert_exit(out: &std::process::Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
