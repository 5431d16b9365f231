//! Strict JSON with positions. `jsonc-parser` gives a range for every key and value at
//! serde_json's speed; its lenient JSON5/JSONC options are all turned off, because CloudFormation
//! and the AWS APIs accept only plain JSON.

use super::text::{LineIndex, json_depth_exceeds};
use super::tree::duplicate_key;
use super::{Entry, Limits, MapBuilder, Node, ReadError, Span, Value};
use jsonc_parser::ast;
use jsonc_parser::{CollectOptions, ParseOptions, parse_to_ast};

/// A parsed document and its duplicate keys (the last value taken), which the caller reports
/// when the file turns out to be an input it understands, as what they mean to its tool.
pub struct Parsed {
    pub root: Node,
    pub duplicates: Vec<ReadError>,
}

pub fn parse(text: &str, limits: &Limits) -> Result<Parsed, ReadError> {
    let index = LineIndex::new(text);
    if let Some(at) = json_depth_exceeds(text, limits.max_depth) {
        return Err(ReadError::at(
            index.pos(at),
            format!("nesting deeper than {} levels", limits.max_depth),
        ));
    }
    let options = ParseOptions {
        allow_comments: false,
        allow_loose_object_property_names: false,
        allow_trailing_commas: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    };
    let parsed = parse_to_ast(text, &CollectOptions::default(), &options).map_err(|e| {
        ReadError::at(
            index.pos(e.range().start),
            format!("invalid JSON: {}", e.kind()),
        )
    })?;
    let Some(value) = parsed.value else {
        return Err(ReadError::whole_file("empty file: no JSON value"));
    };
    let mut duplicates = Vec::new();
    let root = convert(&value, &index, &mut duplicates);
    Ok(Parsed { root, duplicates })
}

fn span(range: jsonc_parser::common::Range, index: &LineIndex) -> Span {
    Span {
        start: index.pos(range.start),
        end: index.pos(range.end),
    }
}

fn convert(value: &ast::Value, index: &LineIndex, duplicates: &mut Vec<ReadError>) -> Node {
    match value {
        ast::Value::StringLit(s) => {
            Node::new(Value::String(s.value.to_string()), span(s.range, index))
        }
        ast::Value::NumberLit(n) => {
            Node::new(Value::Number(n.value.to_string()), span(n.range, index))
        }
        ast::Value::BooleanLit(b) => Node::new(Value::Bool(b.value), span(b.range, index)),
        ast::Value::NullKeyword(n) => Node::new(Value::Null, span(n.range, index)),
        ast::Value::Array(a) => Node::new(
            Value::Seq(
                a.elements
                    .iter()
                    .map(|e| convert(e, index, duplicates))
                    .collect(),
            ),
            span(a.range, index),
        ),
        ast::Value::Object(o) => {
            let mut entries = MapBuilder::with_capacity(o.properties.len());
            for prop in &o.properties {
                let (key, key_range) = match &prop.name {
                    ast::ObjectPropName::String(s) => (s.value.to_string(), s.range),
                    ast::ObjectPropName::Word(w) => (w.value.to_string(), w.range),
                };
                let key_span = span(key_range, index);
                let value = convert(&prop.value, index, duplicates);
                if let Err((first, key)) = entries.push(Entry {
                    key,
                    key_span,
                    value,
                }) {
                    duplicates.push(duplicate_key(&key, first, key_span));
                }
            }
            Node::new(entries.finish(), span(o.range, index))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values_have_positions() {
        let text =
            "{\n  \"Resources\": {\n    \"Fn\": {\"Type\": \"AWS::Lambda::Function\"}\n  }\n}\n";
        let doc = parse(text, &Limits::default()).unwrap();
        let res = doc.root.entry("Resources").unwrap();
        assert_eq!((res.key_span.start.line, res.key_span.start.col), (2, 3));
        let f = res.value.entry("Fn").unwrap();
        assert_eq!((f.key_span.start.line, f.key_span.start.col), (3, 5));
        let ty = f.value.entry("Type").unwrap();
        assert_eq!((ty.value.span.start.line, ty.value.span.start.col), (3, 20));
    }

    #[test]
    fn trailing_commas_and_comments_are_errors() {
        assert!(parse("{\"a\": 1,}", &Limits::default()).is_err());
        let e = parse("{\n// c\n\"a\": 1}", &Limits::default())
            .err()
            .unwrap();
        assert_eq!(e.line, Some(2));
    }

    #[test]
    fn a_duplicate_key_takes_the_last_value_in_the_first_place() {
        let doc = parse("{\"a\": 1, \"b\": 3,\n \"a\": 2}", &Limits::default()).unwrap();
        assert_eq!(doc.duplicates.len(), 1);
        assert_eq!(doc.duplicates[0].line, Some(2));
        assert_eq!(
            doc.duplicates[0].message,
            "duplicate key \"a\" (first at line 1)"
        );
        let Value::Map(entries) = &doc.root.value else {
            panic!("a map")
        };
        let keys: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["a", "b"]);
        assert_eq!(entries[0].value.value, Value::Number("2".into()));
        assert_eq!(entries[0].key_span.start.line, 2);
    }

    #[test]
    fn deep_nesting_is_refused_without_recursion() {
        let text = "[".repeat(5000) + &"]".repeat(5000);
        let e = parse(&text, &Limits::default()).err().unwrap();
        assert!(e.message.contains("nesting deeper"));
    }
}
