//! YAML with positions and CloudFormation's short-form tags.
//!
//! Built on `saphyr-parser`'s event stream rather than a loaded tree: that keeps a span on every
//! key and value, sees tags as written, sees duplicate keys (a loaded map would silently keep one),
//! and never expands aliases, so a "billion laughs" file costs nothing. Short-form tags become the
//! long form (`!GetAtt A.B` -> `{"Fn::GetAtt": "A.B"}`), with the tag's span as the key's span.

use super::tree::duplicate_key;
use super::{Entry, Limits, MapBuilder, Node, Pos, ReadError, Span, Value};
use saphyr_parser::{Event, Parser, ScalarStyle, Tag};

pub struct Parsed {
    /// The first document (CloudFormation templates have exactly one); `Null` for an empty file.
    pub root: Node,
    pub documents: usize,
    /// Problems that do not stop parsing (duplicate keys, anchors, unknown tags). They are
    /// reported only if the file turns out to be an input we understand.
    pub problems: Vec<ReadError>,
}

/// The short-form intrinsic functions CloudFormation defines.
const CFN_TAGS: &[&str] = &[
    "Ref",
    "Condition",
    "Base64",
    "Cidr",
    "FindInMap",
    "GetAtt",
    "GetAZs",
    "ImportValue",
    "Join",
    "Select",
    "Split",
    "Sub",
    "Transform",
    "And",
    "Equals",
    "If",
    "Not",
    "Or",
    "Contains",
    "EachMemberEquals",
    "EachMemberIn",
    "RefAll",
    "ValueOf",
    "ValueOfAll",
    "ToJsonString",
    "Length",
];

fn pos(m: &saphyr_parser::Marker) -> Pos {
    Pos {
        line: m.line() as u32,
        col: m.col() as u32 + 1,
    }
}

fn span(s: &saphyr_parser::Span) -> Span {
    Span {
        start: pos(&s.start),
        end: pos(&s.end),
    }
}

enum Frame {
    Seq {
        items: Vec<Node>,
        start: Pos,
        tag: Option<Tag>,
    },
    Map {
        entries: MapBuilder,
        key: Option<(String, Span)>,
        start: Pos,
        tag: Option<Tag>,
    },
}

