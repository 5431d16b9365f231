//! The command line as a user meets it: exit codes, formats, errors beside findings.

use crate::common;

use common::{atrest, project};
use std::fs;
use std::path::Path;

const FAILING: &str = "Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      Code: {ZipFile: x}\n      Environment:\n        Variables: {A: b}\n";
const PASSING: &str = "Resources:\n  Key:\n    Type: AWS::KMS::Key\n    Properties: {EnableKeyRotation: true}\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      KmsKeyArn: !GetAtt Key.Arn\n      Environment:\n        Variables: {A: b}\n";
const UNKNOWN_ONLY: &str = "Parameters:\n  K: {Type: String}\nResources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      KmsKeyArn: !Ref K\n      Environment:\n        Variables: {A: b}\n";

/// Runs atrest in `dir` with `args`; the output, whatever the exit code.
fn run(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    atrest(dir).args(args).output().unwrap()
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn exit_codes_follow_fail_on() {
    let dir = project(&[("stack/template.yaml", FAILING)]);
    let out = atrest(dir.path()).args(["scan"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("stack/template.yaml:6:7 ATR-L001 medium"),
        "{text}"
    );
    assert!(
        text.contains("6 |       Environment:"),
        "shows the source line: {text}"
    );
    assert!(text.contains("= fix (cloudformation)"), "{text}");
    assert!(
        text.contains("2 findings (1 medium, 1 low), 1 unknown in 1 input"),
        "{text}"
    );

    for (fail_on, code) in [("none", 0), ("high", 0), ("medium", 1), ("low", 1)] {
        let out = run(dir.path(), &["scan", "--fail-on", fail_on]);
        assert_eq!(out.status.code(), Some(code), "--fail-on {fail_on}");
    }
    let dir = project(&[
        ("ok.yaml", PASSING),
        ("notes.txt", "hello"),
        ("other.yaml", "a: 1\n"),
    ]);
    let out = run(dir.path(), &["scan", "--rule", "ATR-L001", "."]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains(
        "No findings in 1 input; 2 of 2 resources passed every rule; 2 other files skipped."
    ));
}

#[test]
fn unknown_findings_warn_by_default_and_fail_when_asked() {
    let dir = project(&[("t.yaml", UNKNOWN_ONLY)]);
    let l001 = ["scan", "--rule", "ATR-L001"];
    let out = atrest(dir.path()).args(l001).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out).contains("ATR-L001 unknown"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("No findings, 1 unknown in 1 input"),
        "{}",
        stdout(&out)
    );
    let out = run(dir.path(), &["scan", "--unknown", "fail"]);
    assert_eq!(out.status.code(), Some(1));
    let out = run(dir.path(), &["scan", "--unknown", "pass"]);
    assert!(!stdout(&out).contains("ATR-L001"));
}

#[test]
fn a_broken_template_is_reported_and_the_rest_still_scanned() {
    let dir = project(&[
        ("good.yaml", FAILING),
        (
            "broken.yaml",
            "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Fn:\n    Type: [unclosed\n",
        ),
        (
            "broken.json",
            "{\"Resources\": {\"Fn\": {\"Type\": \"AWS::Lambda::Function\",}}}",
        ),
        // js-yaml, which the Serverless Framework reads with, refuses a key written twice.
        (
            "serverless.yml",
            "service: s\nprovider:\n  name: aws\nservice: t\n",
        ),
    ]);
    let out = atrest(dir.path()).args(["scan"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "an input error wins over findings"
    );
    let text = stdout(&out);
    assert!(text.contains("good.yaml:6:7 ATR-L001"), "{text}");
    assert!(text.contains("error: broken.yaml:"), "{text}");
    assert!(text.contains("error: broken.json:1:"), "{text}");
    assert!(
        text.contains("error: serverless.yml:4:1: duplicate key \"service\""),
        "{text}"
    );
    assert!(text.contains("3 input errors"), "{text}");
    for line in text.lines().filter(|l| l.starts_with("error:")) {
        assert!(!line.contains('\n'));
    }

    let out = run(
        dir.path(),
        &["scan", "--rule", "ATR-L001", "--format", "sarif"],
    );
    assert_eq!(out.status.code(), Some(2));
    let sarif = stdout(&out);
    common::assert_valid_sarif(&sarif);
    let doc: serde_json::Value = serde_json::from_str(&sarif).unwrap();
    let inv = &doc["runs"][0]["invocations"][0];
    assert_eq!(inv["executionSuccessful"], false);
    assert_eq!(
        inv["toolExecutionNotifications"].as_array().unwrap().len(),
        3
    );
    assert_eq!(doc["runs"][0]["results"].as_array().unwrap().len(), 1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error: broken.yaml:"),
        "errors repeated on stderr: {stderr}"
    );
}

#[test]
fn sarif_output_is_valid_and_points_at_the_property() {
    let dir = project(&[("infra/app.yaml", FAILING)]);
    let out = run(
        dir.path(),
        &[
            "scan",
            "--rule",
            "ATR-L001",
            "--format",
            "sarif",
            "--output",
            "out.sarif",
            "infra",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let sarif = fs::read_to_string(dir.path().join("out.sarif")).unwrap();
    common::assert_valid_sarif(&sarif);
    let doc: serde_json::Value = serde_json::from_str(&sarif).unwrap();
    let run = &doc["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "atrest");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 1, "only the rules that ran are described");
    for r in rules {
        assert!(r["properties"]["security-severity"].is_string());
        assert!(
            r["help"]["markdown"]
                .as_str()
                .unwrap()
                .contains("How to fix")
        );
    }
    let result = &run["results"][0];
    assert_eq!(result["ruleId"], "ATR-L001");
    assert_eq!(
        rules[result["ruleIndex"].as_u64().unwrap() as usize]["id"],
        "ATR-L001"
    );
    let loc = &result["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "infra/app.yaml");
    assert_eq!(loc["artifactLocation"]["uriBaseId"], "%SRCROOT%");
    assert_eq!(loc["region"]["startLine"], 6);
    assert_eq!(loc["region"]["startColumn"], 7);
    assert_eq!(result["locations"][0]["logicalLocations"][0]["name"], "Fn");
    assert_eq!(result["properties"]["outcome"], "fail");
    assert!(result["partialFingerprints"]["atrestFindingIdentity/v1"].is_string());
}

#[test]
fn fingerprints_survive_moved_lines() {
    let a = project(&[("t.yaml", FAILING)]);
    let moved = format!("# a comment\n# another\n{FAILING}");
    let b = project(&[("t.yaml", moved.as_str())]);
    let fp = |dir: &Path| {
        let out = run(dir, &["scan", "--format", "json"]);
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let f = &doc["findings"][0];
        (
            f["fingerprint"].as_str().unwrap().to_owned(),
            f["line"].as_u64().unwrap(),
        )
    };
    let (fa, la) = fp(a.path());
    let (fb, lb) = fp(b.path());
    assert_eq!(fa, fb);
    assert_eq!(lb, la + 2);
}

#[test]
fn user_policies_load_and_broken_ones_name_their_line() {
    let custom = "# METADATA\n# title: Functions must set a name\n# custom:\n#   id: ORG-001\n#   severity: high\npackage org.function_name\n\nimport rego.v1\n\ndeny contains f if {\n\tsome fn in input.functions\n\tnot fn.name\n\tf := {\"resource\": fn.id, \"message\": sprintf(\"%s has no FunctionName\", [fn.logical_id])}\n}\n";
    let dir = project(&[("t.yaml", FAILING), ("policies/name.rego", custom)]);
    let out = run(
        dir.path(),
        &["scan", "--no-builtin", "--policy", "policies", "t.yaml"],
    );
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("t.yaml:2:3 ORG-001 high: Fn has no FunctionName"),
        "{text}"
    );
    assert!(!text.contains("ATR-L001"));

    let broken = "package org.broken\n\nimport rego.v1\n\ndeny contains f if {\n\tf := \n}\n";
    let dir = project(&[("t.yaml", FAILING), ("policies/broken.rego", broken)]);
    let out = run(dir.path(), &["scan", "--policy", "policies"]);
    assert_eq!(out.status.code(), Some(2));
    let text = stdout(&out);
    assert!(text.contains("error: policies/broken.rego:6: "), "{text}");

    // A deny rule without METADATA would never report: an error at its line, not silence.
    let bare = "package org.bare\n\nimport rego.v1\n\ndeny contains f if {\n\tsome fn in input.functions\n\tf := {\"resource\": fn.id, \"message\": \"x\"}\n}\n";
    let dir = project(&[("t.yaml", FAILING), ("policies/bare.rego", bare)]);
    let out = run(
        dir.path(),
        &["scan", "--no-builtin", "--policy", "policies"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stdout(&out)
            .contains("error: policies/bare.rego:5: defines `deny` but has no `# METADATA`"),
        "{}",
        stdout(&out)
    );
    assert!(
        text.contains("ATR-L001"),
        "built-in rules still run: {text}"
    );
}

#[test]
fn rules_lists_the_catalogue_and_shows_one_rule() {
    let dir = tempfile::tempdir().unwrap();
    let out = atrest(dir.path()).args(["rules"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    // The catalogue's ids and severities are fixed: users' suppressions and dashboards use them.
    let listed: Vec<(String, String)> = text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some((w.next()?.to_owned(), w.next()?.to_owned()))
        })
        .collect();
    let expected = [
        ("ATR-C001", "high"),
        ("ATR-C002", "medium"),
        ("ATR-C003", "medium"),
        ("ATR-C004", "low"),
        ("ATR-C005", "high"),
        ("ATR-C006", "medium"),
        ("ATR-C007", "medium"),
        ("ATR-L001", "medium"),
        ("ATR-L002", "medium"),
        ("ATR-L003", "low"),
        ("ATR-L004", "low"),
        ("ATR-L005", "medium"),
        ("ATR-L006", "high"),
        ("ATR-L007", "low"),
        ("ATR-L008", "low"),
        ("ATR-L009", "high"),
        ("ATR-L010", "low"),
        ("ATR-L011", "medium"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(i, s)| (i.to_string(), s.to_string()))
        .collect();
    assert_eq!(listed, expected, "{text}");
    // And the security-severity of each, as the issues fixed them.
    for (id, score) in [
        ("ATR-C001", "8.0"),
        ("ATR-C002", "5.0"),
        ("ATR-C003", "5.0"),
        ("ATR-C004", "3.5"),
        ("ATR-C005", "7.5"),
        ("ATR-C006", "5.0"),
        ("ATR-C007", "5.0"),
        ("ATR-L001", "5.5"),
        ("ATR-L002", "5.5"),
        ("ATR-L003", "3.0"),
        ("ATR-L004", "3.0"),
        ("ATR-L005", "4.0"),
        ("ATR-L006", "7.0"),
        ("ATR-L007", "3.0"),
        ("ATR-L008", "3.0"),
        ("ATR-L009", "7.5"),
        ("ATR-L010", "3.0"),
        ("ATR-L011", "5.0"),
    ] {
        let shown = stdout(&run(dir.path(), &["rules", "show", id]));
        assert!(
            shown.contains(&format!("security-severity {score}")),
            "{id}: {shown}"
        );
    }
    let out = run(dir.path(), &["rules", "show", "ATR-L002"]);
    let text = stdout(&out);
    for source in ["cloudformation:", "sam:", "terraform:", "cli:"] {
        assert!(text.contains(source), "{text}");
    }
    assert!(text.contains("security-severity 5.5"));
    let out = run(dir.path(), &["rules", "show", "NOPE"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["scan", "--format", "xml"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(dir.path(), &["scan", "--rule", "ATR-NOPE"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(dir.path(), &["scan", "missing-dir"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn output_does_not_depend_on_thread_count() {
    let fixtures = common::manifest_dir().join("fixtures");
    let run = |jobs: &str| {
        let out = atrest(&common::manifest_dir())
            .args(["scan", "--format", "sarif", "--jobs", jobs])
            .arg(&fixtures)
            .output()
            .unwrap();
        out.stdout
    };
    let one = run("1");
    assert!(!one.is_empty());
    common::assert_valid_sarif(&String::from_utf8_lossy(&one));
    assert_eq!(one, run("4"));
}

/// `aws lambda list-functions > functions.json` and `atrest scan .`: the deployed state is read
/// like a template, with the CLI fix; a file of that shape with wrong types is an input error
/// naming the JSON path and line.
#[test]
fn aws_cli_output_is_scanned_and_its_type_errors_are_named() {
    let functions = r#"{
    "Functions": [
        {
            "FunctionName": "orders-api",
            "FunctionArn": "arn:aws:lambda:eu-west-1:111122223333:function:orders-api",
            "Environment": {
                "Variables": {
                    "TABLE_NAME": "orders"
                }
            }
        }
    ]
}
"#;
    let broken = r#"{
    "Functions": [
        {"FunctionName": "a", "FunctionArn": "arn:aws:lambda:eu-west-1:1:function:a"},
        {"FunctionName": 42, "FunctionArn": "arn:aws:lambda:eu-west-1:1:function:b"}
    ]
}
"#;
    let dir = project(&[("functions.json", functions)]);
    let out = run(dir.path(), &["scan", "--rule", "ATR-L001"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("functions.json:6:13 ATR-L001 medium: Function orders-api has environment variables but KMSKeyArn is not set"),
        "{text}"
    );
    assert!(
        text.contains("= fix (cli): aws lambda update-function-configuration"),
        "{text}"
    );

    let dir = project(&[("functions.json", functions), ("more.json", broken)]);
    let out = atrest(dir.path()).args(["scan"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = stdout(&out);
    assert!(
        text.contains(
            "error: more.json:4:26: $.Functions[1].FunctionName: 42 is not of type \"string\" (read as `aws lambda list-functions` output)"
        ),
        "{text}"
    );
    assert!(text.contains("functions.json:6:13 ATR-L001"), "{text}");
}

#[test]
fn aws_options_need_aws() {
    let dir = project(&[("t.yaml", PASSING)]);
    let out = run(dir.path(), &["scan", "--region", "eu-west-1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("need --aws"));
}

/// Without the `aws` feature, `collect` says how to get it instead of failing obscurely.
#[cfg(not(feature = "aws"))]
#[test]
fn collect_without_the_aws_feature_says_how_to_build_it() {
    let dir = project(&[]);
    for args in [
        &["collect", "--region", "eu-west-1"][..],
        &["scan", "--aws", "--region", "eu-west-1"][..],
    ] {
        let out = atrest(dir.path()).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("--features aws"), "{stderr}");
    }
}

const TF_UNKNOWN: &str = "variable \"key_arn\" {\n  type = string\n}\n\nresource \"aws_lambda_function\" \"api\" {\n  function_name = \"api\"\n  kms_key_arn   = var.key_arn\n  environment {\n    variables = { A = \"1\" }\n  }\n}\n\nmodule \"vpc\" {\n  source = \"terraform-aws-modules/vpc/aws\"\n}\n";

#[test]
fn terraform_unknowns_are_notes_in_sarif_unless_asked() {
    let dir = project(&[("infra/main.tf", TF_UNKNOWN)]);
    let out = run(dir.path(), &["scan", "--rule", "ATR-L001"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains("infra/main.tf:7:3 ATR-L001 unknown"),
        "{text}"
    );
    assert!(
        text.contains("var.key_arn <- no default, and no value given"),
        "{text}"
    );
    assert!(
        text.contains("note: infra/main.tf:14:12: module \"vpc\": remote source"),
        "{text}"
    );

    let out = run(
        dir.path(),
        &["scan", "--rule", "ATR-L001", "--format", "json"],
    );
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(doc["findings"][0]["outcome"], "unknown");
    assert_eq!(doc["findings"][0]["resource"]["source"], "terraform");
    assert_eq!(
        doc["findings"][0]["resource"]["logical_id"],
        "aws_lambda_function.api"
    );
    assert_eq!(doc["notes"].as_array().unwrap().len(), 1);
    assert_eq!(doc["errors"].as_array().unwrap().len(), 0);

    for (mode, level, code) in [("warn", "note", 0), ("fail", "warning", 1)] {
        let out = run(
            dir.path(),
            &[
                "scan",
                "--rule",
                "ATR-L001",
                "--format",
                "sarif",
                "--unknown",
                mode,
            ],
        );
        assert_eq!(out.status.code(), Some(code), "--unknown {mode}");
        let sarif = stdout(&out);
        common::assert_valid_sarif(&sarif);
        let doc: serde_json::Value = serde_json::from_str(&sarif).unwrap();
        let run = &doc["runs"][0];
        assert_eq!(run["results"][0]["level"], level, "--unknown {mode}");
        assert_eq!(
            run["results"][0]["locations"][0]["logicalLocations"][0]["name"],
            "aws_lambda_function.api"
        );
        let inv = &run["invocations"][0];
        assert_eq!(inv["executionSuccessful"], true, "a note is no failure");
        assert_eq!(inv["toolExecutionNotifications"][0]["level"], "note");
    }
}

#[test]
fn tf_vars_files_decide_variables() {
    let dir = project(&[
        ("infra/main.tf", TF_UNKNOWN),
        ("aws.tfvars", "key_arn = \"alias/aws/lambda\"\n"),
        (
            "cmk.tfvars.json",
            "{\"key_arn\": \"arn:aws:kms:eu-west-1:111122223333:key/abc\"}",
        ),
    ]);
    let out = run(
        dir.path(),
        &[
            "scan",
            "--rule",
            "ATR-L001",
            "--tf-vars",
            "aws.tfvars",
            "infra",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("var.key_arn <- aws.tfvars \"alias/aws/lambda\""),
        "{}",
        stdout(&out)
    );
    // Later files win, as with Terraform's -var-file.
    let out = run(
        dir.path(),
        &[
            "scan",
            "--rule",
            "ATR-L001",
            "--tf-vars",
            "aws.tfvars",
            "--var-file",
            "cmk.tfvars.json",
            "infra",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("No findings in 1 input"));

    // Beside the root module, *.auto.tfvars are read without being named, after
    // terraform.tfvars and in name order, as Terraform reads them.
    fs::write(
        dir.path().join("infra/terraform.tfvars"),
        "key_arn = \"arn:aws:kms:eu-west-1:111122223333:key/abc\"\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("infra/a.auto.tfvars"),
        "key_arn = \"arn:aws:kms:eu-west-1:111122223333:key/def\"\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("infra/b.auto.tfvars"),
        "key_arn = \"alias/aws/lambda\"\n",
    )
    .unwrap();
    let out = run(dir.path(), &["scan", "--rule", "ATR-L001", "infra"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("var.key_arn <- b.auto.tfvars \"alias/aws/lambda\""),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_plan_beside_its_configuration_points_at_the_tf_line() {
    let main = "resource \"aws_lambda_function\" \"api\" {\n  function_name = \"api\"\n  environment {\n    variables = { A = \"1\" }\n  }\n}\n";
    let plan = r#"{
  "format_version": "1.2",
  "terraform_version": "1.9.5",
  "planned_values": {"root_module": {"resources": [
    {"address": "aws_lambda_function.api", "mode": "managed", "type": "aws_lambda_function", "name": "api",
     "values": {"function_name": "api", "kms_key_arn": null, "environment": [{"variables": {"A": "1"}}]}}
  ]}},
  "resource_changes": [
    {"address": "aws_lambda_function.api", "mode": "managed", "type": "aws_lambda_function", "name": "api",
     "change": {"actions": ["create"], "before": null,
                "after": {"function_name": "api", "kms_key_arn": null, "environment": [{"variables": {"A": "1"}}]},
                "after_unknown": {"arn": true}}}
  ],
  "configuration": {"root_module": {"resources": [
    {"address": "aws_lambda_function.api", "mode": "managed", "type": "aws_lambda_function", "name": "api",
     "expressions": {"function_name": {"constant_value": "api"}}}
  ]}}
}"#;
    let dir = project(&[("stack/main.tf", main), ("stack/plan.json", plan)]);
    let out = run(
        dir.path(),
        &["scan", "--rule", "ATR-L001", "--format", "json"],
    );
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let findings = doc["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 2, "one from the .tf, one from the plan");
    for f in findings {
        assert_eq!(f["file"], "stack/main.tf");
        assert_eq!(
            (f["line"].as_u64(), f["column"].as_u64()),
            (Some(3), Some(3))
        );
    }
    let from_plan = findings
        .iter()
        .find(|f| f["resource"]["source"] == "terraform-plan")
        .expect("the plan's finding");
    assert!(
        from_plan["message"]
            .as_str()
            .unwrap()
            .ends_with("(read from stack/plan.json)"),
        "{from_plan}"
    );
    assert_ne!(findings[0]["fingerprint"], findings[1]["fingerprint"]);

    // Alone, the plan's finding points at the resource in the plan.
    let dir = project(&[("plan.json", plan)]);
    let out = run(dir.path(), &["scan", "--rule", "ATR-L001"]);
    assert!(
        stdout(&out).contains("plan.json:5:6 ATR-L001 medium"),
        "{}",
        stdout(&out)
    );
}

/// `tfvars:` in `.atrest.yaml` feeds Terraform variables like `--tf-vars` does.
#[test]
fn config_tfvars_decide_terraform_variables() {
    let dir = project(&[
        ("main.tf", TF_UNKNOWN),
        ("prod.tfvars", "key_arn = \"alias/aws/lambda\"\n"),
        (".atrest.yaml", "tfvars: [prod.tfvars]\n"),
    ]);
    let out = run(dir.path(), &["scan", "--rule", "ATR-L001", "main.tf"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("main.tf:7:3 ATR-L001 medium"), "{text}");
    assert!(text.contains("alias/aws/lambda"), "{text}");
}

/// AWS Config delivers snapshots to S3 gzipped: a `.json.gz` snapshot gives the findings the
/// plain file gives, at the same lines; a truncated one is an input error naming the file.
#[test]
fn gzipped_config_snapshots_are_read_like_plain_ones() {
    use std::io::Write;
    let plain = std::fs::read(
        common::manifest_dir().join("fixtures/rules/ATR-L001/fail_api_config_snapshot.json"),
    )
    .unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&plain).unwrap();
    let gz = gz.finish().unwrap();
    let places = |dir: &std::path::Path, name: &str| -> Vec<String> {
        let out = run(dir, &["scan", "--format", "json", name]);
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| format!("{} {}:{}", f["rule_id"], f["line"], f["column"]))
            .collect()
    };
    let dir = tempfile::tempdir().unwrap();
    let name = "111122223333_Config_eu-west-1_ConfigSnapshot_20250314T080510Z_x.json";
    std::fs::write(dir.path().join(name), &plain).unwrap();
    let expected = places(dir.path(), name);
    assert!(!expected.is_empty());
    std::fs::remove_file(dir.path().join(name)).unwrap();
    let gz_name = format!("{name}.gz");
    std::fs::write(dir.path().join(&gz_name), &gz).unwrap();
    assert_eq!(places(dir.path(), &gz_name), expected);

    std::fs::write(dir.path().join(&gz_name), &gz[..gz.len() / 2]).unwrap();
    let out = run(dir.path(), &["scan", &gz_name]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stdout(&out).contains(&format!("error: {gz_name}: cannot decompress")),
        "{}",
        stdout(&out)
    );
}

/// A file outside the working directory is shown by its absolute path and its SARIF location
/// is an absolute file URI; never a `../` path under `%SRCROOT%`.
#[test]
fn files_outside_the_scan_root_never_climb_out_of_srcroot() {
    let dir = project(&[("stacks/t.yaml", UNKNOWN_ONLY), ("here/.keep", "")]);
    let out = run(
        &dir.path().join("here"),
        &["scan", "--format", "sarif", "../stacks/t.yaml"],
    );
    let sarif = stdout(&out);
    common::assert_valid_sarif(&sarif);
    let doc: serde_json::Value = serde_json::from_str(&sarif).unwrap();
    let artifact =
        &doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"];
    let uri = artifact["uri"].as_str().unwrap();
    assert!(
        uri.starts_with("file:///") || uri.starts_with("file:/"),
        "{artifact}"
    );
    assert!(!uri.contains(".."), "{artifact}");
    assert!(uri.ends_with("/stacks/t.yaml"), "{artifact}");
    assert!(artifact.get("uriBaseId").is_none(), "{artifact}");
}

/// Walking honours `.gitignore` (also outside a git repository) and skips hidden files and
/// directories; a path named explicitly is always read.
#[test]
fn walking_skips_ignored_and_hidden_files_but_not_named_ones() {
    let dir = project(&[
        ("stack/t.yaml", FAILING),
        ("build/t.yaml", FAILING),
        (".hidden/t.yaml", FAILING),
        ("stack/.t.yaml", FAILING),
        (".gitignore", "build/\n"),
    ]);
    let files = |args: &[&str]| -> Vec<String> {
        let out = run(dir.path(), &[&["scan", "--format", "json"], args].concat());
        common::finding_files(&out.stdout)
    };
    assert_eq!(files(&["."]), ["stack/t.yaml"]);
    assert_eq!(files(&["build/t.yaml"]), ["build/t.yaml"]);
}

/// The resolution chain of a key is in the JSON report and the message, as docs/json.md shows.
#[test]
fn the_key_resolution_chain_is_reported() {
    let template =
        common::manifest_dir().join("fixtures/rules/ATR-L001/fail_cfn_aws_managed_via_param.yaml");
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &[
            "scan",
            "--format",
            "json",
            "--rule",
            "ATR-L001",
            template.to_str().unwrap(),
        ],
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let first = &doc["findings"][0];
    assert_eq!(first["line"], 14, "{doc}");
    assert_eq!(
        first["chain"],
        serde_json::json!([
            "KmsKeyArn",
            "!Ref LambdaKey",
            "default \"alias/aws/lambda\""
        ])
    );
    assert!(
        first["message"].as_str().unwrap().ends_with(
            "the key is AWS managed (KmsKeyArn <- !Ref LambdaKey <- default \"alias/aws/lambda\")."
        ),
        "{first}"
    );
}

/// ATR-L011 points at both lines: the deployed function (the result) and the template's key
/// (a related location in SARIF, `related` in JSON).
#[test]
fn drift_findings_point_at_the_template_too() {
    let fixtures = common::manifest_dir().join("fixtures/rules/ATR-L011");
    let dir = tempfile::tempdir().unwrap();
    let args = |format: &str| {
        vec![
            "scan".to_owned(),
            "--rule".into(),
            "ATR-L011".into(),
            "--format".into(),
            format.into(),
            fixtures.to_str().unwrap().into(),
        ]
    };
    let out = atrest(dir.path()).args(args("sarif")).output().unwrap();
    let sarif = stdout(&out);
    common::assert_valid_sarif(&sarif);
    let doc: serde_json::Value = serde_json::from_str(&sarif).unwrap();
    let result = doc["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["message"]["text"]
                .as_str()
                .unwrap()
                .contains("billing-worker")
        })
        .unwrap()
        .clone();
    let related = &result["relatedLocations"][0]["physicalLocation"];
    assert!(
        related["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .ends_with("ATR-L011/pass_template.yaml"),
        "{result}"
    );
    assert_eq!(related["region"]["startLine"], 21, "{result}");

    let out = atrest(dir.path()).args(args("json")).output().unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let finding = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["line"] == 62)
        .unwrap();
    assert_eq!(finding["related"][0]["line"], 21, "{finding}");
    assert_eq!(
        finding["related"][0]["what"],
        "the key in the cloudformation template"
    );
}
