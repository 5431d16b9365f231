//! Whole-report snapshots of `atrest scan examples/` in every format (insta). A change to any
//! report shows up here as a diff to review: `cargo insta review`, or `INSTA_UPDATE=always`.
//! The scan runs from the repository with the relative path `examples`, so every path in the
//! reports is relative; atrest's own version is replaced by `[VERSION]`, and the
//! checkout's location by `[ROOT]`.

use crate::common;

/// The report of `atrest scan --format <format> examples`, with atrest's version and the
/// checkout's absolute location (SARIF's `originalUriBaseIds`) masked.
fn report(format: &str) -> String {
    let out = common::atrest(&common::manifest_dir())
        .args(["scan", "--format", format, "examples"])
        .output()
        .unwrap();
    crate::common::assert_exit(&out, 1);
    let text = String::from_utf8(out.stdout).unwrap().replace(
        &format!("\"{}\"", env!("CARGO_PKG_VERSION")),
        "\"[VERSION]\"",
    );
    let mut masked = String::new();
    for line in text.lines() {
        match line.split_once("\"uri\": \"file://") {
            Some((indent, _)) => masked.push_str(&format!("{indent}\"uri\": \"file://[ROOT]/\"")),
            None => masked.push_str(line),
        }
        masked.push('\n');
    }
    masked
}

#[test]
fn text_report_of_the_examples() {
    insta::assert_snapshot!("examples.text", report("text"));
}

#[test]
fn json_report_of_the_examples() {
    insta::assert_snapshot!("examples.json", report("json"));
}

#[test]
fn sarif_report_of_the_examples() {
    insta::assert_snapshot!("examples.sarif", report("sarif"));
}

#[test]
fn junit_report_of_the_examples() {
    insta::assert_snapshot!("examples.junit", report("junit"));
}