pub fn parse(text: &str, limits: &Limits) -> Result<Parsed, ReadError> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut problems = Vec::new();
    let mut root: Option<Node> = None;
    let mut documents = 0;

    while let Some(event) = parser.next_event() {
        let (event, sp) = event
            .map_err(|e| ReadError::at(pos(e.marker()), format!("invalid YAML: {}", e.info())))?;
        let here = span(&sp);
        let node = match event {
            Event::DocumentStart(_) => {
                documents += 1;
                continue;
            }
            Event::Alias(_) => {
                problems.push(ReadError::at(
                    here.start,
                    "YAML alias: CloudFormation does not support anchors and aliases",
                ));
                Node::new(Value::Null, here)
            }
            Event::Scalar(text, style, anchor, tag) => {
                note_anchor(anchor, here.start, &mut problems);
                // A key keeps its text as written: `null: x` has the key "null", not "".
                if let Some(Frame::Map {
                    key: key @ None, ..
                }) = stack.last_mut()
                {
                    *key = Some((text.into_owned(), here));
                    continue;
                }
                let value = scalar(&text, style, tag.as_deref());
                tagged(Node::new(value, here), tag.as_deref(), &mut problems)
            }
            Event::SequenceStart(anchor, tag) => {
                note_anchor(anchor, here.start, &mut problems);
                check_depth(&stack, limits, here.start)?;
                stack.push(Frame::Seq {
                    items: Vec::new(),
                    start: here.start,
                    tag: tag.map(|t| t.into_owned()),
                });
                continue;
            }
            Event::MappingStart(anchor, tag) => {
                note_anchor(anchor, here.start, &mut problems);
                check_depth(&stack, limits, here.start)?;
                stack.push(Frame::Map {
                    entries: MapBuilder::default(),
                    key: None,
                    start: here.start,
                    tag: tag.map(|t| t.into_owned()),
                });
                continue;
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq { items, start, tag }) => {
                    let node = Node::new(
                        Value::Seq(items),
                        Span {
                            start,
                            end: here.end,
                        },
                    );
                    tagged(node, tag.as_ref(), &mut problems)
                }
                _ => {
                    return Err(ReadError::at(
                        here.start,
                        "invalid YAML: unbalanced sequence",
                    ));
                }
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map {
                    entries,
                    start,
                    tag,
                    ..
                }) => {
                    let node = Node::new(
                        entries.finish(),
                        Span {
                            start,
                            end: here.end,
                        },
                    );
                    tagged(node, tag.as_ref(), &mut problems)
                }
                _ => {
                    return Err(ReadError::at(
                        here.start,
                        "invalid YAML: unbalanced mapping",
                    ));
                }
            },
            Event::StreamEnd => break,
            _ => continue,
        };
        // Attach the finished node to its parent.
        match stack.last_mut() {
            None => {
                if root.is_none() {
                    root = Some(node);
                }
            }
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => {
                    let Some(k) = node.scalar_text().or(node.is_null().then(String::new)) else {
                        return Err(ReadError::at(
                            node.span.start,
                            "a map or list used as a key is not supported",
                        ));
                    };
                    *key = Some((k, node.span));
                }
                Some((k, key_span)) => {
                    if let Err(first) = entries.push(Entry {
                        key: k,
                        key_span,
                        value: node,
                    }) {
                        problems.push(duplicate_key(first, key_span));
                    }
                }
            },
        }
    }
    let root = root.unwrap_or_else(|| Node::new(Value::Null, Span::default()));
    Ok(Parsed {
        root,
        documents,
        problems,
    })
}

fn check_depth(stack: &[Frame], limits: &Limits, at: Pos) -> Result<(), ReadError> {
    if stack.len() >= limits.max_depth {
        return Err(ReadError::at(
            at,
            format!("nesting deeper than {} levels", limits.max_depth),
        ));
    }
    Ok(())
}

fn note_anchor(anchor: usize, at: Pos, problems: &mut Vec<ReadError>) {
    if anchor != 0 {
        problems.push(ReadError::at(
            at,
            "YAML anchor: CloudFormation does not support anchors and aliases",
        ));
    }
}

/// Plain scalars follow the YAML 1.2 core schema; quoted ones are always strings.
fn scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Value {
    if let Some(t) = tag {
        if t.is_yaml_core_schema() && t.suffix == "str" {
            return Value::String(text.to_owned());
        }
        // A CloudFormation tag's argument is a string (`!Ref X`, `!Sub "..."`).
        if t.handle == "!" {
            return Value::String(text.to_owned());
        }
    }
    if style != ScalarStyle::Plain {
        return Value::String(text.to_owned());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        _ if looks_numeric(text) => Value::Number(text.to_owned()),
        _ => Value::String(text.to_owned()),
    }
}

fn looks_numeric(s: &str) -> bool {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits.is_empty() {
        return false;
    }
    if digits.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    digits.parse::<f64>().is_ok() && digits.bytes().any(|b| b.is_ascii_digit())
}

