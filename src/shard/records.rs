//! The records of `--format jsonl`: one line each, and their conversions to and from the
//! scan result.

use crate::engine::{Finding, Outcome, Rule};
use crate::model::Loc;
use crate::read::Span;
use crate::read::aws::ApiShape;
use crate::read::detect::InputKind;
use crate::scan::{FileFinding, InputError};
use crate::trail::{Declared, Distinct, EventRef, Evidence, Facts, Subject};
use serde::{Deserialize, Serialize};

/// 3: parts carry the data-at-rest map (`map_function`, `map_key` records) and bounded
/// CloudTrail evidence with its event identities (`identities` records).
pub(super) const FORMAT_VERSION: u32 = 3;

/// One line of `--format jsonl`.
#[derive(Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub(super) enum Record {
    /// First line: what wrote the file, and the rules it ran (a merge needs the same).
    Shard {
        version: u32,
        atrest: String,
        shard: Option<String>,
        rules: Vec<String>,
    },
    Input {
        path: String,
        kind: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        shape: Option<String>,
    },
    /// A file that is not an input, and why (format 2; format 1 had only a count).
    Skipped {
        path: String,
        reason: String,
    },
    /// Model objects judged, and those no rule reported.
    /// A row of the data-at-rest map, and a key of it (see [`crate::scan::map`]).
    MapFunction(Box<crate::scan::map::MapFunction>),
    MapKey(Box<crate::scan::map::MapKey>),
    Resources {
        checked: usize,
        passed: usize,
    },
    Finding(Box<FindingRecord>),
    /// Identities of the events of the CloudTrail finding before it (format 3), as 32 hex
    /// digits each, [`IDS_PER_RECORD`] at most a record.
    Identities {
        ids: String,
    },
    Error(ErrorRecord),
    Note(ErrorRecord),
    LogFile {
        path: String,
        shape: String,
        events: u64,
    },
    Trail {
        events: u64,
        candidates: u64,
        evaluated: u64,
        duplicates: u64,
        facts: Facts,
        timelines: Vec<TimelineRecord>,
    },
    /// Last line: a file without it was cut short.
    End {
        findings: usize,
    },
}

#[derive(Serialize, Deserialize)]
pub(super) struct ErrorRecord {
    pub(super) path: String,
    pub(super) line: Option<u32>,
    pub(super) column: Option<u32>,
    pub(super) message: String,
}

#[derive(Serialize, Deserialize)]
pub(super) struct LocRecord {
    pub(super) file: String,
    pub(super) pointer: String,
    pub(super) span: Span,
}

impl From<&Loc> for LocRecord {
    fn from(l: &Loc) -> Self {
        LocRecord {
            file: l.file.to_string(),
            pointer: l.pointer.clone(),
            span: l.span,
        }
    }
}

impl From<LocRecord> for Loc {
    fn from(l: LocRecord) -> Self {
        Loc {
            file: l.file.into(),
            pointer: l.pointer,
            span: l.span,
        }
    }
}

#[derive(Serialize, Deserialize)]
pub(super) struct FindingRecord {
    pub(super) path: String,
    pub(super) rule: String,
    pub(super) outcome: String,
    pub(super) message: String,
    pub(super) resource_id: String,
    pub(super) logical_id: String,
    pub(super) resource_type: String,
    pub(super) source: String,
    pub(super) via: Option<String>,
    pub(super) property: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) subject: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) related: Vec<(LocRecord, String)>,
    pub(super) location: Option<LocRecord>,
    pub(super) chain: Vec<String>,
    pub(super) trail: Option<EvidenceRecord>,
}

/// A CloudTrail finding's bounded evidence (format 3; see [`Evidence`]).
#[derive(Serialize, Deserialize)]
pub(super) struct EvidenceRecord {
    pub(super) key: Option<String>,
    pub(super) principal: Option<String>,
    pub(super) function: Option<String>,
    pub(super) mapping: Option<String>,
    pub(super) count: u64,
    pub(super) first_seen: String,
    pub(super) last_seen: String,
    /// The sample events.
    pub(super) events: Vec<EventRecord>,
    pub(super) principals: DistinctRecord,
    pub(super) addresses: DistinctRecord,
    pub(super) agents: DistinctRecord,
    pub(super) declared: Vec<DeclaredRecord>,
    /// How many identities follow in `identities` records.
    pub(super) identities: Option<u64>,
}

