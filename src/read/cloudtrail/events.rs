//! The splitter's elements into events: an object is an event only with `eventSource`,
//! `eventName` and `eventTime`; the known wrappers are opened; an unknown wrapper that holds
//! events gives a note.

use super::count_chars;
use super::{
    Pos, RawEvent, ReadError, Routing, StreamOutcome, TrailShape, Within, Wrapper, stream,
    strip_serde_position,
};
use serde_json::value::RawValue;
use std::io::Read;

/// Streams the events of any reader (decompressed text): the elements of [`stream`], with
/// known wrappers opened and what is not an event left out (see the module's description).
pub fn stream_events(
    reader: impl Read,
    shape: TrailShape,
    max_record_bytes: usize,
    sink: &mut dyn FnMut(RawEvent<'_>),
) -> StreamOutcome {
    let mut events = Events {
        sink,
        lake: shape == TrailShape::LakeResults,
        elements: 0,
        events: 0,
        errors: Vec::new(),
        notes: Vec::new(),
    };
    let mut out = stream(reader, shape, max_record_bytes, &mut |el| {
        events.element(el)
    });
    // Elements the splitter refused (not JSON, not UTF-8) still count as events: they are
    // records that failed.
    out.events = out.events - events.elements + events.events;
    out.errors.splice(0..0, events.errors);
    out.notes = events.notes;
    out
}

/// The fields that tell an event, and the wrappers atrest opens, as they are written (no
/// copy): an object is an event only with `eventSource`, `eventName` and `eventTime`.
#[derive(serde::Deserialize)]
struct Probe<'a> {
    #[serde(rename = "eventSource", borrow, default)]
    source: Option<&'a RawValue>,
    #[serde(rename = "eventName", borrow, default)]
    name: Option<&'a RawValue>,
    #[serde(rename = "eventID", borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(rename = "eventTime", borrow, default)]
    time: Option<&'a RawValue>,
    /// `aws cloudtrail lookup-events`: the event as a JSON string.
    #[serde(rename = "CloudTrailEvent", borrow, default)]
    lookup: Option<&'a RawValue>,
    /// CloudWatch Logs subscription: the log line, a JSON string.
    #[serde(borrow, default)]
    message: Option<&'a RawValue>,
    /// EventBridge: the event as an object.
    #[serde(borrow, default)]
    detail: Option<&'a RawValue>,
}

/// A string value as written, without its quotes, where it has no escapes.
fn plain(raw: Option<&RawValue>) -> Option<&str> {
    let t = raw?.get();
    let inner = t.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains('\\')).then_some(inner)
}

fn is_string(raw: Option<&RawValue>) -> bool {
    raw.is_some_and(|r| r.get().starts_with('"'))
}

impl Probe<'_> {
    fn is_event(&self) -> bool {
        is_string(self.source) && is_string(self.name) && is_string(self.time)
    }

    /// The routing fields, where none is written with escapes.
    fn routing(&self) -> Option<Routing<'_>> {
        let fields = [self.source, self.name, self.id, self.time];
        if fields.iter().any(|f| is_string(*f) && plain(*f).is_none()) {
            return None;
        }
        Some(Routing {
            source: plain(self.source),
            name: plain(self.name),
            id: plain(self.id),
            time: plain(self.time),
        })
    }
}

/// The position `offset` bytes into `text`, which starts at `start`.
fn advance(start: Pos, text: &str, offset: usize) -> Pos {
    let prefix = &text.as_bytes()[..offset];
    match memchr::memrchr(b'\n', prefix) {
        Some(last) => Pos {
            line: start.line + memchr::memchr_iter(b'\n', prefix).count() as u32,
            col: 1 + count_chars(&prefix[last + 1..]),
        },
        None => Pos {
            line: start.line,
            col: start.col + count_chars(prefix),
        },
    }
}

/// Where `inner` (a slice of `outer`) starts in `outer`.
fn offset_in(outer: &str, inner: &str) -> usize {
    inner.as_ptr() as usize - outer.as_ptr() as usize
}

/// Turns the splitter's elements into events.
struct Events<'s> {
    sink: &'s mut dyn FnMut(RawEvent<'_>),
    /// Elements are CloudTrail Lake rows.
    lake: bool,
    elements: u64,
    events: u64,
    errors: Vec<ReadError>,
    notes: Vec<ReadError>,
}