fn tagged(node: Node, tag: Option<&Tag>, problems: &mut Vec<ReadError>) -> Node {
    let Some(tag) = tag else { return node };
    if tag.is_yaml_core_schema() {
        return node;
    }
    // `!Rain::Embed` and friends are directives of the `rain` CLI, which rewrites the template
    // before deploying it: kept as an opaque function, like an intrinsic we do not evaluate.
    let cfn = CFN_TAGS.contains(&tag.suffix.as_str());
    if tag.handle == "!" && (cfn || tag.suffix.starts_with("Rain::")) {
        let key = match tag.suffix.as_str() {
            "Ref" | "Condition" => tag.suffix.clone(),
            other if other.starts_with("Rain::") => other.to_owned(),
            other => format!("Fn::{other}"),
        };
        let span = node.span;
        return Node::new(
            Value::Map(vec![Entry {
                key,
                key_span: span,
                value: node,
            }]),
            span,
        );
    }
    problems.push(ReadError::at(
        node.span.start,
        format!("unknown tag {}{}", tag.handle, tag.suffix),
    ));
    node
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> Parsed {
        parse(text, &Limits::default()).unwrap()
    }

    #[test]
    fn short_form_tags_become_intrinsics() {
        let doc = parse_ok("A: !Ref Key\nB: !GetAtt [Key, Arn]\nC: !Sub 'x-${Y}'\n");
        let a = doc.root.get("A").unwrap();
        assert_eq!(a.intrinsic().unwrap().0, "Ref");
        assert_eq!(a.intrinsic().unwrap().1.as_str(), Some("Key"));
        let b = doc.root.get("B").unwrap().intrinsic().unwrap();
        assert_eq!(b.0, "Fn::GetAtt");
        assert_eq!(b.1.items().len(), 2);
        assert_eq!(doc.root.get("C").unwrap().intrinsic().unwrap().0, "Fn::Sub");
        assert!(doc.problems.is_empty());
    }

    #[test]
    fn key_positions_are_one_based() {
        let doc = parse_ok("Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n");
        let fns = doc.root.get("Resources").unwrap().entry("Fn").unwrap();
        assert_eq!(fns.key_span.start, Pos { line: 2, col: 3 });
    }

    #[test]
    fn scalars_resolve_like_yaml_core() {
        let doc = parse_ok("a: true\nb: '1'\nc: 012\nd: ~\ne: text\n");
        assert_eq!(doc.root.get("a").unwrap().value, Value::Bool(true));
        assert_eq!(doc.root.get("b").unwrap().value, Value::String("1".into()));
        assert_eq!(
            doc.root.get("c").unwrap().value,
            Value::Number("012".into())
        );
        assert_eq!(doc.root.get("d").unwrap().value, Value::Null);
        assert_eq!(
            doc.root.get("e").unwrap().value,
            Value::String("text".into())
        );
    }

    #[test]
    fn duplicates_anchors_and_unknown_tags_are_problems() {
        let doc = parse_ok("a: 1\na: 2\nb: &x {k: v}\nc: *x\nd: !Bogus 1\ne: !Rain::Embed f.txt\n");
        assert_eq!(
            doc.root.get("e").unwrap().intrinsic().unwrap().0,
            "Rain::Embed"
        );
        let msgs: Vec<_> = doc.problems.iter().map(|p| p.message.clone()).collect();
        assert!(
            msgs.iter().any(|m| m.contains("duplicate key \"a\"")),
            "{msgs:?}"
        );
        assert!(msgs.iter().any(|m| m.contains("anchor")));
        assert!(msgs.iter().any(|m| m.contains("alias")));
        assert!(msgs.iter().any(|m| m.contains("unknown tag !Bogus")));
        assert_eq!(msgs.len(), 4, "{msgs:?}");
    }

    #[test]
    fn billion_laughs_is_not_expanded() {
        let mut text = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for i in 1..30 {
            let prev = format!("*a{}", i - 1);
            text.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 9].join(", ")));
        }
        let doc = parse_ok(&text);
        assert!(!doc.problems.is_empty());
    }

    #[test]
    fn syntax_errors_carry_a_line() {
        let e = parse("a:\n  b: [1, 2\nc: 3\n", &Limits::default())
            .err()
            .unwrap();
        assert!(e.line.is_some());
        let e = parse("a:\n  b: 1\n\tc: 2\n", &Limits::default())
            .err()
            .unwrap();
        assert!(e.message.contains("tab"), "{e}");
        assert!(e.line.is_some_and(|l| l >= 2), "{e}");
    }
}
