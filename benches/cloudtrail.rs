//! Throughput of CloudTrail scanning against its floor, on a generated corpus.
//!
//! `cargo bench --bench cloudtrail` writes (once, then reuses) a corpus of `.json.gz` log files
//! in the S3 layout under `target/bench-corpus/<events>/`, mostly non-KMS traffic with a few
//! percent of KMS and Lambda events, ~1.7 KB per event. The volume is synthetic; the event
//! shapes follow real CloudTrail records. It then runs, each in a child process so peak memory
//! is its own:
//!
//! - floor: inflate every file (flate2 with zlib-rs, as atrest) and split its records with
//!   serde_json into `Vec<&RawValue>` — no rules, nothing kept;
//! - atrest: the whole scan (read, route, facts, spool, evaluate, aggregate) with the built-in
//!   rules, and again with the CloudTrail rules on regorus's interpreter instead of its VM;
//!
//! and prints events/s and peak RSS side by side. `ATREST_BENCH_EVENTS` sets the corpus size
//! (default 1,000,000); run two sizes to see memory stay flat.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const EVENTS_PER_FILE: usize = 2_000;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("--floor") => return child(&args[2], floor),
        Some("--atrest") => return child(&args[2], atrest),
        Some("--atrest-interpreter") => return child(&args[2], atrest_interpreter),
        Some("--phases") => return child(&args[2], phases),
        Some("--micro") => return micro(),
        _ => {}
    }
    let events: usize = std::env::var("ATREST_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(1_000_000);
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/bench-corpus")
        .join(events.to_string());
    let started = Instant::now();
    let fresh = !dir.join("done").exists();
    let (files, bytes) = generate(&dir, events);
    println!(
        "corpus: {events} events in {files} .json.gz files ({:.0} MB compressed), {} in {:.1}s",
        bytes as f64 / 1e6,
        if fresh { "generated" } else { "reused" },
        started.elapsed().as_secs_f64()
    );
    let me = std::env::current_exe().unwrap();
    let run = |mode: &str| -> (f64, u64, f64) {
        let out = Command::new(&me).arg(mode).arg(&dir).output().unwrap();
        assert!(
            out.status.success(),
            "{mode}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let mut it = text.split_whitespace();
        let secs: f64 = it.next().unwrap().parse().unwrap();
        let rss: u64 = it.next().unwrap().parse().unwrap();
        let cpu: f64 = it.next().unwrap().parse().unwrap();
        (secs, rss, cpu)
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (floor_s, floor_rss, floor_cpu) = run("--floor");
    let (atrest_s, atrest_rss, atrest_cpu) = run("--atrest");
    let (interp_s, interp_rss, interp_cpu) = run("--atrest-interpreter");
    let rate = |s: f64| events as f64 / s;
    println!("threads: {threads}");
    for (name, s, rss, cpu) in [
        ("floor  (inflate + split)", floor_s, floor_rss, floor_cpu),
        ("atrest (full scan)      ", atrest_s, atrest_rss, atrest_cpu),
        ("atrest, interpreter only", interp_s, interp_rss, interp_cpu),
    ] {
        println!(
            "{name}: {:>8.0} events/s wall ({s:>6.2} s), {:>8.0} events/CPU-s ({cpu:>6.2} s), peak RSS {:>4} MB",
            rate(s),
            rate(cpu),
            rss / 1024
        );
    }
    println!(
        "atrest / floor: {:.2}x wall, {:.2}x CPU (goal: within 1.5x)",
        atrest_s / floor_s,
        atrest_cpu / floor_cpu
    );
}

/// Runs one measurement and prints "wall_seconds peak_rss_kb cpu_seconds".
fn child(dir: &str, f: fn(&Path) -> u64) {
    let cpu0 = cpu_seconds();
    let started = Instant::now();
    let n = f(Path::new(dir));
    let secs = started.elapsed().as_secs_f64();
    assert!(n > 0);
    println!("{secs} {} {}", peak_rss_kb(), cpu_seconds() - cpu0);
}

/// User + system CPU time of this process (Linux), so a busy shared machine does not skew the
/// comparison as much as wall time does.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name; 100 Hz.
    (ticks(11) + ticks(12)) / 100.0
}

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|v| v.parse().unwrap_or(0)))
        })
        .unwrap_or(0)
}

