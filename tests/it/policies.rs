//! The built-in policies' Rego unit tests (`*_test.rego` beside each policy) pass, run through
//! the same code as `atrest test`; and `atrest test` and `atrest policy new` work for a user's
//! own policies.

use crate::common;

use atrest::engine::testing::{self, Verdict};
use common::atrest;
use std::fs;

#[test]
fn built_in_policy_tests_pass() {
    let (sources, errors) = testing::sources(true, &[]);
    assert!(errors.is_empty(), "{errors:?}");
    let run = testing::run(&sources, false);
    assert!(run.errors.is_empty(), "{:?}", run.errors);
    let failed: Vec<String> = run
        .results
        .iter()
        .filter(|r| r.verdict != Verdict::Pass)
        .map(|r| format!("{}:{} {} {:?}", r.path, r.line, r.name, r.verdict))
        .collect();
    assert!(
        failed.is_empty(),
        "failing policy tests:\n{}",
        failed.join("\n")
    );
    // Every built-in rule has tests beside its policy, for a failing and a passing input.
    for rule in &common::builtin().rules {
        let test_file = rule.path.replace(".rego", "_test.rego");
        let names: Vec<&str> = run
            .results
            .iter()
            .filter(|r| r.path == test_file)
            .map(|r| r.name.as_str())
            .collect();
        assert!(
            names.iter().any(|n| n.contains("fail")) && names.iter().any(|n| n.contains("pass")),
            "{}: {test_file} needs tests that fail and pass: {names:?}",
            rule.id
        );
    }
}

#[test]
fn a_scaffolded_policy_tests_green_runs_in_a_scan_and_reports_failing_tests() {
    let dir = tempfile::tempdir().unwrap();
    let out = atrest(dir.path())
        .args([
            "policy",
            "new",
            "function_name",
            "--id",
            "ORG-001",
            "--severity",
            "high",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(dir.path().join("policies/function_name.rego").is_file());
    let again = atrest(dir.path())
        .args(["policy", "new", "function_name"])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2), "never overwrites");

    let out = atrest(dir.path())
        .args(["test", "policies", "--coverage"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("PASS  data.custom.function_name.test_function_without_a_name_fails"),
        "{text}"
    );
    assert!(text.contains("2 tests: 2 passed, 0 failed"), "{text}");
    assert!(
        text.contains("policies/function_name.rego  100.0%"),
        "{text}"
    );

    fs::write(
        dir.path().join("t.yaml"),
        "Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      Code: {ZipFile: x}\n",
    )
    .unwrap();
    let out = atrest(dir.path())
        .args(["scan", "--no-builtin", "--policy", "policies", "t.yaml"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("t.yaml:2:3 ORG-001 high: Function Fn does not set a FunctionName."),
        "{text}"
    );

    // A test that does not hold fails the run, and names the test and its line.
    let tests = dir.path().join("policies/function_name_test.rego");
    let broken = fs::read_to_string(&tests)
        .unwrap()
        .replace("\"name\": \"orders\"", "\"description\": \"no name\"");
    fs::write(&tests, broken).unwrap();
    let out = atrest(dir.path())
        .args(["test", "policies"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("FAIL  data.custom.function_name.test_function_with_a_name_passes (line 10)"),
        "{text}"
    );
    assert!(text.contains("2 tests: 1 passed, 1 failed"), "{text}");
}
