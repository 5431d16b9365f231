//! The JSON report: stable field names, documented in the book ("JSON output"). Its shape is
//! these types: `schemas/report.schema.json` is generated from them (`atrest schema report`).

use super::{Report, fingerprint, outcome_name};
use crate::engine::{Outcome, Severity};
use crate::scan::{FileFinding, InputError};
use crate::triage::{Notice, Suppression};
use schemars::JsonSchema;
use serde::{Serialize, Serializer};
use serde_json::Value;

/// The version of the report's shape. The minor number rises when fields are added, the major
/// one when a field is removed or changes its meaning.
pub const SCHEMA_VERSION: &str = "1.0";

/// `fail`: the setting is wrong; `unknown`: it could not be decided statically.
#[derive(JsonSchema)]
#[schemars(rename_all = "lowercase")]
#[allow(dead_code)]
enum OutcomeName {
    Fail,
    Unknown,
}

/// A place in a file, 1-based.
#[derive(Serialize, JsonSchema)]
struct Place<'a> {
    /// What is there (the declaration, the other setting).
    what: &'a str,
    file: String,
    line: u32,
    column: u32,
}

#[derive(Serialize, JsonSchema)]
struct Resource<'a> {
    /// The resource's id as the source names it (for Terraform, the address).
    id: &'a str,
    /// The CloudFormation logical id, or the Terraform address.
    logical_id: &'a str,
    /// The CloudFormation resource type (Terraform types are mapped to them).
    #[serde(rename = "type")]
    kind: &'a str,
    /// Where the resource was read from: cloudformation, sam, terraform, api, cloudtrail, ...
    source: &'a str,
}

/// One CloudTrail event behind a finding.
#[derive(Serialize, JsonSchema)]
struct Event<'a> {
    event_id: &'a str,
    event_time: &'a str,
    event_name: &'a str,
    file: String,
    line: u32,
    column: u32,
    /// JSON pointer to the event in its log file.
    pointer: &'a str,
    message: &'a str,
    /// Who made the call (the service, for a call a service made), as in `principals`.
    principal: &'a str,
    source_ip_address: &'a str,
    user_agent: &'a str,
}

/// Distinct values of one field of a finding's events: the first few in a fixed order, and how
/// many more.
#[derive(Serialize, JsonSchema)]
struct DistinctValues<'a> {
    values: Vec<&'a str>,
    /// Distinct values not listed.
    more: usize,
    /// `more` is a lower bound: past a cap, distinct values are no longer counted.
    more_is_lower_bound: bool,
}

impl<'a> DistinctValues<'a> {
    fn of(d: &'a crate::trail::Distinct) -> Self {
        let (more, more_is_lower_bound) = d.more();
        DistinctValues {
            values: d.shown().collect(),
            more,
            more_is_lower_bound,
        }
    }
}

/// The CloudTrail evidence of a finding.
#[derive(Serialize, JsonSchema)]
struct TrailEvidence<'a> {
    /// The KMS key ARN.
    key: Option<&'a str>,
    principal: Option<&'a str>,
    /// The function's ARN or name.
    function: Option<&'a str>,
    /// The event source mapping (its source ARN, or another id).
    mapping: Option<&'a str>,
    /// How many events (after duplicate deliveries are dropped).
    count: u64,
    /// Events counted but not listed in `events` (which holds a bounded sample).
    events_not_listed: u64,
    /// The distinct callers, source addresses and user agents, each capped.
    principals: DistinctValues<'a>,
    source_ip_addresses: DistinctValues<'a>,
    user_agents: DistinctValues<'a>,
    first_seen: &'a str,
    last_seen: &'a str,
    /// The scanned IaC that declares the function, mapping or key.
    declared: Vec<Place<'a>>,
    events: Vec<Event<'a>>,
}

/// A finding.
#[derive(Serialize, JsonSchema)]
struct Finding<'a> {
    rule_id: &'a str,
    title: &'a str,
    severity: Severity,
    #[schemars(with = "OutcomeName")]
    outcome: &'static str,
    message: &'a str,
    /// The file, relative to the directory atrest ran in where it is inside it.
    file: &'a str,
    line: Option<u32>,
    column: Option<u32>,
    end_line: Option<u32>,
    end_column: Option<u32>,
    /// JSON-pointer-like path to the setting in its document.
    pointer: Option<&'a str>,
    resource: Resource<'a>,
    /// The property the rule checks, as policies name it.
    property: &'a str,
    /// How a key reference was resolved, the setting first.
    chain: &'a [String],
    /// Stable across line moves and reformatting: what baselines match on.
    fingerprint: String,
    /// Other places that decide the finding.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    related: Vec<Place<'a>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cloudtrail: Option<TrailEvidence<'a>>,
    /// Only in `suppressed`: why the finding is not open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    suppression: Option<&'a Suppression>,
}

