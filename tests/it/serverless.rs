//! Serverless Framework services: `fixtures/serverless/<service>/serverless.yml`, written from
//! the framework's documentation, must give exactly the findings `fixtures/serverless/expected.txt`
//! lists (file, line, column, rule, outcome); and a `serverless.yml` is told apart from the
//! framework's other providers and from files that only share its name.

use crate::common;

use atrest::scan::load;
use std::collections::BTreeSet;

type Found = BTreeSet<(String, u32, u32, String, &'static str)>;

fn expected(dir: &std::path::Path) -> Found {
    let text = std::fs::read_to_string(dir.join("expected.txt")).unwrap();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            let (line, col) = cols[1].split_once(':').unwrap();
            let outcome = match cols[3] {
                "fail" => "fail",
                "unknown" => "unknown",
                other => panic!("bad outcome {other}"),
            };
            (
                cols[0].to_owned(),
                line.parse().unwrap(),
                col.parse().unwrap(),
                cols[2].to_owned(),
                outcome,
            )
        })
        .collect()
}

#[test]
fn services_give_the_findings_their_fixtures_list() {
    let dir = common::manifest_dir().join("fixtures/serverless");
    let result = common::scan_paths(std::slice::from_ref(&dir));
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    // `includes/resources.yml` is also a template of its own (its typed resources say so).
    let services = result
        .scanned
        .iter()
        .filter(|(_, k)| k.name() == "serverless");
    assert_eq!(services.count(), 6);
    let rules = &common::builtin().rules;
    let prefix = format!("{}/", common::rel(&dir));
    let got: Found = result
        .findings
        .iter()
        .map(|f| {
            let loc = f.finding.location.as_ref().expect("located");
            assert_eq!(f.finding.source, "serverless");
            (
                f.path.strip_prefix(&prefix).unwrap_or(&f.path).to_owned(),
                loc.span.start.line,
                loc.span.start.col,
                rules[f.finding.rule].id.clone(),
                common::outcome_name(f.finding.outcome),
            )
        })
        .collect();
    assert_eq!(got, expected(&dir));
    for mode in [
        atrest::report::UnknownMode::Warn,
        atrest::report::UnknownMode::Fail,
    ] {
        common::assert_valid_sarif(&common::sarif_of(&result, mode));
    }
}

#[test]
fn models_match_the_schema_and_name_serverless_yml_paths() {
    let dir = common::manifest_dir().join("fixtures/serverless");
    let loaded = load(&atrest::scan::ScanOptions::of(vec![dir]));
    for unit in &loaded.units {
        common::assert_model_valid(unit);
    }
    let globals = loaded
        .units
        .iter()
        .find(|u| u.files[0].contains("globals"))
        .unwrap();
    let checkout = globals
        .inventory
        .functions
        .iter()
        .find(|f| f.origin.logical_id == "CheckoutLambdaFunction")
        .unwrap();
    assert_eq!(
        checkout.origin.locations["kms_key"].pointer,
        "/functions/checkout/kmsKeyArn"
    );
    let browse = &globals.inventory.functions[0];
    assert_eq!(
        browse.origin.locations["kms_key"].pointer,
        "/provider/kmsKeyArn"
    );
    assert_eq!(browse.name.as_deref(), Some("shop-dev-browse"));
}

#[test]
fn only_aws_services_named_serverless_are_read() {
    let dir = common::project(&[
        // The framework's other providers deploy no Lambda function.
        (
            "azure/serverless.yml",
            "service: s\nprovider:\n  name: azure\nfunctions:\n  f:\n    handler: h\n",
        ),
        // The same keys in a file of another name are not a service.
        (
            "other/config.yml",
            "service: s\nprovider:\n  name: aws\nfunctions:\n  f:\n    handler: h\n",
        ),
        // A file named like a service without its keys is something else.
        ("plain/serverless.yml", "custom:\n  a: 1\n"),
        ("noprovider/serverless.yml", "service: s\nresources: {}\n"),
        // Version 4 of the framework: no `provider` is AWS.
        (
            "v4/serverless.yml",
            "service: s\nfunctions:\n  f:\n    handler: h\n",
        ),
        // The framework's JSON form, and the older `provider: aws`.
        (
            "json/serverless.json",
            r#"{"service": "s", "provider": {"name": "aws"}, "functions": {"f": {"handler": "h", "environment": {"A": "1"}}}}"#,
        ),
        (
            "old/serverless.yaml",
            "service:\n  name: s\nprovider: aws\nfunctions:\n  f:\n    handler: h\n",
        ),
    ]);
    let result = common::scan_paths(&[dir.path().to_path_buf()]);
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    let mut read: Vec<&str> = result.scanned.iter().map(|(f, _)| f.as_str()).collect();
    read.sort();
    assert_eq!(read.len(), 3, "{read:?}");
    assert!(read[0].ends_with("json/serverless.json"));
    assert!(read[1].ends_with("old/serverless.yaml"));
    assert!(read[2].ends_with("v4/serverless.yml"));
    assert_eq!(result.skipped.len(), 4, "{:?}", result.skipped);
    assert!(
        result
            .findings
            .iter()
            .any(|f| f.path.ends_with("json/serverless.json")
                && f.finding.logical_id == "FLambdaFunction")
    );
}

