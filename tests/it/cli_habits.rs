//! Flags users bring from other tools: `-f` for the format, `--severity` for the threshold,
//! and checkov's `-o FORMAT`, which here would name the output file.

use crate::common;
use assert_cmd::Command;

fn atrest(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("atrest")
        .unwrap()
        .current_dir(common::manifest_dir().join("examples"))
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn dash_f_is_the_format_and_severity_the_threshold() {
    let out = atrest(&["scan", "-f", "json", "."]);
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["summary"]["by_severity"]["high"], 0);
    assert!(doc["summary"]["by_severity"]["medium"].as_u64().unwrap() > 0);
    // The examples have medium findings and no high one.
    assert_eq!(
        atrest(&["scan", "--severity", "high", "."]).status.code(),
        Some(0)
    );
    assert_eq!(
        atrest(&["scan", "--severity", "medium", "."]).status.code(),
        Some(1)
    );
}

#[test]
fn dash_o_with_a_format_name_is_refused_with_the_flag_meant() {
    for (name, format) in [
        ("sarif", "sarif"),
        ("json", "json"),
        ("cli", "text"),
        ("junitxml", "junit"),
    ] {
        let out = atrest(&["scan", "-o", name, "."]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!(
                "`-o {name}` names the output file; for the report format use `-f {format}`"
            )),
            "{stderr}"
        );
        assert!(
            !common::manifest_dir().join("examples").join(name).exists(),
            "no file {name} written"
        );
    }
    // A path is a path.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sarif");
    let out = atrest(&["scan", "-f", "sarif", "-o", file.to_str().unwrap(), "."]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains("\"version\": \"2.1.0\"")
    );
}

/// A tab-indented JSON template: the source line is shown with its tabs as four spaces each,
/// and the caret, made of spaces, stands under the key.
#[test]
fn the_caret_stands_under_the_key_after_tabs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("t.json"),
        "{\n\t\"Resources\": {\n\t\t\"Fn\": {\n\t\t\t\"Type\": \"AWS::Lambda::Function\",\n\t\t\t\"Properties\": {\n\t\t\t\t\"Code\": {\"ZipFile\": \"x\"},\n\t\t\t\t\"Environment\": {\"Variables\": {\"A\": \"b\"}}\n\t\t\t}\n\t\t}\n\t}\n}\n",
    )
    .unwrap();
    let [source, caret] = source_and_caret(dir.path(), "t.json", "t.json:7:5 ATR-L001");
    assert_eq!(
        source,
        "   7 |                 \"Environment\": {\"Variables\": {\"A\": \"b\"}}"
    );
    assert_eq!(caret, "     |                 ^^^^^^^^^^^^^");
}

/// The source line and the caret line under the ATR-L001 finding whose heading holds `heading`,
/// in the text report of `file` in `dir`.
fn source_and_caret(dir: &std::path::Path, file: &str, heading: &str) -> [String; 2] {
    let out = Command::cargo_bin("atrest")
        .unwrap()
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .args(["scan", "--rule", "ATR-L001", file])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains(heading))
        .unwrap_or_else(|| panic!("no finding {heading}:\n{text}"));
    [lines[at + 2].to_owned(), lines[at + 3].to_owned()]
}

/// Wide characters (two columns each on a terminal) and combining marks (none) before the key:
/// the caret is measured in columns, not characters.
#[test]
fn the_caret_stands_under_the_key_after_wide_characters_and_combining_marks() {
    let dir = tempfile::tempdir().unwrap();
    // "関数" is four columns wide in two characters; "e\u{301}" one column in two characters.
    let line = "      Description: 関数 cafe\u{301}, Environment: {Variables: {A: b}}";
    std::fs::write(
        dir.path().join("t.yaml"),
        format!(
            "Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties: {{\n      Code: {{ZipFile: x}},\n{line}\n    }}\n"
        ),
    )
    .unwrap();
    let [source, caret] = source_and_caret(dir.path(), "t.yaml", "t.yaml:6:30 ATR-L001");
    assert_eq!(source, format!("   6 | {line}"));
    // Under "Environment" (column 30: the 29 characters before it are 30 columns wide): 6
    // spaces, "Description: " (13), "関数" (4 columns), " cafe\u{301}, " (7 columns).
    let pad = 6 + 13 + 4 + 7;
    assert_eq!(
        caret,
        format!(
            "     | {}{}",
            " ".repeat(pad),
            "^".repeat("Environment".len())
        )
    );
}

