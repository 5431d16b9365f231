//! What a CloudTrail finding carries, and what the CloudTrail part of a scan reports besides
//! findings. The reading and the rules are in [`crate::trail`].
//!
//! A finding keeps what it knows of its events bounded, whatever their number: its count, the
//! first and last event time, the first [`MAX_SAMPLES`] events (by time, event id, file and
//! place) and the smallest distinct principals, source addresses and user agents. Every choice
//! is the smallest by a fixed order, never the first seen, so the evidence is the same whatever
//! the order the events were read in and however the logs are split into shards:
//! [`Evidence::absorb`] of two parts' evidence is the evidence of one scan over both. The full
//! list of events is written as it is found (`--all-events`).

use crate::model::Loc;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The most sample events a finding keeps (the first by [`EventRef::order_key`]).
pub const MAX_SAMPLES: usize = 10;
/// The most distinct values of a [`Distinct`] that reports list.
pub const MAX_SHOWN: usize = 10;
/// The most distinct values of a [`Distinct`] counted exactly; past it, "or more".
pub const MAX_COUNTED: usize = 100;

/// One event a finding stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRef {
    pub id: String,
    pub time: String,
    pub name: String,
    pub location: Loc,
    pub message: String,
    /// Who made the call (the service for a service call), its source address and user agent.
    pub caller: String,
    pub address: String,
    pub agent: String,
    /// Which event this is, for dropping duplicate deliveries (see [`crate::trail::event::Head::identity_hash`]);
    /// `None` for an event without an `eventID`, which is never taken for a duplicate.
    pub identity: Option<u128>,
    /// The event's place in its file (0-based), to order and pick among duplicate deliveries.
    pub index: u64,
}

impl EventRef {
    /// Events sort by time, then id, then where they were read (file path, place in file).
    pub fn order_key(&self) -> (&str, &str, &str, u64) {
        (&self.time, &self.id, &self.location.file, self.index)
    }

    /// Among copies of one event, the one a scan keeps sorts first (see
    /// [`crate::trail::spool::Spool::unique_in_storage_order`]): the first by file, then place.
    fn copy_key(&self) -> (bool, Option<u128>, &str, u64) {
        (
            self.identity.is_none(),
            self.identity,
            &self.location.file,
            self.index,
        )
    }
}

/// What a CloudTrail finding is about; findings aggregate per rule and subject. Baselines
/// store it as it is (absent parts left out).
#[derive(
    Debug,
    Clone,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Subject {
    /// Key ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// Function ARN or name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// The mapping's event source ARN (or another id of the mapping).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapping: Option<String>,
}

impl Subject {
    /// The parts that identify a finding of `rule` about this subject, whichever log file its
    /// first event is in (fingerprints and baselines match on them).
    pub fn identity_parts<'a>(&'a self, rule: &'a str) -> [&'a str; 6] {
        let part = |p: &'a Option<String>| p.as_deref().unwrap_or("");
        [
            part(&self.key),
            part(&self.principal),
            part(&self.function),
            part(&self.mapping),
            rule,
            "cloudtrail",
        ]
    }

    /// The fingerprint reports give a finding of `rule` about this subject.
    pub fn fingerprint(&self, rule: &str) -> String {
        super::Identity::Trail {
            rule,
            subject: self,
        }
        .fingerprint()
    }
}

/// The distinct values of one field across a finding's events: the smallest [`MAX_COUNTED`]
/// (byte order), and whether there were more.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Distinct {
    pub values: BTreeSet<String>,
    /// More than [`MAX_COUNTED`] distinct values were seen; only the smallest are kept.
    pub overflow: bool,
}

impl Distinct {
    pub fn add(&mut self, value: &str) {
        if self.values.contains(value) {
            return;
        }
        if self.values.len() < MAX_COUNTED {
            self.values.insert(value.to_owned());
            return;
        }
        self.overflow = true;
        if self.values.last().is_some_and(|l| value < l.as_str()) {
            self.values.pop_last();
            self.values.insert(value.to_owned());
        }
    }

    pub fn absorb(&mut self, other: Distinct) {
        self.overflow |= other.overflow;
        for v in other.values {
            self.add(&v);
        }
    }

    /// The values reports list.
    pub fn shown(&self) -> impl Iterator<Item = &str> {
        self.values.iter().take(MAX_SHOWN).map(String::as_str)
    }

    /// How many distinct values are not listed, and whether that is a lower bound.
    pub fn more(&self) -> (usize, bool) {
        (self.values.len().saturating_sub(MAX_SHOWN), self.overflow)
    }

