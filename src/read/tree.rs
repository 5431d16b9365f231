//! The parsed form of a JSON or YAML input: a tree whose every key and value knows its span.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

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
