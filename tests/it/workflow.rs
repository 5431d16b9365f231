//! Suppressions in each form they are written, expiry, unused suppressions, the config file,
//! baselines, `--diff-base`, JUnit and SARIF as CI systems read them.

use crate::common;

use common::{atrest, project};
use serde_json::Value;
use std::fs;
use std::path::Path;
use std::process::Output;

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `atrest scan --format json ARGS` in `dir`: (exit code, report).
fn scan_json(dir: &Path, args: &[&str]) -> (Option<i32>, Value) {
    let out = atrest(dir)
        .args(["scan", "--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let doc = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&out), stderr(&out)));
    (out.status.code(), doc)
}

/// `atrest scan --format sarif ARGS` in `dir`, checked against the SARIF schema.
fn scan_sarif(dir: &Path, args: &[&str]) -> (Option<i32>, Value) {
    let out = atrest(dir)
        .args(["scan", "--format", "sarif"])
        .args(args)
        .output()
        .unwrap();
    let sarif = stdout(&out);
    common::assert_valid_sarif(&sarif);
    (out.status.code(), serde_json::from_str(&sarif).unwrap())
}

/// (file, resource id, rule) of each entry of `findings` or `suppressed`.
fn ids(doc: &Value, list: &str) -> Vec<(String, String, String)> {
    doc[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_owned(),
                f["resource"]["id"].as_str().unwrap().to_owned(),
                f["rule_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn one(file: &str, resource: &str, rule: &str) -> (String, String, String) {
    (file.into(), resource.into(), rule.into())
}

fn function(name: &str) -> String {
    format!(
        "  {name}:\n    Type: AWS::Lambda::Function\n    Properties:\n      Code: {{ZipFile: x}}\n      Environment:\n        Variables: {{A: b}}\n"
    )
}

const COMMENTED: &str = r##"Resources:
  # atrest:ignore ATR-L001 reason="no secrets in these variables" until=2999-12-31
  Above:
    Type: AWS::Lambda::Function
    Properties:
      Code: {ZipFile: x}
      Environment:
        Variables: {A: b}
  Inside:
    Type: AWS::Lambda::Function
    Properties:
      Code: {ZipFile: x}
      Environment: # atrest:ignore ATR-L001 reason="reviewed in SEC-12"
        Variables: {A: b}
  Open:
    Type: AWS::Lambda::Function
    Properties:
      Code: {ZipFile: x}
      Environment:
        Variables: {A: b}
      Description: "# atrest:ignore ATR-L001 reason=\"a string, not a comment\""
"##;

#[test]
fn yaml_comments_suppress_the_resource_they_are_on_and_sarif_says_so() {
    let dir = project(&[("t.yaml", COMMENTED)]);
    let (code, doc) = scan_json(dir.path(), &["--rule", "ATR-L001"]);
    assert_eq!(code, Some(1));
    assert_eq!(ids(&doc, "findings"), [one("t.yaml", "Open", "ATR-L001")]);
    assert_eq!(
        ids(&doc, "suppressed"),
        [
            one("t.yaml", "Above", "ATR-L001"),
            one("t.yaml", "Inside", "ATR-L001")
        ]
    );
    let s = &doc["suppressed"][0]["suppression"];
    assert_eq!(s["kind"], "inSource");
    assert_eq!(s["via"], "comment");
    assert_eq!(s["justification"], "no secrets in these variables");
    assert_eq!(s["until"], "2999-12-31");
    assert_eq!(s["place"]["line"], 2);
    assert_eq!(doc["summary"]["suppressed"], 2);

    let (_, doc) = scan_sarif(dir.path(), &["--rule", "ATR-L001"]);
    let results = doc["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 3, "suppressed findings stay in SARIF");
    let suppressions: Vec<&Value> = results
        .iter()
        .filter_map(|r| r.get("suppressions"))
        .collect();
    assert_eq!(suppressions.len(), 2);
    assert_eq!(suppressions[1][0]["kind"], "inSource");
    assert_eq!(suppressions[1][0]["status"], "accepted");
    assert_eq!(suppressions[1][0]["justification"], "reviewed in SEC-12");
    assert_eq!(
        suppressions[1][0]["location"]["physicalLocation"]["region"]["startLine"],
        13
    );

    // Text shows suppressed findings only when asked.
    let out = atrest(dir.path())
        .args(["scan", "--rule", "ATR-L001"])
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(!text.contains("Above"), "{text}");
    assert!(
        text.contains("1 finding (1 medium), 2 suppressed"),
        "{text}"
    );
    let out = atrest(dir.path())
        .args(["scan", "--rule", "ATR-L001", "--show-suppressed"])
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(
        text.contains("t.yaml:7:7 ATR-L001 medium suppressed: Function Above"),
        "{text}"
    );
    assert!(
        text.contains(
            "= suppressed by comment at t.yaml:2:3, until 2999-12-31: no secrets in these variables"
        ),
        "{text}"
    );
}

#[test]
fn metadata_suppresses_in_json_templates() {
    let template = r#"{
  "Resources": {
    "Legacy": {
      "Type": "AWS::Lambda::Function",
      "Metadata": {"atrest": {"ignore": [
        {"id": ["ATR-L001", "ATR-L003"], "reason": "replaced in Q3", "until": "2999-01-01"}
      ]}},
      "Properties": {"Code": {"ZipFile": "x"}, "Environment": {"Variables": {"A": "b"}}}
    },
    "Current": {
      "Type": "AWS::Lambda::Function",
      "Properties": {"Code": {"ZipFile": "x"}, "Environment": {"Variables": {"A": "b"}}}
    }
  }
}
"#;
    let dir = project(&[("stack.json", template)]);
    let (_, doc) = scan_json(dir.path(), &["--rule", "ATR-L001", "--rule", "ATR-L003"]);
    assert_eq!(
        ids(&doc, "suppressed"),
        [
            one("stack.json", "Legacy", "ATR-L003"),
            one("stack.json", "Legacy", "ATR-L001")
        ]
    );
    assert_eq!(
        ids(&doc, "findings"),
        [
            one("stack.json", "Current", "ATR-L003"),
            one("stack.json", "Current", "ATR-L001")
        ]
    );
    let s = &doc["suppressed"][0]["suppression"];
    assert_eq!(
        (s["kind"].as_str(), s["via"].as_str()),
        (Some("inSource"), Some("metadata"))
    );
    assert_eq!(s["place"]["line"], 6);
}

#[test]
fn expired_suppressions_report_the_finding_and_say_so() {
    let template = format!(
        "Resources:\n  # atrest:ignore ATR-L001 reason=\"until the migration\" until=2001-01-31\n{}",
        function("Fn")
    );
    let dir = project(&[("t.yaml", &template)]);
    let out = atrest(dir.path())
        .args(["scan", "--rule", "ATR-L001"])
        .output()
        .unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("t.yaml:7:7 ATR-L001 medium: Function Fn"),
        "{text}"
    );
    assert!(
        text.contains("warning: t.yaml:2:3: suppression of ATR-L001 (comment) expired on 2001-01-31; 1 finding it matches is reported again"),
        "{text}"
    );
    let (_, doc) = scan_sarif(dir.path(), &["--rule", "ATR-L001"]);
    assert!(doc["runs"][0]["results"][0].get("suppressions").is_none());
    let note = &doc["runs"][0]["invocations"][0]["toolExecutionNotifications"][0];
    assert_eq!(note["level"], "warning");
    assert!(
        note["message"]["text"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
}

#[test]
fn unused_and_malformed_suppressions_are_reported() {
    let template = format!(
        "Resources:\n  # atrest:ignore ATR-L002 reason=\"no mappings here\"\n{}  # atrest:ignore ATR-L003\n{}",
        function("Fn"),
        function("Other")
    );
    let config = "ignore:\n  - id: ATR-L005\n    path: nowhere/**\n    reason: keys are rotated by the platform\n";
    let dir = project(&[("t.yaml", &template), (".atrest.yaml", config)]);
    let quiet = atrest(dir.path()).args(["scan"]).output().unwrap();
    assert!(!stdout(&quiet).contains("matches no finding"));
    assert!(
        stdout(&quiet).contains("warning: t.yaml:9:3: suppression ignored: needs a reason"),
        "malformed ones are always reported: {}",
        stdout(&quiet)
    );
    let out = atrest(dir.path())
        .args([
            "scan",
            "--report-unused-suppressions",
            "--skip-rule",
            "ATR-L010",
        ])
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(
        text.contains(
            "warning: .atrest.yaml:2:5: suppression of ATR-L005 (config) matches no finding"
        ),
        "{text}"
    );
    assert!(
        text.contains("warning: t.yaml:2:3: suppression of ATR-L002 (comment) matches no finding"),
        "{text}"
    );
    assert!(
        text.contains("warning: --skip-rule ATR-L010 matches no finding"),
        "{text}"
    );
    // Only rules this run evaluates can leave a suppression unused.
    let out = atrest(dir.path())
        .args(["scan", "--report-unused-suppressions", "--rule", "ATR-L001"])
        .output()
        .unwrap();
    assert!(!stdout(&out).contains("ATR-L002 (comment) matches no finding"));

    // A typo in a rule id is reported, without --report-unused-suppressions too.
    let typo = format!(
        "Resources:\n  # atrest:ignore ATR-L01 reason=\"typo\"\n{}",
        function("Fn")
    );
    fs::write(dir.path().join("t.yaml"), typo).unwrap();
    let out = atrest(dir.path()).args(["scan"]).output().unwrap();
    assert!(
        stdout(&out).contains(
            "warning: t.yaml:2:3: suppression of ATR-L01 (comment): ATR-L01 is no rule (see `atrest rules`)"
        ),
        "{}",
        stdout(&out)
    );
}

#[test]
fn the_config_file_sets_the_scan_and_suppresses_by_path_and_resource() {
    let config = r#"# Project settings
fail-on: high
# Rule ids in any case, as on the command line.
rules:
  atr-l003: off
  Atr-L004: {severity: high}
exclude: [generated]
ignore:
  - id: ATR-L001
    path: legacy/**
    reason: the legacy stacks are being retired
  - id: ATR-L001
    resource: Api
    reason: reviewed in SEC-7
    until: 2999-01-01
"#;
    let app = format!("Resources:\n{}{}", function("Api"), function("Worker"));
    let legacy = format!("Resources:\n{}", function("Old"));
    let dir = project(&[
        (".atrest.yaml", config),
        ("app/template.yaml", &app),
        ("legacy/template.yaml", &legacy),
        (
            "generated/broken.yaml",
            "AWSTemplateFormatVersion: '2010-09-09'\nResources: [",
        ),
    ]);
    let (code, doc) = scan_json(dir.path(), &[]);
    assert_eq!(code, Some(0), "fail-on high from the config: {doc}");
    assert_eq!(doc["summary"]["errors"], 0, "generated/ is excluded");
    let open: Vec<_> = ids(&doc, "findings")
        .into_iter()
        .filter(|f| f.2 != "ATR-L004")
        .collect();
    assert_eq!(open, [one("app/template.yaml", "Worker", "ATR-L001")]);
    assert!(
        !doc.to_string().contains("ATR-L003"),
        "ATR-L003 is off: {doc}"
    );
    let l004 = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "ATR-L004")
        .unwrap();
    assert_eq!(l004["severity"], "high", "severity override");
    let suppressed = ids(&doc, "suppressed");
    assert_eq!(
        suppressed,
        [
            one("app/template.yaml", "Api", "ATR-L001"),
            one("legacy/template.yaml", "Old", "ATR-L001")
        ]
    );
    assert_eq!(doc["suppressed"][0]["suppression"]["kind"], "external");
    assert_eq!(
        doc["suppressed"][0]["suppression"]["place"]["file"],
        ".atrest.yaml"
    );
    assert_eq!(doc["suppressed"][0]["suppression"]["place"]["line"], 12);

    // The command line wins over the file; the file is found from a subdirectory.
    let (code, _) = scan_json(dir.path(), &["--fail-on", "medium"]);
    assert_eq!(code, Some(1));
    let (code, doc) = scan_json(
        dir.path(),
        &[
            "--fail-on",
            "medium",
            "--skip-rule",
            "atr-l001",
            "--rule",
            "atr-l001",
        ],
    );
    assert_eq!(code, Some(0), "{doc}");
    // Up to the repository's top: without a repository, only the scan root's file counts.
    common::git(dir.path(), &["init", "-q"]);
    let (code, doc) = scan_json(&dir.path().join("app"), &[]);
    assert_eq!(code, Some(0));
    assert_eq!(
        ids(&doc, "suppressed"),
        [one("template.yaml", "Api", "ATR-L001")]
    );
    // Excludes apply to files named on the command line too (pre-commit passes names).
    let (_, doc) = scan_json(dir.path(), &["generated/broken.yaml"]);
    assert_eq!(doc["summary"]["errors"], 0);
    // --config names another file.
    fs::write(dir.path().join("strict.yaml"), "fail-on: low\n").unwrap();
    let (code, _) = scan_json(dir.path(), &["--config", "strict.yaml", "app"]);
    assert_eq!(code, Some(1));
}

#[test]
fn config_mistakes_name_their_line() {
    for (config, expected) in [
        (
            "rules:\n  ATR-L004: {severity: extreme}\n",
            ".atrest.yaml:2:24: rules.ATR-L004.severity: \"extreme\" is not one of \"low\", \"medium\", \"high\", \"critical\"",
        ),
        (
            "fail-on: medium\nfail_on: low\n",
            ".atrest.yaml:2:1: Additional properties are not allowed ('fail_on' was unexpected)",
        ),
        (
            "ignore:\n  - id: ATR-L001\n    path: legacy/**\n",
            ".atrest.yaml:2:5: ignore.0: \"reason\" is a required property",
        ),
        (
            "rules:\n  ATR-L999: off\n",
            ".atrest.yaml:2:3: ATR-L999: no such rule",
        ),
    ] {
        let dir = project(&[(".atrest.yaml", config), ("t.yaml", &function("Fn"))]);
        let out = atrest(dir.path()).args(["scan"]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{config}");
        assert!(
            stderr(&out).contains(expected),
            "{config}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn skip_rule_is_an_external_suppression_with_a_reason() {
    let dir = project(&[("t.yaml", &format!("Resources:\n{}", function("Fn")))]);
    let (code, doc) = scan_sarif(
        dir.path(),
        &[
            "--skip-rule",
            "ATR-L001=environment variables hold no data",
            "--skip-rule",
            "ATR-L003",
        ],
    );
    let by_rule = |id: &str| {
        doc["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["ruleId"] == id)
            .unwrap()["suppressions"][0]
            .clone()
    };
    assert_eq!(by_rule("ATR-L001")["kind"], "external");
    assert_eq!(
        by_rule("ATR-L001")["justification"],
        "environment variables hold no data"
    );
    assert_eq!(
        by_rule("ATR-L003")["justification"],
        "skipped with --skip-rule ATR-L003"
    );
    assert_eq!(code, Some(0), "only the unknown ATR-L004 is open");
}

#[test]
fn the_baseline_survives_reformatting_and_never_matches_another_file() {
    let a = format!("Resources:\n{}", function("Fn"));
    let dir = project(&[("stacks/a.yaml", &a), ("stacks/b.yaml", &a)]);
    let out = atrest(dir.path())
        .args(["scan", "--write-baseline", "baseline.json", "stacks/a.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("wrote 3 findings to the baseline baseline.json"));
    let (_, before) = scan_json(dir.path(), &["--baseline", "baseline.json"]);
    let open_before = ids(&before, "findings");
    assert!(
        open_before.iter().all(|f| f.0 == "stacks/b.yaml"),
        "{open_before:?}"
    );
    assert_eq!(
        open_before.len(),
        3,
        "the same resource in another file is new"
    );
    assert_eq!(before["summary"]["suppressed"], 3);

    // Reformat a.yaml: comments on top, flow style, other key order. Every line moves.
    let reformatted = "# Orders stack\n# owned by the payments team\nAWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Fn:\n    Properties:\n      Environment: {Variables: {A: b}}\n      Code:\n        ZipFile: x\n    Type: AWS::Lambda::Function\n";
    fs::write(dir.path().join("stacks/a.yaml"), reformatted).unwrap();
    let (_, after) = scan_json(dir.path(), &["--baseline", "baseline.json"]);
    assert_eq!(ids(&after, "findings"), open_before);
    assert_eq!(after["summary"]["suppressed"], 3);
    let lines = |doc: &Value| -> Vec<u64> {
        doc["suppressed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["line"].as_u64().unwrap())
            .collect()
    };
    assert_ne!(lines(&before), lines(&after), "the lines did move");

    // A new finding in the baselined file is reported; the baseline works from a subdirectory.
    fs::write(
        dir.path().join("stacks/a.yaml"),
        format!("{reformatted}{}", function("Added")),
    )
    .unwrap();
    let (code, doc) = scan_json(
        &dir.path().join("stacks"),
        &["--baseline", "../baseline.json", "a.yaml"],
    );
    assert_eq!(code, Some(1));
    let open = ids(&doc, "findings");
    assert!(open.iter().all(|f| f.1 == "Added"), "{open:?}");
    assert_eq!(doc["summary"]["suppressed"], 3);
    let s = &doc["suppressed"][0]["suppression"];
    assert_eq!(
        (s["kind"].as_str(), s["via"].as_str()),
        (Some("external"), Some("baseline"))
    );

    // Entries that no longer match anything are reported on request.
    fs::write(dir.path().join("stacks/a.yaml"), "Resources: {}\n").unwrap();
    let out = atrest(dir.path())
        .args([
            "scan",
            "--baseline",
            "baseline.json",
            "--report-unused-suppressions",
            "stacks/a.yaml",
        ])
        .output()
        .unwrap();
    assert!(
        stdout(&out).contains("warning: baseline.json:2:3: baseline entry ATR-L001 Fn kms_key in stacks/a.yaml matches no finding"),
        "{}",
        stdout(&out)
    );
}

/// A module's function called from two roots, and a CloudTrail log: findings a baseline must
/// tell apart by how they were reached, and must match whichever log file their events are in.
const MODULE_FN: &str = "resource \"aws_lambda_function\" \"this\" {\n  function_name = \"m\"\n  role          = \"arn:aws:iam::123456789012:role/r\"\n  handler       = \"h\"\n  runtime       = \"python3.12\"\n  filename      = \"x.zip\"\n  environment {\n    variables = { A = \"b\" }\n  }\n}\n";
const CALL_FN: &str = "module \"fn\" {\n  source = \"../modules/fn\"\n}\n";

#[test]
fn the_baseline_matches_on_the_fingerprint_identity() {
    let event = fs::read_to_string(
        common::manifest_dir()
            .join("fixtures/cloudtrail/ATR-C001/fail_context_outside_lambda.jsonl"),
    )
    .unwrap();
    let dir = project(&[
        ("repo/modules/fn/main.tf", MODULE_FN),
        ("repo/prod/main.tf", CALL_FN),
        ("repo/dev/main.tf", CALL_FN),
        ("repo/logs/a.jsonl", &event),
    ]);
    let repo = dir.path().join("repo");
    // The baseline may live outside the scanned tree: its paths climb with `..`.
    let out = atrest(&repo)
        .args(["scan", "--write-baseline", "../bl/base.json", "."])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let written = fs::read_to_string(dir.path().join("bl/base.json")).unwrap();
    assert!(
        written.contains("\"file\":\"../repo/modules/fn/main.tf\""),
        "{written}"
    );
    assert!(written.contains("\"via\":"), "{written}");
    assert!(written.contains("\"cloudtrail\":{"), "{written}");
    let (code, doc) = scan_json(&repo, &["--baseline", "../bl/base.json", "."]);
    assert_eq!(code, Some(0), "{doc}");
    let suppressed = doc["summary"]["suppressed"].as_u64().unwrap();
    assert!(suppressed >= 3, "{doc}");

    // A third root calling the module is a new finding, though resource and file are the same.
    fs::create_dir_all(repo.join("staging")).unwrap();
    fs::write(repo.join("staging/main.tf"), CALL_FN).unwrap();
    // The same events delivered in another log file are the same CloudTrail findings.
    fs::rename(repo.join("logs/a.jsonl"), repo.join("logs/b.jsonl")).unwrap();
    let (code, doc) = scan_json(&repo, &["--baseline", "../bl/base.json", "."]);
    assert_eq!(code, Some(1), "{doc}");
    let open = doc["findings"].as_array().unwrap();
    assert!(!open.is_empty(), "{doc}");
    assert!(
        open.iter()
            .all(|f| f["message"].as_str().unwrap().contains("staging")),
        "only the staging call is new: {doc}"
    );
    assert_eq!(doc["summary"]["suppressed"].as_u64().unwrap(), suppressed);
}

#[test]
fn diff_base_reports_only_changed_files() {
    // old.yaml keeps a stale suppression and an expired one: not this change's business.
    let old = format!(
        "Resources:\n  # atrest:ignore ATR-L002 reason=\"stale\"\n  # atrest:ignore ATR-L001 reason=\"gone\" until=2001-01-01\n{}",
        function("Fn")
    );
    let dir = project(&[
        ("old.yaml", &old),
        ("edited.yaml", &format!("Resources:\n{}", function("Fn"))),
        // Broken before the change and untouched by it: not reported with --diff-base.
        (
            "broken.yaml",
            "AWSTemplateFormatVersion: '2010-09-09'\nResources: [",
        ),
    ]);
    common::git(dir.path(), &["init", "-q"]);
    common::git(dir.path(), &["add", "."]);
    common::git(dir.path(), &["commit", "-qm", "base"]);
    fs::write(
        dir.path().join("edited.yaml"),
        format!("Resources:\n{}{}", function("Fn"), function("Fn2")),
    )
    .unwrap();
    fs::write(
        dir.path().join("new.yaml"),
        format!("Resources:\n{}", function("Fn")),
    )
    .unwrap();
    let (_, doc) = scan_json(
        dir.path(),
        &[
            "--rule",
            "ATR-L001",
            "--diff-base",
            "HEAD",
            "--report-unused-suppressions",
        ],
    );
    assert_eq!(doc["notices"], serde_json::json!([]), "{doc}");
    assert_eq!(doc["errors"], serde_json::json!([]), "{doc}");
    assert_eq!(
        ids(&doc, "findings"),
        [
            one("edited.yaml", "Fn", "ATR-L001"),
            one("edited.yaml", "Fn2", "ATR-L001"),
            one("new.yaml", "Fn", "ATR-L001")
        ]
    );
    let out = atrest(dir.path())
        .args(["scan", "--diff-base", "no-such-rev"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn junit_is_well_formed_with_a_case_per_finding() {
    let dir = project(&[
        ("bad.yaml", COMMENTED),
        (
            "ok.yaml",
            "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n",
        ),
        (
            "broken.json",
            "{\"Resources\": {\"Fn\": {\"Type\": \"AWS::Lambda::Function\",}}}",
        ),
    ]);
    let out = atrest(dir.path())
        .args(["scan", "--format", "junit", "--rule", "ATR-L001"])
        .output()
        .unwrap();
    let xml = stdout(&out);
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut cases = 0;
    let mut failures = 0;
    let mut skipped = 0;
    let mut errors = 0;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)) => {
                match e.name().as_ref() {
                    b"testcase" => cases += 1,
                    b"failure" => failures += 1,
                    b"skipped" => skipped += 1,
                    b"error" => errors += 1,
                    _ => {}
                }
            }
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("not well-formed XML: {e}\n{xml}"),
        }
    }
    // bad.yaml: one failure, two suppressed; ok.yaml: one passing case; broken.json: an error.
    assert_eq!((cases, failures, skipped, errors), (5, 1, 2, 1), "{xml}");
    assert!(
        xml.contains(
            "<testsuites name=\"atrest\" tests=\"5\" failures=\"1\" errors=\"1\" skipped=\"2\">"
        ),
        "{xml}"
    );
    assert!(xml.contains("fix (cloudformation)"), "{xml}");
}

#[test]
fn sarif_names_its_category_and_links_rules_to_the_docs() {
    let dir = project(&[("t.yaml", &format!("Resources:\n{}", function("Fn")))]);
    let (_, doc) = scan_sarif(dir.path(), &["--sarif-category", "atrest/prod"]);
    assert_eq!(doc["runs"][0]["automationDetails"]["id"], "atrest/prod/");
    let rules = doc["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    let l001 = rules.iter().find(|r| r["id"] == "ATR-L001").unwrap();
    assert_eq!(
        l001["helpUri"],
        "https://github.com/atrest-dev/atrest/blob/main/docs/rules.md#atr-l001"
    );
}

#[test]
fn docs_rules_md_is_generated_from_the_policies() {
    let out = atrest(&common::manifest_dir())
        .args(["rules", "--format", "markdown"])
        .output()
        .unwrap();
    let generated = stdout(&out);
    common::assert_generated(
        "docs/rules.md",
        &generated,
        "ATREST_BLESS=1 cargo test --test it workflow::docs_rules_md",
    );
    let committed = generated;
    for rule in &common::builtin().rules {
        let anchor = format!("\n## {}\n", rule.id);
        assert!(committed.contains(&anchor), "no section {anchor:?}");
        let section = committed.split(&anchor).nth(1).unwrap();
        let section = section.split("\n## ").next().unwrap();
        // CloudTrail rules are fixed in the account, not in a template: one remediation.
        let fixes: &[&str] = if rule.reads_events() {
            &[]
        } else {
            &["CloudFormation:", "Terraform:", "AWS CLI:"]
        };
        for part in ["### What and why", "### How to fix", "### How to suppress"]
            .iter()
            .chain(fixes)
        {
            assert!(section.contains(part), "{}: no {part:?}", rule.id);
        }
    }
}

/// The Terraform reader is not in this tree yet; its findings will name `.tf` files and lines
/// like these, and the same comment suppressions apply to them.
#[test]
fn hcl_comments_suppress_terraform_findings() {
    let tf = r##"# atrest:ignore ATR-L001 reason="no data in these variables"
resource "aws_lambda_function" "api" {
  function_name = "api"
  environment {
    variables = { A = "b" }
  }
}

resource "aws_lambda_function" "worker" {
  kms_key_arn = "" // atrest:ignore ATR-L001 reason="the key comes from the platform module"
  environment {
    variables = { NOTE = "# atrest:ignore ATR-L001 reason=\"a string\"" }
  }
}

resource "aws_lambda_function" "open" {
  environment {
    variables = { A = "b" }
  }
}
"##;
    let dir = project(&[("main.tf", tf)]);
    let (code, sarif) = scan_sarif(dir.path(), &["--rule", "ATR-L001"]);
    assert_eq!(code, Some(1), "one finding stays open: {sarif}");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let by_resource = |name: &str| {
        results
            .iter()
            .find(|r| {
                r["locations"][0]["logicalLocations"][0]["name"]
                    .as_str()
                    .is_some_and(|n| n.ends_with(name))
            })
            .unwrap_or_else(|| panic!("no result for {name}: {sarif}"))
    };
    let justification = |name: &str| by_resource(name)["suppressions"][0]["justification"].clone();
    assert_eq!(
        justification("aws_lambda_function.api"),
        "no data in these variables"
    );
    assert_eq!(
        justification("aws_lambda_function.worker"),
        "the key comes from the platform module"
    );
    assert_eq!(
        by_resource("aws_lambda_function.worker")["suppressions"][0]["kind"],
        "inSource"
    );
    assert!(
        by_resource("aws_lambda_function.open")
            .get("suppressions")
            .is_none()
    );
    let place = &by_resource("aws_lambda_function.worker")["suppressions"][0]["location"]["physicalLocation"]
        ["region"];
    assert_eq!(
        (place["startLine"].as_u64(), place["startColumn"].as_u64()),
        (Some(10), Some(20))
    );
}

/// The configuration example of the book's configuration chapter is a valid configuration.
#[test]
fn the_documented_config_example_loads() {
    let page = fs::read_to_string(common::manifest_dir().join("docs/configuration.md")).unwrap();
    let section = page.split("# Configuration file").nth(1).unwrap();
    let example = section
        .split("```yaml\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .unwrap();
    let template = format!("Resources:\n{}", function("Fn"));
    let dir = project(&[(".atrest.yaml", example), ("t.yaml", &template)]);
    fs::create_dir_all(dir.path().join("org-policies")).unwrap();
    let out = atrest(dir.path()).args(["scan"]).output().unwrap();
    assert_ne!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("in 1 input"),
        "the template is scanned"
    );
}

/// A report cut to GitHub's limits is still valid SARIF and says what it left out.
#[test]
fn sarif_cut_to_upload_limits_stays_valid() {
    let dir = project(&[
        ("a.yaml", COMMENTED),
        ("b.yaml", &format!("Resources:\n{}", function("Fn"))),
    ]);
    let (_, doc) = scan_sarif(dir.path(), &[]);
    let total = doc["runs"][0]["results"].as_array().unwrap().len();
    let limits = atrest::report::github::Limits {
        max_results: 2,
        max_gzip_bytes: usize::MAX,
    };
    let text = atrest::report::github::fit_within(doc, limits);
    common::assert_valid_sarif(&text);
    let cut: Value = serde_json::from_str(&text).unwrap();
    let results = cut["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert!(
        results.iter().all(|r| r.get("suppressions").is_none()),
        "open findings are kept first"
    );
    let notes = cut["runs"][0]["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    assert!(
        notes.iter().any(|n| n["message"]["text"]
            .as_str()
            .unwrap()
            .contains(&format!("2 of {total}"))),
        "{notes:?}"
    );
    // What the CLI repeats on stderr; an uncut report has no such notice.
    let notice = atrest::report::sarif::truncation_notice(&text).unwrap();
    assert!(notice.contains(&format!("2 of {total}")), "{notice}");
    let (_, whole) = scan_sarif(dir.path(), &[]);
    assert_eq!(
        atrest::report::sarif::truncation_notice(&whole.to_string()),
        None
    );
}

/// A finding of rule `rule` (an index into the built-in rules) on `resource`, located at
/// `line` of `file`: what a reader this tree does not have yet (Terraform) will produce.
fn synthetic_finding(
    file: &str,
    resource: &str,
    line: u32,
    rule: usize,
) -> atrest::scan::FileFinding {
    use atrest::read::{Pos, Span};
    atrest::scan::FileFinding {
        path: file.into(),
        finding: atrest::engine::Finding {
            rule,
            outcome: atrest::engine::Outcome::Fail,
            message: format!("{resource} has environment variables but no key."),
            resource_id: resource.into(),
            logical_id: resource.into(),
            resource_type: "aws_lambda_function".into(),
            source: "terraform",
            property: "kms_key".into(),
            subject: None,
            related: Vec::new(),
            location: Some(atrest::model::Loc {
                file: file.into(),
                pointer: String::new(),
                span: Span {
                    start: Pos { line, col: 3 },
                    end: Pos { line, col: 14 },
                },
            }),
            chain: Vec::new(),
            via: None,
            trail: None,
        },
        suppression: None,
    }
}

/// Triage alone, with in-source suppressions only.
fn triage_only(result: &mut atrest::scan::ScanResult, root: &Path) -> Vec<atrest::triage::Notice> {
    atrest::triage::apply(
        result,
        &common::builtin().rules,
        root,
        atrest::triage::Triage {
            external: Vec::new(),
            baseline: None,
            changed: None,
            report_unused: false,
            today: atrest::triage::Date::today(),
            limits: Default::default(),
            catalogue: Vec::new(),
        },
    )
}

/// Many suppressions and many findings in one file: each finding meets its own suppression.
/// (That this costs a lookup each, not a comparison of every pair, is a speed goal: it was a
/// wall-clock limit here, which failed on a loaded machine, so it is not asserted in a test.)
#[test]
fn many_suppressions_and_findings_in_one_file_each_match() {
    const N: u32 = 20_000;
    let mut text = String::new();
    for i in 0..N {
        text.push_str(&format!(
            "# atrest:ignore ATR-L001 reason=\"generated {i}\"\nresource \"aws_lambda_function\" \"f{i}\" {{\n  kms_key_arn = \"\"\n}}\n"
        ));
    }
    let dir = project(&[("main.tf", &text)]);
    let rules = &common::builtin().rules;
    let l001 = rules.iter().position(|r| r.id == "ATR-L001").unwrap();
    let mut result = atrest::scan::ScanResult {
        findings: (0..N)
            .map(|i| {
                synthetic_finding(
                    "main.tf",
                    &format!("aws_lambda_function.f{i}"),
                    4 * i + 3,
                    l001,
                )
            })
            .collect(),
        ..Default::default()
    };
    let notices = triage_only(&mut result, dir.path());
    assert!(notices.is_empty(), "{:?}", &notices[..3.min(notices.len())]);
    assert!(result.findings.iter().all(|f| f.suppression.is_some()));
    assert_eq!(
        result.findings[N as usize - 1]
            .suppression
            .as_ref()
            .unwrap()
            .justification,
        format!("generated {}", N - 1)
    );
}

/// `atrest rules` lists what a scan in the project reports: the config's severities and the
/// rules it turns off; the markdown reference stays the built-in catalogue.
#[test]
fn rules_list_the_projects_configuration() {
    let dir = project(&[(
        ".atrest.yaml",
        "rules:\n  atr-l004: {severity: high}\n  ATR-L003: off\n",
    )]);
    let out = atrest(dir.path()).args(["rules"]).output().unwrap();
    let text = stdout(&out);
    let line = |id: &str| text.lines().find(|l| l.starts_with(id)).unwrap().to_owned();
    assert!(line("ATR-L004").contains(" high "), "{text}");
    assert!(line("ATR-L003").contains(" off "), "{text}");
    assert!(line("ATR-L001").contains(" medium "), "{text}");
    let out = atrest(dir.path())
        .args(["rules", "show", "ATR-L004"])
        .output()
        .unwrap();
    assert!(stdout(&out).starts_with("ATR-L004 (high, security-severity 7.5)"));
    let markdown = atrest(dir.path())
        .args(["rules", "--format", "markdown"])
        .output()
        .unwrap();
    let reference = fs::read_to_string(common::manifest_dir().join("docs/rules.md")).unwrap();
    assert_eq!(stdout(&markdown), reference);
}
