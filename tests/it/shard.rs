//! A scan split into shards and merged gives exactly the single scan's report.
//!
//! The corpus is the CloudTrail rule fixtures laid out as two accounts' logs, with the
//! templates they are correlated with, a duplicate delivery placed in another shard than its
//! original, a log with a corrupt record and a broken template (errors must merge too).

use crate::common;

use atrest::shard::Shard;
use common::{assert_valid_sarif, atrest, manifest_dir};
use std::path::{Path, PathBuf};

const ACCOUNTS: [&str; 2] = ["111111111111", "222222222222"];

/// Writes the corpus under `dir/corpus` and returns the log files (relative to `dir`). With
/// `redelivered`, one log is delivered twice, the copies in different shards of four.
fn corpus(dir: &Path, redelivered: bool) -> Vec<String> {
    let fixtures = manifest_dir().join("fixtures/cloudtrail");
    let mut logs = Vec::new();
    let mut n = 0;
    let mut rules: Vec<PathBuf> = std::fs::read_dir(&fixtures)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    rules.sort();
    for rule in &rules {
        let mut files: Vec<PathBuf> = std::fs::read_dir(rule)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            let name = f.file_name().unwrap().to_str().unwrap().to_owned();
            if name.ends_with(".yaml") {
                let rule_id = rule.file_name().unwrap().to_str().unwrap().to_lowercase();
                let to = dir.join(format!("corpus/infra/{rule_id}.yaml"));
                std::fs::create_dir_all(to.parent().unwrap()).unwrap();
                std::fs::copy(&f, to).unwrap();
                continue;
            }
            // ATR-C001's copy of the Lambda guide's samples repeats ATR-C004's: one copy, so
            // that the only duplicate deliveries are the ones a test makes on purpose.
            if name == "expected.txt" || name == "pass_docs_samples.json" {
                continue;
            }
            let account = ACCOUNTS[n % 2];
            n += 1;
            let rel = format!(
                "corpus/AWSLogs/{account}/CloudTrail/eu-west-1/2024/06/{:02}/{name}",
                1 + n % 3
            );
            let to = dir.join(&rel);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(&f, to).unwrap();
            logs.push(rel);
        }
    }
    let original = logs
        .iter()
        .find(|l| l.ends_with("fail_docs_samples.json"))
        .unwrap()
        .clone();
    let corrupt = "corpus/AWSLogs/222222222222/CloudTrail/eu-west-1/2024/06/05/corrupt.json";
    std::fs::create_dir_all(dir.join(corrupt).parent().unwrap()).unwrap();
    let good = std::fs::read_to_string(dir.join(&original)).unwrap();
    // The first record is made invalid JSON; the others are still read.
    let broken = good.replacen("\"eventVersion\"", "\"eventVersion\" \"oops\",", 1);
    assert_ne!(good, broken);
    std::fs::write(dir.join(corrupt), broken).unwrap();
    logs.push(corrupt.to_owned());
    std::fs::write(
        dir.join("corpus/infra/broken.yaml"),
        "Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties: [\n",
    )
    .unwrap();
    if redelivered {
        // A second delivery of a log with findings, named so that it lands in another shard
        // than the first: its events must count once in the merged findings, as in one scan.
        let home = shard_of(&original);
        let again = (0..)
            .map(|i| {
                format!(
                    "corpus/AWSLogs/{}/CloudTrail/eu-west-1/2024/06/04/again-{i}.json",
                    ACCOUNTS[1]
                )
            })
            .find(|p| shard_of(p) != home)
            .unwrap();
        std::fs::create_dir_all(dir.join(&again).parent().unwrap()).unwrap();
        std::fs::copy(dir.join(&original), dir.join(&again)).unwrap();
        logs.push(again);
    }
    logs.sort();
    logs
}

