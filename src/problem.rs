//! One type for "a message at file:line:column": every input that could not be read, every
//! policy that could not be loaded, every log record that could not be used and every defect
//! of a configuration found while modelling it is a [`Problem`], and every report renders that
//! one type (as ruff renders its one diagnostic). Below every stage, so readers and models can
//! make one too; the constructors that take a reader's positions live beside those positions
//! (`crate::read`).
//!
//! Two near relatives stay apart, for a reason: `read::ReadError` is a problem before its file
//! is named (a reader is given bytes, not the path the scan shows), and `triage::Notice` is a
//! notice about a suppression, with a kind, whose JSON shape is part of the report schema.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A message about a place in a file: `path:line:column: message`, with the line and column
/// where they are known. Ordered by path, then position, then message: the order reports list
/// them in. Shards write it as it is (`error` and `note` records of `--format jsonl`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Problem {
    pub path: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub message: String,
}

impl Problem {
    /// A problem with the whole of `path`, or with a line of it.
    pub fn new(path: &str, line: Option<u32>, message: impl Into<String>) -> Self {
        Problem {
            path: path.to_owned(),
            line,
            column: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{}:{l}:{c}: {}", self.path, self.message),
            (Some(l), None) => write!(f, "{}:{l}: {}", self.path, self.message),
            _ => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_names_what_is_known_of_its_place() {
        let mut p = Problem::new("a/t.yaml", None, "bad");
        assert_eq!(p.to_string(), "a/t.yaml: bad");
        p.line = Some(3);
        assert_eq!(p.to_string(), "a/t.yaml:3: bad");
        p.column = Some(7);
        assert_eq!(p.to_string(), "a/t.yaml:3:7: bad");
    }
}
