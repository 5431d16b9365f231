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
pub mod event;
pub mod facts;
pub mod memo;
pub mod rego_value;
pub mod spool;

pub use crate::finding::{EventRef, Evidence, KeyTimeline, Subject, TrailReport};
pub use correlate::{Catalog, Declared};
pub use facts::Facts;

use crate::engine::{Finding, Outcome, PolicySet, RouteCache};
use crate::model::{FileId, Loc};
use crate::read::cloudtrail::{self, RawEvent, TrailShape, offset_pos, strip_serde_position};
use crate::read::{Pos, ReadError, Span};
use event::{Detail, Head, KMS_SOURCE, LAMBDA_SERVICE, STS_SOURCE};
use rayon::prelude::*;
use spool::{Candidate, Spool};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

/// A log file to read.
#[derive(Debug, Clone)]
pub struct LogFile {
    pub path: PathBuf,
    pub shown: FileId,
    pub shape: TrailShape,
    pub gzip: bool,
}

/// A problem with one log file (or one record of it).
#[derive(Debug)]
pub struct LogError {
    pub file: FileId,
    pub error: ReadError,
}

pub struct Outcome1 {
    pub facts: Facts,
    pub spool: Spool,
    pub report: TrailReport,
    pub errors: Vec<LogError>,
    /// What was not read and why, where that is no defect (events in an unknown wrapper).
    pub notes: Vec<LogError>,
}

/// Bytes of candidate events kept in memory before the spool spills to disk.
pub const SPOOL_MEMORY: usize = 16 * 1024 * 1024;

/// Phase one: read every log, learn facts, keep candidates.
pub fn read_logs(files: &[LogFile], policies: &PolicySet, max_record_bytes: usize) -> Outcome1 {
    read_logs_for(files, Some(policies), max_record_bytes)
}

