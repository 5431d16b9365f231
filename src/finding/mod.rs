//! Findings: what the stages produce and hand on, below all of them. The engine and the
//! CloudTrail rules make a [`Finding`]; the scan files it under its path ([`FileFinding`]) and
//! gathers the [`ScanResult`]; triage marks what the user accepted ([`Suppression`]); shards
//! write and merge it; reporters render it. Each of those imports this module and none of
//! the others' internals. A finding's identity, which fingerprints and baselines match on,
//! is defined once here ([`Identity`]).

pub mod date;
mod identity;
pub mod map;
mod suppression;
mod trail;

pub use date::Date;
pub use identity::{Identity, InFile};
pub use suppression::{Place, Suppression, SuppressionKind, Via};
pub use trail::{
    Declared, Distinct, EventRef, Evidence, Facts, KeyTimeline, MAX_COUNTED, MAX_SAMPLES,
    MAX_SHOWN, Sighting, Subject, TrailReport,
};

use crate::model::{FileId, Loc};
pub use crate::problem::Problem;
use crate::read::{InputKind, Skip};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Fail,
    /// The rule could not decide (a key from a parameter without default, say).
    Unknown,
}

/// A finding as the engine produces it: a rule, a model object, a property, and where that
/// property is written.
#[derive(Debug, Clone)]
pub struct Finding {
    pub rule: usize,
    pub outcome: Outcome,
    pub message: String,
    pub resource_id: String,
    pub logical_id: String,
    pub resource_type: String,
    /// The source format of the object (`cloudformation`, `sam`, ...), to pick the right fix.
    pub source: &'static str,
    /// How the object was reached where its location does not say (see `Origin::via`).
    pub via: Option<String>,
    pub property: String,
    /// What else the finding is about, where one object and property can fail several times
    /// (the key of ATR-L010 fails once per function that uses it): part of its identity.
    pub subject: Option<String>,
    /// Other places to look at, each with what it is (ATR-L011: the template's key).
    pub related: Vec<(Loc, String)>,
    pub location: Option<Loc>,
    /// How the property's key reference was resolved (`KmsKeyArn <- !Ref K <- default ...`),
    /// when the property is one; empty otherwise.
    pub chain: Vec<String>,
    /// For CloudTrail rules: the events the finding stands for, and where else to look.
    pub trail: Option<Box<Evidence>>,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        })
    }
}

/// A finding with the file it is in.
#[derive(Debug, Clone)]
pub struct FileFinding {
    /// Path as shown to the user: relative to the scan root where it is inside it.
    pub path: String,
    pub finding: Finding,
    /// Set by [`crate::triage`] when the user has accepted the finding.
    pub suppression: Option<Suppression>,
}

impl FileFinding {
    /// Files a finding under the file of its location, else under `fallback`.
    pub fn new(finding: Finding, fallback: Option<&FileId>) -> Self {
        FileFinding {
            path: finding
                .location
                .as_ref()
                .map(|l| l.file.to_string())
                .or_else(|| fallback.map(|f| f.to_string()))
                .unwrap_or_default(),
            finding,
            suppression: None,
        }
    }
}

/// An input that could not be read, or a policy that could not be loaded or evaluated: the
/// name the scan result's errors and notes go by. The type is the one [`Problem`].
pub type InputError = Problem;

#[derive(Debug, Default)]
pub struct ScanResult {
    /// Inputs understood and evaluated, by kind name.
    pub scanned: Vec<(String, InputKind)>,
    /// Files that are not inputs atrest reads, each with the reason.
    pub skipped: Vec<SkippedFile>,
    pub findings: Vec<FileFinding>,
    pub errors: Vec<InputError>,
    /// What was not read, and why, where that is no defect (a remote Terraform module).
    pub notes: Vec<InputError>,
    /// What the CloudTrail logs of the scan gave besides findings, when there were any.
    pub trail: Option<TrailReport>,
    /// Model objects the rules were evaluated on (functions, mappings, keys, log groups, X-Ray
    /// settings, deployments), and how many of them no rule reported: the third outcome beside
    /// fail and unknown.
    pub checked: usize,
    pub passed: usize,
    /// What each function stores at rest and under which key, for the review reports.
    pub map: map::DataMap,
}

impl ScanResult {
    /// Inputs read: templates and log files.
    pub fn inputs(&self) -> usize {
        self.scanned.len() + self.trail.as_ref().map_or(0, |t| t.files.len())
    }
}

/// A file that was not read as an input, and why: listed in the JSON report and by
/// `--verbose`, so that a file atrest did not understand is never dropped unseen.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SkippedFile {
    pub path: String,
    pub reason: String,
}

impl SkippedFile {
    pub(crate) fn new(path: &str, why: Skip) -> Self {
        SkippedFile {
            path: path.to_owned(),
            reason: why.reason().to_owned(),
        }
    }
}