/// One run, several reports: SARIF and JSON to their files, the text report to standard output;
/// each the same as the report of a run with that format alone.
#[test]
fn several_formats_in_one_run_each_as_alone() {
    let dir = tempfile::tempdir().unwrap();
    let sarif = dir.path().join("a.sarif");
    let json = dir.path().join("a.json");
    let out = atrest(&[
        "scan",
        "-f",
        &format!("sarif={}", sarif.display()),
        "--format",
        "text",
        "-f",
        &format!("json={}", json.display()),
        ".",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(out.stdout, atrest(&["scan", "."]).stdout);
    let alone = |format: &str| atrest(&["scan", "-f", format, "."]).stdout;
    assert_eq!(std::fs::read(&sarif).unwrap(), alone("sarif"));
    assert_eq!(std::fs::read(&json).unwrap(), alone("json"));
    // `--format X --output F` as before, now also beside a second report.
    let text = dir.path().join("a.txt");
    let out = atrest(&[
        "scan",
        "-f",
        &format!("sarif={}", sarif.display()),
        "-f",
        "text",
        "-o",
        text.to_str().unwrap(),
        ".",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert_eq!(std::fs::read(&text).unwrap(), atrest(&["scan", "."]).stdout);
}

#[test]
fn formats_that_would_share_an_output_are_refused_before_the_scan() {
    for (args, says) in [
        (
            &["-f", "sarif", "-f", "text"][..],
            "would both go to standard output",
        ),
        (&["-f", "jsonl=a.jsonl", "-f", "text"][..], "written alone"),
        (
            &["-f", "sarif=x.sarif", "-o", "x.txt"][..],
            "--output: every --format",
        ),
        (
            &["-f", "sarif=x", "-f", "json=x"][..],
            "x is named for two reports",
        ),
    ] {
        let out = atrest(&[&["scan"], args, &["."]].concat());
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(stderr.lines().count() <= 2, "{stderr}");
        assert!(out.stdout.is_empty());
    }
    let out = atrest(&["scan", "-f", "xml", "."]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("one of: text, json, sarif, junit"));
}

/// `--exclude` leaves out what `exclude:` in .atrest.yaml would: a bare name at any depth, a
/// path glob from the current directory.
#[test]
fn exclude_on_the_command_line_as_in_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let template =
        std::fs::read(common::manifest_dir().join("examples/orders-service/template.yaml"))
            .unwrap();
    for f in [
        "a/t.yaml",
        "a/cdk.out/t.yaml",
        "legacy/x/t.yaml",
        "keep/t.yaml",
    ] {
        let p = dir.path().join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, &template).unwrap();
    }
    let files = |args: &[&str]| -> Vec<String> {
        let out = Command::cargo_bin("atrest")
            .unwrap()
            .current_dir(dir.path())
            .args([&["scan", "-f", "json"], args, &["."]].concat())
            .output()
            .unwrap();
        common::finding_files(&out.stdout)
    };
    assert_eq!(files(&[]).len(), 4);
    assert_eq!(
        files(&["--exclude", "cdk.out", "--exclude", "legacy/**"]),
        ["a/t.yaml", "keep/t.yaml"]
    );
    std::fs::write(
        dir.path().join(".atrest.yaml"),
        "exclude: [cdk.out, 'legacy/**']\n",
    )
    .unwrap();
    assert_eq!(files(&[]), ["a/t.yaml", "keep/t.yaml"]);
    let out = atrest(&["scan", "--exclude", "a[", "."]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad glob \"a[\""));
}

/// Users who migrate from Checkov, Trivy or KICS find their check's id in `atrest rules show`
/// and in the rule reference.
#[test]
fn rules_name_the_same_check_in_other_tools() {
    for (rule, ids) in [
        ("ATR-L001", &["Checkov CKV_AWS_173"][..]),
        ("ATR-L009", &["Checkov CKV_AWS_45"][..]),
        (
            "ATR-L004",
            &[
                "Checkov CKV_AWS_158",
                "Trivy AVD-AWS-0017",
                "KICS 0afbcfe9-d341-4b92-a64c-7e6de0543879",
            ][..],
        ),
        ("ATR-L005", &["Checkov CKV_AWS_7"][..]),
    ] {
        let out = atrest(&["rules", "show", rule]);
        let text = String::from_utf8_lossy(&out.stdout);
        let (_, listed) = text
            .split_once("The same check in other tools:\n")
            .unwrap_or_else(|| panic!("{rule}:\n{text}"));
        for id in ids {
            assert!(listed.contains(&format!("  {id}")), "{rule}: {id}\n{text}");
        }
    }
    let reference = std::fs::read_to_string(common::manifest_dir().join("docs/rules.md")).unwrap();
    assert!(reference.contains("- Checkov CKV_AWS_173 (passes any KmsKeyArn"));
}