fn log_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "gz") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn floor(dir: &Path) -> u64 {
    use rayon::prelude::*;
    #[derive(serde::Deserialize)]
    struct Log<'a> {
        #[serde(rename = "Records", borrow)]
        records: Vec<&'a serde_json::value::RawValue>,
    }
    log_files(dir)
        .par_iter()
        .map(|p| {
            let mut text = Vec::new();
            flate2::read::MultiGzDecoder::new(std::fs::File::open(p).unwrap())
                .read_to_end(&mut text)
                .unwrap();
            let log: Log = serde_json::from_slice(&text).unwrap();
            log.records.len() as u64
        })
        .sum()
}

fn atrest(dir: &Path) -> u64 {
    scan_with(dir, false)
}

/// The CloudTrail rules on regorus's interpreter instead of its bytecode VM, for comparison.
fn atrest_interpreter(dir: &Path) -> u64 {
    scan_with(dir, true)
}

fn scan_with(dir: &Path, interpreter_only: bool) -> u64 {
    let (policies, errors) = atrest::engine::PolicySet::load(&atrest::engine::PolicyOptions {
        builtin: true,
        interpreter_only,
        ..Default::default()
    });
    assert!(errors.is_empty());
    let result = atrest::scan::scan(
        &atrest::scan::ScanOptions::of(vec![dir.to_path_buf()]),
        &policies,
    );
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    let t = result.trail.expect("logs were read");
    eprintln!(
        "atrest: {} events, {} candidates, {} evaluated ({} verdicts reused), {} findings",
        t.events,
        t.candidates,
        t.evaluated,
        t.memo_hits,
        result.findings.len()
    );
    t.events
}

/// The two phases of the CloudTrail pipeline timed apart (`--phases DIR`), for profiling.
fn phases(dir: &Path) -> u64 {
    use atrest::read::cloudtrail::{Sniff, sniff_file};
    let (policies, _) = atrest::engine::PolicySet::load(&atrest::engine::PolicyOptions {
        builtin: true,
        ..Default::default()
    });
    let logs: Vec<atrest::trail::LogFile> = log_files(dir)
        .into_iter()
        .filter_map(|path| match sniff_file(&path).ok()? {
            Sniff::Trail { shape, gzip } => Some(atrest::trail::LogFile {
                shown: path.display().to_string().into(),
                path,
                shape,
                gzip,
                remote: None,
            }),
            _ => None,
        })
        .collect();
    let (t, cpu) = (Instant::now(), cpu_seconds());
    let one = atrest::trail::read_logs(&logs, &policies, 1 << 24);
    eprintln!(
        "phase one: {:.2}s wall, {:.2}s CPU ({} candidates), peak RSS {} MB",
        t.elapsed().as_secs_f64(),
        cpu_seconds() - cpu,
        one.spool.len(),
        peak_rss_kb() / 1024
    );
    let (t, cpu) = (Instant::now(), cpu_seconds());
    let catalog = atrest::trail::Catalog::new();
    let (findings, report, _) =
        atrest::trail::evaluate(&logs, one, &catalog, &policies, &mut Default::default());
    eprintln!(
        "phase two: {:.2}s wall, {:.2}s CPU ({} evaluated, {} verdicts reused, {} findings, {} events in them), peak RSS {} MB",
        t.elapsed().as_secs_f64(),
        cpu_seconds() - cpu,
        report.evaluated,
        report.memo_hits,
        findings.len(),
        findings
            .iter()
            .map(|f| f.trail.as_ref().map_or(0, |t| t.count as usize))
            .sum::<usize>(),
        peak_rss_kb() / 1024
    );
    report.events
}

