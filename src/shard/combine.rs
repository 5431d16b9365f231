//! Parts into one result: which shards they cover, and their findings joined as one scan's.

use super::{Shard, Shards};
use crate::scan::{FileFinding, ScanResult};
use crate::trail::{self, KeyTimeline, TrailReport};
use std::collections::BTreeMap;

/// What the shards of the parts of a merge add up to.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Cover {
    /// The shards the parts hold together (none when no part came from a sharded scan).
    pub shards: Option<Shards>,
    /// Parts not to merge, by index, and why: one holding a shard an earlier part holds (its
    /// findings would count twice), or from a split into another number of shards.
    pub refused: Vec<(usize, String)>,
    /// Shards of the split that no part holds.
    pub missing: Vec<Shard>,
}

/// Checks the shards of the parts of a merge (each part's, as [`read`] gave them).
pub fn cover(parts: &[Option<&Shards>]) -> Cover {
    let mut out = Cover::default();
    let mut held: BTreeMap<u32, usize> = BTreeMap::new();
    let mut count = None;
    for (i, shards) in parts.iter().enumerate() {
        let Some(s) = shards else { continue };
        let n = *count.get_or_insert(s.count);
        if s.count != n {
            out.refused.push((
                i,
                format!(
                    "a part of a split into {} shards, the others of {n}",
                    s.count
                ),
            ));
            continue;
        }
        if let Some((index, first)) = s
            .indexes
            .iter()
            .find_map(|x| held.get(x).map(|first| (*x, *first)))
        {
            out.refused.push((
                i,
                format!("shard {index}/{n} is also in part {} of the merge: its findings would count twice; not merged", first + 1),
            ));
            continue;
        }
        held.extend(s.indexes.iter().map(|x| (*x, i)));
    }
    if let Some(count) = count {
        out.missing = (1..=count)
            .filter(|x| !held.contains_key(x))
            .map(|index| Shard { index, count })
            .collect();
        out.shards = Some(Shards {
            indexes: held.into_keys().collect(),
            count,
        });
    }
    out
}

/// Joins shard results into the result one scan over all their inputs gives.
pub fn combine(parts: Vec<ScanResult>) -> ScanResult {
    let mut out = ScanResult::default();
    let mut findings = Vec::new();
    let mut trail: Option<TrailReport> = None;
    for p in parts {
        out.scanned.extend(p.scanned);
        out.skipped.extend(p.skipped);
        out.checked += p.checked;
        out.passed += p.passed;
        out.map.functions.extend(p.map.functions);
        out.map.keys.extend(p.map.keys);
        findings.extend(p.findings);
        out.errors.extend(p.errors);
        out.notes.extend(p.notes);
        if let Some(t) = p.trail {
            trail.get_or_insert_with(TrailReport::default).absorb(t);
        }
    }
    // Findings from logs are joined across shards; the others keep the file their shard gave
    // them (a finding without a location is filed under its unit's first file).
    let (from_logs, others): (Vec<FileFinding>, Vec<FileFinding>) = findings
        .into_iter()
        .partition(|f| f.finding.trail.is_some());
    out.findings = others;
    out.findings.extend(
        trail::join(from_logs.into_iter().map(|f| f.finding).collect())
            .into_iter()
            .map(|f| FileFinding::new(f, None)),
    );
    if let Some(t) = &mut trail {
        t.files.sort();
        t.timelines = join_timelines(std::mem::take(&mut t.timelines));
    }
    out.trail = trail;
    crate::scan::put_in_order(&mut out);
    out
}

/// Per key: calls added up, the earliest first and the latest last sighting.
fn join_timelines(all: Vec<KeyTimeline>) -> Vec<KeyTimeline> {
    let mut by_key: BTreeMap<String, KeyTimeline> = BTreeMap::new();
    for t in all {
        match by_key.get_mut(&t.key) {
            None => {
                by_key.insert(t.key.clone(), t);
            }
            Some(into) => {
                for (k, n) in t.calls {
                    *into.calls.entry(k).or_insert(0) += n;
                }
                if !t.first_seen.is_empty()
                    && (into.first_seen.is_empty() || t.first_seen < into.first_seen)
                {
                    into.first_seen = t.first_seen;
                }
                if t.last_seen > into.last_seen {
                    into.last_seen = t.last_seen;
                }
            }
        }
    }
    by_key.into_values().collect()
}
