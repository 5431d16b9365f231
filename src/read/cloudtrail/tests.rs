use super::scanner::loops::find_quote_or_backslash;
use super::scanner::{Splitter, stream_through};
use super::*;
use crate::read::json_blocks::Classifier;

fn collect(text: &str, shape: TrailShape) -> (Vec<(String, u32, u32)>, Vec<ReadError>) {
    collect_chunked(text.as_bytes(), shape, 1 << 20)
}

/// A reader that returns at most 7 bytes at a time, so every chunk boundary case is
/// exercised.
struct Trickle<'a>(&'a [u8]);

impl Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.0.len().min(7).min(out.len());
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

/// Reads `bytes` through [`Trickle`].
fn collect_chunked(
    bytes: &[u8],
    shape: TrailShape,
    max: usize,
) -> (Vec<(String, u32, u32)>, Vec<ReadError>) {
    let mut got = Vec::new();
    let out = stream(Trickle(bytes), shape, max, &mut |ev| {
        got.push((ev.text.to_owned(), ev.pos.line, ev.pos.col))
    });
    assert_eq!(
        out.events as usize,
        got.len()
            + out
                .errors
                .iter()
                .filter(|e| e.message.contains("skipped"))
                .count()
    );
    (got, out.errors)
}

#[test]
fn sniffs_every_shape() {
    let s = |t: &str| sniff(t.as_bytes());
    let ev = r#"{"eventVersion":"1.08","eventTime":"2024-01-01T00:00:00Z","eventSource":"kms.amazonaws.com","eventName":"Decrypt"}"#;
    assert_eq!(
        s(&format!("{{\"Records\":[{ev}]}}")),
        Sniff::Trail {
            shape: TrailShape::Records,
            gzip: false
        }
    );
    assert_eq!(
        s("{\"Records\": []}"),
        Sniff::Trail {
            shape: TrailShape::Records,
            gzip: false
        }
    );
    assert!(matches!(
        s(&format!("{ev}\n{ev}\n")),
        Sniff::Trail {
            shape: TrailShape::JsonLines,
            ..
        }
    ));
    assert!(matches!(
        s("{\n  \"eventVersion\": \"1.0\",\n  \"eventTime\": \"x\",\n  \"eventName\": \"A\"\n}"),
        Sniff::Trail {
            shape: TrailShape::Concatenated,
            ..
        }
    ));
    assert!(matches!(
        s(&format!("[\n {ev}\n]")),
        Sniff::Trail {
            shape: TrailShape::Array,
            ..
        }
    ));
    assert!(matches!(
        s(r#"{"Events":[{"EventId":"1","CloudTrailEvent":"{}"}]}"#),
        Sniff::Trail {
            shape: TrailShape::LookupEvents,
            ..
        }
    ));
    assert_eq!(
        s(r#"{"awsAccountId":"1","digestStartTime":"a","digestEndTime":"b"}"#),
        Sniff::Digest
    );
    assert_eq!(
        s(r#"{"RuleID":"X","Tests":[{"Log":{"eventName":"A"}}]}"#),
        Sniff::PantherTests
    );
    // Lambda event payloads and templates are not logs.
    assert_eq!(
        s(
            r#"{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","eventTime":"x","eventName":"ObjectCreated:Put"}]}"#
        ),
        Sniff::NotTrail
    );
    assert_eq!(s("{\"Resources\": {}}"), Sniff::NotTrail);
    assert_eq!(s("Resources:\n"), Sniff::NotTrail);
    assert_eq!(s("[1, 2]"), Sniff::NotTrail);
}

#[test]
fn records_are_split_with_positions_across_chunks() {
    let text =
        "{\"Records\": [\n  {\"a\": \"x}\\\"{\", \"b\": [1, {\"c\": 2}]},\n  {\"é\": 1}\n]}\n";
    let (got, errors) = collect(text, TrailShape::Records);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        got,
        vec![
            (
                "{\"a\": \"x}\\\"{\", \"b\": [1, {\"c\": 2}]}".to_owned(),
                2,
                3
            ),
            ("{\"é\": 1}".to_owned(), 3, 3),
        ]
    );
}

#[test]
fn characters_are_counted_in_chunks() {
    for text in [
        "",
        "a",
        "é",
        "abcdefgh",
        "ééééé€€€x",
        "日本語のテキストabcdefé",
    ] {
        assert_eq!(
            count_chars(text.as_bytes()) as usize,
            text.chars().count(),
            "{text}"
        );
    }
    // Longer than the 255-byte chunks it counts in, ASCII and not.
    for text in [
        "a".repeat(1000),
        "é".repeat(700),
        format!("{}€x", "z".repeat(254)),
    ] {
        assert_eq!(count_chars(text.as_bytes()) as usize, text.chars().count());
    }
}

#[test]
fn columns_count_characters_on_one_line_files() {
    let text = "{\"Records\":[{\"k\":\"ééé\"},{\"k\":1}]}";
    let (got, _) = collect(text, TrailShape::Records);
    assert_eq!(got[1].1, 1);
    assert_eq!(got[1].2, 25);
}

#[test]
fn other_top_level_keys_are_ignored() {
    let text = r#"{"Other": [{"x": 1}], "Records": [{"a": 1}], "After": {"Records": [{"no": 1}]}}"#;
    let (got, _) = collect(text, TrailShape::Records);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, "{\"a\": 1}");
}

#[test]
fn json_lines_keep_going_after_a_bad_line() {
    let text = "{\"a\":1}\n\n  {\"b\": tru\n{\"c\":3}";
    let (got, errors) = collect(text, TrailShape::JsonLines);
    assert!(errors.is_empty());
    // The bad line is handed over as it is: parsing it is the caller's job.
    assert_eq!(
        got.iter().map(|g| (g.1, g.2)).collect::<Vec<_>>(),
        vec![(1, 1), (3, 3), (4, 1)]
    );
}

#[test]
fn arrays_concatenations_and_lookup_output() {
    let (got, _) = collect("[\n{\"a\":1},\n{\"b\":2}\n]", TrailShape::Array);
    assert_eq!(got.len(), 2);
    let (got, _) = collect("{\n\"a\": 1\n}\n{\n\"b\": 2\n}\n", TrailShape::Concatenated);
    assert_eq!(got.iter().map(|g| g.1).collect::<Vec<_>>(), vec![1, 4]);
}

/// (text, line, column, routing read) of each event, errors, notes, events counted.
type Streamed = (Vec<(String, u32, u32, bool)>, Vec<String>, Vec<String>, u64);

/// Events of every wrapper, through [`stream_events`], read whole and seven bytes at a
/// time: (text, line, column, routing read), errors, notes, events counted.
fn events_of(text: &str, shape: TrailShape) -> Streamed {
    let run = |reader: &mut dyn Read| {
        let mut got = Vec::new();
        let out = stream_events(reader, shape, 1 << 20, &mut |ev| {
            got.push((
                ev.text.to_owned(),
                ev.pos.line,
                ev.pos.col,
                ev.routing.is_some(),
            ))
        });
        let show = |e: &[ReadError]| -> Vec<String> {
            e.iter()
                .map(|e| format!("{:?}:{:?} {}", e.line, e.column, e.message))
                .collect()
        };
        (got, show(&out.errors), show(&out.notes), out.events)
    };
    let whole = run(&mut text.as_bytes());
    assert_eq!(whole, run(&mut Trickle(text.as_bytes())), "{text}");
    whole
}

/// The shape `sniff` gives, for a log.
fn shape_of(bytes: &[u8]) -> Option<TrailShape> {
    match sniff(bytes) {
        Sniff::Trail { shape, .. } => Some(shape),
        _ => None,
    }
}

const EV: &str = r#"{"eventSource":"kms.amazonaws.com","eventName":"Decrypt","eventTime":"2024-06-01T10:00:00Z","eventID":"e1"}"#;

#[test]
fn lookup_events_whole_and_one_per_line() {
    let quoted = serde_json::to_string(EV).unwrap();
    let whole = format!(
        "{{\"Events\": [\n {{\"EventId\": \"e1\", \"CloudTrailEvent\": {quoted}}}\n], \"NextToken\": \"x\"}}"
    );
    let (got, errors, notes, n) = events_of(&whole, TrailShape::LookupEvents);
    assert!(errors.is_empty() && notes.is_empty(), "{errors:?}");
    // The event's place is its string's opening quote.
    assert_eq!(got, vec![(EV.to_owned(), 2, 39, true)]);
    assert_eq!(n, 1);
    let lines = format!(
        "{{\"EventId\":\"e1\",\"EventName\":\"Decrypt\",\"CloudTrailEvent\":{quoted}}}\n{{\"EventId\":\"e2\",\"CloudTrailEvent\":\"{{}}\"}}\n{{\"EventId\":\"e3\",\"CloudTrailEvent\":\"{{oops\"}}\n"
    );
    assert_eq!(shape_of(lines.as_bytes()), Some(TrailShape::JsonLines));
    let (got, errors, _, n) = events_of(&lines, TrailShape::JsonLines);
    assert_eq!(got, vec![(EV.to_owned(), 1, 57, true)]);
    // Lookup entries always hold an event: anything else is an error, and counts.
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].starts_with(
            "Some(2):Some(35) event 2: its CloudTrailEvent string is not a CloudTrail event"
        ),
        "{errors:?}"
    );
    assert!(
        errors[1].contains("event 3: its CloudTrailEvent string is not valid JSON"),
        "{errors:?}"
    );
    assert_eq!(n, 3);
}

