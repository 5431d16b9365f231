//! One input's bug does not take the scan down: a panic while reading, modelling or evaluating
//! one input (made on purpose with the debug-only `ATREST_TEST_PANIC` trigger) is an error that
//! names that input and says it is a bug, and every other input is still scanned and reported,
//! exit 2.

use assert_cmd::Command;
use std::fs;
use std::path::Path;

/// A template with one ATR-L001 finding at 6:7.
const TEMPLATE: &str = "Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      Code: {ZipFile: x}\n      Environment:\n        Variables: {A: b}\n";

/// A Terraform function with variables and no key: ATR-L001 at 4:3.
const TERRAFORM: &str = "resource \"aws_lambda_function\" \"f\" {\n  function_name = \"f\"\n  role          = \"arn:aws:iam::111122223333:role/r\"\n  environment {\n    variables = { A = \"b\" }\n  }\n}\n";

/// One Decrypt with Lambda's context from outside Lambda (ATR-C001).
const LOG: &str = r#"{"Records":[{"eventVersion":"1.08","eventID":"e1","eventTime":"2024-01-01T00:00:00Z","eventSource":"kms.amazonaws.com","eventName":"Decrypt","awsRegion":"us-east-1","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/x/y"},"sourceIPAddress":"203.0.113.9","userAgent":"aws-cli/2.15.0","requestParameters":{"keyId":"arn:aws:kms:us-east-1:111122223333:key/k","encryptionContext":{"aws:lambda:FunctionArn":"arn:aws:lambda:us-east-1:111122223333:function:f"}},"resources":[{"ARN":"arn:aws:kms:us-east-1:111122223333:key/k"}]}]}"#;

fn project(dir: &Path) {
    fs::write(dir.join("good.yaml"), TEMPLATE).unwrap();
    fs::write(dir.join("bad.yaml"), TEMPLATE).unwrap();
    fs::create_dir(dir.join("tf")).unwrap();
    fs::write(dir.join("tf/main.tf"), TERRAFORM).unwrap();
    fs::write(dir.join("trail.json"), LOG).unwrap();
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn scan(dir: &Path, panic_on: &str) -> Run {
    let out = Command::cargo_bin("atrest")
        .unwrap()
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("ATREST_TEST_PANIC", panic_on)
        .args(["scan", "--rule", "ATR-L001", "--rule", "ATR-C001", "."])
        .output()
        .unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The findings every case keeps, by the text report's `file:line:col RULE` prefix.
const ALL: [&str; 4] = [
    "good.yaml:6:7 ATR-L001",
    "bad.yaml:6:7 ATR-L001",
    "tf/main.tf:4:3 ATR-L001",
    "trail.json:1:13 ATR-C001",
];

#[test]
fn without_a_panic_every_input_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let run = scan(dir.path(), "");
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    for f in ALL {
        assert!(run.stdout.contains(f), "{f} missing:\n{}", run.stdout);
    }
}

#[test]
fn a_panic_in_one_input_is_that_input_s_error_and_the_rest_is_reported() {
    // (trigger, the error's file, what was being done, the findings that input loses)
    let cases: [(&str, &str, &str, &[&str]); 5] = [
        (
            "bad.yaml",
            "bad.yaml",
            "modelling this template",
            &["bad.yaml:6:7"],
        ),
        (
            "bad.yaml#evaluate",
            "bad.yaml",
            "evaluating the policies on this input",
            &["bad.yaml:6:7"],
        ),
        (
            "tf/main.tf",
            "tf/main.tf",
            "modelling this Terraform root module",
            &["tf/main.tf:4:3"],
        ),
        (
            "trail.json",
            "trail.json",
            "reading the CloudTrail logs",
            &["trail.json:1:13"],
        ),
        (
            "trail.json#evaluate",
            "trail.json",
            "evaluating the CloudTrail rules",
            &["trail.json:1:13"],
        ),
    ];
    for (trigger, file, what, lost) in cases {
        let dir = tempfile::tempdir().unwrap();
        project(dir.path());
        let run = scan(dir.path(), trigger);
        assert_eq!(
            run.code,
            Some(2),
            "{trigger}:\n{}\n{}",
            run.stdout,
            run.stderr
        );
        let errors: Vec<&str> = run
            .stdout
            .lines()
            .filter(|l| l.starts_with("error:"))
            .collect();
        assert_eq!(errors.len(), 1, "{trigger}: one error line\n{}", run.stdout);
        let expected = format!("error: {file}: internal error while {what}: test panic for ");
        assert!(
            errors[0].starts_with(&expected),
            "{trigger}: {:?}",
            errors[0]
        );
        assert!(
            errors[0].contains("this is a bug in atrest, please report it"),
            "{:?}",
            errors[0]
        );
        assert!(
            !run.stderr.contains("panicked at"),
            "{trigger}: the panic is reported once, as the input's error:\n{}",
            run.stderr
        );
        for f in ALL {
            let kept = !lost.iter().any(|l| f.starts_with(l));
            assert_eq!(
                run.stdout.contains(f),
                kept,
                "{trigger}: {f} should {}be reported:\n{}",
                if kept { "" } else { "not " },
                run.stdout
            );
        }
    }
}
