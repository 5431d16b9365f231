//! Inputs and policies shaped to make a scan slow, large or fatal: long lines, wide maps,
//! values that grow with each reference, recursive or allocating policies. Each is scanned
//! beside a good template whose finding must survive; sizes are modest (the scaling itself is
//! measured by `cargo bench --bench scaling`, not timed here). Cases that would need gigabytes
//! if a bound failed run under `ulimit -v` in a child process, so a failure is a clean exit
//! code, not a machine out of memory.

use crate::hostile_inputs::{GOOD, Outcome, assert_error, scan_beside_good};
use std::fmt::Write as _;
use std::fs;
use std::process::Command;

fn assert_good_kept(name: &str, out: &Outcome) {
    assert!(
        out.stdout.contains("good.yaml:6:7 ATR-L001"),
        "{name}: the good file's finding is kept\n{}",
        out.stdout
    );
}

/// A CloudFormation template on one line: `n` SNS topics whose names hold multi-byte
/// characters, then a function with environment variables (one ATR-L001 finding). Returns the
/// text and the 1-based column, in characters, of the function's `Environment` key.
fn one_line_template(n: usize) -> (String, usize) {
    let mut s = String::from("{\"Resources\": {");
    for i in 0..n {
        write!(s, "\"T{i}\": {{\"Type\": \"AWS::SNS::Topic\", \"Properties\": {{\"TopicName\": \"é€𝄞-{i}\"}}}}, ").unwrap();
    }
    s.push_str("\"Fn\": {\"Type\": \"AWS::Lambda::Function\", \"Properties\": {\"Code\": {\"ZipFile\": \"x\"}, ");
    let col = s.chars().count() + 1;
    s.push_str("\"Environment\": {\"Variables\": {\"A\": \"b\"}}}}}}");
    (s, col)
}

