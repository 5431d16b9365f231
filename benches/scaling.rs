//! How time grows with the input: each workload at 1x, 4x and 16x its base size. Linear (or
//! n log n) code takes about 4x and 16x the time; a quadratic path takes 16x and 256x.
//! `bench/compare.sh scaling` runs this and fails when growth is worse than n log n.
//!
//!   cargo bench --bench scaling
//!   SCALING_BASE=0.1 cargo bench --bench scaling   (a tenth of the base sizes, for a quick look)
//!
//! Workloads: a CloudFormation template written on one line (JSON, as generators and
//! `terraform show -json` write them: every node's column is on that line), a YAML map with many
//! keys (the duplicate-key check), a template of many functions read, modelled and
//! evaluated with every built-in rule, and one function with many secret-named environment
//! variables (ATR-L009 tests each: regorus's per-call costs, and per-object finding lists).

use atrest::engine::{PolicyOptions, PolicySet};
use atrest::model::cfn;
use atrest::read::{Limits, json, yaml};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::fmt::Write as _;
use std::hint::black_box;

const FACTORS: [usize; 3] = [1, 4, 16];

/// Base sizes scaled by `SCALING_BASE` (default 1).
fn base(n: usize) -> usize {
    let f: f64 = std::env::var("SCALING_BASE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1.0);
    ((n as f64 * f) as usize).max(10)
}

/// `n` resources on one line, names with multi-byte characters (columns count characters).
fn one_line_json(n: usize) -> String {
    let mut s = String::from("{\"Resources\": {");
    for i in 0..n {
        write!(
            s,
            "\"T{i}\": {{\"Type\": \"AWS::SNS::Topic\", \"Properties\": {{\"TopicName\": \"é-{i}\"}}}}, "
        )
        .unwrap();
    }
    s.push_str("\"Fn\": {\"Type\": \"AWS::Lambda::Function\", \"Properties\": {}}}}");
    s
}

fn wide_yaml(n: usize) -> String {
    let mut s = String::from("Resources: {}\nMetadata:\n  Wide:\n");
    for i in 0..n {
        writeln!(s, "    key{i}: value{i}").unwrap();
    }
    s
}

fn many_functions(n: usize) -> String {
    let mut s = String::from("Resources:\n");
    for i in 0..n {
        write!(
            s,
            "  Fn{i}:\n    Type: AWS::Lambda::Function\n    Properties:\n      Code: {{ZipFile: x}}\n      Environment:\n        Variables: {{A: b{i}}}\n"
        )
        .unwrap();
    }
    s
}

/// One function whose variables all look like plaintext secrets: one finding each.
fn many_variables(n: usize) -> String {
    let mut s = String::from(
        "Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      Code: {ZipFile: x}\n      Environment:\n        Variables:\n",
    );
    for i in 0..n {
        writeln!(s, "          DB_PASSWORD_{i}: hunter{i}xyz").unwrap();
    }
    s
}

/// One workload at each factor of its base size: `make` writes the input, `run` processes it.
fn group(
    c: &mut Criterion,
    name: &str,
    base_size: usize,
    make: fn(usize) -> String,
    mut run: impl FnMut(&str, usize),
) {
    let mut group = c.benchmark_group(name);
    for k in FACTORS {
        let n = base(base_size) * k;
        let text = make(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &text, |b, t| {
            b.iter(|| run(black_box(t), n))
        });
    }
    group.finish();
}

fn scaling(c: &mut Criterion) {
    let limits = Limits::default();
    group(c, "scaling_one_line_json", 2_000, one_line_json, |t, _| {
        json::parse(t, &limits).unwrap();
    });
    group(c, "scaling_wide_yaml", 5_000, wide_yaml, |t, _| {
        yaml::parse(t, &limits).unwrap();
    });
    let (policies, errors) = PolicySet::load(&PolicyOptions {
        builtin: true,
        ..Default::default()
    });
    assert!(errors.is_empty());
    let mut evaluator = policies.evaluator();
    let file = "bench.yaml".into();
    // Read, modelled and evaluated with every built-in rule: at least one finding each.
    let mut evaluate = |t: &str, n: usize| {
        let root = yaml::parse(t, &limits).unwrap().root;
        let inventory = cfn::inventory(&file, &root, false);
        let (findings, failures) = evaluator.evaluate(&inventory);
        assert!(failures.is_empty() && findings.len() >= n);
    };
    group(
        c,
        "scaling_many_functions",
        250,
        many_functions,
        &mut evaluate,
    );
    group(
        c,
        "scaling_many_variables",
        250,
        many_variables,
        &mut evaluate,
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = scaling
}
criterion_main!(benches);