impl Events<'_> {
    fn element(&mut self, el: RawEvent<'_>) {
        self.elements += 1;
        // The common case: the scanner read the three fields.
        if el
            .routing
            .is_some_and(|r| r.source.is_some() && r.name.is_some() && r.time.is_some())
        {
            self.events += 1;
            (self.sink)(el);
            return;
        }
        if self.lake {
            self.lake_row(&el);
            return;
        }
        let probe: Probe = match serde_json::from_str(el.text) {
            Ok(p) => p,
            Err(_) => {
                // Not JSON (or not an object): a broken record, which the caller reports.
                self.events += 1;
                (self.sink)(RawEvent {
                    routing: None,
                    ..el
                });
                return;
            }
        };
        if probe.is_event() {
            self.events += 1;
            (self.sink)(RawEvent {
                routing: probe.routing(),
                ..el
            });
            return;
        }
        if let Some(raw) = probe.lookup.filter(|r| r.get().starts_with('"')) {
            self.in_string(&el, raw, Wrapper::CloudTrailEvent, true);
        } else if let Some(raw) = probe.message.filter(|r| r.get().starts_with('"')) {
            self.in_string(&el, raw, Wrapper::Message, false);
        } else if let Some(raw) = probe.detail.filter(|r| r.get().starts_with('{')) {
            let inner = raw.get();
            if let Ok(p) = serde_json::from_str::<Probe>(inner)
                && p.is_event()
            {
                self.events += 1;
                (self.sink)(RawEvent {
                    text: inner,
                    pos: advance(el.pos, el.text, offset_in(el.text, inner)),
                    index: el.index,
                    routing: p.routing(),
                    within: Within {
                        field: Some(Wrapper::Detail),
                        ..el.within
                    },
                });
            }
        } else {
            self.unknown_wrapper(&el);
        }
    }

    /// A CloudTrail Lake row: the event it stands for, positioned at the row, with a note per
    /// value that could not be read; a row without the three fields is no event, and the
    /// first one gives a note naming the columns the query selected.
    fn lake_row(&mut self, el: &RawEvent<'_>) {
        let n = el.index + 1;
        let row = match super::lake::row(el.text) {
            Ok(row) => row,
            Err(why) => {
                self.events += 1;
                self.errors.push(ReadError::at(
                    el.pos,
                    format!("event {n}: a CloudTrail Lake row that {why}; skipped"),
                ));
                return;
            }
        };
        for (offset, why) in row.problems {
            self.notes.push(ReadError::at(
                advance(el.pos, el.text, offset),
                format!("CloudTrail Lake row {n}: {why}"),
            ));
        }
        let Some(text) = row.event else {
            if !self
                .notes
                .iter()
                .any(|n| n.message.starts_with("CloudTrail Lake rows"))
            {
                self.notes.push(ReadError::at(
                    el.pos,
                    format!(
                        "CloudTrail Lake rows without the eventSource, eventName and eventTime columns are not events, so these were not checked (the query selected {}); select those columns, or `*`",
                        row.columns.join(", ")
                    ),
                ));
            }
            return;
        };
        self.events += 1;
        let probe = serde_json::from_str::<Probe>(&text).ok();
        (self.sink)(RawEvent {
            text: &text,
            pos: el.pos,
            index: el.index,
            routing: probe.as_ref().and_then(Probe::routing),
            within: el.within,
        });
    }

    /// An event written as a JSON string in field `key` of the element. `strict`: the field
    /// always holds an event, so anything else is an error; otherwise (a log line) text that
    /// is not a JSON object is another kind of line and skipped.
    fn in_string(&mut self, el: &RawEvent<'_>, raw: &RawValue, key: Wrapper, strict: bool) {
        let pos = advance(el.pos, el.text, offset_in(el.text, raw.get()));
        let inner: String = match serde_json::from_str(raw.get()) {
            Ok(s) => s,
            Err(_) => return,
        };
        let n = el.index + 1;
        match serde_json::from_str::<Probe>(&inner) {
            Ok(p) if p.is_event() => {
                self.events += 1;
                let routing = p.routing();
                (self.sink)(RawEvent {
                    text: &inner,
                    pos,
                    index: el.index,
                    routing,
                    within: Within {
                        field: Some(key),
                        ..el.within
                    },
                });
            }
            Ok(_) if strict => {
                self.events += 1;
                self.errors.push(ReadError::at(
                    pos,
                    format!(
                        "event {n}: its {key} string is not a CloudTrail event (no eventSource, eventName and eventTime); skipped"
                    ),
                ));
            }
            Err(e) if strict || inner.trim_start().starts_with('{') => {
                self.events += 1;
                self.errors.push(ReadError::at(
                    pos,
                    format!(
                        "event {n}: its {key} string is not valid JSON ({}); skipped, the other events were read",
                        strip_serde_position(&e)
                    ),
                ));
            }
            _ => {}
        }
    }

    /// An element that is no event and no known wrapper: where one of its fields holds an
    /// event (as a string or an object), a note names the field, once per field and file.
    fn unknown_wrapper(&mut self, el: &RawEvent<'_>) {
        if memchr::memmem::find(el.text.as_bytes(), b"eventSource").is_none() {
            return;
        }
        let Ok(fields) =
            serde_json::from_str::<std::collections::BTreeMap<String, &RawValue>>(el.text)
        else {
            return;
        };
        for (key, value) in fields {
            let v = value.get();
            let holds = (v.starts_with('"') || v.starts_with('{'))
                && v.contains("eventSource")
                && v.contains("eventName");
            let already = self
                .notes
                .iter()
                .any(|n| n.message.contains(&format!("field `{key}`")));
            if holds && !already {
                let pos = advance(el.pos, el.text, offset_in(el.text, v));
                self.notes.push(ReadError::at(
                    pos,
                    format!(
                        "CloudTrail events inside field `{key}` of a wrapper atrest does not know were not read (atrest opens lookup-events' CloudTrailEvent, CloudWatch Logs' message and EventBridge's detail); extract them first, e.g. with jq's `.{key} | fromjson`"
                    ),
                ));
            }
        }
    }
}
