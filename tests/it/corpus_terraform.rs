//! The Terraform part of `../shared/corpus` (configuration written by others, and one real plan):
//! it must scan without a panic, every error reported there must be a real defect of that
//! module, and where the corpus ships another tool's expectations about Lambda environment
//! encryption or about what the model reads, atrest must agree or the test must say why not.
//! Skips where the corpus is absent.
//!
//! The corpus has no KICS query for Terraform Lambda environment encryption (KICS has one only
//! for SAM), so ATR-L001 is compared with checkov's CKV_AWS_173 example, and the model is
//! compared with the KICS Terraform queries that look at the same blocks (environment
//! variables, tracing).

use crate::common;

use atrest::engine::Outcome;
use atrest::report::UnknownMode;
use atrest::scan::{self, ScanOptions, ScanResult};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Every error the scan may report in the corpus, with why it is the configuration's fault.
const KNOWN_DEFECTS: &[(&str, &str, &str)] = &[
    (
        "kics/public_lambda_via_api_gateway/test/positive.tf",
        "duplicate resource \"aws_lambda_function\" \"example\"",
        "KICS keeps positive and negative cases as files of one folder; Terraform reads a folder \
         as one module, and both files declare aws_lambda_function.example",
    ),
    (
        "kics/public_lambda_via_api_gateway/test/positive.tf",
        "duplicate resource \"aws_lambda_permission\" \"apigw\"",
        "the same two files both declare aws_lambda_permission.apigw",
    ),
    (
        "kics/lambda_function_with_privileged_role/test/positive.tf",
        "environment is a block",
        "`environment = { variables = ... }` is argument syntax for a block, which Terraform \
         rejects (\"An argument named environment is not expected here\")",
    ),
    (
        "kics/lambda_function_with_privileged_role/test/negative.tf",
        "environment is a block",
        "the same argument syntax in the negative case",
    ),
];

fn corpus() -> Option<PathBuf> {
    common::shared_corpus("terraform")
}

fn relative(path: &str, root: &Path) -> String {
    let root = common::rel(root);
    path.strip_prefix(&format!("{root}/"))
        .unwrap_or(path)
        .to_owned()
}

/// (rule, outcome) counts per file of the corpus.
fn by_file(
    result: &ScanResult,
    root: &Path,
) -> BTreeMap<String, Vec<(String, u32, &'static str, String)>> {
    let rules = &common::builtin().rules;
    let mut out: BTreeMap<String, Vec<_>> = BTreeMap::new();
    for f in &result.findings {
        out.entry(relative(&f.path, root)).or_default().push((
            rules[f.finding.rule].id.clone(),
            f.finding.location.as_ref().map_or(0, |l| l.span.start.line),
            match f.finding.outcome {
                Outcome::Fail => "fail",
                Outcome::Unknown => "unknown",
            },
            f.finding.logical_id.clone(),
        ));
    }
    out
}

#[test]
fn terraform_corpus_scans_and_every_error_is_a_real_defect() {
    let Some(root) = corpus() else {
        return;
    };
    let result = common::scan_paths(std::slice::from_ref(&root));
    assert!(
        result.scanned.len() >= 190,
        "read {} inputs",
        result.scanned.len()
    );
    common::assert_errors_explained(&result, &root, KNOWN_DEFECTS);
    // Remote modules are notes, each at its call.
    assert!(result.notes.len() >= 15, "{} notes", result.notes.len());
    for n in &result.notes {
        assert!(n.line.is_some(), "{n}");
        assert!(n.message.contains("not"), "{n}");
    }
    common::assert_valid_sarif(&common::sarif_of(&result, UnknownMode::Warn));

    // What the corpus holds, rule by rule: a change here is a change in behaviour to look at.
    let rules = &common::builtin().rules;
    let mut counts: BTreeMap<(String, &str), usize> = BTreeMap::new();
    for f in &result.findings {
        let outcome = match f.finding.outcome {
            Outcome::Fail => "fail",
            Outcome::Unknown => "unknown",
        };
        *counts
            .entry((rules[f.finding.rule].id.clone(), outcome))
            .or_default() += 1;
    }
    let expected: BTreeMap<(String, &str), usize> = [
        // 4 of them: the kics privileged-role functions, whose `environment = {...}` is an
        // error and is still read.
        (("ATR-L001".to_owned(), "fail"), 38),
        (("ATR-L001".to_owned(), "unknown"), 2),
        (("ATR-L002".to_owned(), "fail"), 6),
        (("ATR-L003".to_owned(), "fail"), 102),
        (("ATR-L004".to_owned(), "fail"), 54),
        (("ATR-L004".to_owned(), "unknown"), 50),
        // lambda-durable-function-chaining-terraform: the provider cannot set its key.
        (("ATR-L007".to_owned(), "fail"), 1),
        (("ATR-L008".to_owned(), "unknown"), 2),
        // Two secrets; the four values of AWS's documented example key pair are placeholders.
        (("ATR-L009".to_owned(), "fail"), 2),
    ]
    .into_iter()
    .collect();
    assert_eq!(counts, expected);
}

