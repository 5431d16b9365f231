//! CloudTrail logs, streamed. A log is recognised by its content (gzip by its magic bytes, then
//! the JSON inside), never loaded whole: the decompressed text passes through a small buffer, a
//! byte scanner cuts it into one slice per event (no JSON tree is built), and each slice goes to
//! the caller with the line and column where it starts. Memory is one read chunk plus the
//! largest event.
//!
//! Shapes read:
//! - `{"Records": [...]}`, as CloudTrail delivers to S3 (plain or `.json.gz`);
//! - one event per line (CloudTrail Lake exports, `jq -c '.Records[]'`);
//! - events one after another, pretty-printed;
//! - a top-level array of events;
//! - `aws cloudtrail lookup-events` output, each event a JSON string in
//!   `Events[].CloudTrailEvent`, whole or one entry per line;
//! - CloudWatch Logs subscription payloads, each event a JSON string in `logEvents[].message`,
//!   one or many per file, back to back (as Firehose writes them);
//! - EventBridge events ("AWS API Call via CloudTrail"), the event in `detail`: one per file,
//!   per line, or in an array;
//! - CloudTrail Lake query results (`aws cloudtrail get-query-results`), each row a list of
//!   one-column objects, made into the event the record has in a trail's log (`lake.rs`).
//!
//! The splitter cuts a file into elements; [`stream_events`] turns elements into events. An
//! object is an event only when it has `eventSource`, `eventName` and `eventTime`; a known
//! wrapper (`CloudTrailEvent`, `message`, `detail`) is opened; any other element is not an
//! event and not counted, and one that holds an event in a field of a wrapper atrest does not
//! know gives a note naming the field.
//!
//! Recognised and skipped: CloudTrail digest files, and Panther rule-test files
//! (`{"RuleID", "Tests": [{"Log": ...}]}`), whose events are test fixtures with made-up,
//! colliding event IDs (`"1"`), not logs.
//!
//! The module's parts: [`sniff`] (what a file is), `scanner` (the byte scanner that cuts a file
//! into elements, with its measured hot loops in `scanner/loops.rs`), `events` (elements into
//! events: the wrappers), `lake` (a Lake row into an event).

use super::{Pos, ReadError};
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

mod events;
mod lake;
mod scanner;
mod sniff;
#[cfg(test)]
mod tests;

pub use events::stream_events;
pub use scanner::{Routing, stream};
pub use sniff::sniff;

use scanner::count_chars;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// How much of a file's (decompressed) start decides what it is.
const SNIFF_BYTES: usize = 64 * 1024;
const CHUNK: usize = 256 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrailShape {
    /// `{"Records": [...]}`.
    Records,
    /// One event per line.
    JsonLines,
    /// Events one after another, pretty-printed or not.
    Concatenated,
    /// A top-level JSON array of events.
    Array,
    /// `aws cloudtrail lookup-events` output.
    LookupEvents,
    /// CloudWatch Logs subscription payloads (`{"messageType": ..., "logEvents": [{"message":
    /// "<event>"}]}`), one or many back to back, as Firehose writes them.
    CloudWatchLogs,
    /// CloudTrail Lake query results (`aws cloudtrail get-query-results`): rows of
    /// one-column objects, nested fields in Lake's own `{name=value}` text (see `lake.rs`).
    LakeResults,
}

impl TrailShape {
    /// Every shape, for lookups by name and for tests and fuzzing that go through them all.
    pub const ALL: [TrailShape; 7] = [
        TrailShape::Records,
        TrailShape::JsonLines,
        TrailShape::Concatenated,
        TrailShape::Array,
        TrailShape::LookupEvents,
        TrailShape::CloudWatchLogs,
        TrailShape::LakeResults,
    ];

