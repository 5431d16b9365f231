//! The real-world corpus in `../shared/corpus` (templates written by others): it must scan
//! without a panic, every error reported there must be a real defect of that file, and the
//! same system written two ways must give the same findings. Skips where the corpus is absent.

use crate::common;

use atrest::report::UnknownMode;
use atrest::scan::ScanResult;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every error the scan may report in the corpus, with why it is the file's fault.
const KNOWN_DEFECTS: &[(&str, &str, &str)] = &[];

/// Keys written twice in the corpus. CloudFormation deploys such a template with the last value
/// (as SAM CLI, whose PyYAML does the same), so they are notes, and the last value is judged.
const DUPLICATE_KEYS: &[(&str, &str)] = &[
    (
        "sam/serverless-patterns/cognito-sns-sms-origination-id-sam/template.yaml",
        "duplicate key \"MfaConfiguration\" (first at line 64)",
    ),
    (
        "sam/serverless-patterns/msk-lambda-schema-avro-java-sam/template_original.yaml",
        "duplicate key \"SchemaRegistryURI\" (first at line 59)",
    ),
];

/// The corpus scanned once per test binary (the tests share it).
fn scan_corpus() -> Option<(&'static ScanResult, std::path::PathBuf)> {
    static SCAN: std::sync::OnceLock<ScanResult> = std::sync::OnceLock::new();
    let cfn = common::shared_corpus("cfn")?;
    let sam = common::shared_corpus("sam")?;
    let root = cfn.parent().unwrap().to_path_buf();
    Some((SCAN.get_or_init(|| common::scan_paths(&[cfn, sam])), root))
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
    common::assert_errors_explained(result, &root, KNOWN_DEFECTS);
    let root_shown = format!("{}/", common::rel(&root));
    for (file, message) in DUPLICATE_KEYS {
        assert!(
            result
                .notes
                .iter()
                .any(|n| n.path.strip_prefix(&root_shown) == Some(file)
                    && n.message.contains(message)
                    && n.message.contains("CloudFormation deploys the last value")),
            "{file}: {message} is a note: {:?}",
            result.notes
        );
    }
    // The whole corpus as one SARIF run is valid too (many shapes of location and message).
    common::assert_valid_sarif(&common::sarif_of(result, UnknownMode::Warn));
}

