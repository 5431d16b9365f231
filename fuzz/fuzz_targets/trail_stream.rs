//! Any bytes as a CloudTrail log of any shape, through the streaming record splitter: it must
//! never panic, and what it reports must not depend on how the text arrives. The same bytes
//! read whole and read in small pieces (as a slow pipe or a gzip stream delivers them) give the
//! same events, positions, routing fields, errors and notes, both as the splitter's elements
//! and as events (wrappers opened: lookup-events strings, CloudWatch Logs messages,
//! EventBridge details, CloudTrail Lake rows), with the same pointers. Routing fields read without parsing the event must agree with what a
//! JSON parser reads from it.
#![no_main]

use atrest::read::cloudtrail::{RawEvent, StreamOutcome, TrailShape, stream, stream_events};
use libfuzzer_sys::fuzz_target;
use std::io::Read;

const SHAPES: [TrailShape; 7] = TrailShape::ALL;

type Streamer = fn(&mut dyn Read, TrailShape, usize, &mut dyn FnMut(RawEvent<'_>)) -> StreamOutcome;

/// A reader that hands out at most `step` bytes per read.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

type Seen = (String, u32, u32, u64, Option<[Option<String>; 4]>, String);

fn run(
    streamer: Streamer,
    reader: &mut dyn Read,
    shape: TrailShape,
    max: usize,
) -> (Vec<Seen>, u64, Vec<String>) {
    let mut seen = Vec::new();
    let out = streamer(reader, shape, max, &mut |ev| {
        let routing = ev.routing.map(|r| {
            [r.source, r.name, r.id, r.time].map(|f| f.map(str::to_owned))
        });
        if let Some(r) = &ev.routing
            && let Ok(serde_json::Value::Object(v)) =
                serde_json::from_str::<serde_json::Value>(ev.text)
        {
            for (field, got) in [
                ("eventSource", r.source),
                ("eventName", r.name),
                ("eventID", r.id),
                ("eventTime", r.time),
            ] {
                if let Some(got) = got
                    && let Some(serde_json::Value::String(want)) = v.get(field)
                {
                    assert_eq!(got, want, "routing field {field} of {:?}", ev.text);
                }
            }
        }
        let pointer = ev.within.pointer(shape, ev.index);
        seen.push((ev.text.to_owned(), ev.pos.line, ev.pos.col, ev.index, routing, pointer));
    });
    let errors = out
        .errors
        .iter()
        .chain(&out.notes)
        .map(|e| format!("{:?}:{:?}: {}", e.line, e.column, e.message))
        .collect();
    (seen, out.events, errors)
}

fuzz_target!(|data: &[u8]| {
    let Some((&[shape, step, max], text)) = data.split_first_chunk::<3>() else {
        return;
    };
    let shape = SHAPES[usize::from(shape) % SHAPES.len()];
    // Small record limits too, so the "event too large" path is reached.
    let max = if max < 128 { usize::from(max) * 16 + 1 } else { 1 << 20 };
    let elements: Streamer = |r, s, m, sink| stream(r, s, m, sink);
    let events: Streamer = |r, s, m, sink| stream_events(r, s, m, sink);
    for streamer in [elements, events] {
        let whole = run(streamer, &mut &text[..], shape, max);
        let trickled = run(
            streamer,
            &mut Trickle {
                data: text,
                step: usize::from(step).max(1),
            },
            shape,
            max,
        );
        assert_eq!(whole, trickled, "the result depends on read sizes");
    }
});