    pub fn from_name(name: &str) -> Option<TrailShape> {
        TrailShape::ALL.into_iter().find(|s| s.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            TrailShape::Records => "cloudtrail-log",
            TrailShape::JsonLines => "cloudtrail-jsonl",
            TrailShape::Concatenated => "cloudtrail-events",
            TrailShape::Array => "cloudtrail-array",
            TrailShape::LookupEvents => "cloudtrail-lookup-events",
            TrailShape::CloudWatchLogs => "cloudwatch-logs-subscription",
            TrailShape::LakeResults => "cloudtrail-lake-results",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniff {
    Trail {
        shape: TrailShape,
        gzip: bool,
    },
    /// A CloudTrail digest file: recognised, nothing to evaluate.
    Digest,
    /// A Panther rule-test file: CloudTrail-shaped test fixtures, deliberately not read.
    PantherTests,
    NotTrail,
}

/// Whether a file starts with the gzip magic bytes.
pub fn is_gzip(path: &Path) -> bool {
    let mut head = [0u8; 2];
    File::open(path)
        .and_then(|mut f| read_full(&mut f, &mut head))
        .is_ok_and(|n| n == 2 && head == GZIP_MAGIC)
}

/// Decides from a file's first bytes whether it is a CloudTrail log, and of which shape.
pub fn sniff_file(path: &Path) -> io::Result<Sniff> {
    // Opening a FIFO blocks: only regular files are sniffed.
    super::file::open_regular(path).map_err(io::Error::other)?;
    let mut file = File::open(path)?;
    let mut head = [0u8; 2];
    let n = read_full(&mut file, &mut head)?;
    let gzip = n == 2 && head == GZIP_MAGIC;
    let file = File::open(path)?;
    let mut prefix = Vec::with_capacity(SNIFF_BYTES);
    let reader: Box<dyn Read> = if gzip {
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(file)))
    } else {
        Box::new(file)
    };
    // A corrupt gzip stream is the reader's error to report, with context; here it only means
    // "look at what could be inflated".
    let _ = reader.take(SNIFF_BYTES as u64).read_to_end(&mut prefix);
    Ok(match sniff(&prefix) {
        Sniff::Trail { shape, .. } => Sniff::Trail { shape, gzip },
        Sniff::NotTrail if gzip && prefix.is_empty() => Sniff::NotTrail,
        other => other,
    })
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// One event as the reader hands it over: its JSON text and where it starts.
pub struct RawEvent<'a> {
    pub text: &'a str,
    pub pos: Pos,
    /// 0-based index of the event in its file.
    pub index: u64,
    /// The routing fields, when the scanner could read them; else the caller parses `text`.
    pub routing: Option<Routing<'a>>,
    /// Where the event is in its element, for a pointer to it.
    pub within: Within,
}

/// Where an event is: which array of the file holds its element, at which index, and the
/// wrapper field that holds the event in the element, if any.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Within {
    /// 0-based: which of the file's top-level values holds the array of elements (CloudWatch
    /// Logs payloads come several to a file).
    pub container: u32,
    /// 0-based index of the element in that array (saturating: a pointer past 4 billion
    /// elements names the last).
    pub item: u32,
    /// The wrapper field the event is in, if any.
    pub field: Option<Wrapper>,
}

/// A field that holds an event inside its element. One byte, because every candidate event
/// keeps its [`Within`] in the spool until phase two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wrapper {
    /// `lookup-events` entries.
    CloudTrailEvent,
    /// CloudWatch Logs events and log-shipper lines.
    Message,
    /// EventBridge events.
    Detail,
}

impl std::fmt::Display for Wrapper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Wrapper {
    pub fn name(self) -> &'static str {
        match self {
            Wrapper::CloudTrailEvent => "CloudTrailEvent",
            Wrapper::Message => "message",
            Wrapper::Detail => "detail",
        }
    }
}

impl Within {
    /// The event's pointer in a file of `shape`, its element being the file's `index`th.
    pub fn pointer(&self, shape: TrailShape, index: u64) -> String {
        let field = self
            .field
            .map_or(String::new(), |f| format!("/{}", f.name()));
        match shape {
            TrailShape::Records => format!("/Records/{index}"),
            TrailShape::LookupEvents => format!("/Events/{index}/CloudTrailEvent"),
            TrailShape::Array => format!("/{index}{field}"),
            TrailShape::LakeResults => format!("/QueryResultRows/{index}"),
            TrailShape::JsonLines | TrailShape::Concatenated => format!("#{}{field}", index + 1),
            // A plain JSON pointer in the first payload; later ones (Firehose writes them back
            // to back) are named by number, as concatenated values are.
            TrailShape::CloudWatchLogs if self.container == 0 => {
                format!("/logEvents/{}{field}", self.item)
            }
            TrailShape::CloudWatchLogs => {
                format!("#{}/logEvents/{}{field}", self.container + 1, self.item)
            }
        }
    }
}

/// What a stream produced besides events.
#[derive(Debug, Default)]
pub struct StreamOutcome {
    pub events: u64,
    /// Per-record problems and, last, a fatal one that ended the file early.
    pub errors: Vec<ReadError>,
    /// What was not read and why, where that is no defect of the file: events inside a
    /// wrapper atrest does not know.
    pub notes: Vec<ReadError>,
}

/// Streams every event of a CloudTrail file to `sink`, in file order.
pub fn stream_file(
    path: &Path,
    shape: TrailShape,
    gzip: bool,
    max_record_bytes: usize,
    sink: &mut dyn FnMut(RawEvent<'_>),
) -> StreamOutcome {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            return StreamOutcome {
                errors: vec![ReadError::whole_file(format!("cannot read: {e}"))],
                ..Default::default()
            };
        }
    };
    let reader: Box<dyn Read> = if gzip {
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(file)))
    } else {
        Box::new(file)
    };
    stream_events(reader, shape, max_record_bytes, sink)
}

/// The position in the file of a serde_json error inside an event that starts at `start`.
pub fn offset_pos(start: Pos, text: &str, e: &serde_json::Error) -> Pos {
    let (line, col) = (e.line() as u32, e.column() as u32);
    if line == 0 {
        return start;
    }
    // serde_json counts columns in bytes; convert to characters on that line.
    let line_text = text.split('\n').nth(line as usize - 1).unwrap_or("");
    let byte_col = (col as usize).min(line_text.len());
    let mut b = byte_col;
    while b > 0 && !line_text.is_char_boundary(b) {
        b -= 1;
    }
    let chars = line_text[..b].chars().count().max(1) as u32;
    if line == 1 {
        Pos {
            line: start.line,
            col: start.col + chars - 1,
        }
    } else {
        Pos {
            line: start.line + line - 1,
            col: chars,
        }
    }
}

/// serde_json's message without its trailing " at line L column C" (we give file positions).
pub fn strip_serde_position(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_owned(),
        None => s,
    }
}