    /// The listed values, then "and N more" (or "and N or more others" past [`MAX_COUNTED`]).
    pub fn describe(&self, show: impl Fn(&str) -> String) -> String {
        let mut s: Vec<String> = self.shown().map(show).collect();
        match self.more() {
            (0, false) => {}
            (n, false) => s.push(format!("and {n} more")),
            (n, true) => s.push(format!("and {n} or more others")),
        }
        s.join(", ")
    }
}

/// What a CloudTrail finding carries besides the usual fields.
#[derive(Debug, Clone)]
pub struct Evidence {
    pub subject: Subject,
    /// Events the finding stands for (a duplicate delivery counts once).
    pub count: u64,
    /// The earliest and the latest event time.
    pub first_seen: String,
    pub last_seen: String,
    /// The first events by [`EventRef::order_key`], at most [`MAX_SAMPLES`].
    pub samples: Vec<EventRef>,
    /// Callers (see `caller_of`), source IP addresses and user agents of the events.
    pub principals: Distinct,
    pub addresses: Distinct,
    pub agents: Distinct,
    /// IaC declarations of the function, mapping or key: "back to the source".
    pub declared: Vec<Declared>,
    /// Only in a part of a sharded scan (`--format jsonl`): the identities of every event,
    /// sorted, so that `atrest merge` counts an event delivered into two shards once (16 bytes
    /// an event). Events without an identity are in `count` only.
    pub identities: Option<Vec<u128>>,
}

/// The fields of one event that go into a finding's evidence.
pub struct Sighting<'a> {
    pub event: EventRef,
    pub principal: &'a str,
    pub address: &'a str,
    pub agent: &'a str,
}

impl Evidence {
    pub fn new(subject: Subject, keep_identities: bool) -> Self {
        Evidence {
            subject,
            count: 0,
            first_seen: String::new(),
            last_seen: String::new(),
            samples: Vec::new(),
            principals: Distinct::default(),
            addresses: Distinct::default(),
            agents: Distinct::default(),
            declared: Vec::new(),
            identities: keep_identities.then(Vec::new),
        }
    }

    /// Adds one event (never a duplicate of one already added: the scan drops those first).
    pub fn add(&mut self, s: Sighting<'_>) {
        self.count += 1;
        self.principals.add(s.principal);
        self.addresses.add(s.address);
        self.agents.add(s.agent);
        if let (Some(ids), Some(id)) = (&mut self.identities, s.event.identity) {
            ids.push(id);
        }
        let time = &s.event.time;
        if self.count == 1 || *time > self.last_seen {
            self.last_seen.clone_from(time);
        }
        let full = self.samples.len() >= MAX_SAMPLES;
        if full
            && self
                .samples
                .last()
                .is_some_and(|l| s.event.order_key() >= l.order_key())
        {
            return;
        }
        let at = self
            .samples
            .partition_point(|e| e.order_key() < s.event.order_key());
        self.samples.insert(at, s.event);
        self.samples.truncate(MAX_SAMPLES);
        self.first_seen.clone_from(&self.samples[0].time);
    }

    /// Joins another part's evidence of the same subject, as one scan over both parts' logs
    /// would have made it: duplicate deliveries (same identity) count once, keeping the copy
    /// read first in path order. Without identities (not a part) counts are added up.
    pub fn absorb(&mut self, other: Evidence) {
        // Saturating: a part read from a file may claim fewer events than identities.
        let anonymous = |e: &Evidence| {
            e.count
                .saturating_sub(e.identities.as_ref().map_or(0, |i| i.len() as u64))
        };
        let without = anonymous(self) + anonymous(&other);
        match (&mut self.identities, other.identities) {
            (Some(mine), Some(theirs)) => {
                mine.extend(theirs);
                mine.sort_unstable();
                mine.dedup();
                self.count = mine.len() as u64 + without;
            }
            _ => {
                self.identities = None;
                self.count += other.count;
            }
        }
        if other.last_seen > self.last_seen {
            self.last_seen = other.last_seen;
        }
        self.principals.absorb(other.principals);
        self.addresses.absorb(other.addresses);
        self.agents.absorb(other.agents);
        self.samples.extend(other.samples);
        self.samples.sort_by(|a, b| a.copy_key().cmp(&b.copy_key()));
        self.samples
            .dedup_by(|later, first| later.identity.is_some() && later.identity == first.identity);
        self.samples
            .sort_by(|a, b| a.order_key().cmp(&b.order_key()));
        self.samples.truncate(MAX_SAMPLES);
        if let Some(first) = self.samples.first() {
            self.first_seen.clone_from(&first.time);
        }
        for d in other.declared {
            if !self.declared.contains(&d) {
                self.declared.push(d);
            }
        }
    }

