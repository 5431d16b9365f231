//! CloudFormation as AWS expands it: `AWS::LanguageExtensions` loops and functions, and a note
//! for every transform atrest does not run. Each finding inside a resource a loop makes points
//! at the loop body.

use crate::common;
use std::collections::BTreeSet;

/// (rule, logical id, line:column, outcome).
type Row = (String, String, String, &'static str);

/// (rule, logical id, line:column, outcome) of every finding in one fixture of fixtures/cfn-lang.
fn findings(file: &str) -> (BTreeSet<Row>, Vec<String>) {
    let path = common::manifest_dir().join("fixtures/cfn-lang").join(file);
    let result = common::scan_paths(std::slice::from_ref(&path));
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    let rules = &common::builtin().rules;
    let found = result
        .findings
        .iter()
        .map(|f| {
            let loc = f.finding.location.as_ref().expect("a location");
            assert!(loc.file.ends_with(file), "{}", loc.file);
            (
                rules[f.finding.rule].id.clone(),
                f.finding.logical_id.clone(),
                format!("{}:{}", loc.span.start.line, loc.span.start.col),
                common::outcome_name(f.finding.outcome),
            )
        })
        .collect();
    let notes = result
        .notes
        .iter()
        .map(|n| {
            format!(
                "{}:{}: {}",
                n.line.unwrap_or(0),
                n.column.unwrap_or(0),
                n.message
            )
        })
        .collect();
    (found, notes)
}

fn expect(rows: &[(&str, &str, &str, &'static str)]) -> BTreeSet<Row> {
    rows.iter()
        .map(|(r, id, at, o)| (r.to_string(), id.to_string(), at.to_string(), *o))
        .collect()
}

#[test]
fn functions_and_mappings_made_by_nested_loops_are_checked_at_the_loop_body() {
    let (found, notes) = findings("foreach-functions.yaml");
    assert!(notes.is_empty(), "{notes:?}");
    let mut want = Vec::new();
    for f in ["ordersFunction", "billingFunction"] {
        want.push(("ATR-L001", f, "33:11", "fail"));
        want.push(("ATR-L003", f, "31:11", "fail"));
        want.push(("ATR-L004", f, "26:7", "unknown"));
    }
    for m in [
        "ordersdevMapping",
        "ordersprodeuMapping",
        "refundsdevMapping",
        "refundsprodeuMapping",
    ] {
        want.push(("ATR-L002", m, "49:15", "fail"));
    }
    assert_eq!(found, expect(&want));
}

#[test]
fn find_in_map_default_value_is_the_key_a_loop_copy_falls_back_to() {
    let (found, notes) = findings("foreach-keys.json");
    assert!(notes.is_empty(), "{notes:?}");
    let mut want = vec![("ATR-L001", "auditHandler", "22:13", "fail")];
    for f in ["paymentsHandler", "auditHandler"] {
        want.push(("ATR-L003", f, "21:13", "fail"));
        want.push(("ATR-L004", f, "15:9", "unknown"));
    }
    assert_eq!(found, expect(&want));
}

#[test]
fn transforms_not_run_and_loops_over_unknown_lists_are_named_in_notes() {
    let (found, notes) = findings("not-expanded.yaml");
    assert_eq!(
        found,
        expect(&[
            ("ATR-L001", "ApiFunction", "22:7", "fail"),
            ("ATR-L003", "ApiFunction", "20:7", "fail"),
            ("ATR-L004", "ApiFunction", "14:3", "unknown"),
        ])
    );
    let want = [
        ("4:5:", "transform CompanyDefaults"),
        (
            "25:7:",
            "AWS::Include is not expanded by atrest: resource ApiFunction",
        ),
        ("30:3:", "AWS::Include in Resources"),
        (
            "35:3:",
            "Fn::ForEach::TenantFunctions: the collection cannot be evaluated (parameter Tenants has no default), so what it makes (${Tenant}Function)",
        ),
    ];
    assert_eq!(notes.len(), want.len(), "{notes:?}");
    for (at, part) in want {
        assert!(
            notes.iter().any(|n| n.starts_with(at) && n.contains(part)),
            "no note {at} {part}: {notes:?}"
        );
    }
}

/// A quoted scalar continued at its key's indentation is read (libyaml reads it, and so does
/// CloudFormation), so the template's findings are reported instead of a YAML error.
#[test]
fn quoted_scalars_continued_at_the_key_indentation_are_read() {
    let (found, notes) = findings("quoted-description.yaml");
    assert!(notes.is_empty(), "{notes:?}");
    assert_eq!(
        found,
        expect(&[
            ("ATR-L001", "OrdersFunction", "15:7", "fail"),
            ("ATR-L003", "OrdersFunction", "13:7", "fail"),
            ("ATR-L004", "OrdersFunction", "5:3", "unknown"),
        ])
    );
}

/// A loop that makes one logical ID twice is refused by CloudFormation: an input error at the
/// loop body, exit 2, and the other inputs of the scan are still reported.
#[test]
fn a_loop_that_makes_a_key_twice_is_an_input_error() {
    let dir = common::project(&[
        (
            "dup.yaml",
            "Transform: AWS::LanguageExtensions\nResources:\n  Fn::ForEach::Topics:\n    - Name\n    - [a-b, ab]\n    - 'Topic&{Name}':\n        Type: AWS::SNS::Topic\n",
        ),
        (
            "ok.yaml",
            "Resources:\n  F:\n    Type: AWS::Lambda::Function\n    Properties:\n      Environment:\n        Variables:\n          A: b\n",
        ),
    ]);
    let out = common::atrest(dir.path())
        .args(["scan", "."])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    let all = format!("{stdout}{stderr}");
    assert!(
        all.contains("dup.yaml:6:7: Fn::ForEach makes the key \"Topicab\" twice"),
        "{all}"
    );
    assert!(all.contains("ok.yaml:5:7 ATR-L001"), "{all}");
}

/// A Resources section made only of loops is a template, and one whose loops make SAM
/// resources is a SAM template (its functions inherit `Globals`).
#[test]
fn templates_made_of_loops_are_recognised() {
    use atrest::read::{InputKind, Limits, NameHint, ReadOutcome, detect};
    let kind = |text: &str| match detect::classify(
        text.as_bytes(),
        NameHint::Candidate,
        &Limits::default(),
    ) {
        ReadOutcome::Input(input) => Some(input.kind),
        _ => None,
    };
    let body = "Resources:\n  Fn::ForEach::Fns:\n    - N\n    - [a]\n    - Fn::ForEach::Inner:\n        - M\n        - [b]\n        - '${N}${M}':\n            Type: AWS::Serverless::Function\n";
    assert_eq!(
        kind(&format!("Transform: AWS::LanguageExtensions\n{body}")),
        Some(InputKind::CloudFormation { sam: true })
    );
    let plain = body.replace("AWS::Serverless::Function", "AWS::Lambda::Function");
    assert_eq!(
        kind(&format!("Transform: AWS::LanguageExtensions\n{plain}")),
        Some(InputKind::CloudFormation { sam: false })
    );
}

/// `Fn::If` between "no key" and the AWS managed key fails whichever branch the stack takes;
/// between a customer managed key and none it depends on the deployment, so it is unknown.
#[test]
fn if_branches_that_all_lack_a_customer_managed_key_fail() {
    let (found, notes) = findings("if-branches.yaml");
    assert!(notes.is_empty(), "{notes:?}");
    let l001: BTreeSet<Row> = found.into_iter().filter(|r| r.0 == "ATR-L001").collect();
    assert_eq!(
        l001,
        expect(&[
            ("ATR-L001", "Orders", "22:7", "fail"),
            ("ATR-L001", "Billing", "35:7", "unknown"),
        ])
    );
}