fn finding<'a>(report: &'a Report, f: &'a FileFinding) -> Finding<'a> {
    let rule = report.rule(f);
    let loc = f.finding.location.as_ref();
    let place = |what: &'a str, l: &'a crate::model::Loc| Place {
        what,
        file: l.file.to_string(),
        line: l.span.start.line,
        column: l.span.start.col,
    };
    Finding {
        rule_id: &rule.id,
        title: &rule.title,
        severity: rule.severity,
        outcome: outcome_name(f.finding.outcome),
        message: &f.finding.message,
        file: &f.path,
        line: loc.map(|l| l.span.start.line),
        column: loc.map(|l| l.span.start.col),
        end_line: loc.map(|l| l.span.end.line),
        end_column: loc.map(|l| l.span.end.col),
        pointer: loc.map(|l| l.pointer.as_str()),
        resource: Resource {
            id: &f.finding.resource_id,
            logical_id: &f.finding.logical_id,
            kind: &f.finding.resource_type,
            source: f.finding.source,
        },
        property: &f.finding.property,
        chain: &f.finding.chain,
        fingerprint: fingerprint(f, rule),
        related: f
            .finding
            .related
            .iter()
            .map(|(l, what)| place(what, l))
            .collect(),
        cloudtrail: f.finding.trail.as_ref().map(|t| TrailEvidence {
            key: t.subject.key.as_deref(),
            principal: t.subject.principal.as_deref(),
            function: t.subject.function.as_deref(),
            mapping: t.subject.mapping.as_deref(),
            count: t.count,
            events_not_listed: t.count - t.samples.len() as u64,
            principals: DistinctValues::of(&t.principals),
            source_ip_addresses: DistinctValues::of(&t.addresses),
            user_agents: DistinctValues::of(&t.agents),
            first_seen: &t.first_seen,
            last_seen: &t.last_seen,
            declared: t.declared.iter().map(|d| place(&d.what, &d.loc)).collect(),
            events: t
                .samples
                .iter()
                .map(|e| Event {
                    event_id: &e.id,
                    event_time: &e.time,
                    event_name: &e.name,
                    file: e.location.file.to_string(),
                    line: e.location.span.start.line,
                    column: e.location.span.start.col,
                    pointer: &e.location.pointer,
                    message: &e.message,
                    principal: &e.caller,
                    source_ip_address: &e.address,
                    user_agent: &e.agent,
                })
                .collect(),
        }),
        suppression: f.suppression.as_ref(),
    }
}

/// The open (or the suppressed) findings of a report, each made a value only as it is
/// written: a report of 100,000 findings never holds them all at once.
struct Findings<'r> {
    report: &'r Report<'r>,
    suppressed: bool,
}

impl Serialize for Findings<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let report = self.report;
        if self.suppressed {
            s.collect_seq(report.suppressed().map(|f| finding(report, f)))
        } else {
            s.collect_seq(report.findings().map(|f| finding(report, f)))
        }
    }
}

/// The settings that decide what the report counts.
#[derive(Serialize, JsonSchema)]
struct Settings {
    /// `--fail-on`: the lowest severity that makes the exit code 1, or `none`; absent when the
    /// report was not made by a scan's command line.
    #[serde(skip_serializing_if = "Option::is_none")]
    fail_on: Option<&'static str>,
    /// `--unknown`: what is done with findings that cannot be decided statically.
    unknown: &'static str,
}

#[derive(Serialize, JsonSchema)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

/// Counts of the open findings that count towards the exit code, per severity.
#[derive(Serialize, JsonSchema)]
struct BySeverity {
    critical: usize,
    high: usize,
    medium: usize,
    low: usize,
}

#[derive(Serialize, JsonSchema)]
struct Summary {
    /// Inputs read: templates, Terraform, API output, CloudTrail log files.
    files_scanned: usize,
    files_skipped: usize,
    /// Open findings that fail.
    fail: usize,
    /// Open findings that could not be decided.
    unknown: usize,
    resources_checked: usize,
    resources_passed: usize,
    suppressed: usize,
    by_severity: BySeverity,
    errors: usize,
}

/// An input that failed (`errors`), or something said about one (`notes`).
#[derive(Serialize, JsonSchema)]
struct Message<'a> {
    file: &'a str,
    line: Option<u32>,
    column: Option<u32>,
    message: &'a str,
}

#[derive(Serialize, JsonSchema)]
struct Skipped<'a> {
    file: &'a str,
    reason: &'a str,
}

#[derive(Serialize, JsonSchema)]
struct Calls<'a> {
    event_name: &'a str,
    caller: &'a str,
    count: u64,
}

/// A key Lambda used, and who called KMS with it.
#[derive(Serialize, JsonSchema)]
struct LambdaKey<'a> {
    key: &'a str,
    /// Why it counts as a Lambda key.
    why: &'a str,
    first_seen: &'a str,
    last_seen: &'a str,
    calls: Vec<Calls<'a>>,
}

