//! Why a finding is not reported as open, and where that is written.

use super::Date;
use serde::Serialize;
use std::fmt;

/// Where a suppression is written, as SARIF distinguishes it: in the analysed file itself, or
/// beside it (a config file, the command line, a baseline).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum SuppressionKind {
    InSource,
    External,
}

/// How a suppression was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Via {
    /// `# atrest:ignore ATR-L001 reason="..."` in YAML or HCL.
    Comment,
    /// `Metadata: {atrest: {ignore: [...]}}` on a CloudFormation resource.
    Metadata,
    /// An `ignore` entry in `.atrest.yaml`.
    Config,
    /// `--skip-rule`.
    CommandLine,
    /// `--baseline FILE`.
    Baseline,
}

impl Via {
    /// The name reports use (`comment`, `metadata`, `config`, `command-line`, `baseline`).
    pub fn name(self) -> &'static str {
        match self {
            Via::Comment => "comment",
            Via::Metadata => "metadata",
            Via::Config => "config",
            Via::CommandLine => "command-line",
            Via::Baseline => "baseline",
        }
    }
}

/// A place in a file, 1-based.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
pub struct Place {
    pub file: String,
    pub line: u32,
    pub column: u32,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// Why a finding is not reported as open: what reporters render beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Suppression {
    pub kind: SuppressionKind,
    pub via: Via,
    pub justification: String,
    #[serde(serialize_with = "date_as_string")]
    #[schemars(with = "Option<String>")]
    pub until: Option<Date>,
    /// Where it is written; `None` for the command line.
    pub place: Option<Place>,
}

fn date_as_string<S: serde::Serializer>(d: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_str(&d.to_string()),
        None => s.serialize_none(),
    }
}