#[test]
fn cloudwatch_logs_payloads_back_to_back() {
    let quoted = serde_json::to_string(EV).unwrap();
    let payload = |n: u32| {
        format!(
            "{{\"messageType\":\"DATA_MESSAGE\",\"owner\":\"123456789012\",\"logGroup\":\"aws-cloudtrail-logs\",\"logStream\":\"123456789012_CloudTrail_eu-west-1\",\"subscriptionFilters\":[\"to-firehose\"],\"logEvents\":[{{\"id\":\"{n}\",\"timestamp\":1717236000000,\"message\":{quoted}}}]}}"
        )
    };
    let control = r#"{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1717236000000,"message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}]}"#;
    let text = format!("{control}{}{}", payload(1), payload(2));
    assert_eq!(shape_of(text.as_bytes()), Some(TrailShape::CloudWatchLogs));
    let (got, errors, notes, n) = events_of(&text, TrailShape::CloudWatchLogs);
    assert!(errors.is_empty() && notes.is_empty(), "{errors:?}");
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].0, EV);
    // The control message's line is not an event.
    assert_eq!(n, 2);
    let at = text.find(&quoted).unwrap();
    assert_eq!(got[0].2 as usize, at + 1);
}

/// Each event's pointer names it inside its wrapper: the payload (by number after the first),
/// its index in `logEvents`, the field.
#[test]
fn pointers_name_the_event_inside_its_wrapper() {
    let quoted = serde_json::to_string(EV).unwrap();
    let entry = format!("{{\"id\":\"1\",\"timestamp\":1717236000000,\"message\":{quoted}}}");
    let payload = format!(
        "{{\"messageType\":\"DATA_MESSAGE\",\"logEvents\":[{}]}}",
        [&entry[..]; 4].join(",")
    );
    let pointers = |text: &str, shape: TrailShape| {
        let mut got = Vec::new();
        stream_events(text.as_bytes(), shape, 1 << 20, &mut |ev| {
            got.push(ev.within.pointer(shape, ev.index))
        });
        got
    };
    let got = pointers(&payload, TrailShape::CloudWatchLogs);
    assert_eq!(got[3], "/logEvents/3/message");
    let got = pointers(&format!("{payload}{payload}"), TrailShape::CloudWatchLogs);
    assert_eq!(got[5], "#2/logEvents/1/message");
    let bridge = format!("{{\"detail-type\":\"AWS API Call via CloudTrail\",\"detail\":{EV}}}");
    let got = pointers(&format!("[{EV},{bridge},{bridge}]"), TrailShape::Array);
    assert_eq!(got, ["/0", "/1/detail", "/2/detail"]);
    let lookup = format!("{{\"CloudTrailEvent\":{quoted}}}");
    let got = pointers(&format!("{EV}\n{lookup}\n"), TrailShape::JsonLines);
    assert_eq!(got, ["#1", "#2/CloudTrailEvent"]);
}