#[derive(Serialize, Deserialize)]
pub(super) struct DistinctRecord {
    pub(super) values: Vec<String>,
    pub(super) overflow: bool,
}

impl From<&Distinct> for DistinctRecord {
    fn from(d: &Distinct) -> Self {
        DistinctRecord {
            values: d.values.iter().cloned().collect(),
            overflow: d.overflow,
        }
    }
}

impl From<DistinctRecord> for Distinct {
    fn from(d: DistinctRecord) -> Self {
        let mut out = Distinct::default();
        for v in &d.values {
            out.add(v);
        }
        out.overflow |= d.overflow;
        out
    }
}

/// Identities a part writes in one record (2 MiB of hex).
pub(super) const IDS_PER_RECORD: usize = 65_536;

#[derive(Serialize, Deserialize)]
pub(super) struct EventRecord {
    pub(super) id: String,
    pub(super) time: String,
    pub(super) name: String,
    pub(super) location: LocRecord,
    pub(super) message: String,
    pub(super) caller: String,
    pub(super) address: String,
    pub(super) agent: String,
    /// Hex; absent for events without an `eventID`.
    pub(super) identity: Option<String>,
    pub(super) index: u64,
}

#[derive(Serialize, Deserialize)]
pub(super) struct DeclaredRecord {
    pub(super) what: String,
    pub(super) loc: LocRecord,
}

#[derive(Serialize, Deserialize)]
pub(super) struct TimelineRecord {
    pub(super) key: String,
    pub(super) why: String,
    /// (eventName, caller, calls).
    pub(super) calls: Vec<(String, String, u64)>,
    pub(super) first_seen: String,
    pub(super) last_seen: String,
}

/// Where a finding's source format names one of these; anything else in a shard file is refused.
pub(super) const SOURCES: &[&str] = &[
    "cloudformation",
    "sam",
    "serverless",
    "terraform",
    "terraform-plan",
    "aws-api",
    "cloudtrail",
];

pub(super) fn kind_record(kind: &InputKind) -> (String, Option<String>) {
    let shape = match kind {
        InputKind::AwsApi(s) => Some(s.name().to_owned()),
        _ => None,
    };
    (kind.name().to_owned(), shape)
}

pub(super) fn kind_from(kind: &str, shape: Option<&str>) -> Option<InputKind> {
    Some(match (kind, shape) {
        ("cloudformation", _) => InputKind::CloudFormation { sam: false },
        ("sam", _) => InputKind::CloudFormation { sam: true },
        ("serverless", _) => InputKind::Serverless,
        ("terraform", _) => InputKind::Terraform,
        ("terraform-plan", _) => InputKind::TerraformPlan,
        ("aws-api", Some(s)) => InputKind::AwsApi(ApiShape::from_name(s)?),
        _ => return None,
    })
}

pub(super) fn error_record(e: &InputError) -> ErrorRecord {
    ErrorRecord {
        path: e.path.clone(),
        line: e.line,
        column: e.column,
        message: e.message.clone(),
    }
}

pub(super) fn error_from(e: ErrorRecord) -> InputError {
    InputError {
        path: e.path,
        line: e.line,
        column: e.column,
        message: e.message,
    }
}