/// Runs the facts phase and four shard scans of `dir/corpus` with the merged facts, as an
/// engine would; returns the parts (`out/part-I.jsonl`).
fn four_parts(dir: &Path) -> Vec<String> {
    std::fs::create_dir_all(dir.join("out")).unwrap();
    let mut facts = Vec::new();
    for i in 1..=4 {
        let f = format!("out/facts-{i}.json");
        run(
            dir,
            &["facts", "--shard", &format!("{i}/4"), "corpus", "-o", &f],
        );
        facts.push(f);
    }
    let mut args = vec!["facts", "--merge"];
    args.extend(facts.iter().map(String::as_str));
    args.extend(["-o", "out/facts.json"]);
    assert_eq!(run(dir, &args), 0);

    let mut parts = Vec::new();
    for i in 1..=4 {
        let part = format!("out/part-{i}.jsonl");
        let shard = format!("{i}/4");
        let code = run(
            dir,
            &[
                "scan",
                "--shard",
                &shard,
                "--facts",
                "out/facts.json",
                "--format",
                "jsonl",
                "-o",
                &part,
                "corpus",
            ],
        );
        assert!(
            code == 0 || code == 2,
            "a shard never fails on findings: {code}"
        );
        parts.push(part);
    }
    parts
}

/// A rule that fires more often than a finding keeps events and distinct values for, on logs
/// spread over every shard, the earliest events and the smallest addresses in all of them, and
/// a log delivered again into another shard: the merge picks the same count, samples, distinct
/// values and time range as the single scan, to the byte.
#[test]
fn findings_over_the_bounds_merge_into_the_single_scans_report() {
    use crate::bounded::{OTHER, decrypt, template, write_log};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("corpus/infra")).unwrap();
    std::fs::write(dir.join("corpus/infra/template.yaml"), template(OTHER)).unwrap();
    const FILES: u64 = 12;
    let log = |j: u64| {
        format!("corpus/AWSLogs/111111111111/CloudTrail/eu-west-1/2024/06/01/log-{j}.json")
    };
    let mut shards = std::collections::BTreeSet::new();
    for j in 0..FILES {
        // Events interleaved across files; addresses of each file all over the byte order.
        write_log(
            &dir.join(log(j)),
            (0..40).map(|k| {
                let i = j + FILES * k;
                decrypt(i, &format!("10.{}.{}.{}", i % 7, i % 3, i))
            }),
        );
        shards.insert(shard_of(&log(j)));
    }
    assert_eq!(shards.len(), 4, "the logs are in every shard");
    let again = (0..)
        .map(|i| {
            format!("corpus/AWSLogs/111111111111/CloudTrail/eu-west-1/2024/06/02/again-{i}.json")
        })
        .find(|p| shard_of(p) != shard_of(&log(0)))
        .unwrap();
    std::fs::create_dir_all(dir.join(&again).parent().unwrap()).unwrap();
    std::fs::copy(dir.join(log(0)), dir.join(&again)).unwrap();

    std::fs::create_dir_all(dir.join("out")).unwrap();
    for format in ["sarif", "json", "text"] {
        let out = format!("out/single.{format}");
        run(dir, &["scan", "--format", format, "-o", &out, "corpus"]);
    }
    let parts = four_parts(dir);
    for format in ["sarif", "json", "text"] {
        let out = format!("out/merged.{format}");
        let mut args = vec!["merge"];
        args.extend(parts.iter().map(String::as_str));
        args.extend(["--format", format, "-o", &out]);
        assert_eq!(run(dir, &args), 1, "{format}");
    }
    let single = read(dir, "out/single.sarif");
    let c003 = crate::bounded::only_c003(&single);
    let props = &c003["properties"];
    assert_eq!(
        props["count"],
        FILES * 40,
        "the redelivered log counts once"
    );
    assert_eq!(props["sourceIPAddresses"]["more_is_lower_bound"], true);
    assert_eq!(props["eventIDs"][0], "00000000-0000-4000-8000-000000000000");
    assert_same(&read(dir, "out/merged.sarif"), &single, "SARIF");
    // JSON: the findings (its CloudTrail statistics count the redelivery in both shards).
    let findings = |f: &str| -> serde_json::Value {
        let v: serde_json::Value = serde_json::from_str(&read(dir, f)).unwrap();
        v["findings"].clone()
    };
    assert_eq!(findings("out/merged.json"), findings("out/single.json"));
    let text = |f: &str| -> String {
        let t = read(dir, f);
        t[..t.find("CloudTrail:").unwrap_or(t.len())].to_owned()
    };
    assert_same(&text("out/merged.text"), &text("out/single.text"), "text");
}

