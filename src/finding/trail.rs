//! What a CloudTrail finding carries, and what the CloudTrail part of a scan reports besides
//! findings. The reading and the rules are in [`crate::trail`].

use crate::model::Loc;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One event a finding stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRef {
    pub id: String,
    pub time: String,
    pub name: String,
    pub location: Loc,
    pub message: String,
    /// Which event this is, for dropping duplicate deliveries (see [`event::Head::identity_hash`]);
    /// `None` for an event without an `eventID`, which is never taken for a duplicate.
    pub identity: Option<u128>,
    /// The event's place in its file (0-based), to order and pick among duplicate deliveries.
    pub index: u64,
}

impl EventRef {
    /// Events sort by time, then id, then where they were read (file path, place in file).
    pub(crate) fn order_key(&self) -> (&str, &str, &str, u64) {
        (&self.time, &self.id, &self.location.file, self.index)
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

/// What a CloudTrail finding carries besides the usual fields.
#[derive(Debug, Clone)]
pub struct Evidence {
    pub subject: Subject,
    /// Every event, oldest first (duplicates removed).
    pub events: Vec<EventRef>,
    pub first_seen: String,
    pub last_seen: String,
    /// IaC declarations of the function, mapping or key: "back to the source".
    pub declared: Vec<Declared>,
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

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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
