//! Nothing an input says is acted on by the terminal or the CI runner. Each case puts a value
//! that would be a GitHub workflow command (`\n::error file=x::`, `::stop-commands::`, `##[`)
//! or a terminal sequence (ESC[2J, an OSC title, an OSC 8 link, BEL, a bidi override) where
//! atrest prints it: resource names, duplicate keys, baseline entries, CloudTrail fields, file
//! names, a policy's `print()` and rule ids. Every format and standard error are checked, with
//! GITHUB_STEP_SUMMARY set as on a runner: no line starts a command, no raw control character
//! is written, the value is still shown (escaped), and the good template's finding survives.

use crate::hostile_inputs::{GOOD, gzipped_log};
use std::fs;
use std::path::Path;

/// A newline and a workflow command, a command stopper, the older command form, a screen
/// clear, a window title, an OSC 8 link, a bell and a right-to-left override.
const HOSTILE: &str = "A\n::error file=x::forged\r\n::stop-commands::tok ##[warning]old \u{1b}[2J\u{1b}]0;title\u{7}\u{1b}]8;;https://evil.example\u{1b}\\link\u{1b}]8;;\u{1b}\\ \u{202e}rev";

/// HOSTILE as a JSON string body.
fn json_str(s: &str) -> String {
    let quoted = serde_json::to_string(s).unwrap();
    quoted[1..quoted.len() - 1].to_owned()
}

/// What one run printed.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    summary: Option<String>,
}

fn run(dir: &Path, args: &[&str]) -> Run {
    let summary = tempfile::NamedTempFile::new().unwrap();
    fs::remove_file(summary.path()).unwrap();
    let out = crate::common::atrest(dir)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", summary.path())
        .args(args)
        .output()
        .unwrap();
    let code = out.status.code().expect("not killed by a signal");
    let stderr = String::from_utf8(out.stderr).expect("stderr is UTF-8");
    assert_ne!(code, 101, "panicked: {stderr}");
    Run {
        code,
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr,
        summary: fs::read_to_string(summary.path()).ok(),
    }
}

/// No line of `text` could be read as a workflow command, and nothing in it is a control or
/// bidi character but the line breaks.
fn assert_inert(what: &str, text: &str) {
    for line in text.lines() {
        assert!(
            !line.trim_start().starts_with("::"),
            "{what}: a line starts a workflow command: {line:?}"
        );
        assert!(
            !line.contains("##["),
            "{what}: a line holds an old-style command: {line:?}"
        );
    }
    let bad: Vec<char> = text
        .chars()
        .filter(|&c| c != '\n' && atrest::escape::is_unsafe(c))
        .collect();
    assert!(bad.is_empty(), "{what}: raw {bad:?} in\n{text}");
}

/// Scans `dir` in every format and checks every output; returns the text run.
fn scan_all(dir: &Path, extra: &[&str], expected_code: i32) -> Run {
    let mut text = None;
    // Shards are triaged by `atrest merge`: `--format jsonl` refuses a baseline.
    let jsonl = !extra.contains(&"--baseline");
    for format in [
        "text", "json", "sarif", "junit", "jsonl", "html", "markdown",
    ] {
        if format == "jsonl" && !jsonl {
            continue;
        }
        let mut args = vec!["scan", "--format", format];
        args.extend_from_slice(extra);
        let out = run(dir, &args);
        if format != "jsonl" {
            assert_eq!(
                out.code, expected_code,
                "{format}: exit code\n{}{}",
                out.stdout, out.stderr
            );
        }
        assert_inert(&format!("{format} stdout"), &out.stdout);
        assert_inert(&format!("{format} stderr"), &out.stderr);
        if let Some(s) = &out.summary {
            assert_inert(&format!("{format} step summary"), s);
        }
        match format {
            "json" | "sarif" | "jsonl" => {
                for doc in serde_json::Deserializer::from_str(&out.stdout).into_iter() {
                    let _: serde_json::Value = doc.unwrap_or_else(|e| panic!("{format}: {e}"));
                }
                assert!(out.stdout.contains("good.yaml"), "{format}: {}", out.stdout);
            }
            "junit" | "html" | "markdown" => {
                assert!(out.stdout.contains("good.yaml"), "{format}: {}", out.stdout);
            }
            _ => {
                assert!(
                    out.stdout.contains("good.yaml:6:7 ATR-L001"),
                    "the good finding is reported\n{}",
                    out.stdout
                );
                text = Some(out);
            }
        }
    }
    text.unwrap()
}