fn shard_of(path: &str) -> u32 {
    (1..=4)
        .find(|i| {
            Shard {
                index: *i,
                count: 4,
            }
            .owns(path)
        })
        .unwrap()
}

/// Runs atrest in `dir`; returns the exit code.
fn run(dir: &Path, args: &[&str]) -> i32 {
    let out = atrest(dir).args(args).output().unwrap();
    let code = out.status.code().unwrap();
    assert!(
        code != 2 || !out.stderr.is_empty(),
        "exit 2 says why on stderr"
    );
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("panicked"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    code
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap()
}

/// The merged report is the single scan's (see [`common::assert_same_text`]).
fn assert_same(merged: &str, single: &str, what: &str) {
    common::assert_same_text(
        merged,
        single,
        ("the merged report", "the single scan's"),
        what,
    );
}

#[test]
fn four_shards_merge_into_the_single_scans_sarif() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    corpus(dir, true);
    run(
        dir,
        &["scan", "--format", "json", "-o", "single.json", "corpus"],
    );
    std::fs::create_dir(dir.join("out")).unwrap();
    let single = run(
        dir,
        &[
            "scan",
            "--format",
            "sarif",
            "-o",
            "out/single.sarif",
            "corpus",
        ],
    );
    assert_eq!(
        single, 2,
        "the corrupt record and the broken template are input errors"
    );

    let parts = four_parts(dir);
    let mut args = vec!["merge"];
    args.extend(parts.iter().map(String::as_str));
    args.extend(["--format", "sarif", "-o", "out/merged.sarif"]);
    assert_eq!(
        run(dir, &args),
        single,
        "the merge exits as the single scan"
    );

    let single = read(dir, "out/single.sarif");
    assert_valid_sarif(&single);
    let sarif: serde_json::Value = serde_json::from_str(&single).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let trail = results
        .iter()
        .filter(|r| r["ruleId"].as_str().unwrap().starts_with("ATR-C"))
        .count();
    assert!(
        trail >= 10,
        "the corpus fires the CloudTrail rules: {trail}"
    );
    assert_same(&read(dir, "out/merged.sarif"), &single, "SARIF");
    // The findings in JSON too. Its CloudTrail statistics count a log delivered twice into two
    // shards once in each (see `atrest::shard`), so they are left out here.
    let mut args = vec!["merge"];
    args.extend(parts.iter().map(String::as_str));
    args.extend(["--format", "json", "-o", "out/merged.json"]);
    run(dir, &args);
    let findings = |f: &str| -> serde_json::Value {
        let v: serde_json::Value = serde_json::from_str(&read(dir, f)).unwrap();
        serde_json::json!([v["findings"], v["errors"], v["summary"]])
    };
    assert_eq!(findings("out/merged.json"), findings("single.json"));

    // Without the merged facts a shard does not know every key Lambda uses, and the report
    // differs: the facts phase is what makes the merge exact.
    let mut alone = Vec::new();
    for i in 1..=4 {
        let part = format!("out/alone-{i}.jsonl");
        run(
            dir,
            &[
                "scan",
                "--shard",
                &format!("{i}/4"),
                "--format",
                "jsonl",
                "-o",
                &part,
                "corpus",
            ],
        );
        alone.push(part);
    }
    let mut args = vec!["merge"];
    args.extend(alone.iter().map(String::as_str));
    args.extend(["--format", "sarif", "-o", "out/alone.sarif"]);
    run(dir, &args);
    assert_ne!(read(dir, "out/alone.sarif"), single);
}

