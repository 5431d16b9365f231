//! Scans split across processes or machines, merged into exactly the report one scan gives.
//!
//! A shard (`--shard I/N`) reads the CloudTrail logs whose path hashes to it. Templates, plans
//! and API output are the inventory the logs are checked against: every shard reads them all,
//! and shard 1 alone reports them. Rules that need all the logs (a key Lambda uses, learned from
//! any file) run in two phases: `atrest facts` learns [`Facts`] per shard, the facts merge by
//! set union, and each shard's scan takes the merged facts (`--facts`). Each shard writes its
//! results as JSON lines (`--format jsonl`, this module's [`write`]), before suppressions and
//! baselines; `atrest merge` reads them back ([`read`]) and [`combine`]s them: CloudTrail
//! findings of the same rule and subject are joined as a single scan aggregates them
//! ([`crate::trail::join`]), everything is put in the single scan's order, and the report is
//! triaged and rendered as a single scan's would be.

use crate::engine::Rule;
use crate::read::cloudtrail::TrailShape;
use crate::scan::{ScanResult, SkippedFile};
pub use crate::scan::{Shard, path_hash};
use crate::trail::{Facts, KeyTimeline, TrailReport};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::str::FromStr;

mod combine;
mod records;

pub use combine::{Cover, combine, cover};
use records::{
    FORMAT_VERSION, FindingRecord, IDS_PER_RECORD, Record, TimelineRecord, error_from,
    error_record, finding_from, finding_record, kind_from, kind_record,
};

/// The longest line of a `--files-from` list: far beyond any path a file system accepts.
const MAX_LIST_LINE: u64 = 64 * 1024;
/// The largest `--files-from` list, and the longest record of a part.
const MAX_LIST_BYTES: u64 = 1 << 30;
const MAX_RECORD_BYTES: u64 = 64 * 1024 * 1024;

/// Reads `--files-from`: one path per line (`-` is standard input); blank lines are skipped.
pub fn read_list(list: &Path) -> Result<Vec<PathBuf>, String> {
    let shown = list.display();
    let reader: Box<dyn BufRead> = if list == Path::new("-") {
        Box::new(BufReader::new(std::io::stdin()))
    } else {
        let (f, _) = crate::read::file::open_regular(list).map_err(|e| format!("{shown}: {e}"))?;
        Box::new(BufReader::new(f))
    };
    let mut paths = Vec::new();
    for line in crate::read::file::bounded_lines(reader, MAX_LIST_LINE, MAX_LIST_BYTES) {
        let line = line.map_err(|e| format!("{shown}:{e}"))?;
        let path = line.trim_end_matches('\r');
        if !path.trim().is_empty() {
            paths.push(PathBuf::from(path));
        }
    }
    Ok(paths)
}

/// The facts file `atrest facts` writes.
#[derive(Debug, Serialize, Deserialize)]
struct FactsFile {
    atrest_facts: u32,
    facts: Facts,
}

const FACTS_VERSION: u32 = 1;

pub fn write_facts(facts: &Facts) -> String {
    let mut s = crate::escape::to_json(
        &FactsFile {
            atrest_facts: FACTS_VERSION,
            facts: facts.clone(),
        },
        false,
    );
    s.push('\n');
    s
}

pub fn read_facts(path: &Path) -> Result<Facts, String> {
    let shown = path.display();
    let text = crate::read::file::read_text_bounded(path, MAX_RECORD_BYTES)
        .map_err(|e| format!("{shown}: {e}"))?;
    let file: FactsFile = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{shown}:{}:{}: not an `atrest facts` file: {e}",
            e.line(),
            e.column()
        )
    })?;
    if file.atrest_facts != FACTS_VERSION {
        return Err(format!(
            "{shown}: facts format {} (this atrest reads {FACTS_VERSION})",
            file.atrest_facts
        ));
    }
    Ok(file.facts)
}

