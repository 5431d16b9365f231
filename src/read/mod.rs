//! Read: find input files, detect what each one is, and parse it into a tree that remembers where
//! every key and value came from. Nothing here knows about rules or reports.

// Values here come from inputs a stranger may have written: a missing element is an error or
// an unknown, never a panic. Where an invariant of our own holds, an `allow` says which.
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod aws;
pub mod cloudtrail;
pub mod detect;
pub mod file;
pub mod hcl;
pub mod include;
pub mod json;
pub mod json_blocks;
pub mod remote;
pub mod s3;
pub mod text;
pub mod trail_layout;
pub mod tree;
pub mod yaml;

pub use aws::ApiShape;
pub use detect::{Input, InputKind, NameHint, ReadOutcome, Skip, SyntaxKind, read_input};
pub use tree::{Entry, MapBuilder, Node, Pos, Span, Value};

use std::fmt;

/// Why an input could not be read: one line, naming the place in the file where that is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub message: String,
}

impl ReadError {
    pub fn at(pos: Pos, message: impl Into<String>) -> Self {
        ReadError {
            line: Some(pos.line),
            column: Some(pos.col),
            message: message.into(),
        }
    }

    pub fn whole_file(message: impl Into<String>) -> Self {
        ReadError {
            line: None,
            column: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "line {l}, column {c}: {}", self.message),
            (Some(l), None) => write!(f, "line {l}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

/// A reader's problem in the file the scan shows as `path`, at a position of the reader's.
impl crate::problem::Problem {
    pub(crate) fn at(path: &str, span: Option<Span>, message: String) -> Self {
        crate::problem::Problem {
            path: path.to_owned(),
            line: span.map(|s| s.start.line),
            column: span.map(|s| s.start.col),
            message,
        }
    }

    pub fn read(path: &str, e: ReadError) -> Self {
        crate::problem::Problem {
            path: path.to_owned(),
            line: e.line,
            column: e.column,
            message: e.message,
        }
    }
}

/// Limits that keep a hostile file from exhausting the stack or memory.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Deepest nesting of maps and lists accepted in a template.
    pub max_depth: usize,
    /// Largest template read whole, in bytes.
    pub max_template_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 256,
            max_template_bytes: 64 * 1024 * 1024,
        }
    }
}
