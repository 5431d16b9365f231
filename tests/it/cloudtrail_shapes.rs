//! Every shape CloudTrail events reach users in gives the findings the same events give in a
//! `Records` file, each pointing at the event inside its wrapper; a wrapper atrest does not know,
//! and CloudTrail Lake results, give a note naming the file (fixtures/cloudtrail-shapes).

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
                starts_event(&there, id),
                "{name}: {}:{} does not start event {id}: {:?}",
                loc.span.start.line,
                loc.span.start.col,
                there.chars().take(120).collect::<String>()
            );
        }
    }
}

#[test]
fn events_in_an_unknown_wrapper_and_lake_results_give_a_note_not_a_silent_miss() {
    for (name, says) in [
        ("unknown_wrapper.json", "inside field `_raw`"),
        (
            "lake_query_results.json",
            "CloudTrail Lake query results are not read",
        ),
    ] {
        let path = shapes().join(name);
        let result = common::scan_paths(std::slice::from_ref(&path));
        assert!(
            result.findings.is_empty() && result.errors.is_empty(),
            "{name}"
        );
        assert_eq!(result.notes.len(), 1, "{name}: {:?}", result.notes);
        let note = &result.notes[0];
        assert!(
            note.path.ends_with(name) && note.message.contains(says),
            "{note}"
        );
        if name == "unknown_wrapper.json" {
            // Where the first wrapped event is, and no wrapper counted as an event.
            assert_eq!((note.line, note.column), (Some(7), Some(13)), "{note}");
            assert_eq!(result.trail.as_ref().unwrap().events, 0);
        }
    }
}
