//! Phase two: evaluate the candidates of phase one with the merged facts and the inventory,
//! and aggregate the verdicts into findings with bounded [`Evidence`], per rule and subject.

use super::event::{self, Detail, Head, KMS_SOURCE};
use super::evidence::finding;
use super::spool::Candidate;
use super::{
    Catalog, Facts, KeyTimeline, LogFile, Outcome1, Problem, TrailReport, memo, rego_value,
};
use crate::engine::{Evaluator, Finding, Outcome, PolicySet, RouteCache, Router};
use crate::finding::{EventRef, Evidence, Sighting, Subject};
use crate::model::Loc;
use crate::read::cloudtrail::Within;
use crate::read::{Pos, ReadError, Span};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;

/// What phase two keeps or writes besides each finding's bounded evidence.
#[derive(Default)]
pub struct Keep {
    /// Every event of every finding, one JSON line each (`--all-events`): the rule, the
    /// finding's fingerprint and the event's id, time, name and place, in the order of the
    /// files (as listed), of the events in each, then of the rules' ids. With the file's name
    /// as shown, for errors.
    pub all_events: Option<(String, Box<dyn Write + Send>)>,
    /// Each finding's event identities (a part of a sharded scan; see [`Evidence::identities`]).
    pub identities: bool,
}

/// One rule's verdict on one event, before aggregation.
struct Hit {
    rule: usize,
    outcome: Outcome,
    subject: Subject,
    event: EventRef,
}

/// What one candidate gave: verdicts, a timeline entry (key, name, caller, time), a problem,
/// whether it was evaluated, and who called from where with what (for the evidence).
#[derive(Default)]
struct Verdicts {
    hits: Vec<Hit>,
    /// The candidate's file (its index in the scan's list).
    file: u32,
    timeline: Option<(String, String, String, String)>,
    error: Option<Problem>,
    evaluated: bool,
    caller: String,
    address: String,
    agent: String,
}

/// What stays the same for every candidate.
struct Context<'a> {
    files: &'a [LogFile],
    facts: &'a Facts,
    catalog: &'a Catalog,
    policies: &'a PolicySet,
    router: &'a Router,
    facts_value: regorus::Value,
    inventory_value: regorus::Value,
}

/// One long-lived engine per worker thread, for the whole phase.
type Worker<'p> = (Evaluator<'p>, RouteCache, rego_value::Converter, memo::Memo);

/// Phase two: evaluate candidates with the merged facts and the inventory; aggregate.
pub fn evaluate(
    files: &[LogFile],
    mut one: Outcome1,
    catalog: &Catalog,
    policies: &PolicySet,
    keep: &mut Keep,
) -> (Vec<Finding>, TrailReport, Vec<Problem>) {
    // Rules that need an inventory cannot find anything without one: routed to no event.
    let without_inventory;
    let router = if catalog.given {
        &policies.router
    } else {
        without_inventory = Router::of(&policies.rules, |r| !r.needs_inventory);
        &without_inventory
    };
    let mut once = rego_value::Converter::default();
    let cx = Context {
        files,
        facts: &one.facts,
        catalog,
        policies,
        router,
        facts_value: once.from_json(&serde_json::to_value(&one.facts).expect("facts serialize")),
        // The whole catalog, converted once (no copy of its JSON).
        inventory_value: once.from_json(&catalog.json),
    };
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
    let (order, duplicates) = one.spool.unique_in_storage_order();
    let mut tally = Tally {
        lines: keep.all_events.is_some().then(EventLines::default),
        ..Tally::default()
    };
    let mut next = 0;
    loop {
        let batch = match one.spool.next_batch(&order, &mut next) {
            Ok(Some(b)) => b,
            Ok(None) => break,
            Err(e) => {
                tally.errors.push(Problem::read(
                    "<spool>",
                    ReadError::whole_file(format!("cannot read back candidate events: {e}")),
                ));
                break;
            }
        };
        let scratch = one.spool.scratch();
        let results: Vec<Verdicts> = batch
            .par_iter()
            .map(|(c, range)| {
                let slot = rayon::current_thread_index().unwrap_or(0) % workers.len();
                let mut worker = workers[slot].lock().expect("worker lock");
                judge(&cx, &mut worker, c, &scratch[range.clone()])
            })
            .collect();
        for v in results {
            tally.add(v, &cx, keep);
        }
    }
    if let (Some(lines), Some((_, out))) = (tally.lines.take(), &mut keep.all_events)
        && tally.write_error.is_none()
    {
        tally.write_error = lines.write_sorted(out, &policies.rules).err();
    }
    one.report.memo_hits = workers
        .iter()
        .map(|w| w.lock().expect("worker lock").3.hits)
        .sum();
    let Tally {
        aggregates,
        timelines,
        mut errors,
        evaluated,
        write_error,
        ..
    } = tally;
    if let (Some(e), Some((name, _))) = (write_error, &keep.all_events) {
        errors.push(Problem::read(
            name.as_str(),
            ReadError::whole_file(format!("--all-events: cannot write: {e}")),
        ));
    }
    one.report.duplicates = duplicates;
    one.report.evaluated = evaluated;
    one.report.timelines = explained(timelines, &one.facts, catalog);
    let findings = aggregates
        .into_iter()
        .map(|((rule, _), (outcome, mut evidence))| {
            evidence.declared = catalog.declarations(&evidence.subject, &one.facts);
            finding(rule, outcome, evidence)
        })
        .collect();
    (findings, one.report, errors)
}

