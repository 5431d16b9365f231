//! Logs that are not local files (S3 objects): read once, as their bytes arrive, through the
//! same splitter as a file. What a remote object is (gzip or not, which shape) is decided from
//! its first bytes as they stream by, so an object costs one request, never a second one to
//! look at it first.

use super::ReadError;
use super::cloudtrail::{self, RawEvent, Sniff, StreamOutcome, TrailShape};
use std::io::{self, Read};
use std::sync::{Arc, OnceLock};

/// Where the bytes of remote logs come from. `open(i)` is called once per log, from the thread
/// that reads it; an implementation may fetch ahead of the calls (the order of `i` is mostly
/// ascending per thread).
pub trait Fetch: Send + Sync + std::fmt::Debug {
    /// The bytes of log `index` as stored (a `.gz` object still compressed).
    fn open(&self, index: usize) -> io::Result<Box<dyn Read + Send>>;
}

/// A log read through a [`Fetch`].
#[derive(Debug, Clone)]
pub struct Remote {
    pub fetch: Arc<dyn Fetch>,
    pub index: usize,
    /// The shape the log was read as, once it has been.
    pub sniffed: Arc<OnceLock<TrailShape>>,
}

impl Remote {
    pub fn new(fetch: Arc<dyn Fetch>, index: usize) -> Self {
        Remote {
            fetch,
            index,
            sniffed: Arc::default(),
        }
    }
}

/// How much of an object's (inflated) start decides what it is, as for files.
const SNIFF_BYTES: usize = 64 * 1024;

/// Streams the events of a remote log; its shape is sniffed from its start. `None` as the shape:
/// it is not a CloudTrail log, and the outcome's note says what it is.
pub fn stream(
    remote: &Remote,
    max_record_bytes: usize,
    sink: &mut dyn FnMut(RawEvent<'_>),
) -> (Option<TrailShape>, StreamOutcome) {
    let failed = |message: String| StreamOutcome {
        errors: vec![ReadError::whole_file(message)],
        ..StreamOutcome::default()
    };
    let mut raw = match remote.fetch.open(remote.index) {
        Ok(r) => r,
        Err(e) => return (None, failed(format!("cannot read: {e}"))),
    };
    let mut magic = [0u8; 2];
    let (n, failure) = read_up_to(&mut raw, &mut magic);
    if let (0, Some(e)) = (n, &failure) {
        return (None, failed(format!("cannot read: {e}")));
    }
    let gzip = magic[..n] == [0x1f, 0x8b];
    let raw = io::Cursor::new(magic[..n].to_vec()).chain(then(failure, raw));
    let mut text: Box<dyn Read + Send> = if gzip {
        Box::new(flate2::read::MultiGzDecoder::new(io::BufReader::new(raw)))
    } else {
        Box::new(raw)
    };
    let mut prefix = vec![0u8; SNIFF_BYTES];
    // A read error here (corrupt gzip, a dropped connection) is handed on to the splitter,
    // which reports it with its place.
    let (got, failure) = read_up_to(&mut text, &mut prefix);
    prefix.truncate(got);
    let shape = match cloudtrail::sniff(&prefix) {
        Sniff::Trail { shape, .. } => shape,
        _ if failure.is_some() && prefix.is_empty() => {
            let e = failure.map(|e| e.to_string()).unwrap_or_default();
            return (None, failed(format!("cannot read: {e}")));
        }
        other => {
            let what = match other {
                Sniff::Digest => "a CloudTrail digest file",
                Sniff::PantherTests => "Panther rule tests",
                _ if prefix.is_empty() => "empty",
                _ => "not a CloudTrail log (by its content)",
            };
            let outcome = StreamOutcome {
                notes: vec![ReadError::whole_file(format!("not read: {what}"))],
                ..StreamOutcome::default()
            };
            return (None, outcome);
        }
    };
    let _ = remote.sniffed.set(shape);
    let whole = io::Cursor::new(prefix).chain(then(failure, text));
    (
        Some(shape),
        cloudtrail::stream_events(whole, shape, max_record_bytes, sink),
    )
}

/// Reads until `buf` is full, the stream ends or fails: the bytes read, and the failure.
fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> (usize, Option<io::Error>) {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (n, Some(e)),
        }
    }
    (n, None)
}

