//! CloudTrail logs end to end: order independence, duplicate deliveries, corrupt records among
//! good ones, every input shape, and the reports (SARIF aggregation, JSON events, timeline).

use crate::common;

use atrest::report::{Report, UnknownMode};
use atrest::scan::ScanResult;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::Path;

const KEY: &str = "arn:aws:kms:eu-west-1:123456789012:key/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111";
const OTHER: &str = "arn:aws:kms:eu-west-1:123456789012:key/b2c3d4e5-6789-01bc-def0-EXAMPLE22222";

fn event(i: usize, name: &str, who: &str, key: &str, extra: Value) -> Value {
    let mut e = json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "arn": format!("arn:aws:iam::123456789012:user/{who}"), "accountId": "123456789012"},
        "eventTime": format!("2024-06-01T10:{:02}:{:02}Z", i / 60, i % 60),
        "eventSource": "kms.amazonaws.com",
        "eventName": name,
        "awsRegion": "eu-west-1",
        "requestParameters": {"keyId": key},
        "eventID": format!("00000000-0000-4000-8000-{i:012}"),
        "resources": [{"type": "AWS::KMS::Key", "ARN": key}],
        "recipientAccountId": "123456789012",
    });
    if let (Some(o), Some(x)) = (e.as_object_mut(), extra.as_object()) {
        for (k, v) in x {
            o.insert(k.clone(), v.clone());
        }
    }
    e
}

fn lambda_decrypt(i: usize, key: &str) -> Value {
    event(
        i,
        "Decrypt",
        "x",
        key,
        json!({
            "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/fn/f", "invokedBy": "lambda.amazonaws.com"},
            "requestParameters": {"keyId": key, "encryptionContext": {"aws:lambda:FunctionArn": "arn:aws:lambda:eu-west-1:123456789012:function:f"}},
        }),
    )
}

/// A small account's activity: Lambda using KEY, people disabling and reading it, noise.
fn activity() -> Vec<Value> {
    let mut v = Vec::new();
    for i in 0..40 {
        v.push(match i % 8 {
            0 => lambda_decrypt(i, KEY),
            1 => event(i, "DisableKey", "alice", KEY, json!({})),
            2 => event(i, "DescribeKey", "bob", KEY, json!({"sessionCredentialFromConsole": "true"})),
            3 => event(i, "DisableKey", "alice", OTHER, json!({})),
            4 => event(i, "Decrypt", "mallory", KEY, json!({"requestParameters": {"keyId": KEY, "encryptionContext": {"aws:lambda:FunctionArn": "arn:aws:lambda:eu-west-1:123456789012:function:f"}}})),
            _ => json!({"eventVersion": "1.09", "eventTime": "2024-06-01T09:00:00Z", "eventSource": "s3.amazonaws.com", "eventName": "GetObject", "eventID": format!("s3-{i}")}),
        });
    }
    v
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    if name.ends_with(".gz") {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(text.as_bytes()).unwrap();
        fs::write(path, enc.finish().unwrap()).unwrap();
    } else {
        fs::write(path, text).unwrap();
    }
}

fn records(events: &[Value]) -> String {
    serde_json::to_string(&json!({"Records": events})).unwrap()
}

/// What a finding says, leaving out where its first event happens to be stored.
fn summary(result: &ScanResult) -> BTreeSet<String> {
    let rules = &common::builtin().rules;
    result
        .findings
        .iter()
        .map(|f| {
            let t = f.finding.trail.as_ref().expect("CloudTrail finding");
            let ids: BTreeSet<&str> = t.samples.iter().map(|e| e.id.as_str()).collect();
            format!(
                "{} {:?} {} {} {} {ids:?}",
                rules[f.finding.rule].id, t.subject, t.count, t.first_seen, t.last_seen
            )
        })
        .collect()
}