#[test]
fn eventbridge_events_per_file_line_and_array() {
    let bridge = format!(
        r#"{{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"AWS API Call via CloudTrail","source":"aws.kms","account":"123456789012","time":"2024-06-01T10:00:00Z","region":"eu-west-1","resources":[],"detail":{EV}}}"#
    );
    let detail_col = bridge.find("\"detail\":").unwrap() as u32 + 10;
    for (shape, text, line, col) in [
        (TrailShape::Concatenated, bridge.clone(), 1, detail_col),
        (
            TrailShape::JsonLines,
            format!("{bridge}\n{bridge}\n"),
            2,
            detail_col,
        ),
        (
            TrailShape::Array,
            format!("[\n{bridge},\n{bridge}]"),
            3,
            detail_col,
        ),
    ] {
        let (got, errors, _, n) = events_of(&text, shape);
        assert!(errors.is_empty(), "{errors:?}");
        let last = got.last().unwrap();
        assert_eq!(
            (last.0.as_str(), last.1, last.2),
            (EV, line, col),
            "{shape:?}"
        );
        assert_eq!(n as usize, got.len());
    }
    assert_eq!(
        shape_of(format!("[{bridge}]").as_bytes()),
        Some(TrailShape::Array)
    );
}

#[test]
fn only_objects_with_the_three_fields_are_events_and_unknown_wrappers_are_named() {
    let quoted = serde_json::to_string(EV).unwrap();
    let text = format!(
        "[{{\"_time\":\"2024-06-01T10:00:00Z\",\"host\":\"h\",\"_raw\":{quoted}}},\n{{\"_time\":\"x\",\"_raw\":{quoted}}},\n{{\"eventSource\":\"kms.amazonaws.com\",\"eventName\":\"Decrypt\"}}]"
    );
    assert_eq!(shape_of(text.as_bytes()), Some(TrailShape::Array));
    let (got, errors, notes, n) = events_of(&text, TrailShape::Array);
    assert!(got.is_empty() && errors.is_empty(), "{got:?} {errors:?}");
    assert_eq!(n, 0);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].starts_with("Some(1):Some(52) CloudTrail events inside field `_raw`"),
        "{notes:?}"
    );
}