fn project(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("good.yaml"), GOOD).unwrap();
    for (name, bytes) in files {
        fs::write(dir.path().join(name), bytes).unwrap();
    }
    dir
}

/// The escaped form of HOSTILE's start, as the text report shows it.
const SHOWN: &str =
    "A\\n::error file=x::forged\\r\\n::stop-commands::tok ##\\[warning]old \\u{1b}[2J";

#[test]
fn resource_names_are_shown_escaped() {
    let template = format!(
        r#"{{"Resources": {{"{}": {{"Type": "AWS::Lambda::Function", "Properties": {{"Code": {{"ZipFile": "x"}}, "Environment": {{"Variables": {{"A": "b"}}}}}}}}}}}}"#,
        json_str(HOSTILE)
    );
    let dir = project(&[("evil.json", template.as_bytes())]);
    let out = scan_all(dir.path(), &["--rule", "ATR-L001"], 1);
    assert!(out.stdout.contains(SHOWN), "{}", out.stdout);
    // The same name in JSON is the name itself, as data.
    let json = run(
        dir.path(),
        &["scan", "--rule", "ATR-L001", "--format", "json"],
    );
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let ids: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["resource"]["logical_id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&HOSTILE), "{ids:?}");
    // A shard carries the name as data, and its merge shows it escaped.
    let shard = run(
        dir.path(),
        &["scan", "--rule", "ATR-L001", "--format", "jsonl"],
    );
    fs::write(dir.path().join("part.jsonl"), &shard.stdout).unwrap();
    for format in ["text", "junit"] {
        let args = [
            "merge",
            "--rule",
            "ATR-L001",
            "--format",
            format,
            "part.jsonl",
        ];
        let merged = run(dir.path(), &args);
        assert_eq!(merged.code, 1, "{}{}", merged.stdout, merged.stderr);
        assert_inert(&format!("merge {format}"), &merged.stdout);
        assert_inert(&format!("merge {format} stderr"), &merged.stderr);
        assert!(merged.stdout.contains("good.yaml"), "{}", merged.stdout);
    }
}

#[test]
fn duplicate_keys_are_shown_escaped() {
    let key = json_str(HOSTILE);
    let template = format!(
        r#"{{"Resources": {{"{key}": {{"Type": "AWS::SNS::Topic"}}, "{key}": {{"Type": "AWS::SNS::Topic"}}}}}}"#
    );
    let yaml_key = "\"::stop-commands::tok\\e[2J\"";
    let yaml = format!(
        "Resources:\n  {yaml_key}: {{Type: AWS::SNS::Topic}}\n  {yaml_key}: {{Type: AWS::SNS::Topic}}\n"
    );
    let dir = project(&[
        ("dup.json", template.as_bytes()),
        ("dup.yaml", yaml.as_bytes()),
    ]);
    let out = scan_all(dir.path(), &["--rule", "ATR-L001"], 1);
    // CloudFormation deploys a template with a key written twice: a note, not an error.
    let notes: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("note: "))
        .collect();
    assert_eq!(notes.len(), 2, "{}", out.stdout);
    assert!(notes[0].starts_with("note: dup.json:1:"), "{notes:?}");
    assert!(notes[1].starts_with("note: dup.yaml:3:"), "{notes:?}");
    assert!(notes.iter().all(|e| e.contains("::stop-commands::tok")));
}

