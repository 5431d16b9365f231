//! The parsed form of a JSON or YAML input: a tree whose every key and value knows its span.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::collections::HashMap;

/// A position in a file: 1-based line, 1-based column counted in Unicode code points.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

/// A half-open range of source text.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Span {
    pub start: Pos,
    pub end: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    /// Kept as written, so `1.0` and `1` stay distinguishable in messages.
    Number(String),
    String(String),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
}

/// One key of a map with its own span (findings about a property point at its key).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    pub key_span: Span,
    pub value: Node,
}

/// The entries of a map being parsed. A key written twice keeps its first place and takes its
/// last value, as CloudFormation's parsers, PyYAML, `JSON.parse` and Python's `json` do (a
/// template with a repeated key deploys with the last value). Keys are found in a hash
/// table once a map is wide (a scan of every earlier key made a 100,000-key map quadratic);
/// small maps, nearly all of them, are scanned.
#[derive(Debug, Default)]
pub struct MapBuilder {
    entries: Vec<Entry>,
    index: HashMap<String, usize>,
}

/// Entries up to which a scan is cheaper than hashing.
const SCAN_UP_TO: usize = 16;

impl MapBuilder {
    pub fn with_capacity(n: usize) -> Self {
        MapBuilder {
            entries: Vec::with_capacity(n),
            index: HashMap::new(),
        }
    }

    /// Adds an entry. For a key already there, the new value and key span replace the earlier
    /// ones in the earlier place, and the earlier key's line is given back with the key.
    pub fn push(&mut self, entry: Entry) -> Result<(), (u32, String)> {
        match self.earlier(&entry.key) {
            Some(i) => {
                let first = &mut self.entries[i];
                let line = first.key_span.start.line;
                first.key_span = entry.key_span;
                first.value = entry.value;
                Err((line, entry.key))
            }
            None => {
                self.entries.push(entry);
                Ok(())
            }
        }
    }

    /// Adds an entry whose key is not there yet (a YAML merge key's entries: the keys a map
    /// writes itself win over them).
    pub fn push_absent(&mut self, entry: Entry) {
        if self.earlier(&entry.key).is_none() {
            self.entries.push(entry);
        }
    }

    /// The place of an earlier entry with this key; with none, the key is recorded as the next
    /// entry's (which the caller then pushes).
    fn earlier(&mut self, key: &str) -> Option<usize> {
        let n = self.entries.len();
        if n < SCAN_UP_TO {
            return self.entries.iter().position(|e| e.key == key);
        }
        if self.index.is_empty() {
            let keys = self.entries.iter().enumerate();
            self.index = keys.map(|(i, e)| (e.key.clone(), i)).collect();
        }
        match self.index.get(key) {
            Some(&i) => Some(i),
            None => {
                self.index.insert(key.to_owned(), n);
                None
            }
        }
    }

    pub fn finish(self) -> Value {
        Value::Map(self.entries)
    }
}

/// The problem of `key` written a second time at `again`, first at line `first`. What it means
/// depends on the tool that reads the file, so the reader of each kind completes the message
/// (see [`super::detect`]).
pub(crate) fn duplicate_key(key: &str, first: u32, again: Span) -> super::ReadError {
    super::ReadError::at(
        again.start,
        format!("duplicate key \"{key}\" (first at line {first})"),
    )
}

impl Node {
    pub fn new(value: Value, span: Span) -> Self {
        Node { value, span }
    }

    pub fn entry(&self, key: &str) -> Option<&Entry> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|e| e.key == key),
            _ => None,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.value)
    }

    pub fn entries(&self) -> &[Entry] {
        match &self.value {
            Value::Map(entries) => entries,
            _ => &[],
        }
    }

    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(items) => items,
            _ => &[],
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The text of a scalar of any kind (`true`, `42`, `"x"`), as CloudFormation would coerce it.
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            Value::String(s) | Value::Number(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    pub fn is_map(&self) -> bool {
        matches!(self.value, Value::Map(_))
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// A single-key map whose key is an intrinsic function (`Ref`, `Fn::*`, `Condition`), or a
    /// `rain` directive (`Rain::*`).
    pub fn intrinsic(&self) -> Option<(&str, &Node)> {
        match &self.value {
            Value::Map(entries) if entries.len() == 1 => {
                let e = &entries[0];
                let function = e.key == "Ref"
                    || e.key == "Condition"
                    || e.key.starts_with("Fn::")
                    || e.key.starts_with("Rain::");
                if function {
                    Some((e.key.as_str(), &e.value))
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    /// The same tree with every span replaced by `span`: values taken from elsewhere (a string
    /// parsed as JSON, an included file) point at where they were placed.
    pub fn respanned(self, span: Span) -> Node {
        let value = match self.value {
            Value::Seq(items) => Value::Seq(items.into_iter().map(|n| n.respanned(span)).collect()),
            Value::Map(entries) => Value::Map(
                entries
                    .into_iter()
                    .map(|e| Entry {
                        key: e.key,
                        key_span: span,
                        value: e.value.respanned(span),
                    })
                    .collect(),
            ),
            other => other,
        };
        Node::new(value, span)
    }

    /// Plain JSON, positions dropped: for metadata and for values handed to policies as data.
    pub fn to_json(&self) -> Json {
        match &self.value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Number(n) => n
                .parse::<serde_json::Number>()
                .map(Json::Number)
                .unwrap_or_else(|_| Json::String(n.clone())),
            Value::String(s) => Json::String(s.clone()),
            Value::Seq(items) => Json::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => Json::Object(
                entries
                    .iter()
                    .map(|e| (e.key.clone(), e.value.to_json()))
                    .collect(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, line: u32) -> Entry {
        let at = Pos { line, col: 1 };
        let span = Span { start: at, end: at };
        Entry {
            key: key.into(),
            key_span: span,
            value: Node::new(Value::Null, span),
        }
    }

    #[test]
    fn map_builder_finds_the_first_of_a_repeated_key_and_takes_its_last_value() {
        for width in [3, SCAN_UP_TO, SCAN_UP_TO * 8] {
            let mut m = MapBuilder::with_capacity(0);
            for i in 0..width {
                assert!(m.push(entry(&format!("k{i}"), i as u32 + 1)).is_ok());
            }
            for i in [0, width / 2, width - 1] {
                let (first, key) = m.push(entry(&format!("k{i}"), 999)).unwrap_err();
                assert_eq!(first, i as u32 + 1, "width {width}");
                assert_eq!(key, format!("k{i}"));
            }
            assert!(m.push(entry("new", 1000)).is_ok());
            let Value::Map(entries) = m.finish() else {
                unreachable!()
            };
            assert_eq!(entries.len(), width + 1);
            // The repeated keys keep their places, with the later key span.
            for i in [0, width / 2, width - 1] {
                assert_eq!(entries[i].key, format!("k{i}"));
                assert_eq!(entries[i].key_span.start.line, 999);
            }
        }
    }
}
