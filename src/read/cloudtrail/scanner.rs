//! The byte scanner: cuts decompressed text into elements (the events, or what holds them)
//! through a small buffer, with the line and column of each and, where it can, the routing
//! fields. Its hot loops, with their measurements, are in `loops.rs`.

use super::{
    CHUNK, Pos, RawEvent, ReadError, StreamOutcome, TrailShape, Within, offset_pos,
    strip_serde_position,
};
use crate::read::json_blocks::Classifier;
use std::io::{self, Read};

pub(super) mod loops;

/// Streams the elements of any reader (decompressed text): what the shape's container holds,
/// events or not.
pub fn stream(
    reader: impl Read,
    shape: TrailShape,
    max_record_bytes: usize,
    sink: &mut dyn FnMut(RawEvent<'_>),
) -> StreamOutcome {
    stream_through(reader, Splitter::new(shape, max_record_bytes), sink)
}

pub(super) fn stream_through(
    mut reader: impl Read,
    mut splitter: Splitter,
    sink: &mut dyn FnMut(RawEvent<'_>),
) -> StreamOutcome {
    let mut out = StreamOutcome::default();
    let mut chunk = vec![0u8; CHUNK];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let at = splitter.position_of_end();
                let what = if e.kind() == io::ErrorKind::InvalidInput
                    || e.kind() == io::ErrorKind::InvalidData
                {
                    format!(
                        "corrupt compressed data after this point ({e}); the events before it were read"
                    )
                } else {
                    format!("read failed after this point ({e}); the events before it were read")
                };
                out.events = splitter.events;
                out.errors.append(&mut splitter.errors);
                out.errors.push(ReadError::at(at, what));
                return out;
            }
        };
        if let Err(fatal) = splitter.feed(&chunk[..n], sink) {
            out.events = splitter.events;
            out.errors.append(&mut splitter.errors);
            out.errors.push(fatal);
            return out;
        }
    }
    let end = splitter.finish(sink);
    out.events = splitter.events;
    out.errors.append(&mut splitter.errors);
    out.errors.extend(end);
    out
}

/// Where an element lives: which container holds the events.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    /// Values at the top level.
    TopLevel,
    /// Elements of the top-level array.
    RootArray,
    /// Elements of the array under this top-level key.
    KeyArray(&'static [u8]),
    /// Lines.
    Lines,
}

/// The byte scanner. Offsets are into `buf`, which keeps only the unconsumed tail.
pub(super) struct Splitter {
    target: Target,
    max: usize,
    buf: Vec<u8>,
    /// Next byte to scan.
    scan: usize,
    depth: u32,
    /// The open brackets, innermost last, to catch `{ ... ]`.
    open: Vec<u8>,
    in_str: bool,
    esc: bool,
    /// The last depth-1 key was the target key (its array, when opened, holds the events).
    key_matches: bool,
    /// A depth-1 string is a key when it follows `{` or `,`.
    expect_key: bool,
    in_target: bool,
    /// Start of the event being scanned.
    elem: Option<usize>,
    /// `buf[mark]` is at `mark_pos`.
    mark: usize,
    mark_pos: Pos,
    events: u64,
    errors: Vec<ReadError>,
    /// The first bytes were checked for a byte-order mark.
    started: bool,
    /// The string being scanned: where it starts, what it is, whether it has escapes.
    str_start: usize,
    str_role: Role,
    str_escaped: bool,
    /// At the event's top level, the next string is a key.
    field_expect_key: bool,
    /// The key just read is this routing field; its value comes next.
    cur_field: Option<u8>,
    /// Routing field values of the event being scanned: (start, end) in `buf`.
    fields: [Option<(usize, usize)>; 4],
    /// The routing fields could be read without serde (no escapes).
    fields_ok: bool,
    /// First byte that is not JSON in the event being scanned.
    corrupt: Option<usize>,
    /// Masks for [`Splitter::skip_block`]; `None` where the processor has no vector classifier.
    pub(super) blocks: Option<Classifier>,
    /// A block with a backslash is scanned byte by byte, up to here.
    bytewise_until: usize,
    /// Elements are lists (CloudTrail Lake rows), not objects.
    pub(super) rows: bool,
    /// Arrays of elements opened so far, and the number of elements before the current one.
    pub(super) containers: u32,
    pub(super) container_start: u64,
}