#[test]
fn the_lambda_module_is_evaluated_through_its_callers() {
    let Some(root) = corpus() else {
        return;
    };
    let result = common::scan_paths(&[root.join("terraform-aws-lambda")]);
    let files = by_file(&result, &root);
    // The module's own directory is called by its examples, so it is not a root of its own:
    // its findings are those of the callers that give it environment variables
    // (examples/complete, examples/with-vpc-s3-endpoint) and filter criteria
    // (examples/event-source-mapping, whose filtered mappings the module gives no key).
    let module = &files["terraform-aws-lambda/main.tf"];
    let mut found: Vec<(String, u32, &str, String)> = module
        .iter()
        .filter(|(rule, ..)| rule == "ATR-L001" || rule == "ATR-L002")
        .cloned()
        .collect();
    found.sort();
    assert_eq!(
        found,
        vec![
            (
                "ATR-L001".to_owned(),
                56,
                "fail",
                "module.lambda_function.aws_lambda_function.this".to_owned()
            ),
            (
                "ATR-L001".to_owned(),
                56,
                "fail",
                "module.lambda_s3_write.aws_lambda_function.this".to_owned()
            ),
            (
                "ATR-L002".to_owned(),
                447,
                "fail",
                "module.lambda_function.aws_lambda_event_source_mapping.this".to_owned()
            ),
        ]
    );
    let vias: Vec<&str> = result
        .findings
        .iter()
        .filter_map(|f| f.finding.via.as_deref())
        .collect();
    for example in ["complete", "with-vpc-s3-endpoint", "event-source-mapping"] {
        assert!(
            vias.iter()
                .any(|v| v.contains(&format!("examples/{example}/main.tf"))),
            "no finding reached through examples/{example}: {vias:?}"
        );
    }
}

/// checkov's CKV_AWS_173 test (`test_LambdaEnvironmentEncryptionSettings.py`) expects
/// `aws_lambda_function.pass` to pass and `fail` and `failkmsnovars` to fail; `ignore` and
/// `failasempty` have no result. ATR-L001 agrees on `pass`, `ignore` and `failasempty`, and
/// differs on the two failures, for reasons the model shows.
#[test]
fn checkov_environment_encryption_expectations() {
    let Some(root) = corpus() else {
        return;
    };
    let dir = root.join(
        "checkov/tests/terraform/checks/resource/aws/example_LambdaEnvironmentEncryptionSettings",
    );
    let result = common::scan_paths(std::slice::from_ref(&dir));
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    let rules = &common::builtin().rules;
    let fired: Vec<&str> = result
        .findings
        .iter()
        .filter(|f| rules[f.finding.rule].id == "ATR-L001")
        .map(|f| f.finding.logical_id.as_str())
        .collect();
    assert!(fired.is_empty(), "ATR-L001 fired on {fired:?}");

    let loaded = scan::load(&ScanOptions::of(vec![dir]));
    let inv = &loaded.units[0].inventory;
    let function = |name: &str| {
        inv.functions
            .iter()
            .find(|f| f.origin.logical_id == format!("aws_lambda_function.{name}"))
            .unwrap()
    };
    // `fail`: its block is `environment { test = "true" }`. The provider's environment block
    // has one argument, `variables`; `test` is not one (Terraform rejects it), so no variable
    // is stored and there is nothing to encrypt. checkov counts any environment block.
    let fail = function("fail");
    let env = fail.environment.as_ref().expect("the block is read");
    assert!(env.variables.is_empty() && !env.variables_unknown);
    // `failkmsnovars`: a key and no environment. checkov fails it as a "state mismatch"; no
    // environment variable is stored, so no data at rest is left unencrypted.
    assert!(function("failkmsnovars").environment.is_none());
    // `pass`, `ignore`, `failasempty`: no variables either; agreeing with checkov's pass and
    // its absence of a result.
    for name in ["pass", "ignore", "failasempty"] {
        let f = function(name);
        assert!(
            f.environment
                .as_ref()
                .is_none_or(|e| e.variables.is_empty()),
            "{name}"
        );
    }
}