#[test]
fn an_unclosed_event_is_explained_where_json_breaks() {
    let text = "{\"Records\": [\n{\"a\": {\"b\": 1\n, \"c\": 2},\n{\"d\": 3}\n]}\n";
    let (got, errors) = collect(text, TrailShape::Records);
    assert!(got.is_empty());
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].line, Some(4), "{errors:?}");
    assert!(
        errors[0].message.contains("starts at line 2"),
        "{}",
        errors[0].message
    );
}

#[test]
fn truncation_and_oversize_are_errors_not_panics() {
    let (got, errors) = collect("{\"Records\": [{\"a\": 1}, {\"b\"", TrailShape::Records);
    assert_eq!(got.len(), 1);
    assert!(errors[0].message.contains("not closed"), "{errors:?}");
    let big = format!("{{\"Records\": [{{\"a\": \"{}\"}}]}}", "x".repeat(100));
    let (got, errors) = collect_chunked(big.as_bytes(), TrailShape::Records, 50);
    assert!(got.is_empty());
    assert!(
        errors[0].message.contains("larger than 50 bytes"),
        "{errors:?}"
    );
    let (_, errors) = collect("{\"Records\": [1]}", TrailShape::Records);
    assert!(errors[0].message.contains("not a JSON object"));
}

/// Found by the trail_stream fuzz target: a byte order mark split over reads was taken for
/// text. One byte per read now gives what one read gives, for every shape.
#[test]
fn one_byte_reads_give_what_one_read_gives() {
    struct OneByte<'a>(&'a [u8]);
    impl Read for OneByte<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(1).min(out.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    let event = r#"{"eventSource":"kms.amazonaws.com","eventName":"Decrypt","eventID":"e"}"#;
    let texts = [
        format!("\u{feff}{{\"Records\": [{event}]}}"),
        format!("\u{feff}{event}\n{event}\n"),
        format!("\u{feff}[{event}]"),
        "\u{feff}oops".to_owned(),
        "\u{feff}".to_owned(),
        "\u{ef}".to_owned(),
    ];
    let run = |reader: &mut dyn Read, shape| {
        let mut got = Vec::new();
        let out = stream(reader, shape, 1 << 20, &mut |ev| {
            got.push((ev.text.to_owned(), ev.pos.line, ev.pos.col))
        });
        let errors: Vec<String> = out
            .errors
            .iter()
            .map(|e| format!("{:?}:{:?} {}", e.line, e.column, e.message))
            .collect();
        (got, errors)
    };
    for text in &texts {
        for shape in [
            TrailShape::Records,
            TrailShape::JsonLines,
            TrailShape::Array,
            TrailShape::Concatenated,
        ] {
            let whole = run(&mut text.as_bytes(), shape);
            let bytewise = run(&mut OneByte(text.as_bytes()), shape);
            assert_eq!(whole, bytewise, "{shape:?} {text:?}");
        }
    }
    let (got, _) = run(&mut OneByte(texts[0].as_bytes()), TrailShape::Records);
    assert_eq!(got.len(), 1);
}