#[test]
fn baseline_entries_are_shown_escaped() {
    let entry = json_str(HOSTILE);
    let baseline = format!(
        "{{\"tool\": \"atrest\", \"version\": 1, \"findings\": [\n  {{\"rule_id\": \"ATR-L001\", \"file\": \"{entry}.yaml\", \"resource\": \"{entry}\", \"property\": \"{entry}\", \"message\": \"{entry}\"}}\n]}}\n"
    );
    let dir = project(&[("baseline.json", baseline.as_bytes())]);
    let out = scan_all(
        dir.path(),
        &[
            "--rule",
            "ATR-L001",
            "--baseline",
            "baseline.json",
            "--report-unused-suppressions",
        ],
        1,
    );
    let warning = out
        .stdout
        .lines()
        .find(|l| l.starts_with("warning: ") && l.contains("matches no finding"))
        .unwrap_or_else(|| panic!("the unused entry is reported\n{}", out.stdout));
    assert!(warning.contains(SHOWN), "{warning}");
}

#[test]
fn cloudtrail_fields_are_shown_escaped() {
    use std::io::{Read, Write};
    let mut log = String::new();
    flate2::read::GzDecoder::new(&gzipped_log()[..])
        .read_to_string(&mut log)
        .unwrap();
    let hostile = json_str(HOSTILE);
    let log = log
        .replace("assumed-role/x/y", &format!("assumed-role/x/{hostile}"))
        .replace("function:f", &format!("function:{hostile}"))
        .replace("key/k", &format!("key/{hostile}"))
        .replace("\"e1\"", &format!("\"{hostile}\""))
        .replace(
            "2024-01-01T00:00:00Z",
            &format!("2024-01-01T00:00:00Z{hostile}"),
        );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(log.as_bytes()).unwrap();
    let dir = project(&[("trail.json.gz", &gz.finish().unwrap())]);
    let out = scan_all(dir.path(), &["--rule", "ATR-L001", "--rule", "ATR-C001"], 1);
    assert!(
        out.stdout.contains("trail.json.gz:1:13 ATR-C001"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("\\n::error file=x::"), "{}", out.stdout);
}

#[test]
fn file_names_are_shown_escaped() {
    let dir = project(&[
        // A finding in a file whose name would start a line with a command.
        ("::error file=x::a.yaml", GOOD.as_bytes()),
        // An error in one whose name holds a newline, a command and a screen clear.
        ("b\n::stop-commands::tok\u{1b}[2J.json", TRUNCATED),
    ]);
    // Not UTF-8 besides: whether it is read or named as an error, what is printed is inert
    // (and `run` checks that it is UTF-8).
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let name = std::ffi::OsStr::from_bytes(b"c\xff\n::error::d\x1b[2J.json");
        fs::write(dir.path().join(name), TRUNCATED).unwrap();
    }
    let out = scan_all(dir.path(), &["--rule", "ATR-L001"], 2);
    assert!(
        out.stdout.contains("\\::error file=x::a.yaml:6:7 ATR-L001"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("error: b\\n::stop-commands::tok\\u{1b}[2J.json:1:"),
        "{}",
        out.stdout
    );
}

/// A template cut short after its first resource's type: an input error.
const TRUNCATED: &[u8] = b"{\"Resources\": {\"Fn\": {\"Type\": \"AWS::Lambda::Function\"";

/// A policy printing what a resource is called, and the names it reports.
const PRINTING_POLICY: &str = r#"# METADATA
# title: Prints names
# description: Prints every function's name.
# custom:
#   id: X-PRINT
#   severity: low
package custom.prints

import rego.v1

deny contains {"resource": f.id, "message": sprintf("function %s", [f.logical_id])} if {
	some f in input.functions
	print("name:", f.logical_id)
}
"#;

#[test]
fn policy_print_output_is_shown_escaped() {
    let template = format!(
        r#"{{"Resources": {{"{}": {{"Type": "AWS::Lambda::Function", "Properties": {{"Code": {{"ZipFile": "x"}}}}}}}}}}"#,
        json_str(HOSTILE)
    );
    let dir = project(&[("evil.json", template.as_bytes())]);
    fs::create_dir(dir.path().join("policies")).unwrap();
    fs::write(dir.path().join("policies/prints.rego"), PRINTING_POLICY).unwrap();
    let out = scan_all(
        dir.path(),
        &[
            "--rule", "ATR-L001", "--rule", "X-PRINT", "--policy", "policies",
        ],
        1,
    );
    assert!(
        out.stderr
            .lines()
            .any(|l| l.contains("prints.rego:") && l.contains(&format!("name: {SHOWN}"))),
        "{}",
        out.stderr
    );
}

#[test]
fn a_rule_id_with_a_newline_is_a_policy_error_shown_escaped() {
    let policy = PRINTING_POLICY.replace(
        "#   id: X-PRINT",
        "#   id: \"X\\n::error file=x::forged\\e]0;t\\a\"",
    );
    let dir = project(&[]);
    fs::create_dir(dir.path().join("policies")).unwrap();
    fs::write(dir.path().join("policies/bad.rego"), policy).unwrap();
    let out = scan_all(dir.path(), &["--policy", "policies"], 2);
    let error = out
        .stdout
        .lines()
        .find(|l| l.starts_with("error: ") && l.contains("bad.rego"))
        .unwrap_or_else(|| panic!("the policy is named\n{}", out.stdout));
    assert!(error.contains("custom.id"), "{error}");
}

#[test]
fn rules_and_test_commands_show_policy_text_escaped() {
    let policy = PRINTING_POLICY
        .replace(
            "# title: Prints names",
            "# title: \"T\\n::error::x \\e[2J\"",
        )
        .replace(
            "# description: Prints every function's name.",
            "# description: \"::stop-commands::t\\nline2 ##[error]\"",
        );
    let test = "package custom.prints_test\n\nimport rego.v1\n\ntest_prints if {\n\tprint(\"\\n::error::from a test\")\n}\n";
    let dir = project(&[]);
    fs::create_dir(dir.path().join("policies")).unwrap();
    fs::write(dir.path().join("policies/prints.rego"), policy).unwrap();
    fs::write(dir.path().join("policies/prints_test.rego"), test).unwrap();
    for args in [
        &["rules", "--policy", "policies"][..],
        &["rules", "--policy", "policies", "show", "X-PRINT"],
        &["rules", "--policy", "policies", "--format", "markdown"],
        &["test", "policies"],
    ] {
        let out = run(dir.path(), args);
        assert_inert(&format!("{args:?} stdout"), &out.stdout);
        assert_inert(&format!("{args:?} stderr"), &out.stderr);
        assert!(out.code == 0, "{args:?}: {}{}", out.stdout, out.stderr);
    }
    let shown = run(
        dir.path(),
        &["rules", "--policy", "policies", "show", "X-PRINT"],
    );
    assert!(shown.stdout.contains("T\\n::error::x"), "{}", shown.stdout);
    let tested = run(dir.path(), &["test", "policies"]);
    assert!(
        tested.stderr.contains("\\n::error::from a test"),
        "{}",
        tested.stderr
    );
}

/// regorus writes some warnings itself, quoting a policy's source line: a policy file holding
/// a control or bidi character is refused, by line, before regorus reads it.
#[test]
fn a_policy_file_with_control_characters_is_refused_by_line() {
    let dir = project(&[]);
    fs::create_dir(dir.path().join("policies")).unwrap();
    fs::write(
        dir.path().join("policies/evil.rego"),
        "package custom.evil\n\n# \u{1b}]0;title\u{7}\r::error::forged\ndeny[x] { x := input.y }\n",
    )
    .unwrap();
    let out = scan_all(dir.path(), &["--policy", "policies"], 2);
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("error: policies/evil.rego:3: ") && l.contains("U+001B")),
        "{}",
        out.stdout
    );
}

/// The name of the configuration file used, which stderr reports, is shown escaped too.
#[test]
fn the_config_file_name_is_shown_escaped() {
    let name = "cfg\n::error file=x::forged\u{1b}[2J.yaml";
    let dir = project(&[(name, b"fail-on: high\n")]);
    let run = run(dir.path(), &["scan", "--config", name, "."]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("settings from cfg\\n"),
        "{}",
        run.stderr
    );
    assert_inert("stderr", &run.stderr);
    assert_inert("stdout", &run.stdout);
}