/// What a string in the scanned text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Other,
    WrapperKey,
    FieldKey,
    FieldValue(u8),
}

/// The fields every event is routed and deduplicated by, in [`Routing`] order.
const ROUTING_FIELDS: [&str; 4] = ["eventSource", "eventName", "eventID", "eventTime"];

/// The routing fields of an event as the scanner found them (no escapes in them): enough to
/// route it without parsing it. Absent or non-string fields are `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Routing<'a> {
    pub source: Option<&'a str>,
    pub name: Option<&'a str>,
    pub id: Option<&'a str>,
    pub time: Option<&'a str>,
}

impl Splitter {
    pub(super) fn new(shape: TrailShape, max: usize) -> Self {
        let target = match shape {
            TrailShape::Records => Target::KeyArray(b"Records"),
            TrailShape::LookupEvents => Target::KeyArray(b"Events"),
            TrailShape::CloudWatchLogs => Target::KeyArray(b"logEvents"),
            TrailShape::LakeResults => Target::KeyArray(b"QueryResultRows"),
            TrailShape::Array => Target::RootArray,
            TrailShape::Concatenated => Target::TopLevel,
            TrailShape::JsonLines => Target::Lines,
        };
        Splitter {
            target,
            max,
            buf: Vec::with_capacity(CHUNK * 2),
            scan: 0,
            depth: 0,
            open: Vec::new(),
            in_str: false,
            esc: false,
            key_matches: false,
            expect_key: false,
            in_target: target == Target::TopLevel,
            elem: None,
            mark: 0,
            mark_pos: Pos { line: 1, col: 1 },
            events: 0,
            errors: Vec::new(),
            started: false,
            str_start: 0,
            str_role: Role::Other,
            str_escaped: false,
            field_expect_key: false,
            cur_field: None,
            fields: [None; 4],
            fields_ok: false,
            corrupt: None,
            blocks: Classifier::detect(),
            bytewise_until: 0,
            rows: shape == TrailShape::LakeResults,
            containers: 0,
            container_start: 0,
        }
    }

    fn target_depth(&self) -> u32 {
        match self.target {
            Target::TopLevel | Target::Lines => 0,
            Target::RootArray => 1,
            Target::KeyArray(_) => 2,
        }
    }

    /// Moves the position mark forward to `to`, counting lines and characters.
    fn advance_mark(&mut self, to: usize) {
        if to <= self.mark {
            return;
        }
        let seg = &self.buf[self.mark..to];
        match memchr::memrchr(b'\n', seg) {
            Some(last) => {
                let lines = memchr::memchr_iter(b'\n', seg).count() as u32;
                self.mark_pos.line += lines;
                self.mark_pos.col = 1 + count_chars(&seg[last + 1..]);
            }
            None => self.mark_pos.col += count_chars(seg),
        }
        self.mark = to;
    }

    fn pos_at(&mut self, at: usize) -> Pos {
        self.advance_mark(at);
        self.mark_pos
    }

    fn position_of_end(&mut self) -> Pos {
        let end = self.buf.len();
        self.pos_at(end)
    }

