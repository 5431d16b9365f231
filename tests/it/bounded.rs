//! A CloudTrail finding keeps bounded evidence whatever the number of its events: the reports
//! show the count, the first events and capped distinct values with "and N more", every event
//! is in the `--all-events` file, and peak memory does not grow with the events a rule fires on.

use crate::common::{self, atrest};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;

pub const KEY: &str = "arn:aws:kms:eu-west-1:123456789012:key/11111111-1111-1111-1111-111111111111";
pub const OTHER: &str =
    "arn:aws:kms:eu-west-1:123456789012:key/22222222-2222-2222-2222-222222222222";

/// A function `f` declared with `key`: Lambda's Decrypt calls with [`KEY`] fire ATR-C003
/// unless `key` is [`KEY`].
pub fn template(key: &str) -> String {
    format!(
        "Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      FunctionName: f\n      KmsKeyArn: {key}\n      Code: {{ZipFile: x}}\n      Environment:\n        Variables: {{A: b}}\n"
    )
}

/// Lambda's Decrypt of [`KEY`] for function `f`, event `i` (its id and time follow from `i`),
/// from source address `ip`.
pub fn decrypt(i: u64, ip: &str) -> String {
    let time = format!(
        "2024-06-{:02}T{:02}:{:02}:{:02}Z",
        1 + i / 86_400 % 28,
        i / 3600 % 24,
        i / 60 % 60,
        i % 60
    );
    format!(
        r#"{{"eventVersion":"1.09","userIdentity":{{"type":"AssumedRole","arn":"arn:aws:sts::123456789012:assumed-role/fn/f","invokedBy":"lambda.amazonaws.com"}},"eventTime":"{time}","eventSource":"kms.amazonaws.com","eventName":"Decrypt","awsRegion":"eu-west-1","sourceIPAddress":"{ip}","userAgent":"lambda.amazonaws.com","requestParameters":{{"keyId":"{KEY}","encryptionContext":{{"aws:lambda:FunctionArn":"arn:aws:lambda:eu-west-1:123456789012:function:f"}}}},"eventID":"00000000-0000-4000-8000-{i:012}","resources":[{{"type":"AWS::KMS::Key","ARN":"{KEY}"}}],"recipientAccountId":"123456789012"}}"#
    )
}

/// Writes a `{"Records": [...]}` log of `events`, one record a line, without holding it.
pub fn write_log(path: &Path, events: impl Iterator<Item = String>) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    out.write_all(b"{\"Records\":[\n").unwrap();
    for (n, e) in events.enumerate() {
        if n > 0 {
            out.write_all(b",").unwrap();
        }
        out.write_all(e.as_bytes()).unwrap();
        out.write_all(b"\n").unwrap();
    }
    out.write_all(b"]}\n").unwrap();
    out.flush().unwrap();
}

/// The one ATR-C003 result of a SARIF report.
pub fn only_c003(sarif: &str) -> Value {
    let sarif: Value = serde_json::from_str(sarif).unwrap();
    let c003: Vec<&Value> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ruleId"] == "ATR-C003")
        .collect();
    assert_eq!(c003.len(), 1, "one aggregated ATR-C003 result");
    c003[0].clone()
}