    /// Identities as a part stores them: sorted and without repeats.
    pub fn seal(&mut self) {
        if let Some(ids) = &mut self.identities {
            ids.sort_unstable();
            ids.dedup();
        }
    }
}

/// Who used a Lambda CMK, and how.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyTimeline {
    pub key: String,
    /// Why it counts as a Lambda CMK.
    pub why: String,
    /// (eventName, caller) -> calls.
    pub calls: BTreeMap<(String, String), u64>,
    pub first_seen: String,
    pub last_seen: String,
}

impl KeyTimeline {
    /// Widens the sightings to include one at `time` (an empty time is no sighting).
    pub fn seen(&mut self, time: &str) {
        if !time.is_empty() && (self.first_seen.is_empty() || time < self.first_seen.as_str()) {
            self.first_seen = time.to_owned();
        }
        if time > self.last_seen.as_str() {
            self.last_seen = time.to_owned();
        }
    }

    /// Adds the timeline of the same key from another part of the logs: calls added up, the
    /// earliest first and the latest last sighting.
    pub fn join(&mut self, other: KeyTimeline) {
        for (k, n) in other.calls {
            *self.calls.entry(k).or_insert(0) += n;
        }
        self.seen(&other.first_seen);
        self.seen(&other.last_seen);
    }
}