#[test]
fn findings_do_not_depend_on_event_or_file_order() {
    let events = activity();
    let a = tempfile::tempdir().unwrap();
    write(a.path(), "one.json", &records(&events));
    let b = tempfile::tempdir().unwrap();
    let mut reversed = events.clone();
    reversed.reverse();
    // The same events, reversed, in three files of three shapes; the key's use by Lambda is
    // in the file read last.
    let (x, rest) = reversed.split_at(13);
    let (y, z) = rest.split_at(13);
    write(b.path(), "a/first.json.gz", &records(x));
    let lines: String = y.iter().map(|e| format!("{e}\n")).collect();
    write(b.path(), "b/second.jsonl", &lines);
    write(
        b.path(),
        "c/third.json",
        &serde_json::to_string_pretty(&z).unwrap(),
    );
    let ra = common::scan_paths(&[a.path().to_path_buf()]);
    let rb = common::scan_paths(&[b.path().to_path_buf()]);
    assert!(
        ra.errors.is_empty() && rb.errors.is_empty(),
        "{:?} {:?}",
        ra.errors,
        rb.errors
    );
    let (sa, sb) = (summary(&ra), summary(&rb));
    assert_eq!(sa, sb);
    let rules: BTreeSet<&str> = sa.iter().map(|s| &s[..8]).collect();
    assert_eq!(
        rules,
        BTreeSet::from(["ATR-C001", "ATR-C004", "ATR-C005"]),
        "{sa:#?}"
    );
    assert_eq!(rb.inputs(), 3);
}

#[test]
fn duplicate_deliveries_are_evaluated_once_and_the_first_copy_is_shown() {
    let dir = tempfile::tempdir().unwrap();
    let events = vec![
        lambda_decrypt(1, KEY),
        event(2, "DisableKey", "alice", KEY, json!({})),
    ];
    write(dir.path(), "2024/06/01/a.json.gz", &records(&events));
    write(dir.path(), "2024/06/01/b.json", &records(&events));
    write(
        dir.path(),
        "2024/06/01/c.jsonl",
        &format!("{}\n", events[1]),
    );
    let result = common::scan_paths(&[dir.path().to_path_buf()]);
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    let trail = result.trail.as_ref().unwrap();
    assert_eq!(trail.events, 5);
    assert_eq!(trail.duplicates, 3);
    assert_eq!(result.findings.len(), 1);
    let f = &result.findings[0];
    assert_eq!(f.finding.trail.as_ref().unwrap().count, 1);
    assert!(f.path.ends_with("a.json.gz"), "{}", f.path);
    let key = &trail.timelines[0];
    assert_eq!(
        key.calls.values().sum::<u64>(),
        2,
        "timeline counts each event once"
    );
}

#[test]
fn a_corrupt_record_is_an_error_with_its_line_and_the_others_are_evaluated() {
    let dir = tempfile::tempdir().unwrap();
    let good = [
        lambda_decrypt(1, KEY),
        event(3, "DisableKey", "alice", KEY, json!({})),
    ];
    // A KMS event with a misspelt literal (parsed, being a candidate), and an S3 event with a
    // byte that is not JSON (caught by the scanner, though no rule reads S3 events).
    let text = format!(
        "{{\"Records\": [\n{},\n{{\"eventSource\": \"kms.amazonaws.com\", \"eventName\": \"Decrypt\", \"eventTime\": tru}},\n{{\"eventSource\": \"s3.amazonaws.com\", \"eventName\": @}},\n{}\n]}}\n",
        good[0], good[1]
    );
    write(dir.path(), "log.json", &text);
    let lines = format!("{}\n{{\"eventName\": \n{}\n", good[0], good[1]);
    write(dir.path(), "log.jsonl", &lines);
    let result = common::scan_paths(&[dir.path().to_path_buf()]);
    let errors: Vec<String> = result.errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(
        errors[0].contains("log.json:3:78: event 2 is not valid JSON"),
        "{errors:?}"
    );
    assert!(
        errors[1].contains("log.json:4:50: event 3 is not valid JSON"),
        "{errors:?}"
    );
    assert!(errors[2].contains("log.jsonl:2:"), "{errors:?}");
    let rules = &common::builtin().rules;
    let found: Vec<(&str, u32)> = result
        .findings
        .iter()
        .map(|f| {
            let line = f.finding.location.as_ref().unwrap().span.start.line;
            (rules[f.finding.rule].id.as_str(), line)
        })
        .collect();
    // The DisableKey after the bad records is evaluated (and its copy in the .jsonl is the
    // same event).
    assert_eq!(found, [("ATR-C005", 5)]);
}