/// Phase one without keeping candidates (`atrest facts`): the facts, the events read, and the
/// problems found on the way.
pub fn learn_facts(files: &[LogFile], max_record_bytes: usize) -> (Facts, u64, Vec<LogError>) {
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
    let per_file: Vec<(u64, Vec<ReadError>, Vec<ReadError>)> = files
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
                local.push(Candidate {
                    identity: head.identity_hash(),
                    file: index as u32,
                    index: ev.index,
                    pos: ev.pos,
                    routed,
                    at: at as u64,
                    len: ev.text.len() as u32,
                });
                if arena.len() > 4 * 1024 * 1024 {
                    flush(&mut local, &mut arena);
                }
            };
            let out =
                cloudtrail::stream_file(&f.path, f.shape, f.gzip, max_record_bytes, &mut sink);
            flush(&mut local, &mut arena);
            merged.lock().expect("facts lock").merge(facts);
            errors.extend(out.errors);
            (out.events, errors, out.notes)
        })
        .collect();
    let facts = merged.into_inner().expect("facts lock");
    let mut report = TrailReport::default();
    let mut errors = Vec::new();
    let mut notes = Vec::new();
    for (f, (events, file_errors, file_notes)) in files.iter().zip(per_file) {
        notes.extend(file_notes.into_iter().map(|error| LogError {
            file: f.shown.clone(),
            error,
        }));
        report.events += events;
        report
            .files
            .push((f.shown.to_string(), f.shape.name(), events));
        errors.extend(file_errors.into_iter().map(|error| LogError {
            file: f.shown.clone(),
            error,
        }));
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

/// One rule's verdict on one event, before aggregation.
struct Hit {
    rule: usize,
    outcome: Outcome,
    subject: Subject,
    event: EventRef,
}

type AggKey = (usize, Subject);
/// An aggregate's outcome and its events.
type Aggregate = (Outcome, Vec<EventRef>);

/// Phase two: evaluate candidates with the merged facts and the inventory; aggregate.
pub fn evaluate(
    files: &[LogFile],
    mut one: Outcome1,
    catalog: &Catalog,
    policies: &PolicySet,
) -> (Vec<Finding>, TrailReport, Vec<LogError>) {
    let facts = &one.facts;
    let mut once = rego_value::Converter::default();
    let facts_value = once.from_json(&serde_json::to_value(facts).expect("facts serialize"));
    // The whole catalog, converted once (no copy of its JSON).
    let inventory_value = once.from_json(&catalog.json);
    // Rules that need an inventory cannot find anything without one: routed to no event.
    let without_inventory;
    let router = if catalog.given {
        &policies.router
    } else {
        without_inventory = crate::engine::Router::of(&policies.rules, |r| !r.needs_inventory);
        &without_inventory
    };
    let (order, duplicates) = one.spool.unique_in_storage_order();
    type Worker<'p> = (
        crate::engine::Evaluator<'p>,
        RouteCache,
        rego_value::Converter,
        memo::Memo,
    );
    let workers: Vec<Mutex<Worker>> = (0..rayon::current_num_threads().max(1))
        .map(|_| {
            Mutex::new((
                policies.evaluator(),
                RouteCache::default(),
                rego_value::Converter::default(),
                memo::Memo::default(),
            ))
        })
        .collect();
    one.report.duplicates = duplicates;
    let mut aggregates: BTreeMap<AggKey, Aggregate> = BTreeMap::new();
    let mut timelines: BTreeMap<String, KeyTimeline> = BTreeMap::new();
    let mut errors: Vec<LogError> = Vec::new();
    let mut evaluated = 0u64;
    let mut next = 0;
    loop {
        let batch = match one.spool.next_batch(&order, &mut next) {
            Ok(Some(b)) => b,
            Ok(None) => break,
            Err(e) => {
                errors.push(LogError {
                    file: "<spool>".into(),
                    error: ReadError::whole_file(format!("cannot read back candidate events: {e}")),
                });
                break;
            }
        };
        type Out = (
            Vec<Hit>,
            Option<(String, String, String, String)>,
            Option<LogError>,
            bool,
        );
        let scratch = one.spool.scratch();
        let results: Vec<Out> = batch
            .par_iter()
            .map(|(c, range)| {
                // The spool holds text read as UTF-8; checking is fast, the lossy copy is a
                // fallback that never runs on what phase one wrote.
                let bytes = &scratch[range.clone()];
                let lossy;
                let text: &str = match std::str::from_utf8(bytes) {
                    Ok(t) => t,
                    Err(_) => {
                        lossy = String::from_utf8_lossy(bytes);
                        &lossy
                    }
                };
                // One long-lived engine per worker thread, for the whole phase.
                let slot = rayon::current_thread_index().unwrap_or(0) % workers.len();
                let mut guard = workers[slot].lock().expect("worker lock");
                let (eval, cache, converter, memo) = &mut *guard;
                let head: Head = serde_json::from_str(text).unwrap_or_default();
                let detail = Detail::parse(text);
                let resolved = catalog.resolve(&detail, facts);
                let source = head.source.get().unwrap_or("");
                let name = head.name.get().unwrap_or("").to_owned();
                let time = head.time.get().unwrap_or("").to_owned();
                let key = resolved["key"]["arn"].as_str().map(str::to_owned);
                let timeline = (source == KMS_SOURCE)
                    .then_some(())
                    .and(key.clone())
                    .map(|k| {
                        let caller = caller_of(&detail);
                        (k, name.clone(), caller, time.clone())
                    });
                if !c.routed {
                    return (Vec::new(), timeline, None, false);
                }
                let rules = cache.get(router, source, &name);
                if rules.is_empty() {
                    return (Vec::new(), timeline, None, false);
                }
                let f = &files[c.file as usize];
                let n = c.index + 1;
                let failed = |message: String| LogError {
                    file: f.shown.clone(),
                    error: ReadError::at(c.pos, message),
                };
                let input = |event: regorus::Value, converter: &mut rego_value::Converter| {
                    let mut input = BTreeMap::new();
                    input.insert(regorus::Value::from("event"), event);
                    input.insert(
                        regorus::Value::from("resolved"),
                        converter.from_json(&resolved),
                    );
                    input.insert(regorus::Value::from("facts"), facts_value.clone());
                    input.insert(regorus::Value::from("inventory"), inventory_value.clone());
                    regorus::Value::from(input)
                };
                // Rules that declare the fields they read see only those, and their verdicts
                // are reused across events that agree on them; the others see the whole event.
                let plan = memo.plan(&rules, &policies.rules);
                let not_converted = |e: serde_json::Error| {
                    failed(format!(
                        "event {n} cannot be converted for the rules: {}",
                        crate::read::cloudtrail::strip_serde_position(&e)
                    ))
                };
                let not_evaluated =
                    |m: String| failed(format!("policy evaluation failed on event {n}: {m}"));
                let mut verdicts = Vec::new();
                if !plan.whole.is_empty() {
                    let event_value = match converter.convert(text) {
                        Ok(v) => v,
                        Err(e) => return (Vec::new(), timeline, Some(not_converted(e)), false),
                    };
                    match eval.evaluate_event(&plan.whole, input(event_value, converter)) {
                        Ok(v) => verdicts.extend(v),
                        Err(m) => return (Vec::new(), timeline, Some(not_evaluated(m)), true),
                    }
                }
                if !plan.declared.is_empty() {
                    let fields = match memo::fields(text, &plan) {
                        Ok(fields) => fields,
                        Err(e) => return (Vec::new(), timeline, Some(not_converted(e)), false),
                    };
                    let key = memo::key(&plan.declared, &fields);
                    if let Some(kept) = memo.get(&key) {
                        verdicts.extend(kept.iter().cloned());
                    } else {
                        let event = match plan.event(&fields, converter) {
                            Ok(v) => v,
                            Err(e) => return (Vec::new(), timeline, Some(not_converted(e)), false),
                        };
                        match eval.evaluate_event(&plan.declared, input(event, converter)) {
                            Ok(v) => {
                                memo.keep(key, v.clone());
                                verdicts.extend(v);
                            }
                            Err(m) => return (Vec::new(), timeline, Some(not_evaluated(m)), true),
                        }
                    }
                }
                let location = event_location(f, c.pos, c.index);
                let hits = verdicts
                    .into_iter()
                    .map(|(rule, v)| Hit {
                        rule,
                        outcome: if v.outcome.as_deref() == Some("unknown") {
                            Outcome::Unknown
                        } else {
                            Outcome::Fail
                        },
                        subject: Subject {
                            key: v.key.or_else(|| key.clone()),
                            principal: v.principal.or_else(|| text_at(&resolved, &["principal"])),
                            function: v
                                .function
                                .or_else(|| text_at(&resolved, &["function", "arn"])),
                            mapping: v
                                .mapping
                                .or_else(|| text_at(&resolved, &["event_source_arn"])),
                        },
                        event: EventRef {
                            id: head.id.get().unwrap_or("").to_owned(),
                            time: time.clone(),
                            name: name.clone(),
                            location: location.clone(),
                            message: v.message,
                            identity: c.identity,
                            index: c.index,
                        },
                    })
                    .collect();
                (hits, timeline, None, true)
            })
            .collect();
        for (hits, timeline, error, was_evaluated) in results {
            evaluated += u64::from(was_evaluated);
            errors.extend(error);
            if let Some((key, name, caller, time)) = timeline {
                let t = timelines.entry(key.clone()).or_insert_with(|| KeyTimeline {
                    key,
                    first_seen: time.clone(),
                    last_seen: time.clone(),
                    ..Default::default()
                });
                *t.calls.entry((name, caller)).or_insert(0) += 1;
                if !time.is_empty() && (t.first_seen.is_empty() || time < t.first_seen) {
                    t.first_seen = time.clone();
                }
                if time > t.last_seen {
                    t.last_seen = time;
                }
            }
            for h in hits {
                let k = (h.rule, h.subject);
                let entry = aggregates
                    .entry(k)
                    .or_insert_with(|| (h.outcome, Vec::new()));
                if h.outcome == Outcome::Fail {
                    entry.0 = Outcome::Fail;
                }
                entry.1.push(h.event);
            }
        }
    }
    one.report.evaluated = evaluated;
    one.report.timelines = timelines
        .into_values()
        .filter_map(|mut t| {
            t.why = if let Some(fns) = facts.lambda_keys.get(&t.key) {
                let names: Vec<&str> = fns.iter().map(|f| event::function_name(f)).collect();
                format!("Lambda used it for {}", names.join(", "))
            } else {
                format!(
                    "the inventory declares it for {}",
                    catalog.declares(&t.key, facts)?
                )
            };
            Some(t)
        })
        .collect();
    let findings = aggregates
        .into_iter()
        .map(|((rule, subject), (outcome, events))| {
            let declared = catalog.declarations(&subject, facts);
            finding(rule, outcome, subject, events, declared)
        })
        .collect();
    (findings, one.report, errors)
}