/// A scan's result as JSON lines, before triage: what `atrest merge` reads.
pub fn write(result: &ScanResult, rules: &[Rule], shards: Option<&Shards>) -> String {
    let mut records = vec![Record::Shard {
        version: FORMAT_VERSION,
        atrest: env!("CARGO_PKG_VERSION").to_owned(),
        shard: shards.map(Shards::to_string),
        rules: rules.iter().map(|r| r.id.clone()).collect(),
    }];
    for (path, kind) in &result.scanned {
        let (kind, shape) = kind_record(kind);
        records.push(Record::Input {
            path: path.clone(),
            kind,
            shape,
        });
    }
    records.extend(result.skipped.iter().map(|s| Record::Skipped {
        path: s.path.clone(),
        reason: s.reason.clone(),
    }));
    records.push(Record::Resources {
        checked: result.checked,
        passed: result.passed,
    });
    records
        .extend((result.map.functions.iter().cloned()).map(|f| Record::MapFunction(Box::new(f))));
    records.extend((result.map.keys.iter().cloned()).map(|k| Record::MapKey(Box::new(k))));
    for f in &result.findings {
        records.push(Record::Finding(Box::new(finding_record(f, rules))));
        let ids = f.finding.trail.iter().flat_map(|t| t.identities.iter());
        for chunk in ids.flat_map(|i| i.chunks(IDS_PER_RECORD)) {
            records.push(Record::Identities {
                ids: chunk.iter().map(|i| format!("{i:032x}")).collect(),
            });
        }
    }
    records.extend(result.errors.iter().map(|e| Record::Error(error_record(e))));
    records.extend(result.notes.iter().map(|e| Record::Note(error_record(e))));
    if let Some(t) = &result.trail {
        for (path, shape, events) in &t.files {
            records.push(Record::LogFile {
                path: path.clone(),
                shape: (*shape).to_owned(),
                events: *events,
            });
        }
        records.push(Record::Trail {
            events: t.events,
            candidates: t.candidates,
            evaluated: t.evaluated,
            duplicates: t.duplicates,
            facts: t.facts.clone(),
            timelines: t
                .timelines
                .iter()
                .map(|k| TimelineRecord {
                    key: k.key.clone(),
                    why: k.why.clone(),
                    calls: k
                        .calls
                        .iter()
                        .map(|((name, caller), n)| (name.clone(), caller.clone(), *n))
                        .collect(),
                    first_seen: k.first_seen.clone(),
                    last_seen: k.last_seen.clone(),
                })
                .collect(),
        });
    }
    records.push(Record::End {
        findings: result.findings.len(),
    });
    let mut out = String::new();
    for r in records {
        out.push_str(&crate::escape::to_json(&r, false));
        out.push('\n');
    }
    out
}

/// Which shards of a split scan a part holds: `2/4` from `scan --shard 2/4`, `1,2/4` from a
/// merge of those two. `None` in a part of a scan that was not sharded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shards {
    pub indexes: Vec<u32>,
    pub count: u32,
}

impl FromStr for Shards {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (list, n) = s
            .rsplit_once('/')
            .ok_or_else(|| format!("shard `{s}`: expected I/N"))?;
        let mut indexes = Vec::new();
        for i in list.split(',') {
            let one: Shard = format!("{i}/{n}").parse()?;
            indexes.push(one.index);
            // `count` is checked by the parse of each index.
        }
        let count: u32 = n
            .trim()
            .parse()
            .map_err(|_| format!("shard `{s}`: bad count"))?;
        indexes.sort_unstable();
        indexes.dedup();
        Ok(Shards { indexes, count })
    }
}

impl fmt::Display for Shards {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list: Vec<String> = self.indexes.iter().map(u32::to_string).collect();
        write!(f, "{}/{}", list.join(","), self.count)
    }
}

/// One part read back: its results, and the shards it holds.
pub struct Part {
    pub result: ScanResult,
    pub shards: Option<Shards>,
}

/// The files a finding record names: where it is, and where its evidence is.
fn named_files(r: &FindingRecord) -> impl Iterator<Item = &str> {
    let trail = r.trail.iter().flat_map(|t| {
        t.events
            .iter()
            .map(|e| e.location.file.as_str())
            .chain(t.declared.iter().map(|d| d.loc.file.as_str()))
    });
    std::iter::once(r.path.as_str())
        .chain(r.location.iter().map(|l| l.file.as_str()))
        .chain(r.related.iter().map(|(l, _)| l.file.as_str()))
        .chain(trail)
}

/// Why a part that names a file outside the scanned tree is not merged.
const OUTSIDE: &str =
    "outside the scanned tree: the part is not merged (--allow-outside PATH allows it)";