/// Per file, the number of findings of each rule.
/// Findings per (file, rule, outcome).
fn counts(result: &ScanResult, root: &Path) -> BTreeMap<(String, String, &'static str), usize> {
    let rules = &common::builtin().rules;
    let mut out = BTreeMap::new();
    for f in &result.findings {
        let key = (
            corpus_relative(&f.path, root),
            rules[f.finding.rule].id.clone(),
            atrest::report::outcome_name(f.finding.outcome),
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
    let counts = counts(result, &root);
    let outputs = root.join("cfn/serverless-application-model/tests/translator/output");
    let mut pairs = 0;
    // Pairs where a rule found something, per rule: the comparison must cover the rules the
    // issue names, not only the frequent ones.
    let mut with_findings: BTreeMap<&str, usize> = BTreeMap::new();
    for entry in std::fs::read_dir(&outputs).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        let stem = name.trim_end_matches(".json");
        let input = format!("sam/serverless-application-model/tests/translator/input/{stem}.yaml");
        let output = format!("cfn/serverless-application-model/tests/translator/output/{name}");
        assert!(root.join(&input).is_file(), "no SAM input for {output}");
        pairs += 1;
        for rule in common::builtin().rules.iter().map(|r| r.id.as_str()) {
            let mut any = false;
            for outcome in ["fail", "unknown"] {
                let n = |file: &String| {
                    counts
                        .get(&(file.clone(), rule.to_owned(), outcome))
                        .copied()
                        .unwrap_or(0)
                };
                let (n_in, n_out) = (n(&input), n(&output));
                assert_eq!(
                    n_in, n_out,
                    "{rule} {outcome}: {input} gives {n_in}, its translation {n_out}"
                );
                any |= n_in > 0;
            }
            if any {
                *with_findings.entry(rule).or_default() += 1;
            }
        }
    }
    assert!(pairs >= 60, "compared {pairs} pairs");
    let at_least = [("ATR-L001", 5), ("ATR-L002", 2), ("ATR-L003", 10)];
    for (rule, n) in at_least {
        let got = with_findings.get(rule).copied().unwrap_or(0);
        assert!(
            got >= n,
            "only {got} pairs had {rule} findings: the test would prove little ({with_findings:?})"
        );
    }
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

/// (rule, file) -> the (resource, line) pairs it fires on.
fn fired(result: &ScanResult, root: &Path, rule: &str, file: &str) -> BTreeSet<(String, u32)> {
    let rules = &common::builtin().rules;
    result
        .findings
        .iter()
        .filter(|f| rules[f.finding.rule].id == rule && corpus_relative(&f.path, root) == file)
        .map(|f| {
            let line = f.finding.location.as_ref().map_or(0, |l| l.span.start.line);
            (f.finding.logical_id.clone(), line)
        })
        .collect()
}

fn set(items: &[(&str, u32)]) -> BTreeSet<(String, u32)> {
    items.iter().map(|(r, l)| (r.to_string(), *l)).collect()
}

/// The peers' own test suites ship the expected verdicts; where atrest disagrees, the reason is
/// written here.
#[test]
fn peers_expectations_agree_with_ours() {
    let Some((result, root)) = scan_corpus() else {
        return;
    };
    let checkov = "tests/cloudformation/checks/resource/aws";
    // checkov CKV_AWS_173 (environment variables encrypted): same functions. Our line is the
    // property to change (`Environment`), theirs the resource.
    let enc = format!("{checkov}/example_LambdaEnvironmentEncryptionSettings");
    assert_eq!(
        fired(
            result,
            &root,
            "ATR-L001",
            &format!("cfn/checkov/{enc}/FAIL.yaml")
        ),
        set(&[("EnvAndNoKey", 10)])
    );
    assert_eq!(
        fired(
            result,
            &root,
            "ATR-L001",
            &format!("cfn/checkov/{enc}/PASS.yaml")
        ),
        set(&[])
    );
    assert_eq!(
        fired(
            result,
            &root,
            "ATR-L001",
            &format!("sam/checkov/{enc}/sam.yaml")
        ),
        set(&[("EnvAndNoKey", 26)])
    );
    // KICS "Serverless Function Environment Variables Not Encrypted": same function; KICS
    // reports line 7 (`Properties`), we report the `Environment` key that triggers the rule.
    let kics = "sam/kics/serverless_function_environment_variables_not_encrypted/test";
    assert_eq!(
        fired(result, &root, "ATR-L001", &format!("{kics}/positive1.yaml")),
        set(&[("Function", 22)])
    );
    assert_eq!(
        fired(result, &root, "ATR-L001", &format!("{kics}/negative1.yaml")),
        set(&[])
    );

    // checkov CKV_AWS_45 (credentials in environment variables) and ATR-L009.
    let cred = format!("{checkov}/example_LambdaEnvironmentCredentials");
    assert_eq!(
        fired(
            result,
            &root,
            "ATR-L009",
            &format!("cfn/checkov/{cred}/FAIL.yaml")
        ),
        set(&[("Secret", 11)])
    );
    for pass in ["PASS.yaml", "PASS2.yaml", "PASS3.yaml"] {
        assert_eq!(
            fired(
                result,
                &root,
                "ATR-L009",
                &format!("cfn/checkov/{cred}/{pass}")
            ),
            set(&[]),
            "{pass}"
        );
    }
    assert_eq!(
        fired(
            result,
            &root,
            "ATR-L009",
            &format!("sam/checkov/{cred}/sam.yaml")
        ),
        // checkov fails this SAM function for AWS's documented example key
        // (`AKIAIOSFODNN7EXAMPLE`). Values marked as examples or placeholders are not secrets
        // to ATR-L009 (gitleaks' allowlist treats `...EXAMPLE` keys the same way): we differ.
        set(&[])
    );
    // KICS "Hardcoded AWS Access Key In Lambda" flags `foo: "1234567890123456789012345678901234567890$"`
    // as a secret key: forty digits and a dollar sign under a neutral name. A real secret access
    // key is forty base64 characters with upper- and lower-case letters; flagging any 40-character
    // value would flag commit hashes and ids too. We do not report these, on purpose.
    let hard = "cfn/kics/hardcoded_aws_access_key_in_lambda/test";
    for file in [
        "positive1.yaml",
        "positive2.yaml",
        "positive3.json",
        "positive4.json",
        "negative1.yaml",
        "negative2.json",
    ] {
        assert_eq!(
            fired(result, &root, "ATR-L009", &format!("{hard}/{file}")),
            set(&[]),
            "{file}"
        );
    }
}