/// The functions of checkov's tests that do have variables: checkov ships no CKV_AWS_173
/// expectations for them, but its Terraform check (`LambdaEnvironmentEncryptionSettings.py`)
/// fails an `environment` block without a non-empty `kms_key_arn`, and both functions of
/// `example_LambdaEnvironmentCredentials` with variables have no key: ATR-L001 fails both, at
/// their `environment` blocks, and not `no_env`. (Where checkov passes any non-empty key, such
/// as `alias/aws/lambda`, ATR-L001 fails on purpose: see fixtures/rules/ATR-L001.)
#[test]
fn checkov_functions_with_variables_fail_environment_encryption_as_in_checkov() {
    let Some(root) = corpus() else {
        return;
    };
    assert_eq!(
        fired_in_credentials_example(&root, "ATR-L001"),
        [
            ("aws_lambda_function.pass".to_owned(), 8),
            ("aws_lambda_function.fail".to_owned(), 28)
        ]
    );
}

/// (logical id, line) of each finding of `rule` in checkov's
/// `example_LambdaEnvironmentCredentials`.
fn fired_in_credentials_example(root: &std::path::Path, rule: &str) -> Vec<(String, u32)> {
    let dir = root
        .join("checkov/tests/terraform/checks/resource/aws/example_LambdaEnvironmentCredentials");
    let result = common::scan_paths(std::slice::from_ref(&dir));
    let rules = &common::builtin().rules;
    result
        .findings
        .iter()
        .filter(|f| rules[f.finding.rule].id == rule)
        .map(|f| {
            (
                f.finding.logical_id.clone(),
                f.finding.location.as_ref().unwrap().span.start.line,
            )
        })
        .collect()
}

/// checkov's CKV_AWS_45 test (`example_LambdaEnvironmentCredentials`) expects `fail` to fail
/// for an access key id and a secret access key written as literals: AWS's documented example
/// pair (`AKIAIOSFODNN7EXAMPLE`, `wJalr...EXAMPLEKEY`). Values marked as examples or
/// placeholders are not secrets to ATR-L009 (as gitleaks' allowlist treats `...EXAMPLE` keys),
/// so here we differ from checkov on purpose; `pass` and `no_env` pass for both.
#[test]
fn checkov_environment_credentials_expectations() {
    let Some(root) = corpus() else {
        return;
    };
    assert_eq!(fired_in_credentials_example(&root, "ATR-L009"), []);
}