/// How an engine runs it: each task gets its own list of logs and the whole inventory, and
/// one more task reports the inventory itself.
#[test]
fn file_lists_and_an_inventory_merge_into_the_single_scans_report() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let logs = corpus(dir, false);
    std::fs::create_dir(dir.join("out")).unwrap();
    for format in ["sarif", "text", "json"] {
        run(
            dir,
            &[
                "scan",
                "--format",
                format,
                "-o",
                &format!("out/single.{format}"),
                "corpus",
            ],
        );
    }
    // The corrupt copy of the docs samples repeats their other records: it goes in its
    // original's list, since the statistics this test compares count a delivery that landed
    // in two parts in each (docs/sharding.md).
    let original = logs
        .iter()
        .position(|l| l.ends_with("fail_docs_samples.json"))
        .unwrap();
    let part = |i: usize, l: &str| {
        if l.ends_with("/corrupt.json") {
            original % 3
        } else {
            i % 3
        }
    };
    let lists: Vec<String> = (0..3)
        .map(|t| {
            let list = format!("out/list-{t}.txt");
            let mine: Vec<&str> = logs
                .iter()
                .enumerate()
                .filter(|(i, l)| part(*i, l) == t)
                .map(|(_, l)| l.as_str())
                .collect();
            std::fs::write(dir.join(&list), mine.join("\n") + "\n").unwrap();
            list
        })
        .collect();
    let mut facts = Vec::new();
    for (t, list) in lists.iter().enumerate() {
        let f = format!("out/facts-{t}.json");
        run(dir, &["facts", "--files-from", list, "-o", &f]);
        facts.push(f);
    }
    // Joined in two steps, in another order: facts merge associatively.
    run(
        dir,
        &[
            "facts",
            "--merge",
            &facts[2],
            &facts[0],
            "-o",
            "out/facts-a.json",
        ],
    );
    run(
        dir,
        &[
            "facts",
            "--merge",
            &facts[1],
            "out/facts-a.json",
            "-o",
            "out/facts.json",
        ],
    );
    let mut parts = Vec::new();
    for (t, list) in lists.iter().enumerate() {
        let part = format!("out/part-{t}.jsonl");
        run(
            dir,
            &[
                "scan",
                "--files-from",
                list,
                "--inventory",
                "corpus/infra",
                "--facts",
                "out/facts.json",
                "--format",
                "jsonl",
                "-o",
                &part,
            ],
        );
        parts.push(part);
    }
    run(
        dir,
        &[
            "scan",
            "corpus/infra",
            "--format",
            "jsonl",
            "-o",
            "out/infra.jsonl",
        ],
    );
    // Merged in two steps too: a merge's jsonl merges again.
    run(
        dir,
        &[
            "merge",
            &parts[0],
            &parts[1],
            "--format",
            "jsonl",
            "-o",
            "out/m01.jsonl",
        ],
    );
    for format in ["sarif", "text", "json"] {
        run(
            dir,
            &[
                "merge",
                "out/infra.jsonl",
                &parts[2],
                "out/m01.jsonl",
                "--format",
                format,
                "-o",
                &format!("out/merged.{format}"),
            ],
        );
        assert_same(
            &read(dir, &format!("out/merged.{format}")),
            &read(dir, &format!("out/single.{format}")),
            format,
        );
    }
}