/// The verdicts aggregated so far.
#[derive(Default)]
struct Tally {
    aggregates: BTreeMap<(usize, Subject), (Outcome, Evidence)>,
    timelines: BTreeMap<String, KeyTimeline>,
    errors: Vec<Problem>,
    evaluated: u64,
    /// The first failure to write `--all-events` (the scan goes on without it).
    write_error: Option<std::io::Error>,
    /// `--all-events` lines so far.
    lines: Option<EventLines>,
}

/// `--all-events` lines as phase two finds them, in the spool's order (which follows how the
/// files' reading interleaved, so differs from run to run): kept in a temporary file (in
/// memory up to 16 MiB) with a 32-byte index entry each, and written sorted at the end.
#[derive(Default)]
struct EventLines {
    text: Option<tempfile::SpooledTempFile>,
    /// (file, event index in the file, rule, offset in `text`, length) per line.
    index: Vec<(u32, u64, u32, u64, u32)>,
    end: u64,
}

impl EventLines {
    fn add(
        &mut self,
        file: u32,
        rule: usize,
        subject: &Subject,
        e: &EventRef,
        id: &str,
    ) -> std::io::Result<()> {
        let text = self
            .text
            .get_or_insert_with(|| tempfile::spooled_tempfile(16 * 1024 * 1024));
        let mut line = Vec::with_capacity(512);
        write_event(&mut line, id, subject, e)?;
        text.write_all(&line)?;
        self.index
            .push((file, e.index, rule as u32, self.end, line.len() as u32));
        self.end += line.len() as u64;
        Ok(())
    }

    /// Writes the lines by file, event and rule id.
    fn write_sorted(
        mut self,
        out: &mut dyn Write,
        rules: &[crate::engine::Rule],
    ) -> std::io::Result<()> {
        use std::io::{Read, Seek, SeekFrom};
        let Some(mut text) = self.text.take() else {
            return Ok(());
        };
        self.index.sort_unstable_by(|a, b| {
            (a.0, a.1, &rules[a.2 as usize].id).cmp(&(b.0, b.1, &rules[b.2 as usize].id))
        });
        let mut line = Vec::new();
        for (_, _, _, at, len) in self.index {
            line.resize(len as usize, 0);
            text.seek(SeekFrom::Start(at))?;
            text.read_exact(&mut line)?;
            out.write_all(&line)?;
        }
        Ok(())
    }
}

impl Tally {
    fn add(&mut self, v: Verdicts, cx: &Context, keep: &mut Keep) {
        self.evaluated += u64::from(v.evaluated);
        self.errors.extend(v.error);
        if let Some((key, name, caller, time)) = v.timeline {
            let t = self
                .timelines
                .entry(key.clone())
                .or_insert_with(|| KeyTimeline {
                    key,
                    first_seen: time.clone(),
                    last_seen: time.clone(),
                    ..Default::default()
                });
            *t.calls.entry((name, caller)).or_insert(0) += 1;
            t.seen(&time);
        }
        for h in v.hits {
            if let Some(lines) = &mut self.lines
                && self.write_error.is_none()
            {
                let rule = &cx.policies.rules[h.rule].id;
                if let Err(e) = lines.add(v.file, h.rule, &h.subject, &h.event, rule) {
                    self.write_error = Some(e);
                }
            }
            let entry = self
                .aggregates
                .entry((h.rule, h.subject))
                .or_insert_with_key(|(_, s)| {
                    (h.outcome, Evidence::new(s.clone(), keep.identities))
                });
            if h.outcome == Outcome::Fail {
                entry.0 = Outcome::Fail;
            }
            entry.1.add(Sighting {
                event: h.event,
                principal: &v.caller,
                address: &v.address,
                agent: &v.agent,
            });
        }
    }
}

/// One line of `--all-events`.
fn write_event(
    out: &mut dyn Write,
    rule: &str,
    subject: &Subject,
    e: &EventRef,
) -> std::io::Result<()> {
    let line = serde_json::json!({
        "rule": rule,
        "fingerprint": subject.fingerprint(rule),
        "event_id": e.id,
        "event_time": e.time,
        "event_name": e.name,
        "file": e.location.file.to_string(),
        "line": e.location.span.start.line,
        "column": e.location.span.start.col,
        "pointer": e.location.pointer,
        "identity": e.identity.map(|i| format!("{i:032x}")),
    });
    writeln!(out, "{}", crate::escape::to_json(&line, false))
}

