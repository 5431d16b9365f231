//! The real-world corpus in `../shared/corpus` (templates written by others): it must scan
//! without a panic, every error reported there must be a real defect of that file, and the
//! same system written two ways must give the same findings. Skips where the corpus is absent.

mod common;

use atrest::report::UnknownMode;
use atrest::scan::ScanResult;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every error the scan may report in the corpus, with why it is the file's fault.
const KNOWN_DEFECTS: &[(&str, &str, &str)] = &[
    (
        "sam/serverless-patterns/cognito-sns-sms-origination-id-sam/template.yaml",
        "duplicate key \"MfaConfiguration\"",
        "the user pool sets MfaConfiguration twice (lines 64 and 65); CloudFormation rejects it",
    ),
    (
        "sam/serverless-patterns/msk-lambda-schema-avro-java-sam/template_original.yaml",
        "duplicate key \"SchemaRegistryURI\"",
        "SchemaRegistryConfig sets SchemaRegistryURI twice (lines 59 and 60)",
    ),
];

fn scan_corpus() -> Option<(ScanResult, std::path::PathBuf)> {
    let cfn = common::shared_corpus("cfn")?;
    let sam = common::shared_corpus("sam")?;
    let root = cfn.parent().unwrap().to_path_buf();
    Some((common::scan_paths(&[cfn, sam]), root))
}

fn corpus_relative(path: &str, root: &Path) -> String {
    let root = common::rel(root);
    path.strip_prefix(&format!("{root}/"))
        .unwrap_or(path)
        .to_owned()
}

#[test]
fn cfn_and_sam_corpus_scans_and_every_error_is_a_real_defect() {
    let Some((result, root)) = scan_corpus() else {
        return;
    };
    assert!(
        result.scanned.len() > 350,
        "read {} templates",
        result.scanned.len()
    );
    common::assert_errors_explained(&result, &root, KNOWN_DEFECTS);
    // The whole corpus as one SARIF run is valid too (many shapes of location and message).
    common::assert_valid_sarif(&common::sarif_of(&result, UnknownMode::Warn));
}

/// Per file, the number of findings of each rule.
fn counts(result: &ScanResult, root: &Path) -> BTreeMap<(String, String), usize> {
    let rules = &common::builtin().rules;
    let mut out = BTreeMap::new();
    for f in &result.findings {
        let key = (
            corpus_relative(&f.path, root),
            rules[f.finding.rule].id.clone(),
        );
        *out.entry(key).or_insert(0) += 1;
    }
    out
}

#[test]
fn sam_inputs_and_their_translations_agree() {
    let Some((result, root)) = scan_corpus() else {
        return;
    };
    let counts = counts(&result, &root);
    let outputs = root.join("cfn/serverless-application-model/tests/translator/output");
    let mut pairs = 0;
    let mut with_findings = 0;
    for entry in std::fs::read_dir(&outputs).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        let stem = name.trim_end_matches(".json");
        let input = format!("sam/serverless-application-model/tests/translator/input/{stem}.yaml");
        let output = format!("cfn/serverless-application-model/tests/translator/output/{name}");
        assert!(root.join(&input).is_file(), "no SAM input for {output}");
        pairs += 1;
        for rule in ["ATR-L001", "ATR-L002"] {
            let n_in = counts
                .get(&(input.clone(), rule.into()))
                .copied()
                .unwrap_or(0);
            let n_out = counts
                .get(&(output.clone(), rule.into()))
                .copied()
                .unwrap_or(0);
            assert_eq!(
                n_in, n_out,
                "{rule}: {input} gives {n_in}, its translation {n_out}"
            );
            if n_in > 0 {
                with_findings += 1;
            }
        }
    }
    assert!(pairs >= 60, "compared {pairs} pairs");
    assert!(
        with_findings >= 10,
        "only {with_findings} pairs had findings: the test would prove little"
    );
}

#[test]
fn json_and_yaml_versions_of_a_template_agree() {
    let Some((result, root)) = scan_corpus() else {
        return;
    };
    let rules = &common::builtin().rules;
    let mut by_file: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for f in &result.findings {
        by_file
            .entry(corpus_relative(&f.path, &root))
            .or_default()
            .insert((
                rules[f.finding.rule].id.clone(),
                f.finding.resource_id.clone(),
            ));
    }
    let mut pairs = 0;
    for (path, _) in &result.scanned {
        let rel = corpus_relative(path, &root);
        let Some(stem) = rel.strip_suffix(".json") else {
            continue;
        };
        let yaml = format!("{stem}.yaml");
        if !root.join(&yaml).is_file() || !rel.starts_with("cfn/aws-cloudformation-templates/") {
            continue;
        }
        pairs += 1;
        assert_eq!(
            by_file.get(&rel),
            by_file.get(&yaml),
            "{rel} and {yaml} differ"
        );
    }
    assert!(pairs >= 25, "compared {pairs} JSON/YAML pairs");
}