#[test]
fn facts_merge_is_associative_and_order_free() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    corpus(dir, true);
    for i in 1..=3 {
        run(
            dir,
            &[
                "facts",
                "--shard",
                &format!("{i}/3"),
                "corpus",
                "-o",
                &format!("f{i}.json"),
            ],
        );
    }
    run(dir, &["facts", "corpus", "-o", "all.json"]);
    run(
        dir,
        &["facts", "--merge", "f1.json", "f2.json", "-o", "f12.json"],
    );
    run(
        dir,
        &["facts", "--merge", "f2.json", "f3.json", "-o", "f23.json"],
    );
    run(
        dir,
        &["facts", "--merge", "f12.json", "f3.json", "-o", "left.json"],
    );
    run(
        dir,
        &[
            "facts",
            "--merge",
            "f1.json",
            "f23.json",
            "-o",
            "right.json",
        ],
    );
    run(
        dir,
        &[
            "facts",
            "--merge",
            "f3.json",
            "f1.json",
            "f2.json",
            "f1.json",
            "-o",
            "shuffled.json",
        ],
    );
    let all = read(dir, "all.json");
    assert!(all.contains("lambda_keys") && all.len() > 200, "{all}");
    for f in ["left.json", "right.json", "shuffled.json"] {
        assert_eq!(read(dir, f), all, "{f}");
    }
    // No shard alone knows everything.
    assert!((1..=3).all(|i| read(dir, &format!("f{i}.json")) != all));
}

#[test]
fn a_cut_short_or_foreign_shard_file_is_an_error_and_the_rest_is_merged() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    corpus(dir, true);
    run(
        dir,
        &[
            "scan", "--shard", "1/2", "--format", "jsonl", "-o", "p1.jsonl", "corpus",
        ],
    );
    run(
        dir,
        &[
            "scan", "--shard", "2/2", "--format", "jsonl", "-o", "p2.jsonl", "corpus",
        ],
    );
    let whole = read(dir, "p2.jsonl");
    let cut: String = whole
        .lines()
        .take(whole.lines().count() - 1)
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(dir.join("cut.jsonl"), cut).unwrap();
    std::fs::write(dir.join("other.jsonl"), "{\"Records\": []}\n").unwrap();
    let out = atrest(dir)
        .args([
            "merge",
            "p1.jsonl",
            "cut.jsonl",
            "other.jsonl",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let errors = report["errors"].to_string();
    assert!(
        errors.contains("cut.jsonl: cut short (no end record)"),
        "{errors}"
    );
    assert!(errors.contains("other.jsonl:1: "), "{errors}");
    assert!(
        !report["findings"].as_array().unwrap().is_empty(),
        "p1 is still reported"
    );

    // A part whose event identities do not add up is refused, naming the line.
    let lines: Vec<&str> = whole.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("{\"record\":\"identities\""))
        .expect("a part carries its findings' event identities");
    let mut dropped = lines.clone();
    dropped.remove(at);
    let mut garbled = lines.clone();
    let bad = "{\"record\":\"identities\",\"ids\":\"zz\"}";
    garbled[at] = bad;
    for (text, line, why) in [
        (dropped, at + 1, "event identities but 0 followed"),
        (
            garbled,
            at + 1,
            "identities are not 32 hexadecimal digits each",
        ),
    ] {
        std::fs::write(dir.join("bad.jsonl"), text.join("\n") + "\n").unwrap();
        let out = atrest(dir)
            .args(["merge", "p1.jsonl", "bad.jsonl", "--format", "json"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let errors = report["errors"].to_string();
        assert!(errors.contains(&format!("bad.jsonl:{line}: ")), "{errors}");
        assert!(errors.contains(why), "{errors}");
    }

    // A merge must run the rules the shards ran, or rule indexes would mean other rules.
    let out = atrest(dir)
        .args([
            "merge", "p1.jsonl", "--rule", "ATR-C001", "--format", "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("same --policy, --no-builtin and --rule")
    );
}

#[test]
fn suppressions_belong_to_the_merge_not_to_a_shard() {
    let tmp = tempfile::tempdir().unwrap();
    let out = atrest(tmp.path())
        .args(["scan", "--format", "jsonl", "--skip-rule", "ATR-C001", "."])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("give it to `atrest merge`"));
    for bad in ["0/2", "3/2", "x"] {
        let out = atrest(tmp.path())
            .args(["scan", "--shard", bad, "."])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
    }
}