/// Reads one shard's JSON lines. Every problem names the file and line. A part that names a
/// file `inside` refuses (reports show the lines of the files findings are in) is refused.
pub fn read(path: &Path, rules: &[Rule], inside: &dyn Fn(&str) -> bool) -> Result<Part, String> {
    let shown = path.display();
    let (file, _) = crate::read::file::open_regular(path).map_err(|e| format!("{shown}: {e}"))?;
    let mut out = ScanResult::default();
    let mut shards = None;
    let mut trail: Option<TrailReport> = None;
    let mut seen_header = false;
    let mut ended = false;
    // The identities the last finding record announced, until its identities records end.
    let mut identities_expected: Option<u64> = None;
    let lines = crate::read::file::bounded_lines(BufReader::new(file), MAX_RECORD_BYTES, u64::MAX);
    for (n, line) in lines.enumerate() {
        let at = |m: String| format!("{shown}:{}: {m}", n + 1);
        let line = line.map_err(|e| format!("{shown}:{e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        if ended {
            return Err(at("text after the end record".into()));
        }
        let record: Record = serde_json::from_str(&line)
            .map_err(|e| at(format!("not an `atrest scan --format jsonl` record: {e}")))?;
        if !seen_header && !matches!(record, Record::Shard { .. }) {
            return Err(at(
                "not written by `atrest scan --format jsonl` (no shard record first)".into(),
            ));
        }
        match record {
            Record::Shard {
                version,
                rules: ids,
                shard,
                ..
            } => {
                if seen_header {
                    return Err(at("a second shard record".into()));
                }
                seen_header = true;
                shards = shard.map(|s| s.parse::<Shards>()).transpose().map_err(at)?;
                if version != FORMAT_VERSION {
                    return Err(at(format!(
                        "format {version} (this atrest reads {FORMAT_VERSION})"
                    )));
                }
                let ours: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
                if ids.iter().map(String::as_str).ne(ours.iter().copied()) {
                    return Err(at(format!(
                        "the shard ran rules {} but this merge loads {}: give merge the same --policy, --no-builtin and --rule options as the shards",
                        ids.join(","),
                        ours.join(",")
                    )));
                }
            }
            Record::Input { path, .. } if !inside(&path) => {
                return Err(at(format!("input {path}: {}", OUTSIDE)));
            }
            Record::Finding(r) if named_files(&r).any(|f| !inside(f)) => {
                let f = named_files(&r).find(|f| !inside(f)).unwrap_or_default();
                return Err(at(format!("a finding in {f}: {}", OUTSIDE)));
            }
            Record::Input { path, kind, shape } => {
                let k = kind_from(&kind, shape.as_deref())
                    .ok_or_else(|| at(format!("unknown input kind `{kind}`")))?;
                out.scanned.push((path, k));
            }
            Record::Skipped { path, reason } => out.skipped.push(SkippedFile { path, reason }),
            Record::Resources { checked, passed } => {
                out.checked += checked;
                out.passed += passed;
            }
            Record::MapFunction(f) => out.map.functions.push(*f),
            Record::MapKey(k) => out.map.keys.push(*k),
            Record::Finding(r) => {
                let expected = r.trail.as_ref().and_then(|t| t.identities);
                let f = finding_from(*r, rules).map_err(at)?;
                close_identities(&out, identities_expected).map_err(at)?;
                identities_expected = expected;
                out.findings.push(f);
            }
            Record::Identities { ids } => {
                let into = out
                    .findings
                    .last_mut()
                    .and_then(|f| f.finding.trail.as_mut())
                    .and_then(|t| t.identities.as_mut())
                    .filter(|_| identities_expected.is_some())
                    .ok_or_else(|| {
                        at("identities after no CloudTrail finding that has them".into())
                    })?;
                parse_identities(&ids, into).map_err(at)?;
            }
            Record::Error(e) => out.errors.push(error_from(e)),
            Record::Note(e) => out.notes.push(error_from(e)),
            Record::LogFile {
                path,
                shape,
                events,
            } => {
                let shape = TrailShape::from_name(&shape)
                    .ok_or_else(|| at(format!("unknown log shape `{shape}`")))?;
                trail.get_or_insert_with(TrailReport::default).files.push((
                    path,
                    shape.name(),
                    events,
                ));
            }
            Record::Trail {
                events,
                candidates,
                evaluated,
                duplicates,
                facts,
                timelines,
            } => {
                trail
                    .get_or_insert_with(TrailReport::default)
                    .absorb(TrailReport {
                        files: Vec::new(),
                        events,
                        candidates,
                        evaluated,
                        duplicates,
                        facts,
                        timelines: timelines
                            .into_iter()
                            .map(|k| KeyTimeline {
                                key: k.key,
                                why: k.why,
                                calls: k
                                    .calls
                                    .into_iter()
                                    .map(|(name, caller, n)| ((name, caller), n))
                                    .collect(),
                                first_seen: k.first_seen,
                                last_seen: k.last_seen,
                            })
                            .collect(),
                    });
            }
            Record::End { findings } => {
                close_identities(&out, identities_expected.take()).map_err(at)?;
                if findings != out.findings.len() {
                    return Err(at(format!(
                        "the end record counts {findings} findings but {} were read",
                        out.findings.len()
                    )));
                }
                ended = true;
            }
        }
    }
    if !ended {
        return Err(format!(
            "{shown}: cut short (no end record): the shard did not finish writing"
        ));
    }
    out.trail = trail;
    Ok(Part {
        result: out,
        shards,
    })
}

/// Appends identities written as 32 hex digits each.
fn parse_identities(ids: &str, into: &mut Vec<u128>) -> Result<(), String> {
    if !ids.len().is_multiple_of(32) || !ids.is_ascii() {
        return Err("identities are not 32 hexadecimal digits each".into());
    }
    for i in (0..ids.len()).step_by(32) {
        let h = &ids[i..i + 32];
        into.push(
            u128::from_str_radix(h, 16)
                .map_err(|_| format!("event identity `{h}` is not hexadecimal"))?,
        );
    }
    Ok(())
}

/// Checks that the last finding got the identities its record announced.
fn close_identities(out: &ScanResult, expected: Option<u64>) -> Result<(), String> {
    let Some(n) = expected else { return Ok(()) };
    let trail = out.findings.last().and_then(|f| f.finding.trail.as_ref());
    let got = trail
        .and_then(|t| t.identities.as_ref())
        .map_or(0, Vec::len);
    if got as u64 != n {
        return Err(format!(
            "the finding before announced {n} event identities but {got} followed"
        ));
    }
    if let Some(t) = trail.filter(|t| t.count < n) {
        return Err(format!(
            "a CloudTrail finding of {} events with {n} event identities",
            t.count
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_partition() {
        assert_eq!("2/8".parse::<Shard>(), Ok(Shard { index: 2, count: 8 }));
        for bad in ["0/4", "5/4", "1", "a/b", "1/0", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        // Every path is in exactly one shard.
        let shards: Vec<Shard> = (1..=4).map(|i| Shard { index: i, count: 4 }).collect();
        for i in 0..200 {
            let p = format!("AWSLogs/1111/CloudTrail/eu-west-1/2026/11/{i:02}/f.json.gz");
            assert_eq!(shards.iter().filter(|s| s.owns(&p)).count(), 1);
        }
    }

    #[test]
    fn the_cover_of_parts_names_twice_held_and_missing_shards() {
        let s = |t: &str| t.parse::<Shards>().unwrap();
        assert_eq!(s("3,1/4").to_string(), "1,3/4");
        assert!("5/4".parse::<Shards>().is_err());
        let (a, b, c) = (s("1/4"), s("1,2/4"), s("1/2"));
        let cover = cover(&[Some(&a), None, Some(&b), Some(&c)]);
        assert_eq!(cover.shards, Some(s("1/4")));
        assert_eq!(cover.refused.len(), 2, "{cover:?}");
        assert!(cover.refused[0].1.contains("shard 1/4 is also in part 1"));
        assert!(cover.refused[1].1.contains("split into 2 shards"));
        assert_eq!(cover.missing.len(), 3);
        assert_eq!(cover.missing[0].to_string(), "2/4");
        assert_eq!(super::cover(&[None]), Cover::default());
    }

    /// The hash is part of the interface (drivers may compute it): FNV-1a's published values.
    #[test]
    fn path_hash_is_fnv1a_64() {
        assert_eq!(path_hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(path_hash("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(path_hash("foobar"), 0x8594_4171_f739_67e8);
    }
}