#[test]
fn a_broken_service_is_an_error_at_its_line_and_the_rest_is_scanned() {
    let dir = common::project(&[
        (
            "broken/serverless.yml",
            "service: s\nprovider:\n  name: aws\nfunctions:\n  f:\n    handler: [h\n",
        ),
        (
            "ok/serverless.yml",
            "service: s\nprovider:\n  name: aws\n  environment:\n    A: '1'\nfunctions:\n  f:\n    handler: h\n",
        ),
    ]);
    let out = common::atrest(dir.path())
        .args(["scan", "."])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stderr.contains("broken/serverless.yml:7:") || stdout.contains("broken/serverless.yml:7:"),
        "{stderr}{stdout}"
    );
    assert!(
        stdout.contains("ok/serverless.yml:4:3 ATR-L001"),
        "{stdout}"
    );
}

#[test]
fn a_deployed_function_is_paired_with_the_service_that_declares_it() {
    // The framework names the function `<service>-<stage>-<function>`; the deployed one has
    // another key than the service gives it.
    let deployed = r#"{
    "Configuration": {
        "FunctionName": "shop-prod-api",
        "FunctionArn": "arn:aws:lambda:eu-west-1:111122223333:function:shop-prod-api",
        "Runtime": "nodejs22.x",
        "Role": "arn:aws:iam::111122223333:role/shop-role",
        "Handler": "api.handler",
        "Version": "$LATEST",
        "KMSKeyArn": "arn:aws:kms:eu-west-1:111122223333:key/2345bcde-23bc-45de-67fa-234567890abc",
        "Environment": {"Variables": {"TABLE": "orders"}},
        "PackageType": "Zip"
    },
    "Tags": {"aws:cloudformation:logical-id": "ApiLambdaFunction"}
}
"#;
    let dir = common::project(&[
        (
            "svc/serverless.yml",
            "service: shop\nprovider:\n  name: aws\n  stage: ${opt:stage, 'prod'}\n  kmsKeyArn: arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab\n  environment:\n    TABLE: orders\nfunctions:\n  api:\n    handler: api.handler\n",
        ),
        ("api/lambda-get-function-shop-prod-api.json", deployed),
    ]);
    let result = common::scan_paths(&[dir.path().to_path_buf()]);
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    let rules = &common::builtin().rules;
    let drift: Vec<_> = result
        .findings
        .iter()
        .filter(|f| rules[f.finding.rule].id == "ATR-L011")
        .collect();
    assert_eq!(drift.len(), 1, "{:?}", result.findings);
    assert!(
        drift[0].finding.message.contains("svc/serverless.yml:5:3"),
        "{}",
        drift[0].finding.message
    );
}

/// Anchors, aliases and merge keys are expanded as js-yaml does: only `ingest` takes the AWS
/// managed key from the merged defaults (`report` lists the customer managed key first, `export`
/// writes its own), and its finding points at the anchored `kmsKeyArn`.
#[test]
fn merge_keys_give_each_function_its_own_key() {
    let dir = common::manifest_dir().join("fixtures/serverless/anchors");
    let result = common::scan_paths(std::slice::from_ref(&dir));
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    let rules = &common::builtin().rules;
    let l001: Vec<_> = result
        .findings
        .iter()
        .filter(|f| rules[f.finding.rule].id == "ATR-L001")
        .collect();
    assert_eq!(l001.len(), 1, "{l001:?}");
    assert!(l001[0].finding.message.contains("IngestLambdaFunction"));
}

/// A "billion laughs" in one service is an error where the copies pass the budget; the
/// template beside it is scanned and keeps its finding.
#[test]
fn a_billion_laughs_service_is_an_error_and_the_rest_is_scanned() {
    let mut laughs = String::from(
        "service: s\nprovider:\n  name: aws\ncustom:\n  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for i in 1..40 {
        let prev = vec![format!("*a{}", i - 1); 9].join(", ");
        laughs.push_str(&format!("  a{i}: &a{i} [{prev}]\n"));
    }
    laughs.push_str("functions:\n  f:\n    handler: h\n    environment: {A: *a39}\n");
    let dir = common::project(&[
        ("laughs/serverless.yml", laughs.as_str()),
        (
            "ok/template.yaml",
            "Resources:\n  F:\n    Type: AWS::Lambda::Function\n    Properties:\n      Environment:\n        Variables: {A: '1'}\n",
        ),
    ]);
    let out = common::atrest(dir.path())
        .args(["scan", "."])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(all.contains("laughs/serverless.yml:9:"), "{all}");
    assert!(all.contains("billion laughs"), "{all}");
    assert!(all.contains("ok/template.yaml:5:7 ATR-L001"), "{all}");
}
