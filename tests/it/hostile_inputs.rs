//! Hostile and broken inputs: each must give a one-line error naming the file (and the line
//! where known), exit code 2, no panic, and the findings of a good file beside it must still be
//! reported.

use crate::common;

use assert_cmd::Command;
use std::fs;
use std::path::Path;

/// A template with one ATR-L001 finding at 6:7.
pub(crate) const GOOD: &str = "Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      Code: {ZipFile: x}\n      Environment:\n        Variables: {A: b}\n";

pub(crate) struct Outcome {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

pub(crate) fn scan_beside_good(name: &str, bytes: &[u8], extra: &[&str]) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("good.yaml"), GOOD).unwrap();
    let path = dir.path().join(name);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, bytes).unwrap();
    run(dir.path(), extra)
}

/// `atrest scan --rule ATR-L001` in `dir`, with `extra` arguments; never a panic.
pub(crate) fn run(dir: &Path, extra: &[&str]) -> Outcome {
    let out = Command::cargo_bin("atrest")
        .unwrap()
        .current_dir(dir)
        .env("NO_COLOR", "1")
        // A hang (a FIFO read, a runaway loop) fails the test instead of blocking the suite.
        .timeout(std::time::Duration::from_secs(300))
        .args(["scan", "--rule", "ATR-L001", "--policy-timeout", "0"])
        .args(extra)
        .output()
        .unwrap();
    let code = out.status.code().expect("not killed by a signal");
    assert_ne!(
        code,
        101,
        "panicked: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Outcome {
        code,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The standard assertions: exit 2, one error line naming the file (and line), the good file's
/// finding still reported.
pub(crate) fn assert_error(name: &str, bytes: &[u8], line: Option<u32>, fragment: &str) {
    let out = scan_beside_good(name, bytes, &[]);
    assert_eq!(out.code, 2, "{name}: exit code\n{}", out.stdout);
    let prefix = match line {
        Some(l) => format!("error: {name}:{l}"),
        None => format!("error: {name}: "),
    };
    let errors: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{name}: one error line\n{}", out.stdout);
    assert!(
        errors[0].starts_with(&prefix),
        "{name}: {:?} should start with {prefix:?}",
        errors[0]
    );
    assert!(
        errors[0].contains(fragment),
        "{name}: {:?} should say {fragment:?}",
        errors[0]
    );
    assert!(
        out.stdout.contains("good.yaml:6:7 ATR-L001"),
        "{name}: the good file is still reported\n{}",
        out.stdout
    );
}

#[test]
fn truncated_json() {
    assert_error(
        "t.json",
        b"{\n  \"Resources\": {\n    \"Fn\": {\"Type\": \"AWS::Lambda::Function\"",
        Some(3),
        "invalid JSON",
    );
}

#[test]
fn truncated_yaml() {
    assert_error(
        "t.yaml",
        b"Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties: {Code: [\n",
        Some(5),
        "invalid YAML",
    );
}

#[test]
fn bad_indentation() {
    assert_error(
        "t.yaml",
        b"Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n   Properties: {}\n",
        Some(4),
        "invalid YAML",
    );
}

#[test]
fn tabs() {
    assert_error(
        "t.yaml",
        b"Resources:\n  Fn:\n\tType: AWS::Lambda::Function\n",
        Some(3),
        "tab",
    );
}

/// A key written twice: CloudFormation (and SAM CLI) deploy the last value, so that is the value
/// judged, with a note naming both lines; js-yaml refuses a `serverless.yml` with one.
#[test]
fn duplicate_keys_are_judged_as_their_tool_reads_them() {
    const CMK: &str = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555";
    const AWS: &str = "arn:aws:kms:us-east-1:123456789012:alias/aws/lambda";
    let function = "Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      Environment:\n        Variables: {A: b}\n";
    // The customer managed key first, AWS's own last: what deploys is AWS's key.
    let yaml = format!("{function}      KmsKeyArn: {CMK}\n      KmsKeyArn: {AWS}\n");
    let out = scan_beside_good("t.yaml", yaml.as_bytes(), &[]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stdout.contains("t.yaml:8:7 ATR-L001"), "{}", out.stdout);
    assert!(
        out.stdout.contains("good.yaml:6:7 ATR-L001"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(
            "note: t.yaml:8:7: duplicate key \"KmsKeyArn\" (first at line 7); CloudFormation deploys the last value"
        ),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("error:"), "{}", out.stdout);
    // The other way round, in JSON, and a repeated resource: the last of each is what deploys.
    let json = format!(
        "{{\"Resources\": {{\"Fn\": {{\"Type\": \"AWS::SNS::Topic\"}},\n \"Fn\": {{\"Type\": \"AWS::Lambda::Function\", \"Properties\": {{\n  \"Environment\": {{\"Variables\": {{\"A\": \"b\"}}}},\n  \"KmsKeyArn\": \"{AWS}\",\n  \"KmsKeyArn\": \"{CMK}\"}}}}}}}}\n"
    );
    let out = scan_beside_good("t.json", json.as_bytes(), &[]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    let fired = |l: &str| l.trim_start().starts_with("t.json:") && l.contains("ATR-L001");
    assert!(!out.stdout.lines().any(fired), "{}", out.stdout);
    assert!(
        out.stdout.contains("1 of 2 resources passed every rule"),
        "{}",
        out.stdout
    );
    for (line, col, key, first) in [(2, 2, "Fn", 1), (5, 3, "KmsKeyArn", 4)] {
        let note = format!(
            "note: t.json:{line}:{col}: duplicate key \"{key}\" (first at line {first}); CloudFormation deploys the last value"
        );
        assert!(out.stdout.contains(&note), "{note}\n{}", out.stdout);
    }
    // A Serverless service: the framework refuses the file; the last value is still judged.
    let sls = format!(
        "service: s\nprovider:\n  name: aws\n  runtime: python3.12\n  kmsKeyArn: {CMK}\n  kmsKeyArn: {AWS}\nfunctions:\n  f:\n    handler: h.h\n    environment:\n      A: b\n"
    );
    assert_error(
        "serverless.yml",
        sls.as_bytes(),
        Some(6),
        "duplicate key \"kmsKeyArn\" (first at line 5); the Serverless Framework refuses duplicate keys",
    );
}

#[test]
fn unknown_tags() {
    assert_error("t.yaml", b"Resources:\n  T:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: !Bogus x\n", Some(5), "unknown tag !Bogus");
}

#[test]
fn anchors_and_billion_laughs_are_refused_not_expanded() {
    let mut text = String::from(
        "Resources:\n  T:\n    Type: AWS::SNS::Topic\nMappings:\n  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for i in 1..40 {
        let prev = format!("*a{}", i - 1);
        text.push_str(&format!("  a{i}: &a{i} [{}]\n", vec![prev; 9].join(", ")));
    }
    let out = scan_beside_good("laughs.yaml", text.as_bytes(), &[]);
    assert_eq!(out.code, 2);
    assert!(
        out.stdout.contains("error: laughs.yaml:5:"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("anchors and aliases"), "{}", out.stdout);
    assert!(out.stdout.contains("good.yaml:6:7 ATR-L001"));
}

#[test]
fn byte_order_marks_and_utf16_are_read() {
    // Valid templates in other encodings are inputs, not errors: the finding is reported.
    let mut utf8 = vec![0xEF, 0xBB, 0xBF];
    utf8.extend_from_slice(GOOD.as_bytes());
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(GOOD.encode_utf16().flat_map(u16::to_le_bytes));
    for (name, bytes) in [("bom.yaml", utf8), ("utf16.yaml", utf16)] {
        let out = scan_beside_good(name, &bytes, &[]);
        assert_eq!(out.code, 1, "{name}: {}", out.stdout);
        assert!(
            out.stdout.contains(&format!("{name}:6:7 ATR-L001")),
            "{name}: {}",
            out.stdout
        );
    }
    // An odd number of bytes after a UTF-16 BOM is a truncated file.
    assert_error("odd.template", &[0xFF, 0xFE, b'{', 0, b'}'], None, "UTF-16");
}

#[test]
fn binary_file_with_a_template_extension() {
    assert_error(
        "stack.template",
        &[0x89, b'P', b'N', b'G', 0, 0, 0, 13, 0xFF, 0xD8],
        None,
        "binary",
    );
    // Named only generically (`.yaml`), binary content is not an input: skipped, no error.
    let out = scan_beside_good("blob.yaml", &[0x89, b'P', b'N', b'G', 0, 0, 0, 13], &[]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stdout.contains("1 other file skipped"),
        "{}",
        out.stdout
    );
}

#[test]
fn empty_file_named_like_a_template() {
    assert_error("template.yaml", b"", None, "empty file");
    // An empty file with a generic extension is simply not an input.
    let out = scan_beside_good("notes.yaml", b"", &[]);
    assert_eq!(out.code, 1, "{}", out.stdout);
}

#[test]
fn deep_nesting_does_not_overflow_the_stack() {
    let deep_json = format!(
        "{{\"AWSTemplateFormatVersion\": \"2010-09-09\", \"Resources\": {}{}}}",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    assert_error(
        "deep.json",
        deep_json.as_bytes(),
        Some(1),
        "nesting deeper than 256",
    );
    // The YAML parser keeps its own stack (no recursion): the reader's depth limit applies.
    let mut deep_yaml = String::from("AWSTemplateFormatVersion: '2010-09-09'\nResources: ");
    deep_yaml.push_str(&"[".repeat(5000));
    deep_yaml.push_str(&"]".repeat(5000));
    assert_error(
        "deep.yaml",
        deep_yaml.as_bytes(),
        Some(2),
        "nesting deeper than 256",
    );
}

#[test]
fn file_size_limit() {
    let big = format!("{GOOD}# {}\n", "x".repeat(10_000));
    let out = scan_beside_good("big.yaml", big.as_bytes(), &["--max-file-size", "5000"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stdout.contains("error: big.yaml: file is"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("over the 5000-byte limit"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_runaway_policy_is_stopped_by_the_time_limit() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("good.yaml"), GOOD).unwrap();
    fs::create_dir(dir.path().join("p")).unwrap();
    fs::write(
        dir.path().join("p/slow.rego"),
        "# METADATA\n# title: Slow\n# custom:\n#   id: ORG-SLOW\n#   severity: low\npackage org.slow\n\nimport rego.v1\n\ndeny contains f if {\n\tsome a in numbers.range(1, 20000)\n\tsome b in numbers.range(1, 20000)\n\ta * b == -1\n\tf := {\"resource\": \"x\", \"message\": \"never\"}\n}\n",
    )
    .unwrap();
    let out = Command::cargo_bin("atrest")
        .unwrap()
        .current_dir(dir.path())
        .args([
            "scan",
            "--policy",
            "p",
            "--policy-timeout",
            "200",
            "--rule",
            "ATR-L001",
            "--rule",
            "ORG-SLOW",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains("error: good.yaml: policy evaluation failed: rule ORG-SLOW"),
        "{stdout}"
    );
    // Every other rule's findings are still reported.
    assert!(stdout.contains("good.yaml:6:7 ATR-L001"), "{stdout}");
}

#[test]
fn the_same_inputs_give_identical_reports_whatever_the_thread_count() {
    let fixtures = common::manifest_dir().join("fixtures");
    for format in ["json", "sarif"] {
        let run = |jobs: &str| {
            Command::cargo_bin("atrest")
                .unwrap()
                .current_dir(common::manifest_dir())
                .args(["scan", "--format", format, "--jobs", jobs])
                .arg(&fixtures)
                .output()
                .unwrap()
                .stdout
        };
        let one = run("1");
        assert!(one.len() > 1000);
        if format == "sarif" {
            common::assert_valid_sarif(&String::from_utf8_lossy(&one));
        }
        assert_eq!(one, run("8"), "{format}");
    }
}

#[test]
fn terraform_files_meet_the_same_limits() {
    assert_error(
        "infra/main.tf",
        &[0x89, b'P', b'N', b'G', 0, 0, 0, 13, 0xFF, 0xD8],
        None,
        "binary",
    );
    let deep_hcl = format!(
        "locals {{\n  x = {}1{}\n}}\n",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    assert_error(
        "deep/main.tf",
        deep_hcl.as_bytes(),
        Some(2),
        "nesting deeper than 256",
    );
    let deep_json = format!(
        "{{\"locals\": {{\"x\": {}1{}}}}}",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    assert_error(
        "deep/main.tf.json",
        deep_json.as_bytes(),
        Some(1),
        "nesting deeper than 256",
    );
    let big = format!(
        "resource \"aws_lambda_function\" \"f\" {{}}\n# {}\n",
        "x".repeat(10_000)
    );
    let out = scan_beside_good(
        "infra/main.tf",
        big.as_bytes(),
        &["--max-file-size", "5000"],
    );
    assert_eq!(out.code, 2, "{}", out.stdout);
    let error = out
        .stdout
        .lines()
        .find(|l| l.starts_with("error: infra/main.tf: file is"))
        .unwrap_or_else(|| panic!("{}", out.stdout));
    assert!(error.contains("over the 5000-byte limit"), "{error}");
}

/// A CloudTrail `.json.gz` of one Decrypt with Lambda's context, made outside Lambda (ATR-C001).
pub(crate) fn gzipped_log() -> Vec<u8> {
    use std::io::Write;
    let log = r#"{"Records":[{"eventVersion":"1.08","eventID":"e1","eventTime":"2024-01-01T00:00:00Z","eventSource":"kms.amazonaws.com","eventName":"Decrypt","awsRegion":"us-east-1","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/x/y"},"requestParameters":{"encryptionContext":{"aws:lambda:FunctionArn":"arn:aws:lambda:us-east-1:111122223333:function:f"}},"resources":[{"ARN":"arn:aws:kms:us-east-1:111122223333:key/k"}]}]}"#;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(log.as_bytes()).unwrap();
    gz.finish().unwrap()
}

/// The CloudTrail cases: a truncated `.json.gz`, a `.json.gz` that is not gzip, and
/// `"Records"` that is not a list. Each is an error naming the file; the good log beside them
/// is still evaluated.
#[test]
fn broken_cloudtrail_logs_are_errors_and_good_logs_still_count() {
    let good = gzipped_log();
    let truncated = good[..good.len() / 2].to_vec();
    let cases: [(&str, Vec<u8>, &str); 3] = [
        ("truncated.json.gz", truncated, "truncated.json.gz:1:"),
        (
            "notgzip.json.gz",
            b"plain text\n".to_vec(),
            "notgzip.json.gz: named .gz but not gzip",
        ),
        (
            "records.json",
            br#"{"Records": {"eventVersion": "1.08"}}"#.to_vec(),
            "records.json:1:2: \"Records\" must be a list",
        ),
    ];
    for (name, bytes, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("good.json.gz"), &good).unwrap();
        fs::write(dir.path().join(name), bytes).unwrap();
        let out = Command::cargo_bin("atrest")
            .unwrap()
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .args(["scan", "--rule", "ATR-C001"])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(2), "{name}: {stdout}");
        assert!(
            stdout.contains(&format!("error: {expected}")),
            "{name}: {stdout}"
        );
        assert!(
            stdout.contains("good.json.gz:1:13 ATR-C001 high"),
            "{name}: {stdout}"
        );
    }
}

/// Found by the `trail_stream` fuzz target (input kept in fuzz/regressions/trail_stream/): an
/// event with a byte that is neither JSON nor UTF-8 left a stale mark behind, and the buffer's
/// next compaction subtracted past zero (a panic in debug builds). The event is an error with
/// its line; the event after it is still evaluated.
#[test]
fn an_event_that_is_neither_json_nor_utf8_is_one_error() {
    let mut good = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(&gzipped_log()[..]),
        &mut good,
    )
    .unwrap();
    let event = &good[good.find("[{").unwrap() + 1..good.rfind("]}").unwrap()];
    // A good event first (so the file is recognised as a log); the bad event ends on the last
    // byte of the reader's first 256 KiB chunk, so the buffer is compacted between it and the
    // good event after it.
    let mut log = format!("{{\"Records\":[\n{},\n", event.replace("\"e1\"", "\"e0\"")).into_bytes();
    log.extend_from_slice(b"{\"eventVersion\":\"1.08\",\"x\": \xff,\"pad\":\"");
    log.resize(256 * 1024 - 2, b'a');
    log.extend_from_slice(b"\"},\n");
    log.extend_from_slice(event.as_bytes());
    log.extend_from_slice(b"]}\n");
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("log.json"), &log).unwrap();
    let out = Command::cargo_bin("atrest")
        .unwrap()
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .args(["scan", "--rule", "ATR-C001", "-q"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains("error: log.json:3:29: event 2 is not valid UTF-8; skipped"),
        "{stdout}"
    );
    let finding = stdout
        .lines()
        .find(|l| l.contains("log.json:2:1 ATR-C001 high"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        finding.contains("2 events"),
        "both good events count: {finding}"
    );
}
