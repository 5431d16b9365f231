//! Each stage of the IaC pipeline on a realistic generated template (1,000 resources: functions
//! with environment variables, keys, mappings with filter criteria, log groups): read (YAML and
//! JSON), normalize (the CloudFormation model), evaluate (all built-in rules), report (SARIF).
//! And cutting SARIF to GitHub's 25,000 results at 1x and 4x as many: it should grow linearly.
//!
//!   cargo bench --bench pipeline

use atrest::engine::{PolicyOptions, PolicySet};
use atrest::model::cfn;
use atrest::read::{Limits, json, yaml};
use atrest::report::{Report, UnknownMode, sarif};
use atrest::scan::{FileFinding, ScanResult};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

/// A template of `groups` x 4 resources, half of the functions with an AWS managed key.
fn template(groups: usize) -> String {
    let mut t = String::from("AWSTemplateFormatVersion: '2010-09-09'\nResources:\n");
    for i in 0..groups {
        let key = if i % 2 == 0 {
            "alias/aws/lambda".to_owned()
        } else {
            format!("!GetAtt Key{i}.Arn")
        };
        t.push_str(&format!(
            "  Key{i}:\n    Type: AWS::KMS::Key\n    Properties:\n      EnableKeyRotation: true\n\
             \x20 Fn{i}:\n    Type: AWS::Lambda::Function\n    Properties:\n      Code: {{ZipFile: x}}\n      KmsKeyArn: {key}\n      Environment:\n        Variables:\n          TABLE: t{i}\n\
             \x20 Map{i}:\n    Type: AWS::Lambda::EventSourceMapping\n    Properties:\n      FunctionName: !Ref Fn{i}\n      EventSourceArn: arn:aws:sqs:us-east-1:111122223333:q{i}\n      FilterCriteria:\n        Filters:\n          - Pattern: '{{\"body\": [1]}}'\n\
             \x20 Logs{i}:\n    Type: AWS::Logs::LogGroup\n    Properties:\n      LogGroupName: !Sub /aws/lambda/${{Fn{i}}}\n"
        ));
    }
    t
}

fn stages(c: &mut Criterion) {
    let yaml_text = template(250);
    let root = yaml::parse(&yaml_text, &Limits::default()).unwrap().root;
    let json_text = serde_json::to_string_pretty(&root.to_json()).unwrap();
    let file = "bench.yaml".into();
    let inventory = cfn::inventory(&file, &root, false);
    let (policies, errors) = PolicySet::load(&PolicyOptions {
        builtin: true,
        ..Default::default()
    });
    assert!(errors.is_empty());
    let mut evaluator = policies.evaluator();
    let (findings, failures) = evaluator.evaluate(&inventory);
    assert!(failures.is_empty() && !findings.is_empty());
    let result = ScanResult {
        findings: findings
            .into_iter()
            .map(|finding| FileFinding {
                path: "bench.yaml".into(),
                finding,
                suppression: None,
            })
            .collect(),
        ..Default::default()
    };

    c.bench_function("read/yaml 1000 resources", |b| {
        b.iter(|| yaml::parse(black_box(&yaml_text), &Limits::default()).unwrap())
    });
    c.bench_function("read/json 1000 resources", |b| {
        b.iter(|| json::parse(black_box(&json_text), &Limits::default()).unwrap())
    });
    c.bench_function("normalize/cloudformation 1000 resources", |b| {
        b.iter(|| cfn::inventory(&file, black_box(&root), false))
    });
    c.bench_function("evaluate/model to Rego input, 1000 resources", |b| {
        b.iter(|| atrest::engine::to_rego(black_box(&inventory)).unwrap())
    });
    c.bench_function("evaluate/all built-in rules, 1000 resources", |b| {
        b.iter(|| evaluator.evaluate(black_box(&inventory)))
    });
    for rule in &policies.rules {
        let (one, _) = PolicySet::load(&PolicyOptions {
            builtin: true,
            only: vec![rule.id.clone()],
            ..Default::default()
        });
        let mut eval = one.evaluator();
        c.bench_function(
            &format!("evaluate/{} alone, 1000 resources", rule.id),
            |b| b.iter(|| eval.evaluate(black_box(&inventory))),
        );
    }
    let report = Report::new(&result, &policies.rules, UnknownMode::Warn);
    c.bench_function("report/sarif", |b| {
        b.iter(|| sarif::render(black_box(&report), std::path::Path::new("/src")))
    });
}

/// A SARIF document of `n` results, one in ten an error, the rest notes.
fn sarif_of(n: usize) -> serde_json::Value {
    let results: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            serde_json::json!({
                "ruleId": "ATR-L001",
                "level": if i % 10 == 0 { "error" } else { "note" },
                "message": {"text": format!("Function Fn{i} has environment variables but KmsKeyArn is not set.")},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": format!("stack{}/template.yaml", i % 97)}, "region": {"startLine": i % 5000 + 1, "startColumn": 7}}}],
                "partialFingerprints": {"atrestFindingIdentity/v1": format!("{:016x}", i * 0x9e37_79b9)},
            })
        })
        .collect();
    serde_json::json!({"runs": [{"results": results, "invocations": [{"toolExecutionNotifications": []}]}]})
}

fn sarif_cut(c: &mut Criterion) {
    for n in [30_000, 120_000] {
        let doc = sarif_of(n);
        c.bench_function(&format!("report/sarif cut to 25,000 of {n} results"), |b| {
            b.iter_batched(
                || doc.clone(),
                |d| atrest::report::github::fit_within(d, atrest::report::github::GITHUB),
                criterion::BatchSize::LargeInput,
            )
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = stages, sarif_cut
}
criterion_main!(benches);