/// What the CloudTrail part of the scan read and learned.
#[derive(Serialize, JsonSchema)]
struct TrailSummary<'a> {
    log_files: usize,
    events: u64,
    /// Events some rule or the key timeline needed.
    candidates: u64,
    evaluated: u64,
    /// Duplicate deliveries dropped.
    duplicates: u64,
    facts: &'a crate::trail::Facts,
    lambda_keys: Vec<LambdaKey<'a>>,
}

/// The JSON report of `atrest scan --format json` (and `atrest merge`), its members in the
/// order they are written.
#[derive(Serialize, JsonSchema)]
#[schemars(title = "atrest JSON report")]
pub struct Document<'r> {
    /// The version of this shape: the minor number rises when fields are added, the major one
    /// when a field is removed or changes meaning.
    #[schemars(regex(pattern = r"^1\.[0-9]+$"))]
    schema_version: &'static str,
    tool: Tool,
    /// The settings file applied, if any.
    config: Option<&'r str>,
    settings: Settings,
    summary: Summary,
    /// Open findings.
    #[schemars(with = "Vec<Finding<'static>>")]
    findings: Findings<'r>,
    /// Suppressed findings (suppressions, baseline, --diff-base), each with its suppression.
    #[schemars(with = "Vec<Finding<'static>>")]
    suppressed: Findings<'r>,
    /// Inputs that could not be read or checked: the exit code is 2.
    errors: Vec<Message<'r>>,
    /// About suppressions and the baseline: invalid, expired or unused entries.
    notices: &'r [Notice],
    notes: Vec<Message<'r>>,
    /// Files not read as inputs, with the reason.
    skipped: Vec<Skipped<'r>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cloudtrail: Option<TrailSummary<'r>>,
    /// What each function stores at rest and under which key, with verdicts (passes too):
    /// the data-at-rest map of the review report.
    #[schemars(schema_with = "super::review::map_schema")]
    map: Value,
}

/// The JSON Schema of the report, as checked in at `schemas/report.schema.json`.
pub fn schema() -> String {
    let schema = schemars::schema_for!(Document<'static>);
    let mut s = serde_json::to_string_pretty(&schema).expect("a schema is JSON");
    s.push('\n');
    s
}

fn messages(list: &[InputError]) -> Vec<Message<'_>> {
    list.iter()
        .map(|e| Message {
            file: &e.path,
            line: e.line,
            column: e.column,
            message: &e.message,
        })
        .collect()
}

pub fn render(report: &Report) -> String {
    let mut s = crate::escape::to_json(&document(report), true);
    s.push('\n');
    s
}

/// The JSON report as a value: what the HTML report embeds, so that both say the same thing.
pub fn value(report: &Report) -> Value {
    serde_json::to_value(document(report)).unwrap_or_default()
}

fn document<'r>(report: &'r Report<'r>) -> Document<'r> {
    let count = |severity: Severity| {
        report
            .severity_counts()
            .iter()
            .find(|(s, _)| *s == severity)
            .map_or(0, |(_, n)| *n)
    };
    let fails = report
        .findings()
        .filter(|f| f.finding.outcome == Outcome::Fail)
        .count();
    Document {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: "atrest",
            version: env!("CARGO_PKG_VERSION"),
        },
        config: report.config,
        settings: Settings {
            fail_on: report.fail_on,
            unknown: report.unknown.name(),
        },
        summary: Summary {
            files_scanned: report.result.inputs(),
            files_skipped: report.result.skipped.len(),
            fail: fails,
            unknown: report.unknown_count(),
            resources_checked: report.result.checked,
            resources_passed: report.result.passed,
            suppressed: report.suppressed().count(),
            by_severity: BySeverity {
                critical: count(Severity::Critical),
                high: count(Severity::High),
                medium: count(Severity::Medium),
                low: count(Severity::Low),
            },
            errors: report.result.errors.len(),
        },
        findings: Findings {
            report,
            suppressed: false,
        },
        suppressed: Findings {
            report,
            suppressed: true,
        },
        errors: messages(&report.result.errors),
        notices: report.notices,
        notes: messages(&report.result.notes),
        skipped: report
            .result
            .skipped
            .iter()
            .map(|s| Skipped {
                file: &s.path,
                reason: &s.reason,
            })
            .collect(),
        cloudtrail: report.result.trail.as_ref().map(|t| TrailSummary {
            log_files: t.files.len(),
            events: t.events,
            candidates: t.candidates,
            evaluated: t.evaluated,
            duplicates: t.duplicates,
            facts: &t.facts,
            lambda_keys: t
                .timelines
                .iter()
                .map(|k| LambdaKey {
                    key: &k.key,
                    why: &k.why,
                    first_seen: &k.first_seen,
                    last_seen: &k.last_seen,
                    calls: k
                        .calls
                        .iter()
                        .map(|((name, caller), n)| Calls {
                            event_name: name,
                            caller,
                            count: *n,
                        })
                        .collect(),
                })
                .collect(),
        }),
        map: super::review::map_value(report),
    }
}
