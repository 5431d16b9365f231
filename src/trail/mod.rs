//! CloudTrail: stream the logs through the CloudTrail rules, correlated with the inventory.
//!
//! Two phases. Phase one reads every log once, in parallel per file: it splits records, parses
//! only the routing fields of each (eventSource, eventName, eventID, eventTime), learns
//! [`Facts`] from KMS events, and keeps the candidates (events some rule reads, and KMS events
//! for the per-key timeline) in a [`spool::Spool`] that spills to a temporary file past a memory
//! budget. Phase two drops duplicate deliveries, evaluates each candidate against the rules
//! routed to it with the merged facts, and aggregates findings per (rule, key, principal,
//! function, mapping). Every step is order-free, so the result does not depend on the order
//! of files, of events, or on the number of threads.

pub mod correlate;
pub mod evaluate;
pub mod event;
pub mod evidence;
pub mod facts;
pub mod memo;
pub mod rego_value;
pub mod spool;

pub use crate::finding::{Distinct, EventRef, Evidence, KeyTimeline, Subject, TrailReport};
pub use correlate::{Catalog, Declared};
pub use evaluate::{Keep, evaluate};
pub use evidence::join;
pub use facts::Facts;

use crate::engine::{PolicySet, RouteCache};
use crate::model::FileId;
pub use crate::problem::Problem;
use crate::read::ReadError;
use crate::read::cloudtrail::{self, RawEvent, TrailShape, offset_pos, strip_serde_position};
use crate::read::remote::{self, Remote};
use event::{Detail, Head, KMS_SOURCE, LAMBDA_SERVICE, STS_SOURCE};
use rayon::prelude::*;
use spool::{Candidate, Spool};
use std::path::PathBuf;
use std::sync::Mutex;

/// A log file to read.
#[derive(Debug, Clone)]
pub struct LogFile {
    pub path: PathBuf,
    pub shown: FileId,
    pub shape: TrailShape,
    pub gzip: bool,
    /// Read through this instead of from `path` (an S3 object); its shape is sniffed as it
    /// is read, and `shape` and `gzip` are not used.
    pub remote: Option<Remote>,
}

impl LogFile {
    /// The shape the log is read as: a remote log's as sniffed when phase one read it.
    pub fn shape(&self) -> TrailShape {
        self.remote
            .as_ref()
            .and_then(|r| r.sniffed.get().copied())
            .unwrap_or(self.shape)
    }