fn json_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn all_events_lists_every_event_of_every_finding_under_the_reports_fingerprint() {
    let dir = common::project(&[("template.yaml", &template(OTHER))]);
    // 130 events from 50 addresses in two files; the second file also holds a redelivery of
    // the first file's first 5 events, which count once.
    write_log(
        &dir.path().join("logs/a.json"),
        (0..70).map(|i| decrypt(i, &format!("10.0.0.{}", i % 50))),
    );
    write_log(
        &dir.path().join("logs/b.json"),
        (0..5)
            .chain(70..130)
            .map(|i| decrypt(i, &format!("10.0.0.{}", i % 50))),
    );
    let out = atrest(dir.path())
        .args(["scan", "--format", "sarif", "-o", "out.sarif"])
        .args(["--all-events", "events.jsonl", "."])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let c003 = only_c003(&std::fs::read_to_string(dir.path().join("out.sarif")).unwrap());
    let props = &c003["properties"];
    assert_eq!(props["count"], 130);
    assert_eq!(props["eventIDsNotListed"], 120);
    assert_eq!(props["sourceIPAddresses"]["more"], 40);
    assert_eq!(props["sourceIPAddresses"]["more_is_lower_bound"], false);
    let fingerprint = &c003["partialFingerprints"]["atrestFindingIdentity/v1"];

    let lines = json_lines(&dir.path().join("events.jsonl"));
    let mine: Vec<&Value> = lines.iter().filter(|l| l["rule"] == "ATR-C003").collect();
    assert_eq!(mine.len(), 130, "each event once, the redelivery dropped");
    let ids: BTreeSet<&str> = mine
        .iter()
        .map(|l| l["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 130);
    for l in &mine {
        assert_eq!(&l["fingerprint"], fingerprint, "{l}");
        assert_eq!(l["event_name"], "Decrypt");
        assert!(l["line"].as_u64().unwrap() >= 2, "{l}");
        assert!(l["column"].as_u64().unwrap() >= 1, "{l}");
        assert!(l["pointer"].as_str().unwrap().starts_with("/Records/"));
        assert_eq!(l["identity"].as_str().unwrap().len(), 32);
    }
    // The first copy of a redelivered event is the one listed.
    let first = mine
        .iter()
        .find(|l| l["event_id"] == "00000000-0000-4000-8000-000000000000")
        .unwrap();
    assert!(first["file"].as_str().unwrap().ends_with("logs/a.json"));
    // The samples in the report are the first ten by time, whatever file they are in.
    let sampled: Vec<&str> = props["eventIDs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let expected: Vec<String> = (0..10)
        .map(|i| format!("00000000-0000-4000-8000-{i:012}"))
        .collect();
    assert_eq!(sampled, expected);
}

#[test]
fn text_shows_the_bounded_evidence_honestly() {
    let dir = common::project(&[("template.yaml", &template(OTHER))]);
    write_log(
        &dir.path().join("logs/a.json"),
        (0..150).map(|i| decrypt(i, &format!("10.0.{}.{}", i / 100, i % 100))),
    );
    let out = atrest(dir.path()).args(["scan", "."]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("= 150 events, 2024-06-01T00:00:00Z .. 2024-06-01T00:02:29Z"),
        "{text}"
    );
    // 150 addresses: 10 listed, and past the 100 counted exactly, "or more".
    assert!(
        text.contains("= from: 10.0.0.0, 10.0.0.1, 10.0.0.10, 10.0.0.11,"),
        "{text}"
    );
    assert!(text.contains("and 90 or more others"), "{text}");
    assert!(
        text.contains(
            "= callers: lambda.amazonaws.com (as arn:aws:sts::123456789012:assumed-role/fn/f)\n"
        ),
        "{text}"
    );
}

#[test]
fn an_all_events_file_that_cannot_be_written_or_is_an_input_is_an_error_and_the_report_is_complete()
{
    let dir = common::project(&[("template.yaml", &template(OTHER))]);
    write_log(
        &dir.path().join("logs/a.json"),
        (0..3).map(|i| decrypt(i, "10.0.0.1")),
    );
    let log = std::fs::read(dir.path().join("logs/a.json")).unwrap();
    // A directory that does not exist, and an input (the log is read as it was).
    for (path, why) in [
        ("no/such/dir/e.jsonl", "--all-events: cannot create"),
        (
            "logs/a.json",
            "--all-events: one of the inputs; not overwritten",
        ),
    ] {
        let out = atrest(dir.path())
            .args(["scan", "--format", "json", "--all-events", path, "."])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{path}");
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        let errors = report["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0]["file"], path, "{errors:?}");
        assert!(
            errors[0]["message"].as_str().unwrap().starts_with(why),
            "{errors:?}"
        );
        assert!(
            report["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["rule_id"] == "ATR-C003" && f["cloudtrail"]["count"] == 3)
        );
    }
    assert_eq!(std::fs::read(dir.path().join("logs/a.json")).unwrap(), log);
}

/// Peak resident memory (VmHWM, kB) of `atrest scan --format sarif` over `dir`, read from
/// /proc while the child runs; and the SARIF's ATR-C003 count.
fn peak_kb(dir: &Path) -> (u64, u64) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_atrest"))
        .current_dir(dir)
        .args(["scan", "--format", "sarif", "-o", "out.sarif", "."])
        .spawn()
        .unwrap();
    let status = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Ok(text) = std::fs::read_to_string(&status)
            && let Some(kb) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak = peak.max(kb);
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let sarif = std::fs::read_to_string(dir.join("out.sarif")).unwrap();
    let sarif: Value = serde_json::from_str(&sarif).unwrap();
    let count = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ruleId"] == "ATR-C003")
        .map(|r| r["properties"]["count"].as_u64().unwrap())
        .sum();
    (peak, count)
}

/// Events of the large log: a debug build reads it in about 30 s of CPU (a million would take
/// minutes; `bench/` is the place for that size).
const LARGE: u64 = 100_000;
/// Events of the small log: a quarter of the large one.
const SMALL: u64 = LARGE / 4;
/// What the large log may add to the small one's peak. Measured: 2 MB (the phase-one index of
/// candidates grows with the events read, the evidence does not). When a finding kept every
/// event it added 39 MB (about 500 bytes an event).
const GROWTH_KB: u64 = 20 * 1024;
/// The peak of a scan whose rule fires on every event of the large log.
const PEAK_KB: u64 = 200 * 1024;

#[cfg(target_os = "linux")]
#[test]
fn peak_memory_is_flat_in_the_number_of_firing_events() {
    let tmp = tempfile::tempdir().unwrap();
    // Addresses repeat every 150 events: over the 100 counted exactly, and few enough that
    // the rule's verdicts are reused (the point is memory, not evaluation speed).
    let ip = |i: u64| format!("10.0.0.{}", i % 150);
    let dirs: BTreeMap<&str, (u64, &str)> = [
        ("small", (SMALL, OTHER)),
        ("large", (LARGE, OTHER)),
        ("quiet", (LARGE, KEY)),
    ]
    .into();
    for (name, (n, key)) in &dirs {
        let dir = tmp.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("template.yaml"), template(key)).unwrap();
        write_log(&dir.join("log.json"), (0..*n).map(|i| decrypt(i, &ip(i))));
    }
    let (small, small_count) = peak_kb(&tmp.path().join("small"));
    let (large, large_count) = peak_kb(&tmp.path().join("large"));
    let (quiet, quiet_count) = peak_kb(&tmp.path().join("quiet"));
    eprintln!(
        "peak RSS: {SMALL} firing events {small} kB, {LARGE} firing {large} kB, {LARGE} none firing {quiet} kB"
    );
    assert_eq!((small_count, large_count, quiet_count), (SMALL, LARGE, 0));
    assert!(
        large <= small + GROWTH_KB,
        "{LARGE} events: {large} kB, {SMALL} events: {small} kB"
    );
    assert!(large <= PEAK_KB, "{large} kB");
    assert!(
        large * 2 <= quiet * 3,
        "firing on every event {large} kB, on none {quiet} kB"
    );
}

#[test]
fn all_events_are_in_the_order_of_a_single_scan_whatever_the_threads_and_shards() {
    // Six logs read in parallel: phase two meets their events in an order that depends on how
    // the reading interleaved; the file lists them by file, event and rule.
    let dir = common::project(&[("template.yaml", &template(OTHER))]);
    for f in 0..6u64 {
        write_log(
            &dir.path().join(format!("logs/{f}.json")),
            (0..100).map(|i| decrypt(f * 1000 + i, "10.0.0.1")),
        );
    }
    let run = |threads: &str, name: &str, shard: Option<&str>| -> Vec<String> {
        let mut cmd = atrest(dir.path());
        cmd.env("RAYON_NUM_THREADS", threads)
            .args(["scan", "--format", "json", "-o", "out.json"])
            .args(["--all-events", name]);
        if let Some(s) = shard {
            cmd.args(["--shard", s]);
        }
        let out = cmd.arg(".").output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        std::fs::read_to_string(dir.path().join(name))
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    };
    let one = run("4", "a.jsonl", None);
    assert_eq!(one.len(), 600);
    let place = |l: &str| {
        let v: Value = serde_json::from_str(l).unwrap();
        (
            v["file"].as_str().unwrap().to_owned(),
            v["line"].as_u64().unwrap(),
            v["rule"].as_str().unwrap().to_owned(),
        )
    };
    let places: Vec<_> = one.iter().map(|l| place(l)).collect();
    assert!(places.is_sorted(), "by file, line and rule");
    for threads in ["1", "3"] {
        assert_eq!(run(threads, "b.jsonl", None), one, "{threads} threads");
    }
    // Each shard's lines are the single scan's lines for its files, in the same order.
    let mut shards: Vec<String> = Vec::new();
    for s in ["1/2", "2/2"] {
        let part = run("4", &format!("shard-{}.jsonl", &s[..1]), Some(s));
        let mine: Vec<&String> = one
            .iter()
            .filter(|l| part.iter().any(|p| place(p).0 == place(l).0))
            .collect();
        assert_eq!(part.iter().collect::<Vec<_>>(), mine, "shard {s}");
        shards.extend(part);
    }
    shards.sort_by_key(|l| place(l));
    assert_eq!(shards, one);
}