    fn feed(&mut self, data: &[u8], sink: &mut dyn FnMut(RawEvent<'_>)) -> Result<(), ReadError> {
        self.buf.extend_from_slice(data);
        if !self.start(false) {
            return Ok(());
        }
        if self.target == Target::Lines {
            self.lines(false, sink)?;
        } else {
            self.structure(sink)?;
        }
        self.compact()
    }

    /// Drops a UTF-8 byte order mark at the start. Until three bytes have arrived (or the file
    /// ends) a start that could be one waits: how the reads split it must not matter.
    fn start(&mut self, at_end: bool) -> bool {
        const BOM: &[u8] = b"\xEF\xBB\xBF";
        if self.started {
            return true;
        }
        if !at_end && self.buf.len() < BOM.len() && BOM.starts_with(&self.buf) {
            return false;
        }
        self.started = true;
        if self.buf.starts_with(BOM) {
            self.buf.drain(..BOM.len());
        }
        true
    }

    /// Drops what is consumed: everything before the event in progress (or the scan point).
    fn compact(&mut self) -> Result<(), ReadError> {
        let mut keep_from = self.elem.unwrap_or(self.scan).min(self.scan);
        if self.in_str {
            keep_from = keep_from.min(self.str_start);
        }
        if let Some(start) = self.elem
            && self.buf.len() - start > self.max
        {
            return Err(self.too_large(start));
        }
        if keep_from > 0 {
            self.advance_mark(keep_from);
            self.buf.drain(..keep_from);
            self.scan -= keep_from;
            self.mark -= keep_from;
            if let Some(e) = self.elem.as_mut() {
                *e -= keep_from;
            }
            self.str_start = self.str_start.saturating_sub(keep_from);
            for (a, b) in self.fields.iter_mut().flatten() {
                *a = a.saturating_sub(keep_from);
                *b = b.saturating_sub(keep_from);
            }
            if let Some(c) = self.corrupt.as_mut() {
                *c -= keep_from;
            }
            self.bytewise_until = self.bytewise_until.saturating_sub(keep_from);
        }
        Ok(())
    }

    /// An event over the size limit ends the file's reading. Checked both while an event is
    /// read (when the buffer is compacted) and when it ends, so the outcome does not depend on
    /// where the reads of the file happen to split it.
    fn too_large(&mut self, start: usize) -> ReadError {
        let pos = self.pos_at(start);
        ReadError::at(
            pos,
            format!(
                "event is larger than {} bytes: a closing bracket is missing, or this is not a CloudTrail log; reading stopped here",
                self.max
            ),
        )
    }

    fn lines(&mut self, at_end: bool, sink: &mut dyn FnMut(RawEvent<'_>)) -> Result<(), ReadError> {
        loop {
            let start = self.scan;
            let end = match memchr::memchr(b'\n', &self.buf[start..]) {
                Some(i) => start + i,
                None if at_end && start < self.buf.len() => self.buf.len(),
                None => {
                    self.elem = Some(start);
                    return Ok(());
                }
            };
            if end - start > self.max {
                return Err(self.too_large(start));
            }
            self.elem = None;
            let line = &self.buf[start..end];
            let lead = line.iter().position(|b| !b.is_ascii_whitespace());
            let text_end = start + line.trim_ascii_end().len();
            if let Some(lead) = lead {
                let pos = self.pos_at(start + lead);
                self.emit(start + lead, text_end, pos, sink);
            }
            self.scan = (end + 1).min(self.buf.len());
            if end >= self.buf.len() {
                return Ok(());
            }
        }
    }

    fn emit(&mut self, start: usize, end: usize, pos: Pos, sink: &mut dyn FnMut(RawEvent<'_>)) {
        let index = self.events;
        self.events += 1;
        // Taken before anything can end the event early: a mark left behind would point
        // before the buffer once it is compacted.
        let corrupt = self.corrupt.take().filter(|c| (start..end).contains(c));
        let bytes = &self.buf[start..end];
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let at = start + e.valid_up_to();
                let p = self.pos_at(at);
                self.errors.push(ReadError::at(
                    p,
                    format!("event {} is not valid UTF-8; skipped", index + 1),
                ));
                return;
            }
        };
        if let Some(bad) = corrupt {
            // serde_json words the problem; the scanner found where.
            let message = match serde_json::from_str::<serde::de::IgnoredAny>(text) {
                Err(e) => strip_serde_position(&e),
                Ok(_) => format!("unexpected '{}'", self.buf[bad] as char),
            };
            let p = self.pos_at(bad);
            self.errors.push(ReadError::at(
                p,
                format!(
                    "event {} is not valid JSON ({message}); skipped, the other events were read",
                    index + 1
                ),
            ));
            return;
        }
        let routing = (self.target != Target::Lines && self.fields_ok).then(|| {
            let field = |f: usize| self.fields[f].map(|(a, b)| &text[a - start..b - start]);
            Routing {
                source: field(0),
                name: field(1),
                id: field(2),
                time: field(3),
            }
        });
        let within = match self.target {
            Target::KeyArray(_) | Target::RootArray => Within {
                container: self.containers.saturating_sub(1),
                item: u32::try_from(index - self.container_start).unwrap_or(u32::MAX),
                field: None,
            },
            Target::TopLevel | Target::Lines => Within::default(),
        };
        sink(RawEvent {
            text,
            pos,
            index,
            routing,
            within,
        });
        self.fields = [None; 4];
    }

    /// A string ended at `end` (its closing quote): a wrapper key, an event field's key, or the
    /// value of a routing field.
    fn string_ended(&mut self, end: usize) {
        let start = self.str_start;
        match self.str_role {
            Role::Other => {}
            Role::WrapperKey => {
                if let Target::KeyArray(want) = self.target {
                    self.key_matches = &self.buf[start..end] == want;
                }
            }
            Role::FieldKey => {
                let key = &self.buf[start..end];
                self.cur_field = ROUTING_FIELDS
                    .iter()
                    .position(|f| f.as_bytes() == key)
                    .map(|f| f as u8);
                if self.str_escaped {
                    // A key written with escapes may be a routing field: let serde decide.
                    self.fields_ok = false;
                }
            }
            Role::FieldValue(f) => {
                if self.str_escaped {
                    self.fields_ok = false;
                } else {
                    self.fields[f as usize] = Some((start, end));
                }
            }
        }
    }

    /// An event whose brackets do not balance: serde_json finds where its JSON breaks.
    fn explain_broken(&mut self, start: usize, end: usize) -> ReadError {
        let pos = self.pos_at(start);
        let text = String::from_utf8_lossy(&self.buf[start..end]).into_owned();
        match serde_json::from_str::<serde::de::IgnoredAny>(&text) {
            Err(e) if !e.is_eof() => ReadError::at(
                offset_pos(pos, &text, &e),
                format!(
                    "invalid JSON in event {} (which starts at line {}, column {}): {}; the events after it cannot be told apart and were not read",
                    self.events + 1,
                    pos.line,
                    pos.col,
                    strip_serde_position(&e)
                ),
            ),
            _ => ReadError::at(
                pos,
                format!(
                    "event {} is not closed: the file ends inside it (truncated?)",
                    self.events + 1
                ),
            ),
        }
    }

    fn finish(&mut self, sink: &mut dyn FnMut(RawEvent<'_>)) -> Vec<ReadError> {
        if !self.started {
            // A file shorter than a byte order mark: scan what there is.
            self.start(true);
            if self.target != Target::Lines
                && let Err(e) = self.structure(sink)
            {
                return vec![e];
            }
        }
        if self.target == Target::Lines {
            return self.lines(true, sink).err().into_iter().collect();
        }
        if let Some(start) = self.elem {
            if self.buf.len() - start > self.max {
                return vec![self.too_large(start)];
            }
            let end = self.buf.len();
            return vec![self.explain_broken(start, end)];
        }
        if self.depth > 0 || self.in_str {
            let pos = self.position_of_end();
            return vec![ReadError::at(
                pos,
                "the file ends before its JSON is closed (truncated?); the events before this point were read",
            )];
        }
        Vec::new()
    }
}

/// Code points in a UTF-8 slice: every byte that does not continue a character (`10xxxxxx`).
/// One-line S3 logs make this run over every byte, so it is written for the compiler to
/// vectorise: a byte counter per chunk of 255, which cannot overflow (1.4x the 8-byte SWAR
/// it replaces, measured).
pub(super) fn count_chars(bytes: &[u8]) -> u32 {
    bytes
        .chunks(255)
        .map(|chunk| {
            chunk
                .iter()
                .fold(0u8, |n, &b| n.wrapping_add(u8::from((b as i8) >= -0x40))) as u32
        })
        .sum()
}