/// Everything the CloudTrail part of a scan produced besides findings.
#[derive(Debug, Default)]
pub struct TrailReport {
    /// (file, shape, events).
    pub files: Vec<(String, &'static str, u64)>,
    pub events: u64,
    /// Events some rule or the timeline needed (the rest were never converted).
    pub candidates: u64,
    pub evaluated: u64,
    pub duplicates: u64,
    /// Evaluated events whose verdicts were reused (see `trail::memo`).
    pub memo_hits: u64,
    pub facts: Facts,
    pub timelines: Vec<KeyTimeline>,
}

impl TrailReport {
    /// Adds another part's report (a shard's, see [`crate::shard`]): files and timelines are
    /// gathered, counts added up, facts joined. Order and per-key joining are the caller's.
    pub fn absorb(&mut self, other: TrailReport) {
        self.files.extend(other.files);
        self.events += other.events;
        self.candidates += other.candidates;
        self.evaluated += other.evaluated;
        self.duplicates += other.duplicates;
        self.memo_hits += other.memo_hits;
        self.facts.merge(other.facts);
        self.timelines.extend(other.timelines);
    }
}

/// A related place in the source, for "back to the source".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    /// `function Fn`, `key FunctionKey`, ...
    pub what: String,
    pub loc: Loc,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Facts {
    /// Key ARN -> the functions (ARNs from the encryption context) Lambda used it for: keys
    /// of Lambda's own KMS calls with an `aws:lambda:` context (invoked by the service, or
    /// the function's own execution-role session from inside AWS: see [`crate::trail::event::Caller`]).
    pub lambda_keys: BTreeMap<String, BTreeSet<String>>,
    /// Alias (ARN where the event says where it lives, else as written) -> key ARNs it was seen
    /// pointing to, in its own region and account. An alias can move, so it can have several.
    pub aliases: BTreeMap<String, BTreeSet<String>>,
    /// Key ARNs seen behind an `alias/aws/*` alias: AWS managed keys.
    pub aws_managed_keys: BTreeSet<String>,
    /// Access key id -> the session names `sts:AssumeRole` issued it for, where Lambda made
    /// the call (a function's execution-role credentials).
    #[serde(default)]
    pub lambda_sessions: BTreeMap<String, BTreeSet<String>>,
}

impl Facts {
    /// Set union. `a.merge(b)` then `merge(c)` equals any other order or grouping.
    pub fn merge(&mut self, other: Facts) {
        for (k, v) in other.lambda_keys {
            self.lambda_keys.entry(k).or_default().extend(v);
        }
        for (k, v) in other.aliases {
            self.aliases.entry(k).or_default().extend(v);
        }
        self.aws_managed_keys.extend(other.aws_managed_keys);
        for (k, v) in other.lambda_sessions {
            self.lambda_sessions.entry(k).or_default().extend(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::{Pos, Span};

    fn event(time: &str, id: &str, file: &str, identity: Option<u128>) -> EventRef {
        let at = Pos { line: 1, col: 1 };
        EventRef {
            id: id.into(),
            time: time.into(),
            name: "Decrypt".into(),
            location: Loc {
                file: file.into(),
                pointer: String::new(),
                span: Span { start: at, end: at },
            },
            message: format!("{id} in {file}"),
            caller: String::new(),
            address: String::new(),
            agent: String::new(),
            identity,
            index: 0,
        }
    }

    fn sighting(e: EventRef, who: &str) -> Sighting<'_> {
        Sighting {
            event: e,
            principal: who,
            address: "10.0.0.1",
            agent: "aws-cli",
        }
    }

    #[test]
    fn distinct_keeps_the_smallest_and_knows_there_were_more() {
        let mut d = Distinct::default();
        for i in (0..MAX_COUNTED + 5).rev() {
            d.add(&format!("p{i:04}"));
        }
        assert_eq!(d.values.len(), MAX_COUNTED);
        assert!(d.overflow);
        assert_eq!(d.shown().next(), Some("p0000"));
        assert_eq!(d.more(), (MAX_COUNTED - MAX_SHOWN, true));
        assert!(d.describe(str::to_owned).ends_with("and 90 or more others"));
        let mut small = Distinct::default();
        small.add("b");
        small.add("a");
        small.add("b");
        assert_eq!(small.describe(str::to_owned), "a, b");
    }

    /// Splitting the events in two and joining gives the evidence of all of them, whatever the
    /// split, including a duplicate delivery in both halves.
    #[test]
    fn absorb_is_the_evidence_of_one_scan_over_both_parts() {
        let all: Vec<(EventRef, String)> = (0..40u32)
            .map(|i| {
                let e = event(
                    &format!("2024-06-01T00:00:{:02}Z", 59 - i),
                    &format!("id{i}"),
                    &format!("f{}.json", i % 3),
                    Some(u128::from(i) + 1),
                );
                (e, format!("role/{}", i % 17))
            })
            .collect();
        let whole = |part: &[(EventRef, String)]| {
            let mut ev = Evidence::new(Subject::default(), true);
            for (e, who) in part {
                ev.add(sighting(e.clone(), who));
            }
            ev
        };
        let single = whole(&all);
        assert_eq!(single.count, 40);
        assert_eq!(single.samples.len(), MAX_SAMPLES);
        assert_eq!(single.first_seen, "2024-06-01T00:00:20Z");
        assert_eq!(single.last_seen, "2024-06-01T00:00:59Z");
        for split in [1, 7, 20, 39] {
            let (a, b) = all.split_at(split);
            // The event right after the split is delivered again into the first half, from a
            // later file: it must count once and show its first copy.
            let mut a = a.to_vec();
            let mut again = b[0].clone();
            again.0.location.file = "g.json".into();
            a.push(again);
            let mut joined = whole(&a);
            joined.absorb(whole(b));
            assert_eq!(joined.count, single.count, "split at {split}");
            assert_eq!(joined.samples, single.samples, "split at {split}");
            assert_eq!(joined.principals, single.principals);
            assert_eq!(
                (&joined.first_seen, &joined.last_seen),
                (&single.first_seen, &single.last_seen)
            );
        }
    }

    /// Sightings joined per part give what one pass over every event gives, whichever part
    /// comes first; a part without times (no sighting) changes no time.
    #[test]
    fn timelines_join_as_one_pass_over_the_events() {
        let times = [
            "2024-03-01T00:00:00Z",
            "",
            "2024-01-05T00:00:00Z",
            "2024-02-01T00:00:00Z",
        ];
        let part = |ts: &[&str]| {
            let mut t = KeyTimeline {
                first_seen: ts[0].to_owned(),
                last_seen: ts[0].to_owned(),
                ..Default::default()
            };
            for time in ts {
                *t.calls.entry(("Decrypt".into(), "r".into())).or_insert(0) += 1;
                t.seen(time);
            }
            t
        };
        let whole = part(&times);
        assert_eq!(whole.first_seen, "2024-01-05T00:00:00Z");
        assert_eq!(whole.last_seen, "2024-03-01T00:00:00Z");
        for cut in 1..times.len() {
            let (a, b) = times.split_at(cut);
            for (x, y) in [(part(a), part(b)), (part(b), part(a))] {
                let mut joined = x;
                joined.join(y);
                assert_eq!(joined, whole, "cut at {cut}");
            }
        }
        let mut none = part(&[""]);
        none.join(part(&[""]));
        assert_eq!(
            (none.first_seen.as_str(), none.last_seen.as_str()),
            ("", "")
        );
    }
}
