//! Terraform as users write and run it (`fixtures/terraform-real`): the `== null` idiom of public
//! modules over objects that hold values known only after apply, modules downloaded by
//! `terraform init` (followed through `.terraform/modules/modules.json`), and blocks written as
//! arguments. Each finding is asserted by rule, file, line and column.

use crate::common;

use atrest::scan::ScanResult;
use std::path::{Path, PathBuf};

type Row = (String, String, u32, u32, String, &'static str);

fn fixture(name: &str) -> PathBuf {
    common::manifest_dir()
        .join("fixtures/terraform-real")
        .join(name)
}

/// (rule, file relative to `root`, line, column, resource, outcome), sorted.
fn findings(result: &ScanResult, root: &Path) -> Vec<Row> {
    let rules = &common::builtin().rules;
    let prefix = format!("{}/", common::rel(root));
    let mut out: Vec<Row> = result
        .findings
        .iter()
        .map(|f| {
            let loc = f.finding.location.as_ref().expect("a location");
            (
                rules[f.finding.rule].id.clone(),
                f.path.strip_prefix(&prefix).unwrap_or(&f.path).to_owned(),
                loc.span.start.line,
                loc.span.start.col,
                f.finding.logical_id.clone(),
                common::outcome_name(f.finding.outcome),
            )
        })
        .collect();
    out.sort();
    out
}

fn rows(expected: &[(&str, &str, u32, u32, &str, &'static str)]) -> Vec<Row> {
    let mut out: Vec<Row> = expected
        .iter()
        .map(|(r, f, l, c, id, o)| (r.to_string(), f.to_string(), *l, *c, id.to_string(), *o))
        .collect();
    out.sort();
    out
}

/// (file relative to `root`, line, column, message) of errors or notes.
fn places(list: &[atrest::scan::InputError], root: &Path) -> Vec<(String, u32, u32, String)> {
    let prefix = format!("{}/", common::rel(root));
    list.iter()
        .map(|e| {
            (
                e.path.strip_prefix(&prefix).unwrap_or(&e.path).to_owned(),
                e.line.unwrap_or(0),
                e.column.unwrap_or(0),
                e.message.clone(),
            )
        })
        .collect()
}

/// The places alone.
fn at(places: &[(String, u32, u32, String)]) -> Vec<(&str, u32, u32)> {
    places
        .iter()
        .map(|(f, l, c, _)| (f.as_str(), *l, *c))
        .collect()
}

#[test]
fn null_idiom_over_unknown_attributes_gives_one_instance() {
    let root = fixture("null-idiom");
    let result = common::scan_paths(std::slice::from_ref(&root));
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    let m = "modules/function/main.tf";
    assert_eq!(
        findings(&result, &root),
        rows(&[
            (
                "ATR-L001",
                m,
                42,
                3,
                "module.audit.aws_lambda_function.this",
                "fail"
            ),
            (
                "ATR-L003",
                m,
                41,
                3,
                "module.audit.aws_lambda_function.this",
                "fail"
            ),
            (
                "ATR-L003",
                m,
                41,
                3,
                "module.orders.aws_lambda_function.this",
                "fail"
            ),
            // `count = local.own_group ? 1 : 0`: made only where the caller gave no log group.
            (
                "ATR-L004",
                m,
                67,
                1,
                "module.audit.aws_cloudwatch_log_group.own",
                "fail"
            ),
            // The caller's group, found through `logging.log_group` although its name is known
            // only after apply; the function's environment key is the caller's key.
            (
                "ATR-L004",
                "main.tf",
                7,
                1,
                "aws_cloudwatch_log_group.orders",
                "fail"
            ),
        ])
    );
    // Every function, log group and key is evaluated; none is left "may not exist".
    assert_eq!(result.checked, 5);
    assert_eq!(result.passed, 1);
}

#[test]
fn modules_downloaded_by_init_are_evaluated_with_the_callers_inputs() {
    let root = fixture("registry-module");
    let result = common::scan_paths(std::slice::from_ref(&root));
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    assert!(result.notes.is_empty(), "{:?}", result.notes);
    let lambda = ".terraform/modules/lambda/main.tf";
    let reports = ".terraform/modules/reports/lambda/main.tf";
    assert_eq!(
        findings(&result, &root),
        rows(&[
            // Registry module: its environment has the caller's key (no ATR-L001), and its log
            // group the key of the registry module it calls itself (`lambda.log_key`).
            (
                "ATR-L003",
                lambda,
                28,
                3,
                "module.lambda.aws_lambda_function.this",
                "fail"
            ),
            // A subdirectory of a git repository.
            (
                "ATR-L001",
                reports,
                18,
                3,
                "module.reports.aws_lambda_function.this",
                "fail"
            ),
            (
                "ATR-L003",
                reports,
                16,
                3,
                "module.reports.aws_lambda_function.this",
                "fail"
            ),
            (
                "ATR-L004",
                reports,
                11,
                1,
                "module.reports.aws_lambda_function.this",
                "unknown"
            ),
            // An S3 archive.
            (
                "ATR-L002",
                ".terraform/modules/archive/main.tf",
                15,
                3,
                "module.archive.aws_lambda_event_source_mapping.queue",
                "fail",
            ),
        ])
    );
    // Every module's files were read.
    assert_eq!(result.scanned.len(), 5, "{:?}", result.scanned);
}

#[test]
fn without_init_remote_modules_are_notes_at_their_calls() {
    let src = fixture("registry-module");
    let dir = common::project(&[(
        "main.tf",
        &std::fs::read_to_string(src.join("main.tf")).unwrap(),
    )]);
    let result = common::scan_paths(&[dir.path().to_path_buf()]);
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    assert!(findings(&result, dir.path()).is_empty());
    let notes = places(&result.notes, dir.path());
    assert_eq!(
        at(&notes),
        [("main.tf", 7, 13), ("main.tf", 16, 12), ("main.tf", 23, 12)]
    );
    assert!(
        notes[0]
            .3
            .contains("remote source \"terraform-aws-modules/lambda/aws\" is not followed"),
        "{notes:?}"
    );
}

#[test]
fn a_manifest_without_the_call_or_unreadable_is_said() {
    let main = "module \"lambda\" {\n  source = \"terraform-aws-modules/lambda/aws\"\n}\n";
    // Init ran before the call was added.
    let stale = common::project(&[
        ("main.tf", main),
        (
            ".terraform/modules/modules.json",
            "{\"Modules\":[{\"Key\":\"\",\"Source\":\"\",\"Dir\":\".\"}]}",
        ),
    ]);
    let result = common::scan_paths(&[stale.path().to_path_buf()]);
    let notes = places(&result.notes, stale.path());
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!((notes[0].1, notes[0].2), (2, 12));
    assert!(
        notes[0].3.contains(
            ".terraform/modules/modules.json has no module \"lambda\" (run terraform init again)"
        ),
        "{notes:?}"
    );
    // A manifest that is not JSON: an error naming it and its line; the module is still scanned.
    let broken = common::project(&[
        ("main.tf", main),
        (
            "fn.tf",
            "resource \"aws_lambda_function\" \"f\" {\n  environment {\n    variables = { A = \"1\" }\n  }\n}\n",
        ),
        (
            ".terraform/modules/modules.json",
            "{\"Modules\": [\n  {\"Key\": \"lambda\",\n}",
        ),
    ]);
    let result = common::scan_paths(&[broken.path().to_path_buf()]);
    let errors = places(&result.errors, broken.path());
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, ".terraform/modules/modules.json");
    assert!(errors[0].1 >= 2, "{errors:?}");
    assert!(
        errors[0]
            .3
            .starts_with("module manifest of terraform init: "),
        "{errors:?}"
    );
    assert!(
        findings(&result, broken.path())
            .iter()
            .any(|r| r.0 == "ATR-L001" && r.1 == "fn.tf" && (r.2, r.3) == (2, 3))
    );
    // JSON, but not a manifest.
    let other = common::project(&[
        ("main.tf", main),
        (".terraform/modules/modules.json", "{\"Modules\": \"none\"}"),
    ]);
    let result = common::scan_paths(&[other.path().to_path_buf()]);
    let errors = places(&result.errors, other.path());
    assert_eq!(
        errors,
        [(
            ".terraform/modules/modules.json".to_owned(),
            1,
            1,
            "module manifest of terraform init: no \"Modules\" list".to_owned()
        )]
    );
    // A manifest that points a call back at the root: a cycle, said once, and the scan ends.
    let cycle = common::project(&[
        ("main.tf", main),
        (
            ".terraform/modules/modules.json",
            "{\"Modules\": [{\"Key\": \"lambda\", \"Dir\": \".\"}]}",
        ),
    ]);
    let result = common::scan_paths(&[cycle.path().to_path_buf()]);
    let errors = places(&result.errors, cycle.path());
    assert_eq!(at(&errors), [("main.tf", 2, 12)]);
    assert!(
        errors[0].3.contains("calls a module that calls it"),
        "{errors:?}"
    );
}

#[test]
fn blocks_written_as_arguments_are_errors_at_their_line() {
    let root = fixture("argument-syntax");
    let result = common::scan_paths(std::slice::from_ref(&root));
    let errors = places(&result.errors, &root);
    // `environment = {...}`, `tracing_config = {...}`, and `filter = {...}` inside the content
    // of a dynamic `filter_criteria`.
    assert_eq!(
        at(&errors),
        [("main.tf", 12, 3), ("main.tf", 15, 3), ("main.tf", 28, 7)]
    );
    assert!(
        errors[0]
            .3
            .starts_with("environment is a block: write `environment { ... }`"),
        "{errors:?}"
    );
    // What they hold is still read: the environment has variables and no key.
    let f = "aws_lambda_function.ingest";
    assert_eq!(
        findings(&result, &root),
        rows(&[
            ("ATR-L001", "main.tf", 12, 3, f, "fail"),
            ("ATR-L003", "main.tf", 10, 3, f, "fail"),
            ("ATR-L004", "main.tf", 5, 1, f, "unknown"),
            ("ATR-L008", "main.tf", 16, 5, f, "unknown"),
        ])
    );
    // The exit status says an input failed.
    common::atrest(&root).args(["scan", "."]).assert().code(2);
}

#[test]
fn the_panicking_shape_scans_beside_other_inputs() {
    // The shape that aborted whole scans: a module variable holding an object with a resource
    // attribute, tested with `== null` in `count` and in a dynamic block.
    let dir = common::project(&[
        (
            "app/main.tf",
            "resource \"aws_iam_role\" \"r\" {}\nmodule \"fn\" {\n  source = \"../fn\"\n  lc = { log_group = aws_iam_role.r.unique_id }\n}\n",
        ),
        (
            "fn/main.tf",
            "variable \"lc\" {\n  default = null\n}\nresource \"aws_lambda_function\" \"this\" {\n  count = var.lc == null ? 0 : 1\n  dynamic \"logging_config\" {\n    for_each = var.lc == null ? [] : [var.lc]\n    content {\n      log_group = logging_config.value.log_group\n    }\n  }\n  environment {\n    variables = { A = \"1\" }\n  }\n}\n",
        ),
        (
            "other/main.tf",
            "resource \"aws_lambda_function\" \"g\" {\n  environment {\n    variables = { B = \"2\" }\n  }\n}\n",
        ),
    ]);
    let out = common::atrest(dir.path())
        .args(["scan", ".", "--format", "json"])
        .output()
        .unwrap();
    crate::common::assert_exit(&out, 1);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let l001: Vec<(String, u64)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == "ATR-L001")
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_owned(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        l001,
        [
            ("fn/main.tf".to_owned(), 12),
            ("other/main.tf".to_owned(), 2)
        ]
    );
}

/// Line breaks inside `for` expressions, as in cloudposse/terraform-null-label (which every
/// cloudposse module calls): the file is read, the expressions evaluated, and findings after
/// them point at their own lines.
#[test]
fn line_breaks_inside_for_expressions_are_read() {
    let root = fixture("multiline-for");
    let result = common::scan_paths(std::slice::from_ref(&root));
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    let f = "aws_lambda_function.this";
    assert_eq!(
        findings(&result, &root),
        rows(&[
            ("ATR-L001", "main.tf", 34, 3, f, "fail"),
            ("ATR-L003", "main.tf", 32, 3, f, "fail"),
            ("ATR-L004", "main.tf", 27, 1, f, "unknown"),
        ])
    );
    // The name was evaluated through the multi-line conditionals (`label_case = "lower"`).
    let logs = result
        .findings
        .iter()
        .find(|f| common::builtin().rules[f.finding.rule].id == "ATR-L004")
        .expect("ATR-L004");
    assert!(
        logs.finding
            .message
            .contains("/aws/lambda/acme-prod-orders"),
        "{}",
        logs.finding.message
    );
}

/// `dynamic` blocks in JSON syntax (cdktf output) are expanded as in native syntax: the
/// environment and filter criteria they make are checked, and one over an empty list (tracing)
/// makes nothing.
#[test]
fn dynamic_blocks_in_json_syntax_are_expanded() {
    let root = fixture("json-dynamic");
    let result = common::scan_paths(std::slice::from_ref(&root));
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    let (f, m) = (
        "aws_lambda_function.orders",
        "aws_lambda_event_source_mapping.orders_queue",
    );
    assert_eq!(
        findings(&result, &root),
        rows(&[
            ("ATR-L001", "main.tf.json", 15, 11, f, "fail"),
            ("ATR-L002", "main.tf.json", 35, 13, m, "fail"),
            ("ATR-L003", "main.tf.json", 13, 9, f, "fail"),
            ("ATR-L004", "main.tf.json", 8, 7, f, "unknown"),
        ])
    );
}

/// Attributes an object type declares `optional(...)` are filled as Terraform fills them: a
/// caller that leaves the key out has no key (a failure, not an unknown), and one that gives
/// it passes.
#[test]
fn optional_object_attributes_take_their_defaults() {
    let root = fixture("optional-attributes");
    let result = common::scan_paths(std::slice::from_ref(&root));
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    assert!(result.notes.is_empty(), "{:?}", result.notes);
    let m = "modules/functions/main.tf";
    let (orders, billing) = (
        "module.orders.aws_lambda_function.this",
        "module.billing.aws_lambda_function.this",
    );
    assert_eq!(
        findings(&result, &root),
        rows(&[
            ("ATR-L001", m, 35, 3, orders, "fail"),
            ("ATR-L003", m, 34, 3, billing, "fail"),
            ("ATR-L003", m, 34, 3, orders, "fail"),
            (
                "ATR-L004",
                m,
                24,
                3,
                "module.orders.aws_cloudwatch_log_group.this",
                "fail"
            ),
        ])
    );
}

/// A `terragrunt.hcl` is the module call Terragrunt makes: the local module its
/// `terraform.source` names is evaluated with `inputs` (and the configuration's `locals`) as
/// its variables; a remote source and an `include` are notes where they are written.
#[test]
fn terragrunt_configurations_call_their_module_with_their_inputs() {
    let root = fixture("terragrunt");
    let result = common::scan_paths(std::slice::from_ref(&root));
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    let m = "modules/lambda/main.tf";
    let f = "module.terragrunt.aws_lambda_function.this";
    // The key comes from the inputs (AWS managed); so does the log group's (customer managed).
    assert_eq!(
        findings(&result, &root),
        rows(&[
            ("ATR-L001", m, 31, 3, f, "fail"),
            ("ATR-L003", m, 30, 3, f, "fail"),
        ])
    );
    let chains: Vec<String> = result
        .findings
        .iter()
        .map(|f| f.finding.chain.join(" <- "))
        .collect();
    assert!(
        chains.contains(
            &"kms_key_arn <- var.kms_key_arn <- argument of module.terragrunt <- \"alias/aws/lambda\""
                .to_owned()
        ),
        "{chains:?}"
    );
    let notes = places(&result.notes, &root);
    let billing = "live/prod/billing/terragrunt.hcl";
    assert_eq!(at(&notes), [(billing, 1, 1), (billing, 6, 12)], "{notes:?}");
    assert!(notes[0].3.starts_with("include \"root\": "), "{notes:?}");
    assert!(
        notes[1]
            .3
            .contains("remote source \"tfr:///terraform-aws-modules/lambda/aws?version=7.2.1\""),
        "{notes:?}"
    );
    // Read as Terraform; the file Terragrunt includes is not a file atrest reads on its own.
    assert!(
        result
            .scanned
            .iter()
            .any(|(p, _)| p.ends_with("live/prod/orders/terragrunt.hcl")),
        "{:?}",
        result.scanned
    );
}