#[test]
fn events_no_rule_reads_are_never_evaluated() {
    let dir = tempfile::tempdir().unwrap();
    let mut events: Vec<Value> = (0..200)
        .map(|i| json!({"eventVersion": "1.09", "eventTime": "t", "eventSource": "ec2.amazonaws.com", "eventName": "DescribeInstances", "eventID": format!("e{i}")}))
        .collect();
    events.push(lambda_decrypt(1, KEY));
    events.push(event(2, "ListAliases", "bob", KEY, json!({})));
    write(dir.path(), "log.json", &records(&events));
    let result = common::scan_paths(&[dir.path().to_path_buf()]);
    let t = result.trail.unwrap();
    assert_eq!(t.events, 202);
    // Both KMS events are kept for the per-key timeline; only the Decrypt meets rules.
    assert_eq!(t.candidates, 2);
    assert_eq!(t.evaluated, 1);
}

#[test]
fn sarif_aggregates_with_event_ids_related_locations_and_back_to_the_source() {
    let dir = tempfile::tempdir().unwrap();
    let template = format!(
        "Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      FunctionName: f\n      KmsKeyArn: {OTHER}\n      Code: {{ZipFile: x}}\n      Environment:\n        Variables: {{A: b}}\n"
    );
    write(dir.path(), "template.yaml", &template);
    let events: Vec<Value> = (0..130).map(|i| lambda_decrypt(i, KEY)).collect();
    write(dir.path(), "logs/log.json.gz", &records(&events));
    let result = common::scan_paths(&[dir.path().to_path_buf()]);
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    let sarif = common::sarif_of(&result, UnknownMode::Warn);
    common::assert_valid_sarif(&sarif);
    let doc: Value = serde_json::from_str(&sarif).unwrap();
    let results = doc["runs"][0]["results"].as_array().unwrap();
    let c003: Vec<&Value> = results
        .iter()
        .filter(|r| r["ruleId"] == "ATR-C003")
        .collect();
    assert_eq!(c003.len(), 1, "130 events, one aggregated result");
    let r = c003[0];
    // The count is every event; the IDs listed are the first ten, and the rest are counted.
    let samples = atrest::finding::MAX_SAMPLES;
    assert_eq!(r["properties"]["count"], 130);
    assert_eq!(
        r["properties"]["eventIDs"].as_array().unwrap().len(),
        samples
    );
    assert_eq!(
        r["properties"]["eventIDs"][0],
        "00000000-0000-4000-8000-000000000000"
    );
    assert_eq!(r["properties"]["eventIDsNotListed"], 130 - samples);
    assert_eq!(r["properties"]["firstSeen"], "2024-06-01T10:00:00Z");
    assert_eq!(r["properties"]["lastSeen"], "2024-06-01T10:02:09Z");
    assert_eq!(
        r["properties"]["principals"],
        json!({"values": ["lambda.amazonaws.com (as arn:aws:sts::123456789012:assumed-role/fn/f)"], "more": 0, "more_is_lower_bound": false})
    );
    let uri = &r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"];
    assert!(uri.as_str().unwrap().ends_with("logs/log.json.gz"), "{uri}");
    let related = r["relatedLocations"].as_array().unwrap();
    assert_eq!(
        related.len(),
        2 + samples - 1,
        "the function's declaration and its KmsKeyArn, then the sample events after the first"
    );
    assert_eq!(related[1]["physicalLocation"]["region"]["startLine"], 6);
    assert!(
        related[0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .ends_with("template.yaml")
    );
    assert_eq!(related[0]["physicalLocation"]["region"]["startLine"], 2);
    let message = r["message"]["text"].as_str().unwrap();
    assert!(
        message.contains("function Fn (matched by name) declared at"),
        "{message}"
    );
    assert!(message.contains("template.yaml:2"), "{message}");

    let report = Report::new(&result, &common::builtin().rules, UnknownMode::Warn);
    let json: Value = serde_json::from_str(&atrest::report::json::render(&report)).unwrap();
    let f = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "ATR-C003")
        .unwrap();
    assert_eq!(
        f["cloudtrail"]["events"].as_array().unwrap().len(),
        samples,
        "JSON lists the sample events"
    );
    assert_eq!(f["cloudtrail"]["count"], 130);
    assert_eq!(f["cloudtrail"]["events_not_listed"], 130 - samples);
    let text = atrest::report::text::render(
        &report,
        atrest::report::text::Style {
            color: false,
            quiet: false,
            show_suppressed: false,
            verbose: false,
        },
    );
    assert!(text.contains(&format!("key {KEY}")), "{text}");
    assert!(
        text.contains("    130  Decrypt  lambda.amazonaws.com"),
        "{text}"
    );
    assert!(text.contains("findings: ATR-C003 x130"), "{text}");
}