/// Found by the trail_stream fuzz target: an event over the limit that arrived in one read
/// was accepted, and refused when it arrived in several. Now it is refused either way.
#[test]
fn the_size_limit_does_not_depend_on_how_reads_split_the_file() {
    let big = "x".repeat(100);
    for (shape, text) in [
        (
            TrailShape::Records,
            format!("{{\"Records\": [{{\"a\": 1}}, {{\"a\": \"{big}\"}}, {{\"b\": 2}}]}}"),
        ),
        (
            TrailShape::JsonLines,
            format!("{{\"a\": 1}}\n{{\"a\": \"{big}\"}}\n{{\"b\": 2}}\n"),
        ),
        (
            TrailShape::Records,
            format!("{{\"Records\": [{{\"a\": 1}}, {{\"a\": \"{big}"),
        ),
        // Broken after the limit: the size is what is reported, wherever reads end.
        (
            TrailShape::Records,
            format!("{{\"Records\": [{{\"a\": 1}}, {{\"a\": \"{big}\", \"b\": ]}}]}}"),
        ),
    ] {
        let mut whole = Vec::new();
        let out = stream(text.as_bytes(), shape, 50, &mut |ev| {
            whole.push((ev.text.to_owned(), ev.pos.line, ev.pos.col))
        });
        let (trickled, errors) = collect_chunked(text.as_bytes(), shape, 50);
        assert_eq!(whole, trickled, "{text}");
        assert_eq!(whole.len(), 1, "{text}");
        let messages = |e: &[ReadError]| -> Vec<String> {
            e.iter()
                .map(|e| format!("{:?}:{:?} {}", e.line, e.column, e.message))
                .collect()
        };
        assert_eq!(messages(&out.errors), messages(&errors), "{text}");
        assert!(
            errors[0].message.contains("larger than 50 bytes"),
            "{errors:?}"
        );
    }
}

#[test]
fn routing_fields_are_read_by_the_scanner() {
    let text = r#"{"Records":[{"eventTime":"t1","requestParameters":{"eventName":"inner"},"eventSource":"kms.amazonaws.com","eventName":"Decrypt","eventID":"e1"},{"eventName":"A\u0042","eventSource":"x"},{"eventName":null,"eventSource":"s3.amazonaws.com"}]}"#;
    let mut got = Vec::new();
    stream(text.as_bytes(), TrailShape::Records, 1 << 20, &mut |ev| {
        got.push(ev.routing.map(|r| {
            (
                r.source.map(str::to_owned),
                r.name.map(str::to_owned),
                r.id.map(str::to_owned),
                r.time.map(str::to_owned),
            )
        }))
    });
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(
        got[0],
        Some((s("kms.amazonaws.com"), s("Decrypt"), s("e1"), s("t1")))
    );
    // Escapes: the caller parses the event instead.
    assert_eq!(got[1], None);
    assert_eq!(got[2], Some((s("s3.amazonaws.com"), None, None, None)));
    assert_eq!(find_quote_or_backslash(b"abcdefghij\\k\""), Some(10));
    assert_eq!(find_quote_or_backslash(b"abc"), None);
}