    /// Streams the log's events; the shape they were read as (`None`: not a log after all, a
    /// note says what it is).
    fn stream(
        &self,
        max_record_bytes: usize,
        sink: &mut dyn FnMut(RawEvent<'_>),
    ) -> (Option<TrailShape>, cloudtrail::StreamOutcome) {
        match &self.remote {
            Some(r) => remote::stream(r, max_record_bytes, sink),
            None => (
                Some(self.shape),
                cloudtrail::stream_file(&self.path, self.shape, self.gzip, max_record_bytes, sink),
            ),
        }
    }
}

pub struct Outcome1 {
    pub facts: Facts,
    pub spool: Spool,
    pub report: TrailReport,
    pub errors: Vec<Problem>,
    /// What was not read and why, where that is no defect (events in an unknown wrapper).
    pub notes: Vec<Problem>,
}

/// Bytes of candidate events kept in memory before the spool spills to disk.
pub const SPOOL_MEMORY: usize = 16 * 1024 * 1024;

/// Phase one: read every log, learn facts, keep candidates.
pub fn read_logs(files: &[LogFile], policies: &PolicySet, max_record_bytes: usize) -> Outcome1 {
    read_logs_for(files, Some(policies), max_record_bytes)
}

/// Phase one without keeping candidates (`atrest facts`): the facts, the events read, and the
/// problems found on the way.
pub fn learn_facts(files: &[LogFile], max_record_bytes: usize) -> (Facts, u64, Vec<Problem>) {
    let one = read_logs_for(files, None, max_record_bytes);
    (one.facts, one.report.events, one.errors)
}

/// Phase one; without policies only KMS events are looked at, for facts, and none is kept.
fn read_logs_for(
    files: &[LogFile],
    policies: Option<&PolicySet>,
    max_record_bytes: usize,
) -> Outcome1 {
    let spool = Mutex::new(Spool::new(SPOOL_MEMORY));
    // Each file's facts join these as the file ends (set union: the order does not matter),
    // so memory does not grow with the number of files.
    let merged = Mutex::new(Facts::default());
    type PerFile = (u64, Vec<ReadError>, Vec<ReadError>, Option<TrailShape>);
    let per_file: Vec<PerFile> = files
        .par_iter()
        .enumerate()
        .map_init(RouteCache::default, |cache, (index, f)| {
            let mut facts = Facts::default();
            let mut errors = Vec::new();
            let mut local: Vec<Candidate> = Vec::new();
            let mut arena: Vec<u8> = Vec::new();
            let flush = |local: &mut Vec<Candidate>, arena: &mut Vec<u8>| {
                if !local.is_empty() {
                    spool.lock().expect("spool lock").push_batch(local, arena);
                }
                local.clear();
                arena.clear();
            };
            let mut sink = |ev: RawEvent<'_>| {
                let not_json = |e: &serde_json::Error| {
                    ReadError::at(
                        offset_pos(ev.pos, ev.text, e),
                        format!(
                            "event {} is not valid JSON ({}); skipped, the other events were read",
                            ev.index + 1,
                            strip_serde_position(e)
                        ),
                    )
                };
                // The scanner usually found the routing fields; parse only when it could not.
                let parsed: Head;
                let (source, name) = match ev.routing {
                    Some(r) => (r.source, r.name),
                    None => {
                        parsed = match serde_json::from_str(ev.text) {
                            Ok(h) => h,
                            Err(e) => {
                                errors.push(not_json(&e));
                                return;
                            }
                        };
                        (parsed.source.get(), parsed.name.get())
                    }
                };
                let (Some(source), Some(name)) = (source, name) else {
                    return;
                };
                let routed =
                    policies.is_some_and(|p| !cache.get(&p.router, source, name).is_empty());
                let kms = source == KMS_SOURCE;
                if !routed && !kms {
                    // Lambda's `sts:AssumeRole` for an execution role: which access keys are
                    // a function's own (a byte search first: most AssumeRole calls are not
                    // Lambda's).
                    if source == STS_SOURCE
                        && name == "AssumeRole"
                        && memchr::memmem::find(ev.text.as_bytes(), LAMBDA_SERVICE.as_bytes())
                            .is_some()
                    {
                        facts.learn(&Detail::parse(ev.text));
                    }
                    return;
                }
                // A candidate is parsed in full: a corrupt one is reported here, not later.
                let head: Head = match serde_json::from_str(ev.text) {
                    Ok(h) => h,
                    Err(e) => {
                        errors.push(not_json(&e));
                        return;
                    }
                };
                if kms {
                    facts.learn(&Detail::parse(ev.text));
                }
                if policies.is_none() {
                    return;
                }
                let at = arena.len();
                arena.extend_from_slice(ev.text.as_bytes());
                let (id, has_id) = spool::pack(head.identity_hash());
                local.push(Candidate {
                    id,
                    has_id,
                    file: index as u32,
                    index: ev.index,
                    pos: ev.pos,
                    within: ev.within,
                    routed,
                    at: at as u64,
                    len: ev.text.len() as u32,
                });
                if arena.len() > 4 * 1024 * 1024 {
                    flush(&mut local, &mut arena);
                }
            };
            let (shape, out) = f.stream(max_record_bytes, &mut sink);
            flush(&mut local, &mut arena);
            merged.lock().expect("facts lock").merge(facts);
            errors.extend(out.errors);
            (out.events, errors, out.notes, shape)
        })
        .collect();
    let facts = merged.into_inner().expect("facts lock");
    let mut report = TrailReport::default();
    let mut errors = Vec::new();
    let mut notes = Vec::new();
    for (f, (events, file_errors, file_notes, shape)) in files.iter().zip(per_file) {
        notes.extend(
            file_notes
                .into_iter()
                .map(|error| Problem::read(&f.shown, error)),
        );
        report.events += events;
        // A remote object that turned out to be no log is noted, not listed as one read.
        if let Some(shape) = shape {
            report
                .files
                .push((f.shown.to_string(), shape.name(), events));
        }
        errors.extend(
            file_errors
                .into_iter()
                .map(|error| Problem::read(&f.shown, error)),
        );
    }
    let spool = spool.into_inner().expect("spool lock");
    report.candidates = spool.len() as u64;
    report.facts = facts.clone();
    Outcome1 {
        facts,
        spool,
        report,
        errors,
        notes,
    }
}