/// Each key's timeline with why it counts as a Lambda CMK; keys that do not are left out.
fn explained(
    timelines: BTreeMap<String, KeyTimeline>,
    facts: &Facts,
    catalog: &Catalog,
) -> Vec<KeyTimeline> {
    timelines
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
        .collect()
}

/// Evaluates one candidate (its text `bytes`) against the rules routed to it.
fn judge(cx: &Context, worker: &mut Worker, c: &Candidate, bytes: &[u8]) -> Verdicts {
    // The spool holds text read as UTF-8; checking is fast, the lossy copy is a fallback that
    // never runs on what phase one wrote.
    let lossy;
    let text: &str = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(_) => {
            lossy = String::from_utf8_lossy(bytes);
            &lossy
        }
    };
    let (eval, cache, converter, memo) = worker;
    let head: Head = serde_json::from_str(text).unwrap_or_default();
    let detail = Detail::parse(text);
    let resolved = cx.catalog.resolve(&detail, cx.facts);
    let source = head.source.get().unwrap_or("");
    let name = head.name.get().unwrap_or("").to_owned();
    let time = head.time.get().unwrap_or("").to_owned();
    let key = resolved["key"]["arn"].as_str().map(str::to_owned);
    let caller = caller_of(&detail);
    let mut out = Verdicts {
        file: c.file,
        timeline: (source == KMS_SOURCE)
            .then(|| key.clone())
            .flatten()
            .map(|k| (k, name.clone(), caller.clone(), time.clone())),
        ..Verdicts::default()
    };
    if !c.routed {
        return out;
    }
    let rules = cache.get(cx.router, source, &name);
    if rules.is_empty() {
        return out;
    }
    let f = &cx.files[c.file as usize];
    let n = c.index + 1;
    let failed = |message: String| Problem::read(&f.shown, ReadError::at(c.pos, message));
    let input = |event: regorus::Value, converter: &mut rego_value::Converter| {
        let mut input = BTreeMap::new();
        input.insert(regorus::Value::from("event"), event);
        input.insert(
            regorus::Value::from("resolved"),
            converter.from_json(&resolved),
        );
        input.insert(regorus::Value::from("facts"), cx.facts_value.clone());
        input.insert(
            regorus::Value::from("inventory"),
            cx.inventory_value.clone(),
        );
        regorus::Value::from(input)
    };
    let not_converted = |e: serde_json::Error| {
        failed(format!(
            "event {n} cannot be converted for the rules: {}",
            crate::read::cloudtrail::strip_serde_position(&e)
        ))
    };
    let not_evaluated = |m: String| failed(format!("policy evaluation failed on event {n}: {m}"));
    // Rules that declare the fields they read see only those, and their verdicts are reused
    // across events that agree on them; the others see the whole event.
    let plan = memo.plan(&rules, &cx.policies.rules);
    let mut verdicts = Vec::new();
    if !plan.whole.is_empty() {
        let event_value = match converter.convert(text) {
            Ok(v) => v,
            Err(e) => return out.failed(not_converted(e), false),
        };
        match eval.evaluate_event(&plan.whole, input(event_value, converter)) {
            Ok(v) => verdicts.extend(v),
            Err(m) => return out.failed(not_evaluated(m), true),
        }
    }
    if !plan.declared.is_empty() {
        let fields = match memo::fields(text, &plan) {
            Ok(fields) => fields,
            Err(e) => return out.failed(not_converted(e), false),
        };
        let key = memo::key(&plan.declared, &fields, &resolved);
        if let Some(kept) = memo.get(&key) {
            verdicts.extend(kept.iter().cloned());
        } else {
            let event = match plan.event(&fields, converter) {
                Ok(v) => v,
                Err(e) => return out.failed(not_converted(e), false),
            };
            match eval.evaluate_event(&plan.declared, input(event, converter)) {
                Ok(v) => {
                    memo.keep(key, v.clone());
                    verdicts.extend(v);
                }
                Err(m) => return out.failed(not_evaluated(m), true),
            }
        }
    }
    let location = event_location(f, c.pos, c.index, c.within);
    out.hits = verdicts
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
                caller: caller.clone(),
                address: detail.source_ip.get().unwrap_or("").to_owned(),
                agent: detail.user_agent.get().unwrap_or("").to_owned(),
                identity: c.identity(),
                index: c.index,
            },
        })
        .collect();
    out.evaluated = true;
    out.caller = caller;
    out.address = detail.source_ip.get().unwrap_or("").to_owned();
    out.agent = detail.user_agent.get().unwrap_or("").to_owned();
    out
}

impl Verdicts {
    fn failed(mut self, error: Problem, evaluated: bool) -> Self {
        self.error = Some(error);
        self.evaluated = evaluated;
        self
    }
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

fn event_location(f: &LogFile, pos: Pos, index: u64, within: Within) -> Loc {
    let pointer = within.pointer(f.shape(), index);
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
