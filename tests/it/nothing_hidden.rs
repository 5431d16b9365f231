//! Nothing is dropped unseen: every file that is not read is listed with the reason (JSON
//! always, text with `--verbose`), repeated errors of one kind in one file are counted rather
//! than repeated, and a scan of directories that hold no input at all is an error.

use assert_cmd::Command;
use serde_json::Value;
use std::fs;
use std::path::Path;

const TEMPLATE: &str = "Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      Code: {ZipFile: x}\n      Environment:\n        Variables: {A: b}\n";

fn scan(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::cargo_bin("atrest")
        .unwrap()
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .args(["scan", "--rule", "ATR-L001"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("good.yaml"), TEMPLATE).unwrap();
    fs::write(d.join("blob.json"), b"\x00\x01\x02binary\x00").unwrap();
    fs::write(d.join("README.md"), "# readme\n").unwrap();
    fs::write(d.join("settings.yaml"), "a: 1\nb: [2, 3]\n").unwrap();
    fs::write(d.join("empty.json"), "").unwrap();
    fs::write(d.join("archive.tar.gz"), b"\x1f\x8b\x08\x00").unwrap();
    dir
}

/// (file, reason) of every skipped file, in path order.
const SKIPPED: [(&str, &str); 5] = [
    (
        "README.md",
        "not a file type atrest reads (by its extension)",
    ),
    ("archive.tar.gz", "compressed, and not a .json.gz"),
    ("blob.json", "binary content (NUL bytes)"),
    ("empty.json", "empty"),
    (
        "settings.yaml",
        "JSON or YAML that is not a template, Terraform plan or AWS API output",
    ),
];

#[test]
fn the_json_report_lists_every_skipped_file_with_its_reason() {
    let dir = tree();
    let (code, stdout, _) = scan(dir.path(), &["--format", "json"]);
    assert_eq!(code, Some(1));
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    let listed: Vec<(&str, &str)> = doc["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["file"].as_str().unwrap(), s["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(listed, SKIPPED);
    assert_eq!(doc["summary"]["files_skipped"], 5);
    assert_eq!(doc["findings"].as_array().unwrap().len(), 1);
}

#[test]
fn verbose_text_lists_them_and_plain_text_only_counts_them() {
    let dir = tree();
    let (_, plain, _) = scan(dir.path(), &[]);
    assert!(!plain.contains("skipped: "), "{plain}");
    assert!(plain.contains("; 5 other files skipped"), "{plain}");
    for flag in ["-v", "--verbose"] {
        let (code, text, _) = scan(dir.path(), &[flag]);
        assert_eq!(code, Some(1));
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("skipped: "))
            .collect();
        let expected: Vec<String> = SKIPPED
            .iter()
            .map(|(f, r)| format!("skipped: {f}: {r}"))
            .collect();
        assert_eq!(lines, expected, "{flag}");
        assert!(text.contains("good.yaml:6:7 ATR-L001"), "{text}");
    }
}

#[test]
fn repeated_errors_of_one_kind_in_one_file_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("good.yaml"), TEMPLATE).unwrap();
    let mut aliases = String::from(
        "Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      Code: &c {ZipFile: x}\n",
    );
    for i in 0..80 {
        aliases.push_str(&format!(
            "  T{i}:\n    Type: AWS::SNS::Topic\n    Properties: {{x: *c}}\n"
        ));
    }
    fs::write(dir.path().join("aliases.yaml"), aliases).unwrap();
    let (code, stdout, _) = scan(dir.path(), &[]);
    assert_eq!(code, Some(2));
    let errors: Vec<&str> = stdout.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(
        errors,
        [
            "error: aliases.yaml:5:13: YAML anchor: CloudFormation does not support anchors and aliases",
            "error: aliases.yaml:8:21: YAML alias: CloudFormation does not support anchors and aliases",
            "error: aliases.yaml:11:21: YAML alias: CloudFormation does not support anchors and aliases",
            "error: aliases.yaml:14:21: YAML alias: CloudFormation does not support anchors and aliases",
            "error: aliases.yaml:17:21: 77 more like this (up to line 245): YAML alias: CloudFormation does not support anchors and aliases",
        ]
    );
    assert!(stdout.contains("good.yaml:6:7 ATR-L001"), "{stdout}");
}

#[test]
fn directories_without_any_input_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir_all(d.join("docs")).unwrap();
    fs::create_dir_all(d.join("infra")).unwrap();
    fs::write(d.join("docs/README.md"), "# docs\n").unwrap();
    fs::write(d.join("docs/mkdocs.yml"), "site_name: x\n").unwrap();
    fs::write(d.join("infra/good.yaml"), TEMPLATE).unwrap();

    // The wrong folder: exit 2, and the report says why.
    let (code, stdout, _) = scan(d, &["docs"]);
    assert_eq!(code, Some(2), "{stdout}");
    assert!(
        stdout.contains("error: docs: no input found here: no template, Terraform file or plan, AWS API output or CloudTrail log (2 other files skipped; --verbose lists them with the reason)"),
        "{stdout}"
    );
    // In other formats the error is repeated on stderr, for the CI log.
    let (code, _, stderr) = scan(d, &["docs", "--format", "sarif"]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("error: docs: no input found here"),
        "{stderr}"
    );

    // The right folder, or both: the findings decide.
    assert_eq!(scan(d, &["infra"]).0, Some(1));
    assert_eq!(scan(d, &["docs", "infra"]).0, Some(1));

    // Files named one by one (as pre-commit passes every changed `.yml`) may be no inputs.
    let (code, stdout, _) = scan(d, &["docs/mkdocs.yml"]);
    assert_eq!(code, Some(0), "{stdout}");

    // `--files-from` is the same as naming its entries: a listed folder with no input is the
    // same error, listed files that are no templates are not, and an empty list names nothing.
    for (list, expected) in [
        ("docs\n", Some(2)),
        ("docs\ninfra\n", Some(1)),
        ("docs/mkdocs.yml\n", Some(0)),
        ("", Some(0)),
    ] {
        fs::write(d.join("list.txt"), list).unwrap();
        let (code, stdout, _) = scan(d, &["--files-from", "list.txt"]);
        assert_eq!(code, expected, "{list:?}: {stdout}");
        if expected == Some(2) {
            assert!(
                stdout.contains("error: docs: no input found here"),
                "{stdout}"
            );
        }
    }
}
