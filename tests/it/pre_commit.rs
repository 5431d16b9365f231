//! The pre-commit hooks, run for real: `pre-commit try-repo` against a small git repository,
//! once with a failing template (the hook must fail) and once with a passing one (it must pass),
//! and the policy-test hook on a policy directory.
//!
//! pre-commit builds the hook with `cargo install` from a clone of this repository. To keep CI
//! within budget the build reuses a target directory under `target/` and skips release
//! optimisation; the hook's behaviour does not depend on either. Where pre-commit is not
//! installed the test skips with a message, unless ATREST_REQUIRE_PRE_COMMIT is set (CI sets it
//! after installing pre-commit into `target/pre-commit-venv`).

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
fn the_hooks_fail_on_findings_and_pass_without() {
    let Some(pre_commit) = pre_commit() else {
        common::skip(
            "pre_commit::the_hooks_fail_on_findings_and_pass_without",
            "pre-commit is not installed (pip install pre-commit)",
            "ATREST_REQUIRE_PRE_COMMIT",
        );
        return;
    };
    let repo = common::manifest_dir();
    let target = repo.join("target");
    let project = tempfile::tempdir().unwrap();
    let dir = project.path();
    std::fs::write(dir.join("failing.yaml"), FAILING).unwrap();
    std::fs::write(dir.join("passing.yaml"), PASSING).unwrap();
    std::fs::create_dir_all(dir.join("policies")).unwrap();
    common::git(dir, &["init", "-q"]);
    common::git(dir, &["add", "."]);

    let try_repo = |hook: &str, args: &[&str]| {
        let mut cmd = Command::new(&pre_commit);
        cmd.current_dir(dir)
            .args(["try-repo", repo.to_str().unwrap(), hook])
            .args(args)
            .env("PRE_COMMIT_HOME", target.join("pre-commit-home"))
            .env("CARGO_TARGET_DIR", target.join("pre-commit-build"))
            .env("CARGO_PROFILE_RELEASE_LTO", "false")
            .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0")
            .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "256")
            .env("CARGO_PROFILE_RELEASE_INCREMENTAL", "true")
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

    let out = try_repo("atrest", &["--files", "failing.yaml"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "the hook fails on a finding");
    assert!(text.contains("failing.yaml:6:7 ATR-L001"), "{text}");

    let out = try_repo("atrest", &["--files", "passing.yaml"]);
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
    let out = try_repo("atrest-test", &["--all-files"]);
    assert_eq!(out.status.code(), Some(0), "the scaffold's tests pass");

    // A failing policy test fails the hook.
    let tests = dir.join("policies/function_name_test.rego");
    let mut text = std::fs::read_to_string(&tests).unwrap();
    text.push_str("\ntest_that_cannot_pass if {\n\tcount(deny) == 42 with input as {}\n}\n");
    std::fs::write(&tests, text).unwrap();
    common::git(dir, &["add", "."]);
    let out = try_repo("atrest-test", &["--all-files"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failing test fails the hook: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("test_that_cannot_pass"));
}
