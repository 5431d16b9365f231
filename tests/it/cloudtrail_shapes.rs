//! Every shape CloudTrail events reach users in gives the findings the same events give in a
//! `Records` file, each pointing at the event inside its wrapper (or at its CloudTrail Lake row);
//! a wrapper atrest does not know gives a note naming the file (fixtures/cloudtrail-shapes).

use crate::common;

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};

fn shapes() -> PathBuf {
    common::manifest_dir().join("fixtures/cloudtrail-shapes")
}

/// (rule, message) of every finding, and the event IDs each stands for.
fn findings(result: &atrest::scan::ScanResult) -> BTreeSet<(String, String, Vec<String>)> {
    let rules = &common::builtin().rules;
    result
        .findings
        .iter()
        .filter_map(|f| {
            let t = f.finding.trail.as_ref()?;
            Some((
                rules[f.finding.rule].id.clone(),
                f.finding.message.clone(),
                t.samples.iter().map(|e| e.id.clone()).collect(),
            ))
        })
        .collect()
}

/// The file's text, inflated where it is gzip.
fn text_of(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut s = String::new();
        flate2::read::MultiGzDecoder::new(&bytes[..])
            .read_to_string(&mut s)
            .unwrap();
        s
    } else {
        String::from_utf8(bytes).unwrap()
    }
}

