//! `atrest scan s3://...` against S3 served by moto on loopback: the Spark corpus
//! (contrib/spark/make_corpus.py, CloudTrail's delivery layout) uploaded to a bucket and read in
//! place gives the findings of the same files scanned on disk, at the same lines and columns,
//! with and without pruning by date, account and region; a folder of more than one list page
//! is read whole. Needs what `aws_moto` needs (see there).

use crate::aws_moto::{Moto, atrest, moto};
use crate::common;
use serde_json::Value;
use std::path::Path;

/// Uploads with tests/moto/s3_upload.py (`dir DIR PREFIX` or `many N PREFIX`).
fn upload(moto: &Moto, bucket: &str, args: &[&str]) {
    let out = std::process::Command::new(&moto.python)
        .arg(common::manifest_dir().join("tests/moto/s3_upload.py"))
        .args([moto.endpoint.as_str(), bucket])
        .args(args)
        .output()
        .expect("runs the upload script");
    assert!(
        out.status.success(),
        "upload failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// SARIF results as a sorted list, with `strip` taken out of every string (the S3 URL's
/// `s3://bucket/`), and what only says where the file was (base ids, fingerprints, rule
/// indexes) left out.
fn results(sarif: &[u8], strip: &str) -> Vec<String> {
    fn walk(v: &Value, strip: &str) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter()
                    .filter(|(k, _)| {
                        !matches!(
                            k.as_str(),
                            "uriBaseId" | "partialFingerprints" | "ruleIndex"
                        )
                    })
                    .map(|(k, x)| (k.clone(), walk(x, strip)))
                    .collect(),
            ),
            Value::Array(a) => Value::Array(a.iter().map(|x| walk(x, strip)).collect()),
            Value::String(s) if !strip.is_empty() => Value::String(s.replace(strip, "")),
            other => other.clone(),
        }
    }
    let doc: Value = serde_json::from_slice(sarif).expect("SARIF is JSON");
    let mut out: Vec<String> = doc["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| walk(r, strip).to_string())
        .collect();
    out.sort();
    out
}

/// A bucket name part no earlier run used.
fn unique() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    format!("{}-{}", std::process::id(), now.as_nanos())
}

/// A directory with the Spark corpus (contrib/spark/make_corpus.py) in `corpus/`: two accounts,
/// two days.
fn corpus(moto: &Moto) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let made = std::process::Command::new(&moto.python)
        .arg(common::manifest_dir().join("contrib/spark/make_corpus.py"))
        .arg("--fixtures")
        .arg(common::manifest_dir().join("fixtures/cloudtrail"))
        .arg("--out")
        .arg(dir.path().join("corpus"))
        .args(["--accounts", "2", "--days", "2"])
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    dir
}

/// A selection by day, account and region that leaves some of the corpus out.
const PRUNED: [&str; 8] = [
    "--since",
    "2024-06-02T08:00:00+02:00",
    "--until",
    "2024-06-02",
    "--account",
    "111111111111",
    "--trail-region",
    "eu-west-1",
];

fn scan(moto: &Moto, dir: &Path, args: &[&str]) -> (i32, Vec<u8>) {
    let mut cmd = atrest(dir);
    cmd.arg("scan").args(args).args(["--format", "sarif"]);
    if args.iter().any(|a| a.starts_with("s3://")) {
        cmd.args(["--endpoint-url", &moto.endpoint]);
    }
    let out = cmd.output().unwrap();
    (out.status.code().unwrap_or(-1), out.stdout)
}

