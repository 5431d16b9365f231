//! The same system written as CloudFormation, SAM, Terraform and a Terraform plan must give the
//! same findings: same rules, same resources, same outcomes. See `fixtures/parity-tf/README.md` for
//! how resource names of the four formats are compared.

use crate::common;

use atrest::engine::Outcome;
use std::collections::BTreeSet;
use std::path::PathBuf;

type Found = BTreeSet<(String, String, &'static str)>;

/// Rules a Terraform form cannot take part in. ATR-L007: the AWS provider's `durable_config`
/// has no key argument, so a durable function in Terraform always fails where the template's
/// key passes (the rule has Terraform fixtures of its own).
/// ATR-L006 (`FilterCriteriaError`) and ATR-L011 (template/deployed drift) read deployed state
/// only; they are covered by `tests/parity.rs` and their own fixtures.
const NOT_IN_TERRAFORM: &[&str] = &["ATR-L007", "ATR-L006", "ATR-L011"];

/// `OrdersFn`, `OrdersFn.Events.OrdersQueue`, `module.m.aws_lambda_function.orders_fn` ->
/// `ordersfn`, `ordersqueue`, `ordersfn`.
fn normalise(logical_id: &str) -> String {
    let name = match logical_id.split_once(".Events.") {
        Some((_, event)) => event,
        None if logical_id.contains('.') => logical_id.rsplit('.').next().unwrap(),
        None => logical_id,
    };
    name.chars()
        .filter(|c| *c != '_' && *c != '-')
        .collect::<String>()
        .to_lowercase()
}

fn findings(path: PathBuf) -> Found {
    let result = common::scan_clean(std::slice::from_ref(&path), common::builtin());
    let rules = &common::builtin().rules;
    result
        .findings
        .iter()
        .filter(|f| !NOT_IN_TERRAFORM.contains(&rules[f.finding.rule].id.as_str()))
        .map(|f| {
            (
                rules[f.finding.rule].id.clone(),
                normalise(&f.finding.logical_id),
                match f.finding.outcome {
                    Outcome::Fail => "fail",
                    Outcome::Unknown => "unknown",
                },
            )
        })
        .collect()
}

#[test]
fn names_are_normalised_across_formats() {
    assert_eq!(normalise("OrdersFn"), "ordersfn");
    assert_eq!(normalise("OrdersFn.Events.OrdersQueue"), "ordersqueue");
    assert_eq!(
        normalise("aws_lambda_event_source_mapping.orders_queue"),
        "ordersqueue"
    );
    assert_eq!(
        normalise("module.api.aws_lambda_function.orders_fn"),
        "ordersfn"
    );
}

#[test]
fn every_format_finds_the_same_things() {
    let root = common::manifest_dir().join("fixtures/parity-tf");
    let mut systems: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    systems.sort();
    assert!(!systems.is_empty());
    let mut rules_seen = BTreeSet::new();
    for system in systems {
        let cfn = findings(system.join("cloudformation.yaml"));
        assert!(
            !cfn.is_empty(),
            "{}: a system with no finding proves little",
            system.display()
        );
        for form in ["sam.yaml", "terraform", "plan.json"] {
            assert_eq!(
                findings(system.join(form)),
                cfn,
                "{}: {form} differs from cloudformation.yaml",
                system.display()
            );
        }
        rules_seen.extend(cfn.into_iter().map(|(rule, _, _)| rule));
    }
    for rule in &common::builtin().rules {
        // CloudTrail rules read events, not templates.
        if NOT_IN_TERRAFORM.contains(&rule.id.as_str()) || rule.reads_events() {
            continue;
        }
        assert!(
            rules_seen.contains(&rule.id),
            "no parity system exercises {}",
            rule.id
        );
    }
}