#[test]
fn an_inventory_file_stands_in_for_templates() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "logs/log.json",
        &records(&[lambda_decrypt(1, KEY)]),
    );
    let inventory = json!({"functions": [{"id": "f", "source": "aws-api", "logical_id": "arn:aws:lambda:eu-west-1:123456789012:function:f", "resource_type": "AWS::Lambda::Function", "name": "f", "kms_key": {"state": "customer_managed", "value": OTHER, "assumed": false, "chain": ["KMSKeyArn"]}}], "event_source_mappings": [], "kms_keys": [], "kms_aliases": [], "log_groups": []});
    write(dir.path(), "inventory.json", &inventory.to_string());
    let result = atrest::scan::scan(
        &atrest::scan::ScanOptions {
            inventories: vec![dir.path().join("inventory.json")],
            ..atrest::scan::ScanOptions::of(vec![dir.path().join("logs")])
        },
        common::builtin(),
    );
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    let rules = &common::builtin().rules;
    let ids: Vec<&str> = result
        .findings
        .iter()
        .map(|f| rules[f.finding.rule].id.as_str())
        .collect();
    assert_eq!(ids, ["ATR-C003"]);
    assert!(result.findings[0].finding.message.contains("function arn:aws:lambda:eu-west-1:123456789012:function:f, but the inventory declares another key"), "{}", result.findings[0].finding.message);
}

#[test]
fn resolved_and_facts_match_the_documented_input_schema() {
    let text =
        fs::read_to_string(common::manifest_dir().join("schemas/cloudtrail-input.schema.json"))
            .unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    let part = |name: &str| {
        let wrapped =
            json!({"$ref": format!("#/definitions/{name}"), "definitions": schema["definitions"]});
        jsonschema::draft7::new(&wrapped).expect("schema compiles")
    };
    let (resolved_schema, facts_schema) = (part("resolved"), part("facts"));
    let inventory = json!({"functions": [{"id": "f", "logical_id": "Fn", "name": "f", "kms_key": {"state": "customer_managed", "value": OTHER}}],
        "event_source_mappings": [{"id": "m", "logical_id": "Fn.Events.Q", "function": "f", "kms_key": {"state": "absent"}}],
        "kms_keys": [], "kms_aliases": [], "log_groups": []});
    let mut catalog = atrest::trail::Catalog::new();
    catalog.add("inv.json", &inventory, &|_, _| None);
    let mut events = activity();
    let mut with_source = lambda_decrypt(99, KEY);
    with_source["requestParameters"]["encryptionContext"]["aws:lambda:EventSourceArn"] =
        json!("arn:aws:sqs:eu-west-1:123456789012:q");
    events.push(with_source);
    events.push(event(
        100,
        "UpdateAlias",
        "carol",
        KEY,
        json!({"requestParameters": {"aliasName": "alias/a", "targetKeyId": "k"}}),
    ));
    let mut facts = atrest::trail::Facts::default();
    for e in &events {
        facts.learn(&atrest::trail::event::Detail::parse(&e.to_string()));
    }
    let facts_json = serde_json::to_value(&facts).unwrap();
    assert!(facts_schema.is_valid(&facts_json), "{facts_json}");
    for e in &events {
        let text = e.to_string();
        let resolved = catalog.resolve(&atrest::trail::event::Detail::parse(&text), &facts);
        let errors: Vec<String> = resolved_schema
            .iter_errors(&resolved)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{resolved}: {errors:?}");
    }
}