#[test]
fn logs_read_in_place_from_s3_give_the_local_scans_findings() {
    let Some(moto) = moto() else {
        return;
    };
    let dir = corpus(&moto);
    // What the bucket holds besides logs: a digest (skipped by its folder) and a note (by name).
    let digest = dir
        .path()
        .join("corpus/AWSLogs/111111111111/CloudTrail-Digest/eu-west-1/2024/06/01");
    std::fs::create_dir_all(&digest).unwrap();
    std::fs::write(
        digest
            .join("111111111111_CloudTrail-Digest_eu-west-1_t_eu-west-1_20240601T010000Z.json.gz"),
        "not even gzip: never fetched",
    )
    .unwrap();
    std::fs::write(dir.path().join("corpus/AWSLogs/README.txt"), "notes").unwrap();
    // Unique per run: the server outlives the test.
    let bucket = &format!("atrest-equality-{}", unique());
    upload(
        &moto,
        bucket,
        &[
            "dir",
            &dir.path().join("corpus/AWSLogs").to_string_lossy(),
            "logs/AWSLogs/",
        ],
    );
    std::fs::remove_dir_all(
        dir.path()
            .join("corpus/AWSLogs/111111111111/CloudTrail-Digest"),
    )
    .unwrap();
    std::fs::remove_file(dir.path().join("corpus/AWSLogs/README.txt")).unwrap();

    let url = format!("s3://{bucket}/logs/");
    let strip = format!("s3://{bucket}/logs/");
    let pruned = PRUNED;
    for filter in [&[][..], &pruned[..]] {
        let (local_code, local) = scan(
            &moto,
            &dir.path().join("corpus"),
            &[&["."][..], filter].concat(),
        );
        let (s3_code, remote) = scan(
            &moto,
            &dir.path().join("corpus"),
            &[&["infra", &url][..], filter].concat(),
        );
        assert_eq!((s3_code, local_code), (1, 1), "{filter:?}");
        let (local, remote) = (results(&local, ""), results(&remote, &strip));
        assert!(local.len() > 10, "{filter:?}: {} results", local.len());
        let differ = local.iter().zip(&remote).find(|(a, b)| a != b);
        assert!(
            local.len() == remote.len() && differ.is_none(),
            "{filter:?}: {} results on disk, {} in S3; first difference:\n{differ:?}",
            local.len(),
            remote.len()
        );
    }
    // The pruning took something away, and a finding names the object with line and column.
    let (_, all) = scan(&moto, dir.path(), &[&url]);
    let (_, some) = scan(
        &moto,
        dir.path(),
        &[&[url.as_str()][..], &pruned[..]].concat(),
    );
    let all: Value = serde_json::from_slice(&all).unwrap();
    let some: Value = serde_json::from_slice(&some).unwrap();
    let count = |v: &Value| v["runs"][0]["results"].as_array().unwrap().len();
    assert!(count(&some) < count(&all));
    let place = &all["runs"][0]["results"][0]["locations"][0]["physicalLocation"];
    assert!(
        place["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .starts_with(&format!("s3://{bucket}/logs/AWSLogs/")),
        "{place}"
    );
    assert!(place["region"]["startLine"].as_u64().is_some());
    assert!(place["region"]["startColumn"].as_u64().is_some());

    // What was not read is listed, by name, without fetching it.
    let out = atrest(dir.path())
        .args([
            "scan",
            &url,
            "--endpoint-url",
            &moto.endpoint,
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let skipped: Vec<String> = doc["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["file"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        skipped.contains(&format!(
            "s3://{bucket}/logs/AWSLogs/111111111111/CloudTrail-Digest/"
        )),
        "{skipped:?}"
    );
    assert!(
        skipped.contains(&format!("s3://{bucket}/logs/AWSLogs/README.txt")),
        "{skipped:?}"
    );
    assert_eq!(
        doc["errors"].as_array().map(Vec::len),
        Some(0),
        "{}",
        doc["errors"]
    );
}

#[test]
fn a_folder_of_more_than_one_list_page_is_read_whole_and_bad_prefixes_are_errors() {
    let Some(moto) = moto() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let bucket = &format!("atrest-many-{}", unique());
    upload(&moto, bucket, &["many", "1001", "exports/part-"]);
    let out = atrest(dir.path())
        .args(["scan", &format!("s3://{bucket}/exports/")])
        .args(["--endpoint-url", &moto.endpoint, "--format", "json"])
        .output()
        .unwrap();
    crate::common::assert_exit(&out, 0);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["cloudtrail"]["log_files"], 1001);
    assert_eq!(doc["cloudtrail"]["events"], 1001);

    // A bucket that does not exist, and a prefix with nothing under it: errors, exit 2.
    let out = atrest(dir.path())
        .args([
            "scan",
            "s3://atrest-no-such-bucket/x/",
            &format!("s3://{bucket}/nothing/"),
        ])
        .args(["--endpoint-url", &moto.endpoint])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stdout);
    assert!(
        stderr.contains("error: s3://atrest-no-such-bucket/x/: cannot list: NoSuchBucket"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "error: s3://{bucket}/nothing/: no CloudTrail log found under this prefix"
        )),
        "{stderr}"
    );
    // One object named in full is read without a listing; a missing one is an error.
    let out = atrest(dir.path())
        .args(["scan", &format!("s3://{bucket}/exports/part-00007.jsonl")])
        .args([&format!("s3://{bucket}/exports/part-99999.jsonl")])
        .args(["--endpoint-url", &moto.endpoint, "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["cloudtrail"]["events"], 1);
    assert!(
        doc["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("NoSuchKey"),
        "{}",
        doc["errors"]
    );
}

#[test]
fn facts_and_the_list_of_logs_read_s3_in_place_with_the_scans_pruning() {
    let Some(moto) = moto() else {
        return;
    };
    let dir = corpus(&moto);
    let bucket = &format!("atrest-facts-{}", unique());
    let logs = dir.path().join("corpus/AWSLogs");
    upload(
        &moto,
        bucket,
        &["dir", &logs.to_string_lossy(), "corpus/AWSLogs/"],
    );
    let url = format!("s3://{bucket}/corpus/");
    let facts = |path: &str, args: &[&str]| {
        let mut cmd = atrest(dir.path());
        cmd.arg("facts").arg(path).args(args);
        if path.starts_with("s3://") {
            cmd.args(["--endpoint-url", &moto.endpoint]);
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(0), "{path} {args:?}: {stderr}");
        let stdout = String::from_utf8(out.stdout).unwrap();
        (stdout.replace(&format!("s3://{bucket}/"), ""), stderr)
    };
    let mut listed = Vec::new();
    for filter in [&[][..], &PRUNED[..]] {
        let list = [&["--list"][..], filter].concat();
        let (local, _) = facts("corpus/AWSLogs", &list);
        let (remote, _) = facts(&url, &list);
        assert_eq!(local, remote, "{filter:?}");
        listed.push(local.lines().count());
        // The same facts from the same logs, and the same number of events read.
        let (local, local_summary) = facts("corpus/AWSLogs", filter);
        let (remote, remote_summary) = facts(&url, filter);
        assert_eq!(local, remote, "{filter:?}");
        assert!(local.contains("lambda_keys"), "{local}");
        assert_eq!(local_summary, remote_summary, "{filter:?}");
    }
    // Every log of the corpus, and fewer with the selection; the list names S3 objects in full.
    assert!(listed[0] > listed[1] && listed[1] > 0, "{listed:?}");
    let out = atrest(dir.path())
        .args(["facts", "--list", &url, "--endpoint-url", &moto.endpoint])
        .output()
        .unwrap();
    let first = String::from_utf8_lossy(&out.stdout);
    assert!(
        first.starts_with(&format!(
            "s3://{bucket}/corpus/AWSLogs/111111111111/CloudTrail/"
        )),
        "{first}"
    );
}