pub(super) fn finding_record(f: &FileFinding, rules: &[Rule]) -> FindingRecord {
    let x = &f.finding;
    FindingRecord {
        path: f.path.clone(),
        rule: rules[x.rule].id.clone(),
        outcome: crate::report::outcome_name(x.outcome).to_owned(),
        message: x.message.clone(),
        resource_id: x.resource_id.clone(),
        logical_id: x.logical_id.clone(),
        resource_type: x.resource_type.clone(),
        source: x.source.to_owned(),
        via: x.via.clone(),
        property: x.property.clone(),
        subject: x.subject.clone(),
        related: x
            .related
            .iter()
            .map(|(l, m)| (LocRecord::from(l), m.clone()))
            .collect(),
        location: x.location.as_ref().map(LocRecord::from),
        chain: x.chain.clone(),
        trail: x.trail.as_ref().map(|t| EvidenceRecord {
            key: t.subject.key.clone(),
            principal: t.subject.principal.clone(),
            function: t.subject.function.clone(),
            mapping: t.subject.mapping.clone(),
            count: t.count,
            first_seen: t.first_seen.clone(),
            last_seen: t.last_seen.clone(),
            principals: (&t.principals).into(),
            addresses: (&t.addresses).into(),
            agents: (&t.agents).into(),
            identities: t.identities.as_ref().map(|i| i.len() as u64),
            events: t
                .samples
                .iter()
                .map(|e| EventRecord {
                    id: e.id.clone(),
                    time: e.time.clone(),
                    name: e.name.clone(),
                    location: (&e.location).into(),
                    message: e.message.clone(),
                    caller: e.caller.clone(),
                    address: e.address.clone(),
                    agent: e.agent.clone(),
                    identity: e.identity.map(|i| format!("{i:032x}")),
                    index: e.index,
                })
                .collect(),
            declared: t
                .declared
                .iter()
                .map(|d| DeclaredRecord {
                    what: d.what.clone(),
                    loc: (&d.loc).into(),
                })
                .collect(),
        }),
    }
}

pub(super) fn finding_from(r: FindingRecord, rules: &[Rule]) -> Result<FileFinding, String> {
    let rule = rules
        .iter()
        .position(|x| x.id == r.rule)
        .ok_or_else(|| format!("finding of rule {}, which this merge does not load", r.rule))?;
    let outcome = match r.outcome.as_str() {
        "fail" => Outcome::Fail,
        "unknown" => Outcome::Unknown,
        o => return Err(format!("unknown outcome `{o}`")),
    };
    let source = SOURCES
        .iter()
        .find(|s| **s == r.source)
        .ok_or_else(|| format!("unknown source format `{}`", r.source))?;
    let trail = match r.trail {
        None => None,
        Some(t) => {
            let mut events = Vec::with_capacity(t.events.len());
            for e in t.events {
                let identity = match e.identity {
                    None => None,
                    Some(h) => Some(
                        u128::from_str_radix(&h, 16)
                            .map_err(|_| format!("event identity `{h}` is not hexadecimal"))?,
                    ),
                };
                events.push(EventRef {
                    id: e.id,
                    time: e.time,
                    name: e.name,
                    location: e.location.into(),
                    message: e.message,
                    caller: e.caller,
                    address: e.address,
                    agent: e.agent,
                    identity,
                    index: e.index,
                });
            }
            if events.is_empty() || t.count < events.len() as u64 {
                return Err(format!(
                    "a CloudTrail finding of {} events with {} samples",
                    t.count,
                    events.len()
                ));
            }
            Some(Box::new(Evidence {
                subject: Subject {
                    key: t.key,
                    principal: t.principal,
                    function: t.function,
                    mapping: t.mapping,
                },
                count: t.count,
                first_seen: t.first_seen,
                last_seen: t.last_seen,
                samples: events,
                principals: t.principals.into(),
                addresses: t.addresses.into(),
                agents: t.agents.into(),
                identities: t
                    .identities
                    .map(|n| Vec::with_capacity(n.min(1 << 20) as usize)),
                declared: t
                    .declared
                    .into_iter()
                    .map(|d| Declared {
                        what: d.what,
                        loc: d.loc.into(),
                    })
                    .collect(),
            }))
        }
    };
    Ok(FileFinding {
        path: r.path,
        finding: Finding {
            rule,
            outcome,
            message: r.message,
            resource_id: r.resource_id,
            logical_id: r.logical_id,
            resource_type: r.resource_type,
            source,
            via: r.via,
            property: r.property,
            subject: r.subject,
            related: r
                .related
                .into_iter()
                .map(|(l, m)| (Loc::from(l), m))
                .collect(),
            location: r.location.map(Loc::from),
            chain: r.chain,
            trail,
        },
        suppression: None,
    })
}