/// `lambda.amazonaws.com` for service calls, else the principal.
fn caller_of(d: &Detail) -> String {
    match (d.invoked_by(), d.principal()) {
        (Some(service), Some(p)) if p != service => format!("{service} (as {p})"),
        (Some(service), _) => service.to_owned(),
        (None, Some(p)) => p,
        (None, None) => "unknown caller".to_owned(),
    }
}

fn event_location(f: &LogFile, pos: Pos, index: u64) -> Loc {
    let pointer = match f.shape {
        TrailShape::Records => format!("/Records/{index}"),
        TrailShape::LookupEvents => format!("/Events/{index}/CloudTrailEvent"),
        TrailShape::Array => format!("/{index}"),
        TrailShape::JsonLines | TrailShape::Concatenated | TrailShape::CloudWatchLogs => {
            format!("#{}", index + 1)
        }
    };
    Loc {
        file: f.shown.clone(),
        pointer,
        span: Span {
            start: pos,
            end: Pos {
                line: pos.line,
                col: pos.col + 1,
            },
        },
    }
}

fn text_at(v: &serde_json::Value, path: &[&str]) -> Option<String> {
    path.iter()
        .try_fold(v, |v, k| v.get(k))
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
}

/// Joins CloudTrail findings of the same rule and subject (from shards of one scan) into one,
/// as a single scan over all their logs aggregates them: a duplicate delivery counts once (the
/// copy read first in path order), and the message and evidence are made again from the
/// joined events. Findings of other kinds pass through; the result is in no particular order.
pub fn join(findings: Vec<Finding>) -> Vec<Finding> {
    let mut joined: BTreeMap<(usize, Subject), Finding> = BTreeMap::new();
    let mut others = Vec::new();
    for f in findings {
        let Some(t) = &f.trail else {
            others.push(f);
            continue;
        };
        match joined.entry((f.rule, t.subject.clone())) {
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(f);
            }
            std::collections::btree_map::Entry::Occupied(mut o) => {
                let into = o.get_mut();
                if f.outcome == Outcome::Fail {
                    into.outcome = Outcome::Fail;
                }
                let ev = f.trail.expect("matched above");
                let to = into.trail.as_mut().expect("keyed by its subject");
                to.events.extend(ev.events);
                for d in ev.declared {
                    if !to.declared.contains(&d) {
                        to.declared.push(d);
                    }
                }
            }
        }
    }
    others.extend(joined.into_values().map(|f| {
        let t = *f.trail.expect("joined findings have evidence");
        finding(f.rule, f.outcome, t.subject, t.events, t.declared)
    }));
    others
}

