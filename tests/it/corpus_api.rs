//! Real deployed state from `../shared/corpus/lambda-api`: Cloud Custodian's recorded AWS
//! responses, the AWS CLI's example outputs, botocore's examples and the Lambda developer
//! guide's event source mapping outputs. Everything must read without a panic, every error must
//! be explained, and what the rules find is checked where the data decides it. Skips where the
//! corpus is absent.
//!
//! The Cloud Custodian recordings wrap each response as `{"status_code", "data"}` (Placebo's
//! format, not the CLI's): they are unwrapped here, into a temporary directory per recorded
//! test, which is then scanned as one account's deployed state.

use crate::common;

use atrest::read::InputKind;
use atrest::scan::ScanResult;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Errors the scan may report, with why each is the file's fault (none so far).
const KNOWN_DEFECTS: &[(&str, &str, &str)] = &[];

struct Scanned {
    /// A name for what was scanned (a recording, or a corpus folder).
    name: String,
    result: ScanResult,
}

/// The recordings of one Cloud Custodian test, unwrapped into `out`: only successful responses
/// (2xx; an error response's `data` is the error).
fn unwrap_recording(dir: &Path, out: &Path) -> usize {
    std::fs::create_dir_all(out).unwrap();
    let mut written = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let wrapped: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
        let status = wrapped["status_code"].as_u64().unwrap_or(0);
        if !(200..300).contains(&status) {
            continue;
        }
        let data = serde_json::to_string_pretty(&wrapped["data"]).unwrap();
        std::fs::write(out.join(path.file_name().unwrap()), data + "\n").unwrap();
        written += 1;
    }
    written
}

fn scan_corpus() -> Option<&'static Vec<Scanned>> {
    static SCANS: std::sync::OnceLock<Vec<Scanned>> = std::sync::OnceLock::new();
    let root = common::shared_corpus("lambda-api")?;
    Some(SCANS.get_or_init(|| {
        let mut scans = Vec::new();
        let placebo = root.join("cloud-custodian/tests/data/placebo");
        let tmp = tempfile::tempdir().unwrap();
        let mut recordings: Vec<PathBuf> = std::fs::read_dir(&placebo)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        recordings.sort();
        for dir in recordings {
            let name = dir.file_name().unwrap().to_string_lossy().to_string();
            let out = tmp.path().join(&name);
            unwrap_recording(&dir, &out);
            validate_models(&out);
            scans.push(Scanned {
                name: format!("cloud-custodian/{name}"),
                result: common::scan_paths(&[out]),
            });
        }
        for folder in ["aws-cli", "aws-lambda-developer-guide", "botocore"] {
            validate_models(&root.join(folder));
            scans.push(Scanned {
                name: folder.to_owned(),
                result: common::scan_paths(&[root.join(folder)]),
            });
        }
        // Keep the temporary files until the scans are done; findings keep their paths.
        drop(tmp);
        scans
    }))
}

/// The models of real responses match the schema policies rely on.
fn validate_models(path: &Path) {
    let loaded = atrest::scan::load(&atrest::scan::ScanOptions::of(vec![path.to_path_buf()]));
    for unit in &loaded.units {
        common::assert_model_valid(unit);
    }
}

/// (rule, outcome) -> number of findings, over every scan.
fn tally(scans: &[Scanned]) -> BTreeMap<(String, &'static str), usize> {
    let rules = &common::builtin().rules;
    let mut out = BTreeMap::new();
    for s in scans {
        for f in &s.result.findings {
            let outcome = common::outcome_name(f.finding.outcome);
            *out.entry((rules[f.finding.rule].id.clone(), outcome))
                .or_insert(0) += 1;
        }
    }
    out
}

#[test]
fn lambda_api_corpus_reads_and_every_error_is_explained() {
    let Some(scans) = scan_corpus() else {
        return;
    };
    let mut shapes: BTreeMap<String, usize> = BTreeMap::new();
    let mut inputs = 0;
    for s in scans {
        for (_, kind) in &s.result.scanned {
            let InputKind::AwsApi(shape) = kind else {
                panic!("{}: read as a template", s.name);
            };
            *shapes.entry(shape.command().to_owned()).or_insert(0) += 1;
            inputs += 1;
        }
        for e in &s.result.errors {
            let file = e.path.rsplit('/').next().unwrap_or(&e.path);
            assert!(
                KNOWN_DEFECTS
                    .iter()
                    .any(|(f, m, _)| *f == file && e.message.contains(m)),
                "unexplained error in {}: {e}",
                s.name
            );
        }
    }
    eprintln!("read {inputs} deployed-state inputs: {shapes:#?}");
    eprintln!("findings (rule, outcome): {:#?}", tally(scans));
    assert!(inputs > 160, "read {inputs} inputs");
    for shape in [
        "aws lambda list-functions",
        "aws lambda get-function",
        "aws lambda get-function-configuration",
        "aws lambda list-event-source-mappings",
        "aws lambda get-event-source-mapping",
        "aws kms describe-key",
        "aws kms list-aliases",
        "aws kms list-keys",
    ] {
        assert!(shapes.contains_key(shape), "no {shape} output read");
    }
}

/// (rule, logical id, outcome) of one scan.
fn fired(scans: &[Scanned], name: &str) -> BTreeSet<(String, String, &'static str)> {
    let scan = scans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no scan {name}"));
    common::fired(&scan.result)
}

#[test]
fn what_the_recorded_responses_decide() {
    let Some(scans) = scan_corpus() else {
        return;
    };
    // A mapping whose filter criteria are encrypted with a customer managed key passes ATR-L002;
    // the others have no criteria at all.
    let esm = fired(
        scans,
        "cloud-custodian/test_aws_lambda_event_source_mapping",
    );
    assert!(
        !esm.iter().any(|(rule, _, _)| rule == "ATR-L002"),
        "{esm:?}"
    );
    // A function using a key that describe-key shows as customer managed: no ATR-L001, and the
    // key's rotation is not in the recording.
    let kms = fired(scans, "cloud-custodian/test_lambda_kms_key_filter");
    assert!(
        !kms.iter().any(|(rule, _, _)| rule == "ATR-L001"),
        "{kms:?}"
    );
    assert!(kms.contains(&(
        "ATR-L005".into(),
        "36812ccf-daaf-49b1-a24b-0eef254ffe41".into(),
        "unknown"
    )));
    // A real account's Control Tower function has variables and no KMSKeyArn.
    let ct = fired(
        scans,
        "cloud-custodian/test_lambda_has_specific_managed_policy",
    );
    assert!(ct.contains(&(
        "ATR-L001".into(),
        "aws-controltower-NotificationForwarder".into(),
        "fail"
    )));
    // list-functions cannot show the package key: unknown, never a failure.
    for s in scans {
        for (rule, id, outcome) in fired(scans, &s.name) {
            if rule == "ATR-L003" && outcome == "fail" {
                let from_get_function = s.result.findings.iter().any(|f| {
                    f.finding.logical_id == id
                        && f.finding
                            .location
                            .as_ref()
                            .is_some_and(|l| l.pointer.starts_with("/Code"))
                });
                assert!(from_get_function, "{}: {id}", s.name);
            }
        }
    }
}
