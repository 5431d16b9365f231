//! The data-at-rest map of a scan: for each function, what Lambda stores at rest (environment
//! variables, the .zip package, the filter criteria of each mapping, logs, traces, durable
//! state), the key that protects each, and which findings are about it; and every KMS key the
//! scan saw, with what it protects. Drawn from the model the rules were evaluated on, so the
//! review reports can show passes as well as failures. The verdicts are decided by the reports,
//! after suppressions: the map only says which findings belong where.

use crate::model::{KeyRef, KeyState, Tri};
use serde::{Deserialize, Serialize};

/// The map of every unit of a scan.
#[derive(Debug, Clone, Default)]
pub struct DataMap {
    pub functions: Vec<MapFunction>,
    pub keys: Vec<MapKey>,
}

/// Names the findings of one object and property: what a report looks findings up by. Rule
/// by index, as [`super::Finding::rule`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FindingRef {
    pub rule: usize,
    /// The file the finding is reported under ([`super::FileFinding::path`]).
    pub path: String,
    pub resource_id: String,
    pub property: String,
}

/// One function: a row of the map.
/// Written to and read from a shard's JSON lines, so a merge draws the whole map.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MapFunction {
    /// The unit's first file: ids are unique within a unit.
    pub unit: String,
    pub id: String,
    /// Logical id, Terraform address or deployed ARN.
    pub name: String,
    pub resource_type: String,
    pub source: String,
    pub file: Option<String>,
    pub line: Option<u32>,
    pub cells: Vec<Cell>,
    /// Findings about the function that no kind of data names (a custom rule's).
    pub other: Vec<FindingRef>,
}

/// The kinds of data Lambda stores at rest, in the order the map shows them.
pub const KINDS: &[&str] = &[
    "environment",
    "package",
    "filter_criteria",
    "logs",
    "traces",
    "durable",
];

/// One kind of data of one function (for filter criteria, of one mapping).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cell {
    /// One of [`KINDS`].
    pub kind: String,
    /// What the data is, where a kind has several or a name: the mapping, the log group.
    pub label: Option<String>,
    /// Whether the function stores this kind of data at all; `unknown` where the source does
    /// not say (variables from an expression).
    pub stored: Tri,
    /// The key that protects it, where the model resolves one.
    pub key: Option<KeyRef>,
    pub findings: Vec<FindingRef>,
}

/// One KMS key: declared in an input, or only named by a reference (an AWS managed alias, a
/// key ARN no input describes).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MapKey {
    pub unit: String,
    /// The id in the unit's inventory; for a key only named, the reference as written.
    pub id: String,
    pub name: String,
    pub declared: bool,
    /// `customer`, `aws`, or for a reference only, its [`KeyState`] name.
    pub manager: String,
    pub file: Option<String>,
    pub line: Option<u32>,
    pub enabled: Tri,
    pub rotation_enabled: Tri,
    pub pending_deletion: bool,
    /// `ok`, `missing`, ... as the model names it; empty for a key only named.
    pub policy_state: String,
    /// `function name: kind` for each piece of data it protects.
    pub protects: Vec<String>,
    /// Values that name the key in CloudTrail (ARN, id, alias) as far as the model knows them.
    pub names: Vec<String>,
    /// Template and deployed state disagree about this key: one line each.
    pub drift: Vec<String>,
    pub findings: Vec<FindingRef>,
}

/// How a key reference's state is named in the map.
pub fn state_name(state: KeyState) -> &'static str {
    match state {
        KeyState::Absent => "aws_default",
        KeyState::AwsManaged => "aws_managed",
        KeyState::CustomerManaged => "customer_managed",
        KeyState::Unknown => "unknown",
    }
}