/// Cost of one candidate's steps, single-threaded (`--micro`), for profiling.
fn micro() {
    let only: Vec<String> = std::env::var("ATREST_BENCH_ONLY")
        .map(|v| v.split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    let (policies, _) = atrest::engine::PolicySet::load(&atrest::engine::PolicyOptions {
        builtin: true,
        only,
        ..Default::default()
    });
    let mut r = Rng(7);
    let text = (0..)
        .map(|i| event(&mut r, i))
        .find(|e| e.contains("\"invokedBy\":\"lambda.amazonaws.com\""))
        .unwrap();
    let n = 20_000;
    let time = |label: &str, f: &mut dyn FnMut()| {
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        println!(
            "{label}: {:.1} us",
            t.elapsed().as_secs_f64() * 1e6 / n as f64
        );
    };
    time("event to regorus value", &mut || {
        std::hint::black_box(regorus::Value::from_json_str(&text).unwrap());
    });
    let mut converter = atrest::trail::rego_value::Converter::default();
    time("event to regorus value, kept strings", &mut || {
        std::hint::black_box(converter.convert(&text).unwrap());
    });
    let facts = atrest::trail::Facts::default();
    let catalog = atrest::trail::Catalog::new();
    time("detail + resolve", &mut || {
        let d = atrest::trail::event::Detail::parse(&text);
        std::hint::black_box(catalog.resolve(&d, &facts));
    });
    let rules = policies.router.rules_for("kms.amazonaws.com", "Decrypt");
    let mut eval = policies.evaluator();
    let resolved = catalog.resolve(&atrest::trail::event::Detail::parse(&text), &facts);
    let input = {
        let mut m = std::collections::BTreeMap::new();
        m.insert(
            regorus::Value::from("event"),
            regorus::Value::from_json_str(&text).unwrap(),
        );
        m.insert(
            regorus::Value::from("resolved"),
            serde_json::from_value(resolved).unwrap(),
        );
        m.insert(regorus::Value::from("facts"), regorus::Value::new_object());
        m.insert(
            regorus::Value::from("inventory"),
            regorus::Value::new_object(),
        );
        regorus::Value::from(m)
    };
    time(&format!("evaluate {} rules", rules.len()), &mut || {
        std::hint::black_box(eval.evaluate_event(&rules, input.clone()).unwrap());
    });
    for &rule in &rules {
        time(&format!("  rule {}", policies.rules[rule].id), &mut || {
            std::hint::black_box(eval.evaluate_event(&[rule], input.clone()).unwrap());
        });
    }
}

/// A tiny deterministic generator (xorshift), so the corpus is the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const ACCOUNT: &str = "123456789012";
const REGION: &str = "eu-west-1";

fn identity(r: &mut Rng) -> String {
    let who = ["alice", "bob", "deploy", "ci-runner", "ops"][r.below(5) as usize];
    format!(
        r#"{{"type":"AssumedRole","principalId":"AROA3EXAMPLE{n:08}:{who}","arn":"arn:aws:sts::{ACCOUNT}:assumed-role/{who}-role/{who}","accountId":"{ACCOUNT}","accessKeyId":"ASIA3EXAMPLE{n:08}","sessionContext":{{"sessionIssuer":{{"type":"Role","principalId":"AROA3EXAMPLE{n:08}","arn":"arn:aws:iam::{ACCOUNT}:role/{who}-role","accountId":"{ACCOUNT}","userName":"{who}-role"}},"attributes":{{"creationDate":"2024-06-01T00:00:00Z","mfaAuthenticated":"false"}}}}}}"#,
        n = r.below(100_000_000)
    )
}

fn lambda_identity(function: &str) -> String {
    format!(
        r#"{{"type":"AssumedRole","principalId":"AROA3LAMBDAROLE:{function}","arn":"arn:aws:sts::{ACCOUNT}:assumed-role/{function}-role/{function}","accountId":"{ACCOUNT}","accessKeyId":"ASIA3LAMBDAKEY","sessionContext":{{"sessionIssuer":{{"type":"Role","principalId":"AROA3LAMBDAROLE","arn":"arn:aws:iam::{ACCOUNT}:role/{function}-role","accountId":"{ACCOUNT}","userName":"{function}-role"}},"attributes":{{"creationDate":"2024-06-01T00:00:00Z","mfaAuthenticated":"false"}}}},"invokedBy":"lambda.amazonaws.com"}}"#
    )
}

fn event(r: &mut Rng, i: usize) -> String {
    let time = format!(
        "2024-06-{:02}T{:02}:{:02}:{:02}Z",
        1 + (i / 86_400) % 28,
        (i / 3600) % 24,
        (i / 60) % 60,
        i % 60
    );
    let id = format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        r.next() as u32,
        r.below(1 << 16),
        r.below(1 << 12),
        r.below(1 << 12),
        i
    );
    let tls = format!(
        r#""tlsDetails":{{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"service.{REGION}.amazonaws.com"}}"#
    );
    let ua = "aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/service#1.40.0";
    let key = format!(
        "arn:aws:kms:{REGION}:{ACCOUNT}:key/{:08x}-1111-4222-8333-000000000{:03}",
        0xabcd_0000u32 + (i % 7) as u32,
        i % 7
    );
    let roll = r.below(1000);
    let (source, name, identity, params, resources, extra) = if roll < 20 {
        // Lambda decrypting environment variables or filter criteria.
        let function = format!("orders-{}", i % 50);
        let esa = if roll < 5 {
            format!(
                r#","aws:lambda:EventSourceArn":"arn:aws:sqs:{REGION}:{ACCOUNT}:queue-{}""#,
                i % 9
            )
        } else {
            String::new()
        };
        (
            "kms.amazonaws.com",
            if roll < 15 {
                "Decrypt"
            } else {
                "GenerateDataKey"
            },
            lambda_identity(&function),
            format!(
                r#"{{"keyId":"{key}","encryptionContext":{{"aws:lambda:FunctionArn":"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}"{esa}}},"encryptionAlgorithm":"SYMMETRIC_DEFAULT"}}"#
            ),
            format!(
                r#","resources":[{{"accountId":"{ACCOUNT}","type":"AWS::KMS::Key","ARN":"{key}"}}]"#
            ),
            if roll == 3 {
                r#","errorCode":"AccessDeniedException","errorMessage":"denied""#
            } else {
                ""
            },
        )
    } else if roll < 30 {
        // Other services' KMS calls (SSM, Secrets Manager, S3).
        let via = [
            "ssm.amazonaws.com",
            "secretsmanager.amazonaws.com",
            "s3.amazonaws.com",
        ][r.below(3) as usize];
        (
            "kms.amazonaws.com",
            "Decrypt",
            identity(r).replace("}}}", &format!("}}}},\"invokedBy\":\"{via}\"}}")),
            format!(
                r#"{{"encryptionContext":{{"aws:{via}:arn":"arn:aws:{via}:{REGION}:{ACCOUNT}:thing/x"}},"encryptionAlgorithm":"SYMMETRIC_DEFAULT"}}"#
            ),
            format!(
                r#","resources":[{{"accountId":"{ACCOUNT}","type":"AWS::KMS::Key","ARN":"{key}"}}]"#
            ),
            "",
        )
    } else if roll < 31 {
        let name = ["DescribeKey", "GetKeyPolicy", "ListGrants", "DisableKey"][r.below(4) as usize];
        (
            "kms.amazonaws.com",
            name,
            identity(r),
            format!(r#"{{"keyId":"{key}"}}"#),
            format!(
                r#","resources":[{{"accountId":"{ACCOUNT}","type":"AWS::KMS::Key","ARN":"{key}"}}]"#
            ),
            r#","sessionCredentialFromConsole":"true""#,
        )
    } else {
        let (source, name, params) = match r.below(6) {
            0 => ("s3.amazonaws.com", "GetObject", format!(r#"{{"bucketName":"data-lake-{}","Host":"data-lake.s3.{REGION}.amazonaws.com","key":"raw/2024/06/01/part-{:05}.parquet"}}"#, i % 13, i % 99_999)),
            1 => ("ec2.amazonaws.com", "DescribeInstances", r#"{"instancesSet":{},"filterSet":{"items":[{"name":"tag:team","valueSet":{"items":[{"value":"payments"}]}}]}}"#.to_owned()),
            2 => ("sts.amazonaws.com", "AssumeRole", format!(r#"{{"roleArn":"arn:aws:iam::{ACCOUNT}:role/worker","roleSessionName":"session-{i}","durationSeconds":3600}}"#)),
            3 => ("dynamodb.amazonaws.com", "DescribeTable", r#"{"tableName":"orders"}"#.to_owned()),
            4 => ("logs.amazonaws.com", "CreateLogStream", format!(r#"{{"logGroupName":"/aws/lambda/orders-{}","logStreamName":"2024/06/01/[$LATEST]{:032x}"}}"#, i % 50, r.next())),
            _ => ("lambda.amazonaws.com", "GetFunction20150331v2", format!(r#"{{"functionName":"orders-{}"}}"#, i % 50)),
        };
        (source, name, identity(r), params, String::new(), "")
    };
    let response = if source == "kms.amazonaws.com" {
        "null".to_owned()
    } else {
        format!(
            r#"{{"requestId":"{:032x}","items":[{{"status":"ok","detail":"{}"}}]}}"#,
            r.next(),
            "x".repeat(200 + r.below(300) as usize)
        )
    };
    format!(
        r#"{{"eventVersion":"1.09","userIdentity":{identity},"eventTime":"{time}","eventSource":"{source}","eventName":"{name}","awsRegion":"{REGION}","sourceIPAddress":"203.0.113.{}","userAgent":"{ua}","requestParameters":{params},"responseElements":{response},"requestID":"{:032x}","eventID":"{id}","readOnly":true{resources},"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"{ACCOUNT}","eventCategory":"Management",{tls}{extra}}}"#,
        r.below(255),
        r.next()
    )
}

/// Writes the corpus once; a `done` marker makes later runs reuse it.
fn generate(dir: &Path, events: usize) -> (usize, u64) {
    let done = dir.join("done");
    if !done.exists() {
        let _ = std::fs::remove_dir_all(dir);
        let files = events.div_ceil(EVENTS_PER_FILE);
        use rayon::prelude::*;
        (0..files).into_par_iter().for_each(|f| {
            let mut r = Rng(0x9e37_79b9_7f4a_7c15 ^ (f as u64 + 1).wrapping_mul(0x2545_f491_4f6c_dd1d));
            let first = f * EVENTS_PER_FILE;
            let last = (first + EVENTS_PER_FILE).min(events);
            let mut text = String::from("{\"Records\":[");
            for i in first..last {
                if i > first {
                    text.push(',');
                }
                text.push_str(&event(&mut r, i));
            }
            text.push_str("]}");
            let day = 1 + (first / 86_400) % 28;
            let path = dir.join(format!(
                "AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/2024/06/{day:02}/{ACCOUNT}_CloudTrail_{REGION}_20240601T0000Z_{f:06}.json.gz"
            ));
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(text.as_bytes()).unwrap();
            std::fs::write(path, enc.finish().unwrap()).unwrap();
        });
        std::fs::write(&done, "").unwrap();
    }
    let files = log_files(dir);
    let bytes = files.iter().map(|f| f.metadata().unwrap().len()).sum();
    (files.len(), bytes)
}
