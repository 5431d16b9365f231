//! Report: turn a scan's findings and errors into text, JSON, SARIF, JUnit, or a review
//! report (HTML, Markdown) that also maps what is stored at rest under which key. Reporters never
//! read templates; they get positions from the findings. Suppressions are decided before
//! (in [`crate::triage`]); a reporter only renders them.

pub mod github;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod review;
pub mod rules_doc;
pub mod sarif;
pub mod text;

use crate::engine::{Outcome, Rule, Severity};
use crate::finding::Identity;
use crate::scan::{FileFinding, ScanResult};
use crate::triage::Notice;

/// What to do with findings a rule could not decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownMode {
    /// Drop them.
    Pass,
    /// Report them as notes; they do not count for `--fail-on`.
    Warn,
    /// Report and count them like failures.
    Fail,
}

/// Everything a reporter needs.
pub struct Report<'a> {
    pub result: &'a ScanResult,
    pub rules: &'a [Rule],
    pub unknown: UnknownMode,
    /// What triage has to say about suppressions and the baseline.
    pub notices: &'a [Notice],
    /// The analysis category (SARIF `automationDetails.id`), e.g. `atrest` or `atrest/prod`.
    pub category: Option<&'a str>,
    /// The settings file the scan used, as shown.
    pub config: Option<&'a str>,
    /// The lowest severity that makes the exit code 1 (`--fail-on`), `none`, or `None` when
    /// the report is not made by a scan's command line.
    pub fail_on: Option<&'static str>,
}

impl UnknownMode {
    /// The name `--unknown` takes.
    pub fn name(self) -> &'static str {
        match self {
            UnknownMode::Pass => "pass",
            UnknownMode::Warn => "warn",
            UnknownMode::Fail => "fail",
        }
    }
}

impl<'a> Report<'a> {
    /// A report without notices or category.
    pub fn new(result: &'a ScanResult, rules: &'a [Rule], unknown: UnknownMode) -> Self {
        Report {
            result,
            rules,
            unknown,
            notices: &[],
            category: None,
            config: None,
            fail_on: None,
        }
    }
}

/// `fail` or `unknown`, as every format names outcomes.
pub fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Fail => "fail",
        Outcome::Unknown => "unknown",
    }
}

impl Report<'_> {
    pub fn rule(&self, f: &FileFinding) -> &Rule {
        &self.rules[f.finding.rule]
    }

    /// Whether a finding counts towards the exit code and the severity counts.
    pub fn counts(&self, f: &FileFinding) -> bool {
        f.finding.outcome == Outcome::Fail || self.unknown == UnknownMode::Fail
    }

    /// Every finding that is reported at all, suppressed or not (unknowns are dropped with
    /// `--unknown pass`), in file order.
    pub fn results(&self) -> impl Iterator<Item = &FileFinding> {
        self.result
            .findings
            .iter()
            .filter(|f| f.finding.outcome == Outcome::Fail || self.unknown != UnknownMode::Pass)
    }

    /// Reported findings that no suppression or baseline accepts: what the user must act on.
    pub fn findings(&self) -> impl Iterator<Item = &FileFinding> {
        self.results().filter(|f| f.suppression.is_none())
    }

    /// Reported findings that a suppression or the baseline accepts.
    pub fn suppressed(&self) -> impl Iterator<Item = &FileFinding> {
        self.results().filter(|f| f.suppression.is_some())
    }

    /// The highest severity among counted findings.
    pub fn worst(&self) -> Option<Severity> {
        self.findings()
            .filter(|f| self.counts(f))
            .map(|f| self.rule(f).severity)
            .max()
    }

    pub fn severity_counts(&self) -> [(Severity, usize); 4] {
        let mut counts = [
            (Severity::Critical, 0),
            (Severity::High, 0),
            (Severity::Medium, 0),
            (Severity::Low, 0),
        ];
        for f in self.findings().filter(|f| self.counts(f)) {
            let s = self.rule(f).severity;
            if let Some(c) = counts.iter_mut().find(|(k, _)| *k == s) {
                c.1 += 1;
            }
        }
        counts
    }

    pub fn unknown_count(&self) -> usize {
        self.findings()
            .filter(|f| f.finding.outcome == Outcome::Unknown)
            .count()
    }
}

/// The identity of a finding that survives lines moving ([`Identity`]) as a hash.
pub fn fingerprint(f: &FileFinding, rule: &Rule) -> String {
    Identity::of(f, &rule.id, &f.path).fingerprint()
}

/// A CloudTrail finding's distinct values (see [`crate::trail::Distinct`]) as JSON: the values
/// listed, how many more there are, and whether that is "or more" (past the counted bound).
pub fn distinct_json(d: &crate::trail::Distinct) -> serde_json::Value {
    let (more, at_least) = d.more();
    serde_json::json!({"values": d.shown().collect::<Vec<_>>(), "more": more, "more_is_lower_bound": at_least})
}

/// The most `relatedLocations` a SARIF result lists for the events after the first.
pub const MAX_RELATED_EVENTS: usize = 100;

/// The fix for the finding's source format, else any. Deployed state is fixed with the CLI.
pub fn remediation<'r>(rule: &'r Rule, source: &str) -> Option<(&'r str, &'r str)> {
    let source = if source == "aws-api" { "cli" } else { source };
    rule.remediation
        .get_key_value(source)
        .or_else(|| rule.remediation.iter().next())
        .map(|(k, v)| (k.as_str(), v.as_str()))
}