/// `rest`, or where reading it already failed, a reader that gives that failure.
fn then<R: Read + Send + 'static>(failure: Option<io::Error>, rest: R) -> Box<dyn Read + Send> {
    match failure {
        Some(e) => Box::new(Failed(Some(e))),
        None => Box::new(rest),
    }
}

struct Failed(Option<io::Error>);

impl Read for Failed {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        match self.0.take() {
            Some(e) => Err(e),
            None => Ok(0),
        }
    }
}

/// A [`Fetch`] over bytes in memory, for tests and for readers that already hold the bytes.
#[derive(Debug, Default)]
pub struct InMemory(pub Vec<Vec<u8>>);

impl Fetch for InMemory {
    fn open(&self, index: usize) -> io::Result<Box<dyn Read + Send>> {
        let bytes = self
            .0
            .get(index)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such object"))?;
        Ok(Box::new(io::Cursor::new(bytes.clone())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn events_of(bytes: Vec<u8>) -> (Option<TrailShape>, Vec<String>, StreamOutcome) {
        let remote = Remote::new(Arc::new(InMemory(vec![bytes])), 0);
        let mut ids = Vec::new();
        let (shape, out) = stream(&remote, 1 << 20, &mut |ev| {
            ids.push(ev.routing.and_then(|r| r.id).unwrap_or_default().to_owned());
        });
        (shape, ids, out)
    }

    fn gzip(text: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(text).unwrap();
        enc.finish().unwrap()
    }

    fn records(n: usize) -> String {
        let events: Vec<String> = (0..n)
            .map(|i| {
                format!(
                    r#"{{"eventVersion":"1.08","eventSource":"kms.amazonaws.com","eventName":"Decrypt","eventTime":"2024-05-01T10:00:00Z","eventID":"id-{i}","requestParameters":{{"pad":"{}"}}}}"#,
                    "x".repeat(200)
                )
            })
            .collect();
        format!("{{\"Records\":[{}]}}", events.join(","))
    }

    #[test]
    fn gzip_and_plain_objects_stream_every_event_past_the_sniffed_start() {
        // Larger than the sniffed start, so the events after it come from the rest.
        let text = records(2_000);
        assert!(text.len() > SNIFF_BYTES * 4);
        for bytes in [text.clone().into_bytes(), gzip(text.as_bytes())] {
            let (shape, ids, out) = events_of(bytes);
            assert_eq!(shape, Some(TrailShape::Records));
            assert_eq!(ids.len(), 2_000);
            assert_eq!(ids[1_999], "id-1999");
            assert_eq!(out.events, 2_000);
            assert!(out.errors.is_empty(), "{:?}", out.errors);
        }
    }

    #[test]
    fn what_is_not_a_log_is_a_note_and_a_broken_object_an_error() {
        let (shape, ids, out) = events_of(b"{\"hello\": 1}".to_vec());
        assert_eq!((shape, ids.len()), (None, 0));
        assert!(out.notes[0].message.contains("not a CloudTrail log"));
        let (shape, _, out) = events_of(Vec::new());
        assert_eq!(shape, None);
        assert!(out.notes[0].message.contains("empty"));
        // A gzip stream cut short: the events before the cut are read, the cut is an error.
        let mut cut = gzip(records(2_000).as_bytes());
        cut.truncate(cut.len() / 2);
        let (shape, ids, out) = events_of(cut);
        assert_eq!(shape, Some(TrailShape::Records));
        assert!(!ids.is_empty() && ids.len() < 2_000);
        assert!(
            out.errors
                .iter()
                .any(|e| e.message.contains("after this point")),
            "{:?}",
            out.errors
        );
        let missing = Remote::new(Arc::new(InMemory(Vec::new())), 3);
        let (shape, out) = stream(&missing, 1 << 20, &mut |_| {});
        assert_eq!(shape, None);
        assert!(out.errors[0].message.starts_with("cannot read:"));
    }
}