/// The KICS Terraform queries that read the same blocks: "Hardcoded AWS access key in Lambda"
/// flags environment variable values (every such function stores variables, so ATR-L001 must
/// fire on it, at its environment block), and "Lambda functions without X-Ray tracing" flags
/// tracing settings (which the model reads as `tracing_mode`).
#[test]
fn kics_expectations_on_the_same_blocks() {
    let Some(root) = corpus() else {
        return;
    };
    let query = root.join("kics/hardcoded_aws_access_key_in_lambda/test");
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(query.join("positive_expected_result.json")).unwrap(),
    )
    .unwrap();
    let result = common::scan_paths(std::slice::from_ref(&query));
    let files = by_file(&result, &root);
    let positive = &files["kics/hardcoded_aws_access_key_in_lambda/test/positive.tf"];
    let text = std::fs::read_to_string(query.join("positive.tf")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    for e in expected.as_array().unwrap() {
        let line = e["line"].as_u64().unwrap() as u32;
        // The `environment {` line that opens the block holding KICS's flagged value.
        let env_line = (1..=line)
            .rev()
            .find(|l| {
                lines[*l as usize - 1]
                    .trim_start()
                    .starts_with("environment")
            })
            .expect("the value is inside an environment block");
        assert!(
            positive
                .iter()
                .any(|(rule, l, outcome, _)| rule == "ATR-L001"
                    && *l == env_line
                    && *outcome == "fail"),
            "KICS flags line {line}; ATR-L001 should fire at line {env_line}: {positive:?}"
        );
    }
    // KICS's negative case stores variables too (harmless ones) without a key: ATR-L001 fires,
    // as it concerns encryption, not the values.
    assert_eq!(
        files["kics/hardcoded_aws_access_key_in_lambda/test/negative.tf"]
            .iter()
            .filter(|(rule, ..)| rule == "ATR-L001")
            .count(),
        1
    );
    // The query itself: ATR-L009 reports the same values, on the lines KICS expects (the
    // values are shaped like access key ids), and nothing in the negative case (`foo = "test"`).
    let mut l009: Vec<u32> = positive
        .iter()
        .filter(|(rule, ..)| rule == "ATR-L009")
        .map(|(_, line, ..)| *line)
        .collect();
    l009.sort();
    let mut kics_lines: Vec<u32> = expected
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap() as u32)
        .collect();
    kics_lines.sort();
    assert_eq!(l009, kics_lines);
    assert!(
        !files["kics/hardcoded_aws_access_key_in_lambda/test/negative.tf"]
            .iter()
            .any(|(rule, ..)| rule == "ATR-L009")
    );

    let query = root.join("kics/lambda_functions_without_x-ray_tracing/test");
    let loaded = scan::load(&ScanOptions::of(vec![query]));
    let inv = &loaded.units[0].inventory;
    let tracing: BTreeMap<&str, Option<&str>> = inv
        .functions
        .iter()
        .map(|f| (f.origin.logical_id.as_str(), f.tracing_mode.as_deref()))
        .collect();
    // positive_expected_result.json: line 28 (`mode = "PassThrough"` of test_lambda2) and line
    // 45 (test_lambda3, no tracing_config); negative.tf's test_lambda is Active.
    assert_eq!(tracing["aws_lambda_function.test_lambda"], Some("Active"));
    assert_eq!(
        tracing["aws_lambda_function.test_lambda2"],
        Some("PassThrough")
    );
    assert_eq!(tracing["aws_lambda_function.test_lambda3"], None);
}

/// The real plan (Terraform 0.12, checkov's runner test): the function stores two variables
/// with `kms_key_arn: null`, which CKV_AWS_173 fails too.
#[test]
fn the_real_plan_is_read() {
    let Some(root) = corpus() else {
        return;
    };
    let plan = root.join("checkov/tests/terraform/runner/resources/plan/tfplan.json");
    let result = common::scan_paths(std::slice::from_ref(&plan));
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    let found: Vec<(String, String, u32)> = result
        .findings
        .iter()
        .map(|f| {
            (
                common::builtin().rules[f.finding.rule].id.clone(),
                f.finding.logical_id.clone(),
                f.finding.location.as_ref().unwrap().span.start.line,
            )
        })
        .collect();
    // Its variables are AWS's documented example access key pair, written as literals: no
    // ATR-L009, since they are placeholders (checkov's CKV_AWS_45 fails the function). The plan
    // declares no log group for it (ATR-L004, unknown).
    let analysis = "aws_lambda_function.analysis_lambda".to_owned();
    assert_eq!(
        found,
        [
            ("ATR-L001".to_owned(), analysis.clone(), 619),
            ("ATR-L003".to_owned(), analysis.clone(), 619),
            ("ATR-L004".to_owned(), analysis, 619),
        ]
    );
}