/// The block scanner is an optimisation of the byte loop: on any text, with the events'
/// nested parts long enough for whole blocks, both give the same events, positions and
/// errors. (The fuzz target compares them too: its trickled reads never hold a whole block.)
#[test]
fn blocks_give_what_the_byte_loop_gives() {
    let Some(classifier) = Classifier::detect() else {
        eprintln!("no vector classifier on this processor: nothing to compare");
        return;
    };
    let run = |text: &[u8], shape, max, blocks| {
        let mut splitter = Splitter::new(shape, max);
        splitter.blocks = blocks;
        let mut got = Vec::new();
        let out = stream_through(text, splitter, &mut |ev| {
            let routing = ev
                .routing
                .map(|r| [r.source, r.name, r.id, r.time].map(|f| f.map(str::to_owned)));
            got.push((ev.text.to_owned(), ev.pos, ev.index, routing))
        });
        let errors: Vec<String> = out
            .errors
            .iter()
            .map(|e| format!("{:?}:{:?} {}", e.line, e.column, e.message))
            .collect();
        (got, out.events, errors)
    };
    let event = |n: usize| {
        format!(
            r#"{{"eventVersion":"1.09","eventSource":"kms.amazonaws.com","readOnly":true,"n":-1.5E3,"userAgent":"aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/kms#1.40.0","eventName":"Decrypt", "eventID" : "e{n}","eventTime":"2024-06-01T00:00:0{n}Z","userIdentity":{{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/r/s","sessionContext":{{"attributes":{{"mfaAuthenticated":"false"}}}}}},"requestParameters":{{"encryptionContext":{{"aws:lambda:FunctionArn":"arn:aws:lambda:eu-west-1:1:function:f{n}"}},"list":[1,-2.5e3,true,false,null,{{"k":"ü \"q\" \\"}}],"s":"{{[\u00e9]}}"}},"resources":[{{"ARN":"arn:aws:kms:eu-west-1:1:key/k"}}]}}"#
        )
    };
    let records = format!(
        "{{\"Records\": [{}]}}",
        (0..6).map(event).collect::<Vec<_>>().join(",\n ")
    );
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut rand = move |n: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x as usize % n
    };
    let noise = b"\"\\{}[],: x\n\xff\xc3";
    let mut compared = 0;
    for round in 0..3000 {
        let mut text = records.clone().into_bytes();
        // Clean text first, then one to three changed bytes: stray, unbalanced, unclosed.
        for _ in 0..(if round == 0 { 0 } else { 1 + rand(3) }) {
            let at = rand(text.len());
            match rand(3) {
                0 => text[at] = noise[rand(noise.len())],
                1 => {
                    text.insert(at, noise[rand(noise.len())]);
                }
                _ => {
                    text.remove(at);
                }
            }
        }
        let max = if round % 7 == 0 {
            300 + rand(400)
        } else {
            1 << 20
        };
        let shape = if round % 5 == 0 {
            TrailShape::Concatenated
        } else {
            TrailShape::Records
        };
        let with = run(&text, shape, max, Some(classifier));
        let without = run(&text, shape, max, None);
        assert_eq!(with, without, "{}", String::from_utf8_lossy(&text));
        compared += with.0.len();
    }
    assert!(compared > 5000, "too few events compared: {compared}");
}

#[test]
fn gzip_is_detected_by_magic_bytes() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log"); // no extension on purpose
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(
        br#"{"Records":[{"eventVersion":"1.08","eventTime":"t","eventSource":"kms.amazonaws.com","eventName":"Decrypt"}]}"#,
    )
    .unwrap();
    std::fs::write(&path, enc.finish().unwrap()).unwrap();
    let sniffed = sniff_file(&path).unwrap();
    assert_eq!(
        sniffed,
        Sniff::Trail {
            shape: TrailShape::Records,
            gzip: true
        }
    );
    let mut n = 0;
    let out = stream_file(&path, TrailShape::Records, true, 1 << 20, &mut |_| n += 1);
    assert!(out.errors.is_empty());
    assert_eq!(n, 1);
}