#[test]
fn a_one_line_template_is_read_with_exact_columns() {
    let (text, col) = one_line_template(20_000);
    assert!(text.len() > 1_000_000);
    let out = scan_beside_good("big.json", text.as_bytes(), &[]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_good_kept("big.json", &out);
    let at = format!("big.json:1:{col} ATR-L001");
    assert!(out.stdout.contains(&at), "{at}\n{}", out.stdout);
}

#[test]
fn a_one_line_plan_is_read() {
    // As `terraform show -json` writes it: one line.
    let mut changes = String::new();
    for i in 0..8_000 {
        write!(changes, "{{\"address\": \"aws_sns_topic.t{i}\", \"mode\": \"managed\", \"type\": \"aws_sns_topic\", \"name\": \"t{i}\", \"change\": {{\"actions\": [\"create\"], \"before\": null, \"after\": {{\"name\": \"t{i}\"}}, \"after_unknown\": {{}}}}}}, ").unwrap();
    }
    let plan = format!(
        "{{\"format_version\": \"1.2\", \"terraform_version\": \"1.9.0\", \"resource_changes\": [{changes}{{\"address\": \"aws_lambda_function.f\", \"mode\": \"managed\", \"type\": \"aws_lambda_function\", \"name\": \"f\", \"change\": {{\"actions\": [\"create\"], \"before\": null, \"after\": {{\"function_name\": \"f\", \"environment\": [{{\"variables\": {{\"A\": \"b\"}}}}], \"kms_key_arn\": null}}, \"after_unknown\": {{}}}}}}]}}"
    );
    assert!(plan.len() > 1_000_000 && !plan.contains('\n'));
    let out = scan_beside_good("plan.json", plan.as_bytes(), &[]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_good_kept("plan.json", &out);
    assert!(
        out.stdout.contains("plan.json:1:") && out.stdout.contains("aws_lambda_function.f"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_tf_file_with_a_long_line_is_read() {
    let tf = format!(
        "locals {{\n  big = \"{}\"\n}}\nresource \"aws_lambda_function\" \"f\" {{\n  function_name = \"f\"\n  role          = \"r\"\n  environment {{\n    variables = {{ A = \"b\" }}\n  }}\n}}\n",
        "é".repeat(500_000)
    );
    let out = scan_beside_good("tf/main.tf", tf.as_bytes(), &[]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_good_kept("main.tf", &out);
    assert!(
        out.stdout.contains("tf/main.tf:7:3 ATR-L001"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_wide_yaml_map_with_a_late_duplicate_key_names_its_line() {
    let mut text = String::from(
        "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  T:\n    Type: AWS::SNS::Topic\nMetadata:\n  Big:\n",
    );
    for i in 0..50_000 {
        writeln!(text, "    k{i}: v").unwrap();
    }
    text.push_str("    k7: again\n");
    assert_error(
        "wide.yaml",
        text.as_bytes(),
        Some(7 + 50_000),
        "duplicate key \"k7\" (first at line 14)",
    );
}

/// A module whose locals nest a list ten-fold per level: each level costs ten times the one
/// below, so evaluating `local.l11` whole would make 10^12 elements.
fn nested_locals() -> String {
    let mut tf = String::from(
        "locals {\n  l0 = [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\n",
    );
    for i in 1..=11 {
        let refs = vec![format!("local.l{}", i - 1); 10].join(",");
        writeln!(tf, "  l{i} = [{refs}]").unwrap();
    }
    tf.push_str("}\nresource \"aws_lambda_function\" \"g\" {\n  function_name = \"g\"\n  role          = \"r\"\n  environment {\n    variables = { A = jsonencode(local.l11) }\n  }\n}\n");
    tf
}

/// Runs atrest with extra arguments under a virtual memory limit (in KiB), in `dir`.
fn run_capped(dir: &std::path::Path, kib: u64, args: &[&str]) -> Outcome {
    let bin = assert_cmd::cargo::cargo_bin("atrest");
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {kib} && exec \"$0\" \"$@\""))
        .arg(bin)
        .args(["scan", "--policy-timeout", "0"])
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let code = out.status.code().unwrap_or_else(|| {
        panic!(
            "killed by a signal: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_ne!(code, 101, "{}", String::from_utf8_lossy(&out.stderr));
    Outcome {
        code,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A directory with the good template and the given files.
fn beside_good(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("good.yaml"), GOOD).unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    dir
}

/// 1.5 GiB of address space: the debug binary with its threads needs a few hundred MiB; an
/// unbounded case needs many GiB.
const CAP_KIB: u64 = 1536 * 1024;

/// The one error line of a scan that failed on one input (exit 2) and kept the good finding.
fn only_error<'a>(what: &str, out: &'a Outcome) -> &'a str {
    assert_eq!(out.code, 2, "{what}: exit code\n{}", out.stdout);
    assert_good_kept(what, out);
    let errors: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{what}: one error\n{}", out.stdout);
    errors[0]
}

#[test]
fn locals_that_multiply_are_stopped_with_an_error_naming_the_outermost() {
    let dir = beside_good(&[("tf/main.tf", &nested_locals())]);
    let out = run_capped(dir.path(), CAP_KIB, &["--rule", "ATR-L001"]);
    let error = only_error("nested locals", &out);
    assert!(
        error.starts_with("error: tf/main.tf:13:")
            && error.contains("local.l11 is too large to evaluate"),
        "{error}"
    );
}

#[test]
fn a_replace_chain_is_refused_before_the_string_is_built() {
    // Each level is its input's length squared: 10, 100, 10^4, 10^8, 10^16 bytes.
    let tf = "locals {\n  s0 = \"aaaaaaaaaa\"\n  s1 = replace(local.s0, \"a\", local.s0)\n  s2 = replace(local.s1, \"a\", local.s1)\n  s3 = replace(local.s2, \"a\", local.s2)\n  s4 = replace(local.s3, \"a\", local.s3)\n}\nresource \"aws_lambda_function\" \"g\" {\n  function_name = \"g\"\n  role          = \"r\"\n  environment {\n    variables = { A = local.s4 }\n  }\n}\n";
    let dir = beside_good(&[("tf/main.tf", tf)]);
    let out = run_capped(dir.path(), CAP_KIB, &["--rule", "ATR-L001"]);
    let error = only_error("replace chain", &out);
    assert!(
        error.starts_with("error: tf/main.tf:6:8: local.s4 is too large to evaluate"),
        "{error}"
    );
    // The function is still judged: its key is not set, whatever the variables hold.
    assert!(
        out.stdout.contains("tf/main.tf:11:3 ATR-L001"),
        "{}",
        out.stdout
    );
}

/// A user policy (rule ORG-X) with the given body, scanned beside the good template with the
/// built-in ATR-L001, under the memory cap.
fn scan_with_policy(body: &str) -> Outcome {
    let dir = beside_good(&[("p/x.rego", &policy(body))]);
    run_capped(
        dir.path(),
        CAP_KIB,
        &["--policy", "p", "--rule", "ATR-L001", "--rule", "ORG-X"],
    )
}

/// A policy file for rule ORG-X with the given body.
fn policy(body: &str) -> String {
    format!(
        "# METADATA\n# title: Hostile\n# custom:\n#   id: ORG-X\n#   severity: low\npackage org.x\n\nimport rego.v1\n\n{body}\n"
    )
}

fn assert_policy_error(body: &str, fragment: &str) {
    let out = scan_with_policy(body);
    let error = only_error(fragment, &out);
    assert!(
        error.contains("rule ORG-X") && error.contains(fragment),
        "{error:?} should name the rule and say {fragment:?}"
    );
}

#[test]
fn a_recursive_function_is_a_policy_error_not_a_stack_overflow() {
    assert_policy_error(
        "f(x) := y if { y := g(x + 1) }\ng(x) := y if { y := f(x) }\ndeny contains {\"resource\": \"Fn\", \"message\": \"m\"} if { f(1) > 0 }",
        "calls a recursive function (data.org.x.f -> data.org.x.g -> data.org.x.f",
    );
}

#[test]
fn a_range_too_large_for_memory_is_a_policy_error_not_an_abort() {
    for (call, n) in [
        ("numbers.range(1, 1e9)", "1000000000"),
        ("numbers.range_step(0, 1e12, 2)", "500000000001"),
        ("numbers.range(1, 1e8)", "100000000"),
    ] {
        assert_policy_error(
            &format!(
                "deny contains {{\"resource\": \"Fn\", \"message\": \"m\"}} if {{ count({call}) > 0 }}"
            ),
            &format!("numbers.range of {n} elements is over the limit"),
        );
    }
    // A range of ordinary size still works.
    let out = scan_with_policy(
        "deny contains {\"resource\": \"Fn\", \"message\": \"m\"} if { count(numbers.range(1, 5)) == 5 }",
    );
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stdout.contains("good.yaml:2:3 ORG-X"), "{}", out.stdout);
}

#[test]
fn random_values_are_refused_so_reports_repeat() {
    assert_policy_error(
        "deny contains {\"resource\": \"Fn\", \"message\": sprintf(\"%d\", [rand.intn(\"x\", 100)])} if { true }",
        "rand.intn is not allowed",
    );
    assert_policy_error(
        "deny contains {\"resource\": \"Fn\", \"message\": sprintf(\"%d\", [time.now_ns()])} if { true }",
        "time.now_ns",
    );
}

#[test]
fn brackets_that_would_take_the_parser_minutes_are_refused_at_load() {
    let run = "[".repeat(30) + &"]".repeat(30);
    let dir = beside_good(&[("p/x.rego", &policy(&format!("x := {run}")))]);
    // No --rule: a policy file whose rule is not selected is not parsed at all.
    let out = run_capped(dir.path(), CAP_KIB, &["--policy", "p"]);
    let error = only_error("brackets", &out);
    assert!(
        error.starts_with("error: p/x.rego:10: more than 12 brackets opened one after another"),
        "{error}"
    );
}

#[test]
fn builtins_whose_result_outgrows_their_arguments_are_refused_before_they_allocate() {
    let deny = "deny contains {\"resource\": \"Fn\", \"message\": m} if {";
    // regorus refuses policy lines over 1024 columns.
    let kb = "a".repeat(500);
    for (body, fragment) in [
        // One call that pads to a width written in the format.
        (
            "m := sprintf(\"%0999999999d\", [1])".to_owned(),
            "sprintf: a width or precision over 4096",
        ),
        (
            "m := sprintf(\"%.99999999f\", [1.5])".to_owned(),
            "sprintf: a width",
        ),
        // Each call multiplies the length by the replacement's.
        (
            format!(
                "s := \"{kb}\"; t := replace(s, \"a\", s); u := replace(t, \"a\", t); m := substring(u, 0, 3)"
            ),
            "replace would build a string of",
        ),
        (
            format!(
                "s := \"{kb}\"\nt := regex.replace(s, \"\", s); u := regex.replace(t, \"\", t); m := substring(u, 0, 3)"
            ),
            "regex.replace would build a string of",
        ),
        (
            format!(
                "s := \"{kb}\"\nt := strings.replace_n({{\"a\": s}}, s); u := strings.replace_n({{\"a\": t}}, t); m := substring(u, 0, 3)"
            ),
            "strings.replace_n would build a string of",
        ),
    ] {
        assert_policy_error(&format!("{deny} {body} }}"), fragment);
    }
    // A string that doubles on each call: forty calls are a terabyte.
    let nested = "f(".repeat(40) + "\"ab\"" + &")".repeat(40);
    assert_policy_error(
        &format!("f(s) := concat(\"\", [s, s])\n{deny} m := substring({nested}, 0, 3) }}"),
        "concat would build a string of",
    );
    // At ordinary sizes they are the builtins themselves.
    let out = scan_with_policy(&format!(
        "{deny} m := sprintf(\"%s-%03d-%.2f\", [replace(\"a.b\", \".\", \"::\"), 7, 1.5]) }}"
    ));
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stdout.contains("ORG-X low: a::b-007-1.50"),
        "{}",
        out.stdout
    );
}