/// The text from a 1-based line and column (in characters) to the end.
fn from(text: &str, line: u32, col: u32) -> String {
    let mut lines = text.split('\n').skip(line as usize - 1);
    let first: String = lines
        .next()
        .expect("the line exists")
        .chars()
        .skip(col as usize - 1)
        .collect();
    std::iter::once(first)
        .chain(lines.map(str::to_owned))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether `rest` starts an event (an object, or a string holding one) whose ID is `id`: it
/// opens with the event's first field (every event here starts with `eventVersion`), and the
/// ID comes before the next event's.
fn starts_event(rest: &str, id: &str) -> bool {
    let body = rest.strip_prefix('"').unwrap_or(rest);
    let end = body[1..]
        .find("eventVersion")
        .and_then(|first| {
            body[first + 13..]
                .find("eventVersion")
                .map(|n| n + first + 13)
        })
        .unwrap_or(body.len());
    // The event's own first field, not a wrapper's.
    let head: String = body
        .chars()
        .filter(|c| !c.is_whitespace())
        .take(20)
        .collect();
    (head.starts_with("{\"eventVersion\"") || head.starts_with("{\\\"eventVersion\\\""))
        && body[..end].contains(id)
}

fn rules_id(f: &atrest::scan::FileFinding) -> &str {
    &common::builtin().rules[f.finding.rule].id
}

/// Whether `rest` starts the CloudTrail Lake row (a list of one-column objects) of event `id`.
fn starts_row(rest: &str, id: &str) -> bool {
    let end = rest.find("\"eventid\"").map_or(rest.len(), |at| at + 60);
    rest.starts_with('[') && rest[..end.min(rest.len())].contains(id)
}

#[test]
fn every_shape_gives_the_findings_of_the_same_events_in_a_records_file() {
    let reference = common::scan_paths(&[shapes().join("records.json")]);
    let want = findings(&reference);
    assert_eq!(
        want.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(),
        ["ATR-C001", "ATR-C005"],
        "{want:#?}"
    );
    for name in [
        "lookup_events.json",
        "lookup_events.jsonl",
        "cloudwatch_logs.json",
        "cloudwatch_logs.json.gz",
        "eventbridge.jsonl",
        "eventbridge_array.json",
        "eventbridge_one.json",
        "lake_query_results.json",
    ] {
        let path = shapes().join(name);
        let result = common::scan_paths(std::slice::from_ref(&path));
        assert!(
            result.errors.is_empty() && result.notes.is_empty(),
            "{name}: {:?} {:?}",
            result.errors,
            result.notes
        );
        let got = findings(&result);
        if name == "eventbridge_one.json" {
            // One event only: the laptop decrypt, which fires on its own.
            let c001: BTreeSet<_> = want.iter().filter(|f| f.0 == "ATR-C001").cloned().collect();
            assert_eq!(got, c001, "{name}");
        } else {
            assert_eq!(got, want, "{name}");
        }
        // The pointer names the event inside its wrapper (ATR-C001's event is the second).
        let pointer = match name {
            "lookup_events.json" => "/Events/1/CloudTrailEvent",
            "lookup_events.jsonl" => "#2/CloudTrailEvent",
            // The control message is the first payload.
            "cloudwatch_logs.json" | "cloudwatch_logs.json.gz" => "#2/logEvents/1/message",
            "eventbridge.jsonl" => "#2/detail",
            "eventbridge_array.json" => "/1/detail",
            "eventbridge_one.json" => "#1/detail",
            "lake_query_results.json" => "/QueryResultRows/1",
            other => unreachable!("{other}"),
        };
        let c001 = result
            .findings
            .iter()
            .find(|f| rules_id(f) == "ATR-C001")
            .unwrap();
        assert_eq!(
            c001.finding.location.as_ref().unwrap().pointer,
            pointer,
            "{name}"
        );
        let trail = result.trail.as_ref().expect("read as a log");
        let expected_events = if name == "eventbridge_one.json" { 1 } else { 3 };
        assert_eq!(trail.events, expected_events, "{name}: events counted");
        // Each finding points at its event inside the wrapper: the object itself, or the
        // string that holds it.
        let text = text_of(&path);
        for f in &result.findings {
            let loc = f.finding.location.as_ref().unwrap();
            let there = from(&text, loc.span.start.line, loc.span.start.col);
            let id = &f.finding.trail.as_ref().unwrap().samples[0].id;
            assert!(
                if name.starts_with("lake") {
                    starts_row(&there, id)
                } else {
                    starts_event(&there, id)
                },
                "{name}: {}:{} does not start event {id}: {:?}",
                loc.span.start.line,
                loc.span.start.col,
                there.chars().take(120).collect::<String>()
            );
        }
    }
}

#[test]
fn events_in_an_unknown_wrapper_give_a_note_not_a_silent_miss() {
    let name = "unknown_wrapper.json";
    let path = shapes().join(name);
    let result = common::scan_paths(std::slice::from_ref(&path));
    assert!(result.findings.is_empty() && result.errors.is_empty());
    assert_eq!(result.notes.len(), 1, "{:?}", result.notes);
    let note = &result.notes[0];
    assert!(
        note.path.ends_with(name) && note.message.contains("inside field `_raw`"),
        "{note}"
    );
    // Where the first wrapped event is, and no wrapper counted as an event.
    assert_eq!((note.line, note.column), (Some(7), Some(13)), "{note}");
    assert_eq!(result.trail.as_ref().unwrap().events, 0);
}

/// Lake rows of a query that did not select the event's columns are no events, and a value
/// Lake's text cannot give is left out of its event: each says so in a note at its row, and
/// the rest is still read.
#[test]
fn lake_rows_that_are_no_events_and_values_that_cannot_be_read_give_notes() {
    let dir = tempfile::tempdir().unwrap();
    let counts = dir.path().join("counts.json");
    std::fs::write(
        &counts,
        r#"{"QueryStatus": "FINISHED", "QueryResultRows": [
  [{"eventsource": "kms.amazonaws.com"}, {"eventname": "Decrypt"}, {"calls": "12"}],
  [{"eventsource": "kms.amazonaws.com"}, {"eventname": "DisableKey"}, {"calls": "1"}]
]}"#,
    )
    .unwrap();
    let result = common::scan_paths(std::slice::from_ref(&counts));
    assert!(result.findings.is_empty() && result.errors.is_empty());
    assert_eq!(result.notes.len(), 1, "{:?}", result.notes);
    let note = &result.notes[0];
    assert_eq!((note.line, note.column), (Some(2), Some(3)), "{note}");
    assert!(
        note.message
            .contains("(the query selected eventSource, eventName, calls)"),
        "{note}"
    );
    assert_eq!(result.trail.as_ref().unwrap().events, 0);

    // The laptop decrypt's row with its userIdentity cut short: the event is read without
    // it (so no principal to blame: no finding), and the note points at the value.
    let text = text_of(&shapes().join("lake_query_results.json"));
    let row = text.find("\"eventid\": \"d3445566").unwrap();
    let at = text[..row].rfind("{type=AssumedRole").unwrap();
    let broken = format!(
        "{}{{type=AssumedRole, principalid=}}x{}",
        &text[..at],
        &text[at + 17..]
    );
    let path = dir.path().join("broken.json");
    std::fs::write(&path, &broken).unwrap();
    let result = common::scan_paths(std::slice::from_ref(&path));
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    assert_eq!(result.trail.as_ref().unwrap().events, 3);
    assert_eq!(result.notes.len(), 1, "{:?}", result.notes);
    let note = &result.notes[0];
    assert!(
        note.message
            .starts_with("CloudTrail Lake row 2: its `useridentity` value is not Lake's"),
        "{note}"
    );
    let line = broken[..at].matches('\n').count() as u32 + 1;
    assert_eq!(note.line, Some(line), "{note}");
}
