//! The pre-commit hooks, run for real: `pre-commit try-repo` against a small git repository,
//! once with a failing template (the hook must fail) and once with a passing one (it must pass),
//! and the policy-test hook on a policy directory. Both kinds of hooks run the same checks:
//!
//! - `atrest-cargo`, `atrest-test-cargo` (`language: rust`): pre-commit builds atrest with
//!   `cargo install` from a clone of this repository. To keep CI within budget the build reuses a
//!   target directory under `target/` and skips release optimisation; the hook's behaviour does
//!   not depend on either.
//! - `atrest`, `atrest-test` (`language: python`): pre-commit pip-installs the repository's
//!   pyproject.toml, which only depends on the atrest-cli wheel. The wheel comes from the
//!   directory ATREST_WHEELHOUSE (CI builds it there, with setuptools beside it) and pip may use
//!   no index, so the test also proves that nothing is built from source.
//!
//! Where pre-commit is not installed, or no wheelhouse is given, the tests skip with a message,
//! unless ATREST_REQUIRE_PRE_COMMIT or ATREST_REQUIRE_WHEEL is set (CI sets them).

use crate::common;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Instant;

fn pre_commit() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("ATREST_PRE_COMMIT") {
        return Some(PathBuf::from(p));
    }
    let venv = common::manifest_dir().join("target/pre-commit-venv/bin/pre-commit");
    if venv.is_file() {
        return Some(venv);
    }
    Command::new("pre-commit")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|_| PathBuf::from("pre-commit"))
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("command runs");
    eprintln!(
        "{:?} -> {:?}\n{}{}",
        cmd,
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

const FAILING: &str = "Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      Code: {ZipFile: x}\n      Environment:\n        Variables: {A: b}\n";
const PASSING: &str = "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n";

#[test]
fn the_cargo_hooks_fail_on_findings_and_pass_without() {
    let Some(pre_commit) = pre_commit() else {
        common::skip(
            "pre_commit::the_cargo_hooks_fail_on_findings_and_pass_without",
            "pre-commit is not installed (pip install pre-commit)",
            "ATREST_REQUIRE_PRE_COMMIT",
        );
        return;
    };
    let target = common::manifest_dir().join("target");
    let env = [
        ("PRE_COMMIT_HOME", target.join("pre-commit-home")),
        ("CARGO_TARGET_DIR", target.join("pre-commit-build")),
        ("CARGO_PROFILE_RELEASE_LTO", "false".into()),
        ("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0".into()),
        ("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "256".into()),
        ("CARGO_PROFILE_RELEASE_INCREMENTAL", "true".into()),
    ];
    hooks_fail_on_findings_and_pass_without(&pre_commit, "-cargo", &env);
}

#[test]
fn the_python_hooks_run_the_prebuilt_wheel() {
    let Some(pre_commit) = pre_commit() else {
        common::skip(
            "pre_commit::the_python_hooks_run_the_prebuilt_wheel",
            "pre-commit is not installed (pip install pre-commit)",
            "ATREST_REQUIRE_PRE_COMMIT",
        );
        return;
    };
    let Some(wheels) = std::env::var_os("ATREST_WHEELHOUSE").map(PathBuf::from) else {
        common::skip(
            "pre_commit::the_python_hooks_run_the_prebuilt_wheel",
            "ATREST_WHEELHOUSE names no directory with the atrest-cli wheel (.ci/run builds one)",
            "ATREST_REQUIRE_WHEEL",
        );
        return;
    };
    let target = common::manifest_dir().join("target");
    let env = [
        ("PRE_COMMIT_HOME", target.join("pre-commit-home-python")),
        ("PIP_FIND_LINKS", wheels),
        ("PIP_NO_INDEX", "1".into()),
        // pip must not fall back to building anything with cargo.
        ("CARGO", "/nonexistent/cargo".into()),
    ];
    hooks_fail_on_findings_and_pass_without(&pre_commit, "", &env);
}

/// Runs the scan hook `atrest{suffix}` and the policy-test hook `atrest-test{suffix}` of this
/// repository with `env`.
fn hooks_fail_on_findings_and_pass_without(
    pre_commit: &std::path::Path,
    suffix: &str,
    env: &[(&str, PathBuf)],
) {
    let repo = common::manifest_dir();
    let scan_hook = format!("atrest{suffix}");
    let test_hook = format!("atrest-test{suffix}");
    let project = tempfile::tempdir().unwrap();
    let dir = project.path();
    std::fs::write(dir.join("failing.yaml"), FAILING).unwrap();
    std::fs::write(dir.join("passing.yaml"), PASSING).unwrap();
    std::fs::create_dir_all(dir.join("policies")).unwrap();
    common::git(dir, &["init", "-q"]);
    common::git(dir, &["add", "."]);

    let try_repo = |hook: &str, args: &[&str]| {
        let mut cmd = Command::new(pre_commit);
        cmd.current_dir(dir)
            .args(["try-repo", repo.to_str().unwrap(), hook])
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("NO_COLOR", "1")
            .env_remove("RUSTC_WRAPPER");
        let start = Instant::now();
        let out = run(&mut cmd);
        eprintln!(
            "pre-commit try-repo {hook} {args:?}: {:.0?}",
            start.elapsed()
        );
        out
    };

    let out = try_repo(&scan_hook, &["--files", "failing.yaml"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "the hook fails on a finding");
    assert!(text.contains("failing.yaml:6:7 ATR-L001"), "{text}");

    let out = try_repo(&scan_hook, &["--files", "passing.yaml"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the hook passes without findings"
    );

    // The policy-test hook runs `atrest test policies` on the scaffold `atrest policy new` writes.
    let scaffold = Command::new(env!("CARGO_BIN_EXE_atrest"))
        .current_dir(dir)
        .args(["policy", "new", "function_name"])
        .output()
        .unwrap();
    assert!(scaffold.status.success());
    common::git(dir, &["add", "."]);
    let out = try_repo(&test_hook, &["--all-files"]);
    assert_eq!(out.status.code(), Some(0), "the scaffold's tests pass");

    // A failing policy test fails the hook.
    let tests = dir.join("policies/function_name_test.rego");
    let mut text = std::fs::read_to_string(&tests).unwrap();
    text.push_str("\ntest_that_cannot_pass if {\n\tcount(deny) == 42 with input as {}\n}\n");
    std::fs::write(&tests, text).unwrap();
    common::git(dir, &["add", "."]);
    let out = try_repo(&test_hook, &["--all-files"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failing test fails the hook: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("test_that_cannot_pass"));
}