/// One CloudTrail finding from the events of an aggregate: they are put in order, duplicate
/// deliveries (same identity) are dropped keeping the copy read first, and the message is made.
pub fn finding(
    rule: usize,
    outcome: Outcome,
    subject: Subject,
    mut events: Vec<EventRef>,
    declared: Vec<Declared>,
) -> Finding {
    // The first copy of each event in path order, then all in time order.
    events.sort_by(|a, b| {
        (a.identity.is_none(), a.identity, &a.location.file, a.index).cmp(&(
            b.identity.is_none(),
            b.identity,
            &b.location.file,
            b.index,
        ))
    });
    events.dedup_by(|later, first| later.identity.is_some() && later.identity == first.identity);
    events.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
    let Subject {
        key,
        principal,
        function,
        mapping,
    } = &subject;
    let first = events[0].clone();
    let last = events.last().expect("an aggregate has events").time.clone();
    let mut message = first.message.clone();
    if !declared.is_empty() {
        let parts: Vec<String> = declared
            .iter()
            .map(|d| {
                format!(
                    "{} declared at {}:{}",
                    d.what, d.loc.file, d.loc.span.start.line
                )
            })
            .collect();
        message = format!("{} ({})", message.trim_end_matches('.'), parts.join("; "));
        message.push('.');
    }
    if events.len() > 1 {
        message.push_str(&format!(
            " {} events from {} to {}.",
            events.len(),
            first.time,
            last
        ));
    }
    let (resource_type, resource_id) = match (mapping, function, key) {
        (Some(m), _, _) => ("AWS::Lambda::EventSourceMapping", m.clone()),
        (None, Some(f), _) => ("AWS::Lambda::Function", f.clone()),
        (None, None, Some(k)) => ("AWS::KMS::Key", k.clone()),
        _ => (
            "AWS::CloudTrail::Event",
            principal.clone().unwrap_or_default(),
        ),
    };
    let logical_id = function
        .as_deref()
        .map(event::function_name)
        .map(str::to_owned)
        .unwrap_or_else(|| resource_id.clone());
    Finding {
        rule,
        outcome,
        message,
        resource_id,
        logical_id,
        resource_type: resource_type.to_owned(),
        source: "cloudtrail",
        property: String::new(),
        subject: None,
        related: Vec::new(),
        location: Some(first.location.clone()),
        chain: Vec::new(),
        via: None,
        trail: Some(Box::new(Evidence {
            subject,
            first_seen: first.time.clone(),
            last_seen: last,
            events,
            declared,
        })),
    }
}
